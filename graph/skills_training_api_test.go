package graph_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestSkillInstallUninstall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	agent := e.apiCreateAgent(t, user, map[string]any{"name": "Skilled", "type": "RESEARCH"}).ID

	type skill struct {
		ID          string
		Slug        string
		Name        string
		Category    *string
		Level       int
		InstalledAt time.Time
	}
	install := func(input map[string]any) skill {
		var got struct{ InstallSkill skill }
		e.must(t, user, `mutation($a: ID!, $in: SkillInput!) { installSkill(agentId: $a, input: $in) { id slug name category level installedAt } }`,
			apiVars("a", agent, "in", input)).as(t, &got)
		return got.InstallSkill
	}
	skills := func() []skill {
		var got struct{ Agent struct{ Skills []skill } }
		e.must(t, user, `query($a: ID!) { agent(id: $a) { skills { id slug name category level installedAt } } }`, apiVars("a", agent)).as(t, &got)
		return got.Agent.Skills
	}
	uninstall := func(slug string) bool {
		var got struct{ UninstallSkill bool }
		e.must(t, user, `mutation($a: ID!, $s: String!) { uninstallSkill(agentId: $a, slug: $s) }`, apiVars("a", agent, "s", slug)).as(t, &got)
		return got.UninstallSkill
	}

	plain := install(map[string]any{"slug": "web-search", "name": "Web search"})
	if plain.Slug != "web-search" || plain.Name != "Web search" || plain.Category != nil || plain.Level != 1 || plain.InstalledAt.IsZero() {
		t.Fatalf("installSkill defaults: %+v", plain)
	}
	full := install(map[string]any{"slug": "code.review_v2", "name": "Code review", "category": "dev", "level": 42})
	if full.Category == nil || *full.Category != "dev" || full.Level != 42 {
		t.Fatalf("installSkill with all fields: %+v", full)
	}
	if got := skills(); !reflect.DeepEqual(got, []skill{plain, full}) {
		t.Fatalf("agent.skills: want [%+v %+v], got %+v", plain, full, got)
	}

	if !uninstall("web-search") {
		t.Fatalf("first uninstallSkill: want true")
	}
	if uninstall("web-search") {
		t.Fatalf("second uninstallSkill: want false")
	}
	if uninstall("never-installed") {
		t.Fatalf("uninstallSkill of a skill never installed: want false")
	}
	if got := skills(); !reflect.DeepEqual(got, []skill{full}) {
		t.Fatalf("agent.skills after uninstall: %+v", got)
	}
	if n := e.count(t, `select count(*) from agent_skills where agent_id = $1 and skill_slug = 'web-search'`, agent); n != 0 {
		t.Fatalf("uninstalled skill still stored")
	}
	// It can be installed again.
	again := install(map[string]any{"slug": "web-search", "name": "Web search 2"})
	if again.ID == plain.ID || again.Name != "Web search 2" {
		t.Fatalf("reinstall: %+v", again)
	}
	// The same slug on another agent is another skill.
	other := e.apiCreateAgent(t, user, map[string]any{"name": "Other", "type": "RESEARCH"}).ID
	e.must(t, user, `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "web-search", name: "W"}) { id } }`, apiVars("a", other))
	if n := e.count(t, `select count(*) from agent_skills where skill_slug = 'web-search'`); n != 2 {
		t.Fatalf("want the slug on 2 agents, got %d", n)
	}
}

// uninstallSkill takes the slug as a bare argument; input Postgres cannot
// store (a NUL byte) is the client's mistake, not an internal error, and the
// answer never shows internals.
func TestUninstallSkillUnstorableSlugIsBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	f := e.seed(t, user)
	r := e.as(t, user, `mutation($a: ID!, $s: String!) { uninstallSkill(agentId: $a, slug: $s) }`, apiVars("a", f.agent, "s", "web\x00search"))
	apiWantNoInternals(t, r)
	wantCode(t, r, "BAD_USER_INPUT")
}

