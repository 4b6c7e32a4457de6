package graph

import (
	"context"

	"github.com/agentgraph/agentgraph/graph/model"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/live"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// The subscription resolvers: each validates its arguments and says which
// events it wants and how one becomes its value; internal/live does the rest.

func (r *Resolver) messageAdded(ctx context.Context, threadID string) (<-chan *domain.Message, error) {
	var c validate.Checker
	c.ThreadID("threadId", threadID)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return live.Subscribe(ctx, r.live, func(ev *pubsub.Event) bool {
		return ev.Kind == pubsub.KindMessage && ev.Topic == threadID
	}, live.Row[*domain.Message])
}

func (r *Resolver) messageStream(ctx context.Context, threadID string) (<-chan *model.MessageChunk, error) {
	var c validate.Checker
	c.ThreadID("threadId", threadID)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return live.Subscribe(ctx, r.live, func(ev *pubsub.Event) bool {
		return ev.Kind == pubsub.KindChunk && ev.Topic == threadID
	}, func(ev *pubsub.Event) (*model.MessageChunk, bool) {
		c, ok := pubsub.DecodeChunk(ev)
		if !ok {
			return nil, false
		}
		return &model.MessageChunk{ThreadID: ev.Topic, MessageID: ev.ID, Delta: c.Delta, Done: c.Done, Restart: c.Restart}, true
	})
}

func (r *Resolver) feedEventAdded(ctx context.Context, agentID *string) (<-chan *domain.FeedEvent, error) {
	topic := ""
	if agentID != nil {
		id, err := validate.ID("agentId", *agentID)
		if err != nil {
			return nil, err
		}
		topic = id.String()
	}
	return live.Subscribe(ctx, r.live, func(ev *pubsub.Event) bool {
		return ev.Kind == pubsub.KindFeed && (topic == "" || ev.Topic == topic)
	}, live.Row[*domain.FeedEvent])
}
