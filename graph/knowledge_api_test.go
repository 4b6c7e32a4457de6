package graph_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"
)

func TestKnowledgeAccessGrantRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	a1 := e.apiCreateAgent(t, user, map[string]any{"name": "A1", "type": "RESEARCH"}).ID
	a2 := e.apiCreateAgent(t, user, map[string]any{"name": "A2", "type": "RESEARCH"}).ID
	a3 := e.apiCreateAgent(t, user, map[string]any{"name": "A3 without access", "type": "RESEARCH"}).ID
	col := id(t, e.must(t, user, `mutation { createCollection(input: {name: "Shared"}) { id } }`, nil), "createCollection")
	other := id(t, e.must(t, user, `mutation { createCollection(input: {name: "Other"}) { id } }`, nil), "createCollection")

	type access struct {
		AccessLevel string
		Collection  struct{ ID string }
		Agent       struct{ ID string }
	}
	grant := func(agent, level string) access {
		var got struct{ GrantKnowledgeAccess access }
		e.must(t, user, `mutation($a: ID!, $c: ID!, $l: AccessLevel!) { grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: $l) {
			accessLevel collection { id } agent { id } } }`, apiVars("a", agent, "c", col, "l", level)).as(t, &got)
		return got.GrantKnowledgeAccess
	}
	revoke := func(agent string) bool {
		var got struct{ RevokeKnowledgeAccess bool }
		e.must(t, user, `mutation($a: ID!, $c: ID!) { revokeKnowledgeAccess(agentId: $a, collectionId: $c) }`, apiVars("a", agent, "c", col)).as(t, &got)
		return got.RevokeKnowledgeAccess
	}
	collectionAgents := func() []string {
		var got struct {
			Collection struct{ Agents []struct{ ID string } }
		}
		e.must(t, user, `query($c: ID!) { collection(id: $c) { agents { id } } }`, apiVars("c", col)).as(t, &got)
		var ids []string
		for _, a := range got.Collection.Agents {
			ids = append(ids, a.ID)
		}
		return ids
	}
	agentAccess := func(agent string) []access {
		var got struct {
			Agent struct{ KnowledgeAccess []access }
		}
		e.must(t, user, `query($a: ID!) { agent(id: $a) { knowledgeAccess { accessLevel collection { id } agent { id } } } }`,
			apiVars("a", agent)).as(t, &got)
		return got.Agent.KnowledgeAccess
	}

	g := grant(a1, "READ")
	if g.AccessLevel != "READ" || g.Collection.ID != col || g.Agent.ID != a1 {
		t.Fatalf("grantKnowledgeAccess: %+v", g)
	}
	g = grant(a1, "READ_WRITE")
	if g.AccessLevel != "READ_WRITE" {
		t.Fatalf("second grant with another level: want READ_WRITE, got %s", g.AccessLevel)
	}
	if n := e.count(t, `select count(*) from agent_knowledge_access where agent_id = $1 and collection_id = $2`, a1, col); n != 1 {
		t.Fatalf("second grant: %d rows, want 1", n)
	}
	if n := e.count(t, `select count(*) from agent_knowledge_access where agent_id = $1 and access_level = 'read_write'`, a1); n != 1 {
		t.Fatalf("second grant did not store the new level")
	}
	if got := agentAccess(a1); len(got) != 1 || got[0].AccessLevel != "READ_WRITE" || got[0].Collection.ID != col || got[0].Agent.ID != a1 {
		t.Fatalf("agent.knowledgeAccess: %+v", got)
	}
	grant(a2, "READ")
	if got := collectionAgents(); !slices.Equal(got, []string{a1, a2}) {
		t.Fatalf("collection.agents: want [%s %s] (not %s), got %v", a1, a2, a3, got)
	}

	if !revoke(a1) {
		t.Fatalf("first revoke: want true")
	}
	if revoke(a1) {
		t.Fatalf("second revoke: want false")
	}
	if revoke(a3) {
		t.Fatalf("revoke of an agent that never had access: want false")
	}
	if n := e.count(t, `select count(*) from agent_knowledge_access where agent_id = $1`, a1); n != 0 {
		t.Fatalf("revoked access still stored")
	}
	if got := collectionAgents(); !slices.Equal(got, []string{a2}) {
		t.Fatalf("collection.agents after revoke: want [%s], got %v", a2, got)
	}
	if got := agentAccess(a1); len(got) != 0 {
		t.Fatalf("agent.knowledgeAccess after revoke: %+v", got)
	}
	// Missing ids are NOT_FOUND, not false.
	wantCode(t, e.as(t, user, `mutation($a: ID!, $c: ID!) { revokeKnowledgeAccess(agentId: $a, collectionId: $c) }`,
		apiVars("a", uuid.NewString(), "c", col)), "NOT_FOUND")
	wantCode(t, e.as(t, user, `mutation($a: ID!, $c: ID!) { revokeKnowledgeAccess(agentId: $a, collectionId: $c) }`,
		apiVars("a", a2, "c", uuid.NewString())), "NOT_FOUND")
	wantCode(t, e.as(t, user, `mutation($a: ID!, $c: ID!) { grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: READ) { accessLevel } }`,
		apiVars("a", a2, "c", uuid.NewString())), "NOT_FOUND")
	wantCode(t, e.as(t, user, `mutation($a: ID!, $c: ID!) { grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: READ) { accessLevel } }`,
		apiVars("a", uuid.NewString(), "c", col)), "NOT_FOUND")
	if n := e.count(t, `select count(*) from agent_knowledge_access where collection_id = $1`, other); n != 0 {
		t.Fatalf("access to an untouched collection: %d rows", n)
	}
}

