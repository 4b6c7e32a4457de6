package gqlws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// operation is one subscribe (start) of a socket, until it completes.
type operation struct {
	c      *conn
	id     []byte // the id as a JSON string, quoted once
	rawID  string
	ctx    context.Context
	cancel context.CancelFunc
	rc     *graphql.OperationContext

	handler graphql.ResponseHandler

	// Guarded by c.mu.
	pushed   bool // the resolver took a Notifier: the writer steps the handler
	attached any  // see Attach
	started  bool // handler is set
	early    int  // notifications before handler was set
	done     bool // finished: no more frames, not in c.ops
	sub      bool // a subscription, counted against MaxSubscriptions
}

type opKey struct{}

// Notifier is for a subscription resolver that sends its events on a
// buffered channel from another goroutine and never blocks doing so. It
// returns the function to call after each value sent and after closing the
// channel; the transport then reads exactly one value (or the close) per
// call, on its writer, so the subscription needs no goroutine waiting on the
// channel. Call it only once the resolver is sure to return the channel
// without an error, and before anything can be sent.
//
// It returns nil when the operation is not a subscription served by this
// transport (gqlgen's own transports then read the channel as usual).
func Notifier(ctx context.Context) func() {
	op, _ := ctx.Value(opKey{}).(*operation)
	if op == nil || op.rc.Operation.Operation != ast.Subscription {
		// Only a subscription is stepped by the writer; a query's or a
		// mutation's handler runs once, on its own goroutine.
		return nil
	}
	op.c.mu.Lock()
	op.pushed = true
	op.c.mu.Unlock()
	return op.notify
}

// Attach keeps v with the operation ctx belongs to, for Attached to return
// from the context of each of its responses (a subscription resolver can
// leave state there for a response middleware). It does nothing off the
// transport.
func Attach(ctx context.Context, v any) {
	op, _ := ctx.Value(opKey{}).(*operation)
	if op == nil {
		return
	}
	op.c.mu.Lock()
	op.attached = v
	op.c.mu.Unlock()
}

// Attached returns what Attach kept with ctx's operation, or nil.
func Attached(ctx context.Context) any {
	op, _ := ctx.Value(opKey{}).(*operation)
	if op == nil {
		return nil
	}
	op.c.mu.Lock()
	defer op.c.mu.Unlock()
	return op.attached
}

// CloseTryAgainLater is the close code (1013) for a socket the server ends
// because it cannot keep up: graphql-ws clients reconnect and resubscribe.
const CloseTryAgainLater = websocket.CloseTryAgainLater

// CloseSocket closes the socket of ctx's operation with code and reason,
// after the frames already queued; its other operations end with it. It does
// nothing off the transport.
func CloseSocket(ctx context.Context, code int, reason string) {
	if op, _ := ctx.Value(opKey{}).(*operation); op != nil {
		op.c.close(code, reason)
	}
}

// OnSocket reports whether ctx is an operation's served by this transport.
func OnSocket(ctx context.Context) bool {
	_, ok := ctx.Value(opKey{}).(*operation)
	return ok
}

// notify schedules one step of op. It may run on any goroutine, at any time.
func (op *operation) notify() {
	c := op.c
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case op.done:
	case !op.started:
		op.early++
	default:
		c.enqueueLocked(item{op: op})
	}
}

