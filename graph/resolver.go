package graph

import (
	"context"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/graph/model"
	"github.com/agentgraph/agentgraph/internal/agents"
	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/chat"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/feed"
	"github.com/agentgraph/agentgraph/internal/integrations"
	"github.com/agentgraph/agentgraph/internal/knowledge"
	"github.com/agentgraph/agentgraph/internal/live"
	"github.com/agentgraph/agentgraph/internal/loaders"
	"github.com/agentgraph/agentgraph/internal/page"
	"github.com/agentgraph/agentgraph/internal/profile"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/spend"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// Resolver is the root of the resolvers; it holds the domain services. Root
// fields call the store or a service; nested fields go through loaders.
type Resolver struct {
	Store     *store.Store
	Agents    *agents.Service
	Knowledge *knowledge.Service
	Profile   *profile.Service
	Chat      *chat.Service
	Feed      *feed.Service
	Spend     *spend.Service
	// Integrations is reached as r.Resolver.Integrations from the
	// resolvers of fields of the same name, whose methods shadow it.
	Integrations *integrations.Service
	// Hub delivers live events to subscriptions.
	Hub *pubsub.Hub

	live *live.Delivery // set by NewHandler
}

// done turns an operation's error into the Boolean! of delete mutations.
func done(err error) (bool, error) { return err == nil, err }

func viewer(ctx context.Context) (*model.Viewer, error) {
	u, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	return &model.Viewer{ID: u.ID.String()}, nil
}

func loadAgent(ctx context.Context, id uuid.UUID) (*domain.Agent, error) {
	a, err := loaders.For(ctx).Agent().Load(ctx, id)
	return a, loaders.NotFound(err, "agent")
}

func loadCollection(ctx context.Context, id uuid.UUID) (*domain.Collection, error) {
	c, err := loaders.For(ctx).Collection().Load(ctx, id)
	return c, loaders.NotFound(err, "collection")
}

// agent answers agent(id): null when it is not the viewer's. It reads the
// agent as a page of one, so that the lists it selects come in the same
// round trip (lookAgent).
func (r *Resolver) agent(ctx context.Context, id string) (*domain.Agent, error) {
	aid, err := validate.ID("id", id)
	if err != nil {
		return nil, err
	}
	f, args := store.AgentFilter{ID: &aid}, page.Args{Size: 1}
	ahead := lookAgent(ctx, f, args)
	p, err := r.Store.Agents(ctx, f, args, ahead.ah)
	if err != nil || len(p.Items) == 0 {
		return nil, err
	}
	ahead.prime(ctx, p)
	a := p.Items[0]
	loaders.For(ctx).Agent().Prime(a.ID, a)
	return a, nil
}

func (r *Resolver) agents(ctx context.Context, first *int, after *string, status *domain.AgentStatus, typ *domain.AgentType) (*model.AgentConnection, error) {
	args, err := page.Forward(first, after)
	if err != nil {
		return nil, err
	}
	f := store.AgentFilter{Status: status, Type: typ}
	ahead := lookAgents(ctx, f, args)
	p, err := r.Store.Agents(ctx, f, args, ahead.ah)
	loaders.LinkAgents(p.Items)
	if err != nil {
		return nil, err
	}
	ahead.prime(ctx, p)
	c := &model.AgentConnection{Count: ahead.countOr(func(ctx context.Context) (int, error) { return r.Store.CountAgents(ctx, f) })}
	c.Edges, c.PageInfo = connect(p, func(a *domain.Agent) model.AgentEdge { return model.AgentEdge{Node: a} })
	l := loaders.For(ctx).Agent()
	for _, a := range p.Items {
		l.Prime(a.ID, a)
	}
	return c, nil
}

// collection answers collection(id): null when it is not the viewer's.
func (r *Resolver) collection(ctx context.Context, id string) (*domain.Collection, error) {
	cid, err := validate.ID("id", id)
	if err != nil {
		return nil, err
	}
	c, err := r.Store.Collection(ctx, cid)
	if apperr.Is(err, apperr.NotFound) {
		return nil, nil
	}
	if err == nil {
		loaders.For(ctx).Collection().Prime(c.ID, c)
	}
	return c, err
}

func (r *Resolver) collections(ctx context.Context, first *int, after *string) (*model.KnowledgeCollectionConnection, error) {
	args, err := page.Forward(first, after)
	if err != nil {
		return nil, err
	}
	p, err := r.Store.Collections(ctx, args)
	loaders.LinkCollections(p.Items)
	if err != nil {
		return nil, err
	}
	c := &model.KnowledgeCollectionConnection{Count: r.Store.CountCollections}
	c.Edges, c.PageInfo = connect(p, func(x *domain.Collection) model.KnowledgeCollectionEdge {
		return model.KnowledgeCollectionEdge{Node: x}
	})
	l := loaders.For(ctx).Collection()
	for _, x := range p.Items {
		l.Prime(x.ID, x)
	}
	return c, nil
}

// entries answers KnowledgeCollection.entries through a loader, so a list of
// collections loads all their pages in one round trip.
func (r *Resolver) entries(ctx context.Context, col *domain.Collection, first *int, after *string, typ *domain.KnowledgeType) (*model.KnowledgeEntryConnection, error) {
	args, err := page.Forward(first, after)
	if err != nil {
		return nil, err
	}
	key := store.EntriesKey{Collection: col.ID, Page: args.Key()}
	if typ != nil {
		key.Type = *typ
	}
	p, err := loaders.Linked(ctx, loaders.For(ctx).EntryPage(), key, col.Batch, func(id uuid.UUID) store.EntriesKey {
		k := key
		k.Collection = id
		return k
	})
	if err != nil {
		return nil, err
	}
	count := store.CountKey{Collection: col.ID, Type: key.Type}
	c := &model.KnowledgeEntryConnection{Count: func(ctx context.Context) (int, error) {
		return loaders.Linked(ctx, loaders.For(ctx).EntryCount(), count, col.Batch, func(id uuid.UUID) store.CountKey {
			return store.CountKey{Collection: id, Type: key.Type}
		})
	}}
	c.Edges, c.PageInfo = connect(p, func(e *domain.Entry) model.KnowledgeEntryEdge { return model.KnowledgeEntryEdge{Node: e} })
	return c, nil
}

// connect returns the edges of p's items, made by edge (all in one
// allocation), and the page's PageInfo. It encodes no cursor: edges and
// PageInfo encode theirs when a client selects one (model.PageInfo).
func connect[T, E any, P interface {
	*E
	model.Edge
}](p page.Page[T], edge func(T) E) ([]P, *model.PageInfo) {
	all := make([]E, len(p.Items))
	edges := make([]P, len(p.Items))
	for i, item := range p.Items {
		all[i] = edge(item)
		edges[i] = &all[i]
	}
	info := &model.PageInfo{HasNextPage: p.HasNext, HasPreviousPage: p.HasPrev}
	if n := len(edges); n > 0 {
		info.First, info.Last = edges[0], edges[n-1]
	}
	return edges, info
}
