package graph_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestAgentCreateDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	r := e.must(t, user, `mutation { createAgent(input: {name: "Plain", type: EMAIL}) {
		`+apiAgentFields+` skills { id } trainingData { id } knowledgeAccess { accessLevel } } }`, nil)
	var got struct {
		CreateAgent struct {
			apiAgentT
			Skills          []any
			TrainingData    []any
			KnowledgeAccess []any
		}
	}
	r.as(t, &got)
	a := got.CreateAgent.apiAgentT
	if _, err := uuid.Parse(a.ID); err != nil {
		t.Errorf("id %q is not a UUID", a.ID)
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"name", a.Name, "Plain"},
		{"type", a.Type, "EMAIL"},
		{"status", a.Status, "ACTIVE"},
		{"trustTier", a.TrustTier, "OBSERVER"},
		{"level", a.Level, 1},
		{"xp", a.Xp, 0},
		{"personality.model", a.Personality.Model, "gpt-4o-mini"},
		{"personality.tone", apiDeref(a.Personality.Tone), "<nil>"},
		{"personality.verbosity", apiDeref(a.Personality.Verbosity), "<nil>"},
		{"objective", apiDeref(a.Objective), "<nil>"},
		{"instructions", apiDeref(a.Instructions), "<nil>"},
		{"background", apiDeref(a.Background), "<nil>"},
		{"emailAddress", apiDeref(a.EmailAddress), "<nil>"},
		{"isHead", a.IsHead, false},
		{"skills", len(got.CreateAgent.Skills), 0},
		{"trainingData", len(got.CreateAgent.TrainingData), 0},
		{"knowledgeAccess", len(got.CreateAgent.KnowledgeAccess), 0},
		{"createdAt set", a.CreatedAt.IsZero(), false},
		{"updatedAt = createdAt", a.UpdatedAt.Equal(a.CreatedAt), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: want %v, got %v", c.field, c.want, c.got)
		}
	}
	if back := e.apiGetAgent(t, user, a.ID); back == nil || !reflect.DeepEqual(*back, a) {
		t.Errorf("agent(id) differs from what createAgent returned:\ncreate %+v\nread   %+v", a, back)
	}
	if n := e.count(t, `select count(*) from agents where id = $1 and user_id = $2 and personality_model = 'gpt-4o-mini'
		and status = 'active' and trust_tier = 'observer' and not is_head`, a.ID, user); n != 1 {
		t.Errorf("stored row does not match the defaults (count %d)", n)
	}
}

func TestAgentCreateAllFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	a := e.apiCreateAgent(t, user, map[string]any{
		"name": "Full", "type": "CALENDAR", "trustTier": "PARTNER",
		"personality":  map[string]any{"model": "claude-3-5-sonnet", "tone": "warm", "verbosity": "concise"},
		"objective":    "Keep my calendar sane",
		"instructions": "Never double-book",
		"background":   "Works for a busy person",
		"emailAddress": "full@example.com",
		"isHead":       true,
	})
	want := apiAgentT{ID: a.ID, Name: "Full", Type: "CALENDAR", Status: "ACTIVE", TrustTier: "PARTNER",
		Objective: apiStr("Keep my calendar sane"), Instructions: apiStr("Never double-book"),
		Background: apiStr("Works for a busy person"), EmailAddress: apiStr("full@example.com"),
		IsHead: true, Level: 1, Xp: 0, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
	want.Personality.Model, want.Personality.Tone, want.Personality.Verbosity = "claude-3-5-sonnet", apiStr("warm"), apiStr("concise")
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("createAgent:\nwant %+v\ngot  %+v", want, a)
	}
	if back := e.apiGetAgent(t, user, a.ID); back == nil || !reflect.DeepEqual(*back, want) {
		t.Fatalf("agent(id):\nwant %+v\ngot  %+v", want, back)
	}
	if head := e.apiHead(t, user); head != a.ID {
		t.Fatalf("viewer.headAgent: want %s, got %q", a.ID, head)
	}
}

