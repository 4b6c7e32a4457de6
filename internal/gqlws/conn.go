package gqlws

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"
)

// Close codes of the graphql-transport-ws protocol.
const (
	closeBadRequest      = 4400
	closeUnauthorized    = 4401
	closeForbidden       = 4403
	closeInitTimeout     = 4408
	closeSubscriberTaken = 4409
	closeTooManyInits    = 4429
)

// conn is one socket. Its read loop (serve) is its only long-lived
// goroutine; everything it writes goes through queue.
type conn struct {
	t      *Transport
	ws     *websocket.Conn
	exec   graphql.GraphExecutor
	modern bool // graphql-transport-ws; false for legacy graphql-ws

	lastRead atomic.Int64 // unix nanoseconds of the last frame read, pongs included
	pingedAt atomic.Int64 // unix nanoseconds of the last ping queued

	mu       sync.Mutex
	ctx      context.Context // values only; the user's after connection_init
	acked    bool
	closing  bool // a close frame is queued or the socket failed: nothing more is queued
	ops      map[string]*operation
	key      string      // the SocketKey this socket is counted under, if any
	timer    *time.Timer // the init timeout, then the ping
	expiry   *time.Timer
	queue    []item // frames and operation steps waiting for the writer
	spare    []item // the writer's previous batch, reused
	writing  bool   // a writer goroutine is draining queue
	inFlight int    // items of the batch the writer took and has not finished
}

// item is one thing for the writer: a ready frame, or a step of a pushed
// subscription (run its response handler once and send what it returns).
type item struct {
	frame []byte
	op    *operation
	close bool // frame is a close frame's payload: the last item written
}

func newConn(t *Transport, ws *websocket.Conn, exec graphql.GraphExecutor, ctx context.Context, modern bool) *conn {
	return &conn{t: t, ws: ws, exec: exec, ctx: ctx, modern: modern}
}

// serve is the socket's read loop. It owns the end of the connection: after
// a close frame went out it keeps reading, ignoring everything but the peer's
// close, until that comes or closeHandshakeTimeout passes, then drops the TCP
// connection and cancels whatever was in flight.
func (c *conn) serve() {
	defer c.teardown()
	c.ws.SetReadLimit(c.t.cfg.ReadLimit)
	c.ws.SetPongHandler(func(string) error { c.touch(); return nil })
	c.touch()
	c.mu.Lock()
	if !c.closing {
		c.timer = time.AfterFunc(c.t.cfg.InitTimeout, c.initTimedOut)
	}
	c.mu.Unlock()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
				c.t.cfg.Logger.Debug("websocket read", "err", err)
			}
			return
		}
		c.touch()
		c.mu.Lock()
		closing := c.closing
		c.mu.Unlock()
		if closing {
			continue
		}
		var m inbound
		if err := json.Unmarshal(data, &m); err != nil || m.Type == "" {
			c.close(closeBadRequest, "Invalid message received")
			continue
		}
		c.handle(&m)
	}
}

func (c *conn) touch() { c.lastRead.Store(time.Now().UnixNano()) }

// inbound is a client message of either protocol.
type inbound struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

func (c *conn) handle(m *inbound) {
	switch m.Type {
	case "connection_init":
		c.init(m.Payload)
	case "ping":
		if c.modern {
			c.send(pongFrame(m.Payload))
			return
		}
		c.unexpected(m.Type)
	case "pong":
		if !c.modern {
			c.unexpected(m.Type)
		}
	case "subscribe", "start":
		if (m.Type == "subscribe") != c.modern {
			c.unexpected(m.Type)
			return
		}
		c.start(m.ID, m.Payload)
	case "complete", "stop":
		if (m.Type == "complete") != c.modern {
			c.unexpected(m.Type)
			return
		}
		c.stop(m.ID)
	case "connection_terminate":
		if c.modern {
			c.unexpected(m.Type)
			return
		}
		c.close(websocket.CloseNormalClosure, "terminated")
	default:
		c.unexpected(m.Type)
	}
}

// unexpected refuses a message type the protocol does not have.
func (c *conn) unexpected(typ string) {
	if !c.modern {
		c.send(connectionErrorFrame("unexpected message " + typ))
	}
	c.close(closeBadRequest, "Unexpected message "+truncate(typ, 60))
}

