package gqlws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentgraph/agentgraph/internal/gqlws"
)

func TestConnectionAck(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{})
		c := f.dial(proto)
		if c.ws.Subprotocol() != proto {
			t.Fatalf("negotiated %q, want %q", c.ws.Subprotocol(), proto)
		}
		c.sendRaw(`{"type":"connection_init","payload":{}}`)
		c.expectRaw(`{"type":"connection_ack"}`)
		if legacy {
			c.expectRaw(`{"type":"ka"}`) // the legacy server keeps alive right away
		}
		c.barrier("1")
		f.waitOpen(1)
	})
}

func TestSubprotocolNegotiation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, gqlws.Config{})

	// Both offered: graphql-transport-ws is preferred, whatever the order.
	c := f.dialOpts(dialOpts{subprotocols: []string{gqlws.LegacyWS, gqlws.TransportWS}})
	if got := c.ws.Subprotocol(); got != gqlws.TransportWS {
		t.Fatalf("negotiated %q, want %q", got, gqlws.TransportWS)
	}
	c.init()
	c.sendRaw(`{"type":"ping"}`)
	c.expectRaw(`{"type":"pong"}`)

	// None offered: the legacy protocol, as gqlgen assumes.
	c = f.dialOpts(dialOpts{})
	if got := c.ws.Subprotocol(); got != "" {
		t.Fatalf("negotiated %q, want none", got)
	}
	c.init() // ack, then ka: the legacy protocol
	c.subscribe("1", "{ hello }")
	c.expect(nextFrame(true, "1", `{"hello":"world"}`), completeFrame("1"))
}

func TestInitPayloadAndContext(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		payloads := make(chan map[string]any, 2)
		f := newFixture(t, gqlws.Config{Init: func(ctx context.Context, p map[string]any) (context.Context, time.Time, error) {
			payloads <- p
			u, _ := p["user"].(string)
			return context.WithValue(ctx, userKey{}, u), time.Time{}, nil
		}})

		c := f.dial(proto)
		c.sendRaw(`{"type":"connection_init","payload":{"user":"ada","n":1,"nested":{"a":[true]}}}`)
		c.expectRaw(`{"type":"connection_ack"}`)
		got := <-payloads
		want := map[string]any{"user": "ada", "n": float64(1), "nested": map[string]any{"a": []any{true}}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Init got payload %v, want %v", got, want)
		}
		// The context Init returned is every operation's.
		c.subscribe("1", "{ whoami }")
		c.expect(nextFrame(legacy, "1", `{"whoami":"ada"}`), completeFrame("1"))
		c.subscribe("2", "{ onSocket }")
		c.expect(nextFrame(legacy, "2", `{"onSocket":true}`), completeFrame("2"))
		// A query is on the socket, but is not stepped by the writer.
		c.subscribe("3", "{ notifier }")
		c.expect(nextFrame(legacy, "3", `{"notifier":false}`), completeFrame("3"))

		// No payload: Init gets a nil map.
		c = f.dial(proto)
		c.sendRaw(`{"type":"connection_init"}`)
		c.expectRaw(`{"type":"connection_ack"}`)
		if p := <-payloads; p != nil {
			t.Fatalf("Init got %v for a connection_init without payload, want nil", p)
		}
	})
}

func TestInitRefused(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{Init: func(ctx context.Context, p map[string]any) (context.Context, time.Time, error) {
			return nil, time.Time{}, errors.New("bad token")
		}})
		c := f.dial(proto)
		c.sendRaw(`{"type":"connection_init","payload":{"token":"x"}}`)
		if legacy {
			c.expectClose(4403, "Forbidden: bad token", connectionErrorFrame("bad token"))
		} else {
			c.expectClose(4403, "Forbidden: bad token") // nothing before the close
		}
		f.waitOpen(0)
	})
}

func TestInitPayloadNotAnObject(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		called := make(chan struct{}, 1)
		f := newFixture(t, gqlws.Config{Init: func(ctx context.Context, p map[string]any) (context.Context, time.Time, error) {
			called <- struct{}{}
			return ctx, time.Time{}, nil
		}})
		c := f.dial(proto)
		c.sendRaw(`{"type":"connection_init","payload":[1,2]}`)
		const msg = "connection_init payload must be an object"
		if legacy {
			c.expectClose(4403, "Forbidden: "+msg, connectionErrorFrame(msg))
		} else {
			c.expectClose(4403, "Forbidden: "+msg)
		}
		select {
		case <-called:
			t.Fatal("Init ran for a payload that is not an object")
		default:
		}
	})
}

func TestInitTimeout(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		const timeout = 100 * time.Millisecond
		f := newFixture(t, gqlws.Config{InitTimeout: timeout})
		start := time.Now()
		c := f.dial(proto)
		if legacy {
			c.expectClose(websocket.CloseProtocolError, "Connection initialisation timeout")
		} else {
			c.expectClose(4408, "Connection initialisation timeout")
		}
		if d := time.Since(start); d < timeout || d > timeout+time.Second {
			t.Fatalf("closed after %v, want about %v", d, timeout)
		}
		f.waitOpen(0)
	})
}

