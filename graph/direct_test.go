package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/loaders"
)

// directFixture gives user three agents (one with every optional field set,
// the head agent), each with a skill, training data and a collection it can
// read; a thread "t" of five messages of every kind (one whose content needs
// escaping) and a second thread; feed events with and without an agent; a
// default collection of two entries (one failed indexing) the full agent can
// write; a profile, a monthly budget and usage of two agents and none.
func (e *env) directFixture(t *testing.T, user uuid.UUID) (agent, collection string) {
	t.Helper()
	for range 2 {
		e.seed(t, user)
	}
	agent = id(t, e.must(t, user, `mutation { createAgent(input: {name: "Full \"one\"", type: CODE, trustTier: PARTNER,
		personality: {model: "gpt-4o-mini", tone: "dry", verbosity: "terse", maxTokens: 500},
		objective: "ship", instructions: "be exact", background: "none", emailAddress: "full@example.com"}) { id } }`, nil), "createAgent")
	e.exec(t, `insert into chat_messages (user_id, thread_id, role, content, agent_id, agent_name, status, created_at)
		values ($1, 't', 'user', 'hello', $2, null, 'complete', '2026-01-01T00:00:01.5Z'),
		       ($1, 't', 'assistant', e'quote " backslash \\ newline \n tab \t nul-ish \x01 é 😀 <&>', $2, 'Full', 'complete', '2026-01-01T00:00:02Z'),
		       ($1, 't', 'assistant', 'cut', $2, 'Full', 'interrupted', '2026-01-01T00:00:03.123456Z'),
		       ($1, 't', 'user', 'no agent', null, null, 'complete', '2026-01-01T00:00:04Z'),
		       ($1, 't', 'assistant', 'failed', $2, 'Full', 'failed', '2026-01-01T00:00:05Z'),
		       ($1, 'u', 'user', 'other thread', $2, null, 'complete', '2026-01-02T00:00:00Z')`, user, agent)
	e.exec(t, `update chat_messages m set reply_to = (select id from chat_messages where thread_id = 't' and content = 'hello' and user_id = $1)
		where user_id = $1 and content = 'cut'`, user)
	e.must(t, user, `mutation($a: ID) { a: createFeedEvent(input: {agentId: $a, type: "task_completed", message: "done \"it\""}) { id }
		b: createFeedEvent(input: {type: "note", message: "no agent"}) { id } }`, map[string]any{"a": agent})
	col := id(t, e.must(t, user, `mutation { createCollection(input: {name: "Papers", description: "to read", isDefault: true}) { id } }`, nil), "createCollection")
	e.must(t, user, `mutation($c: ID!, $a: ID!) { x: addKnowledgeEntry(input: {collectionId: $c, content: "π ≈ 3.14159", type: NOTE, importance: 0.125, source: "book"}) { id }
		y: addKnowledgeEntry(input: {collectionId: $c, content: "tiny", type: SUMMARY, importance: 1e-7}) { id }
		grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: READ_WRITE) { accessLevel } }`, map[string]any{"c": col, "a": agent})
	e.exec(t, `update knowledge_entries set index_status = 'failed', index_error = 'the provider refused: "quota"', indexed_at = '2026-01-02T03:04:05.006Z'
		where user_id = $1 and content = 'tiny'`, user)
	e.must(t, user, `mutation { updatePersonalization(input: {bio: "builds \"agents\"", github: "gh"}) { bio } setMonthlyBudget(cents: 1234.5) { custom }
		updateAgent(id: "`+agent+`", input: {isHead: true}) { id } }`, nil)
	e.fuInsertUsage(t,
		fuUsageRow{user, agent, "gpt-4o", "openai", "chat", 120, 30, 0.375, fuTime("2026-03-15T00:00:00Z")},
		fuUsageRow{user, agent, "text-embedding-3-small", "openai", "embedding", 7, 0, 0.0001, fuTime("2026-03-16T00:00:00Z")},
		fuUsageRow{user, "", "gpt-4o-mini", "openai", "chat", 1, 2, 1e-9, fuTime("2026-04-01T00:00:00Z")})
	return agent, col
}

