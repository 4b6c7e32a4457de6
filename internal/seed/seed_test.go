package seed

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// A seed gives every part of the API something to show, and a second run
// adds nothing.
func TestSeedIsIdempotent(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	st := store.New(pool)
	ctx := context.Background()
	user := uuid.New()
	now := time.Now()

	first, err := Seed(ctx, st, nil, llm.DefaultPrices(), user, now)
	if err != nil {
		t.Fatal(err)
	}
	if first.AgentsCreated != len(demoAgents) || first.CollectionsCreated != len(demoCollections) ||
		first.Conversations != len(demoConversations) || !first.Feed || !first.Usage {
		t.Fatalf("first run: %v", first)
	}
	counts := func() map[string]int {
		t.Helper()
		out := map[string]int{}
		for _, table := range []string{"agents", "agent_skills", "agent_training_data", "knowledge_collections",
			"knowledge_entries", "agent_knowledge_access", "chat_messages", "threads", "feed_events", "usage_logs"} {
			where := `user_id = $1`
			switch table {
			case "agent_skills", "agent_training_data", "agent_knowledge_access":
				where = `agent_id in (select id from agents where user_id = $1)`
			}
			var n int
			if err := pool.QueryRow(ctx, `select count(*) from `+table+` where `+where, user).Scan(&n); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			out[table] = n
		}
		return out
	}
	before := counts()
	for table, n := range before {
		if n == 0 {
			t.Errorf("no %s after seeding", table)
		}
	}
	var awaiting, heads, assistant int
	if err := pool.QueryRow(ctx, `select count(*) filter (where awaiting_reply), count(*) filter (where role = 'assistant' and reply_to is not null)
		from chat_messages where user_id = $1`, user).Scan(&awaiting, &assistant); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `select count(*) from agents where user_id = $1 and is_head`, user).Scan(&heads); err != nil {
		t.Fatal(err)
	}
	if awaiting != 0 || assistant == 0 || heads != 1 {
		t.Errorf("awaiting %d (want 0), assistant replies %d, head agents %d (want 1)", awaiting, assistant, heads)
	}

	second, err := Seed(ctx, st, nil, llm.DefaultPrices(), user, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if second.AgentsCreated != 0 || second.CollectionsCreated != 0 || second.Conversations != 0 || second.Feed || second.Usage {
		t.Errorf("second run wrote: %v", second)
	}
	after := counts()
	for table, n := range before {
		if after[table] != n {
			t.Errorf("%s: %d rows after the second run, %d before", table, after[table], n)
		}
	}
}
