package model

import "context"

// Connections are written by hand, not generated, so that totalCount is a
// method: it runs its count query only when a client selects it.

// CountFunc counts the whole list a connection pages through.
type CountFunc func(context.Context) (int, error)

// AgentConnection is a page of agents.
type AgentConnection struct {
	Edges    []*AgentEdge
	PageInfo *PageInfo
	Count    CountFunc
}

// TotalCount counts every agent of the list.
func (c *AgentConnection) TotalCount(ctx context.Context) (int, error) { return c.Count(ctx) }

// KnowledgeCollectionConnection is a page of collections.
type KnowledgeCollectionConnection struct {
	Edges    []*KnowledgeCollectionEdge
	PageInfo *PageInfo
	Count    CountFunc
}

// TotalCount counts every collection of the list.
func (c *KnowledgeCollectionConnection) TotalCount(ctx context.Context) (int, error) {
	return c.Count(ctx)
}

// KnowledgeEntryConnection is a page of knowledge entries.
type KnowledgeEntryConnection struct {
	Edges    []*KnowledgeEntryEdge
	PageInfo *PageInfo
	Count    CountFunc
}

// TotalCount counts every entry of the list.
func (c *KnowledgeEntryConnection) TotalCount(ctx context.Context) (int, error) { return c.Count(ctx) }

// ThreadConnection is a page of threads.
type ThreadConnection struct {
	Edges    []*ThreadEdge
	PageInfo *PageInfo
	Count    CountFunc
}

// TotalCount counts every thread of the list.
func (c *ThreadConnection) TotalCount(ctx context.Context) (int, error) { return c.Count(ctx) }

// ChatMessageConnection is a backward page of a thread's messages.
type ChatMessageConnection struct {
	Edges    []*ChatMessageEdge
	PageInfo *PageInfo
	Count    CountFunc
}

// TotalCount counts every message of the thread.
func (c *ChatMessageConnection) TotalCount(ctx context.Context) (int, error) { return c.Count(ctx) }

// FeedEventConnection is a page of feed events, newest first.
type FeedEventConnection struct {
	Edges    []*FeedEventEdge
	PageInfo *PageInfo
	Count    CountFunc
}

// TotalCount counts every event of the list.
func (c *FeedEventConnection) TotalCount(ctx context.Context) (int, error) { return c.Count(ctx) }
