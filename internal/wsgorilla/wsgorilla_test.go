package wsgorilla_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/agentgraph/agentgraph/internal/wsgorilla"
)

const subscriptionQuery = `{"query":"subscription { name }"}`

func jsonEqual(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("payload %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Fatalf("payload %s, want %s", got, want)
	}
}

func TestSubscription(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			h, url := serve(t, rec.wire(transport.Websocket{Implementation: wsgorilla.Implementation{}}))
			c := dial(t, url, p.name)

			initConn(t, c)
			send(t, c, message{Type: p.subscribe, ID: "1", Payload: json.RawMessage(subscriptionQuery)})
			for range 3 {
				h.SendNextSubscriptionMessage()
				m := expect(t, c, p.next, "1")
				jsonEqual(t, m.Payload, `{"data":{"name":"test"}}`)
			}
			h.SendCompleteSubscriptionMessage()
			expect(t, c, "complete", "1")

			// A normal close from the client ends the conversation without an
			// error: the adapter turns it into transport.ErrWebsocketClosed,
			// which gqlgen does not pass to ErrorFunc.
			if err := c.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"),
				time.Now().Add(ioTimeout)); err != nil {
				t.Fatal(err)
			}
			ce, _ := waitClose(t, c, ioTimeout)
			if ce.Code != websocket.CloseNormalClosure {
				t.Fatalf("server answered close with %d, want 1000", ce.Code)
			}
			if code := rec.closeCode(t); code != transport.WebsocketCloseNormalClosure {
				t.Fatalf("CloseFunc got %d, want 1000", code)
			}
			if errs := rec.errors(); len(errs) != 0 {
				t.Fatalf("ErrorFunc got %v on a normal close", errs)
			}
		})
	}
}

// gqlgen closes a rejected connection with the code found in the context the
// InitFunc returns (transport.WithWebsocketCloseCode), 1000 if there is none,
// and the reason from transport.AppendCloseReason, "terminated" if none.
func TestInitFuncRejection(t *testing.T) {
	t.Parallel()
	longReason := strings.Repeat("é", 100) // 200 bytes: over a close frame's 123
	cases := []struct {
		name       string
		initFunc   transport.WebsocketInitFunc
		wantCode   int
		wantReason string
		closeFunc  bool // gqlgen reaches CloseFunc
	}{
		{
			name: "close code 4403",
			initFunc: func(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
				return transport.WithWebsocketCloseCode(ctx, 4403), nil, errors.New("invalid token")
			},
			wantCode: 4403, wantReason: "terminated", closeFunc: true,
		},
		{
			name: "close code and reason",
			initFunc: func(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
				ctx = transport.WithWebsocketCloseCode(ctx, 4403)
				return transport.AppendCloseReason(ctx, "Forbidden"), nil, errors.New("invalid token")
			},
			wantCode: 4403, wantReason: "Forbidden", closeFunc: true,
		},
		{
			// The adapter cuts the reason to fit a control frame; gorilla
			// would refuse to send the close frame otherwise.
			name: "long reason",
			initFunc: func(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
				ctx = transport.WithWebsocketCloseCode(ctx, 4403)
				return transport.AppendCloseReason(ctx, longReason), nil, errors.New("invalid token")
			},
			wantCode: 4403, wantReason: longReason[:122], closeFunc: true,
		},
		{
			name: "error only",
			initFunc: func(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
				return ctx, nil, errors.New("invalid token")
			},
			wantCode: 1000, wantReason: "terminated", closeFunc: true,
		},
		{
			// gqlgen reads the close code from the returned context and
			// panics on nil; handler.Server recovers. The adapter's close on
			// handler return is what still closes the socket.
			name: "nil context",
			initFunc: func(context.Context, transport.InitPayload) (context.Context, *transport.InitPayload, error) {
				return nil, nil, errors.New("invalid token")
			},
			wantCode: 1000, wantReason: "terminated",
		},
	}
	for _, p := range protocols {
		for _, tc := range cases {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				rec := newRecorder()
				_, url := serve(t, rec.wire(transport.Websocket{
					Implementation: wsgorilla.Implementation{},
					InitFunc:       tc.initFunc,
				}))
				c := dial(t, url, p.name)
				send(t, c, message{Type: "connection_init", Payload: json.RawMessage(`{"Authorization":"Bearer x"}`)})

				ce, got := waitClose(t, c, ioTimeout)
				if ce.Code != tc.wantCode || ce.Text != tc.wantReason {
					t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Text, tc.wantCode, tc.wantReason)
				}
				if !utf8.ValidString(ce.Text) {
					t.Fatalf("close reason is not UTF-8: %q", ce.Text)
				}
				// Only legacy graphql-ws has a message for this; it carries
				// the InitFunc's error text verbatim.
				switch p.name {
				case "graphql-ws":
					if len(got) != 1 || got[0].Type != "connection_error" {
						t.Fatalf("got %v before the close, want one connection_error", got)
					}
					jsonEqual(t, got[0].Payload, `{"message":"invalid token"}`)
				default:
					if len(got) != 0 {
						t.Fatalf("got %v before the close, want nothing", got)
					}
				}
				if tc.closeFunc {
					if code := rec.closeCode(t); code != tc.wantCode {
						t.Fatalf("CloseFunc got %d, want %d", code, tc.wantCode)
					}
				}
			})
		}
	}
}

