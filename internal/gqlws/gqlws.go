// Package gqlws serves GraphQL over WebSocket — graphql-transport-ws (the
// graphql-ws library, Apollo Client's GraphQLWsLink) and the legacy graphql-ws
// (subscriptions-transport-ws) — for a gqlgen executor, on gorilla/websocket.
//
// It replaces gqlgen's transport.Websocket to make an idle socket cheap. gqlgen
// spends four goroutines on a graphql-transport-ws socket with one
// subscription: the read loop, a ping ticker, a watcher of the connection's
// context and one goroutine per subscription blocked on the resolver's
// channel. Here a socket has one goroutine, its read loop:
//
//   - the init timeout, pings and the token's expiry are timers
//     (time.AfterFunc), which cost no goroutine while they wait;
//   - writes go through a per-socket queue drained by a goroutine that exists
//     only while there is something to write;
//   - a subscription resolver that pushes (see [Notifier]) tells the socket
//     when its channel holds an event; the writer then runs gqlgen's response
//     handler, which finds the event waiting and does not block. A resolver
//     that does not push is served as gqlgen does, by a goroutine blocked on
//     the handler.
//
// The protocol follows graphql-ws's PROTOCOL.md: 4400 for a malformed
// message, 4401 for a subscribe before the ack, 4403 for a refused
// connection_init, 4408 when none came in time, 4409 for a reused operation
// id, 4429 for a second connection_init.
package gqlws

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"
)

// Subprotocols, in order of preference.
const (
	TransportWS = "graphql-transport-ws"
	LegacyWS    = "graphql-ws"
)

// Defaults for zero Config fields.
const (
	DefaultInitTimeout  = 5 * time.Second
	DefaultPingInterval = 20 * time.Second
	DefaultReadLimit    = 64 << 10
	DefaultWriteTimeout = 10 * time.Second
	DefaultMaxQueued    = 4096
	// Quotas (see Config): generous for an app's tabs and components,
	// small enough that one client cannot pin the instance's memory.
	DefaultMaxOperations    = 100
	DefaultMaxSubscriptions = 50
	DefaultMaxSocketsPerKey = 20

	// closeHandshakeTimeout is how long a closing socket waits for the
	// peer's close frame before dropping the TCP connection.
	closeHandshakeTimeout = 5 * time.Second
)

// InitFunc authenticates a socket from its connection_init payload. The
// context it returns is the socket's for every operation. A non-zero expiry
// closes the socket at that moment (1000, "token expired"): the client
// reconnects with a fresh token. An error refuses the socket with 4403.
type InitFunc func(ctx context.Context, payload map[string]any) (context.Context, time.Time, error)

// Config configures a Transport.
type Config struct {
	Init         InitFunc
	InitTimeout  time.Duration // DefaultInitTimeout if zero
	PingInterval time.Duration // DefaultPingInterval if zero; a peer silent for twice this is dropped
	ReadLimit    int64         // largest client message, DefaultReadLimit if zero
	WriteTimeout time.Duration // bounds each write, DefaultWriteTimeout if zero
	// MaxQueued bounds the frames and subscription steps waiting behind a
	// socket's writer (DefaultMaxQueued if zero); past it the peer is not
	// reading and the socket closes with 1013 (try again later).
	MaxQueued int
	// CheckOrigin vets the handshake's Origin (gorilla's same-origin check
	// if nil); a refusal is HTTP 403.
	CheckOrigin func(*http.Request) bool
	// BaseContext returns the context a socket starts from, given the
	// upgrade request; the default keeps r.Context()'s values, without its
	// cancellation. Every field of every event looks values up through
	// this chain, so a short one is cheaper.
	BaseContext func(r *http.Request) context.Context
	// Logger gets socket errors at debug level (slog.Default() if nil).
	Logger *slog.Logger

	// MaxOperations bounds the operations in flight on one socket
	// (DefaultMaxOperations if zero), MaxSubscriptions the subscriptions
	// among them (DefaultMaxSubscriptions if zero). An operation past
	// either gets an error message (code RATE_LIMITED) and does not run;
	// the socket stays open.
	MaxOperations    int
	MaxSubscriptions int
	// SocketKey names whom an initialised socket belongs to (the user),
	// from the context Init returned; "" counts it for no one. At most
	// MaxSocketsPerKey (DefaultMaxSocketsPerKey if zero) sockets per key
	// are open on this transport: the next closes with 1013 (try again
	// later) right after its connection_init.
	SocketKey        func(ctx context.Context) string
	MaxSocketsPerKey int
}

