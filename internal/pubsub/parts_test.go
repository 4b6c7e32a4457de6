package pubsub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// chunk is a stream chunk as internal/chat publishes it: its Data made by
// json.Marshal, whose HTML escaping (\u003c for <) grows it.
func chunk(t testing.TB, user uuid.UUID, seq int64, delta string) pubsub.Event {
	t.Helper()
	data, err := json.Marshal(map[string]any{"delta": delta, "done": false})
	if err != nil {
		t.Fatal(err)
	}
	return pubsub.Event{Kind: pubsub.KindChunk, UserID: user, Topic: "t", ID: "m", Seq: seq, Data: data}
}

// expectChunk receives s's next event and checks that it is chunk seq with
// delta, whole and valid UTF-8.
func expectChunk(t testing.TB, s *pubsub.Subscription, seq int64, delta string) {
	t.Helper()
	ev := recv(t, s)
	var d struct{ Delta string }
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatalf("chunk %d: %v", seq, err)
	}
	if ev.Kind != pubsub.KindChunk || ev.ID != "m" || ev.Seq != seq {
		t.Fatalf("got %s %s seq %d, want chunk m seq %d", ev.Kind, ev.ID, ev.Seq, seq)
	}
	if !utf8.ValidString(d.Delta) {
		t.Fatalf("chunk %d: delta is not valid UTF-8", seq)
	}
	if d.Delta != delta {
		i := 0
		for i < min(len(d.Delta), len(delta)) && d.Delta[i] == delta[i] {
			i++
		}
		t.Fatalf("chunk %d: delta of %d bytes, want %d; first difference at byte %d", seq, len(d.Delta), len(delta), i)
	}
}

// long repeats pattern to at least n bytes.
func long(pattern string, n int) string {
	return strings.Repeat(pattern, n/len(pattern)+1)
}

// A 100 KB delta streamed on hub A reaches A's subscriber at once and
// unchanged, and hub B's whole, in order between its neighbours, once. The
// text has what JSON escapes (quotes, backslashes, newlines, <, control
// characters, U+2028) and multi-byte characters, so that the payload grows
// and pieces end next to escapes and inside characters' bytes.
func TestStreamLongDelta(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	a, b := startHub(t, pool, pubsub.Options{}), startHub(t, pool, pubsub.Options{})
	user := uuid.New()
	sa, sb := a.Subscribe(user, nil), b.Subscribe(user, nil)

	big := long("Say \"hi\" to C:\\tmp <b>&</b>\n\tthen 🦊 漢字 \x01\u2028 and ", 100_000)
	deltas := []string{"Hello, ", big, " — bye"}
	for i, d := range deltas {
		if err := a.Stream(chunk(t, user, int64(i+1), d)); err != nil {
			t.Fatalf("Stream chunk %d: %v", i+1, err)
		}
		if len(sa.C()) != 1 {
			t.Fatalf("local subscriber holds %d events right after Stream, want 1", len(sa.C()))
		}
		expectChunk(t, sa, int64(i+1), d)
	}
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	publish(t, pool, event(user, pubsub.KindMessage, "t", "after"))
	for i, d := range deltas {
		expectChunk(t, sb, int64(i+1), d)
	}
	expectID(t, sb, "after")
	expectID(t, sa, "after")
	expectEmpty(t, sa)
	expectEmpty(t, sb)
	if a.Malformed()+b.Malformed() != 0 || a.StreamDropped() != 0 {
		t.Errorf("Malformed %d, %d; StreamDropped %d", a.Malformed(), b.Malformed(), a.StreamDropped())
	}
}

