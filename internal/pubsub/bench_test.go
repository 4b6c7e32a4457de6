package pubsub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// BenchmarkFanout measures the in-memory cost of one event on a hub with 10,000 subscriptions
// of 100 users (100 each): what the listening goroutine spends per notification, without
// Postgres. One op is one event; events go to the users in turn. Buffers are the default 256.
//
//   - all: every subscription of the user matches (100 deliveries per event).
//   - decode: the same, starting from the NOTIFY payload (JSON decoding included).
//   - one-topic: each of a user's 100 subscriptions watches its own thread and the event
//     matches one: the cost of the match funcs of a user's other subscriptions.
//   - readers: "all" with a goroutine reading each subscription, so deliveries wake
//     goroutines as they would in the server (dropped subscriptions, if any, are reported).
//   - spread: the same 10,000 subscriptions, one each for 10,000 users.
//
// Custom metric ns/delivery is ns/op divided by the deliveries per event.
func BenchmarkFanout(b *testing.B) {
	const buffer = 256 // Options' default
	for _, bc := range []struct {
		name           string
		users, perUser int
		oneTopic       bool
		decode         bool
		readers        bool
	}{
		{name: "all", users: 100, perUser: 100},
		{name: "decode", users: 100, perUser: 100, decode: true},
		{name: "one-topic", users: 100, perUser: 100, oneTopic: true},
		{name: "readers", users: 100, perUser: 100, readers: true},
		{name: "spread", users: 10000, perUser: 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			users, perUser := bc.users, bc.perUser
			h := pubsub.New(nil, pubsub.Options{Buffer: buffer, Logger: slog.New(slog.DiscardHandler)})
			ids := make([]uuid.UUID, users)
			subs := make([]*pubsub.Subscription, 0, users*perUser)
			for u := range ids {
				ids[u] = uuid.New()
				for j := range perUser {
					var match func(*pubsub.Event) bool
					if bc.oneTopic {
						topic := fmt.Sprint("thread-", j)
						match = func(ev *pubsub.Event) bool { return ev.Topic == topic }
					}
					subs = append(subs, h.Subscribe(ids[u], match))
				}
			}
			events := make([]pubsub.Event, users)
			payloads := make([]string, users)
			for u := range events {
				events[u] = pubsub.Event{Kind: pubsub.KindChunk, UserID: ids[u], Topic: fmt.Sprint("thread-", u%perUser),
					ID: uuid.NewString(), Seq: 42, Data: json.RawMessage(`{"delta":" token","done":false}`)}
				p, err := json.Marshal(events[u])
				if err != nil {
					b.Fatal(err)
				}
				payloads[u] = string(p)
			}
			perEvent := perUser
			if bc.oneTopic {
				perEvent = 1
			}

			var wg sync.WaitGroup
			if bc.readers {
				for _, s := range subs {
					wg.Go(func() {
						for range s.C() {
						}
					})
				}
			}
			// Without readers, buffers are emptied (off the clock) before they could fill:
			// each subscription gets at most one event per round of `users` events.
			drainEvery := users * (buffer - 1)

			b.ResetTimer()
			for i := range b.N {
				if !bc.readers && i > 0 && i%drainEvery == 0 {
					b.StopTimer()
					for _, s := range subs {
						for len(s.C()) > 0 {
							<-s.C()
						}
					}
					b.StartTimer()
				}
				if bc.decode {
					h.HandlePayload(payloads[i%users])
				} else {
					h.Dispatch(events[i%users])
				}
			}
			b.StopTimer()

			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(perEvent), "ns/delivery")
			if bc.readers {
				b.ReportMetric(float64(h.Dropped()), "dropped")
				for _, s := range subs {
					s.Close()
				}
				wg.Wait()
			} else if h.Dropped() != 0 {
				b.Fatalf("%d subscriptions dropped", h.Dropped())
			}
		})
	}
}

// BenchmarkPublishDeliver is the end-to-end path through Postgres on this machine: Publish on
// the pool, then wait until a subscription on the hub has the event. "latency" waits for each
// event before publishing the next; "throughput" publishes from 4 × GOMAXPROCS goroutines (on a pool
// of max(4, NumCPU) connections) and reads as events arrive.
func BenchmarkPublishDeliver(b *testing.B) {
	pool := testdb.Pool(b)
	h := startHub(b, pool, pubsub.Options{Buffer: 1 << 16, Logger: slog.New(slog.DiscardHandler)})
	user := uuid.New()
	ctx := context.Background()

	b.Run("latency", func(b *testing.B) {
		s := h.Subscribe(user, nil)
		defer s.Close()
		ev := pubsub.Event{Kind: pubsub.KindChunk, UserID: user, Topic: "t", ID: "m"}
		b.ResetTimer()
		for i := range b.N {
			ev.Seq = int64(i)
			publish(b, pool, ev)
			recv(b, s)
		}
	})

	b.Run("throughput", func(b *testing.B) {
		s := h.Subscribe(user, nil)
		defer s.Close()
		b.SetParallelism(4) // × GOMAXPROCS publishing goroutines
		done := make(chan struct{})
		var count int
		b.ResetTimer()
		go func() {
			defer close(done)
			for range s.C() {
				count++
				if count == b.N {
					return
				}
			}
		}()
		b.RunParallel(func(pb *testing.PB) {
			ev := pubsub.Event{Kind: pubsub.KindChunk, UserID: user, Topic: uuid.NewString(), ID: "m"}
			for pb.Next() {
				ev.Seq++
				if err := pubsub.Publish(ctx, pool, ev); err != nil {
					b.Error(err)
					return
				}
			}
		})
		if b.Failed() {
			return // the deferred Close ends the reader
		}
		<-done
		if s.Err() != nil {
			b.Fatal(s.Err())
		}
	})
}
