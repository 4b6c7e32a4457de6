package graph

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/graph/model"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
)

func feedPage(n int) page.Page[*domain.FeedEvent] {
	p := page.Page[*domain.FeedEvent]{HasNext: true}
	at := time.Date(2026, 12, 6, 10, 0, 0, 123456000, time.UTC)
	for i := range n {
		p.Items = append(p.Items, &domain.FeedEvent{ID: uuid.New(), CreatedAt: at.Add(time.Duration(-i) * time.Minute)})
	}
	return p
}

func feedEdge(e *domain.FeedEvent) model.FeedEventEdge { return model.FeedEventEdge{Node: e} }

// Edges and PageInfo encode their cursors when asked: each edge's is its
// node's (created_at, id), startCursor and endCursor the first and last
// edge's.
func TestConnectCursors(t *testing.T) {
	t.Parallel()
	p := feedPage(3)
	edges, info := connect(p, feedEdge)
	if len(edges) != 3 || !info.HasNextPage || info.HasPreviousPage {
		t.Fatalf("%d edges, %+v", len(edges), info)
	}
	for i, e := range edges {
		if e.Node != p.Items[i] {
			t.Fatalf("edge %d: node %v, want %v", i, e.Node, p.Items[i])
		}
		c, err := page.Decode("after", e.Cursor())
		if err != nil || !c.At.Equal(e.Node.CreatedAt) || c.ID != e.Node.ID.String() {
			t.Fatalf("edge %d: cursor %+v, %v; want %v, %v", i, c, err, e.Node.CreatedAt, e.Node.ID)
		}
	}
	if s, e := info.StartCursor(), info.EndCursor(); s == nil || *s != edges[0].Cursor() || e == nil || *e != edges[2].Cursor() {
		t.Fatalf("start %v, end %v", s, e)
	}
	edges, info = connect(feedPage(0), feedEdge)
	if edges == nil || len(edges) != 0 || info.StartCursor() != nil || info.EndCursor() != nil {
		t.Fatalf("empty page: edges %#v, start %v, end %v", edges, info.StartCursor(), info.EndCursor())
	}
}

// A page whose client selects no cursor encodes none: connect allocates
// the edges, their slice and PageInfo, whatever the page's size.
func TestConnectEncodesNoCursor(t *testing.T) {
	p := feedPage(20)
	if n := testing.AllocsPerRun(100, func() { connect(p, feedEdge) }); n > 3 {
		t.Fatalf("connect of 20 items: %v allocations, want 3", n)
	}
}