// Direct execution answers the app's pages exactly as gqlgen does: every
// field it answers, with aliases, fragments, @skip and @include, variables,
// null and escaped values, cursors and several root fields, each query
// checked byte for byte against gqlgen's answer (newEnvOpts' checkDirect)
// and counted, so that none of them silently takes gqlgen's path.
func TestDirectMatchesGqlgen(t *testing.T) {
	t.Parallel()
	e := newEnvWait(t, loaders.DefaultWait)
	user := uuid.New()
	agent, col := e.directFixture(t, user)

	const agentFields = `__typename id name type status trustTier personality { __typename model tone verbosity maxTokens }
		objective instructions background emailAddress isHead level xp createdAt updatedAt
		skills { __typename id slug name category level installedAt }
		trainingData { __typename id type title content enabled createdAt updatedAt }
		knowledgeAccess { __typename accessLevel collection { __typename id name description isDefault createdAt updatedAt entryCount } }`
	const pageInfo = `pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }`
	const messageFields = `__typename id threadId role content agent { id name } agentName createdAt status replyTo`
	queries := []struct {
		name, query string
		vars        map[string]any
	}{
		{"dashboard, every field", `{ __typename agents(first: 10) { __typename totalCount ` + pageInfo + ` edges { __typename cursor node { ` + agentFields + ` } } } }`, nil},
		{"a page of agents after a cursor, filtered", `query($after: String) { agents(first: 1, after: $after, type: CODE, status: ACTIVE) { totalCount edges { cursor node { id name } } ` + pageInfo + ` } }`,
			map[string]any{"after": nil}},
		{"agent by id", `query($id: ID!) { agent(id: $id) { ` + agentFields + ` } }`, map[string]any{"id": agent}},
		{"an agent that is not there", `{ agent(id: "` + uuid.NewString() + `") { id } }`, nil},
		{"thread page, every field", `{ thread(id: "t") { __typename id agent { id name } lastMessage { ` + messageFields + ` } updatedAt messageCount createdAt
			messages(last: 50) { __typename totalCount ` + pageInfo + ` edges { __typename cursor node { ` + messageFields + ` } } } } }`, nil},
		{"two pages of one thread, aliased", `query($n: Int) { thread(id: "t") { a: messages(last: 2) { edges { node { content } } pageInfo { hasPreviousPage startCursor } }
			b: messages(last: $n) { edges { cursor node { content agent { name } } } } } }`, map[string]any{"n": 3}},
		{"a thread that is not there", `{ thread(id: "nope") { id } }`, nil},
		{"thread list", `{ threads(first: 5) { __typename totalCount ` + pageInfo + ` edges { __typename cursor node { id messageCount agent { id }
			lastMessage { content agentName agent { name } } } } } }`, nil},
		{"thread list of one agent", `query($a: ID) { threads(first: 5, agentId: $a) { edges { node { id } } } }`, map[string]any{"a": agent}},
		{"feed, every field", `{ feed(first: 20) { __typename totalCount ` + pageInfo + ` edges { __typename cursor node { __typename id type message createdAt agent { id name } } } } }`, nil},
		{"feed filtered", `query($a: ID) { feed(first: 5, agentId: $a, types: ["task_completed"]) { edges { node { message } } } }`, map[string]any{"a": agent}},
		{"knowledge page, every field", `{ collections(first: 10) { __typename totalCount ` + pageInfo + ` edges { __typename cursor node { __typename id name description isDefault createdAt updatedAt entryCount
			agents { id name } entries(first: 10) { __typename totalCount ` + pageInfo + ` edges { __typename cursor node { __typename id content type importance source createdAt updatedAt
			indexStatus indexedAt indexError collection { id name } } } } } } } }`, nil},
		{"entries of a type, a page at a time", `query($c: ID!) { collection(id: $c) { name e: entries(first: 1, type: NOTE) { edges { cursor node { content } } pageInfo { hasNextPage endCursor } }
			all: entries(first: 1) { totalCount edges { node { content collection { isDefault } } } } } }`, map[string]any{"c": col}},
		{"a collection that is not there", `{ collection(id: "` + uuid.NewString() + `") { id } }`, nil},
		{"entries through an agent's access", `{ agents(first: 10) { edges { node { knowledgeAccess { collection { entries(first: 5) { edges { node { content collection { name } } } } } } } } } }`, nil},
		{"settings page", `{ viewer { __typename id personalization { __typename bio occupation company goals interests aboutMe twitter linkedin github instagram }
			headAgent { id name } budget { __typename monthlyCents custom spentCents remainingCents exceeded } } }`, nil},
		{"rate limit, unmetered here (TestQueryPoints: metered)", `{ rateLimit { __typename limit cost remaining resetAt } }`, nil},
		{"search", `query($q: String!) { searchKnowledge(query: $q, limit: 5) { __typename score entry { id content type importance collection { name } } } }`,
			map[string]any{"q": "sky"}},
		{"usage by model and by day", `{ m: usage(groupBy: MODEL) { __typename totals { __typename calls inputTokens outputTokens costCents } buckets { __typename key calls inputTokens outputTokens costCents } }
			d: usage(groupBy: DAY, from: "2026-03-01T00:00:00Z", to: "2026-04-01T00:00:00Z") { buckets { key costCents } } }`, nil},
		{"agents' threads and usage", `{ agents(first: 10) { edges { node { name threads(first: 2) { totalCount edges { cursor node { id messageCount } } pageInfo { hasNextPage } }
			all: usage { calls inputTokens outputTokens costCents } march: usage(from: "2026-03-01T00:00:00Z", to: "2026-04-01T00:00:00Z") { calls costCents } } } } }`, nil},
		{"fragments, @skip, @include", `query($yes: Boolean!, $no: Boolean!) { agents(first: 10) { edges { node { ...card ... on Agent { xp }
			... @include(if: $yes) { level } ... @skip(if: $yes) { isHead } name @skip(if: $no) skills @include(if: $no) { id } } } } }
			fragment card on Agent { id nick: name trainingData { title } }`, map[string]any{"yes": true, "no": false}},
		{"one field asked twice, selections merged", `{ agents(first: 2) { edges { node { id } } } agents(first: 2) { totalCount edges { node { name id } } } }`, nil},
		{"several root fields", `{ __typename mine: agents(first: 2) { totalCount } feed(first: 1) { edges { node { message } } } thread(id: "u") { id } }`, nil},
	}
	for _, q := range queries {
		before := e.direct.Load()
		r := e.must(t, user, q.query, q.vars)
		if e.direct.Load() != before+1 {
			t.Errorf("%s: answered by gqlgen, not directly: %s", q.name, r.Data)
		}
	}

	// What direct execution leaves to gqlgen is answered as before.
	other := uuid.New()
	fallbacks := []struct {
		name, query, code, contains string
		user                        *uuid.UUID
	}{
		{name: "a field it does not answer", query: `{ agents(first: 1) { edges { node { usage { calls } } } } }`, contains: `"calls":0`, user: &user},
		{name: "a refused argument", query: `{ agents(first: -1) { totalCount } }`, code: "BAD_USER_INPUT", user: &user},
		{name: "a refused argument below the root", query: `{ thread(id: "t") { messages(last: 100000) { totalCount } } }`, code: "BAD_USER_INPUT", user: &user},
		{name: "introspection", query: `{ __schema { queryType { name } } }`, contains: `"name":"Query"`, user: &user},
		{name: "no token", query: `{ agents(first: 1) { totalCount } }`, code: "UNAUTHENTICATED"},
		{name: "another user's thread", query: `{ thread(id: "t") { id } }`, contains: `{"thread":null}`, user: &other},
	}
	for _, f := range fallbacks {
		bearer := ""
		if f.user != nil {
			bearer = token(*f.user, nil)
		}
		r := e.raw(t, bearer, f.query, nil)
		if f.code != "" && (len(r.Errors) != 1 || r.code() != f.code) {
			t.Errorf("%s: want one %s error, got %+v", f.name, f.code, r.Errors)
		}
		if f.code == "" && len(r.Errors) > 0 {
			t.Errorf("%s: %+v", f.name, r.Errors)
		}
		if !strings.Contains(string(r.Data), f.contains) {
			t.Errorf("%s: %s lacks %s", f.name, r.Data, f.contains)
		}
	}
}

