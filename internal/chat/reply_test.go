package chat_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/chat"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/jobs"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/spend"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

type rig struct {
	st     *store.Store
	llm    *llmtest.Server
	worker *chat.Worker
	jobs   *jobs.Client
	chat   *chat.Service
	hub    *pubsub.Hub
	user   uuid.UUID
	ctx    context.Context
}

func newRig(t *testing.T, cfg func(*llm.Config)) *rig {
	t.Helper()
	pool := testdb.Pool(t)
	fake := llmtest.NewServer(t)
	c := llm.Config{OpenAIKey: "sk-test", OpenAIBaseURL: fake.URL(), IdleTimeout: 500 * time.Millisecond, Prices: llm.DefaultPrices()}
	if cfg != nil {
		cfg(&c)
	}
	st := store.New(pool)
	hub := pubsub.New(pool, pubsub.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = hub.Run(ctx) }()
	<-hub.Ready()
	w, jc := startWorker(t, pool, st, c, hub)
	user := uuid.New()
	return &rig{st: st, llm: fake, worker: w, jobs: jc, chat: chat.New(st, w, jc), hub: hub, user: user,
		ctx: auth.WithUser(context.Background(), auth.User{ID: user, Role: "authenticated"})}
}

// startWorker runs a reply worker on its own River client (an instance's
// worth), stopped when the test ends.
func startWorker(t *testing.T, pool *pgxpool.Pool, st *store.Store, c llm.Config, hub chat.Hub) (*chat.Worker, *jobs.Client) {
	t.Helper()
	return startWorkerWith(t, pool, st, c, hub, chat.Limits{Spend: spend.New(st, nil)})
}

// startWorkerWith is startWorker with limits.
func startWorkerWith(t *testing.T, pool *pgxpool.Pool, st *store.Store, c llm.Config, hub chat.Hub, lim chat.Limits) (*chat.Worker, *jobs.Client) {
	t.Helper()
	w := chat.NewWorker(st, llm.New(c), hub, slog.Default(), lim)
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	jc, err := jobs.New(pool, jobs.Config{Workers: workers, Queues: map[string]int{chat.Queue: 10},
		RescueAfter: w.RescueAfter(), PollInterval: 50 * time.Millisecond, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if err := jc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.Shutdown(ctx, jc)
	})
	return w, jc
}

