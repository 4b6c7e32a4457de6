package pubsub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// wait bounds every wait for something that should happen at once; it only matters when a
// test fails.
const wait = 10 * time.Second

// startHub runs a hub on pool until the test ends and waits until it listens. The cleanup
// waits for Run to return, so nothing the hub does outlives the test (or its database).
func startHub(t testing.TB, pool *pgxpool.Pool, opts pubsub.Options) *pubsub.Hub {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	h := pubsub.New(pool, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-h.Ready():
	case <-time.After(wait):
		t.Fatal("hub not listening")
	}
	return h
}

func event(user uuid.UUID, kind, topic, id string) pubsub.Event {
	return pubsub.Event{Kind: kind, UserID: user, Topic: topic, ID: id}
}

func publish(t testing.TB, db pubsub.Execer, ev pubsub.Event) {
	t.Helper()
	if err := pubsub.Publish(context.Background(), db, ev); err != nil {
		t.Fatalf("publish %s: %v", ev.ID, err)
	}
}

// recv returns s's next event, failing the test if none comes or s ended.
func recv(t testing.TB, s *pubsub.Subscription) pubsub.Event {
	t.Helper()
	select {
	case ev, ok := <-s.C():
		if !ok {
			t.Fatalf("subscription ended: %v", s.Err())
		}
		return *ev
	case <-time.After(wait):
		t.Fatal("no event")
	}
	panic("unreachable")
}

// expectID receives s's next event and checks its ID: since delivery follows commit order,
// this also proves that nothing (say, a rolled-back event) came before it.
func expectID(t testing.TB, s *pubsub.Subscription, id string) pubsub.Event {
	t.Helper()
	ev := recv(t, s)
	if ev.ID != id {
		t.Fatalf("got event %q (%+v), want %q", ev.ID, ev, id)
	}
	return ev
}

func expectEmpty(t testing.TB, s *pubsub.Subscription) {
	t.Helper()
	if n := len(s.C()); n != 0 {
		t.Fatalf("%d unexpected events buffered; first %+v", n, <-s.C())
	}
}

// drainEnded reads what s had buffered and checks that s then ended with want.
func drainEnded(t testing.TB, s *pubsub.Subscription, want error) []pubsub.Event {
	t.Helper()
	var got []pubsub.Event
	timeout := time.After(wait)
	for {
		select {
		case ev, ok := <-s.C():
			if !ok {
				if err := s.Err(); !errors.Is(err, want) || (want == nil && err != nil) {
					t.Fatalf("ended with %v, want %v", err, want)
				}
				return got
			}
			got = append(got, *ev)
		case <-timeout:
			t.Fatal("subscription did not end")
		}
	}
}

// Two hubs stand for two server instances on one database: an event published by anyone
// reaches the subscribers of both.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	a, b := startHub(t, pool, pubsub.Options{}), startHub(t, pool, pubsub.Options{})
	user := uuid.New()
	sa, sb := a.Subscribe(user, nil), b.Subscribe(user, nil)

	want := pubsub.Event{Kind: pubsub.KindChunk, UserID: user, Topic: "thread-1", ID: "msg-1", Seq: 7,
		Data: json.RawMessage(`{"delta":"<b>héllo</b> & bye","done":false}`)}
	publish(t, pool, want)
	for name, s := range map[string]*pubsub.Subscription{"a": sa, "b": sb} {
		got := recv(t, s)
		if got.Kind != want.Kind || got.UserID != want.UserID || got.Topic != want.Topic || got.ID != want.ID ||
			got.Seq != want.Seq || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("hub %s: got %+v (data %s), want %+v (data %s)", name, got, got.Data, want, want.Data)
		}
	}

	// The wire format is the short JSON keys: a plain NOTIFY from SQL (a trigger, psql) is
	// delivered too.
	if _, err := pool.Exec(ctx, fmt.Sprintf(`notify %s, '{"k":"feed","u":"%s","t":"","i":"42"}'`, pubsub.Channel, user)); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*pubsub.Subscription{sa, sb} {
		if got := expectID(t, s, "42"); got.Kind != "feed" || got.UserID != user || got.Topic != "" || got.Seq != 0 || got.Data != nil {
			t.Errorf("raw notify: got %+v", got)
		}
	}
	eventually(t, func() bool { return a.Delivered() == 2 && b.Delivered() == 2 })
	if a.Subscribers() != 1 {
		t.Errorf("Subscribers = %d, want 1", a.Subscribers())
	}
}