// gqlgen closes a connection that sends no connection_init within InitTimeout
// with 1002 for both protocols; the adapter sends graphql-transport-ws's 4408
// instead. CloseFunc still sees gqlgen's 1002.
func TestInitTimeout(t *testing.T) {
	t.Parallel()
	want := map[string]int{"graphql-transport-ws": 4408, "graphql-ws": 1002}
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			_, url := serve(t, rec.wire(transport.Websocket{
				Implementation: wsgorilla.Implementation{},
				InitTimeout:    50 * time.Millisecond,
			}))
			c := dial(t, url, p.name)

			start := time.Now()
			ce, got := waitClose(t, c, ioTimeout)
			if ce.Code != want[p.name] || ce.Text != "connection initialisation timeout" {
				t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Text, want[p.name])
			}
			if len(got) != 0 {
				t.Fatalf("got %v before the close", got)
			}
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Fatalf("closed after %v", elapsed)
			}
			if code := rec.closeCode(t); code != 1002 {
				t.Fatalf("CloseFunc got %d, want 1002", code)
			}
		})
	}
}

// gqlgen returns without closing when the connection_init payload is not a
// JSON object; the adapter closes the socket when the handler returns.
func TestInitPayloadNotAnObject(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			_, url := serve(t, transport.Websocket{Implementation: wsgorilla.Implementation{}})
			c := dial(t, url, p.name)
			send(t, c, message{Type: "connection_init", Payload: json.RawMessage(`"Bearer x"`)})
			ce, _ := waitClose(t, c, ioTimeout)
			if ce.Code != 1000 || ce.Text != "terminated" {
				t.Fatalf("closed with %d %q, want 1000 terminated", ce.Code, ce.Text)
			}
		})
	}
}

