package graph

import (
	"context"
	"errors"
	"log/slog"

	"github.com/agentgraph/agentgraph/graph/model"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/gqlws"
	domain "github.com/agentgraph/agentgraph/internal/model"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// subBuffer is how many events a subscription holds for a socket that is
// slow to take them before it is ended (a slow subscriber never blocks
// others; the client resubscribes and refetches).
const subBuffer = 256

// subscribe delivers the viewer's events that match, converted, until the
// client goes away. The hub hands each event to convert on its own goroutine
// (with the row it loaded once for this instance, Event.Row), so a
// subscription costs no goroutine of its own. Events of other users never
// reach match: the hub dispatches by user, whatever thread or agent id the
// client names.
func subscribe[T any](ctx context.Context, r *Resolver, match func(*pubsub.Event) bool,
	convert func(*pubsub.Event) (T, bool)) (<-chan T, error) {
	u, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan T, subBuffer)
	// On our socket transport, wake tells the socket that out holds an
	// event, so no goroutine waits on out; gqlgen's transports (nil wake)
	// wait on it themselves. The events themselves queue in pending too,
	// so that the subscriptions one event reaches execute it once
	// (executeEvent).
	wake := gqlws.Notifier(ctx)
	var pending *eventQueue
	leave := func() {}
	if wake != nil {
		pending = newEventQueue(ctx, func() {
			select {
			case <-out:
			default:
			}
		})
		pending.peers, leave = r.operations.join(u.ID, pending.op)
		gqlws.Attach(ctx, pending)
	}
	sub := r.Hub.SubscribeFunc(u.ID, match, func(ev *pubsub.Event) bool {
		v, ok := convert(ev)
		if !ok {
			return true // nothing to deliver, not a slow subscriber
		}
		select {
		case out <- v:
			if wake != nil {
				pending.push(ev)
				wake()
			}
			return true
		default:
			return false
		}
	}, func(err error) {
		leave()
		if err != nil {
			slog.InfoContext(ctx, "subscription ended", "user", u.ID, "err", err)
		}
		if errors.Is(err, pubsub.ErrSlowSubscriber) {
			// The socket is not keeping up (its writer is stuck on the
			// peer). A completed subscription would look finished to the
			// client; closing with 1013 makes graphql-ws reconnect and
			// resubscribe. gqlgen's transports complete it instead.
			gqlws.CloseSocket(ctx, gqlws.CloseTryAgainLater, "subscriber too slow: reconnect and refetch")
		}
		close(out) // the transport completes the subscription
		if wake != nil {
			wake()
		}
	})
	context.AfterFunc(ctx, sub.Close)
	return out, nil
}

// row is the row the hub loaded for ev, if it is a T.
func row[T any](ev *pubsub.Event) (T, bool) {
	v, ok := ev.Row.(T)
	return v, ok
}

func (r *Resolver) messageAdded(ctx context.Context, threadID string) (<-chan *domain.Message, error) {
	var c validate.Checker
	c.ThreadID("threadId", threadID)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return subscribe(ctx, r, func(ev *pubsub.Event) bool {
		return ev.Kind == pubsub.KindMessage && ev.Topic == threadID
	}, row[*domain.Message])
}

func (r *Resolver) messageStream(ctx context.Context, threadID string) (<-chan *model.MessageChunk, error) {
	var c validate.Checker
	c.ThreadID("threadId", threadID)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return subscribe(ctx, r, func(ev *pubsub.Event) bool {
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
	return subscribe(ctx, r, func(ev *pubsub.Event) bool {
		return ev.Kind == pubsub.KindFeed && (topic == "" || ev.Topic == topic)
	}, row[*domain.FeedEvent])
}