func TestInitInTimeIsNotClosed(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	f := newFixture(t, gqlws.Config{InitTimeout: timeout})
	c := f.dial(gqlws.TransportWS)
	c.init()
	time.Sleep(timeout + 200*time.Millisecond) // past the init timeout: the ack stopped it
	c.barrier("1")
}

func TestTooManyInits(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{})
		c := f.dial(proto)
		c.init()
		c.sendRaw(`{"type":"connection_init"}`)
		c.expectClose(4429, "Too many initialisation requests")
	})
}

func TestSubscribeBeforeAck(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{})
		c := f.dial(proto)
		c.subscribe("1", `subscription { events(tag: "x") }`)
		c.expectClose(4401, "Unauthorized")
		f.noSub("x")
	})
}

func TestSubscribeWithoutID(t *testing.T) {
	t.Parallel()
	f := newFixture(t, gqlws.Config{})
	c := f.dial(gqlws.TransportWS)
	c.init()
	c.sendRaw(`{"type":"subscribe","payload":{"query":"{ hello }"}}`)
	c.expectClose(4400, "Operation id required")
}

func TestReusedIDWhileActive(t *testing.T) {
	t.Parallel()
	f := newFixture(t, gqlws.Config{})
	c := f.dial(gqlws.TransportWS)
	c.init()
	c.subscribe("1", `subscription { events(tag: "a") }`)
	s := f.sub("a")
	s.send("x")
	c.expect(eventFrame(false, "1", "events", "x"))
	c.subscribe("1", `subscription { events(tag: "b") }`)
	c.expectClose(4409, "Subscriber for 1 already exists")
	f.noSub("b")
	s.cancelled(t) // the socket ended: so did its operations
	f.waitOpen(0)
}

func TestIDReusableAfterCompletion(t *testing.T) {
	t.Parallel()
	f := newFixture(t, gqlws.Config{})
	c := f.dial(gqlws.TransportWS)
	c.init()
	for range 3 {
		c.subscribe("1", "{ hello }")
		c.expect(nextFrame(false, "1", `{"hello":"world"}`), completeFrame("1"))
	}
	c.subscribe("1", `subscription { events(tag: "a") }`)
	s := f.sub("a")
	s.close()
	c.expect(completeFrame("1"))
	c.barrier("1")
}

func TestBadMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, msg string
		legacy    bool
		code      int
		reason    string
		frames    []string
	}{
		{name: "not JSON", msg: `hello`, code: 4400, reason: "Invalid message received"},
		{name: "JSON array", msg: `[1]`, code: 4400, reason: "Invalid message received"},
		{name: "no type", msg: `{"id":"1"}`, code: 4400, reason: "Invalid message received"},
		{name: "type not a string", msg: `{"type":1}`, code: 4400, reason: "Invalid message received"},
		{name: "unknown type", msg: `{"type":"nope"}`, code: 4400, reason: "Unexpected message nope"},
		{name: "legacy start", msg: `{"type":"start","id":"1","payload":{"query":"{ hello }"}}`, code: 4400, reason: "Unexpected message start"},
		{name: "legacy stop", msg: `{"type":"stop","id":"1"}`, code: 4400, reason: "Unexpected message stop"},
		{name: "legacy terminate", msg: `{"type":"connection_terminate"}`, code: 4400, reason: "Unexpected message connection_terminate"},
		{name: "legacy: not JSON", msg: `hello`, legacy: true, code: 4400, reason: "Invalid message received"},
		{name: "legacy: unknown type", msg: `{"type":"nope"}`, legacy: true, code: 4400, reason: "Unexpected message nope",
			frames: []string{connectionErrorFrame("unexpected message nope")}},
		{name: "legacy: subscribe", msg: `{"type":"subscribe","id":"1","payload":{"query":"{ hello }"}}`, legacy: true, code: 4400,
			reason: "Unexpected message subscribe", frames: []string{connectionErrorFrame("unexpected message subscribe")}},
		{name: "legacy: complete", msg: `{"type":"complete","id":"1"}`, legacy: true, code: 4400,
			reason: "Unexpected message complete", frames: []string{connectionErrorFrame("unexpected message complete")}},
		{name: "legacy: ping", msg: `{"type":"ping"}`, legacy: true, code: 4400,
			reason: "Unexpected message ping", frames: []string{connectionErrorFrame("unexpected message ping")}},
		{name: "legacy: pong", msg: `{"type":"pong"}`, legacy: true, code: 4400,
			reason: "Unexpected message pong", frames: []string{connectionErrorFrame("unexpected message pong")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			proto := gqlws.TransportWS
			if tc.legacy {
				proto = gqlws.LegacyWS
			}
			f := newFixture(t, gqlws.Config{})
			c := f.dial(proto)
			c.init()
			c.sendRaw(tc.msg)
			c.expectClose(tc.code, tc.reason, tc.frames...)
		})
	}
}

func TestLegacyConnectionTerminate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, gqlws.Config{})
	c := f.dial(gqlws.LegacyWS)
	c.init()
	c.subscribe("1", `subscription { events(tag: "a") }`)
	s := f.sub("a")
	c.sendRaw(`{"type":"connection_terminate"}`)
	c.expectClose(websocket.CloseNormalClosure, "terminated")
	s.cancelled(t)
	f.waitOpen(0)
}

