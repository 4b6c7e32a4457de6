package gqlws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/agentgraph/agentgraph/internal/gqlws"
)

// ioTimeout bounds every client read and wait, so that a broken server fails
// a test instead of hanging it.
const ioTimeout = 5 * time.Second

// schema is the hand-written schema the fixture executes.
//
// Subscription.events pushes: its resolver takes gqlws.Notifier and calls it
// after each value sent and after closing its channel; its response handler
// never blocks (it reports a transport that steps it with nothing waiting).
// Subscription.plain does not push: its handler blocks on the channel.
//
// Event values with a meaning to the handlers: "panic" panics in the
// response handler; "hold" makes the handler wait for its context to end
// (as a handler cancelled in the middle of marshalling a value) before
// returning the value.
var schema = gqlparser.MustLoadSchema(&ast.Source{Input: `
	type Query { hello: String, whoami: String, onSocket: Boolean, notifier: Boolean, panic: String }
	type Mutation { boom: String }
	type Subscription {
		events(tag: String, early: Int, closeEarly: Boolean): String
		plain(tag: String): String
	}
`})

// userKey is the context key Init stores the user under; Query.whoami reads it.
type userKey struct{}

// sub is one subscription resolver run, which the test drives.
type sub struct {
	field  string
	ctx    context.Context // the resolver's context: done once the operation ended
	ch     chan string
	notify func() // nil for plain
	held   chan struct{}
	onSock bool
}

// send delivers v as the resolver would: send on the buffered channel, then
// notify (for a pushing resolver).
func (s *sub) send(v string) {
	s.ch <- v
	if s.notify != nil {
		s.notify()
	}
}

// close ends the stream as the resolver would.
func (s *sub) close() {
	close(s.ch)
	if s.notify != nil {
		s.notify()
	}
}

// cancelled fails the test unless the resolver's context ends within ioTimeout.
func (s *sub) cancelled(t *testing.T) {
	t.Helper()
	select {
	case <-s.ctx.Done():
	case <-time.After(ioTimeout):
		t.Fatalf("the %s resolver's context was not cancelled", s.field)
	}
}

// fixture is a gqlgen server with the transport under test on httptest.
type fixture struct {
	t   *testing.T
	tr  *gqlws.Transport
	url string

	mu    sync.Mutex
	slots map[string]chan *sub
}

type fixtureOpts struct {
	// smallBuffers shrinks the server's socket send buffers, so that a
	// client that stops reading blocks the server's writes quickly.
	smallBuffers bool
}

func newFixture(t *testing.T, cfg gqlws.Config) *fixture {
	return newFixtureOpts(t, cfg, fixtureOpts{})
}

func newFixtureOpts(t *testing.T, cfg gqlws.Config, opts fixtureOpts) *fixture {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := &fixture{t: t, slots: make(map[string]chan *sub)}
	srv := handler.New(&graphql.ExecutableSchemaMock{
		SchemaFunc: func() *ast.Schema { return schema },
		ComplexityFunc: func(context.Context, string, string, int, map[string]any) (int, bool) {
			return 0, false
		},
		ExecFunc: f.exec,
	})
	srv.SetRecoverFunc(func(_ context.Context, err any) error {
		return gqlerror.Errorf("panic: %v", err)
	})
	f.tr = gqlws.New(cfg)
	srv.AddTransport(f.tr)

	hs := httptest.NewUnstartedServer(srv)
	if opts.smallBuffers {
		hs.Listener = smallBufListener{hs.Listener}
	}
	hs.Start()
	t.Cleanup(hs.Close)
	f.url = "ws" + strings.TrimPrefix(hs.URL, "http")
	return f
}

type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

func (f *fixture) slot(tag string) chan *sub {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := f.slots[tag]
	if ch == nil {
		ch = make(chan *sub, 16)
		f.slots[tag] = ch
	}
	return ch
}

// sub returns the next subscription resolver run with tag.
func (f *fixture) sub(tag string) *sub {
	f.t.Helper()
	select {
	case s := <-f.slot(tag):
		return s
	case <-time.After(ioTimeout):
		f.t.Fatalf("no subscription with tag %q started", tag)
		return nil
	}
}

// noSub fails the test if a subscription with tag was started.
func (f *fixture) noSub(tag string) {
	f.t.Helper()
	select {
	case <-f.slot(tag):
		f.t.Fatalf("a subscription with tag %q ran", tag)
	default:
	}
}

