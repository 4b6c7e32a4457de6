package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// API tests of the feed (createFeedEvent, feed, FeedEvent.agent) and of usage
// (usage(groupBy), Agent.usage). Helpers carry an "fu" prefix.

const fuFeedFields = `id type message agent { id name } createdAt`

type fuFeedEvent struct {
	ID        string
	Type      string
	Message   string
	Agent     *struct{ ID, Name string }
	CreatedAt time.Time
}

// fuCreateRaw runs createFeedEvent as user; errors stay in the response.
func (e *env) fuCreateRaw(t testing.TB, user uuid.UUID, input map[string]any) response {
	t.Helper()
	return e.as(t, user, `mutation($in: FeedEventInput!) { createFeedEvent(input: $in) { `+fuFeedFields+` } }`,
		apiVars("in", input))
}

// fuCreate runs createFeedEvent as user and returns the event.
func (e *env) fuCreate(t testing.TB, user uuid.UUID, input map[string]any) fuFeedEvent {
	t.Helper()
	r := e.fuCreateRaw(t, user, input)
	if len(r.Errors) > 0 {
		t.Fatalf("createFeedEvent(%v) failed: %+v", input, r.Errors)
	}
	var got struct{ CreateFeedEvent fuFeedEvent }
	r.as(t, &got)
	return got.CreateFeedEvent
}

type fuFeedConn struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage     bool
		HasPreviousPage bool
		StartCursor     *string
		EndCursor       *string
	}
	Edges []struct {
		Cursor string
		Node   fuFeedEvent
	}
}

func (c fuFeedConn) ids() []string {
	out := make([]string, len(c.Edges))
	for i, e := range c.Edges {
		out[i] = e.Node.ID
	}
	return out
}

// fuFeed reads feed(vars) as user.
func (e *env) fuFeed(t testing.TB, user uuid.UUID, vars map[string]any) fuFeedConn {
	t.Helper()
	var got struct{ Feed fuFeedConn }
	e.must(t, user, `query($first: Int, $after: String, $agentId: ID, $types: [String!]) {
		feed(first: $first, after: $after, agentId: $agentId, types: $types) {
			totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
			edges { cursor node { `+fuFeedFields+` } }
		}
	}`, vars).as(t, &got)
	return got.Feed
}

