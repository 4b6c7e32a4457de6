package graph

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/gqlws"
	"github.com/agentgraph/agentgraph/internal/requestid"
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
)

// SocketQuotas bound what one socket and one user may hold on an instance;
// zero fields take gqlws's defaults (README.md, Subscriptions).
type SocketQuotas struct {
	Operations, Subscriptions, PerUser int
}

// Sockets returns the WebSocket transport of /query (internal/gqlws): one goroutine per idle socket, timers for the init timeout,
// pings and the token's expiry. checkOrigin vets browser origins.
func Sockets(v *auth.Verifier, checkOrigin func(*http.Request) bool, q SocketQuotas) *gqlws.Transport {
	return gqlws.New(gqlws.Config{
		MaxOperations:    q.Operations,
		MaxSubscriptions: q.Subscriptions,
		MaxSocketsPerKey: q.PerUser,
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
		// Sockets count per user.
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