// Each field of UpdateAgentInput changes that field and only that field.
func TestAgentUpdateEachField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	want := e.apiCreateAgent(t, user, map[string]any{
		"name": "Before", "type": "RESEARCH",
		"personality": map[string]any{"tone": "dry", "verbosity": "long"},
		"objective":   "o1", "instructions": "i1", "background": "b1", "emailAddress": "before@example.com",
	})
	created := want
	steps := []struct {
		name  string
		input map[string]any
		apply func(a *apiAgentT)
	}{
		{"name", map[string]any{"name": "After"}, func(a *apiAgentT) { a.Name = "After" }},
		{"status SLEEPING", map[string]any{"status": "SLEEPING"}, func(a *apiAgentT) { a.Status = "SLEEPING" }},
		{"status ACTIVE", map[string]any{"status": "ACTIVE"}, func(a *apiAgentT) { a.Status = "ACTIVE" }},
		{"trustTier", map[string]any{"trustTier": "TRUSTED"}, func(a *apiAgentT) { a.TrustTier = "TRUSTED" }},
		{"personality.model keeps tone and verbosity", map[string]any{"personality": map[string]any{"model": "gemini-1.5-pro"}},
			func(a *apiAgentT) { a.Personality.Model = "gemini-1.5-pro" }},
		{"personality.tone keeps model", map[string]any{"personality": map[string]any{"tone": "formal"}},
			func(a *apiAgentT) { a.Personality.Tone = apiStr("formal") }},
		{"personality.verbosity", map[string]any{"personality": map[string]any{"verbosity": "terse"}},
			func(a *apiAgentT) { a.Personality.Verbosity = apiStr("terse") }},
		{"objective", map[string]any{"objective": "o2"}, func(a *apiAgentT) { a.Objective = apiStr("o2") }},
		{"instructions", map[string]any{"instructions": "i2"}, func(a *apiAgentT) { a.Instructions = apiStr("i2") }},
		{"background", map[string]any{"background": "b2"}, func(a *apiAgentT) { a.Background = apiStr("b2") }},
		{"emailAddress", map[string]any{"emailAddress": "after@example.com"}, func(a *apiAgentT) { a.EmailAddress = apiStr("after@example.com") }},
		{"isHead true", map[string]any{"isHead": true}, func(a *apiAgentT) { a.IsHead = true }},
		{"isHead false", map[string]any{"isHead": false}, func(a *apiAgentT) { a.IsHead = false }},
		{"empty input", map[string]any{}, func(*apiAgentT) {}},
	}
	for _, s := range steps {
		var got struct{ UpdateAgent apiAgentT }
		e.must(t, user, `mutation($id: ID!, $in: UpdateAgentInput!) { updateAgent(id: $id, input: $in) { `+apiAgentFields+` } }`,
			apiVars("id", want.ID, "in", s.input)).as(t, &got)
		s.apply(&want)
		if got.UpdateAgent.UpdatedAt.Before(want.UpdatedAt) {
			t.Errorf("%s: updatedAt went back from %v to %v", s.name, want.UpdatedAt, got.UpdateAgent.UpdatedAt)
		}
		want.UpdatedAt = got.UpdateAgent.UpdatedAt
		if !reflect.DeepEqual(got.UpdateAgent, want) {
			t.Errorf("%s: updateAgent returned\n %+v\nwant\n %+v", s.name, got.UpdateAgent, want)
		}
		if back := e.apiGetAgent(t, user, want.ID); back == nil || !reflect.DeepEqual(*back, want) {
			t.Errorf("%s: agent(id) reads\n %+v\nwant\n %+v", s.name, back, want)
		}
	}
	if !want.UpdatedAt.After(created.CreatedAt) {
		t.Errorf("updatedAt %v not after createdAt %v", want.UpdatedAt, created.CreatedAt)
	}
	if !want.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("createdAt changed")
	}
}