// quietLog keeps River's info logs out of test output.
func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// waitReplies waits until the thread has n assistant messages and returns
// them with their status, oldest first.
func (r *rig) waitReplies(t *testing.T, thread string, n int) []*domain.Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows, err := r.st.Pool().Query(context.Background(), `select id, content, status, reply_to, created_at
			from chat_messages where thread_id = $1 and role = 'assistant' order by created_at, id`, thread)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*domain.Message, error) {
			var m domain.Message
			return &m, row.Scan(&m.ID, &m.Content, &m.Status, &m.ReplyTo, &m.CreatedAt)
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d replies stored", len(msgs), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *rig) agent(t *testing.T, modelName string) *domain.Agent {
	t.Helper()
	tone := "cheerful"
	a, err := r.st.CreateAgent(r.ctx, store.NewAgent{Name: "Ada", Type: domain.AgentTypeResearch,
		TrustTier: domain.TrustTierObserver, Personality: domain.Personality{Model: modelName, Tone: &tone}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.AddTraining(r.ctx, a.ID, domain.TrainingDataInput{Type: domain.TrainingDataInstruction,
		Title: "Style", Content: "Answer in haiku."}); err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := r.st.AddTraining(r.ctx, a.ID, domain.TrainingDataInput{Type: domain.TrainingDataKnowledge,
		Title: "Secret", Content: "disabled entry", Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	return a
}

// The whole reply path: the user's message is returned at once, the reply
// streams chunk by chunk in order, then is stored with its usage, cost, XP
// and a feed event.
func TestReplyStreamsAndIsStored(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	a := r.agent(t, "gpt-4o-mini")
	r.llm.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: []string{"Hello ", "there, ", "friend"}, PromptTokens: 1200, CompletionTokens: 250}
	})
	thread := a.ID.String() + chat.DirectSuffix
	sub := r.hub.Subscribe(r.user, func(ev *pubsub.Event) bool { return ev.Topic == thread })
	defer sub.Close()

	agentID := a.ID.String()
	msg, noReply, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: "Hi"})
	if err != nil || noReply != nil {
		t.Fatalf("send: %v %v", err, noReply)
	}
	if msg.ThreadID != thread || msg.Role != domain.RoleUser {
		t.Fatalf("stored message %+v", msg)
	}

	var deltas []string
	var replyID string
	deadline := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-sub.C():
			switch ev.Kind {
			case pubsub.KindChunk:
				var c struct {
					Delta string
					Done  bool
				}
				if err := json.Unmarshal(ev.Data, &c); err != nil {
					t.Fatal(err)
				}
				if replyID == "" {
					replyID = ev.ID
				} else if ev.ID != replyID {
					t.Fatalf("chunk of another message %s", ev.ID)
				}
				if int(ev.Seq) != len(deltas)+1 {
					t.Fatalf("chunk %d out of order after %d", ev.Seq, len(deltas))
				}
				deltas = append(deltas, c.Delta)
			case pubsub.KindMessage:
				if ev.ID == replyID {
					done = true
				}
			}
		case <-deadline:
			t.Fatalf("no stored reply; deltas so far %q", deltas)
		}
	}
	if got := strings.Join(deltas, ""); got != "Hello there, friend" {
		t.Fatalf("streamed %q", got)
	}
	if deltas[len(deltas)-1] != "" {
		t.Fatalf("the last chunk must be the empty done chunk, got %q", deltas)
	}

	pool := r.st.Pool()
	var content, status, agentName string
	if err := pool.QueryRow(context.Background(), `select content, status, agent_name from chat_messages where id = $1`,
		replyID).Scan(&content, &status, &agentName); err != nil {
		t.Fatal(err)
	}
	if content != "Hello there, friend" || status != "complete" || agentName != "Ada" {
		t.Fatalf("stored reply %q %s %s", content, status, agentName)
	}
	var in, out int
	var cost float64
	var op, provider string
	if err := pool.QueryRow(context.Background(), `select input_tokens, output_tokens, cost_cents, operation, provider
		from usage_logs where agent_id = $1`, a.ID).Scan(&in, &out, &cost, &op, &provider); err != nil {
		t.Fatal(err)
	}
	wantCost, _ := llm.DefaultPrices().Cost("gpt-4o-mini", 1200, 250)
	if in != 1200 || out != 250 || cost != wantCost || op != "chat" || provider != "openai" {
		t.Fatalf("usage %d %d %v %s %s (want cost %v)", in, out, cost, op, provider, wantCost)
	}
	var xp, level int
	if err := pool.QueryRow(context.Background(), `select xp, level from agents where id = $1`, a.ID).Scan(&xp, &level); err != nil {
		t.Fatal(err)
	}
	if xp != 10+250/100 || level != chat.LevelForXP(xp) {
		t.Fatalf("xp %d level %d", xp, level)
	}
	var feed int
	if err := pool.QueryRow(context.Background(), `select count(*) from feed_events where agent_id = $1 and type = 'reply_done'`,
		a.ID).Scan(&feed); err != nil || feed != 1 {
		t.Fatalf("reply_done events %d (%v)", feed, err)
	}

	// The prompt: personality, enabled training only, the user's message.
	reqs := r.llm.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d upstream requests", len(reqs))
	}
	sys := reqs[0].Messages[0].Content
	if !strings.Contains(sys, "Ada") || !strings.Contains(sys, "cheerful") || !strings.Contains(sys, "Answer in haiku.") ||
		strings.Contains(sys, "disabled entry") {
		t.Fatalf("system prompt %q", sys)
	}
	last := reqs[0].Messages[len(reqs[0].Messages)-1]
	if last.Role != "user" || last.Content != "Hi" {
		t.Fatalf("last prompt message %+v", last)
	}
	if reqs[0].Authorization != "Bearer sk-test" {
		t.Fatalf("authorization %q", reqs[0].Authorization)
	}
}

