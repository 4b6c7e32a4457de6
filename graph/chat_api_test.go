package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// API tests of chat: sendMessage, thread, threads, Thread.messages and the
// round trips of a thread list. Agent replies are not wired here (the harness
// builds chat.New(st, nil, nil)): sendMessage stores and publishes the user's
// message only. Helpers carry a "chat" prefix.

// chatMsgFields is the ChatMessage selection the tests read back.
const chatMsgFields = `id threadId role status content agentName agent { id name } createdAt`

type chatMsg struct {
	ID        string
	ThreadID  string
	Role      string
	Status    string
	Content   string
	AgentName *string
	Agent     *struct{ ID, Name string }
	CreatedAt time.Time
}

// chatSendRaw runs sendMessage as user; errors stay in the response.
func (e *env) chatSendRaw(t testing.TB, user uuid.UUID, input map[string]any) response {
	t.Helper()
	return e.as(t, user, `mutation($in: SendMessageInput!) { sendMessage(input: $in) { `+chatMsgFields+` } }`,
		apiVars("in", input))
}

// chatSend runs sendMessage as user and returns the stored message.
func (e *env) chatSend(t testing.TB, user uuid.UUID, input map[string]any) chatMsg {
	t.Helper()
	r := e.chatSendRaw(t, user, input)
	if len(r.Errors) > 0 {
		t.Fatalf("sendMessage(%v) failed: %+v", input, r.Errors)
	}
	var got struct{ SendMessage chatMsg }
	r.as(t, &got)
	return got.SendMessage
}

// chatAgent creates an agent named name as user and returns its id.
func (e *env) chatAgent(t testing.TB, user uuid.UUID, name string) string {
	t.Helper()
	return id(t, e.must(t, user, `mutation($n: String!) { createAgent(input: {name: $n, type: CUSTOM}) { id } }`,
		apiVars("n", name)), "createAgent")
}

// chatMessages counts the user's stored messages (superuser, no RLS).
func (e *env) chatMessages(t testing.TB, user uuid.UUID) int {
	t.Helper()
	return e.count(t, `select count(*) from chat_messages where user_id = $1`, user)
}

type chatPageInfo struct {
	HasNextPage     bool
	HasPreviousPage bool
	StartCursor     *string
	EndCursor       *string
}

