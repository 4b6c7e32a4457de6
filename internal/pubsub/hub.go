package pubsub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// listen opens the listening connection and LISTENs on it. It uses its own connection, made
// from a copy of the pool's configuration, rather than hijacking a pooled one: a listener lives
// for the whole process and should neither wait for a free pool slot when reconnecting under
// load nor inherit a pooled connection's age. The pool's BeforeConnect and AfterConnect hooks
// are not run on it.
func (h *Hub) listen(ctx context.Context) (*pgx.Conn, error) {
	// Connecting and LISTEN are bounded even if the configuration sets no connect timeout, so
	// that a server that accepts TCP but never answers cannot stall reconnection forever.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cfg := h.pool.Config().ConnConfig // a copy
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = ApplicationName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "listen "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		closeConn(ctx, conn)
		return nil, fmt.Errorf("listen: %w", err)
	}
	return conn, nil
}

// closeConn closes the listening connection politely (Terminate) if that is quick, and
// abruptly otherwise; ctx may already be done, the close happens regardless.
func closeConn(ctx context.Context, conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = conn.Close(ctx) // the connection is abandoned either way: nothing to do with an error
}

// serve reads notifications from conn and dispatches each before reading the next, until
// the connection fails or ctx ends. Dispatching never blocks, so reading inline keeps NOTIFY
// order without a queue in between.
func (h *Hub) serve(ctx context.Context, conn *pgx.Conn) error {
	for {
		// One timer per quiet period rather than one per notification: a round lasts
		// PingInterval, and the connection is pinged only if the round brought nothing.
		round, cancel := context.WithTimeout(ctx, h.opts.PingInterval)
		heard := false
		var err error
		for {
			var n *pgconn.Notification
			n, err = conn.WaitForNotification(round)
			if n != nil {
				heard = true
				h.handle(n)
			}
			if err != nil {
				break
			}
		}
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case round.Err() == nil || conn.IsClosed():
			// Not the round's deadline: the connection broke.
			return fmt.Errorf("wait for notification: %w", err)
		}
		// The round's deadline interrupted the wait; pgx leaves the connection usable
		// after a deadline (its default context watcher sets a read deadline, which a
		// later call clears).
		if !heard {
			pingCtx, cancel := context.WithTimeout(ctx, h.opts.PingInterval)
			perr := conn.Ping(pingCtx)
			cancel()
			if perr != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("ping: %w", perr)
			}
		}
	}
}

// handle decodes one notification and dispatches it. A payload that is not an Event (another
// program NOTIFYing on our channel, a version skew) is logged without its content, which may
// be message text, and skipped.
func (h *Hub) handle(n *pgconn.Notification) {
	if ev := h.decode(n); ev != nil {
		h.inbox <- inboxItem{ev: ev}
	}
}

// decode returns the event a notification carries, or nil for one to skip.
func (h *Hub) decode(n *pgconn.Notification) *Event {
	if n.Channel != Channel {
		return nil
	}
	if strings.HasSuffix(n.Payload, h.originTag) {
		return nil // Stream delivered it here already; skip decoding it
	}
	var ev Event
	err := json.Unmarshal([]byte(n.Payload), &ev)
	if err == nil && ev.UserID == uuid.Nil {
		err = ErrNoUser
	}
	if err != nil {
		h.malformed.Add(1)
		h.log.Warn("pubsub: skipping malformed event", "err", err, "bytes", len(n.Payload), "sender_pid", n.PID)
		return nil
	}
	if ev.Origin == h.instance {
		return nil // Stream delivered it here already
	}
	if ev.Kind == kindPart {
		return h.assemble(&ev, n.PID)
	}
	return &ev
}

// inboxItem is a decoded event, or (ev nil) the moment the listening
// connection was re-established, for OnReconnect to run in order.
type inboxItem struct {
	ev *Event
}

