// Package wsgorilla plugs github.com/gorilla/websocket into gqlgen's WebSocket
// transport. gqlgen dropped its own gorilla support and now accepts any library
// through transport.WebsocketImplementation; this adapter follows the
// semantics of gqlgen's reference adapter (transport.CoderWebsocketImplementation):
// a normal close reads as transport.ErrWebsocketClosed, subprotocols are merged
// with gqlgen's, PayloadReadLimit and missing-pong deadlines are enforced, and
// closing performs a close handshake in the background.
//
// Use it as
//
//	transport.Websocket{
//		Implementation: wsgorilla.Implementation{
//			Upgrader: websocket.Upgrader{CheckOrigin: wsgorilla.OriginChecker(allowed)},
//		},
//		InitTimeout:      10 * time.Second,
//		PingPongInterval: 25 * time.Second, // graphql-transport-ws
//		KeepAlivePingInterval: 25 * time.Second, // legacy graphql-ws
//	}
package wsgorilla

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

const (
	// DefaultWriteTimeout bounds each write when Implementation.WriteTimeout is
	// zero. gqlgen holds its per-connection lock while writing, so a peer that
	// stops reading would otherwise stall every subscription, the keep-alive and
	// the close of that connection forever.
	DefaultWriteTimeout = 10 * time.Second

	// closeHandshakeTimeout is how long we wait for the peer's close frame
	// after sending ours; the same 5 seconds coder/websocket waits.
	closeHandshakeTimeout = 5 * time.Second

	// A close frame is a control frame: at most 125 bytes of payload, two of
	// which are the status code.
	maxCloseReason = 123

	// Close code the graphql-transport-ws protocol defines for a client that
	// sent no connection_init in time.
	closeInitTimeout = 4408

	subprotocolGraphQLTransportWS = "graphql-transport-ws"
)

// Implementation accepts WebSocket connections for gqlgen with gorilla/websocket.
// The zero value is usable: same-origin requests only (gorilla's default
// CheckOrigin) and DefaultWriteTimeout.
//
// One deliberate difference from gqlgen's coder adapter: on a
// graphql-transport-ws connection, gqlgen's InitTimeout close (1002
// "connection initialisation timeout") goes out as 4408, the code that
// protocol defines for it. The graphql-ws client library gives up on 1002 as
// fatal but reconnects after 4408.
type Implementation struct {
	// Upgrader performs the handshake. Set CheckOrigin (see OriginChecker);
	// gqlgen's subprotocols are appended to Subprotocols, which keep their
	// order of preference.
	Upgrader websocket.Upgrader

	// WriteTimeout bounds each message and close-frame write. Zero means
	// DefaultWriteTimeout; a negative value means no timeout. A write that
	// fails or times out drops the connection.
	WriteTimeout time.Duration
}

var _ transport.WebsocketImplementation = Implementation{}

// Accept upgrades the request. On failure gorilla has already written the HTTP
// error (403 for a refused origin, 400 for a bad handshake).
func (i Implementation) Accept(
	w http.ResponseWriter,
	r *http.Request,
	options transport.WebsocketAcceptOptions,
) (transport.WebsocketConn, error) {
	upgrader := i.Upgrader // a copy: Accept must not change the caller's Upgrader
	upgrader.Subprotocols = slices.Clone(i.Upgrader.Subprotocols)
	for _, p := range options.Subprotocols {
		if !slices.Contains(upgrader.Subprotocols, p) {
			upgrader.Subprotocols = append(upgrader.Subprotocols, p)
		}
	}

	ws, err := upgrader.Upgrade(w, r, options.ResponseHeader)
	if err != nil {
		return nil, err
	}

	writeTimeout := i.WriteTimeout
	if writeTimeout == 0 {
		writeTimeout = DefaultWriteTimeout
	}
	c := &conn{ws: ws, writeTimeout: writeTimeout}

	// net/http cancels the request context when the handler returns, even for
	// a hijacked connection. By then gqlgen is done with the socket, and on
	// some paths it never closes it: a connection_init whose payload is not a
	// JSON object makes gqlgen return without a close, and an InitFunc that
	// returns a nil context with its error panics. Without this the connection
	// would stay open, unread, for as long as the client keeps it. When gqlgen
	// has closed it already this is a no-op; otherwise it is the same close
	// gqlgen sends when its read loop ends.
	context.AfterFunc(r.Context(), func() {
		_ = c.WriteClose(transport.WebsocketCloseNormalClosure, "terminated")
	})

	return c, nil
}

type conn struct {
	ws           *websocket.Conn
	writeTimeout time.Duration // negative: none
	readLimit    atomic.Int64  // <= 0: none

	// gorilla allows one reader and one writer at a time. Reads come from
	// gqlgen's read loop (or an abandoned read of its InitTimeout) and from the
	// close handshake; writes come from every subscription's goroutine.
	// gqlgen serializes its writes today, but that is its implementation
	// detail, not the interface's contract.
	readMu  sync.Mutex
	writeMu sync.Mutex

	mu sync.Mutex
	// closing is set once a close frame has been written or the connection
	// dropped. From then on the close handshake (or nobody) owns the read
	// deadline and the final Close.
	closing bool
}

var (
	_ transport.WebsocketConn          = (*conn)(nil)
	_ transport.WebsocketReadLimiter   = (*conn)(nil)
	_ transport.WebsocketReadDeadliner = (*conn)(nil)
)

