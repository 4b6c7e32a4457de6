package graph_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Data needs a valid token; introspection does not.
func TestAuthNoTokenRefusesDataButAllowsIntrospection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	for _, q := range []string{
		`{ agents { totalCount } }`,
		`{ viewer { id } }`,
		`query($id: ID!) { agent(id: $id) { id } }`,
		`{ collections { totalCount } }`,
	} {
		r := e.raw(t, "", q, apiVars("id", uuid.NewString()))
		wantCode(t, r, "UNAUTHENTICATED")
	}
	r := e.raw(t, "", `mutation { createAgent(input: {name: "Anon", type: CUSTOM}) { id } }`, nil)
	wantCode(t, r, "UNAUTHENTICATED")
	if n := e.count(t, `select count(*) from agents`); n != 0 {
		t.Fatalf("an anonymous createAgent wrote %d agents", n)
	}

	r = e.raw(t, "", `{ __schema { queryType { name } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("introspection without a token: %+v", r.Errors)
	}
	var schema struct {
		Schema struct{ QueryType struct{ Name string } } `json:"__schema"`
	}
	r.as(t, &schema)
	if schema.Schema.QueryType.Name != "Query" {
		t.Fatalf("__schema.queryType.name: want Query, got %s", r.Data)
	}

	r = e.raw(t, "", `{ __typename }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("__typename without a token: %+v", r.Errors)
	}
	var tn struct {
		Typename string `json:"__typename"`
	}
	r.as(t, &tn)
	if tn.Typename != "Query" {
		t.Fatalf("__typename: want Query, got %s", r.Data)
	}

	r = e.raw(t, "", `{ __type(name: "Agent") { name fields { name } } }`, nil)
	if len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"emailAddress"`) {
		t.Fatalf("__type without a token: %s %+v", r.Data, r.Errors)
	}
}

// Every broken token is UNAUTHENTICATED, and none of them reaches data.
func TestAuthRejectsBadTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	e.seed(t, user)
	hs256 := map[string]any{"alg": "HS256", "typ": "JWT"}

	cases := []struct {
		name  string
		token string
	}{
		{"expired", token(user, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})},
		{"wrong secret", apiSignedToken("another-secret-another-secret-1234", hs256, apiClaims(user, nil))},
		{"role anon", token(user, map[string]any{"role": "anon"})},
		{"role service_role", token(user, map[string]any{"role": "service_role"})},
		{"no role", apiSignedToken(testSecret, hs256, apiClaims(user, map[string]any{"role": nil}))},
		{"non-UUID sub", token(user, map[string]any{"sub": "not-a-uuid"})},
		{"empty sub", token(user, map[string]any{"sub": ""})},
		{"nil UUID sub", token(user, map[string]any{"sub": uuid.Nil.String()})},
		{"no exp", apiSignedToken(testSecret, hs256, apiClaims(user, map[string]any{"exp": nil}))},
		{"wrong audience", token(user, map[string]any{"aud": "anon"})},
		{"not yet valid", token(user, map[string]any{"nbf": time.Now().Add(time.Hour).Unix()})},
		{"alg none", apiSignedToken(testSecret, map[string]any{"alg": "none", "typ": "JWT"}, apiClaims(user, nil))},
		{"garbage", "not.a.token"},
		{"tampered payload", func() string {
			good := token(user, nil)
			other := token(uuid.New(), nil)
			// the user's header and signature around another user's claims
			return apiJWTPart(good, 0) + "." + apiJWTPart(other, 1) + "." + apiJWTPart(good, 2)
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.raw(t, c.token, `{ agents { totalCount } }`, nil)
			wantCode(t, r, "UNAUTHENTICATED")
			if strings.Contains(string(r.Data), "totalCount") {
				t.Fatalf("data served with a bad token: %s", r.Data)
			}
			r = e.raw(t, c.token, `mutation { createAgent(input: {name: "Intruder", type: CUSTOM}) { id } }`, nil)
			wantCode(t, r, "UNAUTHENTICATED")
		})
	}
	if n := e.count(t, `select count(*) from agents where name = 'Intruder'`); n != 0 {
		t.Fatalf("bad tokens created %d agents", n)
	}

	// The control: the same queries with a good token work.
	var got struct{ Agents struct{ TotalCount int } }
	e.must(t, user, `{ agents { totalCount } }`, nil).as(t, &got)
	if got.Agents.TotalCount != 1 {
		t.Fatalf("good token: want 1 agent, got %d", got.Agents.TotalCount)
	}
}

// apiJWTPart returns the i-th dot-separated part of a JWT.
func apiJWTPart(jwt string, i int) string { return strings.Split(jwt, ".")[i] }
