package graph_test

import (
	"testing"

	"github.com/agentgraph/agentgraph/internal/loaders"

	"github.com/google/uuid"
)

// dashboardQuery is the app's home page: every agent with its skills,
// training data and knowledge access, each collection with its entry count.
const dashboardQuery = `query {
  agents(first: 100) {
    totalCount
    edges { node {
      id name
      skills { slug }
      trainingData { title enabled }
      knowledgeAccess { accessLevel collection { name entryCount } }
    } }
  }
}`

// The round trips of a request depend on its shape, never on list sizes: the
// dashboard costs the same for 2 agents as for 50. At the default 1 ms loader wait, as the server runs: nested lists
// batch through their siblings (loaders.Linked), not through the wait.
func TestDashboardRoundTripsDoNotGrowWithAgents(t *testing.T) {
	t.Parallel()
	trips := func(agents int) (int64, []string) {
		e := newEnvWait(t, loaders.DefaultWait)
		user := uuid.New()
		for range agents {
			e.seed(t, user)
		}
		e.must(t, user, dashboardQuery, nil) // warm up: prepare statements on the connection
		e.queries.reset()
		r := e.must(t, user, dashboardQuery, nil)
		var got struct {
			Agents struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						Skills          []struct{ Slug string }
						KnowledgeAccess []struct {
							Collection struct{ EntryCount int }
						}
					}
				}
			}
		}
		r.as(t, &got)
		if got.Agents.TotalCount != agents || len(got.Agents.Edges) != agents {
			t.Fatalf("want %d agents, got %d (total %d)", agents, len(got.Agents.Edges), got.Agents.TotalCount)
		}
		for _, edge := range got.Agents.Edges {
			if len(edge.Node.Skills) != 1 || len(edge.Node.KnowledgeAccess) != 1 || edge.Node.KnowledgeAccess[0].Collection.EntryCount != 1 {
				t.Fatalf("nested data wrong: %+v", edge.Node)
			}
		}
		return e.queries.n.Load(), e.queries.statements()
	}
	small, smallSQL := trips(2)
	large, largeSQL := trips(50)
	t.Logf("round trips: 2 agents %d, 50 agents %d", small, large)
	if small != large {
		t.Fatalf("round trips grow with the list: %d for 2 agents, %d for 50\n2: %q\n50: %q",
			small, large, smallSQL, largeSQL)
	}
	// One batch for the page and what its selection asks of the agents
	// (graph's lookahead: the page, totalCount, skills, trainingData,
	// knowledgeAccess joined with its collection), one for the collections'
	// entryCount, a level further down.
	if want := int64(2); large != want {
		t.Fatalf("want %d round trips, got %d: %q", want, large, largeSQL)
	}
}