// An empty string clears an optional text; required texts cannot be cleared.
func TestAgentUpdateEmptyStringClears(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	a := e.apiCreateAgent(t, user, map[string]any{
		"name": "Clear me", "type": "CUSTOM",
		"personality": map[string]any{"model": "gpt-4o", "tone": "dry", "verbosity": "long"},
		"objective":   "o", "instructions": "i", "background": "b", "emailAddress": "clear@example.com",
	})
	var got struct{ UpdateAgent apiAgentT }
	e.must(t, user, `mutation($id: ID!) { updateAgent(id: $id, input: {objective: "", instructions: "", background: "",
		emailAddress: "", personality: {tone: "", verbosity: ""}}) { `+apiAgentFields+` } }`, apiVars("id", a.ID)).as(t, &got)
	u := got.UpdateAgent
	for name, v := range map[string]*string{"objective": u.Objective, "instructions": u.Instructions, "background": u.Background,
		"emailAddress": u.EmailAddress, "personality.tone": u.Personality.Tone, "personality.verbosity": u.Personality.Verbosity} {
		if v != nil {
			t.Errorf("%s: want null after \"\", got %q", name, *v)
		}
	}
	if u.Name != "Clear me" || u.Personality.Model != "gpt-4o" {
		t.Errorf("fields not in the input changed: %+v", u)
	}
	if n := e.count(t, `select count(*) from agents where id = $1 and objective is null and instructions is null
		and background is null and email_address is null and personality_tone is null and personality_verbosity is null`, a.ID); n != 1 {
		t.Errorf("cleared texts are not NULL in the database")
	}

	for _, c := range []struct {
		name, input, field string
	}{
		{"empty name", `{name: ""}`, "input.name"},
		{"blank name", `{name: "   "}`, "input.name"},
		{"empty model", `{personality: {model: ""}}`, "input.personality.model"},
	} {
		r := e.as(t, user, `mutation($id: ID!) { updateAgent(id: $id, input: `+c.input+`) { id } }`, apiVars("id", a.ID))
		apiWantInvalid(t, r, c.field)
	}
	if back := e.apiGetAgent(t, user, a.ID); back.Name != "Clear me" || back.Personality.Model != "gpt-4o" {
		t.Errorf("refused updates changed the agent: %+v", back)
	}
}

// The head flag moves in one step: at every moment exactly one agent has it.
func TestAgentHeadMovesAtomically(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	other := uuid.New()
	otherHead := e.apiCreateAgent(t, other, map[string]any{"name": "Other head", "type": "CUSTOM", "isHead": true}).ID

	heads := func() int {
		return e.count(t, `select count(*) from agents where user_id = $1 and is_head`, user)
	}
	isHead := func(id string) bool { return e.apiGetAgent(t, user, id).IsHead }

	a1 := e.apiCreateAgent(t, user, map[string]any{"name": "A1", "type": "CUSTOM", "isHead": true}).ID
	if h := e.apiHead(t, user); h != a1 || heads() != 1 {
		t.Fatalf("after creating A1 as head: head %q, %d head rows", h, heads())
	}
	a2 := e.apiCreateAgent(t, user, map[string]any{"name": "A2", "type": "CUSTOM", "isHead": true})
	if !a2.IsHead {
		t.Fatalf("A2 created with isHead is not head")
	}
	if isHead(a1) || e.apiHead(t, user) != a2.ID || heads() != 1 {
		t.Fatalf("after creating A2 as head: A1 head %v, viewer head %q, %d head rows", isHead(a1), e.apiHead(t, user), heads())
	}
	var got struct{ UpdateAgent apiAgentT }
	e.must(t, user, `mutation($id: ID!) { updateAgent(id: $id, input: {isHead: true}) { `+apiAgentFields+` } }`, apiVars("id", a1)).as(t, &got)
	if !got.UpdateAgent.IsHead || isHead(a2.ID) || e.apiHead(t, user) != a1 || heads() != 1 {
		t.Fatalf("after moving head back to A1: A1 %v, A2 %v, viewer head %q, %d head rows",
			got.UpdateAgent.IsHead, isHead(a2.ID), e.apiHead(t, user), heads())
	}
	// Setting it again on the head keeps exactly one.
	e.must(t, user, `mutation($id: ID!) { updateAgent(id: $id, input: {isHead: true}) { id } }`, apiVars("id", a1))
	if e.apiHead(t, user) != a1 || heads() != 1 {
		t.Fatalf("re-setting head on A1: viewer head %q, %d head rows", e.apiHead(t, user), heads())
	}
	// A non-head agent created without the flag leaves the head alone.
	e.apiCreateAgent(t, user, map[string]any{"name": "A3", "type": "CUSTOM"})
	if e.apiHead(t, user) != a1 || heads() != 1 {
		t.Fatalf("creating a non-head agent moved the head")
	}
	// Another user's head never moved.
	if e.apiHead(t, other) != otherHead || e.count(t, `select count(*) from agents where id = $1 and is_head`, otherHead) != 1 {
		t.Fatalf("another user's head agent moved")
	}
}