// A subscription sees only its own user's events, even with a match func that accepts
// everything; match only narrows within the user's events.
func TestUserIsolation(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	h := startHub(t, pool, pubsub.Options{})
	alice, bob := uuid.New(), uuid.New()
	bobAll := h.Subscribe(bob, func(*pubsub.Event) bool { return true })
	aliceAll := h.Subscribe(alice, nil)
	aliceT2 := h.Subscribe(alice, func(ev *pubsub.Event) bool { return ev.Topic == "t2" })

	publish(t, pool, event(alice, pubsub.KindMessage, "t1", "a1"))
	publish(t, pool, event(alice, pubsub.KindMessage, "t2", "a2"))
	publish(t, pool, event(alice, pubsub.KindMessage, "t2", "a3"))
	publish(t, pool, event(bob, pubsub.KindMessage, "t1", "b1"))

	// Bob's first event is his own: alice's, committed before it, were never delivered.
	expectID(t, bobAll, "b1")
	expectEmpty(t, bobAll)
	for _, id := range []string{"a1", "a2", "a3"} {
		expectID(t, aliceAll, id)
	}
	expectID(t, aliceT2, "a2")
	expectID(t, aliceT2, "a3")
	// aliceAll and aliceT2 got everything up to after bob's event was dispatched.
	expectEmpty(t, aliceAll)
	expectEmpty(t, aliceT2)
}

