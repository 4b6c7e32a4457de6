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
)

// LinkAgents records on each agent the ids of all of them (domain.Agent.Batch).
func LinkAgents(agents []*domain.Agent) {
	ids := make([]uuid.UUID, len(agents))
	for i, a := range agents {
		ids[i] = a.ID
	}
	for _, a := range agents {
		a.Batch = ids
	}
}

// LinkCollections records on each collection the ids of all of them.
func LinkCollections(cols []*domain.Collection) {
	ids := make([]uuid.UUID, len(cols))
	for i, c := range cols {
		ids[i] = c.ID
	}
	for _, c := range cols {
		c.Batch = ids
	}
}

// LinkThreads records on each thread all the threads read with it.
func LinkThreads(threads []*domain.Thread) {
	for _, t := range threads {
		t.Batch = threads
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
