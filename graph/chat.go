package graph

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/vikstrous/dataloadgen"

	"github.com/agentgraph/agentgraph/graph/model"
	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/loaders"
	"github.com/agentgraph/agentgraph/internal/page"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// optionalAgent loads an agent a row points at, or nil: the pointer may be
// unset, and a destroyed agent's rows still name it. batch holds the agent
// ids of the rows read with it (loaders.LinkMessages, LinkFeed), loaded
// together whichever of them asks first.
func optionalAgent(ctx context.Context, id *uuid.UUID, batch []uuid.UUID) (*domain.Agent, error) {
	if id == nil {
		return nil, nil
	}
	a, err := loaders.Linked(ctx, loaders.For(ctx).Agent(), *id, batch, loaders.ID)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return nil, nil
	}
	return a, err
}

// thread answers thread(id): null when the viewer has no such thread.
func (r *Resolver) thread(ctx context.Context, id string) (*domain.Thread, error) {
	var c validate.Checker
	c.ThreadID("id", id)
	if err := c.Err(); err != nil {
		return nil, err
	}
	ahead, prime := lookThread(ctx, id)
	t, err := r.Store.Thread(ctx, id, ahead)
	if apperr.Is(err, apperr.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	prime()
	return t, nil
}

// threads answers threads(first, after, agentId): most recent activity first.
func (r *Resolver) threads(ctx context.Context, first *int, after *string, agentID *string) (*model.ThreadConnection, error) {
	args, err := page.ForwardText(first, after)
	if err != nil {
		return nil, err
	}
	var aid *uuid.UUID
	if agentID != nil {
		id, err := validate.ID("agentId", *agentID)
		if err != nil {
			return nil, err
		}
		aid = &id
	}
	p, err := r.Store.Threads(ctx, aid, args)
	loaders.LinkThreads(p.Items)
	if err != nil {
		return nil, err
	}
	c := &model.ThreadConnection{Count: func(ctx context.Context) (int, error) {
		return r.Store.CountThreads(ctx, aid)
	}}
	c.Edges, c.PageInfo = connect(p, threadEdge)
	return c, nil
}

// messages answers Thread.messages(last, before): a backward page, oldest
// first, loaded for every thread of the list in one round trip.
func (r *Resolver) messages(ctx context.Context, t *domain.Thread, last *int, before *string) (*model.ChatMessageConnection, error) {
	back, err := page.Back(last, before)
	if err != nil {
		return nil, err
	}
	key := store.MessagesKey{Thread: t.ID, Page: back.Key()}
	p, err := loaders.Linked(ctx, loaders.For(ctx).MessagePage(), key, t.Batch, func(x *domain.Thread) store.MessagesKey {
		k := key
		k.Thread = x.ID
		return k
	})
	if err != nil {
		return nil, err
	}
	count := t.MessageCount // kept by the threads trigger: no count query
	c := &model.ChatMessageConnection{Count: func(context.Context) (int, error) { return count, nil }}
	c.Edges, c.PageInfo = connect(p, func(m *domain.Message) model.ChatMessageEdge { return model.ChatMessageEdge{Node: m} })
	return c, nil
}

// lastMessage answers Thread.lastMessage for every thread of a list at once.
func lastMessage(ctx context.Context, t *domain.Thread) (*domain.Message, error) {
	if t.LastMessageID == nil {
		return nil, nil
	}
	m, err := loaders.Linked(ctx, loaders.For(ctx).Message(), *t.LastMessageID, t.Batch, func(x *domain.Thread) uuid.UUID {
		if x.LastMessageID == nil {
			return uuid.Nil
		}
		return *x.LastMessageID
	})
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return nil, nil
	}
	return m, err
}

// threadAgent answers Thread.agent for every thread of a list at once.
func threadAgent(ctx context.Context, t *domain.Thread) (*domain.Agent, error) {
	if t.AgentID == nil {
		return nil, nil
	}
	a, err := loaders.Linked(ctx, loaders.For(ctx).Agent(), *t.AgentID, t.Batch, func(x *domain.Thread) uuid.UUID {
		if x.AgentID == nil {
			return uuid.Nil
		}
		return *x.AgentID
	})
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return nil, nil
	}
	return a, err
}

// agentThreads answers Agent.threads(first, after) for a page of agents in
// one round trip, most recent activity first.
func (r *Resolver) agentThreads(ctx context.Context, a *domain.Agent, first *int, after *string) (*model.ThreadConnection, error) {
	args, err := page.ForwardText(first, after)
	if err != nil {
		return nil, err
	}
	key := store.ThreadsKey{Agent: a.ID, Page: args.Key()}
	p, err := loaders.Linked(ctx, loaders.For(ctx).AgentThreads(), key, a.Batch, func(id uuid.UUID) store.ThreadsKey {
		k := key
		k.Agent = id
		return k
	})
	if err != nil {
		return nil, err
	}
	c := &model.ThreadConnection{Count: func(ctx context.Context) (int, error) {
		return loaders.Linked(ctx, loaders.For(ctx).ThreadCount(), a.ID, a.Batch, loaders.ID)
	}}
	c.Edges, c.PageInfo = connect(p, threadEdge)
	return c, nil
}

func threadEdge(t *domain.Thread) model.ThreadEdge { return model.ThreadEdge{Node: t} }