func TestPingPong(t *testing.T) {
	t.Parallel()
	f := newFixture(t, gqlws.Config{})
	c := f.dial(gqlws.TransportWS)
	c.init()
	c.sendRaw(`{"type":"ping","payload":{"a":[1,"two"],"b":null}}`)
	c.expectRaw(`{"type":"pong","payload":{"a":[1,"two"],"b":null}}`)
	c.sendRaw(`{"type":"ping"}`)
	if got := c.readRaw(); got != `{"type":"pong"}` {
		t.Fatalf("got %s, want a pong without payload", got)
	}
	// An unsolicited pong is allowed and answered by nothing.
	c.sendRaw(`{"type":"pong","payload":{"x":1}}`)
	c.barrier("1")
}

func TestServerPings(t *testing.T) {
	t.Parallel()
	const interval = 100 * time.Millisecond
	f := newFixture(t, gqlws.Config{PingInterval: interval})
	c := f.dial(gqlws.TransportWS)
	start := time.Now() // before the ack, which starts the pings
	c.init()
	const pings = 6
	for range pings {
		c.expectRaw(`{"type":"ping"}`)
		c.sendRaw(`{"type":"pong"}`)
	}
	// The sixth ping is due 6 intervals after the ack.
	if d := time.Since(start); d < pings*interval || d > (pings+5)*interval {
		t.Fatalf("%d pings in %v, want one every %v", pings, d, interval)
	}
	// Six intervals with nothing from the client but its pongs, three times
	// the silence that gets a client dropped: one that answers stays.
	c.barrier("1")
	f.waitOpen(1)
}

func TestSilentClientDropped(t *testing.T) {
	t.Parallel()
	const interval = 50 * time.Millisecond
	t.Run(gqlws.TransportWS, func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, gqlws.Config{PingInterval: interval})
		c := f.dial(gqlws.TransportWS)
		start := time.Now() // before the server read connection_init, the last it hears from the client
		c.init()
		ce, frames := c.closed() // reads, never answers
		d := time.Since(start)
		if ce.Code != websocket.CloseGoingAway || ce.Text != "no pong" {
			t.Fatalf("closed with %d %q, want 1001 \"no pong\"", ce.Code, ce.Text)
		}
		if len(frames) == 0 || len(frames) > 3 {
			t.Fatalf("got frames %q before the close, want one or two pings", frames)
		}
		for _, fr := range frames {
			if fr != `{"type":"ping"}` {
				t.Fatalf("got frame %s before the close, want only pings", fr)
			}
		}
		if d < 2*interval || d > 2*time.Second {
			t.Fatalf("dropped after %v, want after about %v", d, 2*interval)
		}
		f.waitOpen(0)
	})
	t.Run(gqlws.LegacyWS, func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, gqlws.Config{PingInterval: interval})
		c := f.dial(gqlws.LegacyWS)
		c.init()
		// Not reading, the client answers no WebSocket ping.
		time.Sleep(4 * interval)
		c.expectClose(websocket.CloseGoingAway, "no pong")
	})
}

func TestLegacyKeepAlive(t *testing.T) {
	t.Parallel()
	const interval = 50 * time.Millisecond
	f := newFixture(t, gqlws.Config{PingInterval: interval})
	c := f.dial(gqlws.LegacyWS)
	var mu sync.Mutex
	pings := 0
	c.ws.SetPingHandler(func(data string) error {
		mu.Lock()
		pings++
		mu.Unlock()
		return c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	c.init()
	// The client sends nothing but WebSocket pongs for six intervals.
	for range 6 {
		c.expectRaw(`{"type":"ka"}`)
	}
	mu.Lock()
	n := pings
	mu.Unlock()
	if n < 5 {
		t.Fatalf("got %d WebSocket pings with 6 keep-alives, want one with each", n)
	}
	c.barrier("1")
}

func TestQuery(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{})
		c := f.dial(proto)
		c.init()
		c.subscribe("q1", "{ hello }")
		c.expect(nextFrame(legacy, "q1", `{"hello":"world"}`), completeFrame("q1"))
		// A mutation whose result has errors: a result, then complete.
		c.subscribe("m1", "mutation { boom }")
		c.expect(fmt.Sprintf(`{"id":"m1","type":%q,"payload":{"errors":[{"message":"boom"}],"data":null}}`,
			map[bool]string{false: "next", true: "data"}[legacy]), completeFrame("m1"))
		// Variables and an operation name.
		c.send(map[string]any{"id": "q2", "type": map[bool]string{false: "subscribe", true: "start"}[legacy], "payload": map[string]any{
			"query":         "query A { whoami } query B($t: Boolean!) { hello @include(if: $t) }",
			"operationName": "B",
			"variables":     map[string]any{"t": true},
		}})
		c.expect(nextFrame(legacy, "q2", `{"hello":"world"}`), completeFrame("q2"))
	})
}

