package chat_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/chat"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/spend"
	"github.com/agentgraph/agentgraph/internal/store"
)

// Past the monthly budget, replies stop: a message accepted before is kept
// and answered FAILED with the reason, a new one is stored with
// BUDGET_EXCEEDED next to it and no job, and the feed says so once.
func TestBudgetStopsReplies(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	a := r.agent(t, "gpt-4o-mini")
	r.llm.SetHandler(func(req llmtest.ChatRequest) llmtest.Reply {
		// gpt-4o-mini: 15¢ per million input tokens, so 1M tokens cost 15¢.
		return llmtest.Reply{Chunks: []string{"pricey ", "answer"}, Delay: 100 * time.Millisecond,
			PromptTokens: 1_000_000, CompletionTokens: 10}
	})
	budget := 10.0
	if err := r.st.SetBudget(r.ctx, &budget); err != nil {
		t.Fatal(err)
	}
	agentID := a.ID.String()
	thread := a.ID.String() + chat.DirectSuffix
	// Two messages accepted while within budget; the first reply crosses it.
	for _, q := range []string{"Q1", "Q2"} {
		if _, noReply, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: q}); err != nil || noReply != nil {
			t.Fatalf("send %s: %v %v", q, err, noReply)
		}
	}
	replies := r.waitReplies(t, thread, 2)
	if replies[0].Status != domain.MessageComplete || replies[1].Status != domain.MessageFailed || replies[1].Content != "" {
		t.Fatalf("replies %+v", replies)
	}
	if n := len(r.llm.Requests()); n != 1 {
		t.Fatalf("%d upstream calls: the second reply must not be generated past the budget", n)
	}
	// A new message: stored, BUDGET_EXCEEDED beside it, no job.
	msg, noReply, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: "Q3"})
	if err != nil || msg == nil || !apperr.Is(noReply, apperr.BudgetExceeded) {
		t.Fatalf("send past the budget: %v %v %v", msg, noReply, err)
	}
	pool := r.st.Pool()
	var awaiting bool
	if err := pool.QueryRow(context.Background(), `select awaiting_reply from chat_messages where id = $1`, msg.ID).Scan(&awaiting); err != nil || awaiting {
		t.Fatalf("message past the budget: awaiting %v (%v)", awaiting, err)
	}
	var notes int
	var text string
	if err := pool.QueryRow(context.Background(), `select count(*), max(message) from feed_events
		where user_id = $1 and type = 'budget_exceeded'`, r.user).Scan(&notes, &text); err != nil || notes != 1 {
		t.Fatalf("budget_exceeded events %d (%v)", notes, err)
	}
	if !strings.Contains(text, "10.00") {
		t.Fatalf("feed message %q does not say the budget", text)
	}
	// The viewer sees it, and raising the budget lets replies through again.
	b, err := spend.New(r.st, nil).Viewer(r.ctx)
	if err != nil || !b.Exceeded || !b.Custom || b.SpentCents < 15 || *b.RemainingCents != 0 {
		t.Fatalf("budget %+v (%v)", b, err)
	}
	if _, err := spend.New(r.st, nil).Set(r.ctx, nil); err != nil { // back to the server's default: none
		t.Fatal(err)
	}
	if _, noReply, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: "Q4"}); err != nil || noReply != nil {
		t.Fatalf("send after raising the budget: %v %v", err, noReply)
	}
	r.waitReplies(t, thread, 3)
}

// max_tokens: the agent's own cap within the server's.
func TestReplyMaxTokens(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	r.llm.SetHandler(func(llmtest.ChatRequest) llmtest.Reply { return llmtest.Reply{Chunks: []string{"ok"}} })
	small, big := 64, 50000
	for _, tc := range []struct {
		cap  *int
		want int
	}{{nil, 4096}, {&small, 64}, {&big, 4096}} {
		a, err := r.st.CreateAgent(r.ctx, store.NewAgent{Name: "Capped", Type: domain.AgentTypeResearch,
			TrustTier: domain.TrustTierObserver, Personality: domain.Personality{Model: "gpt-4o-mini", MaxTokens: tc.cap}})
		if err != nil {
			t.Fatal(err)
		}
		agentID := a.ID.String()
		before := len(r.llm.Requests())
		if _, _, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: "hi"}); err != nil {
			t.Fatal(err)
		}
		r.waitReplies(t, agentID+chat.DirectSuffix, 1)
		req := r.llm.Requests()[before]
		if got := max(req.MaxTokens, req.MaxCompletionTokens); got != tc.want {
			t.Errorf("agent cap %v: max tokens %d, want %d", tc.cap, got, tc.want)
		}
	}
}

// REPLIES_PER_USER: with 1, a user's second thread waits until the first
// thread's reply is stored, whichever instance runs it.
func TestRepliesPerUser(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	startWorkerWith(t, r.st.Pool(), r.st, llm.Config{OpenAIKey: "sk-test", OpenAIBaseURL: r.llm.URL(), Prices: llm.DefaultPrices()},
		r.hub, chat.Limits{PerUser: 1})
	a := r.agent(t, "gpt-4o-mini")
	b := r.agent(t, "gpt-4o-mini")
	overlap := make(chan int, 4)
	r.llm.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		var stored int
		_ = r.st.Pool().QueryRow(context.Background(), `select count(*) from chat_messages where role = 'assistant' and user_id = $1`,
			r.user).Scan(&stored)
		overlap <- stored
		return llmtest.Reply{Chunks: []string{"one ", "moment"}, Delay: 200 * time.Millisecond}
	})
	// The rig's own worker allows 4 at once: stop it, so only the capped one works.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.worker.Shutdown(ctx, r.jobs)
	for _, ag := range []*domain.Agent{a, b} {
		id := ag.ID.String()
		if _, _, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &id, Content: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	r.waitReplies(t, a.ID.String()+chat.DirectSuffix, 1)
	r.waitReplies(t, b.ID.String()+chat.DirectSuffix, 1)
	if first, second := <-overlap, <-overlap; first != 0 || second != 1 {
		t.Fatalf("replies stored when each request began: %d, %d; want 0 then 1 (one at a time)", first, second)
	}
}
