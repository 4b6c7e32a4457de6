package graph_test

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/graph"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/store"
)

// One feed event reaching six sockets of its user, five of them running
// the same operation and one another: it is executed once per operation
// (executeEvent) with loaders shared by all (its nested agent loads once),
// and every socket gets the response to its own operation.
func TestSubscribersOfOneEventShareItsExecution(t *testing.T) {
	t.Parallel()
	s := newSocketStack(t, nil)
	e, hub := s.env, s.hub

	user := uuid.New()
	// Creating the agent posts agent_created: let the hub dispatch it before
	// the sockets subscribe, so that the only event they get is ours.
	probe := hub.Subscribe(user, nil)
	agent := e.apiCreateAgent(t, user, map[string]any{"name": "Ada", "type": "RESEARCH"})
	select {
	case <-probe.C():
	case <-time.After(10 * time.Second):
		t.Fatal("agent_created was not dispatched")
	}
	probe.Close()
	const same = `subscription { feedEventAdded { type message agent { id name } } }`
	const other = `subscription Other { feedEventAdded { agent { name } type } }`
	queries := []string{same, same, same, same, same, other}
	var conns []*websocket.Conn
	for _, q := range queries {
		conns = append(conns, s.subscribe(t, websocket.Dialer{}, user, q))
	}
	s.waitSubscribed(t, len(queries))

	e.queries.reset()
	e.must(t, user, `mutation($in: FeedEventInput!) { createFeedEvent(input: $in) { id } }`,
		apiVars("in", map[string]any{"agentId": agent.ID, "type": "note", "message": "shared"}))
	for i, c := range conns {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		want := `{"id":"feed","type":"next","payload":{"data":{"feedEventAdded":{"type":"note","message":"shared","agent":{"id":"` +
			agent.ID + `","name":"Ada"}}}}}`
		if queries[i] == other {
			want = `{"id":"feed","type":"next","payload":{"data":{"feedEventAdded":{"agent":{"name":"Ada"},"type":"note"}}}}`
		}
		if string(data) != want {
			t.Fatalf("socket %d got\n%s\nwant\n%s", i, data, want)
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
			agentLoads, len(queries), e.queries.statements())
	}
}

// socketStack is the API with an event hub and our socket transport, on a
// server of its own.
type socketStack struct {
	env   *env
	hub   *pubsub.Hub
	wsURL string
}

// newSocketStack starts it; wrap, if set, wraps the server's listener.
func newSocketStack(t *testing.T, wrap func(net.Listener) net.Listener) *socketStack {
	t.Helper()
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
	srv := httptest.NewUnstartedServer(graph.NewHandler(newResolver(st, hub), graph.Options{Verifier: v,
		LoaderWait: 10 * time.Millisecond, Sockets: graph.Sockets(v, nil, graph.SocketQuotas{})}))
	if wrap != nil {
		srv.Listener = wrap(srv.Listener)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	e.srv = srv
	return &socketStack{env: e, hub: hub, wsURL: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

// subscribe opens a graphql-transport-ws socket with d as user, waits for
// the ack and subscribes to query as operation "feed".
func (s *socketStack) subscribe(t *testing.T, d websocket.Dialer, user uuid.UUID, query string) *websocket.Conn {
	t.Helper()
	d.Subprotocols = []string{"graphql-transport-ws"}
	c, _, err := d.Dial(s.wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := c.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": token(user, nil)}}); err != nil {
		t.Fatal(err)
	}
	var ack struct{ Type string }
	if err := c.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("connection_init: %v %+v", err, ack)
	}
	if err := c.WriteJSON(map[string]any{"id": "feed", "type": "subscribe", "payload": map[string]any{"query": query}}); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitSubscribed waits until the hub holds n subscriptions: a socket's is
// registered once the socket has read its subscribe message.
func (s *socketStack) waitSubscribed(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.hub.Subscribers() < int64(n); {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions, want %d", s.hub.Subscribers(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// smallSendBuffers makes the server's sockets' send buffers 8 KiB, so that
// a client that stops reading blocks the server's writes quickly.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

// A socket that stops reading falls behind; when its subscription's buffer
// fills, the socket is closed with 1013 (try again later), which graphql-ws
// clients answer by reconnecting and resubscribing, rather than completing
// the subscription, which would look finished.
func TestSlowSocketClosedWithTryAgainLater(t *testing.T) {
	t.Parallel()
	s := newSocketStack(t, func(l net.Listener) net.Listener { return smallSendBuffers{l} })
	user := uuid.New()
	// The client's receive buffer is small too, and it reads nothing.
	c := s.subscribe(t, websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(8 << 10)
		}
		return c, err
	}}, user, `subscription { feedEventAdded { id message } }`)
	s.waitSubscribed(t, 1)

	// 600 events of 2,000 characters, committed at once, while the client
	// reads nothing.
	b := &pgx.Batch{}
	message := strings.Repeat("x", 2000)
	for range 600 {
		id := uuid.New()
		b.Queue(`insert into feed_events (id, user_id, type, message) values ($1, $2, 'note', $3)`, id, user, message)
		if err := pubsub.Notify(b, pubsub.Event{Kind: pubsub.KindFeed, UserID: user, ID: id.String()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.env.pool.SendBatch(context.Background(), b).Close(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); s.hub.Dropped() < 1; {
		if time.Now().After(deadline) {
			t.Fatal("the slow subscription was not dropped")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Now read: the frames that were in flight, then the close.
	frames := 0
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseTryAgainLater {
				t.Fatalf("after %d frames: %v, want a 1013 close", frames, err)
			}
			break
		}
		if strings.Contains(string(data), `"type":"complete"`) {
			t.Fatalf("the subscription completed: %s", data)
		}
		frames++
	}
	if frames >= 600 {
		t.Fatalf("all %d events arrived: the socket never fell behind", frames)
	}
	t.Logf("%d frames arrived before the close", frames)
}
