package pubsub

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ApplicationName is the application_name of the listening connection, so that it can be told
// apart from pooled connections in pg_stat_activity.
const ApplicationName = "agentgraph-listener"

var (
	// ErrSlowSubscriber ends a subscription whose buffer was full when an event arrived.
	ErrSlowSubscriber = errors.New("pubsub: subscriber too slow, events would have been lost")
	// ErrHubStopped ends every subscription when Run returns, and a subscription made after.
	ErrHubStopped = errors.New("pubsub: hub stopped")
)

// Options configure a Hub. The zero value is usable.
type Options struct {
	// Buffer is the number of events each subscription holds before it counts as slow (256
	// if zero).
	Buffer int
	// Logger receives connection changes and dropped subscriptions (slog.Default() if nil).
	Logger *slog.Logger
	// ReconnectMin and ReconnectMax bound the exponential backoff between attempts to
	// re-establish the listening connection (100ms and 5s if zero).
	ReconnectMin, ReconnectMax time.Duration
	// PingInterval: when the listening connection has received nothing for this long, it is
	// pinged, with the same timeout, so that a connection lost without a word (a network
	// partition, a failover) is noticed in seconds rather than after TCP keepalive gives up
	// (5s if zero).
	PingInterval time.Duration
	// OnReconnect is called on the listening goroutine each time the listening connection is
	// re-established after a loss (not on the first connection), before any event received
	// on the new connection is dispatched. Events committed during the loss were not
	// delivered; this is the moment to resync. It must not block for long: dispatching waits.
	OnReconnect func()
	// Resolve, if set, loads what events name (their rows) once per
	// instance, before they are dispatched; the result is Event.Row for
	// every subscriber. It gets the events that arrived together, up to
	// maxBatch of them in NOTIFY order, and only those of users with
	// subscribers on this instance: a burst of events costs one call, one
	// round trip, not one per event. It returns one row per event, in order;
	// Skip drops an event (its row is gone, or is not the event's user's),
	// nil dispatches it without a row (a chunk). An error is retried a few
	// times over a few seconds (resolve.go), then drops the whole batch
	// (logged, counted by ResolveDropped). It runs on the dispatching
	// goroutine: dispatching waits for it.
	Resolve func(ctx context.Context, evs []*Event) ([]any, error)
}

// Skip is the row Options.Resolve returns for an event that must not be
// dispatched.
var Skip any = skip{}

type skip struct{}

// maxBatch bounds the events handled together (one Resolve call).
const maxBatch = 256

// resolveTimeout bounds one Resolve call (resolveBudget all of a batch's).
const resolveTimeout = 5 * time.Second

// Hub is one process's end of the event channel: one listening connection, fanned out in
// memory to subscriptions. Create it with New, run it with Run; Subscribe may be called
// before, during or after Run, from any goroutine.
type Hub struct {
	pool *pgxpool.Pool
	opts Options
	log  *slog.Logger

	mu sync.Mutex
	// users holds the subscriptions of each user. The slices are copy-on-write: Subscribe
	// and removal replace them, never modify them, so dispatch can walk one after releasing
	// mu, and match funcs run without any hub lock held.
	users   map[uuid.UUID][]*Subscription
	stopped bool

	inbox     chan inboxItem // from the listening goroutine to the dispatching one
	parts     assembler      // the listening goroutine's split events in progress
	ready     chan struct{}
	readyOnce sync.Once
	started   atomic.Bool

	// Stream's sender: events delivered here, waiting to be NOTIFYed for
	// the other instances.
	instance   string
	originTag  string // how the payloads Stream encodes here end
	outMu      sync.Mutex
	out        []outgoing
	outBytes   int  // payload bytes in out
	sending    bool // a batch taken from out is being sent
	outWake    chan struct{}
	senderOnce sync.Once
	done       chan struct{} // closed when the hub stops
	senderDone chan struct{} // closed when Stream's sender has returned

	delivered, dropped, subscribers, reconnects, malformed atomic.Int64
	streamDropped                                          atomic.Int64 // Stream events not sent to other instances
	resolveDropped                                         atomic.Int64 // events whose rows could not be loaded
}