// Events arrive in the order they were committed: one publisher's sequence in order, and
// concurrent publishers' sequences each in order.
func TestOrder(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	h := startHub(t, pool, pubsub.Options{Buffer: 2048})
	user := uuid.New()
	s := h.Subscribe(user, nil)

	const n = 1000
	for i := range n {
		publish(t, pool, pubsub.Event{Kind: pubsub.KindChunk, UserID: user, Topic: "seq", ID: "m", Seq: int64(i)})
	}
	for i := range n {
		if ev := recv(t, s); ev.Seq != int64(i) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
	}

	// Four threads streamed at once, each from its own connection: interleaved between
	// threads, in order within each.
	const threads, per = 4, 250
	var wg sync.WaitGroup
	errs := make(chan error, threads)
	for th := range threads {
		wg.Go(func() {
			for i := range per {
				ev := pubsub.Event{Kind: pubsub.KindChunk, UserID: user, Topic: fmt.Sprint("thread-", th), ID: "m", Seq: int64(i)}
				if err := pubsub.Publish(context.Background(), pool, ev); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	next := map[string]int64{}
	for range threads * per {
		ev := recv(t, s)
		if ev.Seq != next[ev.Topic] {
			t.Fatalf("%s: got seq %d, want %d", ev.Topic, ev.Seq, next[ev.Topic])
		}
		next[ev.Topic]++
	}
	expectEmpty(t, s)
}

// NOTIFY is transactional, in a pgx.Tx and in a batch: delivered on commit, never on
// rollback.
func TestTransactional(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	h := startHub(t, pool, pubsub.Options{})
	user := uuid.New()
	s := h.Subscribe(user, nil)

	t.Run("rollback", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		publish(t, tx, event(user, pubsub.KindMessage, "t", "rolled-back"))
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		publish(t, pool, event(user, pubsub.KindMessage, "t", "marker-1"))
		expectID(t, s, "marker-1")
	})

	t.Run("commit", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
		publish(t, tx, event(user, pubsub.KindMessage, "t", "committed"))
		// Committed after tx's NOTIFY was queued but before tx commits, so delivered first:
		// tx's event waits for its commit.
		publish(t, pool, event(user, pubsub.KindMessage, "t", "marker-2"))
		expectID(t, s, "marker-2")
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		expectID(t, s, "committed")
	})

	t.Run("batch", func(t *testing.T) {
		b := &pgx.Batch{}
		for _, id := range []string{"batch-1", "batch-2"} {
			if err := pubsub.Notify(b, event(user, pubsub.KindFeed, "", id)); err != nil {
				t.Fatal(err)
			}
		}
		b.Queue(`select 1`)
		if err := pool.SendBatch(ctx, b).Close(); err != nil {
			t.Fatal(err)
		}
		expectID(t, s, "batch-1")
		expectID(t, s, "batch-2")

		// A failing statement later in the batch aborts its implicit transaction, NOTIFY
		// included.
		b = &pgx.Batch{}
		if err := pubsub.Notify(b, event(user, pubsub.KindFeed, "", "batch-failed")); err != nil {
			t.Fatal(err)
		}
		b.Queue(`select 1/0`)
		if err := pool.SendBatch(ctx, b).Close(); err == nil {
			t.Fatal("batch with 1/0 succeeded")
		}
		publish(t, pool, event(user, pubsub.KindMessage, "t", "marker-3"))
		expectID(t, s, "marker-3")
	})

	t.Run("identical events in one transaction are folded", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
		same := event(user, pubsub.KindMessage, "t", "same")
		publish(t, tx, same)
		publish(t, tx, same)
		publish(t, tx, event(user, pubsub.KindMessage, "t", "different"))
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		publish(t, pool, event(user, pubsub.KindMessage, "t", "marker-4"))
		expectID(t, s, "same")
		expectID(t, s, "different")
		expectID(t, s, "marker-4")
	})
}

// A subscriber that stops reading is ended once its buffer is full; another subscriber of the
// same user keeps receiving everything.
func TestSlowSubscriber(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	h := startHub(t, pool, pubsub.Options{Buffer: 4})
	user := uuid.New()
	slow := h.Subscribe(user, nil)
	fast := h.Subscribe(user, nil)

	// Lockstep: the next event is published only once fast has read the previous one, so
	// fast never holds more than one event however loaded the machine is.
	for i := range 10 {
		publish(t, pool, pubsub.Event{Kind: pubsub.KindChunk, UserID: user, Topic: "t", ID: "m", Seq: int64(i)})
		if ev := recv(t, fast); ev.Seq != int64(i) {
			t.Fatalf("fast: got seq %d, want %d", ev.Seq, i)
		}
	}

	got := drainEnded(t, slow, pubsub.ErrSlowSubscriber)
	if len(got) != 4 {
		t.Fatalf("slow subscriber got %d events before ending, want the 4 it buffered", len(got))
	}
	for i, ev := range got {
		if ev.Seq != int64(i) {
			t.Errorf("slow: event %d has seq %d", i, ev.Seq)
		}
	}
	// Delivered is added once per event, after its fan-out, so it may trail what fast
	// has already read by a moment.
	eventually(t, func() bool { return h.Delivered() == 14 })
	if fast.Err() != nil || h.Dropped() != 1 || h.Subscribers() != 1 {
		t.Errorf("fast err %v, dropped %d, subscribers %d; want nil, 1, 1", fast.Err(), h.Dropped(), h.Subscribers())
	}
	slow.Close() // harmless after it ended, and keeps its reason
	if !errors.Is(slow.Err(), pubsub.ErrSlowSubscriber) {
		t.Errorf("after Close: %v", slow.Err())
	}
}

// After the listening backend is terminated the hub reconnects and LISTENs again; an open
// subscription keeps receiving.
func TestReconnect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	reconnected := make(chan struct{}, 1)
	h := startHub(t, pool, pubsub.Options{
		ReconnectMin: 10 * time.Millisecond,
		OnReconnect: func() {
			select {
			case reconnected <- struct{}{}:
			default:
			}
		},
	})
	user := uuid.New()
	s := h.Subscribe(user, nil)
	publish(t, pool, event(user, pubsub.KindMessage, "t", "before"))
	expectID(t, s, "before")

	// Other tests' listeners have the same application_name, on their own databases.
	listener := func() uint32 {
		t.Helper()
		rows, _ := pool.Query(ctx, `select pid from pg_stat_activity where application_name = $1 and datname = current_database()`,
			pubsub.ApplicationName)
		pids, err := pgx.CollectRows(rows, pgx.RowTo[uint32])
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) != 1 {
			t.Fatalf("%d listening backends, want 1", len(pids))
		}
		return pids[0]
	}
	old := listener()
	var killed bool
	if err := pool.QueryRow(ctx, `select pg_terminate_backend($1)`, old).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate listener: %v, %v", killed, err)
	}

	select {
	case <-reconnected:
	case <-time.After(wait):
		t.Fatal("no reconnect")
	}
	if pid := listener(); pid == old {
		t.Fatalf("listener pid unchanged: %d", pid)
	}
	if h.Reconnections() != 1 {
		t.Errorf("Reconnections = %d, want 1", h.Reconnections())
	}
	publish(t, pool, event(user, pubsub.KindMessage, "t", "after"))
	expectID(t, s, "after")
	if s.Err() != nil {
		t.Errorf("subscription error: %v", s.Err())
	}
}

