package ratelimit

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/agentgraph/agentgraph/internal/auth"
)

// CodeRateLimited is runtime.md's code for a metered call refused.
const CodeRateLimited = "RATE_LIMITED"

// llmFields are the root mutation fields that start a paid LLM call.
var llmFields = map[string]bool{"sendMessage": true}

// Extension meters operations before they execute. Every operation costs
// points: MinPoints as it arrives, before it is parsed, and the rest of
// its complexity once that is known, so that it costs max(MinPoints,
// complexity) in all. A mutation also takes one token per root field, and
// one more per LLM-starting field from the LLM bucket; a subscription takes
// one. A refused operation runs nothing, and over HTTP it is answered 429
// with Retry-After.
//
// It must be used after gqlgen's complexity extension, whose figure it
// reads; an operation refused for its price pays only MinPoints.
type Extension struct {
	Limiter *Limiter
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = Extension{}

// ExtensionName names the extension for gqlgen.
func (Extension) ExtensionName() string { return "RateLimit" }

// Validate accepts every schema.
func (Extension) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters takes MinPoints before the document is parsed.
func (e Extension) MutateOperationParameters(ctx context.Context, _ *graphql.RawParams) *gqlerror.Error {
	if e.Limiter == nil {
		return nil
	}
	c, ok := callerFrom(ctx)
	if !ok {
		return nil
	}
	return e.take(ctx, c, Points, MinPoints)
}

// MutateOperationContext takes the operation's tokens or refuses it.
func (e Extension) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if e.Limiter == nil || oc.Operation == nil {
		return nil
	}
	c, ok := callerFrom(ctx)
	if !ok {
		return nil
	}
	// gqlgen's executor has put oc in ctx already; saying so again keeps
	// this from depending on it.
	cost := MinPoints
	if s := extension.GetComplexityStats(graphql.WithOperationContext(ctx, oc)); s != nil && s.Complexity > MinPoints {
		if err := e.take(ctx, c, Points, s.Complexity-MinPoints); err != nil {
			return err
		}
		cost = s.Complexity
	}
	oc.Stats.SetExtension(paidStats, &paid{limiter: e.Limiter, caller: c, cost: cost, at: time.Now()})
	switch oc.Operation.Operation {
	case ast.Mutation:
		fields := graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{"Mutation"})
		llm := 0
		for _, f := range fields {
			if llmFields[f.Name] {
				llm++
			}
		}
		if err := e.take(ctx, c, LLM, llm); err != nil {
			return err
		}
		return e.take(ctx, c, Mutation, len(fields))
	case ast.Subscription:
		return e.take(ctx, c, Subscription, 1)
	}
	return nil
}

// paidStats names what an operation paid in its stats (StatusOf).
const paidStats = "RateLimitPaid"

// paid is what an operation paid, to whose bucket, and when.
type paid struct {
	limiter *Limiter
	caller  Caller
	cost    int
	at      time.Time
}

// StatusOf is the caller's budget of points as the operation of ctx left
// it, read as of the moment it paid (so that every read of it in one
// operation agrees); false when points are not metered for the caller.
func StatusOf(ctx context.Context) (Status, bool) {
	if !graphql.HasOperationContext(ctx) {
		return Status{}, false
	}
	p, ok := graphql.GetOperationContext(ctx).Stats.GetExtension(paidStats).(*paid)
	if !ok {
		return Status{}, false
	}
	s, ok := p.limiter.status(p.caller, Points, p.at)
	s.Cost = p.cost
	return s, ok
}

func (e Extension) take(ctx context.Context, c Caller, kind Kind, n int) *gqlerror.Error {
	ok, wait := e.Limiter.Take(c, kind, n)
	if ok {
		return nil
	}
	secs := Seconds(wait)
	if s, ok := ctx.Value(statusKey{}).(*status); ok {
		s.code, s.retryAfter = http.StatusTooManyRequests, secs
	}
	what := "too many " + kind.String() + " calls"
	if kind == Points {
		what = "query budget spent (" + strconv.Itoa(n) + " points asked)"
	}
	return &gqlerror.Error{
		Message:    what + ": retry in " + strconv.Itoa(secs) + "s",
		Extensions: map[string]any{"code": CodeRateLimited, "retryAfter": secs},
	}
}

// callerFrom is the user of ctx, or the client IP HTTP put there.
func callerFrom(ctx context.Context) (Caller, bool) {
	if u, ok := auth.UserFrom(ctx); ok {
		return Caller{Key: u.ID.String(), Anonymous: u.Anonymous}, true
	}
	if ip, ok := ctx.Value(ipKey{}).(string); ok {
		return Caller{Key: "ip:" + ip, Anonymous: true}, true
	}
	return Caller{}, false
}

type (
	ipKey     struct{}
	statusKey struct{}
)

// status is what the extension asks HTTP to answer instead of gqlgen's
// status, when it refused the whole request.
type status struct {
	code, retryAfter int
}

// HTTP puts the client's IP in the request's context (the key of callers
// without a token: RemoteAddr, not a forwarded header a client could
// forge) and answers 429 with Retry-After when the extension refuses the
// request. WebSocket upgrades pass through untouched: a socket's operations
// are refused one by one, with an error message each.
func HTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			ctx = context.WithValue(ctx, ipKey{}, host)
		}
		if r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		s := &status{}
		ctx = context.WithValue(ctx, statusKey{}, s)
		next.ServeHTTP(&statusWriter{ResponseWriter: w, s: s}, r.WithContext(ctx))
	})
}

// statusWriter replaces the status of a refused request by 429.
type statusWriter struct {
	http.ResponseWriter
	s     *status
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if w.s.code != 0 {
		code = w.s.code
		w.Header().Set("Retry-After", strconv.Itoa(w.s.retryAfter))
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