// New returns a hub that will listen on a connection configured like pool's connections. It
// does not connect until Run.
func New(pool *pgxpool.Pool, opts Options) *Hub {
	if opts.Buffer <= 0 {
		opts.Buffer = 256
	}
	if opts.ReconnectMin <= 0 {
		opts.ReconnectMin = 100 * time.Millisecond
	}
	if opts.ReconnectMax <= 0 {
		opts.ReconnectMax = 5 * time.Second
	}
	opts.ReconnectMax = max(opts.ReconnectMax, opts.ReconnectMin)
	if opts.PingInterval <= 0 {
		opts.PingInterval = 5 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	instance := uuid.NewString()[:18]
	return &Hub{
		instance:  instance,
		originTag: `,"o":"` + instance + `"}`,
		pool:      pool,
		opts:      opts,
		log:       log,
		users:     make(map[uuid.UUID][]*Subscription),
		ready:     make(chan struct{}),
		inbox:     make(chan inboxItem, 4*maxBatch),
		outWake:   make(chan struct{}, 1),
		done:      make(chan struct{}),

		senderDone: make(chan struct{}),
	}
}

// Ready is closed once the first LISTEN is active. Events committed before that are not
// delivered by this hub.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Delivered counts events placed in subscription buffers (one per subscription reached). It is
// added to once per event after the fan-out, so it may trail what subscribers have read.
func (h *Hub) Delivered() int64 { return h.delivered.Load() }

// Dropped counts subscriptions ended with ErrSlowSubscriber.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// Subscribers is the number of open subscriptions.
func (h *Hub) Subscribers() int64 { return h.subscribers.Load() }

// StreamDropped counts events Stream delivered here but did not send to the
// other instances, because too many were already waiting for Postgres.
func (h *Hub) StreamDropped() int64 { return h.streamDropped.Load() }

// ResolveDropped counts events not dispatched because Options.Resolve kept
// failing for their batch.
func (h *Hub) ResolveDropped() int64 { return h.resolveDropped.Load() }

// Reconnections counts re-established listening connections (the first one not included).
func (h *Hub) Reconnections() int64 { return h.reconnects.Load() }

// Malformed counts notifications on Channel that were not a valid Event, and split events
// whose parts could not be put back together, that were skipped.
func (h *Hub) Malformed() int64 { return h.malformed.Load() }

// Run listens and dispatches until ctx ends, then ends every subscription with ErrHubStopped
// and returns nil. Connection failures are not returned: they are logged and retried with
// backoff, for as long as ctx lasts. Run may be called once.
func (h *Hub) Run(ctx context.Context) error {
	if !h.started.CompareAndSwap(false, true) {
		return errors.New("pubsub: Hub.Run called twice")
	}
	defer h.stop()
	dispatched := make(chan struct{})
	go h.dispatchLoop(ctx, dispatched)
	defer func() {
		close(h.inbox)
		<-dispatched
	}()

	backoff := h.opts.ReconnectMin
	attempt := 0         // failed attempts since the last good connection
	connected := false   // a LISTEN has succeeded before: the next one is a reconnect
	var lostAt time.Time // when the previous connection was lost
	for {
		conn, err := h.listen(ctx)
		if err == nil {
			if connected {
				h.reconnects.Add(1)
				h.log.Info("pubsub: listener reconnected", "channel", Channel, "pid", conn.PgConn().PID(),
					"attempts", attempt, "down_for", time.Since(lostAt).Round(time.Millisecond))
				h.parts.reset()        // the rest of a split event in progress is lost
				h.inbox <- inboxItem{} // OnReconnect, after what came before
			} else {
				h.log.Info("pubsub: listening", "channel", Channel, "pid", conn.PgConn().PID())
			}
			connected = true
			h.readyOnce.Do(func() { close(h.ready) })
			attempt, backoff = 0, h.opts.ReconnectMin

			err = h.serve(ctx, conn)
			lostAt = time.Now()
			closeConn(ctx, conn)
		}
		if ctx.Err() != nil {
			return nil
		}
		attempt++
		h.log.Warn("pubsub: listener connection failed, retrying", "err", err, "attempt", attempt, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, h.opts.ReconnectMax)
	}
}