type chatThread struct {
	ID    string
	Agent *struct {
		ID, Name string
	}
	MessageCount int
	LastMessage  *chatMsg
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const chatThreadFields = `id agent { id name } messageCount lastMessage { ` + chatMsgFields + ` } createdAt updatedAt`

// chatGetThread reads thread(id) as user; nil when the API answers null.
func (e *env) chatGetThread(t testing.TB, user uuid.UUID, threadID string) *chatThread {
	t.Helper()
	var got struct{ Thread *chatThread }
	e.must(t, user, `query($id: ID!) { thread(id: $id) { `+chatThreadFields+` } }`, apiVars("id", threadID)).as(t, &got)
	return got.Thread
}

type chatThreadConn struct {
	TotalCount int
	PageInfo   chatPageInfo
	Edges      []struct {
		Cursor string
		Node   chatThread
	}
}

func (c chatThreadConn) ids() []string {
	out := make([]string, len(c.Edges))
	for i, e := range c.Edges {
		out[i] = e.Node.ID
	}
	return out
}

// chatThreads reads threads(args) as user.
func (e *env) chatThreads(t testing.TB, user uuid.UUID, vars map[string]any) chatThreadConn {
	t.Helper()
	var got struct{ Threads chatThreadConn }
	e.must(t, user, `query($first: Int, $after: String, $agentId: ID) {
		threads(first: $first, after: $after, agentId: $agentId) {
			totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
			edges { cursor node { `+chatThreadFields+` } }
		}
	}`, vars).as(t, &got)
	return got.Threads
}

func chatJoin(ids []string) string { return strings.Join(ids, ", ") }

func TestChatSendMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	agent := e.chatAgent(t, user, "Scout")
	direct := agent + ":direct"

	// agentId only: the agent's direct thread.
	m1 := e.chatSend(t, user, map[string]any{"agentId": agent, "content": "hello scout"})
	if m1.ThreadID != direct || m1.Role != "USER" || m1.Status != "COMPLETE" || m1.Content != "hello scout" {
		t.Fatalf("agentId only: got %+v, want thread %s, role USER, status COMPLETE", m1, direct)
	}
	if m1.AgentName == nil || *m1.AgentName != "Scout" || m1.Agent == nil || m1.Agent.ID != agent || m1.Agent.Name != "Scout" {
		t.Fatalf("agentId only: want agent %s named Scout, got agentName %s agent %+v", agent, apiDeref(m1.AgentName), m1.Agent)
	}
	if m1.ID == "" || m1.CreatedAt.IsZero() {
		t.Fatalf("agentId only: no id or createdAt: %+v", m1)
	}
	if n := e.count(t, `select count(*) from chat_messages where id = $1 and user_id = $2 and thread_id = $3
		and role = 'user' and status = 'complete' and content = 'hello scout' and agent_id = $4 and agent_name = 'Scout'`,
		m1.ID, user, direct, agent); n != 1 {
		t.Fatalf("agentId only: stored row not as returned (%d matching rows)", n)
	}
	if n := e.count(t, `select count(*) from threads where user_id = $1 and id = $2 and agent_id = $3 and message_count = 1
		and last_message_id = $4`, user, direct, agent, m1.ID); n != 1 {
		t.Fatalf("agentId only: thread row not written by the trigger")
	}

	// threadId "<agentId>:direct" only: the same thread, the same agent.
	m2 := e.chatSend(t, user, map[string]any{"threadId": direct, "content": "again"})
	if m2.ThreadID != direct || m2.Agent == nil || m2.Agent.ID != agent || m2.AgentName == nil || *m2.AgentName != "Scout" {
		t.Fatalf("threadId only: want thread %s with agent %s, got %+v (agent %+v)", direct, agent, m2, m2.Agent)
	}
	if n := e.count(t, `select count(*) from chat_messages where user_id = $1 and thread_id = $2 and agent_id = $3`, user, direct, agent); n != 2 {
		t.Fatalf("threadId only: want 2 messages of the agent in %s, got %d", direct, n)
	}

	// threadId "<agentId>:direct" of a thread that does not exist yet: the
	// agent is parsed from the id.
	other := e.chatAgent(t, user, "Other")
	m3 := e.chatSend(t, user, map[string]any{"threadId": other + ":direct", "content": "first to other"})
	if m3.Agent == nil || m3.Agent.ID != other || m3.AgentName == nil || *m3.AgentName != "Other" {
		t.Fatalf("new direct thread by threadId: want agent %s, got %+v (agent %+v)", other, m3, m3.Agent)
	}

	// A custom thread without an agent: notes to self.
	m4 := e.chatSend(t, user, map[string]any{"threadId": "notes.to_self-1", "content": "remember the milk"})
	if m4.ThreadID != "notes.to_self-1" || m4.Agent != nil || m4.AgentName != nil || m4.Role != "USER" || m4.Status != "COMPLETE" {
		t.Fatalf("custom thread: want no agent, got %+v (agent %+v)", m4, m4.Agent)
	}
	if n := e.count(t, `select count(*) from chat_messages where id = $1 and user_id = $2 and thread_id = 'notes.to_self-1'
		and agent_id is null and agent_name is null`, m4.ID, user); n != 1 {
		t.Fatalf("custom thread: message not stored")
	}
	if th := e.chatGetThread(t, user, "notes.to_self-1"); th == nil || th.Agent != nil || th.MessageCount != 1 {
		t.Fatalf("custom thread: want a thread without agent and 1 message, got %+v", th)
	}
	if th := e.chatGetThread(t, user, direct); th == nil || th.Agent == nil || th.Agent.ID != agent || th.MessageCount != 2 {
		t.Fatalf("direct thread: want agent %s and 2 messages, got %+v", agent, th)
	}

	// A custom thread with an agent.
	m5 := e.chatSend(t, user, map[string]any{"threadId": "project-x", "agentId": agent, "content": "plan it"})
	if m5.ThreadID != "project-x" || m5.Agent == nil || m5.Agent.ID != agent {
		t.Fatalf("custom thread with agent: got %+v (agent %+v)", m5, m5.Agent)
	}
	if th := e.chatGetThread(t, user, "project-x"); th == nil || th.Agent == nil || th.Agent.ID != agent {
		t.Fatalf("custom thread with agent: thread.agent want %s, got %+v", agent, th)
	}

	// Limits are inclusive: 20000 characters and 200-character thread ids pass.
	long := strings.Repeat("é", 20000)
	m6 := e.chatSend(t, user, map[string]any{"threadId": strings.Repeat("t", 200), "content": long})
	if m6.Content != long {
		t.Fatalf("20000-character content not stored verbatim")
	}
	stored := e.chatMessages(t, user)
	if stored != 6 {
		t.Fatalf("want 6 stored messages, got %d", stored)
	}

	destroyed := e.chatAgent(t, user, "Gone")
	e.chatSend(t, user, map[string]any{"agentId": destroyed, "content": "before the end"})
	e.must(t, user, `mutation($id: ID!) { destroyAgent(id: $id) { status } }`, apiVars("id", destroyed))
	stored++

	bad := []struct {
		name  string
		input map[string]any
		field string // "" when only the code is checked
	}{
		{"neither threadId nor agentId", map[string]any{"content": "hi"}, "input.agentId"},
		{"empty content", map[string]any{"agentId": agent, "content": ""}, "input.content"},
		{"blank content", map[string]any{"agentId": agent, "content": " \t\n "}, "input.content"},
		{"content over 20000", map[string]any{"agentId": agent, "content": strings.Repeat("x", 20001)}, "input.content"},
		{"content over 20000 runes", map[string]any{"agentId": agent, "content": strings.Repeat("é", 20001)}, "input.content"},
		{"threadId with a space", map[string]any{"threadId": "has space", "content": "hi"}, "input.threadId"},
		{"threadId of 201 chars", map[string]any{"threadId": strings.Repeat("t", 201), "content": "hi"}, "input.threadId"},
		{"empty threadId", map[string]any{"threadId": "", "agentId": agent, "content": "hi"}, "input.threadId"},
		{"threadId with a slash", map[string]any{"threadId": "a/b", "agentId": agent, "content": "hi"}, "input.threadId"},
		{"malformed agentId", map[string]any{"agentId": "not-a-uuid", "content": "hi"}, "input.agentId"},
		{"agentId with braces", map[string]any{"agentId": "{" + agent + "}", "content": "hi"}, "input.agentId"},
		{"destroyed agent by agentId", map[string]any{"agentId": destroyed, "content": "hi"}, "input.agentId"},
		{"destroyed agent by its direct thread", map[string]any{"threadId": destroyed + ":direct", "content": "hi"}, ""},
		{"destroyed agent in a custom thread", map[string]any{"threadId": "with-gone", "agentId": destroyed, "content": "hi"}, ""},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			r := e.chatSendRaw(t, user, c.input)
			if c.field == "" {
				wantCode(t, r, "BAD_USER_INPUT")
			} else {
				apiWantInvalid(t, r, c.field)
			}
			apiWantNoInternals(t, r)
			if n := e.chatMessages(t, user); n != stored {
				t.Fatalf("a refused sendMessage stored something: %d messages, want %d", n, stored)
			}
		})
	}
	if n := e.count(t, `select count(*) from threads where user_id = $1`, user); n != 6 {
		t.Fatalf("want 6 threads (refused sends create none), got %d", n)
	}

	// An unknown agent (well-formed id) is NOT_FOUND.
	r := e.chatSendRaw(t, user, map[string]any{"agentId": uuid.NewString(), "content": "hi"})
	wantCode(t, r, "NOT_FOUND")
	if n := e.chatMessages(t, user); n != stored {
		t.Fatalf("sendMessage to an unknown agent stored something")
	}
}

func TestChatThreadsOrderAndPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	a1 := e.chatAgent(t, user, "One")
	a2 := e.chatAgent(t, user, "Two")
	threadA, threadB := a1+":direct", a2+":direct"

	first := e.chatSend(t, user, map[string]any{"agentId": a1, "content": "A1"})
	e.chatSend(t, user, map[string]any{"agentId": a2, "content": "B1"})
	last := e.chatSend(t, user, map[string]any{"agentId": a1, "content": "A2"})

	if got := e.chatThreads(t, user, nil); chatJoin(got.ids()) != chatJoin([]string{threadA, threadB}) || got.TotalCount != 2 {
		t.Fatalf("threads: want [%s, %s] by recent activity (totalCount 2), got [%s] (totalCount %d)",
			threadA, threadB, chatJoin(got.ids()), got.TotalCount)
	}

	th := e.chatGetThread(t, user, threadA)
	if th == nil {
		t.Fatalf("thread(%s) is null", threadA)
	}
	if th.ID != threadA || th.MessageCount != 2 || th.Agent == nil || th.Agent.ID != a1 || th.Agent.Name != "One" {
		t.Fatalf("thread(%s): got %+v", threadA, th)
	}
	if th.LastMessage == nil || th.LastMessage.ID != last.ID || th.LastMessage.Content != "A2" {
		t.Fatalf("thread.lastMessage: want %s (A2), got %+v", last.ID, th.LastMessage)
	}
	if !th.UpdatedAt.Equal(last.CreatedAt) || !th.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("thread times: createdAt %s updatedAt %s, want %s and %s",
			th.CreatedAt, th.UpdatedAt, first.CreatedAt, last.CreatedAt)
	}
	for _, unknown := range []string{"no-such-thread", uuid.NewString() + ":direct", a1 + ":other"} {
		if th := e.chatGetThread(t, user, unknown); th != nil {
			t.Fatalf("thread(%s) of an unknown id: want null, got %+v", unknown, th)
		}
	}
	wantCode(t, e.as(t, user, `{ thread(id: "has space") { id } }`, nil), "BAD_USER_INPUT")

	// Five custom threads (the last with agent One) for pagination; sent in
	// order, so the newest comes first.
	for i := 1; i <= 5; i++ {
		in := map[string]any{"threadId": fmt.Sprintf("topic-%d", i), "content": fmt.Sprintf("topic %d", i)}
		if i == 5 {
			in["agentId"] = a1
		}
		e.chatSend(t, user, in)
	}
	want := []string{"topic-5", "topic-4", "topic-3", "topic-2", "topic-1", threadA, threadB}
	all := e.chatThreads(t, user, apiVars("first", 100))
	if chatJoin(all.ids()) != chatJoin(want) || all.TotalCount != 7 || all.PageInfo.HasNextPage {
		t.Fatalf("threads(first: 100): want [%s], got [%s] totalCount %d pageInfo %+v",
			chatJoin(want), chatJoin(all.ids()), all.TotalCount, all.PageInfo)
	}

	var paged []string
	var after any
	seen := map[string]bool{}
	for pageNo := 0; ; pageNo++ {
		if pageNo > 5 {
			t.Fatalf("pagination does not end: %v", paged)
		}
		c := e.chatThreads(t, user, apiVars("first", 3, "after", after))
		if c.TotalCount != 7 {
			t.Fatalf("page %d: totalCount %d, want 7", pageNo, c.TotalCount)
		}
		for _, edge := range c.Edges {
			if edge.Cursor == "" || seen[edge.Cursor] || strings.Contains(edge.Cursor, edge.Node.ID) {
				t.Fatalf("page %d: cursor %q of %s is empty, repeated or not opaque", pageNo, edge.Cursor, edge.Node.ID)
			}
			seen[edge.Cursor] = true
		}
		if len(c.Edges) > 0 && (c.PageInfo.StartCursor == nil || *c.PageInfo.StartCursor != c.Edges[0].Cursor ||
			c.PageInfo.EndCursor == nil || *c.PageInfo.EndCursor != c.Edges[len(c.Edges)-1].Cursor) {
			t.Fatalf("page %d: start/end cursors do not match the edges: %+v", pageNo, c.PageInfo)
		}
		paged = append(paged, c.ids()...)
		wantNext := len(paged) < 7
		if c.PageInfo.HasNextPage != wantNext {
			t.Fatalf("page %d: hasNextPage %v, want %v (so far %v)", pageNo, c.PageInfo.HasNextPage, wantNext, paged)
		}
		if !c.PageInfo.HasNextPage {
			break
		}
		after = *c.PageInfo.EndCursor
	}
	if chatJoin(paged) != chatJoin(want) {
		t.Fatalf("pages of 3: want [%s], got [%s]", chatJoin(want), chatJoin(paged))
	}

	// agentId filter.
	one := e.chatThreads(t, user, apiVars("agentId", a1))
	if chatJoin(one.ids()) != chatJoin([]string{"topic-5", threadA}) || one.TotalCount != 2 {
		t.Fatalf("threads(agentId: One): want [topic-5, %s] totalCount 2, got [%s] totalCount %d",
			threadA, chatJoin(one.ids()), one.TotalCount)
	}
	two := e.chatThreads(t, user, apiVars("agentId", a2, "first", 1))
	if chatJoin(two.ids()) != threadB || two.TotalCount != 1 || two.PageInfo.HasNextPage {
		t.Fatalf("threads(agentId: Two): want [%s] totalCount 1, got [%s] totalCount %d %+v",
			threadB, chatJoin(two.ids()), two.TotalCount, two.PageInfo)
	}
	none := e.chatThreads(t, user, apiVars("agentId", uuid.NewString()))
	if len(none.Edges) != 0 || none.TotalCount != 0 {
		t.Fatalf("threads(agentId: unknown): want none, got %+v", none)
	}
	wantCode(t, e.as(t, user, `{ threads(agentId: "nope") { totalCount } }`, nil), "BAD_USER_INPUT")
	apiWantInvalid(t, e.as(t, user, `{ threads(after: "garbage") { totalCount } }`, nil), "after")
	apiWantInvalid(t, e.as(t, user, `{ threads(first: 101) { totalCount } }`, nil), "first")

	// New activity moves a thread to the front.
	e.chatSend(t, user, map[string]any{"threadId": threadB, "content": "B2"})
	if got := e.chatThreads(t, user, apiVars("first", 2)); chatJoin(got.ids()) != chatJoin([]string{threadB, "topic-5"}) {
		t.Fatalf("after a new message in %s: want it first, got [%s]", threadB, chatJoin(got.ids()))
	}
}