// waitOpen waits until the transport counts n sockets.
func (f *fixture) waitOpen(n int) {
	f.t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for f.tr.Open() != n {
		if time.Now().After(deadline) {
			f.t.Fatalf("Open() = %d, want %d", f.tr.Open(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func dataResp(field string, v any) *graphql.Response {
	b, err := json.Marshal(map[string]any{field: v})
	if err != nil {
		panic(err)
	}
	return &graphql.Response{Data: b}
}

// exec is the executable schema: what generated code would do, by hand.
func (f *fixture) exec(ctx context.Context) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	field, ok := oc.Operation.SelectionSet[0].(*ast.Field)
	if !ok {
		return graphql.OneShot(graphql.ErrorResponse(ctx, "unsupported selection"))
	}
	args := field.ArgumentMap(oc.Variables)
	switch oc.Operation.Operation {
	case ast.Query:
		switch field.Name {
		case "hello":
			return graphql.OneShot(dataResp("hello", "world"))
		case "whoami":
			u, _ := ctx.Value(userKey{}).(string)
			return graphql.OneShot(dataResp("whoami", u))
		case "onSocket":
			return graphql.OneShot(dataResp("onSocket", gqlws.OnSocket(ctx)))
		case "notifier":
			return graphql.OneShot(dataResp("notifier", gqlws.Notifier(ctx) != nil))
		case "panic":
			return func(context.Context) *graphql.Response { panic("boom") }
		}
	case ast.Mutation:
		return graphql.OneShot(graphql.ErrorResponse(ctx, "boom"))
	case ast.Subscription:
		return f.subscribe(ctx, field.Name, args)
	}
	return graphql.OneShot(graphql.ErrorResponse(ctx, "unsupported operation"))
}

func (f *fixture) subscribe(ctx context.Context, name string, args map[string]any) graphql.ResponseHandler {
	tag, _ := args["tag"].(string)
	s := &sub{field: name, ctx: ctx, ch: make(chan string, 1024), held: make(chan struct{}, 1), onSock: gqlws.OnSocket(ctx)}
	if name == "events" {
		s.notify = gqlws.Notifier(ctx)
		if s.notify == nil {
			f.t.Errorf("Notifier returned nil for an operation served by the transport")
			return graphql.OneShot(graphql.ErrorResponse(ctx, "no notifier"))
		}
		// Events sent by the resolver itself, before DispatchOperation returns.
		early, _ := args["early"].(int64)
		for i := range early {
			s.send(fmt.Sprintf("early%d", i))
		}
		if closeEarly, _ := args["closeEarly"].(bool); closeEarly {
			s.close()
		}
	}
	f.slot(tag) <- s
	return func(hctx context.Context) *graphql.Response {
		var v string
		var ok bool
		if s.notify != nil {
			// A pushed handler is stepped once per notification: a value
			// (or the close) is always waiting.
			select {
			case v, ok = <-s.ch:
			default:
				return graphql.ErrorResponse(hctx, "handler stepped with no event waiting")
			}
		} else {
			select {
			case v, ok = <-s.ch:
			case <-hctx.Done():
				return nil
			}
		}
		if !ok {
			return nil
		}
		switch v {
		case "panic":
			panic("boom")
		case "hold":
			s.held <- struct{}{}
			select {
			case <-hctx.Done():
			case <-time.After(2 * time.Second):
			}
		}
		return dataResp(name, v)
	}
}

// client is a test WebSocket client.
type client struct {
	t      *testing.T
	ws     *websocket.Conn
	legacy bool
}

type dialOpts struct {
	subprotocols []string
	header       http.Header
	smallBuffers bool
}

// dial connects with one subprotocol, gqlws.TransportWS or gqlws.LegacyWS.
func (f *fixture) dial(proto string) *client {
	f.t.Helper()
	return f.dialOpts(dialOpts{subprotocols: []string{proto}})
}

func (f *fixture) dialOpts(o dialOpts) *client {
	f.t.Helper()
	ws, resp, err := f.tryDial(o)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		f.t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	c := &client{t: f.t, ws: ws, legacy: ws.Subprotocol() != gqlws.TransportWS}
	return c
}

func (f *fixture) tryDial(o dialOpts) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{Subprotocols: o.subprotocols, HandshakeTimeout: ioTimeout}
	if o.smallBuffers {
		d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			var nd net.Dialer
			c, err := nd.DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(8 << 10)
			}
			return c, err
		}
	}
	ws, resp, err := d.Dial(f.url, o.header)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if ws != nil {
		f.t.Cleanup(func() { _ = ws.Close() })
	}
	return ws, resp, err
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	_ = c.ws.SetWriteDeadline(time.Now().Add(ioTimeout))
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send %s: %v", s, err)
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(b))
}

