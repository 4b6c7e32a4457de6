// Package live delivers events to GraphQL subscriptions, top to bottom:
//
//  1. A subscription resolver calls Subscribe with what it matches and how an
//     event becomes its value. Subscribe registers with the hub
//     (internal/pubsub), which hands each of the user's events to it on the
//     hub's goroutine, with the row it loaded once for this instance.
//  2. The value goes on the subscription's channel and, on our socket
//     transport (internal/gqlws), the event goes on the subscription's queue
//     in the same order; Subscribe then wakes the socket, whose writer runs
//     gqlgen's response handler for the head of the channel. No goroutine
//     waits on the channel.
//  3. The response middleware (Responses) takes the event at the head of the
//     queue and executes it with loaders kept on the event, once for all the
//     subscriptions of the user that run the same operation (share.go); the
//     others send a copy. Every other operation gets loaders of its own from
//     loaders.Install.
//
// The channel and the queue must stay in step: a value goes on the channel
// and its event on the queue under the hub's delivery of that one event,
// and the writer takes them in the same step.
package live

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/gqlws"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/store"
)

// Buffer is how many events a subscription holds for a socket that is slow
// to take them before it is ended (a slow subscriber never blocks others;
// the client resubscribes and refetches).
const Buffer = 256

// Delivery delivers one instance's events to its subscriptions.
type Delivery struct {
	hub   *pubsub.Hub
	store *store.Store
	wait  time.Duration // loaders' batch window
	ops   operations    // subscriptions by user and operation (share.go)
}

// New returns a Delivery of hub's events; events' nested fields load through
// loaders on s that gather keys for wait.
func New(hub *pubsub.Hub, s *store.Store, wait time.Duration) *Delivery {
	return &Delivery{hub: hub, store: s, wait: wait}
}

// Subscribe delivers the viewer's events that match, converted, until the
// client goes away. Events of other users never reach match: the hub
// dispatches by user, whatever thread or agent id the client names. convert
// runs on the hub's goroutine and must not block; false skips the event.
func Subscribe[T any](ctx context.Context, d *Delivery, match func(*pubsub.Event) bool,
	convert func(*pubsub.Event) (T, bool)) (<-chan T, error) {
	u, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan T, Buffer)
	// On our socket transport, wake tells the socket that out holds an
	// event; gqlgen's transports (nil wake) wait on out themselves.
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
		pending.peers, leave = d.ops.join(u.ID, pending.op)
		gqlws.Attach(ctx, pending)
	}
	sub := d.hub.SubscribeFunc(u.ID, match, func(ev *pubsub.Event) bool {
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

// Row is the row the hub loaded for ev, if it is a T: the convert of a
// subscription that delivers rows.
func Row[T any](ev *pubsub.Event) (T, bool) {
	v, ok := ev.Row.(T)
	return v, ok
}

// Responses is the response middleware of the event path (step 3): an
// event's response runs with the loaders kept on the event (once per
// operation for all the subscribers it reaches); everything else goes on to
// loaders.Install, which gives it loaders of its own.
func (d *Delivery) Responses() graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		if q, ok := gqlws.Attached(ctx).(*eventQueue); ok {
			if ev := q.pop(); ev != nil {
				return d.execute(ctx, q, ev, next)
			}
		}
		return next(ctx)
	}
}