type chatMsgConn struct {
	TotalCount int
	PageInfo   chatPageInfo
	Edges      []struct {
		Cursor string
		Node   chatMsg
	}
}

func (c chatMsgConn) contents() []string {
	out := make([]string, len(c.Edges))
	for i, e := range c.Edges {
		out[i] = e.Node.Content
	}
	return out
}

func TestChatMessagesPageBackwards(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	agent := e.chatAgent(t, user, "Pager")
	thread := agent + ":direct"
	for i := 1; i <= 5; i++ {
		e.chatSend(t, user, map[string]any{"agentId": agent, "content": fmt.Sprintf("m%d", i)})
	}
	// Another thread's messages stay out of this one.
	e.chatSend(t, user, map[string]any{"threadId": "elsewhere", "content": "other thread"})

	msgs := func(vars map[string]any) chatMsgConn {
		t.Helper()
		var got struct {
			Thread *struct{ Messages chatMsgConn }
		}
		e.must(t, user, `query($id: ID!, $last: Int, $before: String) { thread(id: $id) {
			messages(last: $last, before: $before) {
				totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
				edges { cursor node { `+chatMsgFields+` } }
			}
		} }`, vars).as(t, &got)
		if got.Thread == nil {
			t.Fatalf("thread(%s) is null", thread)
		}
		return got.Thread.Messages
	}
	check := func(step string, c chatMsgConn, want []string, hasPrev bool) {
		t.Helper()
		if chatJoin(c.contents()) != chatJoin(want) || c.PageInfo.HasPreviousPage != hasPrev || c.TotalCount != 5 {
			t.Fatalf("%s: want [%s] hasPreviousPage %v totalCount 5, got [%s] %+v totalCount %d",
				step, chatJoin(want), hasPrev, chatJoin(c.contents()), c.PageInfo, c.TotalCount)
		}
		if c.PageInfo.StartCursor == nil || *c.PageInfo.StartCursor != c.Edges[0].Cursor {
			t.Fatalf("%s: startCursor is not the first edge's cursor: %+v", step, c.PageInfo)
		}
		for i := 1; i < len(c.Edges); i++ {
			if c.Edges[i].Node.CreatedAt.Before(c.Edges[i-1].Node.CreatedAt) {
				t.Fatalf("%s: edges not oldest first", step)
			}
		}
		for _, edge := range c.Edges {
			if edge.Node.ThreadID != thread || edge.Node.Agent == nil || edge.Node.Agent.ID != agent {
				t.Fatalf("%s: message of another thread or without its agent: %+v", step, edge.Node)
			}
		}
	}

	p1 := msgs(apiVars("id", thread, "last", 2))
	check("last: 2", p1, []string{"m4", "m5"}, true)
	p2 := msgs(apiVars("id", thread, "last", 2, "before", *p1.PageInfo.StartCursor))
	check("last: 2, before page 1", p2, []string{"m2", "m3"}, true)
	p3 := msgs(apiVars("id", thread, "last", 2, "before", *p2.PageInfo.StartCursor))
	check("last: 2, before page 2", p3, []string{"m1"}, false)

	all := msgs(apiVars("id", thread))
	check("default page", all, []string{"m1", "m2", "m3", "m4", "m5"}, false)
	if all.PageInfo.HasNextPage {
		t.Fatalf("the newest page has no next page: %+v", all.PageInfo)
	}
	apiWantInvalid(t, e.as(t, user, `query($id: ID!) { thread(id: $id) { messages(before: "garbage") { totalCount } } }`,
		apiVars("id", thread)), "before")
	apiWantInvalid(t, e.as(t, user, `query($id: ID!) { thread(id: $id) { messages(last: -1) { totalCount } } }`,
		apiVars("id", thread)), "last")
}

