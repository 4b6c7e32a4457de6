package graph

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/gqlws"
	"github.com/agentgraph/agentgraph/internal/loaders"
	"github.com/agentgraph/agentgraph/internal/requestid"
	"github.com/agentgraph/agentgraph/internal/store"
)

// WebSocket settings (README.md documents them).
const (
	// wsInitTimeout bounds the wait for connection_init: an idle socket that
	// never authenticates is closed (4408 on graphql-transport-ws).
	wsInitTimeout = 5 * time.Second
	// wsPingInterval pings graphql-transport-ws clients and drops those that
	// do not pong within twice the interval; legacy graphql-ws clients get a
	// keep-alive at the same interval.
	wsPingInterval = 20 * time.Second
	// wsReadLimit bounds one client message: the largest valid sendMessage
	// (20,000 characters of up to 4 bytes each, JSON-escaped ≈ 80 KB) must fit.
	wsReadLimit int64 = 256 << 10
	// closeForbidden is graphql-ws's code for a refused connection_init: the
	// client library does not retry it, so a bad token causes no retry storm.
	closeForbidden = 4403
)

// Sockets returns the WebSocket transport of /query (internal/gqlws, the
// default): one goroutine per idle socket, timers for the init timeout,
// pings and the token's expiry. checkOrigin vets browser origins.
func Sockets(v *auth.Verifier, checkOrigin func(*http.Request) bool) *gqlws.Transport {
	return gqlws.New(gqlws.Config{
		Init: func(ctx context.Context, payload map[string]any) (context.Context, time.Time, error) {
			u, err := initUser(ctx, v, payload)
			if err != nil {
				return ctx, time.Time{}, err
			}
			return auth.WithUser(ctx, u), u.ExpiresAt, nil
		},
		InitTimeout:  wsInitTimeout,
		PingInterval: wsPingInterval,
		ReadLimit:    wsReadLimit,
		CheckOrigin:  checkOrigin,
		// Quotas: gqlws's defaults (README.md); sockets count per user.
		SocketKey: func(ctx context.Context) string {
			if u, ok := auth.UserFrom(ctx); ok {
				return u.ID.String()
			}
			return ""
		},
		// Only the request id from the upgrade: the user comes from
		// connection_init, loaders are made per event.
		BaseContext: func(r *http.Request) context.Context {
			return requestid.With(context.Background(), requestid.From(r.Context()))
		},
	})
}

// initUser authenticates a connection_init payload, in every form
// runtime.md lists.
func initUser(ctx context.Context, v *auth.Verifier, payload map[string]any) (auth.User, error) {
	token := auth.TokenFromInitPayload(payload)
	if token == "" {
		return auth.User{}, errors.New("authentication required: send the token in the connection_init payload")
	}
	return v.Verify(ctx, token)
}

// websocket returns gqlgen's WebSocket transport of /query for both
// subprotocols, on impl (WEBSOCKET_IMPL gorilla or coder).
func websocket(v *auth.Verifier, impl transport.WebsocketImplementation) transport.Websocket {
	limit := wsReadLimit
	return transport.Websocket{
		Implementation:        impl,
		InitFunc:              wsInit(v),
		InitTimeout:           wsInitTimeout,
		PingPongInterval:      wsPingInterval,
		KeepAlivePingInterval: wsPingInterval,
		PayloadReadLimit:      &limit,
		CloseFunc: func(ctx context.Context, _ int) {
			if cancel, ok := ctx.Value(expiryKey{}).(context.CancelFunc); ok {
				cancel()
			}
		},
		ErrorFunc: func(ctx context.Context, err error) {
			// Missed pongs and peers that vanish are routine for sockets.
			slog.DebugContext(ctx, "websocket", "request_id", requestid.From(ctx), "err", err)
		},
	}
}

type expiryKey struct{}

// wsInit authenticates a socket from its connection_init payload, in every
// form runtime.md lists. The socket lives no longer than its token: its
// context ends at the token's expiry, which closes it; the client then
// reconnects with a fresh token.
func wsInit(v *auth.Verifier) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		u, err := initUser(ctx, v, payload)
		if err != nil {
			return transport.WithWebsocketCloseCode(ctx, closeForbidden), nil, err
		}
		ctx = auth.WithUser(ctx, u)
		ctx, cancel := context.WithDeadline(ctx, u.ExpiresAt)
		return context.WithValue(ctx, expiryKey{}, context.CancelFunc(cancel)), nil, nil
	}
}

// freshLoaders gives every subscription event, and every operation sent over
// a socket, its own loaders: a socket lives for hours, and loaders cache rows,
// so one set per connection would serve stale data and grow without bound.
// An event pushed to subscriptions on our transport is executed once for
// all the subscriptions it reached with the same operation (executeEvent).
func freshLoaders(s *store.Store, wait time.Duration) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		if q, ok := gqlws.Attached(ctx).(*eventQueue); ok {
			if ev := q.pop(); ev != nil {
				return executeEvent(ctx, s, wait, q, ev, next)
			}
		}
		if gqlws.OnSocket(ctx) || graphql.HasOperationContext(ctx) && isSubscription(graphql.GetOperationContext(ctx)) {
			ctx = loaders.Lazy(ctx, s, wait)
		}
		return next(ctx)
	}
}

// closeInitTimeout is graphql-transport-ws's code for a socket that sent no
// connection_init in time. gqlgen closes with 1002, which the graphql-ws
// client treats as fatal and never retries.
const closeInitTimeout = 4408

// InitTimeoutCode wraps a WebSocket implementation so that gqlgen's init
// timeout close goes out as 4408 on graphql-transport-ws sockets, whatever the
// library (wsgorilla does this itself; coder/websocket needs the wrapper).
type InitTimeoutCode struct {
	transport.WebsocketImplementation
}

// Accept accepts the socket through the wrapped implementation.
func (i InitTimeoutCode) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	c, err := i.WebsocketImplementation.Accept(w, r, o)
	if err != nil {
		return nil, err
	}
	return initTimeoutConn{c}, nil
}

type initTimeoutConn struct{ transport.WebsocketConn }

func (c initTimeoutConn) WriteClose(code int, msg string) error {
	if code == transport.WebsocketCloseProtocolError && msg == "connection initialisation timeout" &&
		c.Subprotocol() == "graphql-transport-ws" {
		code = closeInitTimeout
	}
	return c.WebsocketConn.WriteClose(code, msg)
}

// The optional interfaces gqlgen uses for the read limit and pong deadline.
func (c initTimeoutConn) SetReadLimit(n int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(n)
	}
}

func (c initTimeoutConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}

// isSubscription reports whether oc is a subscription's.
func isSubscription(oc *graphql.OperationContext) bool {
	return oc != nil && oc.Operation != nil && oc.Operation.Operation == ast.Subscription
}
