package graph_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
)

// Agent.threads pages each agent's threads, most recent first, and loads for
// a whole page of agents in the same number of round trips whatever its size.
func TestAgentThreadsBatched(t *testing.T) {
	t.Parallel()
	const q = `{ agents(first: 50) { edges { node { id threads(first: 2) { totalCount
		pageInfo { hasNextPage } edges { node { id lastMessage { content } } } } } } } }`
	run := func(agents int) int64 {
		e := newEnv(t)
		user := uuid.New()
		for i := range agents {
			a := id(t, e.must(t, user, `mutation { createAgent(input: {name: "A", type: CUSTOM}) { id } }`, nil), "createAgent")
			for j := range 3 {
				e.must(t, user, `mutation($t: ID!, $a: ID!, $c: String!) { sendMessage(input: {threadId: $t, agentId: $a, content: $c}) { id } }`,
					map[string]any{"t": fmt.Sprintf("%s:t%d", a, j), "a": a, "c": fmt.Sprintf("agent %d thread %d", i, j)})
			}
		}
		e.must(t, user, q, nil)
		e.queries.reset()
		r := e.must(t, user, q, nil)
		var got struct {
			Agents struct {
				Edges []struct {
					Node struct {
						ID      string
						Threads struct {
							TotalCount int
							PageInfo   struct{ HasNextPage bool }
							Edges      []struct {
								Node struct {
									ID          string
									LastMessage struct{ Content string }
								}
							}
						}
					}
				}
			}
		}
		r.as(t, &got)
		if len(got.Agents.Edges) != agents {
			t.Fatalf("%d agents", len(got.Agents.Edges))
		}
		for i, edge := range got.Agents.Edges {
			th := edge.Node.Threads
			if th.TotalCount != 3 || !th.PageInfo.HasNextPage || len(th.Edges) != 2 {
				t.Fatalf("agent %d threads %+v", i, th)
			}
			// most recent activity first: thread 2, then 1
			if th.Edges[0].Node.ID != edge.Node.ID+":t2" || th.Edges[0].Node.LastMessage.Content != fmt.Sprintf("agent %d thread 2", i) {
				t.Fatalf("agent %d first thread %+v", i, th.Edges[0].Node)
			}
		}
		return e.queries.n.Load()
	}
	small, large := run(2), run(10)
	t.Logf("round trips: 2 agents %d, 10 agents %d", small, large)
	if small != large {
		t.Fatalf("round trips grow with agents: %d vs %d", small, large)
	}
}
