package graph

// Lookahead: the root fields of the app's pages (thread, feed, agents, agent) read
// their own selection set and queue, with their own statement, the
// statements of the nested fields it asks for (store.Ahead). One batch then
// brings the page and its nested lists, in one round trip and one
// transaction under the caller's RLS settings, and the loaders are primed
// with what came back: the nested resolvers find their values cached and
// neither wait for a loader batch nor send one.
//
// Only exact matches are primed. A loader's key carries the field's
// arguments (a page's size and cursor), read here from each field as its
// resolver will receive them; two aliases with different arguments are two
// keys. A field whose arguments do not validate is left to its resolver to
// refuse. Whatever is not looked ahead (other fields, deeper levels, a batch
// whose looked-ahead statements failed) loads through the loaders as
// before, so lookahead changes how many round trips a page takes, never
// what it answers.

import (
	"context"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/loaders"
	"github.com/agentgraph/agentgraph/internal/page"
	"github.com/agentgraph/agentgraph/internal/store"
)

// step is one field of a path in a selection: its name, in an object of
// the type whose implementors (gqlgen's generated lists) are given.
type step struct {
	implementors []string
	name         string
}

// selection is the selection set of the field ctx resolves, and its
// operation.
func selection(ctx context.Context) (*graphql.OperationContext, ast.SelectionSet) {
	return graphql.GetOperationContext(ctx), graphql.GetFieldContext(ctx).Field.Selections
}

// fieldsAt returns the fields at the end of path under sel, collected as
// gqlgen's executor collects them (fragments, @skip and @include applied).
// Fields of different aliases are returned apart, each with its own
// arguments.
func fieldsAt(oc *graphql.OperationContext, sel ast.SelectionSet, path ...step) []graphql.CollectedField {
	sets := []ast.SelectionSet{sel}
	var fields []graphql.CollectedField
	for _, s := range path {
		fields = nil
		for _, set := range sets {
			for _, f := range graphql.CollectFields(oc, set, s.implementors) {
				if f.Name == s.name {
					fields = append(fields, f)
				}
			}
		}
		sets = sets[:0]
		for _, f := range fields {
			sets = append(sets, f.Selections)
		}
	}
	return fields
}

// selects reports whether path leads to a field under sel.
func selects(oc *graphql.OperationContext, sel ast.SelectionSet, path ...step) bool {
	return len(fieldsAt(oc, sel, path...)) > 0
}

// optArg reads an optional argument as its resolver receives it
// (unmarshal: gqlgen's for its type); ok is false when the value is not
// one, which the resolver will refuse.
func optArg[T any](args map[string]any, name string, unmarshal func(any) (T, error)) (v *T, ok bool) {
	raw := args[name]
	if raw == nil {
		return nil, true
	}
	x, err := unmarshal(raw)
	return &x, err == nil
}

// lookThread queues, for thread(id), the message pages its messages fields
// ask for and, when their nodes select agent, those messages' agents. The
// returned prime fills the loaders once the thread has been read.
func lookThread(ctx context.Context, id string) (*store.Ahead, func()) {
	oc, sel := selection(ctx)
	var keys, withAgent []store.MessagesKey
	for _, f := range fieldsAt(oc, sel, step{threadImplementors, "messages"}) {
		args := f.ArgumentMap(oc.Variables)
		last, ok1 := optArg(args, "last", graphql.UnmarshalInt)
		before, ok2 := optArg(args, "before", graphql.UnmarshalString)
		if !ok1 || !ok2 {
			continue
		}
		back, err := page.Back(last, before)
		if err != nil {
			continue
		}
		k := store.MessagesKey{Thread: id, Page: back.Key()}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
		if !slices.Contains(withAgent, k) && selects(oc, f.Selections, step{chatMessageConnectionImplementors, "edges"},
			step{chatMessageEdgeImplementors, "node"}, step{chatMessageImplementors, "agent"}) {
			withAgent = append(withAgent, k)
		}
	}
	if len(keys) == 0 {
		return nil, func() {}
	}
	ah := &store.Ahead{}
	pages := ah.MessagePages(keys)
	var agents *[]*domain.Agent
	if len(withAgent) > 0 {
		agents = ah.AgentsOfMessagePages(withAgent)
	}
	return ah, func() {
		if !ah.Loaded() {
			return
		}
		l := loaders.For(ctx)
		l.PrimeMessagePages(pages())
		if agents != nil {
			l.PrimeAgents(*agents)
		}
	}
}

