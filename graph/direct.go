package graph

// Direct execution: the queries of the app's pages answered without gqlgen's
// per-field machinery.
//
// gqlgen executes every field through graphql.ResolveField: a field
// context, a context.WithValue, closures, the value boxed in an interface
// and a Marshaler closure, and a goroutine per element of every list of
// objects. For the dashboard's 130 objects that is about 60 % of the
// request's allocations and most of its CPU (BENCHMARKS.md, "What would get
// further"). Yet the values of these pages are plain fields of rows read in
// one batch (lookahead) or linked loads (loaders.Linked), which need neither
// a goroutine nor a context of their own.
//
// So a query whose every field is one of directFields is executed here
// first: fields collected as gqlgen collects them (fragments, @skip,
// @include), the same resolvers called with the same arguments, and each
// value written as gqlgen's marshalers write it, into one buffer. Anything
// else takes gqlgen's path: a field or directive not listed, an
// introspection field, an anonymous caller, and — at run time — any
// resolver error, panic, or value gqlgen would refuse (a null or zero value
// in a non-null field). Queries have no side effects, so such a query runs
// again, whole, through gqlgen, and answers exactly what it would have
// answered with its errors and their paths; what the first attempt loaded
// stays in the request's loaders. Mutations and subscriptions always take
// gqlgen's path.
//
// Its answers are gqlgen's, byte for byte: the graph tests run every query
// that takes this path through gqlgen as well and compare
// (directSchema.check), and TestDirectMatchesGqlgen does so for shapes
// written to reach every field and case here.

import (
	"bytes"
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/agentgraph/agentgraph/internal/auth"
)

// directSchema is the generated schema with direct execution in front.
type directSchema struct {
	*executableSchema
	// check, when set (tests), receives every directly executed answer and
	// a way to have gqlgen answer the same operation (Options.CheckDirect).
	check func(ctx context.Context, direct *graphql.Response, gqlgen func(context.Context) *graphql.Response)
}

// Exec answers a query directly when it can, else through gqlgen.
func (s *directSchema) Exec(ctx context.Context) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation.Operation != ast.Query || !directable("Query", oc.Operation.SelectionSet) {
		return s.executableSchema.Exec(ctx)
	}
	done := false
	return func(ctx context.Context) *graphql.Response {
		if done {
			return nil
		}
		done = true
		data, ok := s.run(ctx, oc)
		if !ok {
			return s.executableSchema.Exec(ctx)(ctx)
		}
		resp := &graphql.Response{Data: data}
		if s.check != nil {
			s.check(ctx, resp, func(ctx context.Context) *graphql.Response { return s.executableSchema.Exec(ctx)(ctx) })
		}
		return resp
	}
}

