package graph_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

// An agent may only use a model with a price: an unpriced model's replies
// would be logged at 0 cents, an unbounded bill no one sees.
func TestUnpricedModelsAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	f := e.seed(t, user)
	refused := func(r response) {
		t.Helper()
		wantCode(t, r, "BAD_USER_INPUT")
		if got := r.Errors[0].Extensions["field"]; got != "input.personality.model" {
			t.Fatalf("field %v", got)
		}
		if msg := r.Errors[0].Message; !strings.Contains(msg, "gpt-4o-mini") || !strings.Contains(msg, "claude-haiku-4-5") {
			t.Fatalf("message does not list the allowed models: %s", msg)
		}
	}
	refused(e.as(t, user, `mutation { createAgent(input: {name: "A", type: CUSTOM, personality: {model: "gpt-9000"}}) { id } }`, nil))
	refused(e.as(t, user, `mutation($id: ID!) { updateAgent(id: $id, input: {personality: {model: "my-free-model"}}) { id } }`,
		map[string]any{"id": f.agent}))
	if n := e.count(t, `select count(*) from agents where personality_model in ('gpt-9000', 'my-free-model')`); n != 0 {
		t.Fatalf("%d agents with an unpriced model stored", n)
	}
	// A dated snapshot of a priced family is priced too.
	e.must(t, user, `mutation($id: ID!) { updateAgent(id: $id, input: {personality: {model: "gpt-4o-2024-08-06"}}) { id } }`,
		map[string]any{"id": f.agent})
}
