// Package pubsub delivers live events (chat messages, streamed LLM token chunks, activity feed
// events) from whichever server instance wrote them to the WebSocket subscribers of every
// instance, through Postgres LISTEN/NOTIFY (DESIGN.md, decision 3).
//
// # Publishing
//
// A writer queues an [Event] with [Publish] (on a pgx.Tx, a pool or a connection) or [Notify]
// (on a pgx.Batch) next to the write it announces. NOTIFY is transactional: the event is sent
// when that transaction commits and never if it rolls back, so a subscriber is never told about
// a row it cannot load. On a pool, Publish is its own one-statement transaction and is sent at
// once. Events travel as small JSON (ids, owner, kind; a chunk's delta inline) on the single
// channel [Channel]. Postgres refuses payloads of 8000 bytes or more ([MaxPayload]): an event
// that does not fit (a chunk with a long delta) is sent as several parts in one statement,
// which the receiving hubs put back together before dispatching it, so it arrives whole and
// once. Only events larger than [MaxEvent] are refused ([ErrPayloadTooLarge]).
//
// Two properties of NOTIFY worth knowing before publishing from a transaction:
//   - Postgres folds identical notifications (same channel and payload) raised in one
//     transaction into one. Events that differ in ID or Seq are never folded.
//   - A committing transaction that has queued a NOTIFY takes a lock that is global to the
//     database cluster for the moment of its commit, so such commits are serialized. Keep
//     publishing transactions short.
//
// High-rate events that announce no row (stream chunks) go through [Hub.Stream] instead: the
// hub dispatches them to its own subscribers at once, without Postgres, and NOTIFYs them for
// the other instances in batches (one statement, one commit for whatever queued meanwhile, up
// to a megabyte each), tagged with its Origin so that it skips them when they come back.
// [Hub.Flush] waits for those NOTIFYs, so that a transactional event published after it
// arrives after them everywhere.
//
// # Receiving
//
// Each process runs one [Hub]. Its Run holds one dedicated connection that LISTENs on Channel;
// one goroutine reads and decodes notifications, and another takes whatever has queued, loads
// the rows those events name in one call ([Options.Resolve]) and fans them out in memory, so a
// burst of events costs one round trip, not one per event. When loading fails (the database
// hiccups, the pool is exhausted) it is retried a few times over a few seconds, the events
// behind waiting in order, before the batch is dropped (logged, [Hub.ResolveDropped]). The
// listening goroutine puts a split event's parts back together before queueing it.
// Subscribers are kept in a map by user id, so an event costs O(subscribers of its user), and
// a subscription only ever sees its own user's events: the hub checks the owner, the match
// func only narrows further (to a thread, an agent, a kind).
//
// Order: notifications arrive in commit order and one goroutine dispatches them, so every
// subscription sees events in commit order; events of one thread published one after another
// arrive in that order.
//
// # Slow subscribers
//
// A producer never blocks on a subscriber. Each subscription has a bounded buffer
// ([Options.Buffer], 256 events by default). When an event finds it full, the hub does not wait
// and does not silently skip the event (which would leave a gap the client cannot see): it ends
// that subscription. Its channel delivers what was already buffered and is then closed, and
// [Subscription.Err] returns [ErrSlowSubscriber]. The GraphQL layer then closes the client's
// socket with 1013 (try again later); the client reconnects, re-subscribes and refetches what
// it missed. Other subscribers, including the same user's other sockets, are unaffected.
//
// The buffer is a channel, allocated whole when subscribing: Buffer × 96 bytes (the size of an
// Event), 24 KiB at the default.
//
// # Connection loss
//
// NOTIFY is not durable: events committed while the listening connection is down are lost for
// this instance. When the connection breaks (Postgres restarted, backend terminated, network
// gone — the last detected by a ping when the connection has been quiet for
// [Options.PingInterval]), Run logs it, reconnects with exponential backoff (100ms up to 5s by
// default) and LISTENs again. Subscriptions stay open and receive every event committed after
// the new LISTEN. Because events in the gap are lost, [Options.OnReconnect] is called after each
// reconnect, before any later event is dispatched, so that higher layers can resync (refetch
// since the last event they saw).
//
// # Files
//
// event.go the Event and publishing; chunk.go the stream chunk and message events' data;
// parts.go events split across notifications; hub.go the Hub, its options and Run;
// listen.go the listening connection; dispatch.go batching, row loading and fan-out
// (resolve.go its retries); subscription.go subscribing (a channel, C, for code that waits
// on events, like a reply watching for interrupts; a callback, SubscribeFunc, for the GraphQL
// layer, which must not hold a goroutine per subscription); stream.go Hub.Stream.
package pubsub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Channel is the one NOTIFY channel all events travel on. One channel rather than one per user
// or thread: the listening connection then never has to LISTEN/UNLISTEN as subscribers come and
// go, and per-user routing is a map lookup in memory.
const Channel = "agentgraph_events"

// MaxPayload is the largest NOTIFY payload, in bytes, that Postgres accepts (its limit is
// "shorter than 8000 bytes" in the default build).
const MaxPayload = 7999

