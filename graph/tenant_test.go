package graph_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// Another user's objects do not exist for the caller: queries answer null or
// leave them out, mutations answer NOT_FOUND (never FORBIDDEN) exactly as for
// an id that exists nowhere, and nothing of the owner's changes.
func TestCrossTenantEveryOperation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := uuid.New(), uuid.New()
	a := e.seed(t, alice)
	b := e.seed(t, bob)
	// Give alice a head agent, a default collection and a profile, so that
	// bob's attempts to take or move those flags would show.
	e.must(t, alice, `mutation($id: ID!) { updateAgent(id: $id, input: {isHead: true}) { id } }`, apiVars("id", a.agent))
	e.must(t, alice, `mutation($id: ID!) { updateCollection(id: $id, input: {isDefault: true}) { id } }`, apiVars("id", a.collection))
	e.must(t, alice, `mutation { updatePersonalization(input: {bio: "alice bio", company: "Alice Inc"}) { bio } }`, nil)
	// Bob has his own head agent and default collection too: a refused
	// operation must not move them either.
	e.must(t, bob, `mutation($id: ID!) { updateAgent(id: $id, input: {isHead: true}) { id } }`, apiVars("id", b.agent))
	e.must(t, bob, `mutation($id: ID!) { updateCollection(id: $id, input: {isDefault: true}) { id } }`, apiVars("id", b.collection))
	aliceBefore := e.apiState(t, alice)
	for _, kind := range []string{"agent ", "skill ", "training ", "access ", "collection ", "entry ", "profile "} {
		if !strings.Contains("\n"+aliceBefore, "\n"+kind) {
			t.Fatalf("state digest has no %q row: %s", kind, aliceBefore)
		}
	}

	t.Run("queries", func(t *testing.T) {
		r := e.must(t, bob, `query($a: ID!, $c: ID!) {
			agent(id: $a) { id name skills { slug } }
			collection(id: $c) { id name entries { totalCount } }
		}`, apiVars("a", a.agent, "c", a.collection))
		var got struct {
			Agent      *json.RawMessage
			Collection *json.RawMessage
		}
		r.as(t, &got)
		if got.Agent != nil || got.Collection != nil {
			t.Fatalf("bob sees alice's objects: %s", r.Data)
		}

		var lists struct {
			Agents struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID string } }
			}
			Destroyed struct {
				TotalCount int
			}
			Research struct {
				TotalCount int
			}
			Collections struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID string } }
			}
			Viewer struct {
				ID              string
				HeadAgent       *struct{ ID string }
				Personalization *struct{ Bio *string }
			}
		}
		e.must(t, bob, `{
			agents(first: 100) { totalCount edges { node { id } } }
			destroyed: agents(status: DESTROYED) { totalCount }
			research: agents(type: RESEARCH) { totalCount }
			collections(first: 100) { totalCount edges { node { id } } }
			viewer { id headAgent { id } personalization { bio } }
		}`, nil).as(t, &lists)
		if n := len(lists.Agents.Edges); n != 1 || lists.Agents.Edges[0].Node.ID != b.agent || lists.Agents.TotalCount != 1 {
			t.Errorf("bob's agents: want only %s (totalCount 1), got %+v", b.agent, lists.Agents)
		}
		if lists.Destroyed.TotalCount != 0 || lists.Research.TotalCount != 1 {
			t.Errorf("filtered counts include alice's agents: %+v %+v", lists.Destroyed, lists.Research)
		}
		if n := len(lists.Collections.Edges); n != 1 || lists.Collections.Edges[0].Node.ID != b.collection || lists.Collections.TotalCount != 1 {
			t.Errorf("bob's collections: want only %s (totalCount 1), got %+v", b.collection, lists.Collections)
		}
		if lists.Viewer.ID != bob.String() {
			t.Errorf("viewer.id: want %s, got %s", bob, lists.Viewer.ID)
		}
		if lists.Viewer.HeadAgent == nil || lists.Viewer.HeadAgent.ID != b.agent {
			t.Errorf("bob's head agent: want %s, got %+v (alice's is %s)", b.agent, lists.Viewer.HeadAgent, a.agent)
		}
		if lists.Viewer.Personalization != nil {
			t.Errorf("bob has no personalization, got %+v", *lists.Viewer.Personalization)
		}
	})

	t.Run("mutations", func(t *testing.T) {
		cases := []struct {
			name  string
			query string
			vars  map[string]any
		}{
			{"updateAgent", `mutation($a: ID!) { updateAgent(id: $a, input: {name: "Hacked", status: SLEEPING, isHead: false}) { id } }`,
				apiVars("a", a.agent)},
			{"updateAgent isHead", `mutation($a: ID!) { updateAgent(id: $a, input: {isHead: true}) { id } }`,
				apiVars("a", a.agent)},
			{"destroyAgent", `mutation($a: ID!) { destroyAgent(id: $a) { id } }`, apiVars("a", a.agent)},
			{"addTrainingData", `mutation($a: ID!) { addTrainingData(agentId: $a, input: {type: EXAMPLE, title: "t", content: "c"}) { id } }`,
				apiVars("a", a.agent)},
			{"updateTrainingData", `mutation($t: ID!) { updateTrainingData(id: $t, input: {title: "Hacked", enabled: false}) { id } }`,
				apiVars("t", a.training)},
			{"setTrainingDataEnabled", `mutation($t: ID!) { setTrainingDataEnabled(id: $t, enabled: false) { id } }`,
				apiVars("t", a.training)},
			{"removeTrainingData", `mutation($t: ID!) { removeTrainingData(id: $t) }`, apiVars("t", a.training)},
			{"installSkill", `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "evil", name: "Evil"}) { id } }`,
				apiVars("a", a.agent)},
			{"uninstallSkill", `mutation($a: ID!) { uninstallSkill(agentId: $a, slug: "web-search") }`, apiVars("a", a.agent)},
			{"grantKnowledgeAccess own agent, other's collection", `mutation($a: ID!, $c: ID!) { grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: READ_WRITE) { accessLevel } }`,
				apiVars("a", b.agent, "c", a.collection)},
			{"grantKnowledgeAccess other's agent, own collection", `mutation($a: ID!, $c: ID!) { grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: READ) { accessLevel } }`,
				apiVars("a", a.agent, "c", b.collection)},
			{"grantKnowledgeAccess other's agent and collection", `mutation($a: ID!, $c: ID!) { grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: READ_WRITE) { accessLevel } }`,
				apiVars("a", a.agent, "c", a.collection)},
			{"revokeKnowledgeAccess other's agent and collection", `mutation($a: ID!, $c: ID!) { revokeKnowledgeAccess(agentId: $a, collectionId: $c) }`,
				apiVars("a", a.agent, "c", a.collection)},
			{"revokeKnowledgeAccess own agent, other's collection", `mutation($a: ID!, $c: ID!) { revokeKnowledgeAccess(agentId: $a, collectionId: $c) }`,
				apiVars("a", b.agent, "c", a.collection)},
			{"revokeKnowledgeAccess other's agent, own collection", `mutation($a: ID!, $c: ID!) { revokeKnowledgeAccess(agentId: $a, collectionId: $c) }`,
				apiVars("a", a.agent, "c", b.collection)},
			{"updateCollection", `mutation($c: ID!) { updateCollection(id: $c, input: {name: "Hacked", description: "x"}) { id } }`,
				apiVars("c", a.collection)},
			{"updateCollection isDefault", `mutation($c: ID!) { updateCollection(id: $c, input: {isDefault: true}) { id } }`,
				apiVars("c", a.collection)},
			{"deleteCollection", `mutation($c: ID!) { deleteCollection(id: $c) }`, apiVars("c", a.collection)},
			{"addKnowledgeEntry", `mutation($c: ID!) { addKnowledgeEntry(input: {collectionId: $c, content: "planted", type: NOTE}) { id } }`,
				apiVars("c", a.collection)},
			{"deleteKnowledgeEntry", `mutation($n: ID!) { deleteKnowledgeEntry(id: $n) }`, apiVars("n", a.entry)},
		}
		// Alice's ids, each replaced by an id that exists nowhere: the answer
		// must be the same, or it tells bob which ids exist.
		ghost := map[string]string{a.agent: uuid.NewString(), a.collection: uuid.NewString(),
			a.entry: uuid.NewString(), a.training: uuid.NewString()}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				bobBefore := e.apiState(t, bob)
				r := e.as(t, bob, c.query, c.vars)
				wantCode(t, r, "NOT_FOUND")
				if after := e.apiState(t, bob); after != bobBefore {
					t.Errorf("the refused operation changed bob's data:\nbefore %s\nafter  %s", bobBefore, after)
				}
				ghostVars := map[string]any{}
				for k, v := range c.vars {
					if g, ok := ghost[v.(string)]; ok {
						v = g
					}
					ghostVars[k] = v
				}
				g := e.as(t, bob, c.query, ghostVars)
				if g.code() != r.code() || apiMessage(g) != apiMessage(r) {
					t.Errorf("another user's id and a missing id answer differently:\n other's: %+v\n missing: %+v", r.Errors, g.Errors)
				}
			})
		}
	})

	// Bob's own flag moves and profile writes stay within bob's rows.
	e.must(t, bob, `mutation { createAgent(input: {name: "Bob head", type: CUSTOM, isHead: true}) { id } }`, nil)
	e.must(t, bob, `mutation { createCollection(input: {name: "Bob default", isDefault: true}) { id } }`, nil)
	e.must(t, bob, `mutation { updatePersonalization(input: {bio: "bob bio", company: ""}) { bio } }`, nil)
	if head := e.apiHead(t, alice); head != a.agent {
		t.Errorf("alice's head agent: want %s, got %q", a.agent, head)
	}
	if head := e.apiHead(t, bob); head == a.agent || head == b.agent || head == "" {
		t.Errorf("bob's head agent: want bob's new head, got %q", head)
	}

	checks := []struct {
		what string
		sql  string
		args []any
	}{
		{"agent name, status and head flag", `select count(*) from agents where id = $1 and user_id = $2
			and name = 'Agent' and status = 'active' and is_head and agent_type = 'research'`, []any{a.agent, alice}},
		{"skill still installed", `select count(*) from agent_skills where agent_id = $1 and skill_slug = 'web-search'`, []any{a.agent}},
		{"no planted skill", `select count(*) + 1 from agent_skills where agent_id = $1 and skill_slug = 'evil'`, []any{a.agent}},
		{"training row unchanged", `select count(*) from agent_training_data where id = $1 and agent_id = $2
			and title = 'Be brief' and content = 'Answer in one line.' and enabled`, []any{a.training, a.agent}},
		{"training rows of the agent", `select count(*) from agent_training_data where agent_id = $1`, []any{a.agent}},
		{"entry still there", `select count(*) from knowledge_entries where id = $1 and collection_id = $2
			and user_id = $3 and content = 'The sky is blue'`, []any{a.entry, a.collection, alice}},
		{"entries of the collection", `select count(*) from knowledge_entries where collection_id = $1`, []any{a.collection}},
		{"access row unchanged", `select count(*) from agent_knowledge_access where agent_id = $1 and collection_id = $2
			and access_level = 'read'`, []any{a.agent, a.collection}},
		{"collection name and default flag", `select count(*) from knowledge_collections where id = $1
			and name = 'Notes' and description is null and is_default`, []any{a.collection}},
		{"profile untouched", `select count(*) from user_personalization where user_id = $1
			and bio = 'alice bio' and company = 'Alice Inc'`, []any{alice}},
		{"no access row joins two users", `select count(*) + 1 from agent_knowledge_access k
			join agents a on a.id = k.agent_id join knowledge_collections c on c.id = k.collection_id
			where a.user_id <> c.user_id`, nil},
	}
	for _, c := range checks {
		if n := e.count(t, c.sql, c.args...); n != 1 {
			t.Errorf("%s: count %d, want 1", c.what, n)
		}
	}
	if after := e.apiState(t, alice); after != aliceBefore {
		t.Errorf("alice's rows changed:\nbefore %s\nafter  %s", aliceBefore, after)
	}
	if n := e.count(t, `select count(*) from user_personalization where user_id = $1 and bio = 'bob bio'`, bob); n != 1 {
		t.Errorf("bob's own profile: count %d, want 1", n)
	}
}
