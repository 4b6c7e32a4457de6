package graph_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// Bad input is BAD_USER_INPUT naming the field (or a GraphQL-level code for
// documents that do not parse or validate), and it writes nothing.
func TestValidationErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	f := e.seed(t, user)
	ids := apiVars("a", f.agent, "c", f.collection)
	cursor := func(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }

	cases := []struct {
		name  string
		query string
		vars  map[string]any
		code  string
		field string
	}{
		{"agent malformed id", `{ agent(id: "nope") { id } }`, nil, "BAD_USER_INPUT", "id"},
		{"collection malformed id", `{ collection(id: "nope") { id } }`, nil, "BAD_USER_INPUT", "id"},
		{"updateAgent malformed id", `mutation { updateAgent(id: "nope", input: {name: "x"}) { id } }`, nil, "BAD_USER_INPUT", "id"},
		{"destroyAgent malformed id", `mutation { destroyAgent(id: "nope") { id } }`, nil, "BAD_USER_INPUT", "id"},
		{"installSkill malformed agentId", `mutation { installSkill(agentId: "nope", input: {slug: "s", name: "S"}) { id } }`, nil, "BAD_USER_INPUT", "agentId"},
		{"uuid without dashes", `{ agent(id: "` + strings.ReplaceAll(uuid.NewString(), "-", "") + `") { id } }`, nil, "BAD_USER_INPUT", "id"},

		{"create empty name", `mutation { createAgent(input: {name: "", type: CUSTOM}) { id } }`, nil, "BAD_USER_INPUT", "input.name"},
		{"create blank name", `mutation { createAgent(input: {name: " \t ", type: CUSTOM}) { id } }`, nil, "BAD_USER_INPUT", "input.name"},
		{"create name of 101", `mutation($n: String!) { createAgent(input: {name: $n, type: CUSTOM}) { id } }`,
			apiVars("n", strings.Repeat("a", 101)), "BAD_USER_INPUT", "input.name"},
		{"update name of 101", `mutation($a: ID!, $n: String!) { updateAgent(id: $a, input: {name: $n}) { id } }`,
			apiVars("a", f.agent, "n", strings.Repeat("é", 101)), "BAD_USER_INPUT", "input.name"},
		{"create empty model", `mutation { createAgent(input: {name: "x", type: CUSTOM, personality: {model: ""}}) { id } }`, nil,
			"BAD_USER_INPUT", "input.personality.model"},
		{"objective too long", `mutation($o: String!) { createAgent(input: {name: "x", type: CUSTOM, objective: $o}) { id } }`,
			apiVars("o", strings.Repeat("o", 10001)), "BAD_USER_INPUT", "input.objective"},
		{"createCollection blank name", `mutation { createCollection(input: {name: "  "}) { id } }`, nil, "BAD_USER_INPUT", "input.name"},
		{"updateCollection empty name", `mutation($c: ID!) { updateCollection(id: $c, input: {name: ""}) { id } }`, ids, "BAD_USER_INPUT", "input.name"},

		{"skill slug with space", `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "Has Space", name: "S"}) { id } }`, ids, "BAD_USER_INPUT", "input.slug"},
		{"skill slug upper case", `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "Upper", name: "S"}) { id } }`, ids, "BAD_USER_INPUT", "input.slug"},
		{"skill slug empty", `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "", name: "S"}) { id } }`, ids, "BAD_USER_INPUT", "input.slug"},
		{"skill level 0", `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "s", name: "S", level: 0}) { id } }`, ids, "BAD_USER_INPUT", "input.level"},
		{"skill level 101", `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "s", name: "S", level: 101}) { id } }`, ids, "BAD_USER_INPUT", "input.level"},
		{"skill blank name", `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "s", name: " "}) { id } }`, ids, "BAD_USER_INPUT", "input.name"},
		{"duplicate skill slug", `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "web-search", name: "Again"}) { id } }`, ids, "BAD_USER_INPUT", "input.slug"},

		{"importance 1.5", `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "x", type: FACT, importance: 1.5}) { id } }`, ids, "BAD_USER_INPUT", "input.importance"},
		{"importance -0.1", `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "x", type: FACT, importance: -0.1}) { id } }`, ids, "BAD_USER_INPUT", "input.importance"},
		{"entry content 20001", `mutation($c: ID!, $s: String!) { addKnowledgeEntry(input: {collectionId: $c, content: $s, type: FACT}) { id } }`,
			apiVars("c", f.collection, "s", strings.Repeat("x", 20001)), "BAD_USER_INPUT", "input.content"},
		{"entry blank content", `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "  ", type: FACT}) { id } }`, ids, "BAD_USER_INPUT", "input.content"},
		{"entry malformed collectionId", `mutation { addKnowledgeEntry(input: {collectionId: "nope", content: "x", type: FACT}) { id } }`, nil, "BAD_USER_INPUT", "input.collectionId"},
		{"training content 20001", `mutation($a: ID!, $s: String!) { addTrainingData(agentId: $a, input: {type: EXAMPLE, title: "t", content: $s}) { id } }`,
			apiVars("a", f.agent, "s", strings.Repeat("x", 20001)), "BAD_USER_INPUT", "input.content"},
		{"training blank title", `mutation($a: ID!) { addTrainingData(agentId: $a, input: {type: EXAMPLE, title: "", content: "c"}) { id } }`, ids, "BAD_USER_INPUT", "input.title"},

		{"agents first -1", `{ agents(first: -1) { totalCount } }`, nil, "BAD_USER_INPUT", "first"},
		{"agents first 101", `{ agents(first: 101) { totalCount } }`, nil, "BAD_USER_INPUT", "first"},
		{"collections first 101", `{ collections(first: 101) { totalCount } }`, nil, "BAD_USER_INPUT", "first"},
		{"entries first -1", `query($c: ID!) { collection(id: $c) { entries(first: -1) { totalCount } } }`, ids, "BAD_USER_INPUT", "first"},
		{"agents garbage cursor", `{ agents(after: "garbage!") { totalCount } }`, nil, "BAD_USER_INPUT", "after"},
		{"agents cursor of another format", `query($x: String!) { agents(after: $x) { totalCount } }`,
			apiVars("x", cursor("c0:123:"+uuid.NewString())), "BAD_USER_INPUT", "after"},
		{"agents cursor with a bad id", `query($x: String!) { agents(after: $x) { totalCount } }`,
			apiVars("x", cursor("c1:123:nope")), "BAD_USER_INPUT", "after"},
		{"entries garbage cursor", `query($c: ID!) { collection(id: $c) { entries(after: "zzz") { totalCount } } }`, ids, "BAD_USER_INPUT", "after"},

		{"invalid enum in variables", `query($t: AgentType) { agents(type: $t) { totalCount } }`, apiVars("t", "ROBOT"), "GRAPHQL_VALIDATION_FAILED", ""},
		{"invalid enum in input variables", `mutation($in: CreateAgentInput!) { createAgent(input: $in) { id } }`,
			apiVars("in", map[string]any{"name": "x", "type": "ROBOT"}), "GRAPHQL_VALIDATION_FAILED", ""},
		{"invalid enum literal", `{ agents(type: ROBOT) { totalCount } }`, nil, "GRAPHQL_VALIDATION_FAILED", ""},
		{"unknown field", `{ agents { nope } }`, nil, "GRAPHQL_VALIDATION_FAILED", ""},
		{"missing required argument", `mutation { createAgent { id } }`, nil, "GRAPHQL_VALIDATION_FAILED", ""},
		{"syntax error", `{ agents { totalCount }`, nil, "GRAPHQL_PARSE_FAILED", ""},
		{"syntax error in mutation", `mutation { createAgent(input: {name: "x" type: }) { id } }`, nil, "GRAPHQL_PARSE_FAILED", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.apiState(t, user)
			r := e.as(t, user, c.query, c.vars)
			wantCode(t, r, c.code)
			if c.field != "" {
				if got := apiField(r); got != c.field {
					t.Errorf("extensions.field: want %q, got %q (errors %+v)", c.field, got, r.Errors)
				}
			}
			if after := e.apiState(t, user); after != before {
				t.Errorf("refused request changed data:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// The limits are inclusive: a value exactly at the limit is accepted, and
// lengths count characters, not bytes.
func TestValidationLimitsAreInclusive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	f := e.seed(t, user)
	cases := []struct {
		name  string
		query string
		vars  map[string]any
	}{
		{"name of 100", `mutation($n: String!) { createAgent(input: {name: $n, type: CUSTOM}) { id } }`, apiVars("n", strings.Repeat("a", 100))},
		{"name of 100 multi-byte characters", `mutation($n: String!) { createAgent(input: {name: $n, type: CUSTOM}) { id } }`, apiVars("n", strings.Repeat("é", 100))},
		{"skill level 1", `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "lvl-1", name: "S", level: 1}) { level } }`, apiVars("a", f.agent)},
		{"skill level 100", `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "lvl.100_x", name: "S", level: 100}) { level } }`, apiVars("a", f.agent)},
		{"importance 0", `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "x", type: FACT, importance: 0}) { id } }`, apiVars("c", f.collection)},
		{"importance 1", `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "x", type: FACT, importance: 1}) { id } }`, apiVars("c", f.collection)},
		{"entry content 20000", `mutation($c: ID!, $s: String!) { addKnowledgeEntry(input: {collectionId: $c, content: $s, type: NOTE}) { id } }`,
			apiVars("c", f.collection, "s", strings.Repeat("x", 20000))},
		{"training content 20000", `mutation($a: ID!, $s: String!) { addTrainingData(agentId: $a, input: {type: EXAMPLE, title: "t", content: $s}) { id } }`,
			apiVars("a", f.agent, "s", strings.Repeat("ü", 20000))},
		{"agents first 0", `{ agents(first: 0) { totalCount } }`, nil},
		{"agents first 100", `{ agents(first: 100) { totalCount } }`, nil},
		{"upper-case UUID", `{ agent(id: "` + strings.ToUpper(f.agent) + `") { id } }`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.must(t, user, c.query, c.vars)
		})
	}
	if n := e.count(t, `select count(*) from agents where user_id = $1 and char_length(name) = 100`, user); n != 2 {
		t.Errorf("agents with 100-character names: %d, want 2", n)
	}
}

// An opaque cursor that decodes but names an impossible position is the
// client's mistake: BAD_USER_INPUT on "after", not an internal error.
func TestValidationCursorOutOfRange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	e.seed(t, user)
	for _, micros := range []string{"9223372036854775807", "-9223372036854775808"} {
		t.Run(micros, func(t *testing.T) {
			c := base64.RawURLEncoding.EncodeToString([]byte("c1:" + micros + ":" + uuid.NewString()))
			r := e.as(t, user, `query($x: String!) { agents(after: $x) { totalCount edges { node { id } } } }`, apiVars("x", c))
			if r.code() == "INTERNAL_SERVER_ERROR" || (r.code() != "" && r.code() != "BAD_USER_INPUT") {
				t.Fatalf("want BAD_USER_INPUT (or an empty page), got %q: %+v", r.code(), r.Errors)
			}
			if r.code() == "BAD_USER_INPUT" && apiField(r) != "after" {
				t.Fatalf("want field after, got %q", apiField(r))
			}
		})
	}
}