type apiCollection struct {
	ID          string
	Name        string
	Description *string
	IsDefault   bool
}

const apiCollectionFields = `id name description isDefault`

func TestCollectionDefaultMovesAndUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	other := uuid.New()
	otherDefault := id(t, e.must(t, other, `mutation { createCollection(input: {name: "Theirs", isDefault: true}) { id } }`, nil), "createCollection")

	create := func(input map[string]any) apiCollection {
		var got struct{ CreateCollection apiCollection }
		e.must(t, user, `mutation($in: CollectionInput!) { createCollection(input: $in) { `+apiCollectionFields+` } }`, apiVars("in", input)).as(t, &got)
		return got.CreateCollection
	}
	update := func(cid string, input map[string]any) apiCollection {
		var got struct{ UpdateCollection apiCollection }
		e.must(t, user, `mutation($id: ID!, $in: UpdateCollectionInput!) { updateCollection(id: $id, input: $in) { `+apiCollectionFields+` } }`,
			apiVars("id", cid, "in", input)).as(t, &got)
		return got.UpdateCollection
	}
	isDefault := func(cid string) bool {
		var got struct{ Collection apiCollection }
		e.must(t, user, `query($id: ID!) { collection(id: $id) { `+apiCollectionFields+` } }`, apiVars("id", cid)).as(t, &got)
		return got.Collection.IsDefault
	}
	defaults := func() int {
		return e.count(t, `select count(*) from knowledge_collections where user_id = $1 and is_default`, user)
	}

	c1 := create(map[string]any{"name": "C1", "description": "first", "isDefault": true})
	if !c1.IsDefault || c1.Description == nil || *c1.Description != "first" || defaults() != 1 {
		t.Fatalf("create C1 default: %+v, %d defaults", c1, defaults())
	}
	c2 := create(map[string]any{"name": "C2", "isDefault": true})
	if !c2.IsDefault || isDefault(c1.ID) || defaults() != 1 {
		t.Fatalf("create C2 default: C2 %v, C1 %v, %d defaults", c2.IsDefault, isDefault(c1.ID), defaults())
	}
	c3 := create(map[string]any{"name": "C3"})
	if c3.IsDefault || !isDefault(c2.ID) || defaults() != 1 {
		t.Fatalf("create C3 without the flag moved the default")
	}
	if u := update(c1.ID, map[string]any{"isDefault": true}); !u.IsDefault || isDefault(c2.ID) || defaults() != 1 {
		t.Fatalf("updateCollection(C1, isDefault): C1 %v, C2 %v, %d defaults", u.IsDefault, isDefault(c2.ID), defaults())
	}
	if u := update(c1.ID, map[string]any{"isDefault": true}); !u.IsDefault || defaults() != 1 {
		t.Fatalf("re-setting the default: %+v, %d defaults", u, defaults())
	}
	if u := update(c1.ID, map[string]any{"name": "C1 renamed"}); u.Name != "C1 renamed" || !u.IsDefault || u.Description == nil || *u.Description != "first" {
		t.Fatalf("rename kept other fields? %+v", u)
	}
	if u := update(c1.ID, map[string]any{"description": ""}); u.Description != nil || u.Name != "C1 renamed" {
		t.Fatalf("empty description clears it: %+v", u)
	}
	if u := update(c1.ID, map[string]any{"description": "again"}); u.Description == nil || *u.Description != "again" {
		t.Fatalf("set description: %+v", u)
	}
	if u := update(c1.ID, map[string]any{"isDefault": false}); u.IsDefault || defaults() != 0 {
		t.Fatalf("clearing the default: %+v, %d defaults", u, defaults())
	}
	if n := e.count(t, `select count(*) from knowledge_collections where id = $1 and is_default`, otherDefault); n != 1 {
		t.Fatalf("another user's default collection moved")
	}
	wantCode(t, e.as(t, user, `mutation($id: ID!) { updateCollection(id: $id, input: {name: "x"}) { id } }`, apiVars("id", uuid.NewString())), "NOT_FOUND")
}