// Direct execution resolves a list's objects one after another, so a nested
// field's load must queue its siblings' keys (loaders.Linked) for the round
// trips to stay independent of list sizes: here the agents of messages read
// through a thread list, the collections of entries read through the
// agents' access, and search hits' entries, which no root looks ahead for.
func TestDirectRoundTripsDoNotGrowWithLists(t *testing.T) {
	t.Parallel()
	shapes := map[string]string{
		"last messages' agents": `{ threads(first: 50) { edges { node { id lastMessage { agent { name } } } } } }`,
		"pages' agents":         `{ threads(first: 50) { edges { node { id messages(last: 3) { edges { node { agent { name } } } } } } } }`,
		"entries' collections": `{ agents(first: 30) { edges { node { knowledgeAccess { collection { entries(first: 2) {
			edges { node { collection { name: id } } } } } } } } } }`,
		"search hits' entries": `{ searchKnowledge(query: "sky", limit: 20) { entry { collection { name: id } } } }`,
	}
	trips := func(n int) map[string]int64 {
		e := newEnvWait(t, loaders.DefaultWait)
		user := uuid.New()
		for i := range n {
			a := id(t, e.must(t, user, `mutation($n: String!) { createAgent(input: {name: $n, type: RESEARCH}) { id } }`,
				map[string]any{"n": fmt.Sprint("Agent ", i)}), "createAgent")
			e.exec(t, `insert into chat_messages (user_id, thread_id, role, content, agent_id, agent_name)
				select $1, $2 || ':direct', 'assistant', 'm' || i, $2::uuid, 'x' from generate_series(1, 2) i`, user, a)
			e.seed(t, user) // an agent reading a collection of one entry
		}
		out := map[string]int64{}
		for name, q := range shapes {
			data, trips, _ := e.tripsOf(t, user, q, nil)
			if got := strings.Count(string(data), `"name":"`); got < n {
				t.Fatalf("%s: %d names in %s", name, got, data)
			}
			out[name] = trips
		}
		return out
	}
	small, large := trips(2), trips(12)
	for name := range shapes {
		if small[name] != large[name] {
			t.Errorf("%s: %d round trips for 2, %d for 12", name, small[name], large[name])
		}
	}
}

