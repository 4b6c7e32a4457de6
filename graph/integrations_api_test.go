package graph_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentgraph/agentgraph/graph"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/integrations"
	"github.com/agentgraph/agentgraph/internal/secrets"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// testKeys seal integration tokens in the API tests.
var testKeys = func() *secrets.Keyring {
	k, err := secrets.ParseKeys([]string{base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))})
	if err != nil {
		panic(err)
	}
	return k
}()

const integrationFields = `provider scopes expiresAt connected metadata updatedAt status connectedAt`

const connectMutation = `mutation($in: ConnectIntegrationInput!) { connectIntegration(input: $in) { ` + integrationFields + ` } }`

type integrationJSON struct {
	Provider    string
	Scopes      []string
	ExpiresAt   *time.Time
	Connected   bool
	Metadata    map[string]any
	Status      string
	ConnectedAt time.Time
}

func connectVars(provider, access string, extra map[string]any) map[string]any {
	in := map[string]any{"provider": provider, "accessToken": access}
	for k, v := range extra {
		in[k] = v
	}
	return map[string]any{"in": in}
}

// listIntegrations returns user's integrations from both queries, checking
// they agree.
func (e *env) listIntegrations(t *testing.T, user uuid.UUID) []integrationJSON {
	t.Helper()
	var got struct {
		Integrations []integrationJSON
		Viewer       struct{ Integrations []integrationJSON }
	}
	before := e.direct.Load()
	e.must(t, user, `{ integrations { `+integrationFields+` } viewer { integrations { `+integrationFields+` } } }`, nil).as(t, &got)
	if e.direct.Load() != before+1 { // and checked against gqlgen's answer
		t.Errorf("integrations were not executed directly")
	}
	a, _ := json.Marshal(got.Integrations)
	b, _ := json.Marshal(got.Viewer.Integrations)
	if !bytes.Equal(a, b) {
		t.Fatalf("integrations and viewer.integrations differ:\n%s\n%s", a, b)
	}
	return got.Integrations
}

func TestIntegrationsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	if got := e.listIntegrations(t, user); len(got) != 0 {
		t.Fatalf("before connecting: %+v", got)
	}
	soon := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	var c struct{ ConnectIntegration integrationJSON }
	e.must(t, user, connectMutation, connectVars("github", "gho_api-access", map[string]any{
		"refreshToken": "ghr_api-refresh", "expiresAt": soon, "scopes": []string{"repo", "read:user"},
		"metadata": map[string]any{"login": "octocat", "id": 1}})).as(t, &c)
	got := c.ConnectIntegration
	if got.Provider != "github" || strings.Join(got.Scopes, " ") != "repo read:user" || !got.Connected || got.Status != "ACTIVE" ||
		got.ExpiresAt == nil || !got.ExpiresAt.Equal(soon) || got.Metadata["login"] != "octocat" || time.Since(got.ConnectedAt) > time.Minute {
		t.Fatalf("connected: %+v", got)
	}
	e.must(t, user, connectMutation, connectVars("slack", "xoxb-api", map[string]any{"expiresAt": time.Now().Add(-time.Hour)}))
	list := e.listIntegrations(t, user)
	if len(list) != 2 || list[0].Provider != "github" || list[1].Provider != "slack" || list[1].Status != "EXPIRED" ||
		len(list[1].Scopes) != 0 || len(list[1].Metadata) != 0 {
		t.Fatalf("list: %+v", list)
	}

	// Reconnecting replaces: still one row per provider, with the new values.
	e.must(t, user, connectMutation, connectVars("github", "gho_api-access-2", map[string]any{"scopes": []string{"gist"}}))
	list = e.listIntegrations(t, user)
	if len(list) != 2 || strings.Join(list[0].Scopes, " ") != "gist" || list[0].ExpiresAt != nil || list[0].Metadata["login"] != nil {
		t.Fatalf("after reconnecting: %+v", list)
	}
	if n := e.count(t, `select count(*) from user_integrations where user_id = $1`, user); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}

	// Disconnecting: true, then false (nothing left to remove).
	for _, want := range []bool{true, false} {
		var d struct{ DisconnectIntegration bool }
		e.must(t, user, `mutation { disconnectIntegration(provider: "github") }`, nil).as(t, &d)
		if d.DisconnectIntegration != want {
			t.Fatalf("disconnect: %v, want %v", d.DisconnectIntegration, want)
		}
	}
	if list := e.listIntegrations(t, user); len(list) != 1 || list[0].Provider != "slack" {
		t.Fatalf("after disconnecting: %+v", list)
	}

	// Bad input names its field.
	for _, tc := range []struct {
		vars  map[string]any
		field string
	}{
		{connectVars("dropbox", "x", nil), "input.provider"},
		{connectVars("github", "", nil), "input.accessToken"},
		{connectVars("github", strings.Repeat("t", 8193), nil), "input.accessToken"},
		{connectVars("github", "x", map[string]any{"scopes": []string{"two words"}}), "input.scopes"},
		{connectVars("github", "x", map[string]any{"metadata": []any{"not", "an", "object"}}), "input.metadata"},
	} {
		r := e.as(t, user, connectMutation, tc.vars)
		wantCode(t, r, "BAD_USER_INPUT")
		if r.Errors[0].Extensions["field"] != tc.field {
			t.Errorf("field %v, want %s", r.Errors[0].Extensions["field"], tc.field)
		}
	}
	r := e.as(t, user, `mutation { disconnectIntegration(provider: "myspace") }`, nil)
	wantCode(t, r, "BAD_USER_INPUT")
	if r.Errors[0].Extensions["field"] != "provider" {
		t.Errorf("field %v, want provider", r.Errors[0].Extensions["field"])
	}

	// The schema has no way to ask for a token.
	var schema struct {
		Type struct{ Fields []struct{ Name string } } `json:"__type"`
	}
	e.must(t, user, `{ __type(name: "Integration") { fields { name } } }`, nil).as(t, &schema)
	for _, f := range schema.Type.Fields {
		if strings.Contains(strings.ToLower(f.Name), "token") {
			t.Errorf("Integration has a field %s", f.Name)
		}
	}

	// Without a token: UNAUTHENTICATED for every operation.
	for _, q := range []string{`{ integrations { provider } }`, `mutation { disconnectIntegration(provider: "slack") }`,
		`mutation { connectIntegration(input: {provider: "slack", accessToken: "x"}) { provider } }`} {
		wantCode(t, e.raw(t, "", q, nil), "UNAUTHENTICATED")
	}
}

