// Package loaders batches the nested fields of one GraphQL request: each
// loader turns the keys requested by sibling resolvers into one SQL round
// trip, so the round trips of a request depend on its shape, never on list
// sizes. Loaders live for one request (or one subscription event): they cache
// rows of one user and must never be shared between requests.
package loaders

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"
	"github.com/vikstrous/dataloadgen"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
	"github.com/agentgraph/agentgraph/internal/store"
)

// DefaultWait is how long a loader gathers keys before it queries. Lists do
// not rely on it (see Linked); it gathers keys from separate parts of a query,
// such as aliased fields, at a small cost in latency per level.
const DefaultWait = time.Millisecond

// Loaders are the per-request loaders. Each is made when first used: a
// request uses few of them (a feed page only Agent), and making all of
// them cost every request about 80 allocations (BENCHMARKS.md).
type Loaders struct {
	s    *store.Store
	wait dataloadgen.Option
	mu   sync.Mutex // makes a loader once

	agent            atomic.Pointer[dataloadgen.Loader[uuid.UUID, *domain.Agent]]
	collection       atomic.Pointer[dataloadgen.Loader[uuid.UUID, *domain.Collection]]
	skills           atomic.Pointer[dataloadgen.Loader[uuid.UUID, []*domain.Skill]]
	training         atomic.Pointer[dataloadgen.Loader[uuid.UUID, []*domain.TrainingData]]
	access           atomic.Pointer[dataloadgen.Loader[uuid.UUID, []*domain.KnowledgeAccess]]
	collectionAgents atomic.Pointer[dataloadgen.Loader[uuid.UUID, []*domain.Agent]]
	entry            atomic.Pointer[dataloadgen.Loader[uuid.UUID, *domain.Entry]]
	entryPage        atomic.Pointer[dataloadgen.Loader[store.EntriesKey, page.Page[*domain.Entry]]]
	entryCount       atomic.Pointer[dataloadgen.Loader[store.CountKey, int]]
	message          atomic.Pointer[dataloadgen.Loader[uuid.UUID, *domain.Message]]
	messagePage      atomic.Pointer[dataloadgen.Loader[store.MessagesKey, page.Page[*domain.Message]]]
	usage            atomic.Pointer[dataloadgen.Loader[store.UsageKey, *domain.UsageTotals]]
	agentThreads     atomic.Pointer[dataloadgen.Loader[store.ThreadsKey, page.Page[*domain.Thread]]]
	threadCount      atomic.Pointer[dataloadgen.Loader[uuid.UUID, int]]
}

// New returns fresh loaders over s.
func New(s *store.Store, wait time.Duration) *Loaders {
	return &Loaders{s: s, wait: dataloadgen.WithWait(wait)}
}