// start runs a subscribe (start) message.
func (c *conn) start(id string, payload json.RawMessage) {
	c.mu.Lock()
	switch {
	case c.closing:
		c.mu.Unlock()
		return
	case !c.acked:
		c.mu.Unlock()
		c.close(closeUnauthorized, "Unauthorized")
		return
	case id == "":
		c.mu.Unlock()
		c.close(closeBadRequest, "Operation id required")
		return
	case c.ops[id] != nil:
		c.mu.Unlock()
		c.close(closeSubscriberTaken, "Subscriber for "+truncate(id, 60)+" already exists")
		return
	}
	qid, _ := json.Marshal(id)
	if len(c.ops) >= c.t.cfg.MaxOperations {
		// graphql-ws ends one operation with an error message: this one
		// never runs, the others and the socket go on.
		for _, f := range errorEnd(c.modern, qid, quotaError("operations in flight on one socket", c.t.cfg.MaxOperations)) {
			c.enqueueLocked(item{frame: f})
		}
		c.mu.Unlock()
		return
	}
	op := &operation{c: c, id: qid, rawID: id}
	ctx, cancel := context.WithCancel(c.ctx)
	op.cancel = cancel
	if c.ops == nil {
		c.ops = make(map[string]*operation, 1)
	}
	c.ops[id] = op
	c.mu.Unlock()

	start := graphql.Now()
	var params graphql.RawParams
	if err := json.Unmarshal(payload, &params); err != nil || len(payload) == 0 {
		c.finish(op, errorEnd(c.modern, qid, gqlerror.List{{Message: "invalid subscribe payload"}})...)
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	ctx = graphql.StartOperationTrace(ctx)
	rc, errs := c.exec.CreateOperationContext(ctx, &params)
	if errs != nil {
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			// Parse and validation errors: the operation never ran.
			c.finish(op, errorEnd(c.modern, qid, resp.Errors)...)
			return
		}
		c.send(nextFrame(nil, c.modern, qid, resp))
		c.finish(op, completeFrame(qid))
		return
	}
	if rc.Operation.Operation == ast.Subscription && !c.claimSubscription(op) {
		c.finish(op, errorEnd(c.modern, qid, quotaError("subscriptions on one socket", c.t.cfg.MaxSubscriptions))...)
		return
	}
	op.rc = rc
	ctx = context.WithValue(graphql.WithOperationContext(ctx, rc), opKey{}, op)
	// The subscription resolver runs here, and may call Notifier.
	handler, ctx := c.exec.DispatchOperation(ctx, rc)

	c.mu.Lock()
	op.handler, op.ctx = handler, ctx
	op.started = true
	if op.done {
		c.mu.Unlock()
		return
	}
	if op.pushed && rc.Operation.Operation == ast.Subscription {
		for ; op.early > 0; op.early-- {
			c.enqueueLocked(item{op: op})
		}
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	// Queries, mutations and subscriptions that do not push: a goroutine
	// waits on the handler, as gqlgen's transport does.
	go op.drain()
}

// claimSubscription marks op a subscription, unless the socket has its
// quota of them.
func (c *conn) claimSubscription(op *operation) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, o := range c.ops {
		if o.sub {
			n++
		}
	}
	if n >= c.t.cfg.MaxSubscriptions {
		return false
	}
	op.sub = true
	return true
}

// quotaError refuses an operation past one of the socket's quotas; the
// client may retry once others complete.
func quotaError(what string, limit int) gqlerror.List {
	return gqlerror.List{{
		Message:    fmt.Sprintf("too many %s (limit %d)", what, limit),
		Extensions: map[string]any{"code": "RATE_LIMITED", "retryAfter": 1},
	}}
}

// stop runs a complete (stop) message: the client is done with id.
func (c *conn) stop(id string) {
	c.mu.Lock()
	op := c.ops[id]
	if op != nil {
		op.done = true
		delete(c.ops, id)
	}
	c.mu.Unlock()
	if op != nil {
		op.cancel()
	}
}

// drain sends every response of op until its handler ends.
func (op *operation) drain() {
	c := op.c
	for {
		resp, panicked := op.next()
		if panicked != nil {
			c.finish(op, panicked...)
			return
		}
		if resp == nil {
			c.finish(op, completeFrame(op.id))
			return
		}
		frame := nextFrame(nil, c.modern, op.id, resp)
		c.mu.Lock()
		if op.done { // the client completed it while the handler ran
			c.mu.Unlock()
			return
		}
		c.enqueueLocked(item{frame: frame})
		c.mu.Unlock()
	}
}