// dispatchLoop takes what the listening goroutine decoded, in order, and
// handles whatever has queued up together: while it loads one batch's rows,
// the next batch gathers.
func (h *Hub) dispatchLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	batch := make([]inboxItem, 0, maxBatch)
	for it := range h.inbox {
		batch = append(batch[:0], it)
	gather:
		for len(batch) < maxBatch {
			select {
			case it, ok := <-h.inbox:
				if !ok {
					break gather
				}
				batch = append(batch, it)
			default:
				break gather
			}
		}
		h.process(ctx, batch)
		clear(batch)
	}
}

// process resolves and dispatches a batch, running OnReconnect where a
// reconnection happened.
func (h *Hub) process(ctx context.Context, batch []inboxItem) {
	evs := make([]*Event, 0, len(batch))
	for _, it := range batch {
		if it.ev != nil {
			evs = append(evs, it.ev)
			continue
		}
		h.resolveAndDispatch(ctx, evs)
		evs = evs[:0]
		if h.opts.OnReconnect != nil {
			h.opts.OnReconnect()
		}
	}
	h.resolveAndDispatch(ctx, evs)
}

// resolveAndDispatch loads the rows of evs whose users have subscribers
// here, in one Resolve call, then dispatches them in order.
func (h *Hub) resolveAndDispatch(ctx context.Context, evs []*Event) {
	if h.opts.Resolve == nil {
		for _, ev := range evs {
			h.dispatch(ev)
		}
		return
	}
	// Events of users without subscribers here would reach nobody: they are
	// neither loaded nor dispatched.
	var need []*Event
	for _, ev := range evs {
		if h.hasSubscribers(ev.UserID) {
			need = append(need, ev)
		}
	}
	if len(need) == 0 {
		return
	}
	rows, err := h.resolve(ctx, need)
	if err != nil {
		if ctx.Err() != nil {
			return // the hub is stopping: its subscriptions end
		}
		h.resolveDropped.Add(int64(len(need)))
		h.log.Warn("pubsub: dropping events whose rows could not be loaded", "events", len(need), "err", err)
		return
	}
	for i, ev := range need {
		if rows[i] == Skip {
			h.log.Warn("pubsub: skipping event whose row is gone", "kind", ev.Kind, "id", ev.ID)
			continue
		}
		ev.Row = rows[i]
		h.dispatch(ev)
	}
}

// hasSubscribers reports whether user has subscriptions on this instance.
func (h *Hub) hasSubscribers(user uuid.UUID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.users[user]) > 0
}

// dispatch offers ev to each matching subscription of its user, without ever waiting.
func (h *Hub) dispatch(ev *Event) {
	if ev.local == nil {
		ev.local = &locals{}
	}
	h.mu.Lock()
	subs := h.users[ev.UserID]
	h.mu.Unlock()

	var delivered int64
	for _, s := range subs {
		if s.match != nil && !s.match(ev) {
			continue
		}
		sent, ended := s.offer(ev)
		if sent {
			delivered++
		}
		if ended {
			h.dropped.Add(1)
			h.remove(s)
			h.log.Warn("pubsub: ending slow subscription", "user", ev.UserID, "kind", ev.Kind)
		}
	}
	h.delivered.Add(delivered)
}

// Subscribe returns a subscription to user's events for which match returns true (all of
// them if match is nil). The hub delivers only user's events, whatever match says. match runs
// on the hub's dispatching goroutine for each of user's events: it must be quick, must not
// block, and must not modify the event.
func (h *Hub) Subscribe(user uuid.UUID, match func(*Event) bool) *Subscription {
	s := &Subscription{hub: h, user: user, match: match}
	h.subscribers.Add(1)
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		s.ch = make(chan *Event)
		s.end(ErrHubStopped)
		return s
	}
	s.ch = make(chan *Event, h.opts.Buffer)
	old := h.users[user]
	subs := make([]*Subscription, len(old), len(old)+1)
	copy(subs, old)
	h.users[user] = append(subs, s)
	h.mu.Unlock()
	return s
}

