package pubsub_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// Resolve loads an event's row once per instance, only for users with
// subscribers here, and every subscriber sees the same row; an event whose
// row fails to load is skipped, the next still delivered.
func TestResolveOncePerEvent(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	var calls atomic.Int64
	h := startHub(t, pool, pubsub.Options{Resolve: func(_ context.Context, ev *pubsub.Event) (any, error) {
		calls.Add(1)
		if ev.ID == "broken" {
			return nil, errors.New("no such row")
		}
		return "row of " + ev.ID, nil
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
	if n := calls.Load(); n != 2 {
		t.Fatalf("Resolve called %d times, want 2", n)
	}
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