func (c *conn) init(payload json.RawMessage) {
	c.mu.Lock()
	if c.acked {
		c.mu.Unlock()
		c.close(closeTooManyInits, "Too many initialisation requests")
		return
	}
	c.mu.Unlock()

	var p map[string]any
	if len(payload) > 0 && string(payload) != "null" {
		if err := json.Unmarshal(payload, &p); err != nil {
			c.refuse("connection_init payload must be an object")
			return
		}
	}
	ctx, expires, err := c.ctx, time.Time{}, error(nil)
	if c.t.cfg.Init != nil {
		ctx, expires, err = c.t.cfg.Init(c.ctx, p)
	}
	if err != nil {
		c.refuse(err.Error())
		return
	}
	key := ""
	if c.t.cfg.SocketKey != nil {
		key = c.t.cfg.SocketKey(ctx)
	}
	if key != "" && !c.t.claim(key) {
		c.close(closeTryAgainLater, "Too many sockets for this user")
		return
	}

	c.mu.Lock()
	if c.closing || c.acked {
		c.mu.Unlock()
		if key != "" {
			c.t.release(key)
		}
		return
	}
	c.key = key
	c.acked = true
	c.ctx = ctx
	c.timer.Stop()
	c.timer = time.AfterFunc(c.t.cfg.PingInterval, c.ping)
	if !expires.IsZero() {
		c.expiry = time.AfterFunc(time.Until(expires), func() {
			c.close(websocket.CloseNormalClosure, "token expired")
		})
	}
	c.enqueueLocked(item{frame: ackFrame})
	if !c.modern {
		c.enqueueLocked(item{frame: keepAliveFrame})
	}
	c.mu.Unlock()
}

// refuse ends a socket whose connection_init was refused: 4403, after a
// connection_error saying why on the legacy protocol (graphql-transport-ws
// has no message for it; the close reason carries it).
func (c *conn) refuse(reason string) {
	if !c.modern {
		c.send(connectionErrorFrame(reason))
	}
	c.close(closeForbidden, "Forbidden: "+truncate(reason, 100))
}

func (c *conn) initTimedOut() {
	code := closeInitTimeout
	if !c.modern {
		code = websocket.CloseProtocolError // the legacy protocol has no code of its own
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Checked and closed under one lock: an init acked meanwhile wins.
	if !c.acked {
		c.closeLocked(code, "Connection initialisation timeout")
	}
}

// ping runs every PingInterval once the socket is acknowledged. A peer
// silent for two intervals (no message, no pong) is gone and is dropped;
// otherwise it is pinged: a protocol ping on graphql-transport-ws, which the
// client answers with pong; a keep-alive and a WebSocket ping frame, which
// browsers answer by themselves, on the legacy protocol.
//
// A peer is dropped only once a ping went out after the last thing it sent:
// a timer that fires late (a loaded machine, a paused process) must not
// drop a peer that was never asked.
func (c *conn) ping() {
	interval := c.t.cfg.PingInterval
	last := c.lastRead.Load()
	if c.pingedAt.Load() > last && time.Since(time.Unix(0, last)) > 2*interval {
		c.close(websocket.CloseGoingAway, "no pong")
		return
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	if c.modern {
		c.enqueueLocked(item{frame: pingFrame})
	} else {
		c.enqueueLocked(item{frame: keepAliveFrame})
	}
	c.pingedAt.Store(time.Now().UnixNano())
	c.timer.Reset(interval)
	c.mu.Unlock()
	if !c.modern {
		// Outside mu: it waits for gorilla's write lock, which a writer
		// stuck on a peer that stopped reading holds until WriteTimeout.
		_ = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.t.cfg.WriteTimeout))
	}
}

// send queues a frame.
func (c *conn) send(frame []byte) {
	c.mu.Lock()
	c.enqueueLocked(item{frame: frame})
	c.mu.Unlock()
}

// enqueueLocked adds it to the queue and makes sure a writer runs. Called
// with mu held.
func (c *conn) enqueueLocked(it item) {
	if c.closing {
		return
	}
	if len(c.queue)+c.inFlight >= c.t.cfg.MaxQueued {
		// The writer is stuck on a peer that does not read, and the peer
		// keeps asking (queries) or its subscriptions keep receiving: end
		// it rather than queue without bound. What is queued will not be
		// read anyway.
		clear(c.queue)
		c.queue = c.queue[:0]
		c.closeLocked(websocket.CloseTryAgainLater, "too slow: reconnect")
		return
	}
	c.pushLocked(it)
}