// made returns *p, made by mk under l.mu if it is not yet.
func made[K comparable, V any](l *Loaders, p *atomic.Pointer[dataloadgen.Loader[K, V]], mk func(*Loaders) *dataloadgen.Loader[K, V]) *dataloadgen.Loader[K, V] {
	if x := p.Load(); x != nil {
		return x
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if x := p.Load(); x != nil {
		return x
	}
	x := mk(l)
	p.Store(x)
	return x
}

// Agent is the request's Agent loader.
func (l *Loaders) Agent() *dataloadgen.Loader[uuid.UUID, *domain.Agent] {
	return made(l, &l.agent, func(l *Loaders) *dataloadgen.Loader[uuid.UUID, *domain.Agent] {
		return dataloadgen.NewMappedLoader(linkedMap(l.s.AgentsByID, LinkAgents), l.wait)
	})
}

// Collection is the request's Collection loader.
func (l *Loaders) Collection() *dataloadgen.Loader[uuid.UUID, *domain.Collection] {
	return made(l, &l.collection, func(l *Loaders) *dataloadgen.Loader[uuid.UUID, *domain.Collection] {
		return dataloadgen.NewMappedLoader(linkedMap(l.s.CollectionsByID, LinkCollections), l.wait)
	})
}

// Skills is the request's Skills loader.
func (l *Loaders) Skills() *dataloadgen.Loader[uuid.UUID, []*domain.Skill] {
	return made(l, &l.skills, func(l *Loaders) *dataloadgen.Loader[uuid.UUID, []*domain.Skill] {
		return dataloadgen.NewMappedLoader(lists(l.s.SkillsByAgent), l.wait)
	})
}

// Training is the request's Training loader.
func (l *Loaders) Training() *dataloadgen.Loader[uuid.UUID, []*domain.TrainingData] {
	return made(l, &l.training, func(l *Loaders) *dataloadgen.Loader[uuid.UUID, []*domain.TrainingData] {
		return dataloadgen.NewMappedLoader(lists(l.s.TrainingByAgent), l.wait)
	})
}

// Access is the request's Access loader.
func (l *Loaders) Access() *dataloadgen.Loader[uuid.UUID, []*domain.KnowledgeAccess] {
	return made(l, &l.access, func(l *Loaders) *dataloadgen.Loader[uuid.UUID, []*domain.KnowledgeAccess] {
		return dataloadgen.NewMappedLoader(lists(linkedLists(l.s.AccessByAgent, linkAccess)), l.wait)
	})
}

// CollectionAgents is the request's CollectionAgents loader.
func (l *Loaders) CollectionAgents() *dataloadgen.Loader[uuid.UUID, []*domain.Agent] {
	return made(l, &l.collectionAgents, func(l *Loaders) *dataloadgen.Loader[uuid.UUID, []*domain.Agent] {
		return dataloadgen.NewMappedLoader(lists(linkedLists(l.s.AgentsByCollection, LinkAgents)), l.wait)
	})
}

// Entry is the request's Entry loader.
func (l *Loaders) Entry() *dataloadgen.Loader[uuid.UUID, *domain.Entry] {
	return made(l, &l.entry, func(l *Loaders) *dataloadgen.Loader[uuid.UUID, *domain.Entry] {
		return dataloadgen.NewMappedLoader(linkedMap(l.s.EntriesByID, LinkEntries), l.wait)
	})
}

// EntryPage is the request's EntryPage loader.
func (l *Loaders) EntryPage() *dataloadgen.Loader[store.EntriesKey, page.Page[*domain.Entry]] {
	return made(l, &l.entryPage, func(l *Loaders) *dataloadgen.Loader[store.EntriesKey, page.Page[*domain.Entry]] {
		return dataloadgen.NewMappedLoader(linkedPages(l.s.EntryPages, LinkEntries), l.wait)
	})
}

// EntryCount is the request's EntryCount loader.
func (l *Loaders) EntryCount() *dataloadgen.Loader[store.CountKey, int] {
	return made(l, &l.entryCount, func(l *Loaders) *dataloadgen.Loader[store.CountKey, int] {
		return dataloadgen.NewMappedLoader(l.s.CountEntries, l.wait)
	})
}

// Message is the request's Message loader.
func (l *Loaders) Message() *dataloadgen.Loader[uuid.UUID, *domain.Message] {
	return made(l, &l.message, func(l *Loaders) *dataloadgen.Loader[uuid.UUID, *domain.Message] {
		return dataloadgen.NewMappedLoader(linkedMap(l.s.MessagesByID, LinkMessages), l.wait)
	})
}

// MessagePage is the request's MessagePage loader.
func (l *Loaders) MessagePage() *dataloadgen.Loader[store.MessagesKey, page.Page[*domain.Message]] {
	return made(l, &l.messagePage, func(l *Loaders) *dataloadgen.Loader[store.MessagesKey, page.Page[*domain.Message]] {
		return dataloadgen.NewMappedLoader(linkedPages(l.s.MessagePages, LinkMessages), l.wait)
	})
}

// Usage is the request's Usage loader.
func (l *Loaders) Usage() *dataloadgen.Loader[store.UsageKey, *domain.UsageTotals] {
	return made(l, &l.usage, func(l *Loaders) *dataloadgen.Loader[store.UsageKey, *domain.UsageTotals] {
		return dataloadgen.NewMappedLoader(l.s.UsageByAgent, l.wait)
	})
}

// AgentThreads is the request's AgentThreads loader.
func (l *Loaders) AgentThreads() *dataloadgen.Loader[store.ThreadsKey, page.Page[*domain.Thread]] {
	return made(l, &l.agentThreads, func(l *Loaders) *dataloadgen.Loader[store.ThreadsKey, page.Page[*domain.Thread]] {
		return dataloadgen.NewMappedLoader(linkedPages(l.s.ThreadPages, LinkThreads), l.wait)
	})
}

// ThreadCount is the request's ThreadCount loader.
func (l *Loaders) ThreadCount() *dataloadgen.Loader[uuid.UUID, int] {
	return made(l, &l.threadCount, func(l *Loaders) *dataloadgen.Loader[uuid.UUID, int] {
		return dataloadgen.NewMappedLoader(l.s.CountThreadsByAgent, l.wait)
	})
}

// lists adapts a fetch of lists: a key with no rows has an empty list, not
// a "not found".
func lists[K comparable, V any](fetch func(context.Context, []K) (map[K][]V, error)) func(context.Context, []K) (map[K][]V, error) {
	return func(ctx context.Context, keys []K) (map[K][]V, error) {
		m, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				m[k] = []V{}
			}
		}
		return m, nil
	}
}