// step sends op's next response; the writer runs it once per notification.
func (c *conn) step(op *operation) {
	c.mu.Lock()
	skip := op.done || c.closing
	c.mu.Unlock()
	if skip {
		return
	}
	resp, panicked := op.next()
	if panicked != nil {
		c.finish(op, panicked...)
		return
	}
	if resp == nil {
		c.finish(op, completeFrame(op.id))
		return
	}
	c.mu.Lock()
	skip = op.done || c.closing // the client completed it while the handler ran
	c.mu.Unlock()
	if skip {
		return
	}
	buf := frameBuffers.Get().(*[]byte)
	*buf = nextFrame((*buf)[:0], c.modern, op.id, resp)
	err := c.writeFrame(*buf)
	if cap(*buf) <= 64<<10 {
		frameBuffers.Put(buf)
	}
	if err != nil {
		c.fail(err)
	}
}

var frameBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// next runs op's response handler once. A panic in it ends the operation
// with an error frame (panicked), as gqlgen's transport does.
func (op *operation) next() (resp *graphql.Response, panicked [][]byte) {
	defer func() {
		if r := recover(); r != nil {
			err := op.rc.Recover(op.ctx, r)
			var gqlErr *gqlerror.Error
			if !errors.As(err, &gqlErr) {
				gqlErr = &gqlerror.Error{Message: "internal system error"}
			}
			resp, panicked = nil, errorEnd(op.c.modern, op.id, gqlerror.List{gqlErr})
		}
	}()
	return op.handler(op.ctx), nil
}

// finish ends op with its last frames (complete, or error), unless it has
// ended already (the client stopped it, or the socket is closing).
func (c *conn) finish(op *operation, last ...[]byte) {
	c.mu.Lock()
	if op.done {
		c.mu.Unlock()
		return
	}
	op.done = true
	if c.ops[op.rawID] == op {
		delete(c.ops, op.rawID)
	}
	for _, f := range last {
		c.enqueueLocked(item{frame: f})
	}
	c.mu.Unlock()
	op.cancel()
}

// Frames of an operation. id is the JSON-quoted id.

func nextFrame(b []byte, modern bool, id []byte, resp *graphql.Response) []byte {
	b = append(b, `{"id":`...)
	b = append(b, id...)
	if modern {
		b = append(b, `,"type":"next","payload":`...)
	} else {
		b = append(b, `,"type":"data","payload":`...)
	}
	b = appendResponse(b, resp)
	return append(b, '}')
}

// appendResponse writes resp as encoding/json would, without re-validating
// Data, which gqlgen produced.
func appendResponse(b []byte, resp *graphql.Response) []byte {
	if resp.Label != "" || resp.Path != nil || resp.HasNext != nil {
		m, err := json.Marshal(resp)
		if err != nil {
			return append(b, `{"errors":[{"message":"response could not be encoded"}]}`...)
		}
		return append(b, m...)
	}
	b = append(b, '{')
	if len(resp.Errors) > 0 {
		b = append(b, `"errors":`...)
		b = appendJSON(b, resp.Errors)
		b = append(b, ',')
	}
	b = append(b, `"data":`...)
	if len(resp.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, resp.Data...)
	}
	if len(resp.Extensions) > 0 {
		b = append(b, `,"extensions":`...)
		b = appendJSON(b, resp.Extensions)
	}
	return append(b, '}')
}

func appendJSON(b []byte, v any) []byte {
	m, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, m...)
}

func errorFrame(id []byte, errs gqlerror.List) []byte {
	b := append([]byte(`{"id":`), id...)
	b = append(b, `,"type":"error","payload":`...)
	if len(errs) == 0 {
		errs = gqlerror.List{{Message: "error"}}
	}
	b = appendJSON(b, errs)
	return append(b, '}')
}

// errorEnd is how an operation ends with errs: an error frame, which ends it
// on graphql-transport-ws; the legacy protocol completes it as well.
func errorEnd(modern bool, id []byte, errs gqlerror.List) [][]byte {
	if modern {
		return [][]byte{errorFrame(id, errs)}
	}
	return [][]byte{errorFrame(id, errs), completeFrame(id)}
}

func completeFrame(id []byte) []byte {
	b := append([]byte(`{"id":`), id...)
	return append(b, `,"type":"complete"}`...)
}