// run executes the operation's root fields; ok is false when gqlgen must.
func (s *directSchema) run(ctx context.Context, oc *graphql.OperationContext) (data []byte, ok bool) {
	// requireUser refuses an anonymous caller's root fields; gqlgen's path
	// says so.
	if _, err := auth.Require(ctx); err != nil {
		return nil, false
	}
	ec := newExecutionContext(oc, s.executableSchema, nil)
	fields := graphql.CollectFields(oc, oc.Operation.SelectionSet, queryImplementors)
	if len(fields) == 1 {
		d := &direct{ctx: ctx, oc: oc, ec: ec, first: true}
		if !d.root(fields) {
			return nil, false
		}
		return d.b, true
	}
	// gqlgen resolves root fields concurrently (each its own round trip);
	// so does this, each into its own buffer.
	parts := make([]*direct, len(fields))
	var wg sync.WaitGroup
	for i := range fields {
		parts[i] = &direct{ctx: ctx, oc: oc, ec: ec, first: true}
		wg.Add(1)
		go func(d *direct, f []graphql.CollectedField) {
			defer wg.Done()
			d.failed = !d.root(f)
		}(parts[i], fields[i:i+1])
	}
	wg.Wait()
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, d := range parts {
		if d.failed {
			return nil, false
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		// Each part is {"alias":value}: keep what is between the braces.
		buf.Write(d.b[1 : len(d.b)-1])
	}
	buf.WriteByte('}')
	return buf.Bytes(), true
}

// direct is one directly executed selection and the JSON it has written.
type direct struct {
	ctx context.Context
	oc  *graphql.OperationContext
	ec  *executionContext
	b   []byte
	// first is set while the first object of every list above is written
	// (or a lone object): warm starts the loads of objects there.
	first  bool
	failed bool
}

// fieldWriter writes the value of field f of obj; false: gqlgen's path must
// answer.
type fieldWriter[T any] func(d *direct, f *graphql.CollectedField, obj T) bool

// root writes the root fields given as an object.
func (d *direct) root(fields []graphql.CollectedField) (ok bool) {
	defer func() {
		// A panic in a resolver: gqlgen's path reports it as gqlgen does.
		if r := recover(); r != nil {
			ok = false
		}
	}()
	return writeObject(d, "Query", fields, struct{}{}, (*direct).query)
}

// writeObject writes obj, of type typ, with its fields as gqlgen's FieldSet
// does. Under the first of a list's objects (d.first), the fields that may
// wait for a load (directLoads) start at once (warm).
func writeObject[T any](d *direct, typ string, fields []graphql.CollectedField, obj T, write fieldWriter[T]) bool {
	if d.first {
		if wait := warm(d, typ, fields, obj, write); wait != nil {
			defer wait()
		}
	}
	d.b = append(d.b, '{')
	for i := range fields {
		if i > 0 {
			d.b = append(d.b, ',')
		}
		d.b = appendQuoted(d.b, fields[i].Alias)
		d.b = append(d.b, ':')
		if !write(d, &fields[i], obj) {
			return false
		}
	}
	d.b = append(d.b, '}')
	return true
}

// writeList writes a non-null list of non-null objects; the selection is
// collected once for all of them (gqlgen collects it per element).
func writeList[T comparable](d *direct, sel ast.SelectionSet, implementors []string, items []T, write fieldWriter[T]) bool {
	fields := graphql.CollectFields(d.oc, sel, implementors)
	var zero T
	first := d.first
	defer func() { d.first = first }()
	d.b = append(d.b, '[')
	for i, x := range items {
		if x == zero {
			return false
		}
		if i > 0 {
			d.b = append(d.b, ',')
		}
		d.first = i == 0
		if !writeObject(d, implementors[0], fields, x, write) {
			return false
		}
	}
	d.b = append(d.b, ']')
	return true
}

// writeOne writes a single object, null when nil and nullable.
func writeOne[T comparable](d *direct, sel ast.SelectionSet, implementors []string, x T, nonNull bool, write fieldWriter[T]) bool {
	var zero T
	if x == zero {
		if nonNull {
			return false
		}
		d.b = append(d.b, "null"...)
		return true
	}
	return writeObject(d, implementors[0], graphql.CollectFields(d.oc, sel, implementors), x, write)
}

// warm starts the loads of the fields of obj that may wait for one
// (directLoads) but the first, each in a goroutine that writes the field
// into a buffer of its own and drops it. Fields are written one after
// another and a linked load queues the keys of all siblings, so the first
// object of a list decides how long the list waits: warmed, its loads wait
// together, as gqlgen's concurrent fields do, instead of one after another.
// It returns a func that waits for the goroutines, or nil when there are
// none. A warming write that fails or panics is dropped: the field's own
// write meets the same failure and reports it.
func warm[T any](d *direct, typ string, fields []graphql.CollectedField, obj T, write fieldWriter[T]) (wait func()) {
	loads := directLoads[typ]
	if loads == nil {
		return nil
	}
	var wg *sync.WaitGroup
	seen := false
	for i := range fields {
		if !loads[fields[i].Name] {
			continue
		}
		if !seen {
			seen = true // the first is written right away
			continue
		}
		if wg == nil {
			wg = &sync.WaitGroup{}
		}
		wg.Add(1)
		go func(f *graphql.CollectedField) {
			defer wg.Done()
			defer func() { _ = recover() }()
			write(&direct{ctx: d.ctx, oc: d.oc, ec: d.ec, first: true}, f, obj)
		}(&fields[i])
	}
	if wg == nil {
		return nil
	}
	return wg.Wait
}

// directable reports whether every field under sel, of the object type
// typ, is one direct execution answers, and no directive but @skip and
// @include is used.
func directable(typ string, sel ast.SelectionSet) bool {
	fields, ok := directFields[typ]
	if !ok {
		return false
	}
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if !plainDirectives(s.Directives) || !fields[s.Name] {
				return false
			}
			if s.Definition == nil {
				return false
			}
			if len(s.SelectionSet) > 0 && !directable(s.Definition.Type.Name(), s.SelectionSet) {
				return false
			}
		case *ast.InlineFragment:
			if !plainDirectives(s.Directives) || (s.TypeCondition != "" && s.TypeCondition != typ) ||
				!directable(typ, s.SelectionSet) {
				return false
			}
		case *ast.FragmentSpread:
			if !plainDirectives(s.Directives) || s.Definition == nil || s.Definition.TypeCondition != typ ||
				!plainDirectives(s.Definition.Directives) || !directable(typ, s.Definition.SelectionSet) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// plainDirectives reports whether ds are only @skip and @include, which
// field collection applies.
func plainDirectives(ds ast.DirectiveList) bool {
	for _, d := range ds {
		if d.Name != "skip" && d.Name != "include" {
			return false
		}
	}
	return true
}