// Where one loader is asked from two branches of a query, or twice by
// aliases, direct execution (fields in turn, linked loads, warm) takes the
// round trips gqlgen's concurrent fields take. The same query with an introspection field added
// goes to gqlgen whole, with no SQL of its own.
func TestDirectBatchesLikeGqlgen(t *testing.T) {
	t.Parallel()
	e := newEnvWait(t, loaders.DefaultWait)
	user := uuid.New()
	agent := e.lookaheadThread(t, user, 5)
	e.must(t, user, `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "x", name: "X"}) { id } }`, map[string]any{"a": agent})
	e.seed(t, user)
	for _, q := range []string{
		`{ thread(id: "t") { agent { skills { id } } messages(last: 5) { edges { node { agent { skills { id } } } } } } }`,
		`{ threads(first: 5) { edges { node { agent { skills { id } } lastMessage { agent { trainingData { id } } } } } } }`,
		`{ threads(first: 5) { edges { node { a: messages(last: 1) { edges { node { id } } } b: messages(last: 2) { edges { node { id } } } } } } }`,
		`{ agents(first: 5) { edges { node { skills { id } knowledgeAccess { collection { entryCount entries(first: 2) { edges { node { collection { name } } } } } } } } } }`,
	} {
		before := e.direct.Load()
		_, direct, _ := e.tripsOf(t, user, q, nil)
		if e.direct.Load() == before {
			t.Fatalf("not executed directly: %s", q)
		}
		_, gqlgen, _ := e.tripsOf(t, user, q[:len(q)-1]+` __type(name: "Agent") { name } }`, nil)
		if direct > gqlgen {
			t.Errorf("%d round trips directly, %d through gqlgen: %s", direct, gqlgen, q)
		}
	}
}
