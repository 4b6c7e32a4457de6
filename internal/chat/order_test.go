package chat_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/chat"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/feed"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/store"
)

// lastUser is the content of a request's last message, which must be the
// user message it answers.
func lastUser(t *testing.T, req llmtest.ChatRequest) string {
	t.Helper()
	last := req.Messages[len(req.Messages)-1]
	if last.Role != "user" {
		t.Fatalf("prompt ends with a %s message: %+v", last.Role, req.Messages)
	}
	return last.Content
}

// Messages sent before the first reply is done are answered one at a time,
// in order, each reply seeing the messages and replies before it; their
// chunks never interleave on the stream.
func TestThreadRepliesInOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	a := r.agent(t, "gpt-4o-mini")
	r.llm.SetHandler(func(req llmtest.ChatRequest) llmtest.Reply {
		q := req.Messages[len(req.Messages)-1].Content
		return llmtest.Reply{Chunks: []string{"re ", q, " a", " b"}, Delay: 20 * time.Millisecond}
	})
	thread := a.ID.String() + chat.DirectSuffix
	sub := r.hub.Subscribe(r.user, func(ev *pubsub.Event) bool { return ev.Kind == pubsub.KindChunk && ev.Topic == thread })
	defer sub.Close()
	agentID := a.ID.String()
	var sent []*domain.Message
	for _, q := range []string{"Q1", "Q2", "Q3"} {
		m, _, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: q})
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	replies := r.waitReplies(t, thread, 3)
	for i, rep := range replies {
		if *rep.ReplyTo != sent[i].ID || rep.Content != "re Q"+fmt.Sprint(i+1)+" a b" {
			t.Fatalf("reply %d answers %v with %q", i, rep.ReplyTo, rep.Content)
		}
	}
	reqs := r.llm.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d upstream requests", len(reqs))
	}
	// The second reply's prompt: Q1, its reply, then Q2 — not Q3, still waiting.
	if got := conversation(reqs[1]); got != "user:Q1|assistant:re Q1 a b|user:Q2" {
		t.Fatalf("second prompt %s", got)
	}
	// Chunks come reply by reply: once a reply's chunks stop, it never resumes.
	seen, current := map[string]bool{}, ""
	for n := 0; n < 3*5; n++ {
		ev := <-sub.C()
		if ev.ID != current {
			if seen[ev.ID] {
				t.Fatalf("chunks of %s resumed after another reply's", ev.ID)
			}
			seen[ev.ID], current = true, ev.ID
		}
	}
}

// interrupt: true cuts the running reply, which is stored INTERRUPTED with
// what it had, and the new message is answered with both in context.
func TestInterruptCutsRunningReply(t *testing.T) {
	t.Parallel()
	r := newRig(t, func(c *llm.Config) { c.IdleTimeout = time.Minute })
	a := r.agent(t, "gpt-4o-mini")
	r.llm.SetHandler(func(req llmtest.ChatRequest) llmtest.Reply {
		if lastUser(t, req) == "Q1" {
			return llmtest.Reply{Chunks: []string{"partial ", "never"}, StallAfter: 1}
		}
		return llmtest.Reply{Chunks: []string{"answer ", "two"}}
	})
	thread := a.ID.String() + chat.DirectSuffix
	sub := r.hub.Subscribe(r.user, func(ev *pubsub.Event) bool { return ev.Kind == pubsub.KindChunk && ev.Topic == thread })
	defer sub.Close()
	agentID := a.ID.String()
	q1, _, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: "Q1"})
	if err != nil {
		t.Fatal(err)
	}
	<-sub.C() // Q1's reply is streaming, then stalls
	q2, _, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: "Q2", Interrupt: true})
	if err != nil {
		t.Fatal(err)
	}
	replies := r.waitReplies(t, thread, 2)
	if *replies[0].ReplyTo != q1.ID || replies[0].Status != domain.MessageInterrupted || replies[0].Content != "partial " {
		t.Fatalf("first reply %+v", replies[0])
	}
	if *replies[1].ReplyTo != q2.ID || replies[1].Status != domain.MessageComplete || replies[1].Content != "answer two" {
		t.Fatalf("second reply %+v", replies[1])
	}
	reqs := r.llm.Requests()
	if got := conversation(reqs[len(reqs)-1]); got != "user:Q1|assistant:partial |user:Q2" {
		t.Fatalf("second prompt %s", got)
	}
}

