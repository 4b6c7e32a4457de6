package graph_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
)

// An agent's reply cap: set, shown, validated, and cleared back to the
// server's default with 0.
func TestAgentMaxTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	var got struct {
		CreateAgent struct {
			ID          string
			Personality struct{ MaxTokens *int }
		}
	}
	e.must(t, user, `mutation { createAgent(input: {name: "Brief", type: EMAIL, personality: {maxTokens: 300}}) {
		id personality { maxTokens } } }`, nil).as(t, &got)
	if got.CreateAgent.Personality.MaxTokens == nil || *got.CreateAgent.Personality.MaxTokens != 300 {
		t.Fatalf("maxTokens %v", got.CreateAgent.Personality.MaxTokens)
	}
	id := got.CreateAgent.ID
	for _, bad := range []int{-1, 100001} {
		r := e.as(t, user, `mutation($id: ID!, $n: Int) { updateAgent(id: $id, input: {personality: {maxTokens: $n}}) { id } }`,
			apiVars("id", id, "n", bad))
		apiWantInvalid(t, r, "input.personality.maxTokens")
	}
	var upd struct {
		UpdateAgent struct{ Personality struct{ MaxTokens *int } }
	}
	e.must(t, user, `mutation($id: ID!) { updateAgent(id: $id, input: {personality: {maxTokens: 0}}) { personality { maxTokens } } }`,
		apiVars("id", id)).as(t, &upd)
	if upd.UpdateAgent.Personality.MaxTokens != nil {
		t.Fatalf("maxTokens after 0: %v, want null (the server's default)", *upd.UpdateAgent.Personality.MaxTokens)
	}
}

// The viewer's budget: none by default, set, refused when negative, and
// nobody else's spend or setting leaks in.
func TestViewerBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := uuid.New(), uuid.New()
	// Alice has spent 12.5 cents this month; Bob nothing.
	if _, err := e.pool.Exec(context.Background(), `insert into usage_logs (user_id, model, provider, input_tokens,
		output_tokens, cost_cents, operation) values ($1, 'gpt-4o-mini', 'openai', 10, 10, 12.5, 'chat')`, alice); err != nil {
		t.Fatal(err)
	}
	type budget struct {
		MonthlyCents, RemainingCents *float64
		SpentCents                   float64
		Custom, Exceeded             bool
	}
	read := func(user uuid.UUID) budget {
		var v struct{ Viewer struct{ Budget budget } }
		e.must(t, user, `{ viewer { budget { monthlyCents custom spentCents remainingCents exceeded } } }`, nil).as(t, &v)
		return v.Viewer.Budget
	}
	if b := read(alice); b.MonthlyCents != nil || b.SpentCents != 12.5 || b.Exceeded || b.Custom {
		t.Fatalf("default budget %+v", b)
	}
	var set struct{ SetMonthlyBudget budget }
	e.must(t, alice, `mutation { setMonthlyBudget(cents: 10) { monthlyCents custom spentCents remainingCents exceeded } }`, nil).as(t, &set)
	if b := set.SetMonthlyBudget; b.MonthlyCents == nil || *b.MonthlyCents != 10 || !b.Custom || !b.Exceeded || *b.RemainingCents != 0 {
		t.Fatalf("after setting 10¢: %+v", b)
	}
	if b := read(bob); b.MonthlyCents != nil || b.SpentCents != 0 || b.Custom {
		t.Fatalf("bob sees %+v", b)
	}
	apiWantInvalid(t, e.as(t, alice, `mutation { setMonthlyBudget(cents: -1) { custom } }`, nil), "cents")
	e.must(t, alice, `mutation { setMonthlyBudget(cents: null) { custom } }`, nil)
	if b := read(alice); b.Custom || b.MonthlyCents != nil {
		t.Fatalf("after clearing: %+v", b)
	}
}
