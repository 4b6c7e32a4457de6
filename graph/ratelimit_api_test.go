package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/agentgraph/agentgraph/graph"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/limits"
	"github.com/agentgraph/agentgraph/internal/ratelimit"
	"github.com/agentgraph/agentgraph/internal/store"
)

// newRateEnv starts the stack with small buckets: 4 mutations and 2 LLM
// calls per user, 1 mutation per anonymous caller, per hour (no refill
// during the test).
func newRateEnv(t *testing.T) *env {
	t.Helper()
	cfg := ratelimit.Defaults()
	cfg.User[ratelimit.Mutation] = ratelimit.Limit{N: 4, Per: time.Hour}
	cfg.User[ratelimit.LLM] = ratelimit.Limit{N: 2, Per: time.Hour}
	cfg.Anonymous[ratelimit.Mutation] = ratelimit.Limit{N: 1, Per: time.Hour}
	l, err := ratelimit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return newEnvOpts(t, graph.Options{LoaderWait: time.Millisecond, RateLimiter: l})
}

// reply is a response with its status and headers.
type reply struct {
	status int
	h      http.Header
	r      response
}

// wantRateLimited fails unless the request was refused whole: 429,
// Retry-After, RATE_LIMITED with retryAfter, and no data.
func wantRateLimited(t *testing.T, got reply) {
	t.Helper()
	status, h, r := got.status, got.h, got.r
	clean(t, status, r)
	if status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429 (errors %+v)", status, r.Errors)
	}
	wantCode(t, r, "RATE_LIMITED")
	if ra, ok := r.Errors[0].Extensions["retryAfter"].(float64); !ok || ra < 1 {
		t.Fatalf("retryAfter %v", r.Errors[0].Extensions["retryAfter"])
	}
	if h.Get("Retry-After") == "" {
		t.Fatal("no Retry-After header")
	}
	if r.Data != nil && string(r.Data) != "null" {
		t.Fatalf("refused request has data %s", r.Data)
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	e := newRateEnv(t)
	send := func(bearer string, query string, vars map[string]any) reply {
		body := queryBody(t, query, vars)
		status, h, r := e.postAs(t, bearer, bytes.NewReader(body), int64(len(body)))
		return reply{status, h, r}
	}
	const feed = `mutation { createFeedEvent(input: {type: "note", message: "hi"}) { id } }`

	t.Run("sendMessage floods stop at the LLM bucket", func(t *testing.T) {
		user := uuid.New()
		tok := token(user, nil)
		agent := id(t, e.must(t, user, `mutation { createAgent(input: {name: "A", type: CUSTOM}) { id } }`, nil), "createAgent")
		msg := `mutation($a: ID!) { sendMessage(input: {agentId: $a, content: "hello"}) { id } }`
		for range 2 {
			if got := send(tok, msg, map[string]any{"a": agent}); got.status != 200 || len(got.r.Errors) > 0 {
				t.Fatalf("status %d, errors %+v", got.status, got.r.Errors)
			}
		}
		wantRateLimited(t, send(tok, msg, map[string]any{"a": agent}))
		if n := e.count(t, `select count(*) from chat_messages where user_id = $1`, user); n != 2 {
			t.Fatalf("%d messages stored, want 2", n)
		}
		// Queries are metered apart, in points (TestQueryPoints).
		e.must(t, user, `{ viewer { id } }`, nil)
	})

	t.Run("aliased mutations take a token each", func(t *testing.T) {
		user := uuid.New()
		var b strings.Builder
		b.WriteString("mutation { ")
		for i := range 5 {
			fmt.Fprintf(&b, `m%d: createFeedEvent(input: {type: "note", message: "hi"}) { id } `, i)
		}
		b.WriteString("}")
		wantRateLimited(t, send(token(user, nil), b.String(), nil))
		if n := e.count(t, `select count(*) from feed_events where user_id = $1`, user); n != 0 {
			t.Fatalf("%d feed events stored by a refused request", n)
		}
		// The refused request took nothing: the bucket is still full.
		for range 4 {
			e.must(t, user, feed, nil)
		}
		wantRateLimited(t, send(token(user, nil), feed, nil))
		// Another user has a bucket of their own.
		e.must(t, uuid.New(), feed, nil)
	})

	t.Run("anonymous sign-ins get the anonymous limits", func(t *testing.T) {
		tok := token(uuid.New(), map[string]any{"is_anonymous": true})
		if got := send(tok, feed, nil); got.status != 200 || len(got.r.Errors) > 0 {
			t.Fatalf("status %d, errors %+v", got.status, got.r.Errors)
		}
		wantRateLimited(t, send(tok, feed, nil))
	})
}

