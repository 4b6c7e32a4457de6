package graph_test

import (
	"testing"

	"github.com/google/uuid"
)

// The system posts agent lifecycle events to the feed in the same
// transaction as the change, once per change.
func TestLifecycleFeedEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	f := e.seed(t, user) // creates an agent and installs a skill
	e.must(t, user, `mutation($a: ID!) { destroyAgent(id: $a) { status } }`, map[string]any{"a": f.agent})
	e.must(t, user, `mutation($a: ID!) { destroyAgent(id: $a) { status } }`, map[string]any{"a": f.agent})

	r := e.must(t, user, `query($a: ID) { feed(agentId: $a, first: 10) { totalCount edges { node { type message agent { id } } } } }`,
		map[string]any{"a": f.agent})
	var got struct {
		Feed struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					Type, Message string
					Agent         struct{ ID string }
				}
			}
		}
	}
	r.as(t, &got)
	var types []string
	for _, edge := range got.Feed.Edges {
		types = append(types, edge.Node.Type)
		if edge.Node.Agent.ID != f.agent {
			t.Fatalf("event %s names agent %s", edge.Node.Type, edge.Node.Agent.ID)
		}
	}
	// newest first
	want := []string{"agent_destroyed", "skill_installed", "agent_created"}
	if len(types) != len(want) || got.Feed.TotalCount != len(want) {
		t.Fatalf("feed types %v (total %d), want %v", types, got.Feed.TotalCount, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("feed types %v, want %v", types, want)
		}
	}
	if n := e.count(t, `select count(*) from feed_events where user_id <> $1`, user); n != 0 {
		t.Fatalf("%d events of other users", n)
	}
}
