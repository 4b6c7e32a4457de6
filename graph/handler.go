package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/gqlws"
	"github.com/agentgraph/agentgraph/internal/limits"
	"github.com/agentgraph/agentgraph/internal/live"
	"github.com/agentgraph/agentgraph/internal/loaders"
	"github.com/agentgraph/agentgraph/internal/ratelimit"
)

// MaxBodyBytes bounds a request body; gqlgen has no limit of its own. The
// other limits of a request are limits.Config (README.md documents them).
const MaxBodyBytes = 1 << 20

// Options configure the GraphQL handler.
type Options struct {
	Verifier   *auth.Verifier
	LoaderWait time.Duration
	// Sockets serves WebSocket upgrades on /query (see Sockets); nil: no
	// WebSocket.
	Sockets *gqlws.Transport
	// APQCache holds automatic persisted queries; nil disables them.
	APQCache graphql.Cache[string]
	// Limits bound each operation; nil means limits.Defaults().
	Limits *limits.Config
	// RateLimiter meters mutations, LLM calls and subscriptions per
	// caller; nil meters nothing.
	RateLimiter *ratelimit.Limiter
	// CheckDirect, for tests, receives each query's directly executed
	// answer (direct.go) and a function that executes the same operation
	// through gqlgen, under the context it is given.
	CheckDirect func(ctx context.Context, direct *graphql.Response, gqlgen func(context.Context) *graphql.Response)
}

// NewHandler returns the HTTP handler of /query.
func NewHandler(r *Resolver, o Options) http.Handler {
	cfg := Config{Resolvers: r}
	setComplexity(&cfg.Complexity)
	es := &directSchema{executableSchema: NewExecutableSchema(cfg).(*executableSchema), check: o.CheckDirect}
	srv := handler.New(es)
	if o.Sockets != nil {
		srv.AddTransport(o.Sockets)
	}
	srv.AddTransport(transport.Options{})
	srv.AddTransport(rawData{specHTTP{transport.GET{}}})
	srv.AddTransport(rawData{specHTTP{transport.POST{}}})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	lim := limits.Defaults()
	if o.Limits != nil {
		lim = *o.Limits
	}
	if lim.Introspection {
		srv.Use(extension.Introspection{})
	}
	if o.APQCache != nil {
		srv.Use(extension.AutomaticPersistedQuery{Cache: o.APQCache})
	}
	srv.SetParserTokenLimit(lim.Tokens)
	srv.Use(limits.Shape{Depth: lim.Depth, Fields: lim.Fields, Aliases: lim.Aliases, NoIntrospection: !lim.Introspection})
	srv.Use(extension.FixedComplexityLimit(lim.Complexity))
	// Last: an operation refused for its shape or price takes no tokens.
	srv.Use(ratelimit.Extension{Limiter: o.RateLimiter})
	srv.SetErrorPresenter(presentError)
	srv.SetRecoverFunc(recoverPanic)
	// Directly executed queries (direct.go) run no root-field or field
	// middleware: direct.go refuses anonymous callers itself, as
	// requireUser does, and a middleware added here must be added there
	// (or its fields left out of directFields).
	srv.AroundRootFields(requireUser)
	srv.AroundResponses(limits.Deadline(lim.Timeout))
	r.live = live.New(r.Hub, r.Store, o.LoaderWait)
	srv.AroundResponses(r.live.Responses())
	srv.AroundResponses(loaders.Install(r.Store, o.LoaderWait))

	var h http.Handler = srv
	h = auth.Middleware(o.Verifier)(h)
	return ratelimit.HTTP(limitBody(h))
}

// requireUser refuses every root field but introspection to an anonymous
// caller: GraphiQL and schema tools work without a token, data never does.
func requireUser(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	if strings.HasPrefix(graphql.GetRootFieldContext(ctx).Field.Name, "__") {
		return next(ctx)
	}
	if _, err := auth.Require(ctx); err != nil {
		graphql.AddError(ctx, err)
		return graphql.Null
	}
	return next(ctx)
}

// limitBody reads a request's body up to MaxBodyBytes before gqlgen sees
// it, answering a larger one with 413 and PAYLOAD_TOO_LARGE: gqlgen turns a
// failed body read into a 200 or 500 with an internal message.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > MaxBodyBytes {
			tooLarge(w)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		var maxErr *http.MaxBytesError
		switch {
		case errors.As(err, &maxErr):
			tooLarge(w)
			return
		case err != nil:
			// The client went away or sent a broken body: nothing to execute.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			writeError(w, "could not read the request body", string(apperr.BadUserInput))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

func tooLarge(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	// The rest of the body is not read: close rather than drain it.
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	writeError(w, fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes), string(apperr.PayloadTooLarge))
}

// writeError writes a GraphQL response of one error with code, for refusals
// made before gqlgen runs.
func writeError(w io.Writer, msg, code string) {
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{
		"message": msg, "extensions": map[string]any{"code": code},
	}}})
}