func TestAgentDestroy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	f := e.seed(t, user)
	keep := e.apiCreateAgent(t, user, map[string]any{"name": "Survivor", "type": "CODE"}).ID
	e.must(t, user, `mutation($id: ID!) { updateAgent(id: $id, input: {isHead: true}) { id } }`, apiVars("id", f.agent))

	var got struct{ DestroyAgent apiAgentT }
	e.must(t, user, `mutation($id: ID!) { destroyAgent(id: $id) { `+apiAgentFields+` } }`, apiVars("id", f.agent)).as(t, &got)
	if got.DestroyAgent.Status != "DESTROYED" || got.DestroyAgent.IsHead {
		t.Fatalf("destroyAgent: want status DESTROYED and not head, got %+v", got.DestroyAgent)
	}
	if h := e.apiHead(t, user); h != "" {
		t.Fatalf("viewer.headAgent after destroying the head: want null, got %s", h)
	}
	// The data is kept, in the database and through the API.
	for _, c := range []struct{ what, sql string }{
		{"agent row", `select count(*) from agents where id = $1 and status = 'destroyed' and not is_head`},
		{"skill", `select count(*) from agent_skills where agent_id = $1`},
		{"training", `select count(*) from agent_training_data where agent_id = $1`},
		{"access", `select count(*) from agent_knowledge_access where agent_id = $1`},
	} {
		if n := e.count(t, c.sql, f.agent); n != 1 {
			t.Errorf("%s after destroy: count %d, want 1", c.what, n)
		}
	}
	var read struct {
		Agent *struct {
			Status       string
			Skills       []struct{ Slug string }
			TrainingData []struct{ ID string }
		}
	}
	e.must(t, user, `query($id: ID!) { agent(id: $id) { status skills { slug } trainingData { id } } }`, apiVars("id", f.agent)).as(t, &read)
	if read.Agent == nil || read.Agent.Status != "DESTROYED" || len(read.Agent.Skills) != 1 || len(read.Agent.TrainingData) != 1 {
		t.Errorf("agent(id) of a destroyed agent: %+v", read.Agent)
	}
	// Hidden from agents unless asked for.
	if ids := e.apiAgentIDs(t, user, ""); !slices.Equal(ids, []string{keep}) {
		t.Errorf("agents: want only %s, got %v", keep, ids)
	}
	if ids := e.apiAgentIDs(t, user, ", status: DESTROYED"); !slices.Equal(ids, []string{f.agent}) {
		t.Errorf("agents(status: DESTROYED): want only %s, got %v", f.agent, ids)
	}
	if ids := e.apiAgentIDs(t, user, ", status: ACTIVE"); !slices.Equal(ids, []string{keep}) {
		t.Errorf("agents(status: ACTIVE): want only %s, got %v", keep, ids)
	}
	var counts struct {
		All, Destroyed struct{ TotalCount int }
	}
	e.must(t, user, `{ all: agents { totalCount } destroyed: agents(status: DESTROYED) { totalCount } }`, nil).as(t, &counts)
	if counts.All.TotalCount != 1 || counts.Destroyed.TotalCount != 1 {
		t.Errorf("totalCount: agents %d (want 1), agents(status: DESTROYED) %d (want 1)", counts.All.TotalCount, counts.Destroyed.TotalCount)
	}

	// Destroying twice is fine.
	var again struct{ DestroyAgent apiAgentT }
	e.must(t, user, `mutation($id: ID!) { destroyAgent(id: $id) { `+apiAgentFields+` } }`, apiVars("id", f.agent)).as(t, &again)
	if again.DestroyAgent.Status != "DESTROYED" || again.DestroyAgent.IsHead || again.DestroyAgent.Name != "Agent" {
		t.Errorf("second destroyAgent: %+v", again.DestroyAgent)
	}
	if n := e.count(t, `select count(*) from agent_skills where agent_id = $1`, f.agent); n != 1 {
		t.Errorf("skills after the second destroy: count %d, want 1", n)
	}
	// updateAgent(status: DESTROYED) is the same as destroyAgent: the head flag goes too.
	e.must(t, user, `mutation($id: ID!) { updateAgent(id: $id, input: {isHead: true}) { id } }`, apiVars("id", keep))
	var viaUpdate struct{ UpdateAgent apiAgentT }
	e.must(t, user, `mutation($id: ID!) { updateAgent(id: $id, input: {status: DESTROYED}) { `+apiAgentFields+` } }`,
		apiVars("id", keep)).as(t, &viaUpdate)
	if viaUpdate.UpdateAgent.Status != "DESTROYED" || viaUpdate.UpdateAgent.IsHead || e.apiHead(t, user) != "" {
		t.Errorf("updateAgent(status: DESTROYED) on the head: %+v, viewer head %q", viaUpdate.UpdateAgent, e.apiHead(t, user))
	}
	// Asking for both is refused, and changes nothing.
	other := e.apiCreateAgent(t, user, map[string]any{"name": "Head again", "type": "CODE", "isHead": true}).ID
	r := e.as(t, user, `mutation($id: ID!) { updateAgent(id: $id, input: {status: DESTROYED, isHead: true}) { id } }`, apiVars("id", other))
	apiWantInvalid(t, r, "input.isHead")
	if a := e.apiGetAgent(t, user, other); a.Status != "ACTIVE" || !a.IsHead {
		t.Errorf("refused destroy+head changed the agent: %+v", a)
	}
}

