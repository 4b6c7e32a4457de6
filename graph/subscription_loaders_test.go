package graph_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/agentgraph/agentgraph/graph"
	"github.com/agentgraph/agentgraph/internal/agents"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/chat"
	"github.com/agentgraph/agentgraph/internal/knowledge"
	"github.com/agentgraph/agentgraph/internal/profile"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/store"
)

// One feed event reaching five sockets of its user resolves its nested
// agent with one query, not five: the subscriptions it reached share the
// event's loaders (graph.freshLoaders, pubsub.Event.Local). Each socket
// still gets the whole event.
func TestSubscribersOfOneEventShareLoaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st := store.New(e.pool)
	hub := pubsub.New(e.pool, pubsub.Options{Resolve: st.EventRows})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-hub.Ready()
	v, err := auth.NewVerifier(context.Background(), auth.Options{HS256Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	r := &graph.Resolver{Store: st, Agents: agents.New(st, "gpt-4o-mini"), Knowledge: knowledge.New(st),
		Profile: profile.New(st), Chat: chat.New(st, nil), Hub: hub}
	e.srv.Config.Handler = graph.NewHandler(r, graph.Options{Verifier: v, LoaderWait: 10 * time.Millisecond,
		Sockets: graph.Sockets(v, nil)})

	user := uuid.New()
	agent := e.apiCreateAgent(t, user, map[string]any{"name": "Ada", "type": "RESEARCH"})
	const sockets = 5
	var conns []*websocket.Conn
	for i := range sockets {
		d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
		c, _, err := d.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		send := func(v any) {
			if err := c.WriteJSON(v); err != nil {
				t.Fatal(err)
			}
		}
		send(map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": token(user, nil)}})
		var ack struct{ Type string }
		if err := c.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
			t.Fatalf("socket %d: %v %+v", i, err, ack)
		}
		send(map[string]any{"id": "feed", "type": "subscribe", "payload": map[string]any{
			"query": `subscription { feedEventAdded { type message agent { id name } } }`}})
		conns = append(conns, c)
	}
	// Subscriptions are registered with the hub once their socket has read
	// the subscribe message; wait until all five are.
	for deadline := time.Now().Add(10 * time.Second); hub.Subscribers() < sockets; {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions, want %d", hub.Subscribers(), sockets)
		}
		time.Sleep(5 * time.Millisecond)
	}

	e.queries.reset()
	e.must(t, user, `mutation($in: FeedEventInput!) { createFeedEvent(input: $in) { id } }`,
		apiVars("in", map[string]any{"agentId": agent.ID, "type": "note", "message": "shared"}))
	for i, c := range conns {
		var f struct {
			Type    string
			Payload struct {
				Data struct {
					FeedEventAdded struct {
						Type, Message string
						Agent         struct{ ID, Name string }
					}
				}
				Errors json.RawMessage
			}
		}
		if err := c.ReadJSON(&f); err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		got := f.Payload.Data.FeedEventAdded
		if f.Type != "next" || got.Message != "shared" || got.Agent.ID != agent.ID || got.Agent.Name != "Ada" {
			t.Fatalf("socket %d: %+v (errors %s)", i, f, f.Payload.Errors)
		}
	}
	agentLoads := 0
	for _, sql := range e.queries.statements() {
		if strings.HasPrefix(sql, "select id, user_id, name, agent_type") { // store.AgentsByID
			agentLoads++
		}
	}
	if agentLoads != 1 {
		t.Fatalf("the event's agent was loaded %d times for %d sockets, want once; statements: %q",
			agentLoads, sockets, e.queries.statements())
	}
}