func TestPingPong(t *testing.T) {
	t.Parallel()
	const interval = 50 * time.Millisecond

	t.Run("client ping gets pong", func(t *testing.T) {
		t.Parallel()
		_, url := serve(t, transport.Websocket{Implementation: wsgorilla.Implementation{}})
		c := dial(t, url, "graphql-transport-ws")
		initConn(t, c)
		send(t, c, message{Type: "ping", Payload: json.RawMessage(`{"n":1}`)})
		m := expect(t, c, "pong", "")
		jsonEqual(t, m.Payload, `{"n":1}`)
	})

	t.Run("answered pings keep the connection", func(t *testing.T) {
		t.Parallel()
		rec := newRecorder()
		_, url := serve(t, rec.wire(transport.Websocket{
			Implementation:   wsgorilla.Implementation{},
			PingPongInterval: interval,
		}))
		c := dial(t, url, "graphql-transport-ws")
		initConn(t, c)

		pings := 0
		for deadline := time.Now().Add(8 * interval); time.Now().Before(deadline); {
			m := read(t, c)
			if m.Type != "ping" {
				t.Fatalf("got %s, want ping", m.Type)
			}
			pings++
			send(t, c, message{Type: "pong"})
		}
		if pings < 4 {
			t.Fatalf("%d pings in %v at a %v interval", pings, 8*interval, interval)
		}
		send(t, c, message{Type: "ping"})
		for m := read(t, c); m.Type != "pong"; m = read(t, c) {
			send(t, c, message{Type: "pong"})
		}
		if errs := rec.errors(); len(errs) != 0 {
			t.Fatalf("ErrorFunc got %v", errs)
		}
	})

	// gqlgen sets a read deadline of 2*PingPongInterval; when it passes, the
	// adapter drops the connection without a close frame, as gqlgen documents
	// (the client sees 1006).
	t.Run("missing pong drops the connection", func(t *testing.T) {
		t.Parallel()
		rec := newRecorder()
		_, url := serve(t, rec.wire(transport.Websocket{
			Implementation:   wsgorilla.Implementation{},
			PingPongInterval: interval,
		}))
		c := dial(t, url, "graphql-transport-ws")
		initConn(t, c)

		start := time.Now()
		ce, got := waitClose(t, c, ioTimeout)
		elapsed := time.Since(start)
		if ce.Code != websocket.CloseAbnormalClosure {
			t.Fatalf("closed with %d %q, want 1006", ce.Code, ce.Text)
		}
		if len(got) == 0 || got[0].Type != "ping" {
			t.Fatalf("got %v before the drop, want pings", got)
		}
		if elapsed < interval || elapsed > 20*interval {
			t.Fatalf("dropped after %v, want about %v", elapsed, 2*interval)
		}
		rec.closeCode(t)
		// gqlgen reports the read timeout; a ping it writes at the same
		// moment may also report the connection closed under it.
		timeouts := 0
		for _, err := range rec.errors() {
			var netErr net.Error
			switch {
			case errors.As(err, &netErr) && netErr.Timeout():
				timeouts++
			case errors.Is(err, net.ErrClosed):
			default:
				t.Errorf("ErrorFunc got %v", err)
			}
		}
		if timeouts != 1 {
			t.Fatalf("ErrorFunc got %v, want one read timeout", rec.errors())
		}
	})

	// Legacy graphql-ws has no ping/pong: gqlgen sends "ka" right after
	// connection_ack and then every KeepAlivePingInterval, and ignores
	// PingPongInterval, so a client that never answers stays connected.
	t.Run("graphql-ws keep-alive", func(t *testing.T) {
		t.Parallel()
		_, url := serve(t, transport.Websocket{
			Implementation:        wsgorilla.Implementation{},
			KeepAlivePingInterval: interval,
			PingPongInterval:      interval,
		})
		c := dial(t, url, "graphql-ws")
		send(t, c, message{Type: "connection_init"})
		if m := readRaw(t, c); m.Type != "connection_ack" {
			t.Fatalf("got %s, want connection_ack", m.Type)
		}
		kas := 0
		for deadline := time.Now().Add(8 * interval); time.Now().Before(deadline); {
			if m := readRaw(t, c); m.Type != "ka" {
				t.Fatalf("got %s, want ka", m.Type)
			}
			kas++
		}
		if kas < 5 {
			t.Fatalf("%d keep-alives in %v at a %v interval", kas, 8*interval, interval)
		}
	})

	// KeepAlivePingInterval serves only graphql-ws: a graphql-transport-ws
	// connection gets nothing from it.
	t.Run("keep-alive is silent on graphql-transport-ws", func(t *testing.T) {
		t.Parallel()
		_, url := serve(t, transport.Websocket{
			Implementation:        wsgorilla.Implementation{},
			KeepAlivePingInterval: interval,
		})
		c := dial(t, url, "graphql-transport-ws")
		initConn(t, c)
		_ = c.SetReadDeadline(time.Now().Add(5 * interval))
		var netErr net.Error
		if _, data, err := c.ReadMessage(); !errors.As(err, &netErr) || !netErr.Timeout() {
			t.Fatalf("got %q, %v; want silence", data, err)
		}
	})
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	// "*" is not an origin, so it allows nothing (in particular not everything).
	allowed := []string{"https://app.example.com", "http://localhost:5173/", "http://[::1]:3000", "*", "example.org"}
	cases := []struct {
		name   string
		origin string // "self" is replaced by the test server's own origin
		ok     bool
	}{
		{"absent", "", true},
		{"same host", "self", true},
		{"listed", "https://app.example.com", true},
		{"listed, other case", "HTTPS://App.Example.COM", true},
		{"listed with trailing slash", "http://localhost:5173", true},
		{"listed IPv6", "http://[::1]:3000", true},
		{"other host", "https://evil.example.com", false},
		{"other scheme", "http://app.example.com", false},
		{"other port", "https://app.example.com:8443", false},
		{"suffix trick", "https://app.example.com.evil.net", false},
		{"bare host entry", "https://example.org", false},
		{"null", "null", false},
	}
	impls := []struct {
		name string
		impl transport.WebsocketImplementation
	}{
		{"gorilla", wsgorilla.Implementation{Upgrader: websocket.Upgrader{CheckOrigin: wsgorilla.OriginChecker(allowed)}}},
		{"coder", transport.CoderWebsocketImplementation{AcceptOptions: wsgorilla.CoderAcceptOptions(allowed)}},
	}
	for _, im := range impls {
		_, url := serve(t, transport.Websocket{Implementation: im.impl})
		for _, tc := range cases {
			t.Run(im.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				header := http.Header{}
				switch tc.origin {
				case "":
				case "self":
					header.Set("Origin", "http"+strings.TrimPrefix(url, "ws"))
				default:
					header.Set("Origin", tc.origin)
				}
				c, err := dialHeader(t, url, "graphql-transport-ws", header)
				if !tc.ok {
					var he *handshakeError
					if !errors.As(err, &he) || he.status != http.StatusForbidden {
						t.Fatalf("got %v, want HTTP 403", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				initConn(t, c)
			})
		}
	}
}

// PayloadReadLimit (nil means gqlgen's 1 MB) closes the connection with 1009
// when a client message is larger.
func TestReadLimit(t *testing.T) {
	t.Parallel()
	limit := int64(1024)
	cases := []struct {
		name  string
		limit *int64
		small int // bytes of padding that fit
		big   int // bytes of padding that do not
	}{
		{"PayloadReadLimit 1024", &limit, 800, 2 << 20},
		{"default 1 MB", nil, 900 << 10, 2 << 20},
	}
	for _, p := range protocols {
		for _, tc := range cases {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				_, url := serve(t, transport.Websocket{
					Implementation:   wsgorilla.Implementation{},
					PayloadReadLimit: tc.limit,
				})
				c := dial(t, url, p.name)
				initConn(t, c)

				// A query answers at once, without the test server's
				// one-second wait for a subscription to pick up an event.
				padded := func(n int) json.RawMessage {
					return json.RawMessage(fmt.Sprintf(`{"query":"query { name }","extensions":{"pad":%q}}`, strings.Repeat("x", n)))
				}
				send(t, c, message{Type: p.subscribe, ID: "small", Payload: padded(tc.small)})
				expect(t, c, p.next, "small")
				expect(t, c, "complete", "small")

				send(t, c, message{Type: p.subscribe, ID: "big", Payload: padded(tc.big)})
				ce, _ := waitClose(t, c, ioTimeout)
				if ce.Code != websocket.CloseMessageTooBig {
					t.Fatalf("closed with %d %q, want 1009", ce.Code, ce.Text)
				}
			})
		}
	}
}