// A destroyed agent keeps its data but takes no more changes: each refused
// operation answers BAD_USER_INPUT and leaves every row as it was.
func TestAgentDestroyedTakesNoChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name  string
		query string
	}{
		{"updateAgent name", `mutation($a: ID!) { updateAgent(id: $a, input: {name: "Zombie"}) { id } }`},
		{"updateAgent status ACTIVE", `mutation($a: ID!) { updateAgent(id: $a, input: {status: ACTIVE}) { id } }`},
		{"updateAgent trustTier", `mutation($a: ID!) { updateAgent(id: $a, input: {trustTier: TRUSTED}) { id } }`},
		{"updateAgent isHead", `mutation($a: ID!) { updateAgent(id: $a, input: {isHead: true}) { id } }`},
		{"installSkill", `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "new-skill", name: "New"}) { id } }`},
		{"uninstallSkill", `mutation($a: ID!) { uninstallSkill(agentId: $a, slug: "web-search") }`},
		{"addTrainingData", `mutation($a: ID!) { addTrainingData(agentId: $a, input: {type: EXAMPLE, title: "t", content: "c"}) { id } }`},
		{"updateTrainingData", `mutation($t: ID!) { updateTrainingData(id: $t, input: {title: "changed"}) { id } }`},
		{"setTrainingDataEnabled", `mutation($t: ID!) { setTrainingDataEnabled(id: $t, enabled: false) { id } }`},
		{"removeTrainingData", `mutation($t: ID!) { removeTrainingData(id: $t) }`},
		{"grantKnowledgeAccess", `mutation($a: ID!, $c: ID!) { grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: READ_WRITE) { accessLevel } }`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			user := uuid.New()
			f := e.seed(t, user)
			e.must(t, user, `mutation($id: ID!) { destroyAgent(id: $id) { id } }`, apiVars("id", f.agent))
			before := e.apiState(t, user)
			vars := apiVars("a", f.agent, "t", f.training, "c", f.collection)
			for k := range vars {
				if !strings.Contains(c.query, "$"+k+":") {
					delete(vars, k)
				}
			}
			r := e.as(t, user, c.query, vars)
			if r.code() != "BAD_USER_INPUT" {
				t.Errorf("want BAD_USER_INPUT, got %q (errors %+v, data %s)", r.code(), r.Errors, r.Data)
			}
			if after := e.apiState(t, user); after != before {
				t.Errorf("the refused operation changed data anyway:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// store.DestroyAgent documents that destroying a destroyed agent changes
// nothing: not even its updatedAt.
func TestAgentDestroyTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	f := e.seed(t, user)
	e.must(t, user, `mutation($id: ID!) { destroyAgent(id: $id) { id } }`, apiVars("id", f.agent))
	first := e.apiGetAgent(t, user, f.agent)
	before := e.apiState(t, user)
	var again struct{ DestroyAgent apiAgentT }
	e.must(t, user, `mutation($id: ID!) { destroyAgent(id: $id) { `+apiAgentFields+` } }`, apiVars("id", f.agent)).as(t, &again)
	if !reflect.DeepEqual(again.DestroyAgent, *first) {
		t.Errorf("second destroyAgent returned a changed agent:\nfirst  %+v\nsecond %+v", *first, again.DestroyAgent)
	}
	if after := e.apiState(t, user); after != before {
		t.Errorf("second destroyAgent changed stored data:\nbefore %s\nafter  %s", before, after)
	}
}

func TestAgentsTypeFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	e.seed(t, user) // a RESEARCH agent
	c1 := e.apiCreateAgent(t, user, map[string]any{"name": "Coder 1", "type": "CODE"}).ID
	c2 := e.apiCreateAgent(t, user, map[string]any{"name": "Coder 2", "type": "CODE"}).ID
	gone := e.apiCreateAgent(t, user, map[string]any{"name": "Coder 3", "type": "CODE"}).ID
	e.must(t, user, `mutation($id: ID!) { destroyAgent(id: $id) { id } }`, apiVars("id", gone))
	sleeper := e.apiCreateAgent(t, user, map[string]any{"name": "Coder 4", "type": "CODE"}).ID
	e.must(t, user, `mutation($id: ID!) { updateAgent(id: $id, input: {status: SLEEPING}) { id } }`, apiVars("id", sleeper))
	e.apiCreateAgent(t, uuid.New(), map[string]any{"name": "Someone else's coder", "type": "CODE"})

	cases := []struct {
		args  string
		want  []string
		total int
	}{
		{", type: CODE", []string{c1, c2, sleeper}, 3},
		{", type: CODE, status: DESTROYED", []string{gone}, 1},
		{", type: CODE, status: SLEEPING", []string{sleeper}, 1},
		{", type: CODE, status: ACTIVE", []string{c1, c2}, 2},
		{", type: EMAIL", []string{}, 0},
	}
	for _, c := range cases {
		if got := e.apiAgentIDs(t, user, c.args); !slices.Equal(got, c.want) {
			t.Errorf("agents(%s): want %v, got %v", c.args, c.want, got)
		}
		var n struct{ Agents struct{ TotalCount int } }
		e.must(t, user, `{ agents(first: 100`+c.args+`) { totalCount } }`, nil).as(t, &n)
		if n.Agents.TotalCount != c.total {
			t.Errorf("agents(%s).totalCount: want %d, got %d", c.args, c.total, n.Agents.TotalCount)
		}
	}
	var types struct {
		Agents struct {
			Edges []struct{ Node struct{ Type string } }
		}
	}
	e.must(t, user, `{ agents(type: CODE) { edges { node { type } } } }`, nil).as(t, &types)
	for _, edge := range types.Agents.Edges {
		if edge.Node.Type != "CODE" {
			t.Errorf("agents(type: CODE) returned a %s agent", edge.Node.Type)
		}
	}
}

// emailAddress routes inbound mail: it is unique among all agents of all
// users, compared case-insensitively.
func TestAgentEmailAddressUnique(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := uuid.New(), uuid.New()
	first := e.apiCreateAgent(t, alice, map[string]any{"name": "Mail", "type": "EMAIL", "emailAddress": "Inbox@Example.com"}).ID
	bobs := e.apiCreateAgent(t, bob, map[string]any{"name": "Bob mail", "type": "EMAIL"}).ID

	cases := []struct {
		name  string
		user  uuid.UUID
		query string
		vars  map[string]any
	}{
		{"same user, same case", alice, `mutation { createAgent(input: {name: "Dup", type: EMAIL, emailAddress: "Inbox@Example.com"}) { id } }`, nil},
		{"same user, other case", alice, `mutation { createAgent(input: {name: "Dup", type: EMAIL, emailAddress: "inbox@example.com"}) { id } }`, nil},
		{"other user, create", bob, `mutation { createAgent(input: {name: "Dup", type: EMAIL, emailAddress: "INBOX@EXAMPLE.COM"}) { id } }`, nil},
		{"other user, update", bob, `mutation($id: ID!) { updateAgent(id: $id, input: {emailAddress: "inbox@EXAMPLE.com"}) { id } }`, apiVars("id", bobs)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.as(t, c.user, c.query, c.vars)
			apiWantInvalid(t, r, "input.emailAddress")
		})
	}
	if n := e.count(t, `select count(*) from agents where lower(email_address) = 'inbox@example.com'`); n != 1 {
		t.Fatalf("%d agents hold the address, want 1", n)
	}
	if n := e.count(t, `select count(*) from agents where name = 'Dup'`); n != 0 {
		t.Fatalf("refused creates left %d agents", n)
	}
	// Clearing the address frees it.
	e.must(t, alice, `mutation($id: ID!) { updateAgent(id: $id, input: {emailAddress: ""}) { id } }`, apiVars("id", first))
	var got struct{ UpdateAgent apiAgentT }
	e.must(t, bob, `mutation($id: ID!) { updateAgent(id: $id, input: {emailAddress: "inbox@example.com"}) { `+apiAgentFields+` } }`,
		apiVars("id", bobs)).as(t, &got)
	if apiDeref(got.UpdateAgent.EmailAddress) != `"inbox@example.com"` {
		t.Fatalf("freed address not taken: %+v", got.UpdateAgent)
	}
}

func TestAgentEmailAddressInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	a := e.apiCreateAgent(t, user, map[string]any{"name": "Mail", "type": "EMAIL", "emailAddress": "ok@example.com"}).ID
	for _, addr := range []string{"not-an-email", "Name <name@example.com>", "name@example.com ", "@example.com", "name@", "a@b@c.com"} {
		t.Run(addr, func(t *testing.T) {
			r := e.as(t, user, `mutation($in: CreateAgentInput!) { createAgent(input: $in) { id } }`,
				apiVars("in", map[string]any{"name": "Bad mail", "type": "EMAIL", "emailAddress": addr}))
			apiWantInvalid(t, r, "input.emailAddress")
			r = e.as(t, user, `mutation($id: ID!, $e: String!) { updateAgent(id: $id, input: {emailAddress: $e}) { id } }`,
				apiVars("id", a, "e", addr))
			apiWantInvalid(t, r, "input.emailAddress")
		})
	}
	if n := e.count(t, `select count(*) from agents where user_id = $1`, user); n != 1 {
		t.Fatalf("refused creates left agents: %d", n)
	}
	if got := e.apiGetAgent(t, user, a); apiDeref(got.EmailAddress) != `"ok@example.com"` {
		t.Fatalf("refused updates changed the address: %s", apiDeref(got.EmailAddress))
	}
}