// threadsRoundTripQuery is the app's conversation list.
const threadsRoundTripQuery = `{ threads(first: 50) { edges { node { id agent { name } lastMessage { content }
	messages(last: 3) { totalCount edges { node { content agent { name } } } } } } } }`

// The round trips of the conversation list depend on its shape, not on the
// number of threads.
func TestChatThreadsRoundTripsDoNotGrowWithThreads(t *testing.T) {
	t.Parallel()
	trips := func(threads int) (int64, []string) {
		e := newEnv(t)
		user := uuid.New()
		// threads-1 agent threads (each with its own agent, two messages),
		// and one thread without an agent.
		names := map[string]string{}
		for i := 0; i < threads-1; i++ {
			name := fmt.Sprintf("Agent %02d", i)
			a := e.chatAgent(t, user, name)
			names[a+":direct"] = name
			e.chatSend(t, user, map[string]any{"agentId": a, "content": "first " + name})
			e.chatSend(t, user, map[string]any{"agentId": a, "content": "second " + name})
		}
		e.chatSend(t, user, map[string]any{"threadId": "notes", "content": "note"})
		e.must(t, user, threadsRoundTripQuery, nil) // warm up: prepare statements on the connection
		e.queries.reset()
		r := e.must(t, user, threadsRoundTripQuery, nil)
		n := e.queries.n.Load()
		var got struct {
			Threads struct {
				Edges []struct {
					Node struct {
						ID          string
						Agent       *struct{ Name string }
						LastMessage *struct{ Content string }
						Messages    struct {
							TotalCount int
							Edges      []struct {
								Node struct {
									Content string
									Agent   *struct{ Name string }
								}
							}
						}
					}
				}
			}
		}
		r.as(t, &got)
		if len(got.Threads.Edges) != threads {
			t.Fatalf("want %d threads, got %d", threads, len(got.Threads.Edges))
		}
		for _, edge := range got.Threads.Edges {
			node := edge.Node
			if node.ID == "notes" {
				if node.Agent != nil || node.LastMessage == nil || node.LastMessage.Content != "note" ||
					node.Messages.TotalCount != 1 || len(node.Messages.Edges) != 1 || node.Messages.Edges[0].Node.Agent != nil {
					t.Fatalf("notes thread wrong: %+v", node)
				}
				continue
			}
			name, ok := names[node.ID]
			if !ok || node.Agent == nil || node.Agent.Name != name || node.LastMessage == nil ||
				node.LastMessage.Content != "second "+name || node.Messages.TotalCount != 2 || len(node.Messages.Edges) != 2 {
				t.Fatalf("thread %s wrong: %+v", node.ID, node)
			}
			for i, m := range node.Messages.Edges {
				want := []string{"first ", "second "}[i] + name
				if m.Node.Content != want || m.Node.Agent == nil || m.Node.Agent.Name != name {
					t.Fatalf("thread %s message %d: want %q by %s, got %+v", node.ID, i, want, name, m.Node)
				}
			}
		}
		return n, e.queries.statements()
	}
	small, smallSQL := trips(2)
	large, largeSQL := trips(20)
	t.Logf("round trips of the thread list: 2 threads %d, 20 threads %d: %q", small, large, largeSQL)
	if small != large {
		t.Fatalf("round trips grow with the list: %d for 2 threads, %d for 20\n2: %q\n20: %q",
			small, large, smallSQL, largeSQL)
	}
	// threads, then Thread.agent, Thread.lastMessage and Thread.messages
	// (ChatMessage.agent finds its agents in the loader's cache).
	if large > 4 {
		t.Fatalf("want at most 4 round trips, got %d: %q", large, largeSQL)
	}
}

