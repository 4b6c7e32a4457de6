package loaders

// Objects read together carry their siblings (their Batch field), so that
// the first nested resolver of any of them queues the keys of all (Linked).
// Linking is the loader layer's business: the store returns plain rows, the
// loaders below link what their batch functions return, and root resolvers
// link the lists they read from the store.

import (
	"context"
	"maps"
	"slices"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
	"github.com/agentgraph/agentgraph/internal/store"
)

// LinkAgents records on each agent the ids of all of them (domain.Agent.Batch).
func LinkAgents(agents []*domain.Agent) {
	linkIDs(agents, func(a *domain.Agent) uuid.UUID { return a.ID }, func(a *domain.Agent, ids []uuid.UUID) { a.Batch = ids })
}

// LinkCollections records on each collection the ids of all of them.
func LinkCollections(cols []*domain.Collection) {
	linkIDs(cols, func(c *domain.Collection) uuid.UUID { return c.ID }, func(c *domain.Collection, ids []uuid.UUID) { c.Batch = ids })
}

// linkIDs gives each item the ids of all of them (one shared slice).
func linkIDs[T any](items []T, id func(T) uuid.UUID, set func(T, []uuid.UUID)) {
	ids := make([]uuid.UUID, len(items))
	for i, x := range items {
		ids[i] = id(x)
	}
	for _, x := range items {
		set(x, ids)
	}
}

// LinkThreads records on each thread all the threads read with it.
func LinkThreads(threads []*domain.Thread) {
	for _, t := range threads {
		t.Batch = threads
	}
}

// LinkMessages records on each message the agent ids of all of them.
func LinkMessages(msgs []*domain.Message) {
	linkRefs(msgs, func(m *domain.Message) *uuid.UUID { return m.AgentID }, func(m *domain.Message, ids []uuid.UUID) { m.Agents = ids })
}

// LinkFeed records on each feed event the agent ids of all of them.
func LinkFeed(events []*domain.FeedEvent) {
	linkRefs(events, func(e *domain.FeedEvent) *uuid.UUID { return e.AgentID }, func(e *domain.FeedEvent, ids []uuid.UUID) { e.Agents = ids })
}

// LinkEntries records on each knowledge entry the collection ids of all of
// them.
func LinkEntries(entries []*domain.Entry) {
	linkRefs(entries, func(e *domain.Entry) *uuid.UUID { return &e.CollectionID }, func(e *domain.Entry, ids []uuid.UUID) { e.Collections = ids })
}

// LinkHits records on each search hit the entry ids of all of them.
func LinkHits(hits []*store.Hit) {
	linkIDs(hits, func(h *store.Hit) uuid.UUID { return h.ID }, func(h *store.Hit, ids []uuid.UUID) { h.Batch = &ids })
}

// linkRefs gives each item the distinct ids all of them refer to (one
// shared slice); items that refer to none (nil) are left out of it.
func linkRefs[T any](items []T, ref func(T) *uuid.UUID, set func(T, []uuid.UUID)) {
	var ids []uuid.UUID
	for _, x := range items {
		if id := ref(x); id != nil && !slices.Contains(ids, *id) {
			ids = append(ids, *id)
		}
	}
	for _, x := range items {
		set(x, ids)
	}
}

// linkedMap links the values of a fetch keyed by id.
func linkedMap[V any](fetch func(context.Context, []uuid.UUID) (map[uuid.UUID]V, error), link func([]V)) func(context.Context, []uuid.UUID) (map[uuid.UUID]V, error) {
	return func(ctx context.Context, keys []uuid.UUID) (map[uuid.UUID]V, error) {
		m, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		link(slices.Collect(maps.Values(m)))
		return m, nil
	}
}

// linkedLists links, together, every item of every list a fetch returns.
func linkedLists[K comparable, V any](fetch func(context.Context, []K) (map[K][]V, error), link func([]V)) func(context.Context, []K) (map[K][]V, error) {
	return func(ctx context.Context, keys []K) (map[K][]V, error) {
		m, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		var all []V
		for _, l := range m {
			all = append(all, l...)
		}
		link(all)
		return m, nil
	}
}

// linkedPages links, together, the items of every page a fetch returns.
func linkedPages[K comparable, V any](fetch func(context.Context, []K) (map[K]page.Page[V], error), link func([]V)) func(context.Context, []K) (map[K]page.Page[V], error) {
	return func(ctx context.Context, keys []K) (map[K]page.Page[V], error) {
		m, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		var all []V
		for _, p := range m {
			all = append(all, p.Items...)
		}
		link(all)
		return m, nil
	}
}

// linkAccess links the collections of knowledge access rows.
func linkAccess(access []*domain.KnowledgeAccess) {
	cols := make([]*domain.Collection, len(access))
	for i, k := range access {
		cols[i] = k.Collection
	}
	LinkCollections(cols)
}
