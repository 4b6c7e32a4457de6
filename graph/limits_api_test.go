package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/graph"
	"github.com/agentgraph/agentgraph/internal/limits"
)

// post sends body to the server as user and returns the status and the
// decoded response; the response must be JSON whatever the status.
func (e *env) post(t testing.TB, user uuid.UUID, body io.Reader, length int64) (int, response) {
	t.Helper()
	status, _, r := e.postAs(t, token(user, nil), body, length)
	return status, r
}

// postAs is post with a bearer token ("" for none), also returning headers.
func (e *env) postAs(t testing.TB, bearer string, body io.Reader, length int64) (int, http.Header, response) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL, body)
	req.ContentLength = length
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out response
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("status %d, body not JSON: %q", res.StatusCode, raw)
	}
	return res.StatusCode, res.Header, out
}

// clean fails on what a hostile request must never get: a 5xx other than
// 413 and 429, or an error message with internals in it.
func clean(t testing.TB, status int, r response) {
	t.Helper()
	if status >= 500 {
		t.Fatalf("status %d: %+v", status, r.Errors)
	}
	for _, e := range r.Errors {
		for _, leak := range []string{"pgx", "postgres", "SQLSTATE", "constraint", "goroutine", ".go:", "internal server error"} {
			if strings.Contains(strings.ToLower(e.Message), strings.ToLower(leak)) {
				t.Fatalf("error leaks %q: %s", leak, e.Message)
			}
		}
	}
}

