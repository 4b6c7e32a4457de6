package graph

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/graph/model"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/cache"
	domain "github.com/agentgraph/agentgraph/internal/model"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// eventRow loads the row an event names once per instance, however many of
// its user's subscriptions deliver it: concurrent loads share one query
// (singleflight) and later ones find the row in a short-lived cache. Keys
// hold the user id, so a row is only ever served to its own user.
func (r *Resolver) eventRow(ctx context.Context, kind string, user uuid.UUID, id string,
	load func(ctx context.Context, user, id uuid.UUID) (any, error)) (any, bool) {
	key := kind + ":" + user.String() + ":" + id
	if v, ok := r.rows().Get(key); ok {
		return v, true
	}
	uid, err := uuid.Parse(id)
	if err != nil {
		return nil, false
	}
	v, err, _ := r.rowLoads.Do(key, func() (any, error) {
		if v, ok := r.rows().Get(key); ok {
			return v, nil
		}
		v, err := load(context.WithoutCancel(ctx), user, uid)
		if err == nil {
			r.rows().Set(key, v)
		}
		return v, err
	})
	if err != nil {
		slog.WarnContext(ctx, "subscription: load event row", "kind", kind, "id", id, "err", err)
		return nil, false
	}
	return v, true
}

// rows is the cache of recent event rows, made on first use.
func (r *Resolver) rows() *cache.Recent[any] {
	r.rowsOnce.Do(func() {
		c, err := cache.NewRecent[any](10000, 10*time.Second)
		if err != nil {
			panic(err) // only for an invalid configuration, which is constant here
		}
		r.eventRows = c
	})
	return r.eventRows
}

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
		v, ok := r.eventRow(ctx, "m", user, ev.ID, func(ctx context.Context, user, id uuid.UUID) (any, error) {
			return r.Store.MessageForUser(ctx, user, id)
		})
		if !ok {
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
		v, ok := r.eventRow(ctx, "f", user, ev.ID, func(ctx context.Context, user, id uuid.UUID) (any, error) {
			return r.Store.FeedEventForUser(ctx, user, id)
		})
		if !ok {
			return nil, false
		}
		return v.(*domain.FeedEvent), true
	})
}
