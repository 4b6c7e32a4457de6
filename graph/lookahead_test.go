package graph_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/loaders"
)

// lookaheadThread gives user an agent and a thread "t" of n messages naming
// it, written as the superuser with increasing times ("m1" oldest). It
// returns the agent's id.
func (e *env) lookaheadThread(t *testing.T, user uuid.UUID, n int) string {
	t.Helper()
	agent := id(t, e.must(t, user, `mutation { createAgent(input: {name: "Ahead", type: RESEARCH}) { id } }`, nil), "createAgent")
	e.exec(t, `insert into chat_messages (user_id, thread_id, role, content, agent_id, created_at)
		select $1, 't', 'user', 'm' || i, $2, timestamptz '2026-01-01' + interval '1 minute' * i
		from generate_series(1, $3::int) as i`, user, agent, n)
	return agent
}

// tripsOf runs query as user after a warm-up (statements prepared on the
// connection) and returns its data and round trips.
func (e *env) tripsOf(t *testing.T, user uuid.UUID, query string, vars map[string]any) (json.RawMessage, int64, []string) {
	t.Helper()
	e.must(t, user, query, vars)
	e.queries.reset()
	r := e.must(t, user, query, vars)
	return r.Data, e.queries.n.Load(), e.queries.statements()
}

// The bench's pages take one round trip each at the server's loader wait:
// the thread with its messages and their agents (W2), the feed with its
// events' agents (W3), whatever the list sizes.
func TestPagesAreOneRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnvWait(t, loaders.DefaultWait)
	user := uuid.New()
	agent := e.lookaheadThread(t, user, 30)
	seeded := e.seed(t, user).agent
	for i := range 5 {
		e.must(t, user, `mutation($a: ID, $m: String!) { createFeedEvent(input: {type: "note", message: $m, agentId: $a}) { id } }`,
			map[string]any{"a": agent, "m": fmt.Sprint("event ", i)})
	}
	for _, c := range []struct {
		name, query string
		want        string
	}{
		{"W2 thread", `{ thread(id: "t") { id updatedAt messages(last: 25) { edges { node { id content agent { id name } } } } } }`, `"content":"m30","agent":{"id":"` + agent + `","name":"Ahead"}`},
		{"W3 feed", `{ feed(first: 20) { edges { node { id type message agent { id name } } } } }`, `"message":"event 4","agent":{"id":"` + agent + `","name":"Ahead"}`},
		{"agent page", `{ agent(id: "` + seeded + `") { id skills { slug } trainingData { title } knowledgeAccess { accessLevel collection { name } } } }`,
			`"skills":[{"slug":"web-search"}],"trainingData":[{"title":"Be brief"}],"knowledgeAccess":[{"accessLevel":"READ","collection":{"name":"Notes"}}]`},
	} {
		data, trips, sql := e.tripsOf(t, user, c.query, nil)
		if trips != 1 {
			t.Errorf("%s: %d round trips, want 1: %q", c.name, trips, sql)
		}
		if !strings.Contains(string(data), c.want) {
			t.Errorf("%s: %s lacks %s", c.name, data, c.want)
		}
	}
}

// Aliases and arguments are respected: each messages field gets the page
// its own arguments (literal or variable, a cursor, a fragment) ask for,
// all read ahead in the thread's round trip; a field skipped by @skip
// costs nothing, and one whose arguments are refused is refused by its
// resolver as without lookahead.
func TestLookaheadRespectsAliasesAndArguments(t *testing.T) {
	t.Parallel()
	e := newEnvWait(t, loaders.DefaultWait)
	user := uuid.New()
	e.lookaheadThread(t, user, 10)

	var cur struct {
		Thread struct {
			Messages struct {
				Edges []struct{ Cursor string }
			}
		}
	}
	e.must(t, user, `{ thread(id: "t") { messages(last: 5) { edges { cursor } } } }`, nil).as(t, &cur)
	before := cur.Thread.Messages.Edges[0].Cursor // m6

	const query = `query($n: Int, $before: String) { thread(id: "t") {
  two: messages(last: 2) { edges { node { content agent { name } } } }
  five: messages(last: 5) { edges { node { content } } }
  older: messages(last: 2, before: $before) { edges { node { content agent { name } } } }
  ...on Thread { three: messages(last: $n) { edges { node { content } } } }
  skipped: messages(last: 7) @skip(if: true) { edges { node { content } } }
} }`
	data, trips, sql := e.tripsOf(t, user, query, map[string]any{"n": 3, "before": before})
	var got map[string]map[string]struct {
		Edges []struct {
			Node struct {
				Content string
				Agent   *struct{ Name string }
			}
		}
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	contents := func(alias string) []string {
		var out []string
		for _, e := range got["thread"][alias].Edges {
			out = append(out, e.Node.Content)
		}
		return out
	}
	for alias, want := range map[string][]string{
		"two":   {"m9", "m10"},
		"five":  {"m6", "m7", "m8", "m9", "m10"},
		"older": {"m4", "m5"},
		"three": {"m8", "m9", "m10"},
	} {
		if g := contents(alias); fmt.Sprint(g) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", alias, g, want)
		}
	}
	for _, alias := range []string{"two", "older"} {
		for _, edge := range got["thread"][alias].Edges {
			if edge.Node.Agent == nil || edge.Node.Agent.Name != "Ahead" {
				t.Errorf("%s: a message without its agent: %s", alias, data)
			}
		}
	}
	if _, ok := got["thread"]["skipped"]; ok {
		t.Errorf("a skipped field answered: %s", data)
	}
	// The thread, one message query per distinct page (four) and the agents
	// of the two pages that select them, in one batch.
	if trips != 1 || len(sql) != 1+4+2 {
		t.Errorf("%d round trips of %d statements, want 1 of 7: %q", trips, len(sql), sql)
	}

	r := e.as(t, user, `{ thread(id: "t") { id messages(last: 500) { edges { node { content } } } } }`, nil)
	wantCode(t, r, "BAD_USER_INPUT")
	if p := fmt.Sprint(r.Errors[0].Path); p != "[thread messages]" {
		t.Errorf("refused at %s, want [thread messages]", p)
	}
}

// A response with data alone is written as the executor wrote it
// (graph/rawdata.go): the same bytes encoding/json would write, compact;
// one with errors too is written by gqlgen whole.
func TestResponseBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	e.lookaheadThread(t, user, 3)
	_, body := e.postQuery(t, token(user, nil), `{ thread(id: "t") { id messages(last: 2) { edges { node { content } } } } }`, nil)
	want := `{"data":{"thread":{"id":"t","messages":{"edges":[{"node":{"content":"m2"}},{"node":{"content":"m3"}}]}}}}`
	if string(body) != want {
		t.Errorf("body %s, want %s", body, want)
	}
	_, body = e.postQuery(t, token(user, nil), `{ thread(id: "t") { id } agent(id: "nope") { id } }`, nil)
	var r response
	if err := json.Unmarshal(body, &r); err != nil || len(r.Errors) != 1 || !strings.Contains(string(r.Data), `"id":"t"`) {
		t.Errorf("partial response %s: %v", body, err)
	}
}
