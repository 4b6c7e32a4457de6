package graph_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/loaders"
)

// BenchmarkDashboardQuery measures the dashboard query end to end over HTTP
// (JWT check, loaders, RLS batches on a real Postgres) and reports its SQL
// round trips per request, which must not change with the number of agents.
// It runs with the production loader wait.
//
//	go test -run '^$' -bench DashboardQuery -benchtime 200x ./graph
func BenchmarkDashboardQuery(b *testing.B) {
	for _, agents := range []int{2, 50} {
		b.Run(fmt.Sprintf("agents=%d", agents), func(b *testing.B) {
			e := newEnvWait(b, loaders.DefaultWait)
			user := uuid.New()
			for range agents {
				e.seed(b, user)
			}
			e.must(b, user, dashboardQuery, nil)
			e.queries.n.Store(0)
			b.ResetTimer()
			for b.Loop() {
				e.must(b, user, dashboardQuery, nil)
			}
			b.StopTimer()
			b.ReportMetric(float64(e.queries.n.Load())/float64(b.N), "roundtrips/op")
		})
	}
}

// BenchmarkPageShapes runs the shapes of the bench's W1 (dashboard, no
// cursor selected) and W3 (a feed page → agent), and the knowledge page
// (collections → entry counts and entries), in process, for their
// allocations per request: a steadier signal than the bench's CPU per
// request for changes of a few percent (BENCHMARKS.md, "What each change
// bought"). The test process is both client and server.
//
//	go test -run '^$' -bench PageShapes -benchmem -benchtime 500x ./graph
func BenchmarkPageShapes(b *testing.B) {
	e := newEnvWait(b, loaders.DefaultWait)
	user := uuid.New()
	var agent string
	for range 10 {
		agent = e.seed(b, user).agent
	}
	for i := range 20 {
		e.must(b, user, `mutation($a: ID!, $m: String!) { createFeedEvent(input: {agentId: $a, type: "task_completed", message: $m}) { id } }`,
			map[string]any{"a": agent, "m": fmt.Sprint("event ", i)})
	}
	for _, w := range []struct{ name, query string }{
		{"W1", `query W1 { agents(first: 10) { edges { node { id name type status level xp
  skills { id slug name level } trainingData { id type title enabled }
  knowledgeAccess { accessLevel collection { id name } } } } } }`},
		{"W3", `query W3 { feed(first: 20) { edges { node { id type message createdAt agent { id name } } } } }`},
		{"knowledge", `query K { collections(first: 10) { edges { node { id name entryCount
  entries(first: 10) { edges { node { id content type importance indexStatus } } } } } } }`},
	} {
		b.Run(w.name, func(b *testing.B) {
			e.must(b, user, w.query, nil)
			e.queries.n.Store(0)
			b.ReportAllocs()
			for b.Loop() {
				e.must(b, user, w.query, nil)
			}
			b.ReportMetric(float64(e.queries.n.Load())/float64(b.N), "roundtrips/op")
		})
	}
}

// BenchmarkConversationList runs the app's conversation list (20 threads,
// each with its agent, last message and a page of messages with their
// agents; no root looks ahead for these) one request at a time: its time
// per request is its latency, loader waits included.
//
//	go test -run '^$' -bench ConversationList -benchtime 300x ./graph
func BenchmarkConversationList(b *testing.B) {
	e := newEnvWait(b, loaders.DefaultWait)
	user := uuid.New()
	for i := range 20 {
		a := id(b, e.must(b, user, `mutation($n: String!) { createAgent(input: {name: $n, type: RESEARCH}) { id } }`,
			map[string]any{"n": fmt.Sprint("Agent ", i)}), "createAgent")
		e.exec(b, `insert into chat_messages (user_id, thread_id, role, content, agent_id, agent_name)
			select $1, $2 || ':direct', 'assistant', 'm' || i, $2::uuid, 'x' from generate_series(1, 5) i`, user, a)
	}
	e.must(b, user, threadsRoundTripQuery, nil)
	e.queries.n.Store(0)
	b.ReportAllocs()
	for b.Loop() {
		e.must(b, user, threadsRoundTripQuery, nil)
	}
	b.ReportMetric(float64(e.queries.n.Load())/float64(b.N), "roundtrips/op")
}