func (c *conn) pushLocked(it item) {
	c.queue = append(c.queue, it)
	if !c.writing {
		c.writing = true
		go c.write()
	}
}

// write drains the queue, then ends: an idle socket has no writer.
func (c *conn) write() {
	for {
		c.mu.Lock()
		batch := c.queue
		if len(batch) == 0 {
			c.writing = false
			c.queue = nil
			c.mu.Unlock()
			return
		}
		c.queue, c.spare = c.spare[:0], nil
		c.inFlight = len(batch)
		c.mu.Unlock()

		// One deadline for the batch: it bounds a peer that stops reading.
		if err := c.ws.SetWriteDeadline(time.Now().Add(c.t.cfg.WriteTimeout)); err != nil {
			c.fail(err)
			return
		}
		for i, it := range batch {
			batch[i] = item{}
			switch {
			case it.close:
				c.writeClose(it.frame)
				return // the queue ends with the close; writing stays true so nothing restarts
			case it.op != nil:
				c.step(it.op)
			default:
				if err := c.writeFrame(it.frame); err != nil {
					c.fail(err)
					return
				}
			}
		}

		c.mu.Lock()
		c.inFlight = 0
		if cap(batch) <= 64 { // keep a small batch for next time; let a big one go
			c.spare = batch[:0]
		}
		c.mu.Unlock()
	}
}

// writeClose sends the close frame, then bounds the wait for the peer's:
// the read loop ends when it comes or at the deadline.
func (c *conn) writeClose(msg []byte) {
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.t.cfg.WriteTimeout)); err != nil {
		_ = c.ws.NetConn().Close()
		return
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(closeHandshakeTimeout))
}

// writeFrame writes one text frame. Only the writer goroutine calls it,
// under the batch's deadline.
func (c *conn) writeFrame(b []byte) error {
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// fail drops a socket whose write failed (the peer is gone or stopped
// reading): there is no point in a close handshake.
func (c *conn) fail(err error) {
	c.t.cfg.Logger.Debug("websocket write", "err", err)
	c.mu.Lock()
	c.closing = true
	c.queue = nil
	c.mu.Unlock()
	_ = c.ws.NetConn().Close() // the read loop fails and tears down
}

// close ends the socket: what is queued is written, then a close frame, and
// the read loop waits for the peer's close. Nothing queued after it is
// written. It is idempotent.
func (c *conn) close(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(code, reason)
}

func (c *conn) closeLocked(code int, reason string) {
	if c.closing {
		return
	}
	c.closing = true
	c.stopTimersLocked()
	c.pushLocked(item{frame: websocket.FormatCloseMessage(code, truncate(reason, 123)), close: true})
}

func (c *conn) stopTimersLocked() {
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.expiry != nil {
		c.expiry.Stop()
	}
}

// teardown runs when the read loop ends, whatever the reason.
func (c *conn) teardown() {
	c.mu.Lock()
	c.closing = true
	c.queue = nil
	c.stopTimersLocked()
	ops := c.ops
	c.ops = nil
	key := c.key
	c.key = ""
	c.mu.Unlock()
	if key != "" {
		c.t.release(key)
	}
	_ = c.ws.Close()
	for _, op := range ops {
		op.cancel()
	}
	c.t.forget(c)
}

// truncate cuts s to at most n bytes, on a character boundary: a close
// reason must be valid UTF-8, or clients fail the connection instead of
// reading its code.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Frames that never change.
var (
	ackFrame       = []byte(`{"type":"connection_ack"}`)
	keepAliveFrame = []byte(`{"type":"ka"}`)
	pingFrame      = []byte(`{"type":"ping"}`)
)

func pongFrame(payload json.RawMessage) []byte {
	if len(payload) == 0 || !json.Valid(payload) {
		return []byte(`{"type":"pong"}`)
	}
	return fmt.Appendf(nil, `{"type":"pong","payload":%s}`, payload)
}

func connectionErrorFrame(msg string) []byte {
	b, _ := json.Marshal(map[string]any{"type": "connection_error", "payload": map[string]string{"message": msg}})
	return b
}