func TestDeleteCollectionRemovesEntriesAndAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	f := e.seed(t, user) // agent with access to f.collection, which has one entry
	a2 := e.apiCreateAgent(t, user, map[string]any{"name": "Second", "type": "RESEARCH"}).ID
	e.must(t, user, `mutation($a: ID!, $c: ID!) { grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: READ_WRITE) { accessLevel } }`,
		apiVars("a", a2, "c", f.collection))
	for i := range 2 {
		e.must(t, user, `mutation($c: ID!, $s: String!) { addKnowledgeEntry(input: {collectionId: $c, content: $s, type: NOTE}) { id } }`,
			apiVars("c", f.collection, "s", fmt.Sprint("note ", i)))
	}
	keep := id(t, e.must(t, user, `mutation { createCollection(input: {name: "Keep"}) { id } }`, nil), "createCollection")
	keepEntry := id(t, e.must(t, user, `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "kept", type: FACT}) { id } }`,
		apiVars("c", keep)), "addKnowledgeEntry")
	e.must(t, user, `mutation($a: ID!, $c: ID!) { grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: READ) { accessLevel } }`,
		apiVars("a", f.agent, "c", keep))
	if n := e.count(t, `select count(*) from knowledge_entries where collection_id = $1`, f.collection); n != 3 {
		t.Fatalf("setup: %d entries, want 3", n)
	}

	var del struct{ DeleteCollection bool }
	e.must(t, user, `mutation($c: ID!) { deleteCollection(id: $c) }`, apiVars("c", f.collection)).as(t, &del)
	if !del.DeleteCollection {
		t.Fatalf("deleteCollection: want true")
	}
	for _, c := range []struct{ what, sql string }{
		{"collection", `select count(*) from knowledge_collections where id = $1`},
		{"entries", `select count(*) from knowledge_entries where collection_id = $1`},
		{"access rows", `select count(*) from agent_knowledge_access where collection_id = $1`},
	} {
		if n := e.count(t, c.sql, f.collection); n != 0 {
			t.Errorf("%s of the deleted collection: %d left", c.what, n)
		}
	}
	if n := e.count(t, `select count(*) from knowledge_entries where id = $1`, keepEntry); n != 1 {
		t.Errorf("another collection's entry went too")
	}
	if n := e.count(t, `select count(*) from agent_knowledge_access where collection_id = $1`, keep); n != 1 {
		t.Errorf("another collection's access went too")
	}
	if n := e.count(t, `select count(*) from agents where id = any($1)`, []string{f.agent, a2}); n != 2 {
		t.Errorf("agents with access were deleted")
	}
	var got struct {
		Collection *struct{ ID string }
		Agent      struct {
			KnowledgeAccess []struct{ Collection struct{ ID string } }
		}
		Collections struct{ TotalCount int }
	}
	e.must(t, user, `query($c: ID!, $a: ID!) { collection(id: $c) { id } agent(id: $a) { knowledgeAccess { collection { id } } }
		collections { totalCount } }`, apiVars("c", f.collection, "a", f.agent)).as(t, &got)
	if got.Collection != nil || len(got.Agent.KnowledgeAccess) != 1 || got.Agent.KnowledgeAccess[0].Collection.ID != keep || got.Collections.TotalCount != 1 {
		t.Errorf("after delete: %+v", got)
	}
	wantCode(t, e.as(t, user, `mutation($c: ID!) { deleteCollection(id: $c) }`, apiVars("c", f.collection)), "NOT_FOUND")
	wantCode(t, e.as(t, user, `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "x", type: FACT}) { id } }`,
		apiVars("c", f.collection)), "NOT_FOUND")
}

func TestKnowledgeEntryAddDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	col := id(t, e.must(t, user, `mutation { createCollection(input: {name: "Facts"}) { id } }`, nil), "createCollection")
	type entry struct {
		ID         string
		Content    string
		Type       string
		Importance float64
		Source     string
		Collection struct{ ID string }
	}
	var plain struct{ AddKnowledgeEntry entry }
	e.must(t, user, `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "c1", type: PREFERENCE}) {
		id content type importance source collection { id } } }`, apiVars("c", col)).as(t, &plain)
	p := plain.AddKnowledgeEntry
	if p.Content != "c1" || p.Type != "PREFERENCE" || p.Importance != 0.5 || p.Source != "manual" || p.Collection.ID != col {
		t.Fatalf("addKnowledgeEntry defaults: %+v", p)
	}
	var full struct{ AddKnowledgeEntry entry }
	e.must(t, user, `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "c2", type: SUMMARY, importance: 0.9, source: "email"}) {
		id content type importance source collection { id } } }`, apiVars("c", col)).as(t, &full)
	if f := full.AddKnowledgeEntry; f.Importance != 0.9 || f.Source != "email" || f.Type != "SUMMARY" {
		t.Fatalf("addKnowledgeEntry with all fields: %+v", f)
	}
	entryCount := func() int {
		var got struct{ Collection struct{ EntryCount int } }
		e.must(t, user, `query($c: ID!) { collection(id: $c) { entryCount } }`, apiVars("c", col)).as(t, &got)
		return got.Collection.EntryCount
	}
	if n := entryCount(); n != 2 {
		t.Fatalf("entryCount: want 2, got %d", n)
	}
	var del struct{ DeleteKnowledgeEntry bool }
	e.must(t, user, `mutation($id: ID!) { deleteKnowledgeEntry(id: $id) }`, apiVars("id", p.ID)).as(t, &del)
	if !del.DeleteKnowledgeEntry || entryCount() != 1 {
		t.Fatalf("deleteKnowledgeEntry: %v, entryCount %d", del.DeleteKnowledgeEntry, entryCount())
	}
	if n := e.count(t, `select count(*) from knowledge_entries where id = $1`, p.ID); n != 0 {
		t.Fatalf("deleted entry still stored")
	}
	wantCode(t, e.as(t, user, `mutation($id: ID!) { deleteKnowledgeEntry(id: $id) }`, apiVars("id", p.ID)), "NOT_FOUND")
	wantCode(t, e.as(t, user, `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "x", type: FACT}) { id } }`,
		apiVars("c", uuid.NewString())), "NOT_FOUND")
}