func TestOperationErrors(t *testing.T) {
	t.Parallel()
	type gqlErr struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	}
	cases := []struct {
		name, query, op, message, code string
	}{
		{name: "validation", query: "{ nope }", message: `Cannot query field "nope" on type "Query".`, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "parse", query: "{", message: "Expected Name, found <EOF>", code: "GRAPHQL_PARSE_FAILED"},
		{name: "unknown operation", query: "query A { hello }", op: "B", message: "operation B not found", code: "GRAPHQL_VALIDATION_FAILED"},
	}
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{})
		c := f.dial(proto)
		c.init()
		typ := map[bool]string{false: "subscribe", true: "start"}[legacy]
		for _, tc := range cases {
			c.send(map[string]any{"id": "1", "type": typ, "payload": map[string]any{"query": tc.query, "operationName": tc.op}})
			var m struct {
				ID      string   `json:"id"`
				Type    string   `json:"type"`
				Payload []gqlErr `json:"payload"`
			}
			frame := c.read()
			if err := json.Unmarshal([]byte(frame), &m); err != nil {
				t.Fatalf("%s: %v: %s", tc.name, err, frame)
			}
			if m.ID != "1" || m.Type != "error" || len(m.Payload) != 1 ||
				m.Payload[0].Message != tc.message || m.Payload[0].Extensions["code"] != tc.code {
				t.Fatalf("%s: got %s, want an error frame with %q (%s)", tc.name, frame, tc.message, tc.code)
			}
			if legacy {
				c.expect(completeFrame("1")) // the legacy protocol completes after an error
			}
			// graphql-transport-ws: the error ended the operation, no
			// complete follows; the next frames are the barrier's. The id
			// is free again.
			c.barrier("1")
		}
		// A payload that is not an operation.
		for _, msg := range []string{
			fmt.Sprintf(`{"id":"2","type":%q,"payload":"query"}`, typ),
			fmt.Sprintf(`{"id":"2","type":%q}`, typ),
		} {
			c.sendRaw(msg)
			c.expect(errorFrame("2", `[{"message":"invalid subscribe payload"}]`))
			if legacy {
				c.expect(completeFrame("2"))
			}
			c.barrier("2")
		}
	})
}

func TestPushedSubscription(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{})
		c := f.dial(proto)
		c.init()
		c.subscribe("s", `subscription { events(tag: "a") }`)
		s := f.sub("a")
		if !s.onSock {
			t.Fatal("OnSocket is false in the resolver")
		}
		const n = 100
		for i := range n {
			s.send(strconv.Itoa(i))
		}
		for i := range n {
			c.expect(eventFrame(legacy, "s", "events", strconv.Itoa(i)))
		}
		// Events one at a time, each waited for.
		for i := range 5 {
			s.send("x" + strconv.Itoa(i))
			c.expect(eventFrame(legacy, "s", "events", "x"+strconv.Itoa(i)))
		}
		s.close()
		c.expect(completeFrame("s"))
		s.cancelled(t) // a finished operation's context ends
		c.barrier("s")
	})
}

func TestPushedEarlyEvents(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{})
		c := f.dial(proto)
		c.init()

		// Sent by the resolver right after Notifier, before
		// DispatchOperation returned, then more.
		c.subscribe("1", `subscription { events(tag: "a", early: 3) }`)
		s := f.sub("a")
		s.send("late")
		s.close()
		c.expect(
			eventFrame(legacy, "1", "events", "early0"),
			eventFrame(legacy, "1", "events", "early1"),
			eventFrame(legacy, "1", "events", "early2"),
			eventFrame(legacy, "1", "events", "late"),
			completeFrame("1"),
		)

		// Events and the close, all before DispatchOperation returned.
		c.subscribe("2", `subscription { events(tag: "b", early: 2, closeEarly: true) }`)
		f.sub("b")
		c.expect(
			eventFrame(legacy, "2", "events", "early0"),
			eventFrame(legacy, "2", "events", "early1"),
			completeFrame("2"),
		)
		c.barrier("3")
	})
}

func TestPlainSubscription(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{})
		c := f.dial(proto)
		c.init()
		c.subscribe("p", `subscription { plain(tag: "a") }`)
		s := f.sub("a")
		if !s.onSock {
			t.Fatal("OnSocket is false in the resolver")
		}
		const n = 50
		for i := range n {
			s.send(strconv.Itoa(i))
		}
		for i := range n {
			c.expect(eventFrame(legacy, "p", "plain", strconv.Itoa(i)))
		}
		s.send("last")
		c.expect(eventFrame(legacy, "p", "plain", "last"))
		s.close()
		c.expect(completeFrame("p"))
		s.cancelled(t)
		c.barrier("p")
	})
}

func TestClientCompletes(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"events", "plain"} {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			protocols(t, func(t *testing.T, proto string, legacy bool) {
				f := newFixture(t, gqlws.Config{})
				c := f.dial(proto)
				c.init()
				c.subscribe("1", fmt.Sprintf(`subscription { %s(tag: "old") }`, field))
				old := f.sub("old")
				old.send("a")
				c.expect(eventFrame(legacy, "1", field, "a"))

				c.complete("1")
				old.cancelled(t)
				// A resolver that still sends after its context ended: nothing
				// may reach the client, not even complete.
				old.send("stale")
				old.close()

				// The id is free right away.
				c.subscribe("1", fmt.Sprintf(`subscription { %s(tag: "new") }`, field))
				s := f.sub("new")
				s.send("fresh")
				c.expect(eventFrame(legacy, "1", field, "fresh"))
				c.barrier("2")
				s.close()
				c.expect(completeFrame("1"))
				c.barrier("2")
			})
		})
	}
}

