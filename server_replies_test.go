package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// chunkWatch follows the stream chunks the servers publish for one thread
// (Postgres NOTIFY), so these tests do not depend on the WebSocket transport.
type chunkWatch struct {
	t      *testing.T
	conn   *pgx.Conn
	thread string
}

func watchChunks(t *testing.T, ctx context.Context, db, thread string) *chunkWatch {
	t.Helper()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "listen "+pgx.Identifier{pubsub.Channel}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return &chunkWatch{t: t, conn: conn, thread: thread}
}

// next returns the next chunk of the thread and its message id. A timeout
// breaks the connection (pgx), so only the last wait may time out.
func (w *chunkWatch) next(ctx context.Context, what string, within time.Duration) (pubsub.Chunk, string) {
	w.t.Helper()
	for {
		wctx, cancel := context.WithTimeout(ctx, within)
		n, err := w.conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			w.t.Fatalf("waiting for %s: %v", what, err)
		}
		var ev pubsub.Event
		if err := json.Unmarshal([]byte(n.Payload), &ev); err != nil || ev.Kind != pubsub.KindChunk || ev.Topic != w.thread {
			continue // parts of long events never come here: these chunks are short
		}
		c, ok := pubsub.DecodeChunk(&ev)
		if !ok {
			w.t.Fatalf("chunk %q", n.Payload)
		}
		return c, ev.ID
	}
}

// assistantReplies lists a thread's stored replies as "status:content".
func assistantReplies(t *testing.T, ctx context.Context, conn *pgx.Conn, thread string) []string {
	t.Helper()
	rows, err := conn.Query(ctx, `select status || ':' || content from chat_messages
		where thread_id = $1 and role = 'assistant' order by created_at`, thread)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// SIGTERM during a slow reply: the process stops taking work, gives the
// reply REPLY_DRAIN_TIMEOUT, then cuts it and exits 0 without storing a
// half reply: the reply stays a job. The next instance generates it anew,
// under the same message id with a restart flag, and stores it once.
func TestShutdownLeavesCutReplyToNextInstance(t *testing.T) {
	t.Parallel()
	db := testdb.URL(t)
	slow := llmtest.NewServer(t)
	var chunks []string
	for i := range 30 {
		chunks = append(chunks, fmt.Sprintf("w%02d ", i))
	}
	slow.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: chunks, Delay: time.Second} // ~30s in all
	})
	const drain = 2 * time.Second
	srv := startServer(t, serverConfig{dbURL: db, llmURL: slow.URL(), extra: []string{"REPLY_DRAIN_TIMEOUT=" + drain.String()}})
	user := uuid.New()
	tok := hourToken(user)
	agent := srv.createAgent(t, tok, "Slow", "")
	thread := agent + ":direct"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	w := watchChunks(t, ctx, db, thread)

	srv.sendMessage(t, tok, agent, "Tell me a long story")
	first, replyID := w.next(ctx, "the first chunk", ioTimeout)
	if first.Delta != chunks[0] || first.Restart {
		t.Fatalf("first chunk %+v", first)
	}
	signalled := time.Now()
	srv.terminate(t)
	if !srv.waitExit(shutdownTimeout + 10*time.Second) {
		t.Fatal("still running after SIGTERM")
	}
	took := time.Since(signalled)
	t.Logf("exited %v after SIGTERM", took.Round(time.Millisecond))
	if srv.waitErr != nil {
		t.Fatalf("exit: %v", srv.waitErr)
	}
	if took < drain || took > drain+5*time.Second {
		t.Errorf("exited %v after SIGTERM, want just over the %v reply drain time", took, drain)
	}
	if got := assistantReplies(t, ctx, w.conn, thread); len(got) != 0 {
		t.Fatalf("a cut reply was stored: %q", got)
	}
	var state string
	if err := w.conn.QueryRow(ctx, `select state from river.river_job where kind = 'chat_reply'`).Scan(&state); err != nil ||
		(state != "available" && state != "scheduled") {
		t.Fatalf("reply job %q (%v): want it waiting for the next instance", state, err)
	}

	fast := llmtest.NewServer(t)
	fast.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: []string{"a ", "short ", "story"}, PromptTokens: 40, CompletionTokens: 3}
	})
	startServer(t, serverConfig{dbURL: db, llmURL: fast.URL()})
	var restarted bool
	for {
		c, id := w.next(ctx, "the regenerated reply", 30*time.Second)
		if id != replyID {
			t.Fatalf("the regenerated reply streams as %s, not %s", id, replyID)
		}
		restarted = restarted || c.Restart
		if c.Done {
			break
		}
	}
	if !restarted {
		t.Error("no chunk told subscribers the stream started over")
	}
	// The done chunk goes out just before the reply is stored.
	got := assistantReplies(t, ctx, w.conn, thread)
	for deadline := time.Now().Add(10 * time.Second); len(got) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		got = assistantReplies(t, ctx, w.conn, thread)
	}
	if len(got) != 1 || got[0] != "complete:a short story" {
		t.Fatalf("stored replies %q", got)
	}
	var usage int
	if err := w.conn.QueryRow(ctx, `select count(*) from usage_logs where agent_id = $1`, agent).Scan(&usage); err != nil || usage != 1 {
		t.Fatalf("usage rows %d (%v): only the generated reply is logged", usage, err)
	}
}

