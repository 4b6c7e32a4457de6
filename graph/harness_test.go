package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentgraph/agentgraph/internal/testauth"

	"github.com/agentgraph/agentgraph/graph"
	"github.com/agentgraph/agentgraph/internal/agents"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/chat"
	"github.com/agentgraph/agentgraph/internal/feed"
	"github.com/agentgraph/agentgraph/internal/integrations"
	"github.com/agentgraph/agentgraph/internal/knowledge"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/profile"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/spend"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

const testSecret = "test-secret-test-secret-test-secret!"

// env is the whole GraphQL stack over HTTP on a private, migrated database.
type env struct {
	t       testing.TB
	srv     *httptest.Server
	pool    *pgxpool.Pool
	queries *roundTrips
	// direct counts the queries answered by direct execution, each checked
	// against gqlgen's answer (checkDirect).
	direct *atomic.Int64
}

// roundTrips counts what the pool sends to Postgres: each batch and each
// query outside a batch is one round trip.
type roundTrips struct {
	n   atomic.Int64
	mu  sync.Mutex
	sql []string // the statements since reset, for failure messages
}

// reset zeroes the count and forgets the statements.
func (c *roundTrips) reset() {
	c.mu.Lock()
	c.sql = nil
	c.mu.Unlock()
	c.n.Store(0)
}

// statements returns the statements sent since reset, abbreviated.
func (c *roundTrips) statements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sql...)
}

func (c *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	if ctx.Value(inBatch{}) == nil && ctx.Value(uncounted{}) == nil {
		c.n.Add(1)
	}
	return ctx
}
func (c *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	if ctx.Value(uncounted{}) == nil {
		c.n.Add(1)
	}
	return context.WithValue(ctx, inBatch{}, true)
}
func (c *roundTrips) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	if strings.Contains(d.SQL, "set_config") || ctx.Value(uncounted{}) != nil {
		return
	}
	sql := strings.Join(strings.Fields(d.SQL), " ")
	c.mu.Lock()
	c.sql = append(c.sql, sql[:min(len(sql), 70)])
	c.mu.Unlock()
}
func (c *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

type inBatch struct{}

// uncounted marks the statements of checkDirect's second execution, which
// the server does not send: round trips are those of the direct one.
type uncounted struct{}

// checkDirect fails t when a directly executed query's answer is not the one
// gqlgen gives (graph/direct.go), and counts the queries it checks. Tests
// then hold direct execution to gqlgen's answers, byte for byte, for every
// query they send. Benchmarks leave it out: it executes each query twice.
func checkDirect(t testing.TB, n *atomic.Int64) func(context.Context, *graphql.Response, func(context.Context) *graphql.Response) {
	return func(ctx context.Context, direct *graphql.Response, gqlgen func(context.Context) *graphql.Response) {
		n.Add(1)
		want := gqlgen(context.WithValue(ctx, uncounted{}, true))
		if len(want.Errors) > 0 || !bytes.Equal(direct.Data, want.Data) {
			t.Errorf("direct execution of %q answered\n%s\ngqlgen answered\n%s\nerrors: %v",
				graphql.GetOperationContext(ctx).RawQuery, direct.Data, want.Data, want.Errors)
		}
	}
}

// newEnv starts the stack with a generous loader wait, which keeps batching
// deterministic on a loaded CI machine.
func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWait(t, 10*time.Millisecond)
}

// newEnvWait starts the stack with the given loader wait.
func newEnvWait(t testing.TB, wait time.Duration) *env {
	t.Helper()
	return newEnvOpts(t, graph.Options{LoaderWait: wait})
}

