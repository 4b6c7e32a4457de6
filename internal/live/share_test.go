package live

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// dispatched returns an event as the hub hands it to subscribers (with
// its per-instance state), through Hub.Stream's local delivery.
func dispatched(t *testing.T) *pubsub.Event {
	t.Helper()
	pool := testdb.Pool(t)
	hub := pubsub.New(pool, pubsub.Options{})
	user := uuid.New()
	got := make(chan *pubsub.Event, 1)
	sub := hub.SubscribeFunc(user, nil, func(ev *pubsub.Event) bool { got <- ev; return true }, func(error) {})
	defer sub.Close()
	if err := hub.Stream(pubsub.Event{Kind: pubsub.KindChunk, UserID: user, Topic: "t", ID: "m"}); err != nil {
		t.Fatal(err)
	}
	if err := hub.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return <-got
}

// The subscriptions one event reaches with the same operation execute it
// once: the others take their channel's value (skip) and send a copy of the
// response. Another operation executes on its own; a response with errors
// is not shared.
func TestExecuteEventOncePerOperation(t *testing.T) {
	t.Parallel()
	ev := dispatched(t)
	d := New(nil, store.New(testdb.Pool(t)), 0)
	executions := 0
	next := func(data string, errs gqlerror.List) graphql.ResponseHandler {
		return func(context.Context) *graphql.Response {
			executions++
			return &graphql.Response{Data: []byte(data), Errors: errs}
		}
	}
	skips := 0
	var ops operations
	user := uuid.New()
	queue := func(op string) *eventQueue {
		q := &eventQueue{op: op, skip: func() { skips++ }}
		q.peers, _ = ops.join(user, op)
		q.peers, _ = ops.join(user, op) // as if another socket ran it too
		return q
	}

	a, b, c := queue("A"), queue("A"), queue("B")
	ra := d.execute(context.Background(), a, ev, next(`{"x":1}`, nil))
	rb := d.execute(context.Background(), b, ev, next(`{"x":"never"}`, nil))
	rc := d.execute(context.Background(), c, ev, next(`{"y":2}`, nil))
	if executions != 2 || skips != 1 {
		t.Fatalf("%d executions and %d skips, want 2 and 1", executions, skips)
	}
	if string(ra.Data) != `{"x":1}` || string(rb.Data) != `{"x":1}` || string(rc.Data) != `{"y":2}` {
		t.Fatalf("responses %s, %s, %s", ra.Data, rb.Data, rc.Data)
	}
	if &rb.Data[0] == &ra.Data[0] {
		t.Fatal("the shared response aliases the first execution's buffer")
	}

	failed := dispatched(t)
	executions, skips = 0, 0
	d.execute(context.Background(), queue("A"), failed, next(`{"x":null}`, gqlerror.List{{Message: "canceled"}}))
	d.execute(context.Background(), queue("A"), failed, next(`{"x":1}`, nil))
	if executions != 2 || skips != 0 {
		t.Fatalf("after an error: %d executions and %d skips, want 2 and 0", executions, skips)
	}
}

// A subscription alone with its operation executes every event itself;
// join and leave keep the count, leave once only.
func TestOperationsCount(t *testing.T) {
	t.Parallel()
	var ops operations
	user := uuid.New()
	a, leaveA := ops.join(user, "op")
	_, leaveB := ops.join(user, "op")
	other, leaveOther := ops.join(uuid.New(), "op") // another user's
	if a.Load() != 2 || other.Load() != 1 {
		t.Fatalf("counts %d and %d, want 2 and 1", a.Load(), other.Load())
	}
	leaveB()
	leaveB()
	if a.Load() != 1 {
		t.Fatalf("count %d after one leave (called twice), want 1", a.Load())
	}

	ev := dispatched(t)
	d := New(nil, store.New(testdb.Pool(t)), 0)
	executions, skips := 0, 0
	q := &eventQueue{op: "op", peers: a, skip: func() { skips++ }}
	for range 2 {
		d.execute(context.Background(), q, ev, func(context.Context) *graphql.Response {
			executions++
			return &graphql.Response{Data: []byte(`{}`)}
		})
	}
	if executions != 2 || skips != 0 {
		t.Fatalf("alone: %d executions, %d skips; want 2 and 0", executions, skips)
	}
	leaveA()
	leaveOther()
	ops.mu.Lock()
	defer ops.mu.Unlock()
	if len(ops.m) != 0 {
		t.Fatalf("%d counts left after every leave", len(ops.m))
	}
}
