package graph_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Helpers shared by the API tests (tenant, auth, agents, validation,
// knowledge, personalization, atomicity). Names carry an "api" prefix so they
// do not collide with helpers other test files of the package may add.

// apiField is extensions.field of the response's first error, or "".
func apiField(r response) string {
	if len(r.Errors) == 0 {
		return ""
	}
	f, _ := r.Errors[0].Extensions["field"].(string)
	return f
}

// apiMessage is the message of the response's first error, or "".
func apiMessage(r response) string {
	if len(r.Errors) == 0 {
		return ""
	}
	return r.Errors[0].Message
}

// apiWantInvalid fails unless the response's first error is BAD_USER_INPUT
// naming field.
func apiWantInvalid(t testing.TB, r response, field string) {
	t.Helper()
	wantCode(t, r, "BAD_USER_INPUT")
	if got := apiField(r); got != field {
		t.Fatalf("want extensions.field %q, got %q (errors %+v)", field, got, r.Errors)
	}
}

// apiVars builds a variables map from alternating keys and values.
func apiVars(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// apiState is a digest of every row the user owns, in every table the API
// writes, read as the superuser (no RLS). Two equal digests mean nothing of
// the user's changed, down to updated_at.
func (e *env) apiState(t testing.TB, user uuid.UUID) string {
	t.Helper()
	const q = `select coalesce(string_agg(x, E'\n' order by x), '') from (
		select 'agent ' || a::text as x from agents a where a.user_id = $1
		union all select 'skill ' || s::text from agent_skills s join agents a on a.id = s.agent_id where a.user_id = $1
		union all select 'training ' || d::text from agent_training_data d join agents a on a.id = d.agent_id where a.user_id = $1
		union all select 'access ' || k::text from agent_knowledge_access k join agents a on a.id = k.agent_id where a.user_id = $1
		union all select 'collection ' || c::text from knowledge_collections c where c.user_id = $1
		union all select 'entry ' || n::text from knowledge_entries n where n.user_id = $1
		union all select 'profile ' || p::text from user_personalization p where p.user_id = $1
	) rows`
	var s string
	if err := e.pool.QueryRow(context.Background(), q, user).Scan(&s); err != nil {
		t.Fatalf("state of %s: %v", user, err)
	}
	return s
}

// apiSignedToken signs claims with secret (HS256), for tokens the harness's
// token() cannot make (another secret, another algorithm header).
func apiSignedToken(secret string, header map[string]any, claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(header) + "." + enc(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(head))
	return head + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// apiClaims are valid claims for user, with extra merged in (a nil value
// removes the claim).
func apiClaims(user uuid.UUID, extra map[string]any) map[string]any {
	c := map[string]any{"sub": user.String(), "role": "authenticated", "aud": "authenticated",
		"exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// apiAgentFields is the Agent selection the tests read back.
const apiAgentFields = `id name type status trustTier personality { model tone verbosity }
	objective instructions background emailAddress isHead level xp createdAt updatedAt`

type apiAgentT struct {
	ID          string
	Name        string
	Type        string
	Status      string
	TrustTier   string
	Personality struct {
		Model     string
		Tone      *string
		Verbosity *string
	}
	Objective    *string
	Instructions *string
	Background   *string
	EmailAddress *string
	IsHead       bool
	Level        int
	Xp           int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// apiGetAgent reads agent(id) as user; nil when the API answers null.
func (e *env) apiGetAgent(t testing.TB, user uuid.UUID, agentID string) *apiAgentT {
	t.Helper()
	var got struct{ Agent *apiAgentT }
	e.must(t, user, `query($id: ID!) { agent(id: $id) { `+apiAgentFields+` } }`, apiVars("id", agentID)).as(t, &got)
	return got.Agent
}

// apiCreateAgent creates an agent from an input map and returns it.
func (e *env) apiCreateAgent(t testing.TB, user uuid.UUID, input map[string]any) apiAgentT {
	t.Helper()
	var got struct{ CreateAgent apiAgentT }
	e.must(t, user, `mutation($in: CreateAgentInput!) { createAgent(input: $in) { `+apiAgentFields+` } }`,
		apiVars("in", input)).as(t, &got)
	return got.CreateAgent
}

// apiHead is viewer.headAgent.id as user, "" for none.
func (e *env) apiHead(t testing.TB, user uuid.UUID) string {
	t.Helper()
	var got struct {
		Viewer struct {
			HeadAgent *struct{ ID string }
		}
	}
	e.must(t, user, `{ viewer { headAgent { id } } }`, nil).as(t, &got)
	if got.Viewer.HeadAgent == nil {
		return ""
	}
	return got.Viewer.HeadAgent.ID
}

// apiAgentIDs lists the ids of agents(first: 100<args>) as user.
func (e *env) apiAgentIDs(t testing.TB, user uuid.UUID, args string) []string {
	t.Helper()
	var got struct {
		Agents struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	q := `{ agents(first: 100` + args + `) { edges { node { id } } } }`
	e.must(t, user, q, nil).as(t, &got)
	ids := make([]string, 0, len(got.Agents.Edges))
	for _, edge := range got.Agents.Edges {
		ids = append(ids, edge.Node.ID)
	}
	return ids
}

func apiStr(s string) *string { return &s }

// apiDeref shows a *string for messages.
func apiDeref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return "\"" + *s + "\""
}

func apiHas(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// apiLeaks are fragments that only internals would put into an error: driver
// and SQL text, schema names, Go stack traces, the test's JWT secret.
var apiLeaks = []string{"postgres", "sqlstate", "pgx", "error:", "select ", "insert ", "update ", "delete ",
	" from ", "agent_skills", "agents", "knowledge_", "column", "relation", "constraint", "utf8", "0x00",
	"goroutine", "panic", ".go:", "runtime.", testSecret}

// apiWantNoInternals fails if any error of the response shows internals, in
// its message or its extensions.
func apiWantNoInternals(t testing.TB, r response) {
	t.Helper()
	for _, e := range r.Errors {
		// The path names schema fields (e.g. "agents"); only the message and
		// the extensions are free text.
		b, _ := json.Marshal(map[string]any{"message": e.Message, "extensions": e.Extensions})
		text := strings.ToLower(string(b))
		for _, leak := range apiLeaks {
			if strings.Contains(text, strings.ToLower(leak)) {
				t.Errorf("error shows internals (%q): %s", leak, b)
			}
		}
		for k := range e.Extensions {
			if k != "code" && k != "field" && k != "requestId" {
				t.Errorf("error has an unexpected extension %q: %s", k, b)
			}
		}
	}
}