type ctxKey struct{}

// holder creates a request's loaders on first use: a WebSocket connection's
// context, or a subscription event that selects no nested field, never pays
// for them (13 loaders are several KB, times 10,000 sockets).
type holder struct {
	once sync.Once
	l    *Loaders
	new  func() *Loaders
}

func (h *holder) get() *Loaders {
	h.once.Do(func() { h.l = h.new() })
	return h.l
}

// With returns ctx carrying l.
func With(ctx context.Context, l *Loaders) context.Context {
	h := &holder{l: l}
	h.once.Do(func() {})
	return context.WithValue(ctx, ctxKey{}, h)
}

// Lazy returns ctx carrying loaders over s that are made on first use.
func Lazy(ctx context.Context, s *store.Store, wait time.Duration) context.Context {
	return WithShared(ctx, NewShared(s, wait))
}

// Shared is a set of loaders made on first use that several executions
// share: the subscribers of one event, so that its nested fields cost one
// query however many sockets of the user receive it.
type Shared struct{ h holder }

// NewShared returns loaders over s, made when first used.
func NewShared(s *store.Store, wait time.Duration) *Shared {
	return &Shared{h: holder{new: func() *Loaders { return New(s, wait) }}}
}

// WithShared returns ctx carrying sh.
func WithShared(ctx context.Context, sh *Shared) context.Context {
	return context.WithValue(ctx, ctxKey{}, &sh.h)
}

// For returns the loaders of the request ctx belongs to.
func For(ctx context.Context) *Loaders {
	h, ok := ctx.Value(ctxKey{}).(*holder)
	if !ok {
		// A resolver ran outside Install: a wiring bug, not a user error.
		panic("loaders: no loaders in context")
	}
	return h.get()
}

// Install is the one place an operation gets its loaders: a response
// middleware that gives each operation (a query, a mutation, a socket's
// operation, a subscription's event) loaders of its own, unless an outer
// middleware already put shared ones in its context (internal/live does for
// the subscribers of one event). A socket lives for hours and loaders cache
// rows, so they are never made per connection.
func Install(s *store.Store, wait time.Duration) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		if _, ok := ctx.Value(ctxKey{}).(*holder); ok {
			return next(ctx)
		}
		return next(Lazy(ctx, s, wait))
	}
}

// NotFound converts a loader's missing key into the API's NOT_FOUND.
func NotFound(err error, what string) error {
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return apperr.NotFoundf("%s not found", what)
	}
	return err
}

// Linked loads the value of key, first queuing the keys of every object read
// together with its parent (domain.Agent.Batch, domain.Collection.Batch,
// domain.Thread.Batch, domain.Message.Agents, domain.FeedEvent.Agents,
// domain.Entry.Collections, store.Hit.Batch) in the same batch. The first
// sibling to ask queues them all; the rest find their key cached. Batching
// then holds however the scheduler spreads the sibling resolvers, instead of
// depending on them all starting within the wait, and whether siblings
// resolve at once or one after another (graph's direct execution).
func Linked[T any, K comparable, V any](ctx context.Context, l *dataloadgen.Loader[K, V], key K, batch []T, keyOf func(T) K) (V, error) {
	if len(batch) > 1 {
		keys := make([]K, len(batch))
		for i, x := range batch {
			keys[i] = keyOf(x)
		}
		l.LoadAllThunk(ctx, keys)
	}
	return l.Load(ctx, key)
}

// ID is the keyOf of loaders keyed by the id itself.
func ID(id uuid.UUID) uuid.UUID { return id }