// TestNoFrameAfterClientComplete: once the server has read the client's
// complete (and cancelled the operation), no frame of that operation may
// follow — above all when the client reuses the id right away, as the
// protocol allows, since such a frame is then taken for the new operation's.
// The handler here returns its value only after its context ended, as a
// handler cancelled while it marshals an event does.
func TestNoFrameAfterClientComplete(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"events", "plain"} {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, gqlws.Config{})
			c := f.dial(gqlws.TransportWS)
			c.init()
			c.subscribe("1", fmt.Sprintf(`subscription { %s(tag: "old") }`, field))
			old := f.sub("old")
			old.send("hold")
			select {
			case <-old.held: // the handler is running, with the value in hand
			case <-time.After(ioTimeout):
				t.Fatal("the handler did not run")
			}
			c.complete("1")
			old.cancelled(t)

			c.subscribe("1", fmt.Sprintf(`subscription { %s(tag: "new") }`, field))
			s := f.sub("new")
			s.send("fresh")
			c.expect(eventFrame(false, "1", field, "fresh"))
			c.barrier("2")
		})
	}
}

func TestConcurrentSubscriptions(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{})
		c := f.dial(proto)
		c.init()
		const subs, events = 24, 150
		field := func(i int) string {
			if i%4 == 3 {
				return "plain"
			}
			return "events"
		}
		for i := range subs {
			c.subscribe(fmt.Sprint("s", i), fmt.Sprintf(`subscription { %s(tag: "t%d") }`, field(i), i))
		}
		var wg sync.WaitGroup
		for i := range subs {
			s := f.sub(fmt.Sprint("t", i))
			wg.Go(func() {
				for j := range events {
					s.send(strconv.Itoa(j))
					if j%50 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
				s.close()
			})
		}
		next := make(map[string]int, subs)
		done := 0
		for done < subs {
			frame := c.read()
			var m struct {
				ID      string `json:"id"`
				Type    string `json:"type"`
				Payload struct {
					Data map[string]string `json:"data"`
				} `json:"payload"`
			}
			if err := json.Unmarshal([]byte(frame), &m); err != nil {
				t.Fatal(err)
			}
			i, err := strconv.Atoi(strings.TrimPrefix(m.ID, "s"))
			if err != nil || i >= subs {
				t.Fatalf("frame for an unknown operation: %s", frame)
			}
			switch m.Type {
			case "next", "data":
				want := strconv.Itoa(next[m.ID])
				if got := m.Payload.Data[field(i)]; got != want {
					t.Fatalf("%s: got event %q, want %q (%s)", m.ID, got, want, frame)
				}
				next[m.ID]++
			case "complete":
				if next[m.ID] != events {
					t.Fatalf("%s completed after %d events, want %d", m.ID, next[m.ID], events)
				}
				next[m.ID] = -1 << 30 // nothing may follow
				done++
			default:
				t.Fatalf("unexpected frame %s", frame)
			}
		}
		wg.Wait()
		c.barrier("b")
	})
}

