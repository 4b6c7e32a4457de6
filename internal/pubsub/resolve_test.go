package pubsub_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// Resolve loads an event's row once per instance, only for users with
// subscribers here, and every subscriber sees the same row; an event whose
// row is gone (Skip) is dropped, the next still delivered.
func TestResolveOncePerEvent(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	var mu sync.Mutex
	var resolved []string
	h := startHub(t, pool, pubsub.Options{Resolve: func(_ context.Context, evs []*pubsub.Event) ([]any, error) {
		rows := make([]any, len(evs))
		mu.Lock()
		defer mu.Unlock()
		for i, ev := range evs {
			resolved = append(resolved, ev.ID)
			rows[i] = "row of " + ev.ID
			if ev.ID == "broken" {
				rows[i] = pubsub.Skip
			}
		}
		return rows, nil
	}})
	user, nobody := uuid.New(), uuid.New()
	a := h.Subscribe(user, nil)
	b := h.Subscribe(user, nil)
	defer a.Close()
	defer b.Close()

	publish(t, pool, event(nobody, pubsub.KindFeed, "", "unwatched"))
	publish(t, pool, event(user, pubsub.KindFeed, "", "broken"))
	publish(t, pool, event(user, pubsub.KindFeed, "", "e1"))
	for _, s := range []*pubsub.Subscription{a, b} {
		select {
		case ev := <-s.C():
			if ev.ID != "e1" || ev.Row != "row of e1" {
				t.Fatalf("got %s with row %v, want e1 with its row", ev.ID, ev.Row)
			}
		case <-time.After(wait):
			t.Fatal("no event")
		}
	}
	// broken and e1 resolved once each; nobody has no subscribers here.
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(resolved, ",") != "broken,e1" {
		t.Fatalf("resolved %v, want [broken e1]", resolved)
	}
}

// Events that arrive together are resolved together: while one Resolve
// call loads its rows (a round trip, 5ms here), the next events gather, so
// 100 events committed at once cost a few calls, not 100, and keep their
// order.
func TestResolveBatches(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	var calls atomic.Int64
	h := startHub(t, pool, pubsub.Options{Resolve: func(_ context.Context, evs []*pubsub.Event) ([]any, error) {
		calls.Add(1)
		time.Sleep(5 * time.Millisecond)
		rows := make([]any, len(evs))
		for i, ev := range evs {
			rows[i] = ev.ID
		}
		return rows, nil
	}, Buffer: 1000})
	user := uuid.New()
	s := h.Subscribe(user, nil)
	defer s.Close()

	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := range n {
		publish(t, tx, event(user, pubsub.KindFeed, "", strconv.Itoa(i)))
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if ev := recv(t, s); ev.ID != strconv.Itoa(i) || ev.Row != ev.ID {
			t.Fatalf("event %d: got %s with row %v", i, ev.ID, ev.Row)
		}
	}
	if c := calls.Load(); c > n/4 {
		t.Fatalf("%d Resolve calls for %d events arriving together", c, n)
	}
	t.Logf("%d events in %d Resolve calls", n, calls.Load())
}

// An error from Resolve drops its batch; later events still arrive.
func TestResolveError(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	h := startHub(t, pool, pubsub.Options{Resolve: func(_ context.Context, evs []*pubsub.Event) ([]any, error) {
		if evs[0].ID == "fails" {
			return nil, errors.New("database down")
		}
		return make([]any, len(evs)), nil
	}})
	user := uuid.New()
	s := h.Subscribe(user, nil)
	defer s.Close()
	publish(t, pool, event(user, pubsub.KindFeed, "", "fails"))
	time.Sleep(50 * time.Millisecond) // let the failing batch pass alone
	publish(t, pool, event(user, pubsub.KindFeed, "", "ok"))
	expectID(t, s, "ok")
}