// Another user's threads, messages and agents do not exist for the caller;
// sending to them is NOT_FOUND and stores nothing.
func TestChatCrossTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := uuid.New(), uuid.New()
	aAgent := e.chatAgent(t, alice, "Alice's agent")
	bAgent := e.chatAgent(t, bob, "Bob's agent")
	aDirect := aAgent + ":direct"
	e.chatSend(t, alice, map[string]any{"agentId": aAgent, "content": "alice secret"})
	e.chatSend(t, alice, map[string]any{"threadId": "shared-name", "content": "alice note"})
	e.chatSend(t, bob, map[string]any{"agentId": bAgent, "content": "bob hello"})
	aliceMsgs, bobMsgs := e.chatMessages(t, alice), e.chatMessages(t, bob)

	t.Run("queries", func(t *testing.T) {
		for _, th := range []string{aDirect, "shared-name"} {
			if got := e.chatGetThread(t, bob, th); got != nil {
				t.Fatalf("bob sees alice's thread %s: %+v", th, got)
			}
		}
		all := e.chatThreads(t, bob, apiVars("first", 100))
		if chatJoin(all.ids()) != bAgent+":direct" || all.TotalCount != 1 {
			t.Fatalf("bob's threads: want only his direct thread, got [%s] totalCount %d", chatJoin(all.ids()), all.TotalCount)
		}
		byAlice := e.chatThreads(t, bob, apiVars("agentId", aAgent))
		if len(byAlice.Edges) != 0 || byAlice.TotalCount != 0 {
			t.Fatalf("bob's threads(agentId: alice's agent): want none, got %+v", byAlice)
		}
	})

	t.Run("send with alice's agentId", func(t *testing.T) {
		for _, in := range []map[string]any{
			{"agentId": aAgent, "content": "hijack"},
			{"agentId": aAgent, "threadId": "bob-thread", "content": "hijack"},
			{"agentId": aAgent, "threadId": aDirect, "content": "hijack"},
		} {
			r := e.chatSendRaw(t, bob, in)
			wantCode(t, r, "NOT_FOUND")
			apiWantNoInternals(t, r)
			if a, b := e.chatMessages(t, alice), e.chatMessages(t, bob); a != aliceMsgs || b != bobMsgs {
				t.Fatalf("sendMessage(%v) as bob stored something: alice %d (want %d), bob %d (want %d)", in, a, aliceMsgs, b, bobMsgs)
			}
		}
	})

	t.Run("send to alice's direct thread id", func(t *testing.T) {
		// The answer is the same as for an agent that exists nowhere.
		wantCode(t, e.chatSendRaw(t, bob, map[string]any{"threadId": uuid.NewString() + ":direct", "content": "x"}), "NOT_FOUND")
		// No agentId: the agent parsed from "<agentId>:direct" is alice's;
		// it must not be attached to a message of bob's.
		r := e.chatSendRaw(t, bob, map[string]any{"threadId": aDirect, "content": "hijack"})
		wantCode(t, r, "NOT_FOUND")
		apiWantNoInternals(t, r)
		if a, b := e.chatMessages(t, alice), e.chatMessages(t, bob); a != aliceMsgs || b != bobMsgs {
			t.Fatalf("bob's send to %s stored something: alice %d (want %d), bob %d (want %d)", aDirect, a, aliceMsgs, b, bobMsgs)
		}
		if n := e.count(t, `select count(*) from chat_messages where agent_id = $1 and user_id <> $2`, aAgent, alice); n != 0 {
			t.Fatalf("%d messages of other users name alice's agent", n)
		}
		if n := e.count(t, `select count(*) from threads where agent_id = $1 and user_id <> $2`, aAgent, alice); n != 0 {
			t.Fatalf("%d threads of other users name alice's agent", n)
		}
	})

	t.Run("same thread name is bob's own thread", func(t *testing.T) {
		// Thread ids are per user: bob's "shared-name" is a new thread of his,
		// alice's is untouched.
		m := e.chatSend(t, bob, map[string]any{"threadId": "shared-name", "content": "bob note"})
		bobMsgs++
		if m.Agent != nil || m.AgentName != nil {
			t.Fatalf("bob's note got an agent: %+v", m)
		}
		th := e.chatGetThread(t, bob, "shared-name")
		if th == nil || th.MessageCount != 1 || th.LastMessage == nil || th.LastMessage.Content != "bob note" {
			t.Fatalf("bob's shared-name thread: %+v", th)
		}
		ath := e.chatGetThread(t, alice, "shared-name")
		if ath == nil || ath.MessageCount != 1 || ath.LastMessage == nil || ath.LastMessage.Content != "alice note" {
			t.Fatalf("alice's shared-name thread changed: %+v", ath)
		}
	})

	t.Run("a row naming alice's agent does not leak it", func(t *testing.T) {
		// Written as the superuser (the API refuses it): bob's message and
		// thread name alice's agent. Reading them back as bob must not show
		// the agent.
		var mid uuid.UUID
		if err := e.pool.QueryRow(context.Background(), `insert into chat_messages (user_id, thread_id, role, content, agent_id, agent_name)
			values ($1, 'planted', 'user', 'planted', $2, 'planted name') returning id`, bob, aAgent).Scan(&mid); err != nil {
			t.Fatal(err)
		}
		bobMsgs++
		var got struct {
			Thread *struct {
				Agent       *json.RawMessage
				LastMessage *struct{ Agent *json.RawMessage }
				Messages    struct {
					Edges []struct {
						Node struct{ Agent *json.RawMessage }
					}
				}
			}
		}
		r := e.must(t, bob, `{ thread(id: "planted") { agent { id name } lastMessage { agent { id name } }
			messages { edges { node { agent { id name } } } } } }`, nil)
		r.as(t, &got)
		if got.Thread == nil || got.Thread.Agent != nil || got.Thread.LastMessage == nil || got.Thread.LastMessage.Agent != nil ||
			len(got.Thread.Messages.Edges) != 1 || got.Thread.Messages.Edges[0].Node.Agent != nil {
			t.Fatalf("bob sees alice's agent through a planted row: %s", r.Data)
		}
		var list struct {
			Threads struct {
				Edges []struct {
					Node struct {
						ID       string
						Agent    *struct{ ID string }
						Messages struct {
							Edges []struct {
								Node struct{ Agent *struct{ ID string } }
							}
						}
					}
				}
			}
		}
		r = e.must(t, bob, `{ threads(first: 100) { edges { node { id agent { id } messages { edges { node { agent { id } } } } } } } }`, nil)
		r.as(t, &list)
		for _, edge := range list.Threads.Edges {
			if edge.Node.Agent != nil && edge.Node.Agent.ID == aAgent {
				t.Fatalf("bob's thread %s shows alice's agent", edge.Node.ID)
			}
			for _, m := range edge.Node.Messages.Edges {
				if m.Node.Agent != nil && m.Node.Agent.ID == aAgent {
					t.Fatalf("a message of bob's thread %s shows alice's agent", edge.Node.ID)
				}
			}
		}
		if strings.Contains(string(r.Data), "Alice") {
			t.Fatalf("bob's thread list shows alice's data: %s", r.Data)
		}
	})

	if a, b := e.chatMessages(t, alice), e.chatMessages(t, bob); a != aliceMsgs || b != bobMsgs {
		t.Fatalf("messages changed: alice %d (want %d), bob %d (want %d)", a, aliceMsgs, b, bobMsgs)
	}
}