// A stream cut halfway keeps what arrived, marked INTERRUPTED, and logs the
// usage it cost.
func TestCutReplyIsKeptInterrupted(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	a := r.agent(t, "gpt-4o-mini")
	r.llm.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: []string{"one ", "two ", "three ", "four"}, CutAfter: 2}
	})
	agentID := a.ID.String()
	if _, _, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: "Hi"}); err != nil {
		t.Fatal(err)
	}
	replies := r.waitReplies(t, a.ID.String()+chat.DirectSuffix, 1)
	content, status := replies[0].Content, string(replies[0].Status)
	if status != "interrupted" || content == "" || !strings.HasPrefix("one two three four", content) {
		t.Fatalf("stored %q %s", content, status)
	}
	var calls int
	if err := r.st.Pool().QueryRow(context.Background(), `select count(*) from usage_logs where agent_id = $1 and output_tokens > 0`,
		a.ID).Scan(&calls); err != nil || calls != 1 {
		t.Fatalf("usage rows %d (%v)", calls, err)
	}
}

// No key for the agent's provider: the message is stored and returned, and
// the caller learns why no reply follows.
func TestNoKeyStoresMessageAndSaysLLMUnavailable(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	a := r.agent(t, "claude-sonnet-4-20250514")
	agentID := a.ID.String()
	msg, noReply, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: "Hi"})
	if err != nil || msg == nil {
		t.Fatalf("send: %v", err)
	}
	if !apperr.Is(noReply, apperr.LLMUnavailable) || !strings.Contains(noReply.Error(), "ANTHROPIC_API_KEY") {
		t.Fatalf("want LLM_UNAVAILABLE naming ANTHROPIC_API_KEY, got %v", noReply)
	}
	var n int
	if err := r.st.Pool().QueryRow(context.Background(), `select count(*) from chat_messages where id = $1`, msg.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("message not stored: %d %v", n, err)
	}
	if len(r.llm.Requests()) != 0 {
		t.Fatal("no upstream call expected")
	}
}

// Shutdown cuts a stalled reply after its grace period and stores nothing:
// the job stays, available to the next instance, which generates the reply
// anew with the same message id and a restart flag on its first chunk.
func TestShutdownLeavesCutReplyToNextInstance(t *testing.T) {
	t.Parallel()
	r := newRig(t, func(c *llm.Config) { c.IdleTimeout = time.Minute })
	a := r.agent(t, "gpt-4o-mini")
	stall := true
	var mu sync.Mutex
	r.llm.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		mu.Lock()
		defer mu.Unlock()
		if stall {
			return llmtest.Reply{Chunks: []string{"partial ", "answer ", "that ", "stalls"}, StallAfter: 1}
		}
		return llmtest.Reply{Chunks: []string{"fresh ", "answer"}}
	})
	thread := a.ID.String() + chat.DirectSuffix
	sub := r.hub.Subscribe(r.user, func(ev *pubsub.Event) bool { return ev.Kind == pubsub.KindChunk && ev.Topic == thread })
	defer sub.Close()
	agentID := a.ID.String()
	if _, _, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: "Hi"}); err != nil {
		t.Fatal(err)
	}
	first := <-sub.C() // the reply is streaming
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r.worker.Shutdown(ctx, r.jobs)
	var n int
	if err := r.st.Pool().QueryRow(context.Background(), `select count(*) from chat_messages
		where role = 'assistant' and agent_id = $1`, a.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("a cut reply was stored: %d (%v)", n, err)
	}
	var state string
	if err := r.st.Pool().QueryRow(context.Background(), `select state from river.river_job where kind = 'chat_reply'`).
		Scan(&state); err != nil || (state != "available" && state != "scheduled") {
		t.Fatalf("job state %q (%v), want it waiting for the next instance", state, err)
	}

	// The next instance generates the reply anew.
	mu.Lock()
	stall = false
	mu.Unlock()
	startWorker(t, r.st.Pool(), r.st, llm.Config{OpenAIKey: "sk-test", OpenAIBaseURL: r.llm.URL(), Prices: llm.DefaultPrices()}, r.hub)
	replies := r.waitReplies(t, thread, 1)
	if replies[0].Content != "fresh answer" || replies[0].Status != domain.MessageComplete || replies[0].ID.String() != first.ID {
		t.Fatalf("reply %+v, want the fresh answer under the streamed id %s", replies[0], first.ID)
	}
	for ev := range sub.C() {
		c, _ := pubsub.DecodeChunk(ev)
		if ev.ID != first.ID {
			t.Fatalf("chunk of another message %s", ev.ID)
		}
		if ev.Seq == 1 {
			if !c.Restart {
				t.Fatalf("the regenerated stream's first chunk has no restart flag: %+v", c)
			}
			break
		}
	}
}