// SubscribeFunc delivers on the hub's goroutine; a deliver that refuses an
// event ends the subscription as slow, and ended hears why, once.
func TestSubscribeFunc(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	h := startHub(t, pool, pubsub.Options{})
	user := uuid.New()
	got := make(chan string, 2)
	ended := make(chan error, 2)
	sub := h.SubscribeFunc(user, func(ev *pubsub.Event) bool { return ev.Topic == "t" },
		func(ev *pubsub.Event) bool {
			select {
			case got <- ev.ID:
				return true
			default:
				return false
			}
		}, func(err error) { ended <- err })

	publish(t, pool, event(user, pubsub.KindChunk, "other", "skipped"))
	for _, id := range []string{"1", "2", "3"} {
		publish(t, pool, event(user, pubsub.KindChunk, "t", id))
	}
	select {
	case err := <-ended:
		if !errors.Is(err, pubsub.ErrSlowSubscriber) {
			t.Fatalf("ended with %v, want ErrSlowSubscriber", err)
		}
	case <-time.After(wait):
		t.Fatal("subscription not ended")
	}
	if first, second := <-got, <-got; first != "1" || second != "2" {
		t.Fatalf("delivered %s, %s; want 1, 2", first, second)
	}
	sub.Close()
	select {
	case err := <-ended:
		t.Fatalf("ended called again with %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if !errors.Is(sub.Err(), pubsub.ErrSlowSubscriber) {
		t.Fatalf("Err() = %v", sub.Err())
	}
}

// A Resolve that fails twice (the pool exhausted for a moment) and then
// succeeds: every event is delivered, in order, none dropped.
func TestResolveRetries(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	var calls atomic.Int64
	h := startHub(t, pool, pubsub.Options{Resolve: func(_ context.Context, evs []*pubsub.Event) ([]any, error) {
		if calls.Add(1) <= 2 {
			return nil, errors.New("pool exhausted")
		}
		rows := make([]any, len(evs))
		for i, ev := range evs {
			rows[i] = "row of " + ev.ID
		}
		return rows, nil
	}})
	user := uuid.New()
	s := h.Subscribe(user, nil)
	defer s.Close()
	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		publish(t, tx, event(user, pubsub.KindFeed, "", strconv.Itoa(i)))
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	publish(t, pool, event(user, pubsub.KindFeed, "", "10"))
	for i := range 11 {
		if ev := recv(t, s); ev.ID != strconv.Itoa(i) || ev.Row != "row of "+ev.ID {
			t.Fatalf("event %d: got %s with row %v", i, ev.ID, ev.Row)
		}
	}
	if c, d := calls.Load(), h.ResolveDropped(); c < 3 || d != 0 {
		t.Errorf("%d Resolve calls, %d events dropped; want 3 or more, 0", c, d)
	}
}

// A Resolve that keeps failing is given up after a bounded number of
// attempts within seconds: the batch is dropped and counted, and events
// after it are delivered once loading works again.
func TestResolveGivesUp(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	var failing atomic.Bool
	failing.Store(true)
	var calls atomic.Int64
	h := startHub(t, pool, pubsub.Options{Resolve: func(_ context.Context, evs []*pubsub.Event) ([]any, error) {
		if failing.Load() {
			calls.Add(1)
			return nil, errors.New("database down")
		}
		return make([]any, len(evs)), nil
	}})
	user := uuid.New()
	s := h.Subscribe(user, nil)
	defer s.Close()
	start := time.Now()
	publish(t, pool, event(user, pubsub.KindFeed, "", "lost"))
	eventually(t, func() bool { return h.ResolveDropped() == 1 })
	if took := time.Since(start); took > 9*time.Second {
		t.Errorf("gave up after %v", took)
	}
	if c := calls.Load(); c < 2 || c > 4 {
		t.Errorf("%d attempts, want 2 to 4", c)
	}
	failing.Store(false)
	publish(t, pool, event(user, pubsub.KindFeed, "", "ok"))
	expectID(t, s, "ok")
	expectEmpty(t, s)
}