// While Postgres cannot be reached Run keeps retrying, and still returns as soon as ctx ends.
func TestRunRetriesUntilCanceled(t *testing.T) {
	t.Parallel()
	// Port 1 refuses connections at once. pgxpool.New does not connect.
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var logs syncBuffer
	h := pubsub.New(pool, pubsub.Options{
		Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
		ReconnectMin: time.Millisecond, ReconnectMax: 4 * time.Millisecond,
	})
	s := h.Subscribe(uuid.New(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()

	deadline := time.Now().Add(wait)
	for strings.Count(logs.String(), "retrying") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no retries logged:\n%s", logs.String())
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-h.Ready():
		t.Fatal("Ready without a connection")
	default:
	}
	if !strings.Contains(logs.String(), "retry_in=") || !strings.Contains(logs.String(), "attempt=") {
		t.Errorf("retry log lacks key-values:\n%s", logs.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return")
	}
	drainEnded(t, s, pubsub.ErrHubStopped)
}

func TestPayloadLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	h := startHub(t, pool, pubsub.Options{})
	user := uuid.New()
	s := h.Subscribe(user, nil)

	// withSize returns an event whose JSON is exactly size bytes.
	withSize := func(size int) pubsub.Event {
		ev := pubsub.Event{Kind: pubsub.KindChunk, UserID: user, Topic: "t", ID: "m", Data: json.RawMessage(`""`)}
		base, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		ev.Data = json.RawMessage(`"` + strings.Repeat("x", size-len(base)) + `"`)
		if b, _ := json.Marshal(ev); len(b) != size {
			t.Fatalf("built %d bytes, want %d", len(b), size)
		}
		return ev
	}

	largest := withSize(pubsub.MaxPayload)
	publish(t, pool, largest)
	if got := recv(t, s); !bytes.Equal(got.Data, largest.Data) {
		t.Errorf("largest event arrived with %d bytes of data, want %d", len(got.Data), len(largest.Data))
	}

	// One byte more and the event travels as parts, and arrives whole
	// (parts_test.go).
	split := withSize(pubsub.MaxPayload + 1)
	publish(t, pool, split)
	if got := recv(t, s); !bytes.Equal(got.Data, split.Data) {
		t.Errorf("split event arrived with %d bytes of data, want %d", len(got.Data), len(split.Data))
	}

	tooLarge := withSize(pubsub.MaxEvent + 1)
	if err := pubsub.Publish(ctx, pool, tooLarge); !errors.Is(err, pubsub.ErrPayloadTooLarge) {
		t.Errorf("Publish: got %v, want ErrPayloadTooLarge", err)
	}
	b := &pgx.Batch{}
	if err := pubsub.Notify(b, tooLarge); !errors.Is(err, pubsub.ErrPayloadTooLarge) || b.Len() != 0 {
		t.Errorf("Notify: got %v with %d queued, want ErrPayloadTooLarge and nothing queued", err, b.Len())
	}

	// MaxPayload is Postgres's own limit: one byte more and pg_notify itself refuses.
	if _, err := pool.Exec(ctx, `select pg_notify($1, $2)`, "limit_probe", strings.Repeat("x", pubsub.MaxPayload)); err != nil {
		t.Errorf("pg_notify of MaxPayload bytes: %v", err)
	}
	_, err := pool.Exec(ctx, `select pg_notify($1, $2)`, "limit_probe", strings.Repeat("x", pubsub.MaxPayload+1))
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "22023" {
		t.Errorf("pg_notify of MaxPayload+1 bytes: got %v, want SQLSTATE 22023", err)
	}

	if err := pubsub.Publish(ctx, pool, pubsub.Event{Kind: pubsub.KindFeed, ID: "x"}); !errors.Is(err, pubsub.ErrNoUser) {
		t.Errorf("event without user: got %v, want ErrNoUser", err)
	}
	if err := pubsub.Publish(ctx, pool, pubsub.Event{UserID: user, Data: json.RawMessage(`{`)}); err == nil {
		t.Error("event with invalid Data: no error")
	}
}

// Notifications on the channel that are not events are logged and skipped; the hub goes on.
func TestMalformedPayloads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	var logs syncBuffer
	h := startHub(t, pool, pubsub.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	user := uuid.New()
	s := h.Subscribe(user, func(*pubsub.Event) bool { return true })

	bad := []string{
		"secret message text",
		"",
		`{"k":"feed","i":"no-user"}`,
		`{"k":"feed","u":"not-a-uuid"}`,
		`{"k":"feed","u":5}`,
		`[1,2,3]`,
	}
	for _, p := range bad {
		if _, err := pool.Exec(ctx, `select pg_notify($1, $2)`, pubsub.Channel, p); err != nil {
			t.Fatal(err)
		}
	}
	publish(t, pool, event(user, pubsub.KindFeed, "", "good"))
	expectID(t, s, "good")
	if h.Malformed() != int64(len(bad)) {
		t.Errorf("Malformed = %d, want %d", h.Malformed(), len(bad))
	}
	out := logs.String()
	if strings.Count(out, "skipping malformed event") != len(bad) {
		t.Errorf("want %d malformed-event log lines:\n%s", len(bad), out)
	}
	if strings.Contains(out, "secret") {
		t.Errorf("a payload was logged:\n%s", out)
	}
}

// Closing a subscription and stopping the hub close the channels and leave no goroutine
// behind. Not parallel: it counts the process's goroutines, which parallel tests would change.
func TestShutdown(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	if err := pool.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()

	h := pubsub.New(pool, pubsub.Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.Run(runCtx) }()
	select {
	case <-h.Ready():
	case <-time.After(wait):
		t.Fatal("not ready")
	}
	if err := h.Run(ctx); err == nil {
		t.Error("second Run: no error")
	}

	alice, bob := uuid.New(), uuid.New()
	closed := h.Subscribe(alice, nil)
	a1, a2, b1 := h.Subscribe(alice, nil), h.Subscribe(alice, nil), h.Subscribe(bob, nil)
	if h.Subscribers() != 4 {
		t.Errorf("Subscribers = %d, want 4", h.Subscribers())
	}
	closed.Close()
	closed.Close()
	drainEnded(t, closed, nil)
	if h.Subscribers() != 3 {
		t.Errorf("after Close: Subscribers = %d, want 3", h.Subscribers())
	}
	publish(t, pool, event(alice, pubsub.KindFeed, "", "x"))
	expectID(t, a1, "x")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return after cancel")
	}
	if got := drainEnded(t, a2, pubsub.ErrHubStopped); len(got) != 1 {
		t.Errorf("a2 buffered %d events, want 1", len(got))
	}
	drainEnded(t, a1, pubsub.ErrHubStopped)
	drainEnded(t, b1, pubsub.ErrHubStopped)
	late := h.Subscribe(bob, nil)
	drainEnded(t, late, pubsub.ErrHubStopped)
	late.Close()
	if h.Subscribers() != 0 {
		t.Errorf("after stop: Subscribers = %d", h.Subscribers())
	}

	// The listener's goroutines (pgx's context watchers) end with its connection; allow
	// a moment and a little slack for the runtime's own.
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > before+1 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Subscribing, closing and being dropped race with dispatch without breaking order or the
// count (run with -race). No Postgres: events are dispatched directly. The small buffer makes
// many subscriptions end as slow while others close themselves.
func TestConcurrentSubscribeClose(t *testing.T) {
	t.Parallel()
	h := pubsub.New(nil, pubsub.Options{Buffer: 8, Logger: slog.New(slog.DiscardHandler)})
	users := []uuid.UUID{uuid.New(), uuid.New()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			user := users[i%len(users)]
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := h.Subscribe(user, nil)
				last := int64(-1)
				for range 3 {
					ev, ok := <-s.C()
					if !ok {
						break
					}
					if ev.UserID != user || ev.Seq <= last {
						t.Errorf("got %+v after seq %d", ev, last)
					}
					last = ev.Seq
				}
				s.Close()
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	// Dispatch until every subscriber goroutine has left: one may still be waiting for
	// events after stop.
	for i := 0; ; i++ {
		if i == 50000 {
			close(stop)
		}
		select {
		case <-finished:
			if h.Subscribers() != 0 {
				t.Errorf("subscribers %d after all closed", h.Subscribers())
			}
			t.Logf("%d events, %d delivered, %d subscriptions dropped", i, h.Delivered(), h.Dropped())
			return
		default:
		}
		h.Dispatch(pubsub.Event{Kind: pubsub.KindChunk, UserID: users[i%len(users)], Seq: int64(i)})
	}
}

// eventually waits for cond, failing the test if it does not hold within wait.
func eventually(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the hub's goroutine to log into while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A connection that goes silent (a network partition: no FIN, no RST, just nothing) is
// noticed by the ping after PingInterval of quiet, and replaced.
func TestSilentConnectionLoss(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	proxy := newBlackholeProxy(t, pool.Config().ConnConfig.Host, pool.Config().ConnConfig.Port)
	cfg := pool.Config()
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = "127.0.0.1", proxy.port()
	viaProxy, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(viaProxy.Close)

	reconnected := make(chan struct{}, 1)
	h := startHub(t, viaProxy, pubsub.Options{
		PingInterval: 100 * time.Millisecond,
		ReconnectMin: 10 * time.Millisecond,
		OnReconnect: func() {
			select {
			case reconnected <- struct{}{}:
			default:
			}
		},
	})
	user := uuid.New()
	s := h.Subscribe(user, nil)
	// Several quiet rounds with good pings change nothing.
	time.Sleep(350 * time.Millisecond)
	publish(t, pool, event(user, pubsub.KindFeed, "", "before"))
	expectID(t, s, "before")
	if h.Reconnections() != 0 {
		t.Fatalf("reconnected %d times on a healthy connection", h.Reconnections())
	}

	proxy.blackholeExisting()
	select {
	case <-reconnected:
	case <-time.After(wait):
		t.Fatal("silent connection not replaced")
	}
	publish(t, pool, event(user, pubsub.KindFeed, "", "after"))
	expectID(t, s, "after")
}

// blackholeProxy forwards TCP to Postgres until told to make the current connections swallow
// everything in both directions while staying open; later connections work normally.
type blackholeProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []*proxied
}

type proxied struct {
	client, server net.Conn
	dead           atomic.Bool
}

func newBlackholeProxy(t *testing.T, host string, port uint16) *blackholeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &blackholeProxy{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.client.Close()
			c.server.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
			if err != nil {
				client.Close()
				continue
			}
			c := &proxied{client: client, server: server}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				defer dst.Close()
				defer src.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if err != nil {
						return
					}
					if c.dead.Load() {
						continue // swallowed, like a packet into a partition
					}
					if _, err := dst.Write(buf[:n]); err != nil {
						return
					}
				}
			}
			wg.Go(func() { pipe(server, client) })
			wg.Go(func() { pipe(client, server) })
		}
	})
	return p
}

func (p *blackholeProxy) port() uint16 { return uint16(p.ln.Addr().(*net.TCPAddr).Port) }

func (p *blackholeProxy) blackholeExisting() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.dead.Store(true)
	}
}