// Events that need parts, published inside transactions (Notify on a
// batch, Publish on a pgx.Tx) next to other events, neither fail the
// transaction nor vanish: each arrives whole, in its place. The deltas are
// multi-byte text (CJK, emoji) a byte-count cut would split inside a
// character, and texts JSON escapes to twice or six times their size.
func TestSplitInTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	h := startHub(t, pool, pubsub.Options{Buffer: 1000})
	user := uuid.New()
	s := h.Subscribe(user, nil)

	deltas := []string{
		"x" + long("漢字かな한국어", 30_000), // 3-byte characters, one byte off
		"xy" + long("🦊👩‍👩‍👧", 30_000), // 4-byte characters and joiners
		long(`"`, 20_000), // each escaped to \" and that to \\\"
		long(`\`, 20_000),
		long("\x01", 10_000), // \u0001, six bytes each
		long("\u2028", 10_000),
	}
	b := &pgx.Batch{}
	for i, d := range deltas {
		if err := pubsub.Notify(b, chunk(t, user, int64(i+1), d)); err != nil {
			t.Fatalf("Notify delta %d: %v", i+1, err)
		}
		if err := pubsub.Notify(b, event(user, pubsub.KindMessage, "t", fmt.Sprint("after-", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if err := pool.SendBatch(ctx, b).Close(); err != nil {
		t.Fatalf("batch: %v", err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, tx, chunk(t, user, 100, deltas[0]))
	publish(t, tx, event(user, pubsub.KindMessage, "t", "after-tx"))
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	for i, d := range deltas {
		expectChunk(t, s, int64(i+1), d)
		expectID(t, s, fmt.Sprint("after-", i+1))
	}
	expectChunk(t, s, 100, deltas[0])
	expectID(t, s, "after-tx")
	expectEmpty(t, s)
	if h.Malformed() != 0 {
		t.Errorf("Malformed = %d", h.Malformed())
	}
}

// A backlog of large events goes out in statements of about a megabyte,
// never splitting one event's parts between two.
func TestStatementsSplitBySize(t *testing.T) {
	t.Parallel()
	const kb = 1 << 10
	one := func(n int) []string { return []string{strings.Repeat("x", n)} }
	parts := func(n int) []string {
		ps := make([]string, n)
		for i := range ps {
			ps[i] = strings.Repeat("x", 7*kb)
		}
		return ps
	}
	events := [][]string{one(300 * kb), one(300 * kb), one(300 * kb), one(300 * kb), parts(200), one(kb), one(kb)}
	var sizes []string
	for _, st := range pubsub.Statements(events, 1<<20) {
		n := 0
		for _, p := range st {
			n += len(p)
		}
		sizes = append(sizes, fmt.Sprintf("%d/%dKB", len(st), n/kb))
	}
	// 3 × 300 KB; 300 KB alone (200 parts of 7 KB do not fit beside it);
	// the 1.4 MB split event alone; the two small ones.
	if got, want := strings.Join(sizes, " "), "3/900KB 1/300KB 200/1400KB 2/2KB"; got != want {
		t.Errorf("statements %s, want %s", got, want)
	}
}

// Many long deltas streamed at once (about 3 MB waiting) reach the other
// instance all, in order, and once.
func TestStreamBacklogOfLongDeltas(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	a, b := startHub(t, pool, pubsub.Options{Buffer: 1000}), startHub(t, pool, pubsub.Options{Buffer: 1000})
	user := uuid.New()
	sb := b.Subscribe(user, nil)
	const n = 300
	deltas := make([]string, n)
	for i := range deltas {
		deltas[i] = fmt.Sprint(i, ":") + long("long delta ", 5_000+i*20) // around one NOTIFY each
		if err := a.Stream(chunk(t, user, int64(i+1), deltas[i])); err != nil {
			t.Fatal(err)
		}
	}
	for i, d := range deltas {
		expectChunk(t, sb, int64(i+1), d)
	}
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	publish(t, pool, event(user, pubsub.KindMessage, "t", "after"))
	expectID(t, sb, "after")
}

// Parts that cannot be put together (the first one missed, one out of
// order) are skipped and counted; a split event after them still arrives.
func TestBrokenParts(t *testing.T) {
	t.Parallel()
	h := pubsub.New(nil, pubsub.Options{Logger: slog.New(slog.DiscardHandler)})
	user := uuid.New()
	s := h.Subscribe(user, nil)
	part := func(id string, seq, n int, p string) string {
		b, _ := json.Marshal(map[string]any{"k": "part", "u": user, "t": "", "i": id, "s": seq, "d": map[string]any{"n": n, "p": p}})
		return string(b)
	}
	whole := fmt.Sprintf(`{"k":"feed","u":"%s","t":"","i":"whole"}`, user)
	h.HandlePayload(part("a", 2, 2, whole[10:])) // its first part was missed
	h.HandlePayload(part("b", 1, 3, whole[:10]))
	h.HandlePayload(part("b", 3, 3, whole[10:])) // part 2 missing
	h.HandlePayload(part("c", 1, 2, `{"k":"part","u":"`+user.String()+`",`))
	h.HandlePayload(part("c", 2, 2, `"i":"nested","s":1,"d":{"n":1,"p":""}}`)) // a part in parts
	expectEmpty(t, s)
	if h.Malformed() != 3 {
		t.Errorf("Malformed = %d, want 3", h.Malformed())
	}
	h.HandlePayload(part("d", 1, 2, whole[:10]))
	h.HandlePayload(part("d", 2, 2, whole[10:]))
	expectID(t, s, "whole")
	expectEmpty(t, s)
}