type apiTraining struct {
	ID        string
	Type      string
	Title     string
	Content   string
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

const apiTrainingFields = `id type title content enabled createdAt updatedAt`

func TestTrainingDataLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	agent := e.apiCreateAgent(t, user, map[string]any{"name": "Trainee", "type": "CUSTOM"}).ID

	add := func(input map[string]any) apiTraining {
		var got struct{ AddTrainingData apiTraining }
		e.must(t, user, `mutation($a: ID!, $in: TrainingDataInput!) { addTrainingData(agentId: $a, input: $in) { `+apiTrainingFields+` } }`,
			apiVars("a", agent, "in", input)).as(t, &got)
		return got.AddTrainingData
	}
	list := func() []apiTraining {
		var got struct {
			Agent struct{ TrainingData []apiTraining }
		}
		e.must(t, user, `query($a: ID!) { agent(id: $a) { trainingData { `+apiTrainingFields+` } } }`, apiVars("a", agent)).as(t, &got)
		return got.Agent.TrainingData
	}

	first := add(map[string]any{"type": "KNOWLEDGE", "title": "Facts", "content": "Water is wet."})
	if first.Type != "KNOWLEDGE" || first.Title != "Facts" || first.Content != "Water is wet." || !first.Enabled {
		t.Fatalf("addTrainingData defaults: %+v", first)
	}
	second := add(map[string]any{"type": "EXAMPLE", "title": "Ex", "content": "Q/A", "enabled": false})
	if second.Enabled {
		t.Fatalf("addTrainingData(enabled: false) is enabled")
	}
	if got := list(); !reflect.DeepEqual(got, []apiTraining{first, second}) {
		t.Fatalf("agent.trainingData (oldest first): want %+v, got %+v", []apiTraining{first, second}, got)
	}

	want := first
	steps := []struct {
		name  string
		query string
		vars  map[string]any
		apply func(*apiTraining)
	}{
		{"title", `mutation($id: ID!) { updateTrainingData(id: $id, input: {title: "Facts 2"}) { ` + apiTrainingFields + ` } }`, nil,
			func(x *apiTraining) { x.Title = "Facts 2" }},
		{"content", `mutation($id: ID!) { updateTrainingData(id: $id, input: {content: "Fire is hot."}) { ` + apiTrainingFields + ` } }`, nil,
			func(x *apiTraining) { x.Content = "Fire is hot." }},
		{"type", `mutation($id: ID!) { updateTrainingData(id: $id, input: {type: INSTRUCTION}) { ` + apiTrainingFields + ` } }`, nil,
			func(x *apiTraining) { x.Type = "INSTRUCTION" }},
		{"enabled via update", `mutation($id: ID!) { updateTrainingData(id: $id, input: {enabled: false}) { ` + apiTrainingFields + ` } }`, nil,
			func(x *apiTraining) { x.Enabled = false }},
		{"setTrainingDataEnabled true", `mutation($id: ID!) { updateTrainingData: setTrainingDataEnabled(id: $id, enabled: true) { ` + apiTrainingFields + ` } }`, nil,
			func(x *apiTraining) { x.Enabled = true }},
		{"setTrainingDataEnabled false", `mutation($id: ID!) { updateTrainingData: setTrainingDataEnabled(id: $id, enabled: false) { ` + apiTrainingFields + ` } }`, nil,
			func(x *apiTraining) { x.Enabled = false }},
		{"empty input", `mutation($id: ID!) { updateTrainingData(id: $id, input: {}) { ` + apiTrainingFields + ` } }`, nil,
			func(*apiTraining) {}},
	}
	for _, s := range steps {
		var got struct{ UpdateTrainingData apiTraining }
		e.must(t, user, s.query, apiVars("id", first.ID)).as(t, &got)
		s.apply(&want)
		if got.UpdateTrainingData.UpdatedAt.Before(want.UpdatedAt) {
			t.Errorf("%s: updatedAt went back", s.name)
		}
		want.UpdatedAt = got.UpdateTrainingData.UpdatedAt
		if !reflect.DeepEqual(got.UpdateTrainingData, want) {
			t.Errorf("%s:\nwant %+v\ngot  %+v", s.name, want, got.UpdateTrainingData)
		}
	}
	if got := list(); !reflect.DeepEqual(got, []apiTraining{want, second}) {
		t.Errorf("agent.trainingData after updates: want %+v, got %+v", []apiTraining{want, second}, got)
	}
	if n := e.count(t, `select count(*) from agent_training_data where id = $1 and title = 'Facts 2' and content = 'Fire is hot.'
		and type = 'instruction' and not enabled`, first.ID); n != 1 {
		t.Errorf("stored training row does not match")
	}
	// Blank texts cannot be set.
	for _, in := range []string{`{title: ""}`, `{content: "  "}`} {
		r := e.as(t, user, `mutation($id: ID!) { updateTrainingData(id: $id, input: `+in+`) { id } }`, apiVars("id", first.ID))
		wantCode(t, r, "BAD_USER_INPUT")
	}

	var removed struct{ RemoveTrainingData bool }
	e.must(t, user, `mutation($id: ID!) { removeTrainingData(id: $id) }`, apiVars("id", first.ID)).as(t, &removed)
	if !removed.RemoveTrainingData {
		t.Fatalf("removeTrainingData: want true")
	}
	if n := e.count(t, `select count(*) from agent_training_data where id = $1`, first.ID); n != 0 {
		t.Fatalf("removed training row still stored")
	}
	for _, q := range []string{
		`mutation($id: ID!) { removeTrainingData(id: $id) }`,
		`mutation($id: ID!) { updateTrainingData(id: $id, input: {title: "x"}) { id } }`,
		`mutation($id: ID!) { setTrainingDataEnabled(id: $id, enabled: true) { id } }`,
	} {
		wantCode(t, e.as(t, user, q, apiVars("id", first.ID)), "NOT_FOUND")
	}
	if got := list(); !reflect.DeepEqual(got, []apiTraining{second}) {
		t.Fatalf("agent.trainingData after remove: %+v", got)
	}
}