// eventServer serves a schema whose every subscription emits events results
// as fast as it can, so many subscriptions on one socket write concurrently.
func eventServer(events int) *handler.Server {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `
		type Query { n: Int! }
		type Subscription { n: Int! }
	`})
	return handler.New(&graphql.ExecutableSchemaMock{
		ExecFunc: func(ctx context.Context) graphql.ResponseHandler {
			if graphql.GetOperationContext(ctx).Operation.Operation != ast.Subscription {
				return graphql.OneShot(graphql.ErrorResponse(ctx, "subscriptions only"))
			}
			sent := 0
			return func(ctx context.Context) *graphql.Response {
				if sent == events || ctx.Err() != nil {
					return nil
				}
				sent++
				return &graphql.Response{Data: fmt.Appendf(nil, `{"n":%d}`, sent)}
			}
		},
		SchemaFunc: func() *ast.Schema { return schema },
		ComplexityFunc: func(context.Context, string, string, int, map[string]any) (int, bool) {
			return 0, true
		},
	})
}

func TestConcurrentSubscriptions(t *testing.T) {
	t.Parallel()
	const subscriptions, events = 64, 25
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			h := eventServer(events)
			h.AddTransport(transport.Websocket{Implementation: wsgorilla.Implementation{}})
			c := dial(t, listen(t, h), p.name)
			initConn(t, c)

			for i := range subscriptions {
				send(t, c, message{Type: p.subscribe, ID: fmt.Sprint(i), Payload: json.RawMessage(`{"query":"subscription { n }"}`)})
			}
			last := map[string]int{}
			for completed := 0; completed < subscriptions; {
				m := read(t, c)
				switch m.Type {
				case p.next:
					var r struct{ Data struct{ N int } }
					if err := json.Unmarshal(m.Payload, &r); err != nil {
						t.Fatalf("payload %s: %v", m.Payload, err)
					}
					if r.Data.N != last[m.ID]+1 {
						t.Fatalf("subscription %s: event %d after %d", m.ID, r.Data.N, last[m.ID])
					}
					last[m.ID] = r.Data.N
				case "complete":
					if last[m.ID] != events {
						t.Fatalf("subscription %s completed after %d of %d events", m.ID, last[m.ID], events)
					}
					completed++
				default:
					t.Fatalf("got %s %s", m.Type, m.Payload)
				}
			}
		})
	}
}