// kill -9 of the instance generating a reply, with another instance up: the
// other takes the job over once River finds it stuck (within LLM_TIMEOUT plus
// margins, about a minute here), generates the reply anew and stores it
// once; the user's messageAdded subscription on the survivor sees it.
func TestKillDuringReplyResumesOnOtherInstance(t *testing.T) {
	t.Parallel()
	db := testdb.URL(t)
	// Each instance has a provider of its own, so the one that gets the
	// request tells which instance runs the reply.
	llms := []*llmtest.Server{llmtest.NewServer(t), llmtest.NewServer(t)}
	for _, l := range llms {
		l.SetHandler(func(req llmtest.ChatRequest) llmtest.Reply {
			return llmtest.Reply{Chunks: []string{"first ", "draft ", "that ", "stalls"}, StallAfter: 2}
		})
	}
	extra := []string{"LLM_TIMEOUT=2s", "LLM_IDLE_TIMEOUT=60s"}
	procs := startServers(t, serverConfig{dbURL: db, llmURL: llms[0].URL(), extra: extra},
		serverConfig{dbURL: db, llmURL: llms[1].URL(), extra: extra})
	user := uuid.New()
	tok := hourToken(user)
	agent := procs[0].createAgent(t, tok, "Ada", "")
	thread := agent + ":direct"
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	w := watchChunks(t, ctx, db, thread)

	// The request goes to the first instance; the job runs wherever River
	// sends it.
	sent := procs[0].sendMessage(t, tok, agent, "Hello?")
	_, replyID := w.next(ctx, "the first chunk", ioTimeout)
	victim := -1
	for i, l := range llms {
		if len(l.Requests()) > 0 {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatal("no provider got the request")
	}
	survivor := procs[1-victim]
	for _, l := range llms {
		l.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
			return llmtest.Reply{Chunks: []string{"the ", "answer"}, PromptTokens: 12, CompletionTokens: 2}
		})
	}
	sub := openWS(t, survivor, transportWS)
	sub.init(tok)
	sub.subscribe("added", messageAddedSub, map[string]any{"t": thread})
	time.Sleep(300 * time.Millisecond) // the subscription is in place
	procs[victim].kill(t)
	killed := time.Now()
	t.Logf("killed %s, which was generating the reply", procs[victim].name)

	deadline := time.Now().Add(120 * time.Second)
	var reply *chatMessage
	for reply == nil {
		f, ok := sub.next(time.Until(deadline))
		if !ok {
			t.Fatalf("no reply on the survivor within 120s of the kill (connection: %v)", sub.endErr())
		}
		if m := result[struct{ MessageAdded chatMessage }](t, f).MessageAdded; m.Role == "ASSISTANT" {
			reply = &m
		}
	}
	t.Logf("the survivor stored the reply %v after the kill", time.Since(killed).Round(time.Second))
	if reply.ID != replyID || reply.Content != "the answer" || reply.Status != "COMPLETE" {
		t.Fatalf("reply %+v, want the regenerated answer under %s", reply, replyID)
	}
	if got := assistantReplies(t, ctx, w.conn, thread); len(got) != 1 {
		t.Fatalf("stored replies %q", got)
	}
	var usage, awaiting int
	if err := w.conn.QueryRow(ctx, `select count(*) from usage_logs where agent_id = $1`, agent).Scan(&usage); err != nil || usage != 1 {
		t.Fatalf("usage rows %d (%v)", usage, err)
	}
	if err := w.conn.QueryRow(ctx, `select count(*) from chat_messages where id = $1 and not awaiting_reply`, sent.ID).
		Scan(&awaiting); err != nil || awaiting != 1 {
		t.Fatalf("the message still awaits its reply (%v)", err)
	}
}