// SubscribeFunc is Subscribe for a subscriber that takes events on the hub's
// goroutine instead of from C: deliver must not block, and returns false when
// it cannot take the event (its own buffer is full), which ends the
// subscription with ErrSlowSubscriber. ended is called once, when the
// subscription ends, with Err's value. It saves a subscriber the goroutine
// that would relay C into its own channel.
func (h *Hub) SubscribeFunc(user uuid.UUID, match func(*Event) bool, deliver func(*Event) bool, ended func(error)) *Subscription {
	s := &Subscription{hub: h, user: user, match: match, deliver: deliver, onEnd: ended}
	h.subscribers.Add(1)
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		s.end(ErrHubStopped)
		return s
	}
	old := h.users[user]
	subs := make([]*Subscription, len(old), len(old)+1)
	copy(subs, old)
	h.users[user] = append(subs, s)
	h.mu.Unlock()
	return s
}

// remove takes s out of the dispatch map. It is a no-op if s is not there (already removed,
// or the hub stopped).
func (h *Hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.users[s.user]
	for i, x := range old {
		if x != s {
			continue
		}
		if len(old) == 1 {
			delete(h.users, s.user)
			return
		}
		subs := make([]*Subscription, 0, len(old)-1)
		subs = append(subs, old[:i]...)
		h.users[s.user] = append(subs, old[i+1:]...)
		return
	}
}

// stop ends every subscription and refuses new ones; Run calls it on its way out.
func (h *Hub) stop() {
	h.mu.Lock()
	if !h.stopped {
		close(h.done)
	}
	h.stopped = true
	users := h.users
	h.users = nil
	h.mu.Unlock()
	for _, subs := range users {
		for _, s := range subs {
			s.end(ErrHubStopped)
		}
	}
}

// Subscription is one subscriber's view of its user's events.
type Subscription struct {
	hub   *Hub
	user  uuid.UUID
	match func(*Event) bool
	ch    chan *Event // nil for SubscribeFunc

	deliver func(*Event) bool // SubscribeFunc's
	onEnd   func(error)

	// mu orders sends on ch against closing it: every send and the close happen under mu,
	// so a send never meets a closed channel and the close happens once.
	mu    sync.Mutex
	ended bool
	err   error
}

// C delivers the events, in commit order. An event is shared by every
// subscription it reaches (a pointer keeps each buffer slot at 8 bytes: 10,000
// idle subscriptions would otherwise hold 250 MB of empty slots): never
// modify it. It is closed when the subscription ends; Err then
// says why.
func (s *Subscription) C() <-chan *Event { return s.ch }

// Err is nil while the subscription is open and after Close, ErrSlowSubscriber if it was
// ended for falling behind, and ErrHubStopped if the hub stopped.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription and closes C. It may be called more than once, from any
// goroutine, and after the subscription ended for another reason (which Err keeps).
func (s *Subscription) Close() {
	if s.end(nil) {
		s.hub.remove(s)
	}
}

// offer places ev in the buffer without waiting. If the buffer is full it ends the
// subscription instead (ended reports that this call did).
func (s *Subscription) offer(ev *Event) (sent, ended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false, false
	}
	if s.deliver != nil {
		if s.deliver(ev) {
			return true, false
		}
		s.endLocked(ErrSlowSubscriber)
		return false, true
	}
	select {
	case s.ch <- ev:
		return true, false
	default:
		s.endLocked(ErrSlowSubscriber)
		return false, true
	}
}

// end ends the subscription with err unless it has ended already; it reports whether it did.
func (s *Subscription) end(err error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	s.endLocked(err)
	return true
}

func (s *Subscription) endLocked(err error) {
	s.ended = true
	s.err = err
	if s.ch != nil {
		close(s.ch)
	}
	if s.onEnd != nil {
		s.onEnd(err)
	}
	s.hub.subscribers.Add(-1)
}
