package model

import (
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
)

// Edges and PageInfo are written by hand, not generated, so that cursors
// are methods: gqlgen calls them only for a selected cursor, startCursor or
// endCursor, and a page whose client reads no cursor (the dashboard, the
// feed) encodes none. Each edge's cursor is its node's place in the list's
// keyset order, as store's statements read it.

// Edge is an edge of any connection: its cursor, computed when asked.
type Edge interface{ Cursor() string }

// PageInfo describes a page; First and Last are its first and last edges
// (nil on an empty page), whose cursors are startCursor and endCursor.
type PageInfo struct {
	HasNextPage     bool
	HasPreviousPage bool
	First, Last     Edge
}

// StartCursor is the first edge's cursor, nil on an empty page.
func (p *PageInfo) StartCursor() *string { return cursorOf(p.First) }

// EndCursor is the last edge's cursor, nil on an empty page.
func (p *PageInfo) EndCursor() *string { return cursorOf(p.Last) }

// cursor is the place of a row with a uuid id in a (time, id) order.
func cursor(at time.Time, id uuid.UUID) string { return page.Cursor{At: at, ID: id.String()}.Encode() }

func cursorOf(e Edge) *string {
	if e == nil {
		return nil
	}
	c := e.Cursor()
	return &c
}

// AgentEdge is an agent in a page of agents, (created_at, id) order.
type AgentEdge struct{ Node *domain.Agent }

// Cursor is the agent's place in the list.
func (e *AgentEdge) Cursor() string { return cursor(e.Node.CreatedAt, e.Node.ID) }

// KnowledgeCollectionEdge is a collection in a page of collections.
type KnowledgeCollectionEdge struct{ Node *domain.Collection }

// Cursor is the collection's place in the list.
func (e *KnowledgeCollectionEdge) Cursor() string { return cursor(e.Node.CreatedAt, e.Node.ID) }

// KnowledgeEntryEdge is an entry in a page of a collection's entries.
type KnowledgeEntryEdge struct{ Node *domain.Entry }

// Cursor is the entry's place in the list.
func (e *KnowledgeEntryEdge) Cursor() string { return cursor(e.Node.CreatedAt, e.Node.ID) }

// ThreadEdge is a thread in a page of threads, most recent activity
// first: (updated_at, id) order, ids as text.
type ThreadEdge struct{ Node *domain.Thread }

// Cursor is the thread's place in the list.
func (e *ThreadEdge) Cursor() string {
	return page.Cursor{At: e.Node.UpdatedAt, ID: e.Node.ID}.Encode()
}

// ChatMessageEdge is a message in a backward page of a thread's messages.
type ChatMessageEdge struct{ Node *domain.Message }

// Cursor is the message's place in the thread.
func (e *ChatMessageEdge) Cursor() string { return cursor(e.Node.CreatedAt, e.Node.ID) }

// FeedEventEdge is an event in a page of the feed.
type FeedEventEdge struct{ Node *domain.FeedEvent }

// Cursor is the event's place in the feed.
func (e *FeedEventEdge) Cursor() string { return cursor(e.Node.CreatedAt, e.Node.ID) }