// init sends connection_init and expects connection_ack (and, on the legacy
// protocol, the first keep-alive).
func (c *client) init() {
	c.t.Helper()
	c.sendRaw(`{"type":"connection_init"}`)
	c.expectRaw(`{"type":"connection_ack"}`)
	if c.legacy {
		c.expectRaw(`{"type":"ka"}`)
	}
}

// subscribe starts an operation: subscribe, or start on the legacy protocol.
func (c *client) subscribe(id, query string) {
	c.t.Helper()
	typ := "subscribe"
	if c.legacy {
		typ = "start"
	}
	c.send(map[string]any{"id": id, "type": typ, "payload": map[string]any{"query": query}})
}

// complete stops an operation: complete, or stop on the legacy protocol.
func (c *client) complete(id string) {
	c.t.Helper()
	typ := "complete"
	if c.legacy {
		typ = "stop"
	}
	c.send(map[string]any{"id": id, "type": typ})
}

// readRaw returns the next frame, keep-alives included.
func (c *client) readRaw() string {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(ioTimeout))
	typ, data, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		c.t.Fatalf("got a message of type %d, want text", typ)
	}
	return string(data)
}

// read returns the next frame that is not a legacy keep-alive.
func (c *client) read() string {
	c.t.Helper()
	for {
		if f := c.readRaw(); !c.legacy || f != `{"type":"ka"}` {
			return f
		}
	}
}

// expect reads the next frames (keep-alives skipped) and compares them, as
// JSON, with want.
func (c *client) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		if got := c.read(); !sameJSON(got, w) {
			c.t.Fatalf("got frame %s\nwant       %s", got, w)
		}
	}
}

// expectRaw is expect without skipping keep-alives.
func (c *client) expectRaw(want ...string) {
	c.t.Helper()
	for _, w := range want {
		if got := c.readRaw(); !sameJSON(got, w) {
			c.t.Fatalf("got frame %s\nwant       %s", got, w)
		}
	}
}

// closed reads until the socket ends and returns its close error and the
// frames that came first (legacy keep-alives left out).
func (c *client) closed() (*websocket.CloseError, []string) {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(ioTimeout))
	var frames []string
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				c.t.Fatalf("want a close frame, got %v after frames %q", err, frames)
			}
			return ce, frames
		}
		if c.legacy && string(data) == `{"type":"ka"}` {
			continue
		}
		frames = append(frames, string(data))
	}
}

// expectClose expects the close frame code/reason after exactly the frames
// want (keep-alives left out).
func (c *client) expectClose(code int, reason string, want ...string) {
	c.t.Helper()
	ce, frames := c.closed()
	if len(frames) != len(want) {
		c.t.Fatalf("got frames %q before the close, want %q", frames, want)
	}
	for i := range want {
		if !sameJSON(frames[i], want[i]) {
			c.t.Fatalf("frame %d before the close: got %s, want %s", i, frames[i], want[i])
		}
	}
	if ce.Code != code || ce.Text != reason {
		c.t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Text, code, reason)
	}
}

// barrier runs { hello } as id and expects its two frames next: whatever the
// server would have sent before them has been sent.
func (c *client) barrier(id string) {
	c.t.Helper()
	c.subscribe(id, "{ hello }")
	c.expect(nextFrame(c.legacy, id, `{"hello":"world"}`), completeFrame(id))
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return a == b
	}
	return reflect.DeepEqual(va, vb)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// nextFrame is a result: next, or data on the legacy protocol.
func nextFrame(legacy bool, id, data string) string {
	typ := "next"
	if legacy {
		typ = "data"
	}
	return fmt.Sprintf(`{"id":%s,"type":%q,"payload":{"data":%s}}`, quote(id), typ, data)
}

// eventFrame is a result of a subscription field.
func eventFrame(legacy bool, id, field, v string) string {
	return nextFrame(legacy, id, fmt.Sprintf(`{%q:%s}`, field, quote(v)))
}

func completeFrame(id string) string {
	return fmt.Sprintf(`{"id":%s,"type":"complete"}`, quote(id))
}

func errorFrame(id string, errs string) string {
	return fmt.Sprintf(`{"id":%s,"type":"error","payload":%s}`, quote(id), errs)
}

func connectionErrorFrame(msg string) string {
	return fmt.Sprintf(`{"type":"connection_error","payload":{"message":%s}}`, quote(msg))
}

// protocols runs a subtest per subprotocol.
func protocols(t *testing.T, f func(t *testing.T, proto string, legacy bool)) {
	for _, p := range []string{gqlws.TransportWS, gqlws.LegacyWS} {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			f(t, p, p == gqlws.LegacyWS)
		})
	}
}