// gqlgen serializes its own writes today; the adapter must not depend on it.
// gorilla panics on a detected concurrent write, and -race sees the rest.
func TestConnConcurrentWrites(t *testing.T) {
	t.Parallel()
	const writers, each = 16, 50
	impl := wsgorilla.Implementation{}
	accepted := make(chan transport.WebsocketConn, 1)
	url := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := impl.Accept(w, r, transport.WebsocketAcceptOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			return
		}
		accepted <- conn
		// Keep the handler (and with it the request context) alive until
		// the client has hung up: the adapter closes the socket when the
		// handler returns.
		_, _, _ = conn.NextReader()
	}))
	c := dial(t, url, "graphql-transport-ws")
	conn := <-accepted

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := conn.WriteJSON(message{Type: "next", ID: fmt.Sprint(w), Payload: json.RawMessage(fmt.Sprint(i))}); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		})
	}
	seen := map[string]int{}
	for range writers * each {
		m := readRaw(t, c)
		var i int
		if err := json.Unmarshal(m.Payload, &i); err != nil || i != seen[m.ID] {
			t.Fatalf("writer %s: got %s, want %d", m.ID, m.Payload, seen[m.ID])
		}
		seen[m.ID]++
	}
	wg.Wait()

	// Close racing writes: the writes fail or land before the close frame,
	// and the client sees exactly the close.
	for w := range writers {
		wg.Go(func() {
			for range each {
				_ = conn.WriteJSON(message{Type: "next", ID: fmt.Sprint(w)})
			}
		})
	}
	wg.Go(func() {
		_ = conn.WriteClose(4000, "bye")
		_ = conn.Close()
	})
	ce, _ := waitClose(t, c, ioTimeout)
	wg.Wait()
	if ce.Code != 4000 || ce.Text != "bye" {
		t.Fatalf("closed with %d %q, want 4000 bye", ce.Code, ce.Text)
	}
}

// The Upgrader's own subprotocols keep their preference, gqlgen's are added
// after them, and the caller's slice is left alone.
func TestSubprotocols(t *testing.T) {
	t.Parallel()
	mine := make([]string, 1, 4)
	mine[0] = "graphql-transport-ws"
	_, url := serve(t, transport.Websocket{Implementation: wsgorilla.Implementation{
		Upgrader: websocket.Upgrader{Subprotocols: mine},
	}})

	d := websocket.Dialer{Subprotocols: []string{"graphql-ws", "graphql-transport-ws"}, HandshakeTimeout: ioTimeout}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if c.Subprotocol() != "graphql-transport-ws" {
		t.Fatalf("negotiated %q, want the Upgrader's preference", c.Subprotocol())
	}

	initConn(t, dial(t, url, "graphql-ws")) // gqlgen's other protocol was added
	if len(mine) != 1 || mine[:2][1] != "" {
		t.Fatalf("Accept changed the Upgrader's slice: %q", mine[:2])
	}
}
