package graph_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// A mutation's statements commit together or not at all: when the write that
// makes a new head agent fails, the statement that unseated the old head is
// rolled back with it.
func TestAtomicHeadMoveRollsBackWithFailedWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	head := e.apiCreateAgent(t, user, map[string]any{"name": "Head", "type": "CUSTOM", "isHead": true}).ID
	e.apiCreateAgent(t, user, map[string]any{"name": "Mailer", "type": "EMAIL", "emailAddress": "taken@example.com"})
	hopeful := e.apiCreateAgent(t, user, map[string]any{"name": "Hopeful", "type": "CUSTOM"}).ID

	cases := []struct {
		name  string
		query string
		vars  map[string]any
	}{
		{"createAgent", `mutation { createAgent(input: {name: "Usurper", type: CUSTOM, isHead: true, emailAddress: "TAKEN@example.com"}) { id } }`, nil},
		{"updateAgent", `mutation($id: ID!) { updateAgent(id: $id, input: {isHead: true, emailAddress: "taken@EXAMPLE.com"}) { id } }`,
			apiVars("id", hopeful)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.apiState(t, user)
			r := e.as(t, user, c.query, c.vars)
			apiWantInvalid(t, r, "input.emailAddress")
			if h := e.apiHead(t, user); h != head {
				t.Errorf("viewer.headAgent: want %s still, got %q", head, h)
			}
			if n := e.count(t, `select count(*) from agents where id = $1 and is_head`, head); n != 1 {
				t.Errorf("the old head lost its flag in the database")
			}
			if n := e.count(t, `select count(*) from agents where user_id = $1 and is_head`, user); n != 1 {
				t.Errorf("%d head agents, want 1", n)
			}
			if after := e.apiState(t, user); after != before {
				t.Errorf("the failed mutation left changes:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// Concurrent attempts to become head never leave two heads; a loser is told
// to retry (BAD_USER_INPUT on input.isHead), never an internal error.
func TestAtomicConcurrentHeadCreates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	e.apiCreateAgent(t, user, map[string]any{"name": "First head", "type": "CUSTOM", "isHead": true})
	const n = 8
	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.as(t, user, `mutation($n: String!) { createAgent(input: {name: $n, type: CUSTOM, isHead: true}) { id } }`,
				apiVars("n", fmt.Sprint("Racer ", i)))
		}()
	}
	wg.Wait()
	var won []string
	for i, r := range results {
		switch {
		case len(r.Errors) == 0:
			won = append(won, id(t, r, "createAgent"))
		case r.code() == "BAD_USER_INPUT" && apiField(r) == "input.isHead":
		default:
			t.Errorf("racer %d: %+v", i, r.Errors)
		}
	}
	if heads := e.count(t, `select count(*) from agents where user_id = $1 and is_head`, user); heads != 1 {
		t.Fatalf("%d head agents after concurrent creates, want 1", heads)
	}
	if len(won) == 0 {
		t.Fatalf("no racer succeeded")
	}
	head := e.apiHead(t, user)
	if !apiHas(won, head) {
		t.Fatalf("head %s is none of the agents that were created as head %v", head, won)
	}
	if agents := e.count(t, `select count(*) from agents where user_id = $1`, user); agents != 1+len(won) {
		t.Fatalf("%d agents stored, want %d (the refused creates must not leave rows)", agents, 1+len(won))
	}
}

// Internal errors are logged, not shown: the client gets the code and a
// request id, never SQL, driver text or schema names.
func TestInternalErrorsAreScrubbed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	f := e.seed(t, user)
	// Break this test's private database under the API: every statement
	// reading agents.objective or agent_skills now fails inside Postgres.
	for _, sql := range []string{
		`alter table agents rename column objective to objective_gone`,
		`alter table agent_skills rename to agent_skills_gone`,
	} {
		if _, err := e.pool.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name  string
		query string
	}{
		{"agents list", `{ agents { edges { node { id } } } }`},
		{"agent by id", `query($a: ID!) { agent(id: $a) { id } }`},
		{"control: untouched tables", `{ viewer { id } collections { totalCount } }`},
		{"createAgent", `mutation { createAgent(input: {name: "x", type: CUSTOM}) { id } }`},
		{"installSkill", `mutation($a: ID!) { installSkill(agentId: $a, input: {slug: "s", name: "S"}) { id } }`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.as(t, user, c.query, apiVars("a", f.agent))
			if c.name == "control: untouched tables" {
				// A control: what does not touch the broken tables still works.
				if len(r.Errors) > 0 {
					t.Fatalf("unaffected query failed: %+v", r.Errors)
				}
				return
			}
			wantCode(t, r, "INTERNAL_SERVER_ERROR")
			apiWantNoInternals(t, r)
			if _, ok := r.Errors[0].Extensions["requestId"]; !ok {
				t.Errorf("internal error without a requestId: %+v", r.Errors[0])
			}
		})
	}
}

// An updateAgent(isHead: true) or updateCollection(isDefault: true) that is
// refused (missing id, another user's id, destroyed agent) leaves the
// caller's current head agent and default collection where they were.
func TestAtomicRefusedFlagMoveKeepsFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	stranger := e.seed(t, uuid.New())
	head := e.apiCreateAgent(t, user, map[string]any{"name": "Head", "type": "CUSTOM", "isHead": true}).ID
	def := id(t, e.must(t, user, `mutation { createCollection(input: {name: "Default", isDefault: true}) { id } }`, nil), "createCollection")
	dead := e.apiCreateAgent(t, user, map[string]any{"name": "Dead", "type": "CUSTOM"}).ID
	e.must(t, user, `mutation($id: ID!) { destroyAgent(id: $id) { id } }`, apiVars("id", dead))

	cases := []struct {
		name, query, target, code string
	}{
		{"updateAgent isHead, missing id", `mutation($id: ID!) { updateAgent(id: $id, input: {isHead: true}) { id } }`, uuid.NewString(), "NOT_FOUND"},
		{"updateAgent isHead, another user's agent", `mutation($id: ID!) { updateAgent(id: $id, input: {isHead: true}) { id } }`, stranger.agent, "NOT_FOUND"},
		{"updateAgent isHead, destroyed agent", `mutation($id: ID!) { updateAgent(id: $id, input: {isHead: true}) { id } }`, dead, "BAD_USER_INPUT"},
		{"updateCollection isDefault, missing id", `mutation($id: ID!) { updateCollection(id: $id, input: {isDefault: true}) { id } }`, uuid.NewString(), "NOT_FOUND"},
		{"updateCollection isDefault, another user's collection", `mutation($id: ID!) { updateCollection(id: $id, input: {isDefault: true}) { id } }`, stranger.collection, "NOT_FOUND"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.apiState(t, user)
			wantCode(t, e.as(t, user, c.query, apiVars("id", c.target)), c.code)
			if h := e.apiHead(t, user); h != head {
				t.Errorf("viewer.headAgent: want %s, got %q", head, h)
			}
			if n := e.count(t, `select count(*) from knowledge_collections where id = $1 and is_default`, def); n != 1 {
				t.Errorf("the default collection lost its flag")
			}
			if after := e.apiState(t, user); after != before {
				t.Errorf("the refused mutation left changes:\nbefore %s\nafter  %s", before, after)
			}
			// Restore, so that one failure does not cascade into the next case.
			e.must(t, user, `mutation($id: ID!) { updateAgent(id: $id, input: {isHead: true}) { id } }`, apiVars("id", head))
			e.must(t, user, `mutation($id: ID!) { updateCollection(id: $id, input: {isDefault: true}) { id } }`, apiVars("id", def))
		})
	}
}