// Kinds of event the application publishes.
const (
	KindMessage = "message" // a chat message was stored; Topic is its thread, ID the message
	KindChunk   = "chunk"   // a piece of a streamed reply; Topic is the thread, ID the message, Seq its order, Data the delta
	KindFeed    = "feed"    // an activity feed event; Topic is the agent id or "", ID the feed event
)

// Event is what travels through NOTIFY: small, because the payload is limited and every
// instance decodes every event. Receivers load the row by ID; stream chunks carry their delta
// inline in Data since they are never stored as rows. The short JSON keys are the wire format.
//
// A delivered Event is shared by all the subscriptions it reaches: do not modify Data.
type Event struct {
	Kind   string          `json:"k"`           // "message", "chunk", "feed" …
	UserID uuid.UUID       `json:"u"`           // the owner: delivered only to this user's subscribers
	Topic  string          `json:"t"`           // thread id for messages/chunks, agent id (or "") for feed
	ID     string          `json:"i"`           // row id (message id, feed event id)
	Seq    int64           `json:"s,omitempty"` // chunk sequence within a message
	Data   json.RawMessage `json:"d,omitempty"` // small inline data (a chunk's delta and done flag)
	// Origin is the hub that already delivered the event to its own
	// subscribers (Hub.Stream); that hub skips the NOTIFY.
	Origin string `json:"o,omitempty"`

	// Row is what Options.Resolve loaded for the event on this instance; it
	// never travels.
	Row any `json:"-"`

	local *locals // see Local; set by the hub before dispatching
}

// locals holds what the subscribers of one event share on this instance.
type locals struct {
	mu sync.Mutex
	m  map[any]any
}

// Local returns the value stored under key for this event on this
// instance, made by create the first time any subscriber asks: every
// subscriber the event reaches shares it (the GraphQL layer keeps there the
// loaders that resolve the event's nested fields once for all of them). For
// an event that did not come from a hub's dispatch it is create().
func (ev *Event) Local(key any, create func() any) any {
	l := ev.local
	if l == nil {
		return create()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.m[key]
	if !ok {
		if l.m == nil {
			l.m = make(map[any]any, 1)
		}
		v = create()
		l.m[key] = v
	}
	return v
}

var (
	// ErrPayloadTooLarge is returned by Publish, Notify and Hub.Stream for an event whose
	// JSON is longer than MaxEvent, and by Encode for one longer than MaxPayload.
	ErrPayloadTooLarge = errors.New("pubsub: event payload too large for NOTIFY")
	// ErrNoUser is returned by Publish and Notify for an event without an owner: no
	// subscriber could ever receive it, so it is a bug in the caller.
	ErrNoUser = errors.New("pubsub: event has no user id")
)

// notifySQL uses pg_notify rather than NOTIFY because NOTIFY's payload cannot be a parameter.
const notifySQL = `select pg_notify($1, $2)`

// Execer is what Publish needs: *pgxpool.Pool, *pgxpool.Conn, *pgx.Conn and pgx.Tx all have it.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Publish sends ev through NOTIFY on db. On a transaction it is delivered when the transaction
// commits, in commit order, and never if it rolls back.
func Publish(ctx context.Context, db Execer, ev Event) error {
	payload, parts, err := encodeParts(&ev)
	if err != nil {
		return err
	}
	if parts != nil {
		_, err = db.Exec(ctx, streamSQL, Channel, parts)
	} else {
		_, err = db.Exec(ctx, notifySQL, Channel, payload)
	}
	if err != nil {
		return fmt.Errorf("pubsub: notify: %w", err)
	}
	return nil
}

// Notify queues ev's NOTIFY on b. A batch runs as one implicit transaction unless it holds
// explicit transaction statements, so the event is delivered only if the whole batch succeeds.
func Notify(b *pgx.Batch, ev Event) error {
	payload, parts, err := encodeParts(&ev)
	if err != nil {
		return err
	}
	if parts != nil {
		b.Queue(streamSQL, Channel, parts)
	} else {
		b.Queue(notifySQL, Channel, payload)
	}
	return nil
}

// Encode returns ev's NOTIFY payload, checked like Publish checks it, for SQL
// that must notify conditionally (`select pg_notify(…) from … where …`). It
// is for small events (ids): it refuses one that would need parts.
func Encode(ev Event) (string, error) {
	payload, parts, err := encodeParts(&ev)
	if err == nil && parts != nil {
		err = fmt.Errorf("%w: %d parts, Encode makes one payload", ErrPayloadTooLarge, len(parts))
	}
	return payload, err
}

// encodeParts returns ev's NOTIFY payload, or, when it does not fit one,
// the payloads of its parts (payload is then "").
func encodeParts(ev *Event) (payload string, parts []string, err error) {
	if ev.UserID == uuid.Nil {
		return "", nil, ErrNoUser
	}
	p, err := marshal(ev)
	if err != nil {
		return "", nil, err
	}
	switch {
	case len(p) <= MaxPayload:
		return string(p), nil, nil
	case len(p) > MaxEvent:
		return "", nil, fmt.Errorf("%w: %d bytes, at most %d", ErrPayloadTooLarge, len(p), MaxEvent)
	}
	parts, err = split(ev, p)
	return "", parts, err
}