// newEnvOpts starts the stack with o; its Verifier is the test secret's.
func newEnvOpts(t testing.TB, o graph.Options) *env {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	rt := &roundTrips{}
	cfg.ConnConfig.Tracer = rt
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		store.RegisterTypes(c.TypeMap()) // as the server's pools do
		return nil
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	v, err := auth.NewVerifier(context.Background(), auth.Options{HS256Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	// After srv.Close (cleanups run last first), which waits for the requests
	// that could still use it: its token cache holds ~2 MiB and a goroutine.
	t.Cleanup(v.Close)
	st := store.New(pool)
	r := newResolver(st, nil)
	o.Verifier = v
	direct := &atomic.Int64{}
	if _, bench := t.(*testing.B); !bench && o.CheckDirect == nil {
		o.CheckDirect = checkDirect(t, direct)
	}
	srv := httptest.NewServer(graph.NewHandler(r, o))
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, pool: pool, queries: rt, direct: direct}
}

// newResolver is the resolver over st; hub may be nil (no subscriptions).
func newResolver(st *store.Store, hub *pubsub.Hub) *graph.Resolver {
	return &graph.Resolver{Store: st, Agents: agents.New(st, "gpt-4o-mini", llm.DefaultPrices()), Knowledge: knowledge.New(st, nil, nil),
		Profile: profile.New(st), Chat: chat.New(st, nil, nil), Feed: feed.New(st), Spend: spend.New(st, nil), Hub: hub,
		Integrations: integrations.New(st, integrations.Options{Keys: testKeys})}
}

// token signs an HS256 access token for user with extra claims merged in.
func token(user uuid.UUID, extra map[string]any) string {
	claims := testauth.Claims(user, time.Now().Add(time.Hour))
	for k, v := range extra {
		claims[k] = v
	}
	return testauth.Sign(testSecret, claims)
}

// gqlError is one error of a response.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type response struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// code is the extensions.code of the first error, or "".
func (r response) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// as decodes data into v.
func (r response) as(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
}

// postQuery posts a query with the given bearer token ("" for none) and returns
// the response's status and body as sent.
func (e *env) postQuery(t testing.TB, bearer, query string, vars map[string]any) (int, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// raw posts a query with the given bearer token ("" for none).
func (e *env) raw(t testing.TB, bearer, query string, vars map[string]any) response {
	t.Helper()
	status, body := e.postQuery(t, bearer, query, vars)
	var out response
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("decode response (status %d): %v", status, err)
	}
	return out
}

// as runs a query as user; errors are returned in the response.
func (e *env) as(t testing.TB, user uuid.UUID, query string, vars map[string]any) response {
	t.Helper()
	return e.raw(t, token(user, nil), query, vars)
}

// must runs a query as user and fails the test on any error.
func (e *env) must(t testing.TB, user uuid.UUID, query string, vars map[string]any) response {
	t.Helper()
	r := e.as(t, user, query, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("query failed: %+v\nquery: %s", r.Errors, query)
	}
	return r
}

// wantCode fails unless the response's first error has the code.
func wantCode(t testing.TB, r response, code string) {
	t.Helper()
	if r.code() != code {
		t.Fatalf("want error code %s, got %q (errors %+v, data %s)", code, r.code(), r.Errors, r.Data)
	}
}

// id extracts data.<field>.id from a mutation's response.
func id(t testing.TB, r response, field string) string {
	t.Helper()
	var m map[string]struct {
		ID string `json:"id"`
	}
	r.as(t, &m)
	if m[field].ID == "" {
		t.Fatalf("no %s.id in %s", field, r.Data)
	}
	return m[field].ID
}

// fixture is one user's data: an agent with a skill and training data, a
// collection with an entry, and the agent's access to it.
type fixture struct {
	user                                      uuid.UUID
	agent, collection, entry, training, skill string
}

func (e *env) seed(t testing.TB, user uuid.UUID) fixture {
	t.Helper()
	f := fixture{user: user}
	f.agent = id(t, e.must(t, user, `mutation { createAgent(input: {name: "Agent", type: RESEARCH}) { id } }`, nil), "createAgent")
	f.collection = id(t, e.must(t, user, `mutation { createCollection(input: {name: "Notes"}) { id } }`, nil), "createCollection")
	f.entry = id(t, e.must(t, user, `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "The sky is blue", type: FACT}) { id } }`,
		map[string]any{"c": f.collection}), "addKnowledgeEntry")
	f.training = id(t, e.must(t, user, `mutation($a: ID!) { addTrainingData(agentId: $a, input: {type: INSTRUCTION, title: "Be brief", content: "Answer in one line."}) { id } }`,
		map[string]any{"a": f.agent}), "addTrainingData")
	f.skill = "web-search"
	e.must(t, user, `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "web-search", name: "Web search"}) { id } }`, map[string]any{"a": f.agent})
	e.must(t, user, `mutation($a: ID!, $c: ID!) { grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: READ) { accessLevel } }`,
		map[string]any{"a": f.agent, "c": f.collection})
	return f
}

// count runs a SQL count as the superuser, bypassing RLS, to check what is
// really stored.
func (e *env) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// exec runs SQL as the superuser, bypassing RLS, to set up data no API call
// makes quickly.
func (e *env) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := e.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