// A message that interrupts one whose reply has not begun yet: the earlier
// one gets no reply of its own and is context for the later one.
func TestInterruptBeforeReplyBegins(t *testing.T) {
	t.Parallel()
	r := newRig(t, func(c *llm.Config) { c.IdleTimeout = time.Minute })
	a := r.agent(t, "gpt-4o-mini")
	r.llm.SetHandler(func(req llmtest.ChatRequest) llmtest.Reply {
		switch lastUser(t, req) {
		case "Q1":
			return llmtest.Reply{Chunks: []string{"one ", "more"}, StallAfter: 1}
		}
		return llmtest.Reply{Chunks: []string{"ok"}}
	})
	thread := a.ID.String() + chat.DirectSuffix
	sub := r.hub.Subscribe(r.user, func(ev *pubsub.Event) bool { return ev.Kind == pubsub.KindChunk && ev.Topic == thread })
	defer sub.Close()
	agentID := a.ID.String()
	if _, _, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: "Q1"}); err != nil {
		t.Fatal(err)
	}
	<-sub.C()
	// Q2 queues behind Q1; Q3 interrupts both Q1's reply and Q2's turn.
	for _, in := range []domain.SendMessageInput{{AgentID: &agentID, Content: "Q2"}, {AgentID: &agentID, Content: "Q3", Interrupt: true}} {
		if _, _, err := r.chat.Send(r.ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	r.waitReplies(t, thread, 2)
	time.Sleep(200 * time.Millisecond) // a third reply would be a bug
	replies := r.waitReplies(t, thread, 2)
	if len(replies) != 2 || replies[0].Status != domain.MessageInterrupted || replies[1].Content != "ok" {
		t.Fatalf("replies %+v", replies)
	}
	reqs := r.llm.Requests()
	if got := conversation(reqs[len(reqs)-1]); got != "user:Q1|assistant:one |user:Q2|user:Q3" {
		t.Fatalf("last prompt %s", got)
	}
}

// conversation is a prompt without its system message, as role:content|….
func conversation(req llmtest.ChatRequest) string {
	var convo []string
	for _, m := range req.Messages[1:] {
		convo = append(convo, m.Role+":"+m.Content)
	}
	return strings.Join(convo, "|")
}

// The burst a chat app sends: many messages to one agent's thread from
// several tabs at once, feed events and agent edits in between, replies
// finishing while new messages arrive, worked by two instances. No call
// fails, no transaction even has to be retried (locks are taken in one
// order), and every message gets exactly one reply, stored with its usage.
func TestConcurrentChatNeverDeadlocks(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	a := r.agent(t, "gpt-4o-mini")
	r.llm.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: []string{"fine ", "thanks"}, PromptTokens: 10, CompletionTokens: 150}
	})
	// A second instance working the same queue.
	startWorker(t, r.st.Pool(), r.st, llm.Config{OpenAIKey: "sk-test", OpenAIBaseURL: r.llm.URL(), Prices: llm.DefaultPrices()}, r.hub)
	before := store.Retries()
	agentID := a.ID.String()
	const tabs, perTab = 4, 10
	var wg sync.WaitGroup
	var failures atomic.Int64
	fail := func(what string, err error) {
		failures.Add(1)
		t.Errorf("%s: %v", what, err)
	}
	for tab := range tabs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perTab {
				if _, _, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: fmt.Sprintf("tab %d msg %d", tab, i)}); err != nil {
					fail("send", err)
				}
				if _, err := feed.New(r.st).Create(r.ctx, domain.FeedEventInput{AgentID: &agentID, Type: "task_completed", Message: "done"}); err != nil {
					fail("feed", err)
				}
				tone := fmt.Sprintf("tone %d", i)
				if _, err := r.st.UpdateAgent(r.ctx, a.ID, store.AgentPatch{Tone: &tone}); err != nil {
					fail("update agent", err)
				}
			}
		}()
	}
	wg.Wait()
	thread := a.ID.String() + chat.DirectSuffix
	r.waitReplies(t, thread, tabs*perTab)
	time.Sleep(100 * time.Millisecond) // a reply too many would be a bug
	replies := r.waitReplies(t, thread, tabs*perTab)
	if len(replies) != tabs*perTab {
		t.Fatalf("%d replies to %d messages", len(replies), tabs*perTab)
	}
	answered := map[string]bool{}
	for _, rep := range replies {
		if answered[rep.ReplyTo.String()] {
			t.Fatalf("message %s answered twice", rep.ReplyTo)
		}
		answered[rep.ReplyTo.String()] = true
	}
	var usage, xp int
	pool := r.st.Pool()
	if err := pool.QueryRow(context.Background(), `select count(*) from usage_logs where agent_id = $1`, a.ID).Scan(&usage); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(context.Background(), `select xp from agents where id = $1`, a.ID).Scan(&xp); err != nil {
		t.Fatal(err)
	}
	if usage != tabs*perTab || xp != tabs*perTab*(10+1) {
		t.Fatalf("usage rows %d, xp %d", usage, xp)
	}
	if n := store.Retries() - before; n != 0 {
		t.Fatalf("%d transactions had to be retried: a lock order is broken", n)
	}

	// Destroying the agent while messages wait: they stay, without replies.
	r.llm.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: []string{"slow"}, Delay: 50 * time.Millisecond}
	})
	for range 3 {
		if _, _, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: "late"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.st.DestroyAgent(r.ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.chat.Send(r.ctx, domain.SendMessageInput{AgentID: &agentID, Content: "after"}); !apperr.Is(err, apperr.BadUserInput) {
		t.Fatalf("send to a destroyed agent: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := pool.QueryRow(context.Background(), `select count(*) from chat_messages where thread_id = $1 and awaiting_reply`,
			thread).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still wait for a destroyed agent", waiting)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var users int
	if err := pool.QueryRow(context.Background(), `select count(*) from chat_messages where thread_id = $1 and role = 'user'`,
		thread).Scan(&users); err != nil || users != tabs*perTab+3 {
		t.Fatalf("%d user messages stored (%v)", users, err)
	}
}
