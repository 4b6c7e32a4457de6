package live

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/loaders"
	"github.com/agentgraph/agentgraph/internal/pubsub"
)

// An event reaches every subscription of its user on this instance: often
// several sockets (tabs, devices) running the same subscription operation.
// Their responses to it are the same bytes: same user, same operation and
// variables, same rows. So the first of them to run executes the event, with
// loaders kept on the event, and the others send its response.

// eventQueue holds the events a pushed subscription has been handed and not
// yet executed, in the order of its channel: the hub pushes them (under the
// subscription's lock), the socket's writer takes the head just before it
// runs the response handler for the value at the head of the channel.
type eventQueue struct {
	// op identifies the subscription's operation: name, text and variables.
	op string
	// peers counts the user's subscriptions on this instance that run op,
	// this one included: alone, it has nobody to share an execution with.
	peers *atomic.Int32
	// skip takes the value at the head of the channel without executing it,
	// for a response another subscription computed.
	skip func()

	mu  sync.Mutex
	evs []*pubsub.Event
}

func newEventQueue(ctx context.Context, skip func()) *eventQueue {
	q := &eventQueue{skip: skip}
	if oc := graphql.GetOperationContext(ctx); oc != nil {
		vars, err := json.Marshal(oc.Variables)
		if err == nil {
			q.op = oc.OperationName + "\x00" + oc.RawQuery + "\x00" + string(vars)
		}
	}
	return q
}

func (q *eventQueue) push(ev *pubsub.Event) {
	q.mu.Lock()
	q.evs = append(q.evs, ev)
	q.mu.Unlock()
}

// pop returns the oldest event, or nil when none is left (the channel's
// close is next).
func (q *eventQueue) pop() *pubsub.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.evs) == 0 {
		return nil
	}
	ev := q.evs[0]
	q.evs[0] = nil
	q.evs = q.evs[1:]
	if len(q.evs) == 0 {
		q.evs = nil // let the backing array go
	}
	return ev
}

type (
	eventLoadersKey  struct{}
	eventResponseKey struct{ op string }
)

// eventResponse is one operation's response to one event, shared by the
// subscriptions that run that operation.
type eventResponse struct {
	once sync.Once
	resp *graphql.Response // nil if the first execution produced none, or errors
}

// execute runs next (the response handler) for ev, or reuses the response
// another subscription with the same operation got for it.
func (d *Delivery) execute(ctx context.Context, q *eventQueue, ev *pubsub.Event, next graphql.ResponseHandler) *graphql.Response {
	sh := ev.Local(eventLoadersKey{}, func() any { return loaders.NewShared(d.store, d.wait) }).(*loaders.Shared)
	ctx = loaders.WithShared(ctx, sh)
	if q.op == "" || q.peers == nil || q.peers.Load() < 2 {
		return next(ctx) // nobody to share with: no copy, no bookkeeping
	}
	shared := ev.Local(eventResponseKey{q.op}, func() any { return &eventResponse{} }).(*eventResponse)
	var own *graphql.Response
	ran := false
	shared.once.Do(func() {
		ran = true
		own = next(ctx)
		// Only a clean response is shared: an error may be this
		// execution's own (its client left while a row loaded).
		if own != nil && len(own.Errors) == 0 {
			shared.resp = detach(own)
		}
	})
	if ran {
		return own
	}
	if shared.resp == nil {
		return next(ctx) // nothing to share: execute this one
	}
	q.skip()
	resp := *shared.resp
	return &resp
}

// detach copies what of resp gqlgen may reuse: the data bytes live in a
// buffer of the subscription that executed it, rewritten by its next event.
func detach(resp *graphql.Response) *graphql.Response {
	c := *resp
	c.Data = append(json.RawMessage(nil), resp.Data...)
	return &c
}

// operations counts the subscriptions of each user and operation on this
// instance. The zero value is ready.
type operations struct {
	mu sync.Mutex
	m  map[operationKey]*atomic.Int32
}

type operationKey struct {
	user uuid.UUID
	op   string
}

// join counts one more subscription of user running op; leave, called once
// when it ends, counts it out.
func (o *operations) join(user uuid.UUID, op string) (peers *atomic.Int32, leave func()) {
	k := operationKey{user, op}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = make(map[operationKey]*atomic.Int32)
	}
	n := o.m[k]
	if n == nil {
		n = new(atomic.Int32)
		o.m[k] = n
	}
	n.Add(1)
	var once sync.Once
	return n, func() {
		once.Do(func() {
			o.mu.Lock()
			defer o.mu.Unlock()
			if n.Add(-1) == 0 && o.m[k] == n {
				delete(o.m, k)
			}
		})
	}
}
