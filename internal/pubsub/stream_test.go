package pubsub_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// Stream delivers on its own instance at once, once (its own NOTIFY is
// skipped when it comes back), and on another instance through the batched
// NOTIFYs, in order on both.
func TestStreamLocalAndRemote(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	a, b := startHub(t, pool, pubsub.Options{}), startHub(t, pool, pubsub.Options{})
	user := uuid.New()
	sa, sb := a.Subscribe(user, nil), b.Subscribe(user, nil)

	const n = 200
	for i := 1; i <= n; i++ {
		ev := pubsub.Event{Kind: pubsub.KindChunk, UserID: user, Topic: "t", ID: "m", Seq: int64(i)}
		if err := a.Stream(ev); err != nil {
			t.Fatal(err)
		}
		if i == 1 && len(sa.C()) != 1 {
			// Delivered before Stream returned: no Postgres in between.
			t.Fatalf("local subscriber holds %d events right after Stream, want 1", len(sa.C()))
		}
	}
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A transactional event published after Flush comes after every chunk,
	// on both instances.
	publish(t, pool, event(user, pubsub.KindMessage, "t", "after"))
	for name, s := range map[string]*pubsub.Subscription{"a": sa, "b": sb} {
		for i := 1; i <= n; i++ {
			got := recv(t, s)
			if got.Seq != int64(i) || got.ID != "m" {
				t.Fatalf("hub %s: event %d is %s seq %d, want m seq %d", name, i, got.ID, got.Seq, i)
			}
		}
		expectID(t, s, "after")
		expectEmpty(t, s) // a's own NOTIFYs were not delivered a second time
	}
}

// Stream refuses what Publish refuses, and delivers nothing then.
func TestStreamChecksEvents(t *testing.T) {
	t.Parallel()
	h := startHub(t, testdb.Pool(t), pubsub.Options{})
	user := uuid.New()
	s := h.Subscribe(user, nil)
	if err := h.Stream(pubsub.Event{Kind: pubsub.KindChunk, ID: "x"}); err == nil {
		t.Error("event without a user accepted")
	}
	big := make([]byte, pubsub.MaxEvent)
	for i := range big {
		big[i] = 'a'
	}
	if err := h.Stream(pubsub.Event{Kind: pubsub.KindChunk, UserID: user, ID: "x", Data: []byte(strconv.Quote(string(big)))}); err == nil {
		t.Error("oversized event accepted")
	}
	expectEmpty(t, s)
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// When Postgres does not take the NOTIFYs, Stream still delivers here, and
// stops queueing for the other instances past maxOutgoing (counted) rather
// than growing without bound.
func TestStreamBoundsWhatWaitsForPostgres(t *testing.T) {
	t.Parallel()
	// A server that accepts connections and never answers: the sender's
	// first batch waits for a connection until its sendTimeout (5 s; the
	// connect timeout is longer), which the 45,000 events below must beat
	// to pile up. With a 1 s connect timeout a loaded machine (the race
	// detector, other tests) let the sender drain the queue between
	// attempts, and nothing was dropped.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@"+ln.Addr().String()+"/none?sslmode=disable&connect_timeout=60")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	h := pubsub.New(pool, pubsub.Options{Buffer: 50000})
	user := uuid.New()
	s := h.Subscribe(user, nil)
	const n = 45000
	for i := range n {
		if err := h.Stream(pubsub.Event{Kind: pubsub.KindChunk, UserID: user, Topic: "t", ID: "m", Seq: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(s.C()); got != n {
		t.Fatalf("local subscriber holds %d events, want all %d", got, n)
	}
	// The sender took a first batch and is stuck with it; at most
	// maxOutgoing (20,000) more wait, the rest were dropped.
	if d := h.StreamDropped(); d < 1 || d > n-20000 {
		t.Fatalf("StreamDropped = %d, want 1 to %d", d, n-20000)
	}
}
