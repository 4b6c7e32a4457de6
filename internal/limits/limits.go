// Package limits bounds what one GraphQL operation may ask for before it
// runs: how deep it nests, how many fields one selection set holds, how many
// aliases the document uses, and how long it may take. Complexity (what
// lists return) is priced in graph/ through gqlgen's ComplexityRoot; the
// token limit is gqlgen's own parser limit. Both are configured here with
// the rest, so one place lists every default (README.md, SECURITY.md).
package limits

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Error codes of runtime.md that this package raises.
const (
	CodeDepth      = "DEPTH_LIMIT_EXCEEDED"
	CodeValidation = "GRAPHQL_VALIDATION_FAILED"
)

// Config holds the request limits; Defaults lists their values.
type Config struct {
	// Depth bounds how deeply fields nest (the root fields are depth 1).
	// Introspection subtrees are left to gqlparser's own introspection
	// depth rule, since GraphiQL's schema query nests type references
	// deeper than any data query needs.
	Depth int
	// Fields bounds the fields of one selection set, fragments included.
	Fields int
	// Aliases bounds the aliased fields of a whole document: aliases are
	// how one request repeats an expensive root field many times.
	Aliases int
	// Tokens bounds the lexical tokens of a document; the parser stops
	// there, so a huge document costs no more than a long one.
	Tokens int
	// Complexity bounds a query's price (graph/complexity.go).
	Complexity int
	// Timeout is the deadline of a query or mutation (not of a
	// subscription, which lives as long as its client wants).
	Timeout time.Duration
	// Introspection allows __schema and __type queries.
	Introspection bool
}

// Defaults are the limits without configuration.
func Defaults() Config {
	return Config{
		Depth:         12,
		Fields:        100,
		Aliases:       30,
		Tokens:        5000,
		Complexity:    50000,
		Timeout:       30 * time.Second,
		Introspection: true,
	}
}

// Shape is the gqlgen extension that checks depth, fields per selection set
// and aliases once the document is parsed and validated, before anything
// executes.
type Shape struct {
	Depth, Fields, Aliases int
	// NoIntrospection refuses __schema and __type (INTROSPECTION=false)
	// here, before execution; gqlgen alone would fail them while executing,
	// as an internal error.
	NoIntrospection bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = Shape{}

// ExtensionName names the extension for gqlgen.
func (Shape) ExtensionName() string { return "LimitsShape" }

// Validate accepts every schema.
func (Shape) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext refuses an operation that is too deep, too wide or
// uses too many aliases.
func (s Shape) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	m := measure(oc.Doc, oc.Operation)
	switch {
	case s.NoIntrospection && m.introspects:
		return Errorf(CodeValidation, "introspection is disabled on this server")
	case s.Depth > 0 && m.depth > s.Depth:
		return Errorf(CodeDepth, "operation nests %d levels deep, which exceeds the limit of %d", m.depth, s.Depth)
	case s.Fields > 0 && m.width > s.Fields:
		return Errorf(CodeValidation, "a selection set has %d fields, which exceeds the limit of %d", m.width, s.Fields)
	case s.Aliases > 0 && m.aliases > s.Aliases:
		return Errorf(CodeValidation, "the document uses %d aliases, which exceeds the limit of %d", m.aliases, s.Aliases)
	}
	return nil
}

// Errorf returns a GraphQL error with extensions.code set.
func Errorf(code, format string, args ...any) *gqlerror.Error {
	return &gqlerror.Error{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": code}}
}

// shape is what measure found.
type shape struct {
	depth   int // deepest field nesting
	width   int // most fields in one selection set
	aliases int // aliased fields in the operation and its fragments
	// introspects: the operation selects __schema or __type.
	introspects bool
}

// measure walks op with fragments expanded. Each fragment is measured once
// (memoized), so fragments that spread others many times cannot make the
// walk itself exponential.
func measure(doc *ast.QueryDocument, op *ast.OperationDefinition) shape {
	w := walker{frag: map[string]level{}}
	l := w.set(op.SelectionSet)
	var aliases int
	count := func(set ast.SelectionSet) {}
	count = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if s.Alias != "" && s.Alias != s.Name {
					aliases++
				}
				count(s.SelectionSet)
			case *ast.InlineFragment:
				count(s.SelectionSet)
			}
		}
	}
	count(op.SelectionSet)
	if doc != nil {
		for _, f := range doc.Fragments {
			count(f.SelectionSet)
		}
	}
	return shape{depth: l.depth, width: w.width, aliases: aliases, introspects: w.introspects}
}

// level is the measure of one selection set: how deep below it fields go
// and how many fields it holds with its fragments expanded.
type level struct{ depth, fields int }

type walker struct {
	frag        map[string]level
	width       int
	introspects bool
}

func (w *walker) set(set ast.SelectionSet) level {
	var l level
	for _, sel := range set {
		var sub level
		switch s := sel.(type) {
		case *ast.Field:
			l.fields++
			if strings.HasPrefix(s.Name, "__") && len(s.SelectionSet) > 0 {
				// __schema and __type: gqlparser bounds their depth.
				w.introspects = true
				sub.depth = 1
				break
			}
			inner := w.set(s.SelectionSet)
			sub.depth = inner.depth + 1
		case *ast.InlineFragment:
			sub = w.set(s.SelectionSet)
			l.fields += sub.fields
		case *ast.FragmentSpread:
			sub = w.spread(s)
			l.fields += sub.fields
		}
		l.depth = max(l.depth, sub.depth)
	}
	w.width = max(w.width, l.fields)
	return l
}

func (w *walker) spread(s *ast.FragmentSpread) level {
	if l, ok := w.frag[s.Name]; ok {
		return l
	}
	if s.Definition == nil {
		return level{}
	}
	// Validation has refused fragment cycles; the placeholder only guards
	// an unvalidated document.
	w.frag[s.Name] = level{}
	l := w.set(s.Definition.SelectionSet)
	w.frag[s.Name] = l
	return l
}

// Deadline gives every query and mutation a deadline (Config.Timeout);
// subscriptions keep their socket's lifetime. Install with AroundResponses:
// the response handler's context is the one resolvers run on.
func Deadline(d time.Duration) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		// A body that is not JSON reaches here with no operation context at
		// all (gqlgen's GetOperationContext panics then): nothing will run.
		if d <= 0 || !graphql.HasOperationContext(ctx) {
			return next(ctx)
		}
		oc := graphql.GetOperationContext(ctx)
		if oc.Operation == nil || oc.Operation.Operation == ast.Subscription {
			return next(ctx)
		}
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return next(ctx)
	}
}