// Every operation costs points: MinPoints (100) before it is parsed, and
// its complexity in all when that is more. With 1,000 points an hour the
// sums below are exact.
func TestQueryPoints(t *testing.T) {
	t.Parallel()
	cfg := ratelimit.Defaults()
	cfg.User[ratelimit.Points] = ratelimit.Limit{N: 1000, Per: time.Hour}
	newEnv := func(t *testing.T, lim *limits.Config) *env {
		l, err := ratelimit.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(l.Close)
		return newEnvOpts(t, graph.Options{LoaderWait: time.Millisecond, RateLimiter: l, Limits: lim})
	}
	send := func(e *env, user uuid.UUID, query string) reply {
		body := queryBody(t, query, nil)
		status, h, r := e.postAs(t, token(user, nil), bytes.NewReader(body), int64(len(body)))
		return reply{status, h, r}
	}
	// 1 + 10 agents × (edges 1 + node 1 + id 1 + name 1 + skills (1 + 50 × id 1))
	const dashboard = `{ agents(first: 10) { edges { node { id name skills { id } } } } }`
	const dashboardPoints = 551
	const cheap = `{ viewer { id } }` // complexity 2: pays MinPoints

	t.Run("a query pays its complexity", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		user := uuid.New()
		e.must(t, user, `mutation { createAgent(input: {name: "A", type: CUSTOM}) { id } }`, nil) // 100
		if got := send(e, user, dashboard); got.status != 200 || len(got.r.Errors) > 0 {
			t.Fatalf("status %d, errors %+v", got.status, got.r.Errors)
		}
		// 349 left: the second dashboard pays 100 as it arrives, then is
		// refused the rest, and nothing of it runs.
		e.queries.reset()
		got := send(e, user, dashboard)
		wantRateLimited(t, got)
		if want := fmt.Sprintf("(%d points asked)", dashboardPoints-ratelimit.MinPoints); !strings.Contains(got.r.Errors[0].Message, want) {
			t.Fatalf("message %q, want it to say %s", got.r.Errors[0].Message, want)
		}
		if n := e.queries.n.Load(); n != 0 {
			t.Fatalf("a refused query made %d round trips: %v", n, e.queries.statements())
		}
		// 249 left: two cheap queries, and the third is refused.
		for range 2 {
			e.must(t, user, cheap, nil)
		}
		wantRateLimited(t, send(e, user, cheap))
		// Another user has a budget of their own.
		e.must(t, uuid.New(), dashboard, nil)
	})

	t.Run("rateLimit says what was paid and what is left", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		user := uuid.New()
		var got struct {
			RateLimit struct {
				Limit, Cost, Remaining int
				ResetAt                time.Time
			}
		}
		// The dashboard and rateLimit's own 5 (1 + its 4 fields).
		start := time.Now()
		e.must(t, user, `{ rateLimit { limit cost remaining resetAt } `+dashboard[1:], nil).as(t, &got)
		r := got.RateLimit
		if r.Limit != 1000 || r.Cost != dashboardPoints+5 || r.Remaining < 1000-r.Cost || r.Remaining > 1000-r.Cost+1 {
			t.Fatalf("rateLimit %+v, want limit 1000, cost %d, %d remaining", r, dashboardPoints+5, 1000-dashboardPoints-5)
		}
		// 556 points refill in 556/1000 of an hour from when they were paid,
		// between start and end; resetAt is rounded up to a whole second.
		refill := time.Duration(r.Cost) * time.Hour / 1000
		if end := time.Now(); r.ResetAt.Before(start.Add(refill-time.Second)) || r.ResetAt.After(end.Add(refill+time.Second)) {
			t.Fatalf("resetAt %v, want %v after a moment between %v and %v", r.ResetAt, refill, start, end)
		}
		before := r.Remaining
		e.must(t, user, `{ rateLimit { limit cost remaining resetAt } }`, nil).as(t, &got)
		// (The bucket refills 0.28 points a second, so it may have gained one.)
		if r := got.RateLimit; r.Cost != ratelimit.MinPoints || r.Remaining < before-ratelimit.MinPoints || r.Remaining > before-ratelimit.MinPoints+1 {
			t.Fatalf("rateLimit %+v, want cost %d and %d remaining", r, ratelimit.MinPoints, before-ratelimit.MinPoints)
		}
		// Another user's budget is their own.
		e.must(t, uuid.New(), `{ rateLimit { limit cost remaining resetAt } }`, nil).as(t, &got)
		if r := got.RateLimit; r.Remaining != 1000-ratelimit.MinPoints {
			t.Fatalf("another user: rateLimit %+v", r)
		}
		// Executed directly, each compared with gqlgen's answer (checkDirect).
		if n := e.direct.Load(); n < 3 {
			t.Fatalf("%d queries executed directly, want 3", n)
		}
		// Unmetered, it is null.
		if r := newEnvOpts(t, graph.Options{LoaderWait: time.Millisecond}).must(t, user, `{ rateLimit { remaining } }`, nil); string(r.Data) != `{"rateLimit":null}` {
			t.Fatalf("without a limiter: %s", r.Data)
		}
	})

	t.Run("malformed documents spend points too", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		user := uuid.New()
		for range 1000 / ratelimit.MinPoints {
			got := send(e, user, `{ viewer {`)
			clean(t, got.status, got.r)
			wantCode(t, got.r, "GRAPHQL_PARSE_FAILED")
		}
		wantRateLimited(t, send(e, user, cheap))
	})

	t.Run("a query refused for its price pays only its arrival", func(t *testing.T) {
		t.Parallel()
		lim := limits.Defaults()
		lim.Complexity = dashboardPoints - 1
		e := newEnv(t, &lim)
		user := uuid.New()
		for range 1000 / ratelimit.MinPoints {
			wantCode(t, send(e, user, dashboard).r, "COMPLEXITY_LIMIT_EXCEEDED")
		}
		wantRateLimited(t, send(e, user, cheap))
	})
}

