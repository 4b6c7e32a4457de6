package chat_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/chat"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/jobs"
	"github.com/agentgraph/agentgraph/internal/knowledge"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// Replies recall the entries of the collections their agent may read, each
// marked with its collection; a revoked access is gone at the next reply,
// and the query's embedding is logged under the agent.
func TestReplyRecallsGrantedKnowledge(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	fake := llmtest.NewServer(t)
	c := llm.Config{OpenAIKey: "sk-test", OpenAIBaseURL: fake.URL(), IdleTimeout: 500 * time.Millisecond, Prices: llm.DefaultPrices()}
	st := store.New(pool)
	hub := pubsub.New(pool, pubsub.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = hub.Run(ctx) }()
	<-hub.Ready()
	client := llm.New(c)
	engine, err := knowledge.NewEngine(st, client, knowledge.Config{EmbeddingModel: knowledge.DefaultEmbeddingModel, Dimensions: 32}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(engine.Close)
	w := chat.NewWorker(st, client, hub, quietLog(), chat.Limits{})
	w.SetRetriever(engine)
	// River has one rescue bound for every kind: index jobs must not
	// lengthen the takeover of a dead instance's replies.
	if engine.RescueAfter() > w.RescueAfter() {
		t.Errorf("index jobs are rescued after %v, replies after %v", engine.RescueAfter(), w.RescueAfter())
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	engine.Workers(workers)
	jc, err := jobs.New(pool, jobs.Config{Workers: workers, Queues: map[string]int{chat.Queue: 4, knowledge.Queue: 2},
		RescueAfter: max(w.RescueAfter(), engine.RescueAfter()), PollInterval: 50 * time.Millisecond, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if err := jc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.Shutdown(sctx, jc)
	})
	user := uuid.New()
	r := &rig{st: st, llm: fake, worker: w, jobs: jc, chat: chat.New(st, w, jc), hub: hub, user: user,
		ctx: auth.WithUser(context.Background(), auth.User{ID: user, Role: "authenticated"})}
	svc := knowledge.New(st, engine, jc)
	a := r.agent(t, "gpt-4o-mini")

	granted, err := svc.CreateCollection(r.ctx, domain.CollectionInput{Name: "Garden"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := svc.CreateCollection(r.ctx, domain.CollectionInput{Name: "Diary"})
	if err != nil {
		t.Fatal(err)
	}
	const question = "When should I water the tomatoes"
	for _, e := range []struct {
		col     *domain.Collection
		content string
	}{
		{granted, "Water the tomatoes every morning before nine"},
		{other, "Private: the tomatoes were a gift from my ex"},
	} {
		if _, err := svc.AddEntry(r.ctx, domain.KnowledgeEntryInput{CollectionID: e.col.ID.String(), Content: e.content, Type: domain.KnowledgeFact}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Grant(r.ctx, a.ID.String(), granted.ID.String(), domain.AccessRead); err != nil {
		t.Fatal(err)
	}
	// Another user's entry with the same words is never recalled.
	stranger := uuid.New()
	sctx := auth.WithUser(context.Background(), auth.User{ID: stranger, Role: "authenticated"})
	theirs, err := svc.CreateCollection(sctx, domain.CollectionInput{Name: "Theirs"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddEntry(sctx, domain.KnowledgeEntryInput{CollectionID: theirs.ID.String(), Content: "Stranger: tomatoes need water", Type: domain.KnowledgeFact}); err != nil {
		t.Fatal(err)
	}

	agentID := a.ID.String()
	send := func(n int) string {
		t.Helper()
		if _, _, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: question}); err != nil {
			t.Fatal(err)
		}
		r.waitReplies(t, a.ID.String()+chat.DirectSuffix, n)
		reqs := fake.Requests()
		return reqs[len(reqs)-1].Messages[0].Content
	}
	system := send(1)
	if !strings.Contains(system, "[Garden] Water the tomatoes every morning before nine") {
		t.Errorf("the granted entry is not in the prompt, marked with its collection:\n%s", system)
	}
	if strings.Contains(system, "gift from my ex") || strings.Contains(system, "Stranger") {
		t.Errorf("the prompt holds an entry the agent was not granted:\n%s", system)
	}
	var rows, tokens int
	if err := pool.QueryRow(context.Background(), `select count(*), coalesce(sum(input_tokens), 0) from usage_logs
		where user_id = $1 and agent_id = $2 and operation = 'embedding'`, user, a.ID).Scan(&rows, &tokens); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || tokens == 0 {
		t.Errorf("the reply's query embedding: %d usage rows, %d tokens; want 1 row with tokens", rows, tokens)
	}

	if _, err := svc.Revoke(r.ctx, a.ID.String(), granted.ID.String()); err != nil {
		t.Fatal(err)
	}
	if system := send(2); strings.Contains(system, "tomatoes") {
		t.Errorf("after the revoke, the next reply still recalls:\n%s", system)
	}
}