// An agent's direct thread has one id, "<agentId>:direct" with the id as the
// API writes it. Other spellings of the same UUID (upper case, no hyphens,
// "urn:uuid:" prefix) must not open more threads of the agent: sendMessage
// may refuse them, treat them as plain threads without an agent, or use the
// canonical thread, but the agent's conversation must not split.
func TestChatDirectThreadIDIsCanonical(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	agent := e.chatAgent(t, user, "Canon")
	direct := agent + ":direct"
	e.chatSend(t, user, map[string]any{"agentId": agent, "content": "canonical"})
	for _, th := range []string{
		strings.ToUpper(agent) + ":direct",
		strings.ReplaceAll(agent, "-", "") + ":direct",
		"urn:uuid:" + agent + ":direct",
	} {
		r := e.chatSendRaw(t, user, map[string]any{"threadId": th, "content": "variant"})
		if len(r.Errors) > 0 {
			continue // refused: fine
		}
		var got struct{ SendMessage chatMsg }
		r.as(t, &got)
		m := got.SendMessage
		if m.Agent != nil && m.ThreadID != direct {
			t.Errorf("threadId %q: the agent %s was attached to thread %q, a second direct thread of the agent besides %q",
				th, agent, m.ThreadID, direct)
		}
	}
	if got := e.chatThreads(t, user, apiVars("agentId", agent)); chatJoin(got.ids()) != direct {
		t.Errorf("threads(agentId: %s): want only [%s], got [%s]", agent, direct, chatJoin(got.ids()))
	}
}
