package graph

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/graph/model"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/loaders"
	"github.com/agentgraph/agentgraph/internal/page"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// maxFeedTypes bounds the types filter of feed.
const maxFeedTypes = 20

// feed answers feed(first, after, agentId, types): newest first.
func (r *Resolver) feed(ctx context.Context, first *int, after *string, agentID *string, types []string) (*model.FeedEventConnection, error) {
	args, err := page.Forward(first, after)
	if err != nil {
		return nil, err
	}
	var f store.FeedFilter
	if agentID != nil {
		id, err := validate.ID("agentId", *agentID)
		if err != nil {
			return nil, err
		}
		f.AgentID = &id
	}
	var c validate.Checker
	if len(types) > maxFeedTypes {
		c.Fail("types", "at most %d types", maxFeedTypes)
	}
	for _, t := range types {
		c.FeedType("types", t, "each must be a feed event type like task_completed")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	f.Types = types
	ahead, prime := lookFeed(ctx, f, args)
	p, err := r.Store.Feed(ctx, f, args, ahead)
	if err != nil {
		return nil, err
	}
	loaders.LinkFeed(p.Items)
	prime()
	conn := &model.FeedEventConnection{Count: func(ctx context.Context) (int, error) {
		return r.Store.CountFeed(ctx, f)
	}}
	conn.Edges, conn.PageInfo = connect(p, func(e *domain.FeedEvent) model.FeedEventEdge { return model.FeedEventEdge{Node: e} })
	return conn, nil
}

// usage answers usage(from, to, groupBy).
func (r *Resolver) usage(ctx context.Context, from, to *time.Time, groupBy model.UsageGroupBy) (*domain.UsageReport, error) {
	if from != nil && to != nil && !from.Before(*to) {
		return nil, validateErr("to", "must be after from")
	}
	return r.Store.Usage(ctx, store.UsageRange{From: from, To: to}, string(groupBy))
}

// agentUsage answers Agent.usage(from, to) for a page of agents in one query.
func agentUsage(ctx context.Context, a *domain.Agent, from, to *time.Time) (*domain.UsageTotals, error) {
	if from != nil && to != nil && !from.Before(*to) {
		return nil, validateErr("to", "must be after from")
	}
	key := store.UsageKey{Agent: a.ID}
	if from != nil {
		key.From = *from
	}
	if to != nil {
		key.To = *to
	}
	return loaders.Linked(ctx, loaders.For(ctx).Usage(), key, a.Batch, func(id uuid.UUID) store.UsageKey {
		k := key
		k.Agent = id
		return k
	})
}

func validateErr(field, msg string) error {
	var c validate.Checker
	c.Fail(field, "%s", msg)
	return c.Err()
}