func TestPanicInResponseHandler(t *testing.T) {
	t.Parallel()
	const panicked = `[{"message":"panic: boom"}]`
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{})
		c := f.dial(proto)
		c.init()
		end := func(id string) {
			t.Helper()
			c.expect(errorFrame(id, panicked))
			if legacy {
				c.expect(completeFrame(id))
			}
		}

		// A query: its handler runs on a draining goroutine.
		c.subscribe("1", "{ panic }")
		end("1")
		c.barrier("1")

		// Pushed and plain subscriptions.
		for _, field := range []string{"events", "plain"} {
			c.subscribe("2", fmt.Sprintf(`subscription { %s(tag: %q) }`, field, field))
			s := f.sub(field)
			s.send("a")
			c.expect(eventFrame(legacy, "2", field, "a"))
			s.send("panic")
			end("2")
			s.cancelled(t) // the operation ended
			s.send("after")
			s.close()
			c.barrier("2") // nothing more of the operation; the socket works, the id is free
		}
		f.waitOpen(1)
	})
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		const ttl = 150 * time.Millisecond
		expiries := make(chan time.Time, 1)
		f := newFixture(t, gqlws.Config{Init: func(ctx context.Context, p map[string]any) (context.Context, time.Time, error) {
			if p["expired"] == true {
				return ctx, time.Now().Add(-time.Second), nil
			}
			expires := time.Now().Add(ttl)
			expiries <- expires
			return ctx, expires, nil
		}})
		c := f.dial(proto)
		c.init()
		expires := <-expiries
		c.subscribe("1", `subscription { events(tag: "a") }`)
		s := f.sub("a")
		c.expectClose(websocket.CloseNormalClosure, "token expired")
		if early := time.Until(expires); early > 5*time.Millisecond {
			t.Fatalf("closed %v before the token expired", early)
		}
		if late := time.Since(expires); late > time.Second {
			t.Fatalf("closed %v after the token expired", late)
		}
		s.cancelled(t)

		// Already expired: acknowledged, then closed at once.
		c = f.dial(proto)
		c.sendRaw(`{"type":"connection_init","payload":{"expired":true}}`)
		c.expectClose(websocket.CloseNormalClosure, "token expired", `{"type":"connection_ack"}`)
	})
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, gqlws.Config{})
	modern := f.dial(gqlws.TransportWS)
	modern.init()
	modern.subscribe("1", `subscription { events(tag: "a") }`)
	s := f.sub("a")
	plainC := f.dial(gqlws.TransportWS)
	plainC.init()
	plainC.subscribe("1", `subscription { plain(tag: "p") }`)
	p := f.sub("p")
	legacy := f.dial(gqlws.LegacyWS)
	legacy.init()
	pending := f.dial(gqlws.TransportWS) // not initialised yet
	f.waitOpen(4)

	start := time.Now()
	done := make(chan struct{})
	go func() {
		f.tr.Shutdown(context.Background())
		close(done)
	}()
	for _, c := range []*client{modern, plainC, legacy, pending} {
		c.expectClose(websocket.CloseGoingAway, "server shutting down")
	}
	select {
	case <-done:
	case <-time.After(ioTimeout):
		t.Fatal("Shutdown did not return once the clients answered the close")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %v with clients that answered at once", d)
	}
	if n := f.tr.Open(); n != 0 {
		t.Fatalf("Open() = %d after Shutdown, want 0", n)
	}
	s.cancelled(t)
	p.cancelled(t)

	// Later upgrades are closed at once, with nothing before.
	late := f.dial(gqlws.TransportWS)
	late.sendRaw(`{"type":"connection_init"}`)
	late.expectClose(websocket.CloseGoingAway, "server shutting down")
	late = f.dial(gqlws.LegacyWS)
	late.expectClose(websocket.CloseGoingAway, "server shutting down")
	if n := f.tr.Open(); n != 0 {
		t.Fatalf("Open() = %d after a refused upgrade, want 0", n)
	}

	// Again: returns at once.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	f.tr.Shutdown(ctx)
	if ctx.Err() != nil {
		t.Fatal("a second Shutdown waited")
	}
}

func TestShutdownWithoutSockets(t *testing.T) {
	t.Parallel()
	f := newFixture(t, gqlws.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	f.tr.Shutdown(ctx)
	if ctx.Err() != nil {
		t.Fatal("Shutdown without sockets waited for its context")
	}
}

func TestShutdownWaitsForPeers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, gqlws.Config{})
	c := f.dial(gqlws.TransportWS)
	c.init()
	f.waitOpen(1)

	// The client does not read, so it does not answer the close: Shutdown
	// waits for it until its context ends.
	const wait = 200 * time.Millisecond
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	f.tr.Shutdown(ctx)
	if d := time.Since(start); d < wait {
		t.Fatalf("Shutdown returned after %v, before the peer answered and before its context ended", d)
	}
	if n := f.tr.Open(); n != 1 {
		t.Fatalf("Open() = %d while the peer has not answered, want 1", n)
	}
	// Now it reads, and answers.
	c.expectClose(websocket.CloseGoingAway, "server shutting down")
	f.waitOpen(0)
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	t.Run("CheckOrigin", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, gqlws.Config{CheckOrigin: func(r *http.Request) bool {
			return r.Header.Get("Origin") == "https://good.example"
		}})
		for _, origin := range []string{"https://evil.example", ""} {
			h := http.Header{}
			if origin != "" {
				h.Set("Origin", origin)
			}
			_, resp, err := f.tryDial(dialOpts{subprotocols: []string{gqlws.TransportWS}, header: h})
			if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("origin %q: got %v, %v; want HTTP 403", origin, resp, err)
			}
		}
		c := f.dialOpts(dialOpts{subprotocols: []string{gqlws.TransportWS}, header: http.Header{"Origin": {"https://good.example"}}})
		c.init()
		f.waitOpen(1)
	})
	t.Run("same origin by default", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, gqlws.Config{})
		_, resp, err := f.tryDial(dialOpts{subprotocols: []string{gqlws.TransportWS}, header: http.Header{"Origin": {"https://evil.example"}}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("got %v, %v; want HTTP 403", resp, err)
		}
		if n := f.tr.Open(); n != 0 {
			t.Fatalf("Open() = %d after a refused handshake", n)
		}
		c := f.dial(gqlws.TransportWS) // no Origin: not a browser
		c.init()
	})
}

func TestReadLimit(t *testing.T) {
	t.Parallel()
	const limit = 1024
	f := newFixture(t, gqlws.Config{ReadLimit: limit})
	c := f.dial(gqlws.TransportWS)
	c.init()
	msg := func(size int) string {
		head := `{"type":"ping","payload":"`
		return head + strings.Repeat("x", size-len(head)-2) + `"}`
	}
	// At the limit: read.
	exact := msg(limit)
	c.sendRaw(exact)
	c.expectRaw(strings.Replace(exact, "ping", "pong", 1))
	// Over it: the socket ends with 1009.
	c.sendRaw(msg(limit + 1))
	ce, frames := c.closed()
	if ce.Code != websocket.CloseMessageTooBig || len(frames) != 0 {
		t.Fatalf("closed with %d after %q, want 1009 and nothing before", ce.Code, frames)
	}
	f.waitOpen(0)
}