// fuFeedIDs lists the user's stored feed event ids, newest first, that
// match the SQL condition cond ($1 is the user), as the superuser.
func (e *env) fuFeedIDs(t testing.TB, user uuid.UUID, cond string, args ...any) []string {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `select id::text from feed_events where user_id = $1 and (`+cond+`)
		order by created_at desc, id desc`, append([]any{user}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// fuOnly keeps the ids of list that are in set, in order.
func fuOnly(list []string, set map[string]bool) []string {
	var out []string
	for _, x := range list {
		if set[x] {
			out = append(out, x)
		}
	}
	return out
}

func TestFeedEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	a1 := e.chatAgent(t, user, "Herald")
	a2 := e.chatAgent(t, user, "Crier")

	type spec struct {
		agent, typ, msg string
	}
	specs := []spec{
		{a1, "task_completed", "done 1"},
		{"", "info", "a note"},
		{a2, "approval_needed", "approve this?"},
		{a1, "info", "fyi"},
		{a2, "task_completed", "done 2"},
		{"", "task_completed", "done 3"},
		{a1, "approval_needed", "approve that?"},
	}
	names := map[string]string{a1: "Herald", a2: "Crier"}
	byID := map[string]spec{}
	mine := map[string]bool{}
	var created []string // oldest first
	for _, s := range specs {
		in := map[string]any{"type": s.typ, "message": s.msg}
		if s.agent != "" {
			in["agentId"] = s.agent
		}
		ev := e.fuCreate(t, user, in)
		if ev.ID == "" || ev.Type != s.typ || ev.Message != s.msg || ev.CreatedAt.IsZero() {
			t.Fatalf("createFeedEvent(%v): got %+v", in, ev)
		}
		if s.agent == "" && ev.Agent != nil {
			t.Fatalf("createFeedEvent without agentId: got agent %+v", ev.Agent)
		}
		if s.agent != "" && (ev.Agent == nil || ev.Agent.ID != s.agent || ev.Agent.Name != names[s.agent]) {
			t.Fatalf("createFeedEvent(agentId: %s): got agent %+v", s.agent, ev.Agent)
		}
		var agentArg any
		if s.agent != "" {
			agentArg = s.agent
		}
		if n := e.count(t, `select count(*) from feed_events where id = $1 and user_id = $2 and type = $3 and message = $4
			and agent_id is not distinct from $5::uuid`, ev.ID, user, s.typ, s.msg, agentArg); n != 1 {
			t.Fatalf("createFeedEvent(%v): not stored as returned", in)
		}
		byID[ev.ID] = s
		mine[ev.ID] = true
		created = append(created, ev.ID)
	}
	// expect lists the created events that keep, newest first.
	expect := func(keep func(spec) bool) []string {
		var out []string
		for i := len(created) - 1; i >= 0; i-- {
			if keep(byID[created[i]]) {
				out = append(out, created[i])
			}
		}
		return out
	}
	// check compares a feed answer with the stored rows (which may include
	// events the server posts itself) and with the events created here.
	check := func(name string, got fuFeedConn, stored, want []string) {
		t.Helper()
		if chatJoin(got.ids()) != chatJoin(stored) || got.TotalCount != len(stored) {
			t.Fatalf("%s: want [%s] (totalCount %d), got [%s] (totalCount %d)",
				name, chatJoin(stored), len(stored), chatJoin(got.ids()), got.TotalCount)
		}
		if ours := fuOnly(got.ids(), mine); chatJoin(ours) != chatJoin(want) {
			t.Fatalf("%s: want the created events [%s], got [%s]", name, chatJoin(want), chatJoin(ours))
		}
		for _, edge := range got.Edges {
			s, ok := byID[edge.Node.ID]
			if !ok {
				continue
			}
			if s.agent == "" && edge.Node.Agent != nil ||
				s.agent != "" && (edge.Node.Agent == nil || edge.Node.Agent.ID != s.agent || edge.Node.Agent.Name != names[s.agent]) {
				t.Fatalf("%s: FeedEvent.agent of %s: want %q, got %+v", name, edge.Node.ID, s.agent, edge.Node.Agent)
			}
		}
	}

	all := e.fuFeed(t, user, apiVars("first", 100))
	check("feed", all, e.fuFeedIDs(t, user, "true"), expect(func(spec) bool { return true }))
	for i := 1; i < len(all.Edges); i++ {
		if all.Edges[i].Node.CreatedAt.After(all.Edges[i-1].Node.CreatedAt) {
			t.Fatalf("feed not newest first at %d", i)
		}
	}
	check("types: [task_completed]", e.fuFeed(t, user, apiVars("first", 100, "types", []string{"task_completed"})),
		e.fuFeedIDs(t, user, "type = 'task_completed'"),
		expect(func(s spec) bool { return s.typ == "task_completed" }))
	check("types: [info, approval_needed]", e.fuFeed(t, user, apiVars("first", 100, "types", []string{"info", "approval_needed"})),
		e.fuFeedIDs(t, user, "type in ('info', 'approval_needed')"),
		expect(func(s spec) bool { return s.typ == "info" || s.typ == "approval_needed" }))
	check("types: [nothing_like_it]", e.fuFeed(t, user, apiVars("types", []string{"nothing_like_it"})), nil, nil)
	check("agentId: Herald", e.fuFeed(t, user, apiVars("first", 100, "agentId", a1)),
		e.fuFeedIDs(t, user, "agent_id = $2", a1), expect(func(s spec) bool { return s.agent == a1 }))
	check("agentId: Crier, types: [task_completed]",
		e.fuFeed(t, user, apiVars("first", 100, "agentId", a2, "types", []string{"task_completed"})),
		e.fuFeedIDs(t, user, "agent_id = $2 and type = 'task_completed'", a2),
		expect(func(s spec) bool { return s.agent == a2 && s.typ == "task_completed" }))
	check("agentId: unknown", e.fuFeed(t, user, apiVars("agentId", uuid.NewString())), nil, nil)

	// Pages of 3 through the whole feed.
	full := e.fuFeedIDs(t, user, "true")
	var paged []string
	var after any
	for pageNo := 0; ; pageNo++ {
		if pageNo > len(full) {
			t.Fatalf("pagination does not end: %v", paged)
		}
		c := e.fuFeed(t, user, apiVars("first", 3, "after", after))
		if c.TotalCount != len(full) {
			t.Fatalf("page %d: totalCount %d, want %d", pageNo, c.TotalCount, len(full))
		}
		paged = append(paged, c.ids()...)
		if want := len(paged) < len(full); c.PageInfo.HasNextPage != want {
			t.Fatalf("page %d: hasNextPage %v, want %v", pageNo, c.PageInfo.HasNextPage, want)
		}
		if len(c.Edges) > 0 && (c.PageInfo.EndCursor == nil || *c.PageInfo.EndCursor != c.Edges[len(c.Edges)-1].Cursor) {
			t.Fatalf("page %d: endCursor is not the last edge's cursor", pageNo)
		}
		if !c.PageInfo.HasNextPage {
			break
		}
		after = *c.PageInfo.EndCursor
	}
	if chatJoin(paged) != chatJoin(full) {
		t.Fatalf("pages of 3: want [%s], got [%s]", chatJoin(full), chatJoin(paged))
	}

	// Refused inputs store nothing.
	stored := e.count(t, `select count(*) from feed_events where user_id = $1`, user)
	bad := []struct {
		name  string
		input map[string]any
		field string
	}{
		{"type with a space and capitals", map[string]any{"type": "Bad Type", "message": "m"}, "input.type"},
		{"empty type", map[string]any{"type": "", "message": "m"}, "input.type"},
		{"type starting with a digit", map[string]any{"type": "1st", "message": "m"}, "input.type"},
		{"type of 65 chars", map[string]any{"type": "t" + strings.Repeat("x", 64), "message": "m"}, "input.type"},
		{"empty message", map[string]any{"type": "info", "message": ""}, "input.message"},
		{"blank message", map[string]any{"type": "info", "message": " \n\t"}, "input.message"},
		{"message over 2000", map[string]any{"type": "info", "message": strings.Repeat("x", 2001)}, "input.message"},
		{"message over 2000 runes", map[string]any{"type": "info", "message": strings.Repeat("ü", 2001)}, "input.message"},
		{"malformed agentId", map[string]any{"type": "info", "message": "m", "agentId": "agent-1"}, "input.agentId"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			r := e.fuCreateRaw(t, user, c.input)
			apiWantInvalid(t, r, c.field)
			apiWantNoInternals(t, r)
			if n := e.count(t, `select count(*) from feed_events where user_id = $1`, user); n != stored {
				t.Fatalf("a refused createFeedEvent stored something: %d events, want %d", n, stored)
			}
		})
	}
	r := e.fuCreateRaw(t, user, map[string]any{"type": "info", "message": "m", "agentId": uuid.NewString()})
	wantCode(t, r, "NOT_FOUND")
	if n := e.count(t, `select count(*) from feed_events where user_id = $1`, user); n != stored {
		t.Fatalf("createFeedEvent with an unknown agent stored something")
	}
	apiWantInvalid(t, e.as(t, user, `{ feed(types: ["Bad Type"]) { totalCount } }`, nil), "types")
	apiWantInvalid(t, e.as(t, user, `{ feed(types: [""]) { totalCount } }`, nil), "types")
	apiWantInvalid(t, e.as(t, user, `{ feed(agentId: "nope") { totalCount } }`, nil), "agentId")
	apiWantInvalid(t, e.as(t, user, `{ feed(after: "garbage") { totalCount } }`, nil), "after")

	// The limits are inclusive.
	longType := "t" + strings.Repeat("x", 63)
	longMsg := strings.Repeat("ü", 2000)
	ev := e.fuCreate(t, user, map[string]any{"type": longType, "message": longMsg})
	if ev.Type != longType || ev.Message != longMsg {
		t.Fatalf("64-char type and 2000-char message not stored verbatim")
	}
}