// Another user's integrations do not exist for the caller: not listed, not
// disconnected, not replaced by connecting the same provider.
func TestIntegrationsCrossTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := uuid.New(), uuid.New()
	e.must(t, alice, connectMutation, connectVars("github", "gho_alice", map[string]any{"scopes": []string{"repo"}}))
	e.must(t, alice, connectMutation, connectVars("slack", "xoxb-alice", nil))
	before := e.integrationRows(t, alice)

	if list := e.listIntegrations(t, bob); len(list) != 0 {
		t.Fatalf("bob sees: %+v", list)
	}
	var d struct{ DisconnectIntegration bool }
	e.must(t, bob, `mutation { disconnectIntegration(provider: "slack") }`, nil).as(t, &d)
	if d.DisconnectIntegration {
		t.Fatal("bob disconnected a slack integration he does not have")
	}
	e.must(t, bob, connectMutation, connectVars("github", "gho_bob", map[string]any{"scopes": []string{"gist"}}))
	if list := e.listIntegrations(t, bob); len(list) != 1 || strings.Join(list[0].Scopes, " ") != "gist" {
		t.Fatalf("bob's own: %+v", list)
	}
	e.must(t, bob, `mutation { disconnectIntegration(provider: "github") }`, nil)
	if after := e.integrationRows(t, alice); after != before {
		t.Fatalf("alice's integrations changed:\n%s\n%s", before, after)
	}
	if list := e.listIntegrations(t, alice); len(list) != 2 {
		t.Fatalf("alice's list: %+v", list)
	}
}

// integrationRows digests user's rows as stored, tokens included.
func (e *env) integrationRows(t *testing.T, user uuid.UUID) string {
	t.Helper()
	var s string
	if err := e.pool.QueryRow(context.Background(), `select coalesce(string_agg(row_to_json(u)::text, E'\n' order by provider), '')
		from user_integrations u where user_id = $1`, user).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Without a key the server still serves; connecting answers
// INTEGRATIONS_DISABLED and stores nothing.
func TestIntegrationsDisabledWithoutKey(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, nil)
	user := uuid.New()
	r := e.as(t, user, connectMutation, connectVars("notion", "secret_notion-plain", nil))
	wantCode(t, r, "INTEGRATIONS_DISABLED")
	if n := e.count(t, `select count(*) from user_integrations`); n != 0 {
		t.Fatalf("%d rows stored", n)
	}
	if list := e.listIntegrations(t, user); len(list) != 0 {
		t.Fatalf("list: %+v", list)
	}
	e.must(t, user, `mutation { disconnectIntegration(provider: "notion") }`, nil)
	// Bad input is still reported as such.
	wantCode(t, e.as(t, user, connectMutation, connectVars("dropbox", "x", nil)), "BAD_USER_INPUT")
}