func queryBody(t testing.TB, query string, vars map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOversizeBodiesAre413(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	huge := bytes.Repeat([]byte("a"), 10<<20)

	t.Run("content-length", func(t *testing.T) {
		status, r := e.post(t, user, bytes.NewReader(huge), int64(len(huge)))
		if status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", status)
		}
		wantCode(t, r, "PAYLOAD_TOO_LARGE")
	})
	t.Run("chunked", func(t *testing.T) {
		// No Content-Length: the limit must fire while reading.
		status, r := e.post(t, user, io.MultiReader(bytes.NewReader(huge)), -1)
		if status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", status)
		}
		wantCode(t, r, "PAYLOAD_TOO_LARGE")
	})
	t.Run("sendMessage with 1 MB of content", func(t *testing.T) {
		agent := id(t, e.must(t, user, `mutation { createAgent(input: {name: "A", type: CUSTOM}) { id } }`, nil), "createAgent")
		body := queryBody(t, `mutation($in: SendMessageInput!) { sendMessage(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"agentId": agent, "content": strings.Repeat("x", 1<<20)}})
		status, r := e.post(t, user, bytes.NewReader(body), int64(len(body)))
		if status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", status)
		}
		wantCode(t, r, "PAYLOAD_TOO_LARGE")
	})
	t.Run("a body just under the limit still runs", func(t *testing.T) {
		q := `{ viewer { id } }` + strings.Repeat(" ", graph.MaxBodyBytes-200)
		body := queryBody(t, q, nil)
		status, r := e.post(t, user, bytes.NewReader(body), int64(len(body)))
		if status != http.StatusOK || len(r.Errors) > 0 {
			t.Fatalf("status %d, errors %+v", status, r.Errors)
		}
	})
}

// nested returns a query whose fields nest exactly depth levels deep
// (depth ≥ 4), walking agents → knowledgeAccess → collection → agents …
func nested(depth int) string {
	cycle := []struct{ field, leaf string }{{"knowledgeAccess", "accessLevel"}, {"collection", "id"}, {"agents", "id"}}
	var b strings.Builder
	b.WriteString("{ agents { edges { node { ")
	leaf := "id"
	for i := range depth - 4 {
		b.WriteString(cycle[i%3].field + " { ")
		leaf = cycle[i%3].leaf
	}
	return b.String() + leaf + strings.Repeat(" }", depth)
}

func TestHostileQueriesAreRefusedBeforeExecution(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	e.seed(t, user)
	fields := func(n int, f string) string { return strings.TrimSpace(strings.Repeat(f+" ", n)) }
	aliases := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "a%d: viewer { id } ", i)
		}
		return b.String()
	}
	cases := []struct {
		name, query, code string
	}{
		{"40 levels deep", nested(40), "DEPTH_LIMIT_EXCEEDED"},
		{"deep through fragments", `query { ...A } fragment A on Query { agents { edges { node { ...B } } } }
			fragment B on Agent { knowledgeAccess { collection { agents { knowledgeAccess { collection { agents {
			knowledgeAccess { collection { agents { id } } } } } } } } } }`, "DEPTH_LIMIT_EXCEEDED"},
		{"wide selection set", "{ viewer { " + fields(150, "id") + " } }", "GRAPHQL_VALIDATION_FAILED"},
		{"alias bomb", "{ " + aliases(31) + " }", "GRAPHQL_VALIDATION_FAILED"},
		{"too many tokens", "{ viewer { " + fields(6000, "id") + " } }", "GRAPHQL_PARSE_FAILED"},
		{"list-walking amplifier", `{ collections(first: 100) { edges { node { agents { knowledgeAccess {
			collection { agents { name knowledgeAccess { accessLevel } } } } } } } } }`, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"unpaged lists are priced", `{ agents(first: 100) { edges { node { skills { id slug name category level }
			trainingData { id title content } knowledgeAccess { accessLevel collection { id name } } } } } }`, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"threads and messages are priced", `{ threads(first: 100) { edges { node { messages(last: 100) {
			edges { node { id content role agentName } } } } } } }`, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"not a query", "{ viewer { id }", "GRAPHQL_PARSE_FAILED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.queries.reset()
			body := queryBody(t, c.query, nil)
			status, r := e.post(t, user, bytes.NewReader(body), int64(len(body)))
			clean(t, status, r)
			wantCode(t, r, c.code)
			if r.Data != nil && string(r.Data) != "null" {
				t.Fatalf("refused query has data %s", r.Data)
			}
			if n := e.queries.n.Load(); n != 0 {
				t.Fatalf("refused query ran %d round trips: %v", n, e.queries.statements())
			}
		})
	}
}

func TestOrdinaryQueriesFitTheLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	f := e.seed(t, user)
	// A dashboard: a page of agents with everything they list.
	e.must(t, user, `{ viewer { id headAgent { id } } agents(first: 20) { totalCount edges { node { id name level xp
		skills { slug name level } trainingData { id title enabled } knowledgeAccess { accessLevel collection { id name } }
		threads(first: 5) { edges { node { id lastMessage { content } } } } } } }
		feed(first: 20) { edges { node { id type message agent { name } } } } }`, nil)
	// What GraphiQL asks first: introspection nests deeper than data does.
	e.must(t, user, introspectionQuery, nil)
	// 12 levels, the default depth limit, pass; 13 do not.
	deep := `query($id: ID!) { agent(id: $id) { threads(first: 1) { edges { node { agent { threads(first: 1) { edges { node {
		agent { threads(first: 1) { pageInfo { hasNextPage %s } } } } } } } } } } } }`
	vars := map[string]any{"id": f.agent}
	e.must(t, user, fmt.Sprintf(deep, ""), vars)
	wantCode(t, e.as(t, user, fmt.Sprintf(deep, "} edges { node { id }"), vars), "DEPTH_LIMIT_EXCEEDED")
}

func TestUnpagedListsStopAtTheirCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	f := e.seed(t, user)
	e.exec(t, `insert into agent_skills (agent_id, skill_slug, skill_name, level)
		select $1, 'skill-' || i, 'Skill ' || i, 1 from generate_series(1, $2::int) i`, f.agent, graph.MaxSkills+10)
	var out struct {
		Agent struct{ Skills []struct{ Slug string } }
	}
	e.must(t, user, `query($id: ID!) { agent(id: $id) { skills { slug } } }`, map[string]any{"id": f.agent}).as(t, &out)
	if len(out.Agent.Skills) != graph.MaxSkills {
		t.Fatalf("%d skills, want the cap %d", len(out.Agent.Skills), graph.MaxSkills)
	}
	if out.Agent.Skills[0].Slug != "web-search" {
		t.Fatalf("the cap keeps the oldest first, got %q first", out.Agent.Skills[0].Slug)
	}
}

func TestLimitsAreConfigurable(t *testing.T) {
	t.Parallel()
	lim := limits.Defaults()
	lim.Depth = 3
	lim.Timeout = time.Nanosecond
	lim.Introspection = false
	e := newEnvOpts(t, graph.Options{LoaderWait: time.Millisecond, Limits: &lim})
	user := uuid.New()

	wantCode(t, e.as(t, user, `{ agents { edges { node { id } } } }`, nil), "DEPTH_LIMIT_EXCEEDED")
	r := e.as(t, user, `{ agents { totalCount } }`, nil)
	clean(t, http.StatusOK, r)
	wantCode(t, r, "TIMEOUT")
	r = e.as(t, user, `{ __schema { queryType { name } } }`, nil)
	clean(t, http.StatusOK, r)
	if len(r.Errors) == 0 {
		t.Fatalf("introspection answered with INTROSPECTION off: %s", r.Data)
	}
	wantCode(t, r, "GRAPHQL_VALIDATION_FAILED")
}

// introspectionQuery is the schema query GraphiQL and Apollo tools send.
const introspectionQuery = `query IntrospectionQuery { __schema { queryType { name } mutationType { name }
  subscriptionType { name } types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description
  args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue }
  interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name } } } } } } } }`