// apiConn is a connection page as the pagination tests read it.
type apiConn struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
	Edges []struct {
		Cursor string
		Node   struct{ ID string }
	}
}

// apiPageAll follows endCursor from the first page to the last, checking
// each page's info, and returns the ids in order.
func apiPageAll(t *testing.T, size, total int, fetch func(after *string) apiConn) []string {
	t.Helper()
	var ids []string
	var after *string
	for page := 0; ; page++ {
		if page > total+1 {
			t.Fatalf("paging does not end")
		}
		c := fetch(after)
		if c.TotalCount != total {
			t.Errorf("page %d: totalCount %d, want %d", page, c.TotalCount, total)
		}
		wantLen := min(size, total-len(ids))
		if len(c.Edges) != wantLen {
			t.Fatalf("page %d: %d edges, want %d", page, len(c.Edges), wantLen)
		}
		last := len(ids)+len(c.Edges) == total
		if c.PageInfo.HasNextPage == last {
			t.Errorf("page %d: hasNextPage %v with %d of %d seen", page, c.PageInfo.HasNextPage, len(ids)+len(c.Edges), total)
		}
		if c.PageInfo.HasPreviousPage != (page > 0) {
			t.Errorf("page %d: hasPreviousPage %v", page, c.PageInfo.HasPreviousPage)
		}
		if len(c.Edges) > 0 {
			if c.PageInfo.StartCursor == nil || *c.PageInfo.StartCursor != c.Edges[0].Cursor {
				t.Errorf("page %d: startCursor %v is not the first edge's cursor %s", page, apiDeref(c.PageInfo.StartCursor), c.Edges[0].Cursor)
			}
			if c.PageInfo.EndCursor == nil || *c.PageInfo.EndCursor != c.Edges[len(c.Edges)-1].Cursor {
				t.Errorf("page %d: endCursor %v is not the last edge's cursor", page, apiDeref(c.PageInfo.EndCursor))
			}
		}
		for _, edge := range c.Edges {
			ids = append(ids, edge.Node.ID)
		}
		if last && len(c.Edges) == 0 {
			if c.PageInfo.StartCursor != nil || c.PageInfo.EndCursor != nil {
				t.Errorf("empty page has cursors: %+v", c.PageInfo)
			}
			return ids
		}
		if last {
			// One more page after the end is empty and says so.
			end := fetch(c.PageInfo.EndCursor)
			if len(end.Edges) != 0 || end.PageInfo.HasNextPage || !end.PageInfo.HasPreviousPage ||
				end.PageInfo.StartCursor != nil || end.PageInfo.EndCursor != nil || end.TotalCount != total {
				t.Errorf("page after the last: %+v", end)
			}
			return ids
		}
		after = c.PageInfo.EndCursor
	}
}

func TestEntriesPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	col := id(t, e.must(t, user, `mutation { createCollection(input: {name: "Paged"}) { id } }`, nil), "createCollection")
	// Another collection's entries never show up in this one's pages.
	noise := id(t, e.must(t, user, `mutation { createCollection(input: {name: "Noise"}) { id } }`, nil), "createCollection")
	types := []string{"FACT", "NOTE", "FACT", "NOTE", "FACT"}
	var all, facts, notes []string
	for i, typ := range types {
		eid := id(t, e.must(t, user, `mutation($c: ID!, $s: String!, $t: KnowledgeType!) { addKnowledgeEntry(input: {collectionId: $c, content: $s, type: $t}) { id } }`,
			apiVars("c", col, "s", fmt.Sprint("entry ", i), "t", typ)), "addKnowledgeEntry")
		e.must(t, user, `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "noise", type: FACT}) { id } }`, apiVars("c", noise))
		all = append(all, eid)
		if typ == "FACT" {
			facts = append(facts, eid)
		} else {
			notes = append(notes, eid)
		}
	}
	fetch := func(typ string) func(after *string) apiConn {
		return func(after *string) apiConn {
			vars := apiVars("c", col)
			if after != nil {
				vars["after"] = *after
			}
			if typ != "" {
				vars["t"] = typ
			}
			var got struct{ Collection struct{ Entries apiConn } }
			e.must(t, user, `query($c: ID!, $after: String, $t: KnowledgeType) { collection(id: $c) {
				entries(first: 2, after: $after, type: $t) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
				edges { cursor node { id } } } } }`, vars).as(t, &got)
			return got.Collection.Entries
		}
	}
	for _, c := range []struct {
		typ  string
		want []string
	}{{"", all}, {"FACT", facts}, {"NOTE", notes}, {"SUMMARY", nil}} {
		t.Run("type "+c.typ, func(t *testing.T) {
			got := apiPageAll(t, 2, len(c.want), fetch(c.typ))
			if !slices.Equal(got, c.want) {
				t.Fatalf("entries in page order: want %v (oldest first), got %v", c.want, got)
			}
		})
	}
	// Every node of a filtered page has the type.
	var typed struct {
		Collection struct {
			EntryCount int
			Entries    struct {
				Edges []struct{ Node struct{ Type string } }
			}
		}
	}
	e.must(t, user, `query($c: ID!) { collection(id: $c) { entryCount entries(type: NOTE) { edges { node { type } } } } }`,
		apiVars("c", col)).as(t, &typed)
	if typed.Collection.EntryCount != 5 || len(typed.Collection.Entries.Edges) != 2 {
		t.Fatalf("entryCount %d (want 5), NOTE entries %d (want 2)", typed.Collection.EntryCount, len(typed.Collection.Entries.Edges))
	}
	for _, edge := range typed.Collection.Entries.Edges {
		if edge.Node.Type != "NOTE" {
			t.Fatalf("entries(type: NOTE) returned a %s", edge.Node.Type)
		}
	}
}

func TestAgentsAndCollectionsPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	var agents, collections []string
	for i := range 5 {
		agents = append(agents, e.apiCreateAgent(t, user, map[string]any{"name": fmt.Sprint("Agent ", i), "type": "CUSTOM"}).ID)
		collections = append(collections, id(t, e.must(t, user, `mutation($n: String!) { createCollection(input: {name: $n}) { id } }`,
			apiVars("n", fmt.Sprint("C", i))), "createCollection"))
	}
	// A destroyed agent and another user's agents are not in the pages.
	gone := e.apiCreateAgent(t, user, map[string]any{"name": "Gone", "type": "CUSTOM"}).ID
	e.must(t, user, `mutation($id: ID!) { destroyAgent(id: $id) { id } }`, apiVars("id", gone))
	e.seed(t, uuid.New())

	page := func(field string) func(after *string) apiConn {
		return func(after *string) apiConn {
			var got map[string]apiConn
			e.must(t, user, `query($after: String) { `+field+`(first: 2, after: $after) { totalCount
				pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } }`,
				apiVars("after", after)).as(t, &got)
			return got[field]
		}
	}
	if got := apiPageAll(t, 2, 5, page("agents")); !slices.Equal(got, agents) {
		t.Errorf("agents in page order: want %v, got %v", agents, got)
	}
	if got := apiPageAll(t, 2, 5, page("collections")); !slices.Equal(got, collections) {
		t.Errorf("collections in page order: want %v, got %v", collections, got)
	}
	// The default page holds them all.
	if got := e.apiAgentIDs(t, user, ""); !slices.Equal(got, agents) {
		t.Errorf("agents(first: 100): want %v, got %v", agents, got)
	}
}