// closeTryAgainLater is what a socket past its owner's quota closes with:
// graphql-ws clients retry it with backoff.
const closeTryAgainLater = 1013

// Transport is a gqlgen transport (graphql.Transport) for WebSocket upgrades.
// Create it with New.
type Transport struct {
	cfg      Config
	upgrader websocket.Upgrader

	mu       sync.Mutex
	conns    map[*conn]struct{}
	perKey   map[string]int // initialised sockets by SocketKey
	draining bool
	drained  chan struct{} // closed once draining and no socket is left
}

var _ graphql.Transport = (*Transport)(nil)

// writeBuffers lends gorilla a write buffer only while a frame is written,
// so that an idle socket holds none.
var writeBuffers sync.Pool

// New returns a transport configured by cfg.
func New(cfg Config) *Transport {
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.ReadLimit <= 0 {
		cfg.ReadLimit = DefaultReadLimit
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = DefaultMaxQueued
	}
	if cfg.MaxOperations <= 0 {
		cfg.MaxOperations = DefaultMaxOperations
	}
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if cfg.MaxSocketsPerKey <= 0 {
		cfg.MaxSocketsPerKey = DefaultMaxSocketsPerKey
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BaseContext == nil {
		cfg.BaseContext = func(r *http.Request) context.Context { return context.WithoutCancel(r.Context()) }
	}
	return &Transport{
		cfg: cfg,
		upgrader: websocket.Upgrader{
			Subprotocols: []string{TransportWS, LegacyWS},
			CheckOrigin:  cfg.CheckOrigin,
			// A small read buffer of its own instead of keeping net/http's
			// 4 KiB one: clients send little (init, subscribe, pong), and a
			// larger message is read in more calls, not refused.
			ReadBufferSize:  512,
			WriteBufferSize: 4096,
			WriteBufferPool: &writeBuffers,
		},
		conns:  make(map[*conn]struct{}),
		perKey: make(map[string]int),
	}
}

// claim counts an initialised socket for key; false when key has its
// quota of sockets already.
func (t *Transport) claim(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.perKey[key] >= t.cfg.MaxSocketsPerKey {
		return false
	}
	t.perKey[key]++
	return true
}

// release uncounts a socket claim counted.
func (t *Transport) release(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.perKey[key]--; t.perKey[key] <= 0 {
		delete(t.perKey, key)
	}
}

// Supports reports whether r asks for a WebSocket upgrade.
func (t *Transport) Supports(r *http.Request) bool {
	return websocket.IsWebSocketUpgrade(r)
}

// Do upgrades the request and serves the socket on a goroutine of its own,
// so that net/http's per-request state (its buffers, the request) is freed
// as soon as the handshake is done.
func (t *Transport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ws, err := t.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // gorilla has answered: 403 for a refused origin, 400 for a bad handshake
	}
	// A client that offered no subprotocol speaks the legacy one, as gqlgen assumes.
	c := newConn(t, ws, exec, t.cfg.BaseContext(r), ws.Subprotocol() == TransportWS)
	t.mu.Lock()
	if t.draining {
		t.mu.Unlock()
		c.close(websocket.CloseGoingAway, "server shutting down")
		go c.serve()
		return
	}
	t.conns[c] = struct{}{}
	t.mu.Unlock()
	go c.serve()
}

// Open is the number of open sockets.
func (t *Transport) Open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// Shutdown closes every socket with 1001 (going away), so that clients
// reconnect, to another instance behind the load balancer, and refuses new
// ones; operations in flight are cancelled. It waits until the peers have
// answered the close or ctx ends.
func (t *Transport) Shutdown(ctx context.Context) {
	t.mu.Lock()
	if !t.draining {
		t.draining = true
		t.drained = make(chan struct{})
		if len(t.conns) == 0 {
			close(t.drained)
		}
	}
	drained := t.drained
	conns := make([]*conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.close(websocket.CloseGoingAway, "server shutting down")
	}
	select {
	case <-drained:
	case <-ctx.Done():
	}
}

func (t *Transport) forget(c *conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.conns[c]; !ok {
		return
	}
	delete(t.conns, c)
	if t.draining && len(t.conns) == 0 {
		close(t.drained)
	}
}
