package wsgorilla_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/testserver"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

// protocol is the vocabulary that differs between the two subprotocols gqlgen
// speaks.
type protocol struct {
	name      string // negotiated subprotocol
	subscribe string // client message that starts an operation
	next      string // server message that carries a result
}

var protocols = []protocol{
	{name: "graphql-transport-ws", subscribe: "subscribe", next: "next"},
	{name: "graphql-ws", subscribe: "start", next: "data"},
}

type message struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// ioTimeout bounds every client read so a broken server fails the test instead
// of hanging it.
const ioTimeout = 5 * time.Second

// serve runs gqlgen's test schema behind ws and returns it with a ws:// URL.
func serve(t *testing.T, ws transport.Websocket) (*testserver.TestServer, string) {
	t.Helper()
	h := testserver.New()
	h.AddTransport(ws)
	return h, listen(t, h)
}

func listen(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, url, subprotocol string) *websocket.Conn {
	t.Helper()
	c, err := dialHeader(t, url, subprotocol, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func dialHeader(t *testing.T, url, subprotocol string, header http.Header) (*websocket.Conn, error) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{subprotocol}, HandshakeTimeout: ioTimeout}
	c, resp, err := d.Dial(url, header)
	if err != nil {
		if resp != nil {
			return nil, &handshakeError{status: resp.StatusCode, err: err}
		}
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	if c.Subprotocol() != subprotocol {
		t.Fatalf("negotiated subprotocol %q, want %q", c.Subprotocol(), subprotocol)
	}
	return c, nil
}

type handshakeError struct {
	status int
	err    error
}

func (e *handshakeError) Error() string { return e.err.Error() }

func send(t *testing.T, c *websocket.Conn, m message) {
	t.Helper()
	_ = c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if err := c.WriteJSON(m); err != nil {
		t.Fatalf("send %s: %v", m.Type, err)
	}
}

// readRaw returns the next message, keep-alives included.
func readRaw(t *testing.T, c *websocket.Conn) message {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	var m message
	if err := c.ReadJSON(&m); err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

// read returns the next message that is not a graphql-ws keep-alive ("ka"),
// which gqlgen sends right after connection_ack and then every
// KeepAlivePingInterval.
func read(t *testing.T, c *websocket.Conn) message {
	t.Helper()
	for {
		if m := readRaw(t, c); m.Type != "ka" {
			return m
		}
	}
}

func expect(t *testing.T, c *websocket.Conn, typ, id string) message {
	t.Helper()
	m := read(t, c)
	if m.Type != typ || m.ID != id {
		t.Fatalf("got %s id=%q payload=%s, want %s id=%q", m.Type, m.ID, m.Payload, typ, id)
	}
	return m
}

// initConn sends connection_init and expects connection_ack.
func initConn(t *testing.T, c *websocket.Conn) {
	t.Helper()
	send(t, c, message{Type: "connection_init"})
	expect(t, c, "connection_ack", "")
}

// waitClose reads until the connection ends and returns how it ended, with
// the messages that arrived first. A peer that vanishes without a close frame
// reads as code 1006.
func waitClose(t *testing.T, c *websocket.Conn, within time.Duration) (*websocket.CloseError, []message) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	var got []message
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("want the connection closed within %v, got %v after %d messages", within, err, len(got))
			}
			return ce, got
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("server sent non-JSON %q", data)
		}
		got = append(got, m)
	}
}

// recorder collects what gqlgen reports through ErrorFunc and CloseFunc.
type recorder struct {
	mu     sync.Mutex
	errs   []error
	closed chan int
}

func newRecorder() *recorder { return &recorder{closed: make(chan int, 1)} }

func (r *recorder) wire(ws transport.Websocket) transport.Websocket {
	ws.ErrorFunc = func(_ context.Context, err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.errs = append(r.errs, err)
	}
	ws.CloseFunc = func(_ context.Context, code int) {
		select {
		case r.closed <- code:
		default:
		}
	}
	return ws
}

func (r *recorder) errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func (r *recorder) closeCode(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.closed:
		return code
	case <-time.After(ioTimeout):
		t.Fatal("CloseFunc was not called")
		return 0
	}
}