// newEnvWith is newEnv whose integrations seal with keys (nil: disabled).
func newEnvWith(t *testing.T, keys *secrets.Keyring) *env {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testdb.URL(t))
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
	r.Integrations = integrations.New(st, integrations.Options{Keys: keys})
	direct := &atomic.Int64{}
	srv := httptest.NewServer(graph.NewHandler(r, graph.Options{Verifier: v, LoaderWait: 10 * time.Millisecond,
		CheckDirect: checkDirect(t, direct)}))
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, pool: pool, queries: &roundTrips{}, direct: direct}
}

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// No token reaches a response, a log line or a column in the clear, whatever
// the operation and whether it succeeds. Not parallel: it captures the
// process's default logger (the error presenter's and the integrations
// service's), which parallel tests would write to meanwhile.
func TestNoTokenInResponsesOrLogs(t *testing.T) {
	logs := &lockedBuffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })

	e := newEnv(t)
	disabled := newEnvWith(t, nil)
	user := uuid.New()
	plaintexts := []string{"gho_LEAKCHECK-access-1", "ghr_LEAKCHECK-refresh-1", "xoxb-LEAKCHECK-2", "xoxe-LEAKCHECK-refresh-2",
		"secret_LEAKCHECK-notion-3"}
	var bodies []string
	post := func(env *env, bearer, query string, vars map[string]any) {
		t.Helper()
		_, b := env.postQuery(t, bearer, query, vars)
		bodies = append(bodies, string(b))
	}
	tok := token(user, nil)
	all := `{ integrations { ` + integrationFields + ` } viewer { integrations { ` + integrationFields + ` } } }`
	post(e, tok, connectMutation, connectVars("github", plaintexts[0], map[string]any{"refreshToken": plaintexts[1], "scopes": []string{"repo"}}))
	post(e, tok, connectMutation, connectVars("slack", plaintexts[2], map[string]any{"refreshToken": plaintexts[3],
		"expiresAt": time.Now().Add(-time.Hour)}))
	post(e, tok, all, nil)
	// Refused input carrying tokens in the other fields.
	post(e, tok, connectMutation, connectVars("dropbox", plaintexts[0], map[string]any{"refreshToken": plaintexts[1]}))
	post(e, tok, connectMutation, connectVars("github", plaintexts[0], map[string]any{"refreshToken": plaintexts[1], "metadata": []any{1}}))
	post(e, tok, connectMutation, connectVars("github", plaintexts[0], map[string]any{"scopes": []string{"a b"}}))
	post(e, "", connectMutation, connectVars("github", plaintexts[0], nil))
	post(disabled, tok, connectMutation, connectVars("notion", plaintexts[4], nil))
	post(e, tok, `mutation { disconnectIntegration(provider: "github") }`, nil)
	post(e, tok, all, nil)

	// The service side too: opening and failing to renew (no OAuth client).
	svc := integrations.New(store.New(e.pool), integrations.Options{Keys: testKeys})
	if got, err := svc.Token(context.Background(), user, "slack"); err == nil {
		t.Fatalf("an expired token without an OAuth client was renewed: %v", got)
	}

	for i, b := range bodies {
		for _, p := range plaintexts {
			if strings.Contains(b, p) {
				t.Errorf("response %d contains a token: %s", i, b)
			}
		}
	}
	stored := e.integrationRows(t, user) + disabled.integrationRows(t, user)
	if stored == "" {
		t.Fatal("nothing stored: the test checks nothing")
	}
	captured := logs.String()
	if !strings.Contains(captured, "integration connected") {
		t.Fatalf("the logs were not captured: %q", captured)
	}
	for _, p := range plaintexts {
		if strings.Contains(stored, p) {
			t.Errorf("a token is stored in the clear (%.12s…)", p)
		}
		if strings.Contains(captured, p) {
			t.Errorf("the logs contain a token (%.12s…)", p)
		}
	}
}