// usageRow is one usage_logs row the tests insert as the superuser.
type fuUsageRow struct {
	user      uuid.UUID
	agent     string // "" for none
	model     string
	provider  string
	operation string
	in, out   int
	cost      float64
	at        time.Time
}

func (e *env) fuInsertUsage(t testing.TB, rows ...fuUsageRow) {
	t.Helper()
	for _, r := range rows {
		var agent any
		if r.agent != "" {
			agent = r.agent
		}
		if _, err := e.pool.Exec(context.Background(), `insert into usage_logs
			(user_id, agent_id, model, provider, operation, input_tokens, output_tokens, cost_cents, created_at)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			r.user, agent, r.model, r.provider, r.operation, r.in, r.out, r.cost, r.at); err != nil {
			t.Fatal(err)
		}
	}
}

type fuTotals struct {
	Calls        int
	InputTokens  int
	OutputTokens int
	CostCents    float64
}

type fuBucket struct {
	Key string
	fuTotals
}

func (b *fuBucket) UnmarshalJSON(data []byte) error {
	var raw struct {
		Key          string
		Calls        int
		InputTokens  int
		OutputTokens int
		CostCents    float64
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*b = fuBucket{Key: raw.Key, fuTotals: fuTotals{raw.Calls, raw.InputTokens, raw.OutputTokens, raw.CostCents}}
	return nil
}

type fuReport struct {
	Totals  fuTotals
	Buckets []fuBucket
}

const fuTotalsFields = `calls inputTokens outputTokens costCents`

func (e *env) fuUsageRaw(t testing.TB, user uuid.UUID, groupBy string, from, to *time.Time) response {
	t.Helper()
	vars := map[string]any{}
	if from != nil {
		vars["from"] = from.Format(time.RFC3339Nano)
	}
	if to != nil {
		vars["to"] = to.Format(time.RFC3339Nano)
	}
	return e.as(t, user, `query($from: Time, $to: Time) { usage(from: $from, to: $to, groupBy: `+groupBy+`) {
		totals { `+fuTotalsFields+` } buckets { key `+fuTotalsFields+` } } }`, vars)
}

func (e *env) fuUsage(t testing.TB, user uuid.UUID, groupBy string, from, to *time.Time) fuReport {
	t.Helper()
	r := e.fuUsageRaw(t, user, groupBy, from, to)
	if len(r.Errors) > 0 {
		t.Fatalf("usage(groupBy: %s) failed: %+v", groupBy, r.Errors)
	}
	var got struct{ Usage fuReport }
	r.as(t, &got)
	return got.Usage
}

// fuExpect sums rows of user in [from, to) in total and by key.
func fuExpect(rows []fuUsageRow, user uuid.UUID, from, to *time.Time, key func(fuUsageRow) string) fuReport {
	rep := fuReport{Buckets: []fuBucket{}}
	idx := map[string]int{}
	for _, r := range rows {
		if r.user != user || from != nil && r.at.Before(*from) || to != nil && !r.at.Before(*to) {
			continue
		}
		add := func(t *fuTotals) {
			t.Calls++
			t.InputTokens += r.in
			t.OutputTokens += r.out
			t.CostCents += r.cost
		}
		add(&rep.Totals)
		if key == nil {
			continue
		}
		k := key(r)
		i, ok := idx[k]
		if !ok {
			i = len(rep.Buckets)
			idx[k] = i
			rep.Buckets = append(rep.Buckets, fuBucket{Key: k})
		}
		add(&rep.Buckets[i].fuTotals)
	}
	sort.Slice(rep.Buckets, func(i, j int) bool { return rep.Buckets[i].Key < rep.Buckets[j].Key })
	return rep
}

// fuSameReport compares reports; buckets are compared as a set by key.
func fuSameReport(got, want fuReport) bool {
	if got.Totals != want.Totals || len(got.Buckets) != len(want.Buckets) {
		return false
	}
	g := append([]fuBucket(nil), got.Buckets...)
	sort.Slice(g, func(i, j int) bool { return g[i].Key < g[j].Key })
	for i := range g {
		if g[i] != want.Buckets[i] {
			return false
		}
	}
	return true
}

func fuTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestUsageReport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user, other := uuid.New(), uuid.New()
	alpha := e.chatAgent(t, user, "Alpha")
	beta := e.chatAgent(t, user, "Beta")
	idle := e.chatAgent(t, user, "Idle")
	otherAgent := e.chatAgent(t, other, "Other")

	// Costs are sums of binary fractions, so float totals are exact.
	rows := []fuUsageRow{
		{user, alpha, "gpt-4o", "openai", "chat", 100, 50, 1.5, fuTime("2024-03-01T10:00:00Z")},
		{user, alpha, "gpt-4o", "openai", "embedding", 200, 0, 0.25, fuTime("2024-03-01T23:59:59Z")},
		{user, beta, "claude-3-5-sonnet", "anthropic", "chat", 300, 120, 2.75, fuTime("2024-03-02T00:00:00Z")},
		{user, "", "text-embedding-3-small", "openai", "embedding", 50, 0, 0.125, fuTime("2024-03-02T15:00:00Z")},
		{user, beta, "claude-3-5-sonnet", "anthropic", "chat", 400, 80, 3, fuTime("2024-03-03T12:00:00Z")},
		{user, alpha, "claude-3-5-sonnet", "anthropic", "chat", 10, 20, 0.5, fuTime("2024-03-04T08:30:00Z")},
		{other, otherAgent, "gpt-4o", "openai", "chat", 9000, 9000, 90, fuTime("2024-03-01T12:00:00Z")},
		{other, "", "gemini-1.5-pro", "google", "summarize", 7000, 7000, 70, fuTime("2024-03-02T12:00:00Z")},
	}
	e.fuInsertUsage(t, rows...)

	keys := map[string]func(fuUsageRow) string{
		"DAY":       func(r fuUsageRow) string { return r.at.UTC().Format("2006-01-02") },
		"MODEL":     func(r fuUsageRow) string { return r.model },
		"AGENT":     func(r fuUsageRow) string { return r.agent },
		"PROVIDER":  func(r fuUsageRow) string { return r.provider },
		"OPERATION": func(r fuUsageRow) string { return r.operation },
	}
	from, to := fuTime("2024-03-01T23:59:59Z"), fuTime("2024-03-03T12:00:00Z")
	ranges := []struct {
		name     string
		from, to *time.Time
	}{
		{"all time", nil, nil},
		{"from..to (to exclusive)", &from, &to},
		{"from only", &from, nil},
		{"to only", nil, &to},
	}
	for _, rg := range ranges {
		for _, groupBy := range []string{"DAY", "MODEL", "AGENT", "PROVIDER", "OPERATION"} {
			for _, u := range []uuid.UUID{user, other} {
				got := e.fuUsage(t, u, groupBy, rg.from, rg.to)
				want := fuExpect(rows, u, rg.from, rg.to, keys[groupBy])
				if !fuSameReport(got, want) {
					t.Errorf("usage(groupBy: %s) %s as %s:\n got %+v\nwant %+v", groupBy, rg.name, u, got, want)
				}
				if groupBy == "DAY" && !sort.SliceIsSorted(got.Buckets, func(i, j int) bool { return got.Buckets[i].Key < got.Buckets[j].Key }) {
					t.Errorf("usage(groupBy: DAY) %s: buckets not in day order: %+v", rg.name, got.Buckets)
				}
			}
		}
	}
	// Spot-check the fixture's arithmetic by hand, so a wrong fuExpect would show.
	if got := e.fuUsage(t, user, "PROVIDER", &from, &to); got.Totals != (fuTotals{3, 550, 120, 3.125}) {
		t.Fatalf("usage from %s to %s: want 3 calls, 550 in, 120 out, 3.125 cents; got %+v", from, to, got.Totals)
	}
	if got := e.fuUsage(t, user, "AGENT", nil, nil); len(got.Buckets) != 3 {
		t.Fatalf("usage(groupBy: AGENT): want buckets for Alpha, Beta and no agent, got %+v", got.Buckets)
	}

	// from >= to is refused, on usage and on Agent.usage.
	for _, rg := range [][2]time.Time{{to, from}, {from, from}} {
		r := e.fuUsageRaw(t, user, "DAY", &rg[0], &rg[1])
		wantCode(t, r, "BAD_USER_INPUT")
		r = e.as(t, user, `query($id: ID!, $from: Time, $to: Time) { agent(id: $id) { usage(from: $from, to: $to) { calls } } }`,
			apiVars("id", alpha, "from", rg[0].Format(time.RFC3339), "to", rg[1].Format(time.RFC3339)))
		wantCode(t, r, "BAD_USER_INPUT")
	}

	// Agent.usage for every agent of a page, all time and in the window.
	var got struct {
		Agents struct {
			Edges []struct {
				Node struct {
					ID     string
					All    fuTotals
					Window fuTotals
				}
			}
		}
	}
	for _, u := range []uuid.UUID{user, other} {
		e.must(t, u, `query($from: Time, $to: Time) { agents(first: 100) { edges { node { id
			all: usage { `+fuTotalsFields+` } window: usage(from: $from, to: $to) { `+fuTotalsFields+` } } } } }`,
			apiVars("from", from.Format(time.RFC3339), "to", to.Format(time.RFC3339))).as(t, &got)
		wantAgents := map[uuid.UUID]int{user: 3, other: 1}[u]
		if len(got.Agents.Edges) != wantAgents {
			t.Fatalf("want %d agents, got %d", wantAgents, len(got.Agents.Edges))
		}
		for _, edge := range got.Agents.Edges {
			of := func(f, tt *time.Time) fuTotals {
				var mine []fuUsageRow
				for _, r := range rows {
					if r.agent == edge.Node.ID {
						mine = append(mine, r)
					}
				}
				return fuExpect(mine, u, f, tt, nil).Totals
			}
			if w := of(nil, nil); edge.Node.All != w {
				t.Errorf("agent %s usage: want %+v, got %+v", edge.Node.ID, w, edge.Node.All)
			}
			if w := of(&from, &to); edge.Node.Window != w {
				t.Errorf("agent %s usage(from, to): want %+v, got %+v", edge.Node.ID, w, edge.Node.Window)
			}
			if edge.Node.ID == idle && (edge.Node.All != fuTotals{} || edge.Node.Window != fuTotals{}) {
				t.Errorf("an agent without usage: want zeros, got %+v / %+v", edge.Node.All, edge.Node.Window)
			}
		}
	}
	// And agent(id) alone.
	var one struct {
		Agent struct{ Usage fuTotals }
	}
	e.must(t, user, `query($id: ID!) { agent(id: $id) { usage { `+fuTotalsFields+` } } }`, apiVars("id", beta)).as(t, &one)
	if one.Agent.Usage != (fuTotals{2, 700, 200, 5.75}) {
		t.Fatalf("agent(Beta).usage: want 2 calls, 700 in, 200 out, 5.75 cents; got %+v", one.Agent.Usage)
	}
}

// Agent.usage costs one round trip for a page of agents, whatever its size,
// even with two aliased ranges.
func TestUsageAgentRoundTrips(t *testing.T) {
	t.Parallel()
	const without = `{ agents(first: 100) { edges { node { id } } } }`
	const with = `{ agents(first: 100) { edges { node { id
		all: usage { calls inputTokens outputTokens costCents }
		march: usage(from: "2024-03-01T00:00:00Z", to: "2024-04-01T00:00:00Z") { calls inputTokens outputTokens costCents }
	} } } }`
	trips := func(agents int) (int64, []string) {
		e := newEnv(t)
		user := uuid.New()
		want := map[string][2]int{}
		for i := range agents {
			a := e.chatAgent(t, user, fmt.Sprintf("Agent %02d", i))
			e.fuInsertUsage(t,
				fuUsageRow{user, a, "gpt-4o", "openai", "chat", i + 1, 1, 0.5, fuTime("2024-03-15T00:00:00Z")},
				fuUsageRow{user, a, "gpt-4o", "openai", "chat", 1, i + 1, 0.25, fuTime("2024-04-15T00:00:00Z")})
			want[a] = [2]int{i + 2, i + 1} // all-time input tokens, March input tokens
		}
		e.must(t, user, with, nil) // warm up: prepare statements on the connection
		e.queries.reset()
		e.must(t, user, without, nil)
		base := e.queries.n.Load()
		e.queries.reset()
		r := e.must(t, user, with, nil)
		n := e.queries.n.Load()
		var got struct {
			Agents struct {
				Edges []struct {
					Node struct {
						ID    string
						All   fuTotals
						March fuTotals
					}
				}
			}
		}
		r.as(t, &got)
		if len(got.Agents.Edges) != agents {
			t.Fatalf("want %d agents, got %d", agents, len(got.Agents.Edges))
		}
		for _, edge := range got.Agents.Edges {
			w := want[edge.Node.ID]
			if edge.Node.All.Calls != 2 || edge.Node.All.InputTokens != w[0] || edge.Node.All.CostCents != 0.75 ||
				edge.Node.March.Calls != 1 || edge.Node.March.InputTokens != w[1] || edge.Node.March.CostCents != 0.5 {
				t.Fatalf("agent %s usage wrong: %+v", edge.Node.ID, edge.Node)
			}
		}
		return n - base, e.queries.statements()
	}
	small, smallSQL := trips(2)
	large, largeSQL := trips(10)
	t.Logf("round trips of Agent.usage (two aliases): 2 agents %d, 10 agents %d", small, large)
	if small != 1 || large != 1 {
		t.Fatalf("want one round trip for Agent.usage, got %d for 2 agents, %d for 10\n2: %q\n10: %q",
			small, large, smallSQL, largeSQL)
	}
}

// Another user's feed and usage do not exist for the caller; posting to
// another user's agent is NOT_FOUND and stores nothing.
func TestFeedUsageCrossTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := uuid.New(), uuid.New()
	aAgent := e.chatAgent(t, alice, "Alice's agent")
	bAgent := e.chatAgent(t, bob, "Bob's agent")
	aEvent := e.fuCreate(t, alice, map[string]any{"agentId": aAgent, "type": "secret", "message": "alice only"})
	e.fuCreate(t, alice, map[string]any{"type": "secret", "message": "alice note"})
	bEvent := e.fuCreate(t, bob, map[string]any{"agentId": bAgent, "type": "info", "message": "bob's"})
	e.fuInsertUsage(t,
		fuUsageRow{alice, aAgent, "gpt-4o", "openai", "chat", 1000, 1000, 10, fuTime("2024-03-01T00:00:00Z")},
		fuUsageRow{bob, bAgent, "gpt-4o", "openai", "chat", 1, 2, 0.5, fuTime("2024-03-01T00:00:00Z")})
	feedOf := func(u uuid.UUID) int {
		return e.count(t, `select count(*) from feed_events where user_id = $1`, u)
	}
	aliceFeed, bobFeed := feedOf(alice), feedOf(bob)

	r := e.fuCreateRaw(t, bob, map[string]any{"agentId": aAgent, "type": "info", "message": "hijack"})
	wantCode(t, r, "NOT_FOUND")
	apiWantNoInternals(t, r)
	if a, b := feedOf(alice), feedOf(bob); a != aliceFeed || b != bobFeed {
		t.Fatalf("bob's createFeedEvent with alice's agent stored something: alice %d (want %d), bob %d (want %d)",
			a, aliceFeed, b, bobFeed)
	}
	if n := e.count(t, `select count(*) from feed_events where agent_id = $1 and user_id <> $2`, aAgent, alice); n != 0 {
		t.Fatalf("%d feed events of other users name alice's agent", n)
	}

	feed := e.fuFeed(t, bob, apiVars("first", 100))
	if stored := e.fuFeedIDs(t, bob, "true"); chatJoin(feed.ids()) != chatJoin(stored) || feed.TotalCount != len(stored) ||
		!apiHas(feed.ids(), bEvent.ID) || apiHas(feed.ids(), aEvent.ID) {
		t.Fatalf("bob's feed: want [%s], got [%s] (totalCount %d)", chatJoin(stored), chatJoin(feed.ids()), feed.TotalCount)
	}
	for _, vars := range []map[string]any{apiVars("agentId", aAgent), apiVars("types", []string{"secret"})} {
		if c := e.fuFeed(t, bob, vars); len(c.Edges) != 0 || c.TotalCount != 0 {
			t.Fatalf("bob's feed(%v) shows alice's events: %+v", vars, c)
		}
	}

	rep := e.fuUsage(t, bob, "AGENT", nil, nil)
	if rep.Totals != (fuTotals{1, 1, 2, 0.5}) || len(rep.Buckets) != 1 || rep.Buckets[0].Key != bAgent {
		t.Fatalf("bob's usage includes alice's: %+v", rep)
	}
	var agentUsage struct{ Agent *json.RawMessage }
	e.must(t, bob, `query($id: ID!) { agent(id: $id) { usage { calls } } }`, apiVars("id", aAgent)).as(t, &agentUsage)
	if agentUsage.Agent != nil {
		t.Fatalf("bob reads alice's agent usage: %s", *agentUsage.Agent)
	}

	// A feed row of bob's naming alice's agent (planted as the superuser; the
	// API refuses it) does not show her agent.
	if _, err := e.pool.Exec(context.Background(), `insert into feed_events (user_id, agent_id, type, message)
		values ($1, $2, 'planted', 'planted')`, bob, aAgent); err != nil {
		t.Fatal(err)
	}
	var planted struct{ Feed fuFeedConn }
	r = e.must(t, bob, `{ feed(types: ["planted"]) { totalCount edges { node { `+fuFeedFields+` } } } }`, nil)
	r.as(t, &planted)
	if len(planted.Feed.Edges) != 1 || planted.Feed.Edges[0].Node.Agent != nil {
		t.Fatalf("bob's planted feed event shows alice's agent: %s", r.Data)
	}
}
