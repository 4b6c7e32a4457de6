package graph_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
)

// searchKnowledge and updateKnowledgeEntry through the whole HTTP stack (no
// embedding provider here: full-text mode; internal/knowledge runs the same
// search suite in every mode).
func TestSearchKnowledgeAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := uuid.New(), uuid.New()
	work := id(t, e.must(t, a, `mutation { createCollection(input: {name: "Work"}) { id } }`, nil), "createCollection")
	home := id(t, e.must(t, a, `mutation { createCollection(input: {name: "Home"}) { id } }`, nil), "createCollection")
	theirs := id(t, e.must(t, b, `mutation { createCollection(input: {name: "Theirs"}) { id } }`, nil), "createCollection")
	add := func(user uuid.UUID, col, content string, importance float64) string {
		var got struct {
			AddKnowledgeEntry struct {
				ID          string
				IndexStatus string
				IndexedAt   *string
			}
		}
		e.must(t, user, `mutation($c: ID!, $t: String!, $i: Float) { addKnowledgeEntry(input: {collectionId: $c, content: $t, type: FACT, importance: $i}) {
			id indexStatus indexedAt } }`, apiVars("c", col, "t", content, "i", importance)).as(t, &got)
		if got.AddKnowledgeEntry.IndexStatus != "PENDING" || got.AddKnowledgeEntry.IndexedAt != nil {
			t.Fatalf("new entry: %+v, want PENDING without indexedAt", got.AddKnowledgeEntry)
		}
		return got.AddKnowledgeEntry.ID
	}
	deploy := add(a, work, "Deploys run every Tuesday from the release branch", 0.5)
	for i := range 5 {
		add(a, home, fmt.Sprintf("Deploys of the garden shed, note %d", i), 0.2)
	}
	add(b, theirs, "Deploys of the secret rocket", 1)

	type hit struct {
		Score float64
		Entry struct {
			ID         string
			Content    string
			Collection struct{ ID, Name string }
		}
	}
	search := func(user uuid.UUID, vars map[string]any) []hit {
		var got struct{ SearchKnowledge []hit }
		e.must(t, user, `query($q: String!, $c: [ID!], $a: ID, $l: Int) { searchKnowledge(query: $q, collectionIds: $c, agentId: $a, limit: $l) {
			score entry { id content collection { id name } } } }`, vars).as(t, &got)
		return got.SearchKnowledge
	}
	e.queries.reset()
	hits := search(a, apiVars("q", "deploys", "c", nil, "a", nil, "l", 10))
	if len(hits) != 6 || hits[0].Entry.ID != deploy || hits[0].Entry.Collection.Name != "Work" {
		t.Fatalf("A's search: %+v, want 6 hits, %s first", hits, deploy)
	}
	for _, h := range hits {
		if h.Entry.Content == "Deploys of the secret rocket" {
			t.Fatalf("A found B's entry")
		}
	}
	// Scope, search, then one batch for the entries and one for their
	// collections, whatever the number of hits.
	if n := e.queries.n.Load(); n > 5 {
		t.Errorf("search with 6 hydrated hits took %d round trips: %v", n, e.queries.statements())
	}
	if hits := search(a, apiVars("q", "deploys", "l", 2)); len(hits) != 2 {
		t.Errorf("limit 2: %d hits", len(hits))
	}
	if hits := search(a, apiVars("q", "deploys", "c", []string{work})); len(hits) != 1 || hits[0].Entry.ID != deploy {
		t.Errorf("search of Work: %+v", hits)
	}

	// An agent reads only what it was granted.
	agent := e.apiCreateAgent(t, a, map[string]any{"name": "Ada", "type": "RESEARCH"}).ID
	if hits := search(a, apiVars("q", "deploys", "a", agent)); len(hits) != 0 {
		t.Errorf("agent without access: %+v", hits)
	}
	e.must(t, a, `mutation($a: ID!, $c: ID!) { grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: READ) { accessLevel } }`,
		apiVars("a", agent, "c", work))
	if hits := search(a, apiVars("q", "deploys", "a", agent)); len(hits) != 1 || hits[0].Entry.ID != deploy {
		t.Errorf("agent with access to Work: %+v", hits)
	}

	// Another user's collection or agent is NOT_FOUND; B's own search never returns A's entries.
	q := `query($q: String!, $c: [ID!], $a: ID, $l: Int) { searchKnowledge(query: $q, collectionIds: $c, agentId: $a, limit: $l) { score } }`
	wantCode(t, e.as(t, b, q, apiVars("q", "deploys", "c", []string{work}, "a", nil, "l", nil)), "NOT_FOUND")
	wantCode(t, e.as(t, b, q, apiVars("q", "deploys", "c", []string{theirs, home}, "a", nil, "l", nil)), "NOT_FOUND")
	wantCode(t, e.as(t, b, q, apiVars("q", "deploys", "c", nil, "a", agent, "l", nil)), "NOT_FOUND")
	if hits := search(b, apiVars("q", "deploys", "l", 50)); len(hits) != 1 || hits[0].Entry.Collection.ID != theirs {
		t.Errorf("B's search: %+v, want only B's entry", hits)
	}
	// Bad input names its field.
	for _, tc := range []struct {
		vars  map[string]any
		field string
	}{
		{apiVars("q", "", "c", nil, "a", nil, "l", nil), "query"},
		{apiVars("q", "x", "c", nil, "a", nil, "l", 0), "limit"},
		{apiVars("q", "x", "c", nil, "a", nil, "l", 51), "limit"},
		{apiVars("q", "x", "c", []string{"nope"}, "a", nil, "l", nil), "collectionIds"},
		{apiVars("q", "x", "c", nil, "a", "nope", "l", nil), "agentId"},
	} {
		apiWantInvalid(t, e.as(t, a, q, tc.vars), tc.field)
	}
	// Complexity is priced by limit: 50 hits × a deep selection is refused.
	deep := `query { searchKnowledge(query: "x", limit: 50) { score entry { id collection { id entries(first: 100) { edges { node {
		id collection { entries(first: 100) { edges { node { id } } } } } } } } } } }`
	wantCode(t, e.as(t, a, deep, nil), "COMPLEXITY_LIMIT_EXCEEDED")
}

func TestUpdateKnowledgeEntryAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := uuid.New(), uuid.New()
	col := id(t, e.must(t, a, `mutation { createCollection(input: {name: "Notes"}) { id } }`, nil), "createCollection")
	entry := id(t, e.must(t, a, `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "old", type: FACT}) { id } }`,
		apiVars("c", col)), "addKnowledgeEntry")
	// The service role indexed it (as a job would).
	if _, err := e.pool.Exec(t.Context(), `update knowledge_entries set index_status = 'indexed', indexed_at = now() where id = $1`, entry); err != nil {
		t.Fatal(err)
	}
	upd := `mutation($id: ID!, $in: UpdateKnowledgeEntryInput!) { updateKnowledgeEntry(id: $id, input: $in) {
		id content type importance source indexStatus indexedAt } }`
	var got struct {
		UpdateKnowledgeEntry struct {
			Content, Type, Source, IndexStatus string
			Importance                         float64
			IndexedAt                          *string
		}
	}
	e.must(t, a, upd, apiVars("id", entry, "in", map[string]any{"content": "new", "importance": 0.9})).as(t, &got)
	u := got.UpdateKnowledgeEntry
	if u.Content != "new" || u.Type != "FACT" || u.Importance != 0.9 || u.Source != "manual" || u.IndexStatus != "PENDING" || u.IndexedAt == nil {
		t.Fatalf("after the update: %+v (want PENDING, keeping indexedAt of the last indexing)", u)
	}
	// The source alone does not change what is indexed.
	if _, err := e.pool.Exec(t.Context(), `update knowledge_entries set index_status = 'indexed' where id = $1`, entry); err != nil {
		t.Fatal(err)
	}
	e.must(t, a, upd, apiVars("id", entry, "in", map[string]any{"source": "web_research"})).as(t, &got)
	if got.UpdateKnowledgeEntry.IndexStatus != "INDEXED" || got.UpdateKnowledgeEntry.Content != "new" {
		t.Errorf("source change: %+v", got.UpdateKnowledgeEntry)
	}
	// Cross-tenant: NOT_FOUND, and nothing changed.
	wantCode(t, e.as(t, b, upd, apiVars("id", entry, "in", map[string]any{"content": "hijacked"})), "NOT_FOUND")
	wantCode(t, e.as(t, b, `mutation($id: ID!) { deleteKnowledgeEntry(id: $id) }`, apiVars("id", entry)), "NOT_FOUND")
	if n := e.count(t, `select count(*) from knowledge_entries where id = $1 and content = 'new'`, entry); n != 1 {
		t.Errorf("B's update or delete changed A's entry")
	}
	for _, tc := range []struct {
		in    map[string]any
		field string
	}{
		{map[string]any{"content": ""}, "input.content"},
		{map[string]any{"importance": 1.5}, "input.importance"},
		{map[string]any{"source": ""}, "input.source"},
		{map[string]any{"source": "agent:not-a-uuid"}, "input.source"},
	} {
		apiWantInvalid(t, e.as(t, a, upd, apiVars("id", entry, "in", tc.in)), tc.field)
	}
	apiWantInvalid(t, e.as(t, a, upd, apiVars("id", "nope", "in", map[string]any{"content": "x"})), "id")

	// Entries an agent adds itself need READ_WRITE access.
	agent := e.apiCreateAgent(t, a, map[string]any{"name": "Ada", "type": "RESEARCH"}).ID
	addAs := `mutation($c: ID!, $s: String!) { addKnowledgeEntry(input: {collectionId: $c, content: "learned", type: NOTE, source: $s}) { id source } }`
	apiWantInvalid(t, e.as(t, a, addAs, apiVars("c", col, "s", "agent:"+agent)), "input.source")
	grant := `mutation($a: ID!, $c: ID!, $l: AccessLevel!) { grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: $l) { accessLevel } }`
	e.must(t, a, grant, apiVars("a", agent, "c", col, "l", "READ"))
	apiWantInvalid(t, e.as(t, a, addAs, apiVars("c", col, "s", "agent:"+agent)), "input.source")
	apiWantInvalid(t, e.as(t, a, upd, apiVars("id", entry, "in", map[string]any{"source": "agent:" + agent})), "input.source")
	e.must(t, a, grant, apiVars("a", agent, "c", col, "l", "READ_WRITE"))
	e.must(t, a, addAs, apiVars("c", col, "s", "agent:"+agent))
	e.must(t, a, upd, apiVars("id", entry, "in", map[string]any{"source": "agent:" + agent}))
	// B cannot attribute an entry to A's agent, even in B's own collection.
	theirs := id(t, e.must(t, b, `mutation { createCollection(input: {name: "Theirs"}) { id } }`, nil), "createCollection")
	apiWantInvalid(t, e.as(t, b, addAs, apiVars("c", theirs, "s", "agent:"+agent)), "input.source")
}
