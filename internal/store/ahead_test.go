package store

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

func asUser(u uuid.UUID) context.Context {
	return auth.WithUser(context.Background(), auth.User{ID: u, Role: "authenticated"})
}

// Statements read ahead run in the root's batch under the caller's RLS
// settings: rows of another user that the caller's rows name (a planted
// message or feed event naming another user's agent), and another user's
// thread, never come back, so they can never be primed into the caller's
// loaders.
func TestAheadReadsOnlyTheCallersRows(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	st := New(pool)
	alice, bob := uuid.New(), uuid.New()
	agent, err := st.CreateAgent(asUser(alice), NewAgent{Name: "Alice's", Type: domain.AgentTypeResearch,
		TrustTier: domain.TrustTierObserver, Personality: domain.Personality{Model: "gpt-4o-mini"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.InstallSkill(asUser(alice), agent.ID, NewSkill{Slug: "s", Name: "S", Level: 1}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// As the superuser, as the API would refuse: alice's thread, and bob's
	// thread and feed event naming alice's agent.
	for _, q := range []struct {
		sql  string
		user uuid.UUID
	}{
		{`insert into chat_messages (user_id, thread_id, role, content, agent_id) values ($1, 'alices', 'user', 'hi', $2)`, alice},
		{`insert into chat_messages (user_id, thread_id, role, content, agent_id) values ($1, 'planted', 'user', 'hi', $2)`, bob},
		{`insert into feed_events (user_id, agent_id, type, message) values ($1, $2, 'note', 'planted')`, bob},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.user, agent.ID); err != nil {
			t.Fatal(err)
		}
	}
	back, _ := page.Back(nil, nil)

	keys := []MessagesKey{{Thread: "alices", Page: back.Key()}}
	ah := &Ahead{}
	pages := ah.MessagePages(keys)
	agents := ah.AgentsOfMessagePages(keys)
	if _, err := st.Thread(asUser(bob), "alices", ah); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("bob reads alice's thread: %v", err)
	}
	if ah.Loaded() {
		t.Fatalf("lookahead of a thread bob cannot see is loaded: %v, %v", pages(), *agents)
	}

	keys = []MessagesKey{{Thread: "planted", Page: back.Key()}}
	ah = &Ahead{}
	pages = ah.MessagePages(keys)
	agents = ah.AgentsOfMessagePages(keys)
	if _, err := st.Thread(asUser(bob), "planted", ah); err != nil || !ah.Loaded() {
		t.Fatalf("bob's thread: %v, loaded %v", err, ah.Loaded())
	}
	if p := pages()[keys[0]]; len(p.Items) != 1 || len(*agents) != 0 {
		t.Fatalf("bob's planted thread: %d messages (want 1), agents %v (want none)", len(p.Items), *agents)
	}

	args, _ := page.Forward(nil, nil)
	ah = &Ahead{}
	feedAgents := ah.AgentsOfFeed(FeedFilter{}, args)
	if p, err := st.Feed(asUser(bob), FeedFilter{}, args, ah); err != nil || len(p.Items) != 1 || !ah.Loaded() {
		t.Fatalf("bob's feed: %v, %d events, loaded %v", err, len(p.Items), ah.Loaded())
	}
	if len(*feedAgents) != 0 {
		t.Fatalf("bob's feed reads alice's agent ahead: %v", *feedAgents)
	}

	ah = &Ahead{}
	skills := ah.SkillsOfAgents(AgentFilter{}, args)
	count := ah.CountAgents(AgentFilter{})
	if p, err := st.Agents(asUser(bob), AgentFilter{}, args, ah); err != nil || len(p.Items) != 0 || !ah.Loaded() {
		t.Fatalf("bob's agents: %v, %d agents, loaded %v", err, len(p.Items), ah.Loaded())
	}
	if len(skills()) != 0 || *count != 0 {
		t.Fatalf("bob's agents read alice's ahead: skills %v, count %d", skills(), *count)
	}
}

// A looked-ahead statement that fails does not fail the root: the root's
// rows stand and the lookahead is not Loaded, so the nested fields load
// through their loaders and report their own errors. A root that fails
// fails as without lookahead.
func TestAheadFailureLeavesTheRoot(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	st := New(pool)
	alice := uuid.New()
	if _, err := pool.Exec(context.Background(), `insert into chat_messages (user_id, thread_id, role, content)
		values ($1, 'notes', 'user', 'hi')`, alice); err != nil {
		t.Fatal(err)
	}
	back, _ := page.Back(nil, nil)
	ah := &Ahead{}
	ah.MessagePages([]MessagesKey{{Thread: "notes", Page: back.Key()}})
	ah.b.Queue(`select 1 / 0`).Query(func(pgx.Rows) error { return nil })
	th, err := st.Thread(asUser(alice), "notes", ah)
	if err != nil || th == nil || th.ID != "notes" {
		t.Fatalf("thread with a failing lookahead: %+v, %v", th, err)
	}
	if ah.Loaded() {
		t.Fatal("a failed lookahead is Loaded")
	}

	ah = &Ahead{}
	ah.MessagePages([]MessagesKey{{Thread: "none", Page: back.Key()}})
	if _, err := st.Thread(asUser(alice), "none", ah); !apperr.Is(err, apperr.NotFound) || ah.Loaded() {
		t.Fatalf("missing thread: %v, loaded %v", err, ah.Loaded())
	}
}