func TestOpenAndClientGone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, gqlws.Config{})
	a := f.dial(gqlws.TransportWS)
	a.init()
	a.subscribe("1", `subscription { events(tag: "a") }`)
	sa := f.sub("a")
	b := f.dial(gqlws.LegacyWS)
	b.init()
	b.subscribe("1", `subscription { plain(tag: "b") }`)
	sb := f.sub("b")
	c := f.dial(gqlws.TransportWS)
	f.waitOpen(3)

	// Gone without a close: its operations end.
	_ = a.ws.NetConn().Close()
	sa.cancelled(t)
	f.waitOpen(2)

	// A client's close is answered.
	_ = b.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
	ce, _ := b.closed()
	if ce.Code != websocket.CloseNormalClosure {
		t.Fatalf("close answered with %d, want 1000", ce.Code)
	}
	sb.cancelled(t)
	f.waitOpen(1)

	c.init()
	c.barrier("1")
}

func TestNotifierOffSocket(t *testing.T) {
	t.Parallel()
	if gqlws.Notifier(context.Background()) != nil {
		t.Fatal("Notifier returned a func for a context not served by the transport")
	}
	if gqlws.OnSocket(context.Background()) {
		t.Fatal("OnSocket is true for a context not served by the transport")
	}
}

// TestOneCloseFrame: the server sends one close frame, then drops the
// connection once the peer answered. It must not answer the peer's answer
// with a second close frame (RFC 6455 5.5.1: nothing is sent after a Close).
func TestOneCloseFrame(t *testing.T) {
	t.Parallel()
	f := newFixture(t, gqlws.Config{})
	c := f.dial(gqlws.TransportWS)
	c.init()
	c.sendRaw(`{"type":"nope"}`)
	c.expectClose(4400, "Unexpected message nope") // gorilla answers the close here
	nc := c.ws.NetConn()
	_ = nc.SetReadDeadline(time.Now().Add(ioTimeout))
	rest, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("reading to the end of the connection: %v", err)
	}
	if len(rest) != 0 {
		t.Fatalf("after its close frame and the client's answer, the server sent % x more", rest)
	}
}

// TestCloseReasonsAreUTF8: a close frame's reason must be valid UTF-8 (RFC
// 6455 5.5.1; gorilla and browsers fail the connection otherwise). Reasons
// that quote the client or Init are cut to fit a control frame: at a rune
// boundary, not in the middle of one.
func TestCloseReasonsAreUTF8(t *testing.T) {
	t.Parallel()
	long := "a" + strings.Repeat("é", 80) // byte 60 and byte 100 fall in the middle of an é
	// check expects a close with code whose reason is head, a prefix of
	// long (at least 20 bytes of it), then tail.
	check := func(t *testing.T, c *client, code int, head, tail string) {
		t.Helper()
		_ = c.ws.SetReadDeadline(time.Now().Add(ioTimeout))
		for {
			_, _, err := c.ws.ReadMessage()
			if err == nil {
				continue
			}
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("want a close frame with code %d, got %v", code, err)
			}
			quoted, ok := strings.CutPrefix(ce.Text, head)
			if ok {
				quoted, ok = strings.CutSuffix(quoted, tail)
			}
			if ce.Code != code || !ok || !strings.HasPrefix(long, quoted) || len(quoted) < 20 {
				t.Fatalf("closed with %d %q, want %d %q + a prefix of %q + %q", ce.Code, ce.Text, code, head, long, tail)
			}
			return
		}
	}
	t.Run("unexpected message", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, gqlws.Config{})
		c := f.dial(gqlws.TransportWS)
		c.init()
		c.send(map[string]string{"type": long})
		check(t, c, 4400, "Unexpected message ", "")
	})
	t.Run("refused init", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, gqlws.Config{Init: func(ctx context.Context, p map[string]any) (context.Context, time.Time, error) {
			return nil, time.Time{}, errors.New(long)
		}})
		c := f.dial(gqlws.TransportWS)
		c.sendRaw(`{"type":"connection_init"}`)
		check(t, c, 4403, "Forbidden: ", "")
	})
	t.Run("reused id", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, gqlws.Config{})
		c := f.dial(gqlws.TransportWS)
		c.init()
		c.subscribe(long, `subscription { events(tag: "a") }`)
		f.sub("a")
		c.subscribe(long, `subscription { events(tag: "a") }`)
		check(t, c, 4409, "Subscriber for ", " already exists")
	})
}