// The burst of issue 9, as a chat app sends it: 20 messages and 20 feed
// events, alternating, through one instance, with a provider that answers
// at once, while another instance's subscriber watches. Every call
// succeeds, and the subscriber gets every message, reply and event once, in
// order (each reply right after the message it answers is stored).
func TestBurstThroughOneInstanceWatchedOnAnother(t *testing.T) {
	t.Parallel()
	db := testdb.URL(t)
	llm := llmtest.NewServer(t)
	llm.SetHandler(func(req llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: []string{"re: ", req.Messages[len(req.Messages)-1].Content}}
	})
	cfg := serverConfig{dbURL: db, llmURL: llm.URL()}
	procs := startServers(t, cfg, cfg)
	front, watcher := procs[0], procs[1]
	tok := hourToken(uuid.New())
	agent := front.createAgent(t, tok, "Ada", "")
	thread := agent + ":direct"

	ws := openWS(t, watcher, transportWS)
	ws.init(tok)
	ws.subscribe("added", `subscription($t: ID!) { messageAdded(threadId: $t) { id role content replyTo } }`,
		map[string]any{"t": thread})
	ws.subscribe("feed", feedSub, map[string]any{"a": agent})
	ws.syncFeed("feed", "sentinel", func() { front.postFeed(t, tok, agent, "sentinel", "listening") })

	const n = 20
	sent := make([]string, n)
	for i := range n {
		sent[i] = front.sendMessage(t, tok, agent, fmt.Sprintf("m%02d", i)).ID // must: any error fails the test
		front.postFeed(t, tok, agent, "task_completed", fmt.Sprintf("f%02d", i))
	}

	type added struct {
		ID, Role, Content string
		ReplyTo           *string
	}
	var users, replies []added
	var feed []string
	seen := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for len(users) < n || len(replies) < n || len(feed) < n {
		f, ok := ws.next(time.Until(deadline))
		if !ok {
			t.Fatalf("after 60s: %d messages, %d replies, %d feed events (connection: %v)", len(users), len(replies), len(feed), ws.endErr())
		}
		switch f.ID {
		case "added":
			m := result[struct{ MessageAdded added }](t, f).MessageAdded
			if seen[m.ID] {
				t.Fatalf("message %s delivered twice", m.ID)
			}
			seen[m.ID] = true
			if m.Role == "USER" {
				users = append(users, m)
			} else {
				replies = append(replies, m)
			}
		case "feed":
			ev := result[struct{ FeedEventAdded feedEvent }](t, f).FeedEventAdded
			if seen[ev.ID] {
				t.Fatalf("feed event %s delivered twice", ev.ID)
			}
			seen[ev.ID] = true
			if ev.Type == "task_completed" {
				feed = append(feed, ev.Message)
			}
		}
	}
	for i := range n {
		if users[i].ID != sent[i] {
			t.Fatalf("message %d delivered as %s, want %s (out of order)", i, users[i].ID, sent[i])
		}
		if replies[i].ReplyTo == nil || *replies[i].ReplyTo != sent[i] || replies[i].Content != fmt.Sprintf("re: m%02d", i) {
			t.Fatalf("reply %d: %+v, want the answer to %s", i, replies[i], sent[i])
		}
		if feed[i] != fmt.Sprintf("f%02d", i) {
			t.Fatalf("feed event %d is %q", i, feed[i])
		}
	}
}