// Over a WebSocket an operation refused for points is answered as gqlgen
// answers an operation refused before it runs (a result with the error,
// then complete), and the socket goes on.
func TestQueryPointsOverASocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := ratelimit.Defaults()
	cfg.User[ratelimit.Points] = ratelimit.Limit{N: 300, Per: time.Hour}
	l, err := ratelimit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	st := store.New(e.pool)
	v, err := auth.NewVerifier(context.Background(), auth.Options{HS256Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(graph.NewHandler(newResolver(st, nil), graph.Options{Verifier: v, RateLimiter: l,
		LoaderWait: time.Millisecond, Sockets: graph.Sockets(v, nil, graph.SocketQuotas{})}))
	t.Cleanup(srv.Close)

	c, _, err := (&websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}).Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	type frame struct {
		ID, Type string
		Payload  json.RawMessage
	}
	write := func(m map[string]any) {
		t.Helper()
		if err := c.WriteJSON(m); err != nil {
			t.Fatal(err)
		}
	}
	read := func() frame {
		t.Helper()
		var f frame
		if err := c.ReadJSON(&f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	write(map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": token(uuid.New(), nil)}})
	if f := read(); f.Type != "connection_ack" {
		t.Fatalf("got %+v, want connection_ack", f)
	}
	for i := range 4 {
		id := fmt.Sprint("q", i)
		write(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": `{ viewer { id } }`}})
		f := read()
		// 300 points: the fourth is refused, and only it.
		refused := bytes.Contains(f.Payload, []byte(`"RATE_LIMITED"`))
		if f.ID != id || f.Type != "next" || refused != (i == 3) || !refused && bytes.Contains(f.Payload, []byte(`"errors"`)) {
			t.Fatalf("%s: got %s %s", id, f.Type, f.Payload)
		}
		if f = read(); f.ID != id || f.Type != "complete" {
			t.Fatalf("%s: got %+v, want complete", id, f)
		}
	}
	write(map[string]any{"type": "ping"})
	if f := read(); f.Type != "pong" {
		t.Fatalf("after a refusal: got %+v, want pong", f)
	}
}