// TestSlowClientDoesNotBlockOthers: a client that stops reading must not
// hold up deliveries to other sockets. Socket A's client stops reading (but
// keeps sending, so it is not dropped as silent) while its subscription gets
// far more than the socket buffers hold; socket B's subscription is fed by
// the same publisher, as a hub feeds every socket. A's notifications must
// return at once (the hub calls them inline), B must get all its events
// while A is stuck, and A must be dropped after WriteTimeout.
func TestSlowClientDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		const writeTimeout = 1500 * time.Millisecond
		f := newFixtureOpts(t, gqlws.Config{WriteTimeout: writeTimeout, PingInterval: 100 * time.Millisecond},
			fixtureOpts{smallBuffers: true})

		a := f.dialOpts(dialOpts{subprotocols: []string{proto}, smallBuffers: true})
		a.init()
		a.subscribe("a", `subscription { events(tag: "a") }`)
		sa := f.sub("a")
		b := f.dial(proto)
		b.init()
		b.subscribe("b", `subscription { events(tag: "b") }`)
		sb := f.sub("b")

		// A keeps talking, never reading.
		stopA := make(chan struct{})
		defer close(stopA)
		keepAlive := `{"type":"pong"}`
		if legacy {
			keepAlive = `{"type":"stop","id":"none"}` // stopping no operation: a no-op
		}
		go func() {
			tick := time.NewTicker(25 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stopA:
					return
				case <-tick.C:
					_ = a.ws.SetWriteDeadline(time.Now().Add(time.Second))
					if a.ws.WriteMessage(websocket.TextMessage, []byte(keepAlive)) != nil {
						return
					}
				}
			}
		}()

		// B reads everything, answering pings.
		const bEvents = 20
		type result struct {
			got    []string
			err    error
			openAt int
		}
		bDone := make(chan result, 1)
		go func() {
			var r result
			for {
				_ = b.ws.SetReadDeadline(time.Now().Add(ioTimeout))
				_, data, err := b.ws.ReadMessage()
				if err != nil {
					r.err = err
					bDone <- r
					return
				}
				frame := string(data)
				switch {
				case frame == `{"type":"ping"}`:
					_ = b.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"pong"}`))
				case frame == `{"type":"ka"}`:
				case sameJSON(frame, completeFrame("b")):
					r.openAt = f.tr.Open()
					bDone <- r
					return
				default:
					r.got = append(r.got, frame)
				}
			}
		}()

		var maxNotify time.Duration
		timed := func(do func()) {
			t0 := time.Now()
			do()
			if d := time.Since(t0); d > maxNotify {
				maxNotify = d
			}
		}
		big := strings.Repeat("x", 64<<10)
		for range 64 { // 4 MiB: far more than A's socket buffers
			timed(func() { sa.send(big) })
		}
		for i := range bEvents {
			timed(func() { sa.send("small") })
			timed(func() { sb.send(strconv.Itoa(i)) })
			time.Sleep(20 * time.Millisecond)
		}
		timed(sb.close)

		r := <-bDone
		if r.err != nil {
			t.Fatalf("B: %v after %d events", r.err, len(r.got))
		}
		if len(r.got) != bEvents {
			t.Fatalf("B got %d events, want %d", len(r.got), bEvents)
		}
		for i, fr := range r.got {
			if want := eventFrame(legacy, "b", "events", strconv.Itoa(i)); !sameJSON(fr, want) {
				t.Fatalf("B event %d: got %s, want %s", i, fr, want)
			}
		}
		if maxNotify > 300*time.Millisecond {
			t.Errorf("a notification blocked for %v while socket A was not read", maxNotify)
		}
		if r.openAt != 2 {
			t.Errorf("Open() = %d when B got all its events: B waited for A to be dropped", r.openAt)
		}
		// A is dropped once a write has been stuck for WriteTimeout.
		sa.cancelled(t)
		f.waitOpen(1)
	})
}

// A peer that keeps asking but never reads fills what waits behind the
// socket's stuck writer; past the bound the socket is closed with 1013
// (try again later) instead of queueing without end, well before the write
// timeout.
func TestQueueBound(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixtureOpts(t, gqlws.Config{WriteTimeout: time.Minute, MaxQueued: 64}, fixtureOpts{smallBuffers: true})
		c := f.dialOpts(dialOpts{subprotocols: []string{proto}, smallBuffers: true})
		c.init()
		start := time.Now()
		// Each query queues two frames: 5,000 of them are far more than the
		// bound of 64 plus what the (small) socket buffers take.
		typ := "subscribe"
		if legacy {
			typ = "start"
		}
		for i := range 5000 {
			msg := fmt.Sprintf(`{"id":"q%d","type":%q,"payload":{"query":"{ hello }"}}`, i, typ)
			_ = c.ws.SetWriteDeadline(time.Now().Add(ioTimeout))
			if err := c.ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
				break // the server closed the socket while we were still sending
			}
		}
		frames := 0
		for {
			_ = c.ws.SetReadDeadline(time.Now().Add(ioTimeout))
			_, _, err := c.ws.ReadMessage()
			if err == nil {
				frames++
				continue
			}
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseTryAgainLater || ce.Text != "too slow: reconnect" {
				t.Fatalf("after %d frames: %v, want a 1013 close", frames, err)
			}
			break
		}
		if frames >= 10000 {
			t.Fatalf("all %d frames were written: the socket never fell behind", frames)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Fatalf("closed after %v", d)
		}
	})
}
