package graph

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/gqlws"
	"github.com/agentgraph/agentgraph/internal/knowledge"
	"github.com/agentgraph/agentgraph/internal/loaders"
	domain "github.com/agentgraph/agentgraph/internal/model"
	"github.com/agentgraph/agentgraph/internal/page"
)

// Limits of a request (README.md documents them).
const (
	// MaxBodyBytes bounds a POST body; gqlgen has no limit of its own.
	MaxBodyBytes = 1 << 20
	// MaxComplexity bounds a query's cost: a field costs 1, a connection its
	// page size times its selection.
	MaxComplexity = 5000
)

// Options configure the GraphQL handler.
type Options struct {
	Verifier   *auth.Verifier
	LoaderWait time.Duration
	// Sockets serves WebSocket upgrades on /query (see Sockets). When nil,
	// WebSocket, if set, serves them through gqlgen's transport instead
	// (wsgorilla or gqlgen's coder adapter); with neither, /query has no
	// WebSocket.
	Sockets   *gqlws.Transport
	WebSocket transport.WebsocketImplementation
	// APQCache holds automatic persisted queries; nil disables them.
	APQCache graphql.Cache[string]
}

// NewHandler returns the HTTP handler of /query.
func NewHandler(r *Resolver, o Options) http.Handler {
	cfg := Config{Resolvers: r}
	setComplexity(&cfg.Complexity)
	srv := handler.New(NewExecutableSchema(cfg))
	switch {
	case o.Sockets != nil:
		srv.AddTransport(o.Sockets)
	case o.WebSocket != nil:
		srv.AddTransport(websocket(o.Verifier, o.WebSocket))
	}
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	if o.APQCache != nil {
		srv.Use(extension.AutomaticPersistedQuery{Cache: o.APQCache})
	}
	srv.Use(extension.FixedComplexityLimit(MaxComplexity))
	srv.SetErrorPresenter(presentError)
	srv.SetRecoverFunc(recoverPanic)
	srv.AroundRootFields(requireUser)
	srv.AroundResponses(freshLoaders(r.Store, o.LoaderWait))

	var h http.Handler = srv
	h = loaders.Middleware(r.Store, o.LoaderWait, h)
	h = auth.Middleware(o.Verifier)(h)
	return limitBody(h)
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

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// setComplexity prices list fields by the size of the page they return.
func setComplexity(c *ComplexityRoot) {
	size := func(first *int) int {
		if first == nil || *first <= 0 {
			return page.DefaultSize
		}
		return *first
	}
	c.Query.Agents = func(child int, first *int, _ *string, _ *domain.AgentStatus, _ *domain.AgentType) int {
		return 1 + child*size(first)
	}
	c.Query.Collections = func(child int, first *int, _ *string) int { return 1 + child*size(first) }
	// A search costs what it may return: limit hits (10 by default).
	c.Query.SearchKnowledge = func(child int, _ string, _ *string, _ []string, limit *int) int {
		n := knowledge.DefaultLimit
		if limit != nil && *limit > 0 {
			n = *limit
		}
		return 1 + child*n
	}
	c.KnowledgeCollection.Entries = func(child int, first *int, _ *string, _ *domain.KnowledgeType) int {
		return 1 + child*size(first)
	}
}
