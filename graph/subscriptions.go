package graph

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/agentgraph/agentgraph/graph/model"
	"github.com/agentgraph/agentgraph/internal/auth"
	domain "github.com/agentgraph/agentgraph/internal/model"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// rowLoads shares one row read among the subscriptions that receive the same
// event at the same time (several tabs of one user): the row is loaded once
// per instance, not once per subscriber.
var rowLoads singleflight.Group

// subscribe relays the events of the viewer that match, converted by load,
// until the client goes away. Events of other users never reach match: the
// hub dispatches by user, whatever thread or agent id the client names.
func subscribe[T any](ctx context.Context, hub *pubsub.Hub, match func(*pubsub.Event) bool,
	load func(ctx context.Context, user uuid.UUID, ev *pubsub.Event) (T, bool)) (<-chan T, error) {
	u, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	sub := hub.Subscribe(u.ID, match)
	out := make(chan T, 1)
	go func() {
		defer close(out)
		defer sub.Close()
		for {
			select {
			case ev, ok := <-sub.C():
				if !ok {
					if err := sub.Err(); err != nil {
						slog.InfoContext(ctx, "subscription ended", "user", u.ID, "err", err)
					}
					return
				}
				v, ok := load(ctx, u.ID, ev)
				if !ok {
					continue
				}
				select {
				case out <- v:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func (r *Resolver) messageAdded(ctx context.Context, threadID string) (<-chan *domain.Message, error) {
	var c validate.Checker
	c.ThreadID("threadId", threadID)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return subscribe(ctx, r.Hub, func(ev *pubsub.Event) bool {
		return ev.Kind == pubsub.KindMessage && ev.Topic == threadID
	}, func(ctx context.Context, user uuid.UUID, ev *pubsub.Event) (*domain.Message, bool) {
		id, err := uuid.Parse(ev.ID)
		if err != nil {
			return nil, false
		}
		v, err, _ := rowLoads.Do("m:"+user.String()+":"+ev.ID, func() (any, error) {
			return r.Store.MessageForUser(context.WithoutCancel(ctx), user, id)
		})
		if err != nil {
			slog.WarnContext(ctx, "messageAdded: load", "id", ev.ID, "err", err)
			return nil, false
		}
		return v.(*domain.Message), true
	})
}

func (r *Resolver) messageStream(ctx context.Context, threadID string) (<-chan *model.MessageChunk, error) {
	var c validate.Checker
	c.ThreadID("threadId", threadID)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return subscribe(ctx, r.Hub, func(ev *pubsub.Event) bool {
		return ev.Kind == pubsub.KindChunk && ev.Topic == threadID
	}, func(_ context.Context, _ uuid.UUID, ev *pubsub.Event) (*model.MessageChunk, bool) {
		var d struct {
			Delta string `json:"delta"`
			Done  bool   `json:"done"`
		}
		if json.Unmarshal(ev.Data, &d) != nil {
			return nil, false
		}
		return &model.MessageChunk{ThreadID: ev.Topic, MessageID: ev.ID, Delta: d.Delta, Done: d.Done}, true
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
	return subscribe(ctx, r.Hub, func(ev *pubsub.Event) bool {
		return ev.Kind == pubsub.KindFeed && (topic == "" || ev.Topic == topic)
	}, func(ctx context.Context, user uuid.UUID, ev *pubsub.Event) (*domain.FeedEvent, bool) {
		id, err := uuid.Parse(ev.ID)
		if err != nil {
			return nil, false
		}
		v, err, _ := rowLoads.Do("f:"+user.String()+":"+ev.ID, func() (any, error) {
			return r.Store.FeedEventForUser(context.WithoutCancel(ctx), user, id)
		})
		if err != nil {
			slog.WarnContext(ctx, "feedEventAdded: load", "id", ev.ID, "err", err)
			return nil, false
		}
		return v.(*domain.FeedEvent), true
	})
}