// lookFeed queues, for a page of the feed, its events' agents when the
// page's nodes select agent.
func lookFeed(ctx context.Context, f store.FeedFilter, args page.Args) (*store.Ahead, func()) {
	oc, sel := selection(ctx)
	if !selects(oc, sel, step{feedEventConnectionImplementors, "edges"}, step{feedEventEdgeImplementors, "node"},
		step{feedEventImplementors, "agent"}) {
		return nil, func() {}
	}
	ah := &store.Ahead{}
	agents := ah.AgentsOfFeed(f, args)
	return ah, func() {
		if ah.Loaded() {
			loaders.For(ctx).PrimeAgents(*agents)
		}
	}
}

// agentsAhead is what lookAgents queued for a page of agents.
type agentsAhead struct {
	ah       *store.Ahead
	count    *int
	skills   func() map[uuid.UUID][]*domain.Skill
	training func() map[uuid.UUID][]*domain.TrainingData
	access   func() map[uuid.UUID][]*domain.KnowledgeAccess
}

// lookAgents queues, for a page of agents, its totalCount and the skills,
// training data and knowledge access (with collections) its nodes select.
func lookAgents(ctx context.Context, f store.AgentFilter, args page.Args) agentsAhead {
	oc, sel := selection(ctx)
	ah := &store.Ahead{}
	out := agentsAhead{ah: ah}
	if selects(oc, sel, step{agentConnectionImplementors, "totalCount"}) {
		out.count = ah.CountAgents(f)
	}
	var names []string
	for _, node := range fieldsAt(oc, sel, step{agentConnectionImplementors, "edges"}, step{agentEdgeImplementors, "node"}) {
		for _, c := range graphql.CollectFields(oc, node.Selections, agentImplementors) {
			names = append(names, c.Name)
		}
	}
	out.lists(names, f, args)
	return out
}

// lookAgent queues, for agent(id) (f names it, args is a page of one),
// the skills, training data and knowledge access it selects.
func lookAgent(ctx context.Context, f store.AgentFilter, args page.Args) agentsAhead {
	oc, sel := selection(ctx)
	out := agentsAhead{ah: &store.Ahead{}}
	var names []string
	for _, c := range graphql.CollectFields(oc, sel, agentImplementors) {
		names = append(names, c.Name)
	}
	out.lists(names, f, args)
	return out
}

// lists queues the nested lists named among the agents' selected fields.
func (a *agentsAhead) lists(names []string, f store.AgentFilter, args page.Args) {
	if args.Size == 0 {
		return
	}
	if slices.Contains(names, "skills") {
		a.skills = a.ah.SkillsOfAgents(f, args)
	}
	if slices.Contains(names, "trainingData") {
		a.training = a.ah.TrainingOfAgents(f, args)
	}
	if slices.Contains(names, "knowledgeAccess") {
		a.access = a.ah.AccessOfAgents(f, args)
	}
}

// prime fills the loaders with what was read for the agents of p.
func (a agentsAhead) prime(ctx context.Context, p page.Page[*domain.Agent]) {
	if !a.ah.Loaded() || len(p.Items) == 0 {
		return
	}
	ids := make([]uuid.UUID, len(p.Items))
	for i, x := range p.Items {
		ids[i] = x.ID
	}
	l := loaders.For(ctx)
	if a.skills != nil {
		l.PrimeSkills(ids, a.skills())
	}
	if a.training != nil {
		l.PrimeTraining(ids, a.training())
	}
	if a.access != nil {
		l.PrimeAccess(ids, a.access())
	}
}

// countOr returns the count read ahead, or else count.
func (a agentsAhead) countOr(count func(context.Context) (int, error)) func(context.Context) (int, error) {
	if a.count == nil || !a.ah.Loaded() {
		return count
	}
	n := *a.count
	return func(context.Context) (int, error) { return n, nil }
}