// errMessageTooBig is returned from NextReader after a message over the read
// limit; the peer has been sent close code 1009.
var errMessageTooBig = errors.New("wsgorilla: message exceeds read limit")

// NextReader reads a whole message. Buffering it (as coder/websocket does)
// lets the close handshake take over reading at any time without racing a
// half-consumed gorilla reader.
func (c *conn) NextReader() (int, io.Reader, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()

	messageType, r, err := c.ws.NextReader()
	if err != nil {
		return messageType, nil, c.readError(err)
	}

	// The limit is enforced here rather than with gorilla's SetReadLimit:
	// gorilla's reader is dead after ErrReadLimit, so the rest of the oversized
	// message cannot be drained, and closing a socket with unread data makes
	// the kernel reset the connection. (Tried: the test client's write then
	// fails with "connection reset by peer" instead of it reading 1009.)
	limit := c.readLimit.Load()
	if limit > 0 {
		r = io.LimitReader(r, limit+1)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return messageType, nil, c.readError(err)
	}
	if limit > 0 && int64(len(data)) > limit {
		_ = c.WriteClose(websocket.CloseMessageTooBig, fmt.Sprintf("read limited at %d bytes", limit))
		return messageType, nil, errMessageTooBig
	}
	return messageType, bytes.NewReader(data), nil
}

func (c *conn) readError(err error) error {
	var closeErr *websocket.CloseError
	if errors.As(err, &closeErr) &&
		(closeErr.Code == websocket.CloseNormalClosure || closeErr.Code == websocket.CloseNoStatusReceived) {
		// gqlgen treats this as a clean end rather than reporting it to ErrorFunc.
		return transport.ErrWebsocketClosed
	}

	// A read deadline passed: with PingPongInterval that is gqlgen's missing
	// pong. Drop the connection without a close frame, as the coder adapter
	// does, so the client sees 1006 as gqlgen documents. (If we are closing
	// already, Close is a no-op and the handshake finishes the job.)
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		_ = c.Close()
	}
	return err
}

func (c *conn) WriteJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}

	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(c.writeDeadline())
	if err := c.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		// After a failed write gorilla refuses all further writes, so the
		// connection is useless; dropping it ends gqlgen's read loop, which
		// cancels the subscriptions. ErrCloseSent only means we are closing.
		if !errors.Is(err, websocket.ErrCloseSent) {
			_ = c.Close()
		}
		return err
	}
	return nil
}

// WriteClose sends a close frame once and returns without waiting: like the
// coder adapter, the rest of the handshake (waiting up to 5 seconds for the
// peer's close frame, then closing the TCP connection) runs in the background
// so gqlgen's teardown and CloseFunc do not wait on a slow or absent peer.
func (c *conn) WriteClose(closeCode int, message string) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return nil
	}
	c.closing = true
	c.mu.Unlock()

	if closeCode == transport.WebsocketCloseProtocolError &&
		message == "connection initialisation timeout" &&
		c.ws.Subprotocol() == subprotocolGraphQLTransportWS {
		closeCode = closeInitTimeout
	}

	err := c.ws.WriteControl(
		websocket.CloseMessage,
		websocket.FormatCloseMessage(closeCode, truncateReason(message)),
		c.writeDeadline(),
	)
	go c.finishClose()

	// gorilla sends at most one close frame. ErrCloseSent means it already
	// answered the peer's close, or refused an oversized or malformed frame
	// with its own close.
	if errors.Is(err, websocket.ErrCloseSent) {
		return nil
	}
	return err
}

// finishClose waits for the peer's close frame, discarding anything it sends
// before it, then closes the TCP connection. The read deadline also ends any
// read gqlgen still has in flight, so readMu comes free within the timeout.
func (c *conn) finishClose() {
	_ = c.ws.NetConn().SetReadDeadline(time.Now().Add(closeHandshakeTimeout))
	c.readMu.Lock()
	for {
		// Errors are permanent in gorilla: the peer's close frame, the
		// deadline, or an earlier failure all end the loop.
		if _, _, err := c.ws.NextReader(); err != nil {
			break
		}
	}
	c.readMu.Unlock()
	_ = c.ws.Close()
}

// Close drops the TCP connection, unless a close handshake is under way: that
// goroutine closes it once the peer answers, and closing now could cut off the
// close frame.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return nil
	}
	c.closing = true
	c.mu.Unlock()
	return c.ws.Close()
}

func (c *conn) Subprotocol() string {
	return c.ws.Subprotocol()
}

// SetReadLimit takes effect from the next message; gqlgen calls it before the
// first read.
func (c *conn) SetReadLimit(limit int64) {
	c.readLimit.Store(limit)
}

// SetReadDeadline is called by gqlgen's ping goroutine while its read loop is
// blocked in NextReader, so it goes straight to the net.Conn, whose deadlines
// are safe for concurrent use (gorilla counts its own SetReadDeadline as a read
// method). Once closing, the handshake's deadline must stand: a late pong
// clearing it could leave the handshake waiting forever.
func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return nil
	}
	return c.ws.NetConn().SetReadDeadline(t)
}

func (c *conn) writeDeadline() time.Time {
	if c.writeTimeout < 0 {
		return time.Time{}
	}
	return time.Now().Add(c.writeTimeout)
}

// truncateReason keeps a close reason within a control frame, on a rune
// boundary: gorilla refuses to send an oversized close frame at all, and the
// reason can come from the application (transport.AppendCloseReason).
func truncateReason(s string) string {
	if len(s) <= maxCloseReason {
		return s
	}
	cut := maxCloseReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
