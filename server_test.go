package main

// Process-level tests: the server binary, built once, runs as real OS
// processes against real Postgres databases and a loopback stand-in for the
// OpenAI API (llmtest). They cover what only a whole process shows: two
// instances sharing one database (LISTEN/NOTIFY fan-out), the WebSocket
// transport as a client sees it, graceful shutdown on SIGTERM, bad
// configuration, and a real JavaScript client (Apollo Client 4 +
// graphql-ws, e2e/chat.test.mjs).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/testauth"

	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

const (
	testSecret    = "server-test-secret-server-test-secret!"
	allowedOrigin = "http://allowed.example"
	// shutdownTimeout is config.Config.ShutdownTimeout: how long a SIGTERMed
	// server lets replies in flight go on before it cuts them.
	shutdownTimeout = 15 * time.Second
	// ioTimeout bounds single reads and requests so a broken server fails a
	// test instead of hanging it.
	ioTimeout = 10 * time.Second

	transportWS = "graphql-transport-ws" // graphql-ws library, Apollo Client 4
	legacyWS    = "graphql-ws"           // subscriptions-transport-ws
)

// binary is the server, built once by TestMain.
var binary string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "agentgraph-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "server_test:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "agentgraph")
	args := []string{"build", "-o", binary}
	if raceEnabled() {
		// Under `go test -race` the server processes are race-checked too:
		// a detected race makes the process exit 66, which fails the test
		// that stops it, with the report in its log.
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "server_test: go %s: %v\n%s", strings.Join(args, " "), err, out)
		return 1
	}
	return m.Run()
}

// raceEnabled reports whether this test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Server processes
// ---------------------------------------------------------------------------

// server is one running server process.
type server struct {
	name    string
	base    string // http://127.0.0.1:<port>
	cmd     *exec.Cmd
	logs    *lockedBuffer // stderr (slog writes there)
	exited  chan struct{} // closed when the process has exited
	waitErr error         // cmd.Wait's result; read after exited is closed
	killed  bool          // ended by kill: its exit status is expected
}

// serverConfig is what varies between the servers of the tests.
type serverConfig struct {
	dbURL  string
	llmURL string   // OPENAI_BASE_URL
	extra  []string // more KEY=value settings
	// devFile, when set, starts the server in dev mode (no
	// SUPABASE_JWT_SECRET) with its identity kept there.
	devFile string
}

// lockedBuffer collects a process's output; written by exec's copying
// goroutine, read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// baseEnv is the environment of every child process: nothing is inherited
// but PATH and HOME, so a developer's ANTHROPIC_API_KEY or DATABASE_URL
// cannot change what a test sees.
func baseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
}

// launch starts a server process without waiting for it.
func launch(t *testing.T, name string, c serverConfig) *server {
	t.Helper()
	port := freePort(t)
	s := &server{
		name:   name,
		base:   fmt.Sprintf("http://127.0.0.1:%d", port),
		logs:   &lockedBuffer{},
		exited: make(chan struct{}),
	}
	s.cmd = exec.Command(binary)
	s.cmd.Env = append(baseEnv(),
		fmt.Sprintf("PORT=%d", port),
		"DATABASE_URL="+c.dbURL,
		"OPENAI_API_KEY=sk-test",
		"OPENAI_BASE_URL="+c.llmURL,
		"ALLOWED_ORIGINS="+allowedOrigin,
	)
	if c.devFile != "" {
		s.cmd.Env = append(s.cmd.Env, "AGENTGRAPH_DEV_FILE="+c.devFile)
	} else {
		s.cmd.Env = append(s.cmd.Env, "SUPABASE_JWT_SECRET="+testSecret)
	}
	s.cmd.Env = append(s.cmd.Env, c.extra...)
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	// Registered after the test database's cleanup, so it runs first: the
	// process is gone when pgtestdb drops the database.
	t.Cleanup(func() { s.stop(t) })
	return s
}

// startServers starts a server per config and waits until all are ready.
func startServers(t *testing.T, cfgs ...serverConfig) []*server {
	t.Helper()
	out := make([]*server, len(cfgs))
	for i, c := range cfgs {
		out[i] = launch(t, fmt.Sprintf("server%d", i+1), c)
	}
	for i, c := range cfgs {
		for attempt := 1; ; attempt++ {
			err := out[i].waitReady(30 * time.Second)
			if err == nil {
				break
			}
			// freePort's port can be taken between its check and the
			// server's listen; try another.
			if attempt < 3 && strings.Contains(out[i].logs.String(), "address already in use") {
				out[i] = launch(t, out[i].name, c)
				continue
			}
			t.Fatalf("%s: %v\nits output:\n%s", out[i].name, err, out[i].logs.String())
		}
	}
	return out
}

func startServer(t *testing.T, c serverConfig) *server {
	t.Helper()
	return startServers(t, c)[0]
}

// waitReady polls /readyz until it answers 200.
func (s *server) waitReady(within time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(within)
	for {
		res, err := client.Get(s.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("exited before it was ready: %v", s.waitErr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %v (last: %v)", within, err)
		}
	}
}

// terminate sends SIGTERM.
func (s *server) terminate(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", s.name, err)
	}
}

// waitExit reports whether the process exited within d.
func (s *server) waitExit(d time.Duration) bool {
	select {
	case <-s.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// kill ends the process as a crash does (SIGKILL: no shutdown at all).
func (s *server) kill(t *testing.T) {
	t.Helper()
	s.killed = true
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", s.name, err)
	}
	<-s.exited
}

// stop ends the process (SIGTERM, then SIGKILL after the shutdown timeout
// and a margin), requires a clean exit, and puts its output in the test log
// when the test failed.
func (s *server) stop(t *testing.T) {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		if !s.waitExit(shutdownTimeout + 5*time.Second) {
			t.Errorf("%s still running %v after SIGTERM; killed", s.name, shutdownTimeout+5*time.Second)
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.waitErr != nil && !s.killed {
		t.Errorf("%s exited with %v (a race report, if any, is in its output)", s.name, s.waitErr)
	}
	if t.Failed() {
		t.Logf("output of %s (%s):\n%s", s.name, s.base, s.logs.String())
	}
}

// ---------------------------------------------------------------------------
// Tokens and GraphQL over HTTP
// ---------------------------------------------------------------------------

// signToken signs claims with HS256 and secret.
func signToken(claims map[string]any, secret string) string { return testauth.Sign(secret, claims) }

// token is a Supabase access token of user expiring at exp.
func token(user uuid.UUID, exp time.Time) string {
	return testauth.Token(testSecret, user, exp)
}

func hourToken(user uuid.UUID) string { return token(user, time.Now().Add(time.Hour)) }

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

var httpClient = &http.Client{Timeout: ioTimeout}

// query posts a GraphQL operation with a bearer token ("" for none).
func (s *server) query(t *testing.T, tok, q string, vars map[string]any) gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.base+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s: POST /query: %v", s.name, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: POST /query: status %d, body %q: %v", s.name, res.StatusCode, raw, err)
	}
	return out
}

// must is query that fails the test on any error.
func (s *server) must(t *testing.T, tok, q string, vars map[string]any) gqlResponse {
	t.Helper()
	r := s.query(t, tok, q, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("%s: %s\nfailed: %+v", s.name, q, r.Errors)
	}
	return r
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// createAgent creates an agent (model "" for the default) and returns its id.
func (s *server) createAgent(t *testing.T, tok, name, model string) string {
	t.Helper()
	in := map[string]any{"name": name, "type": "RESEARCH"}
	if model != "" {
		in["personality"] = map[string]any{"model": model}
	}
	r := s.must(t, tok, `mutation($in: CreateAgentInput!) { createAgent(input: $in) { id } }`, map[string]any{"in": in})
	d := decode[struct{ CreateAgent struct{ ID string } }](t, r.Data)
	if d.CreateAgent.ID == "" {
		t.Fatalf("no agent id in %s", r.Data)
	}
	return d.CreateAgent.ID
}

// postFeed posts a feed event (agentID "" for none).
func (s *server) postFeed(t *testing.T, tok, agentID, typ, msg string) {
	t.Helper()
	in := map[string]any{"type": typ, "message": msg}
	if agentID != "" {
		in["agentId"] = agentID
	}
	s.must(t, tok, `mutation($in: FeedEventInput!) { createFeedEvent(input: $in) { id } }`, map[string]any{"in": in})
}

type chatMessage struct {
	ID        string  `json:"id"`
	ThreadID  string  `json:"threadId"`
	Role      string  `json:"role"`
	Content   string  `json:"content"`
	Status    string  `json:"status"`
	AgentName *string `json:"agentName"`
}

type messageChunk struct {
	ThreadID  string `json:"threadId"`
	MessageID string `json:"messageId"`
	Delta     string `json:"delta"`
	Done      bool   `json:"done"`
}

type feedEvent struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Message string `json:"message"`
	Agent   *struct {
		ID string `json:"id"`
	} `json:"agent"`
}

const (
	sendMessageMutation = `mutation($in: SendMessageInput!) { sendMessage(input: $in) { id threadId role content status agentName } }`
	threadQuery         = `query($t: ID!) { thread(id: $t) { id messages(last: 10) { edges { node { id threadId role content status agentName } } } } }`

	messageAddedSub  = `subscription($t: ID!) { messageAdded(threadId: $t) { id threadId role content status agentName } }`
	messageStreamSub = `subscription($t: ID!) { messageStream(threadId: $t) { threadId messageId delta done } }`
	feedSub          = `subscription($a: ID) { feedEventAdded(agentId: $a) { id type message agent { id } } }`
)

// sendMessage sends content to the agent's direct thread.
func (s *server) sendMessage(t *testing.T, tok, agentID, content string) chatMessage {
	t.Helper()
	r := s.must(t, tok, sendMessageMutation, map[string]any{"in": map[string]any{"agentId": agentID, "content": content}})
	return decode[struct{ SendMessage chatMessage }](t, r.Data).SendMessage
}

// threadMessages lists a thread's messages over HTTP, oldest first.
func (s *server) threadMessages(t *testing.T, tok, thread string) []chatMessage {
	t.Helper()
	r := s.must(t, tok, threadQuery, map[string]any{"t": thread})
	d := decode[struct {
		Thread *struct {
			Messages struct {
				Edges []struct{ Node chatMessage }
			}
		}
	}](t, r.Data)
	if d.Thread == nil {
		t.Fatalf("thread %s: null", thread)
	}
	var out []chatMessage
	for _, e := range d.Thread.Messages.Edges {
		out = append(out, e.Node)
	}
	return out
}

// ---------------------------------------------------------------------------
// WebSocket client (gorilla) speaking both of gqlgen's subprotocols
// ---------------------------------------------------------------------------

type frame struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// isResult reports whether f carries an operation's result ("next" on
// graphql-transport-ws, "data" on graphql-ws).
func (f frame) isResult() bool { return f.Type == "next" || f.Type == "data" }

func (f frame) String() string { return fmt.Sprintf("%s id=%q %s", f.Type, f.ID, f.Payload) }

// wsClient reads frames in the background; graphql-ws keep-alives ("ka") are
// dropped and graphql-transport-ws server pings are answered with pong.
type wsClient struct {
	t      *testing.T
	conn   *websocket.Conn
	proto  string
	wmu    sync.Mutex
	frames chan frame
	// Set by the reader before it closes frames.
	err      error
	closedAt time.Time
}

func (s *server) wsURL() string { return "ws" + strings.TrimPrefix(s.base, "http") + "/query" }

// dialWS opens a socket; the error (with the handshake response) is the
// caller's to judge.
func dialWS(t *testing.T, s *server, proto string, header http.Header) (*wsClient, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{proto}, HandshakeTimeout: ioTimeout}
	conn, res, err := d.Dial(s.wsURL(), header)
	if err != nil {
		if res != nil {
			// gorilla keeps up to 1 KiB of a refused handshake's body.
			body, _ := io.ReadAll(res.Body)
			err = fmt.Errorf("%w: HTTP %d %q", err, res.StatusCode, bytes.TrimSpace(body))
		}
		return nil, res, err
	}
	t.Cleanup(func() { _ = conn.Close() })
	if conn.Subprotocol() != proto {
		t.Fatalf("negotiated subprotocol %q, want %q", conn.Subprotocol(), proto)
	}
	c := &wsClient{t: t, conn: conn, proto: proto, frames: make(chan frame, 1024)}
	go c.readLoop()
	return c, res, nil
}

// openWS opens a socket without an Origin header, as non-browser clients do.
func openWS(t *testing.T, s *server, proto string) *wsClient {
	t.Helper()
	c, _, err := dialWS(t, s, proto, nil)
	if err != nil {
		t.Fatalf("%s: dial %s: %v", s.name, proto, err)
	}
	return c
}

func (c *wsClient) readLoop() {
	defer close(c.frames)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			c.err, c.closedAt = err, time.Now()
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.err, c.closedAt = fmt.Errorf("server sent non-JSON %q", data), time.Now()
			return
		}
		switch {
		case f.Type == "ka" && c.proto == legacyWS:
			continue
		case f.Type == "ping" && c.proto == transportWS:
			_ = c.write(frame{Type: "pong"})
			continue
		}
		c.frames <- f
	}
}

func (c *wsClient) write(f frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	return c.conn.WriteJSON(f)
}

func (c *wsClient) send(f frame) {
	c.t.Helper()
	if err := c.write(f); err != nil {
		c.t.Fatalf("send %s: %v", f.Type, err)
	}
}

// next returns the next frame; ok is false when none came within d or the
// connection ended.
func (c *wsClient) next(d time.Duration) (f frame, ok bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case f, ok = <-c.frames:
		return f, ok
	case <-timer.C:
		return frame{}, false
	}
}

// expect returns the next frame and fails unless it is of type typ.
func (c *wsClient) expect(typ string, d time.Duration) frame {
	c.t.Helper()
	f, ok := c.next(d)
	if !ok {
		c.t.Fatalf("want %s within %v, got nothing (connection: %v)", typ, d, c.endErr())
	}
	if f.Type != typ {
		c.t.Fatalf("want %s, got %s", typ, f)
	}
	return f
}

// endErr is why the connection ended, or nil while it is open.
func (c *wsClient) endErr() error {
	select {
	case _, ok := <-c.frames:
		if !ok {
			return c.err
		}
		return errors.New("(a frame was pending)")
	default:
		return nil
	}
}

func marshal(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// initWith sends connection_init with payload (nil: none) and requires the ack.
func (c *wsClient) initWith(payload any) {
	c.t.Helper()
	c.send(frame{Type: "connection_init", Payload: marshal(payload)})
	c.expect("connection_ack", ioTimeout)
}

func (c *wsClient) init(tok string) {
	c.t.Helper()
	c.initWith(map[string]any{"Authorization": "Bearer " + tok})
}

// subscribe starts operation id.
func (c *wsClient) subscribe(id, q string, vars map[string]any) {
	c.t.Helper()
	typ := "subscribe"
	if c.proto == legacyWS {
		typ = "start"
	}
	c.send(frame{Type: typ, ID: id, Payload: marshal(map[string]any{"query": q, "variables": vars})})
}

// waitClose waits until the server ends the connection and returns its close
// frame (code 1006 when it vanished without one) and the frames before it.
func (c *wsClient) waitClose(within time.Duration) (*websocket.CloseError, []frame) {
	c.t.Helper()
	deadline := time.After(within)
	var got []frame
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				var ce *websocket.CloseError
				if !errors.As(c.err, &ce) {
					c.t.Fatalf("connection ended with %v, want a close frame", c.err)
				}
				return ce, got
			}
			got = append(got, f)
		case <-deadline:
			c.t.Fatalf("connection still open after %v (frames: %v)", within, got)
		}
	}
}

// result decodes a result frame's data into v, failing on GraphQL errors.
func result[T any](t *testing.T, f frame) T {
	t.Helper()
	r := decode[gqlResponse](t, f.Payload)
	if len(r.Errors) > 0 {
		t.Fatalf("subscription %s: errors %+v", f.ID, r.Errors)
	}
	return decode[T](t, r.Data)
}

// syncFeed posts feed events of type typ (through post) until one arrives on
// operation id, which shows the subscription is registered on the server and
// the server's hub listens. The server starts each subscription as it reads
// its frame, in order, and registering it takes microseconds, so after this
// round trip through the database the subscriptions sent before it on the
// socket are in place too (gqlgen gives the client no per-subscription
// acknowledgement to wait for). Frames before it must be feed events on id:
// earlier attempts, other sockets' attempts, or the user's other events
// (agent_created may still be on its way); callers skip late sentinels.
func (c *wsClient) syncFeed(id, typ string, post func()) {
	c.t.Helper()
	for range 40 {
		post()
		wait := time.After(250 * time.Millisecond)
	read:
		for {
			select {
			case f, ok := <-c.frames:
				if !ok {
					c.t.Fatalf("connection ended while waiting for the %s feed event: %v", typ, c.err)
				}
				if !f.isResult() || f.ID != id {
					c.t.Fatalf("waiting for the %s feed event, got %s", typ, f)
				}
				if ev := result[struct{ FeedEventAdded feedEvent }](c.t, f).FeedEventAdded; ev.Type == typ {
					return
				}
			case <-wait:
				break read
			}
		}
	}
	c.t.Fatalf("no %s feed event arrived on %s in 10s", typ, id)
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

// Two instances on one database: a message sent through one is seen live,
// streamed and stored, by a subscriber of the other (LISTEN/NOTIFY), and
// by nobody else.
func TestTwoProcessesOneDatabase(t *testing.T) {
	t.Parallel()
	db := testdb.URL(t)
	llm := llmtest.NewServer(t)
	chunks := []string{"Hello", " from", " the", " other", " process", "."}
	want := strings.Join(chunks, "")
	llm.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: chunks, Delay: 20 * time.Millisecond}
	})
	cfg := serverConfig{dbURL: db, llmURL: llm.URL()}
	procs := startServers(t, cfg, cfg) // both migrate the same database at once
	p1, p2 := procs[0], procs[1]

	userA, userB := uuid.New(), uuid.New()
	tokA, tokB := hourToken(userA), hourToken(userB)
	agent := p2.createAgent(t, tokA, "Ada", "")
	thread := agent + ":direct"

	// A listens on process 1.
	a := openWS(t, p1, transportWS)
	a.init(tokA)
	a.subscribe("added", messageAddedSub, map[string]any{"t": thread})
	a.subscribe("stream", messageStreamSub, map[string]any{"t": thread})
	a.subscribe("feed", feedSub, map[string]any{"a": agent})
	// B names A's thread, on both processes and both subprotocols.
	var bs []*wsClient
	for _, p := range procs {
		for _, proto := range []string{transportWS, legacyWS} {
			b := openWS(t, p, proto)
			b.init(tokB)
			b.subscribe("added", messageAddedSub, map[string]any{"t": thread})
			b.subscribe("stream", messageStreamSub, map[string]any{"t": thread})
			b.subscribe("feed", feedSub, map[string]any{"a": nil})
			bs = append(bs, b)
		}
	}
	// Feed events through process 2 that reach every socket show that both
	// hubs listen and the subscriptions are in place.
	a.syncFeed("feed", "sentinel", func() { p2.postFeed(t, tokA, agent, "sentinel", "A listens") })
	for _, b := range bs {
		b.syncFeed("feed", "sentinel", func() { p2.postFeed(t, tokB, "", "sentinel", "B listens") })
	}

	sent := p2.sendMessage(t, tokA, agent, "Hi from process two")
	if sent.ThreadID != thread || sent.Role != "USER" || sent.Status != "COMPLETE" || sent.Content != "Hi from process two" {
		t.Fatalf("sendMessage answered %+v", sent)
	}

	var (
		userMsg, reply *chatMessage
		deltas         []string
		streamID       string
		done           bool
		replyDone      *feedEvent
	)
	deadline := time.Now().Add(20 * time.Second)
	for userMsg == nil || reply == nil || !done || replyDone == nil {
		f, ok := a.next(time.Until(deadline))
		if !ok {
			t.Fatalf("process 1 did not deliver everything within 20s: user message %v, reply %v, deltas %q, done %v, reply_done %v (connection: %v)",
				userMsg != nil, reply != nil, deltas, done, replyDone != nil, a.endErr())
		}
		if !f.isResult() {
			t.Fatalf("unexpected frame %s", f)
		}
		switch f.ID {
		case "added":
			m := result[struct{ MessageAdded chatMessage }](t, f).MessageAdded
			switch {
			case m.Role == "USER" && userMsg == nil:
				if m.ID != sent.ID || m.Content != sent.Content || m.ThreadID != thread || m.Status != "COMPLETE" {
					t.Fatalf("messageAdded user message %+v, sent %+v", m, sent)
				}
				userMsg = &m
			case m.Role == "ASSISTANT" && reply == nil:
				reply = &m
			default:
				t.Fatalf("unexpected messageAdded %+v", m)
			}
		case "stream":
			c := result[struct{ MessageStream messageChunk }](t, f).MessageStream
			if done {
				t.Fatalf("chunk %+v after the done chunk", c)
			}
			if c.ThreadID != thread {
				t.Fatalf("chunk of thread %q, want %q", c.ThreadID, thread)
			}
			if streamID == "" {
				streamID = c.MessageID
			} else if c.MessageID != streamID {
				t.Fatalf("chunk messageId %s, earlier chunks %s", c.MessageID, streamID)
			}
			if c.Done {
				done = true
				if c.Delta != "" {
					t.Errorf("done chunk has delta %q", c.Delta)
				}
				continue
			}
			deltas = append(deltas, c.Delta)
		case "feed":
			ev := result[struct{ FeedEventAdded feedEvent }](t, f).FeedEventAdded
			switch {
			case ev.Type == "reply_done" && replyDone == nil:
				replyDone = &ev
			case ev.Type == "reply_done":
				t.Fatalf("a second reply_done feed event %+v", ev)
			default:
				// sentinel stragglers, agent_created
				t.Logf("feed event %s: %s", ev.Type, ev.Message)
			}
		default:
			t.Fatalf("frame of unknown operation: %s", f)
		}
	}
	if !slices.Equal(deltas, chunks) {
		t.Errorf("streamed deltas %q, want %q", deltas, chunks)
	}
	if got := strings.Join(deltas, ""); got != want {
		t.Errorf("streamed text %q, want %q", got, want)
	}
	if reply.Content != want || reply.Status != "COMPLETE" || reply.ThreadID != thread ||
		reply.AgentName == nil || *reply.AgentName != "Ada" {
		t.Errorf("assistant message %+v (agentName %v), want content %q, COMPLETE, agentName Ada", reply, reply.AgentName, want)
	}
	if reply.ID != streamID {
		t.Errorf("assistant message id %s, stream messageId %s", reply.ID, streamID)
	}
	if replyDone.Agent == nil || replyDone.Agent.ID != agent {
		t.Errorf("reply_done event %+v, want agent %s", replyDone, agent)
	}

	// Both processes read the stored conversation.
	for _, p := range procs {
		msgs := p.threadMessages(t, tokA, thread)
		if len(msgs) != 2 {
			t.Fatalf("%s: thread has %d messages, want 2: %+v", p.name, len(msgs), msgs)
		}
		if m := msgs[0]; m.ID != sent.ID || m.Role != "USER" || m.Content != sent.Content {
			t.Errorf("%s: first message %+v, want the user's %+v", p.name, m, sent)
		}
		if m := msgs[1]; m.ID != reply.ID || m.Role != "ASSISTANT" || m.Content != want || m.Status != "COMPLETE" {
			t.Errorf("%s: second message %+v, want the reply %q", p.name, m, want)
		}
	}

	// Isolation. Each hub dispatches in commit order, so once B receives an
	// event committed after A's whole reply, anything of A's that could have
	// leaked to B would have arrived already.
	p1.postFeed(t, tokB, "", "sentinel_after", "A's reply is stored")
	for i, b := range bs {
		for {
			f, ok := b.next(ioTimeout)
			if !ok {
				t.Fatalf("B socket %d: no sentinel within %v (connection: %v)", i, ioTimeout, b.endErr())
			}
			if f.ID == "feed" && f.isResult() {
				ev := result[struct{ FeedEventAdded feedEvent }](t, f).FeedEventAdded
				if ev.Type == "sentinel" {
					continue
				}
				if ev.Type == "sentinel_after" {
					break
				}
			}
			t.Fatalf("B socket %d (%s) received %s while A's reply streamed", i, b.proto, f)
		}
	}
	// Subscriptions of one socket are relayed by separate goroutines: give
	// a straggler a moment before declaring silence.
	time.Sleep(200 * time.Millisecond)
	for i, b := range bs {
		for f, ok := b.next(0); ok; f, ok = b.next(0) {
			if f.ID == "feed" && f.isResult() && result[struct{ FeedEventAdded feedEvent }](t, f).FeedEventAdded.Type == "sentinel_after" {
				continue // another socket's wait may have posted more than one
			}
			t.Fatalf("B socket %d received %s", i, f)
		}
	}
	r := p1.query(t, tokB, threadQuery, map[string]any{"t": thread})
	if d := decode[struct{ Thread *json.RawMessage }](t, r.Data); d.Thread != nil {
		t.Errorf("B reads A's thread: %s", r.Data)
	}
}

// The WebSocket transport as clients see it, on both subprotocols.
func TestWebSocketProtocol(t *testing.T) {
	t.Parallel()
	llm := llmtest.NewServer(t)
	srv := startServer(t, serverConfig{dbURL: testdb.URL(t), llmURL: llm.URL()})
	user := uuid.New()
	tok := hourToken(user)

	for _, proto := range []string{transportWS, legacyWS} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()

			forms := map[string]func(tok string) any{
				"Authorization Bearer":         func(tok string) any { return map[string]any{"Authorization": "Bearer " + tok} },
				"authorization without Bearer": func(tok string) any { return map[string]any{"authorization": tok} },
				"authToken":                    func(tok string) any { return map[string]any{"authToken": tok} },
				"headers.Authorization": func(tok string) any {
					return map[string]any{"headers": map[string]any{"Authorization": "Bearer " + tok}}
				},
			}
			for name, payload := range forms {
				t.Run("auth/"+name, func(t *testing.T) {
					t.Parallel()
					tok := hourToken(uuid.New())
					c := openWS(t, srv, proto)
					c.initWith(payload(tok))
					// The socket is the token's user's: their feed events reach it.
					c.subscribe("feed", feedSub, nil)
					c.syncFeed("feed", "ws_auth", func() { srv.postFeed(t, tok, "", "ws_auth", name) })
				})
			}

			forged := signToken(map[string]any{"sub": user.String(), "role": "authenticated",
				"exp": time.Now().Add(time.Hour).Unix()}, "another-secret-another-secret-another")
			refused := map[string]any{
				"garbage token":     map[string]any{"Authorization": "Bearer not-a-jwt"},
				"wrong secret":      map[string]any{"Authorization": "Bearer " + forged},
				"expired token":     map[string]any{"authToken": token(user, time.Now().Add(-time.Hour))},
				"no token":          map[string]any{},
				"no payload":        nil,
				"empty header":      map[string]any{"Authorization": ""},
				"headers, no token": map[string]any{"headers": map[string]any{}},
			}
			for name, payload := range refused {
				t.Run("refused/"+name, func(t *testing.T) {
					t.Parallel()
					c := openWS(t, srv, proto)
					c.send(frame{Type: "connection_init", Payload: marshal(payload)})
					ce, got := c.waitClose(ioTimeout)
					// README: a missing or bad token closes the socket with
					// 4403; legacy graphql-ws says why in connection_error first.
					if ce.Code != 4403 {
						t.Errorf("closed with %d %q, want 4403", ce.Code, ce.Text)
					}
					switch proto {
					case transportWS:
						if len(got) != 0 {
							t.Errorf("frames before the close: %v", got)
						}
					case legacyWS:
						if len(got) != 1 || got[0].Type != "connection_error" {
							t.Errorf("frames before the close: %v, want one connection_error", got)
						}
					}
				})
			}

			t.Run("init timeout", func(t *testing.T) {
				t.Parallel()
				c := openWS(t, srv, proto)
				start := time.Now()
				ce, got := c.waitClose(10 * time.Second)
				elapsed := time.Since(start)
				if elapsed < 4*time.Second || elapsed > 8*time.Second {
					t.Errorf("closed after %v, want about 5s", elapsed)
				}
				if len(got) != 0 {
					t.Errorf("frames before the close: %v", got)
				}
				if proto == transportWS && ce.Code != 4408 {
					t.Errorf("closed with %d %q, want 4408", ce.Code, ce.Text)
				}
				t.Logf("closed with %d %q after %v", ce.Code, ce.Text, elapsed.Round(time.Millisecond))
			})

			if proto == transportWS {
				t.Run("ping pong", func(t *testing.T) {
					t.Parallel()
					c := openWS(t, srv, proto)
					c.init(tok)
					c.send(frame{Type: "ping", Payload: json.RawMessage(`{"n":1}`)})
					f := c.expect("pong", ioTimeout)
					t.Logf("pong payload %s", f.Payload)
				})
			}

			t.Run("origin", func(t *testing.T) {
				t.Parallel()
				_, res, err := dialWS(t, srv, proto, http.Header{"Origin": {"http://evil.example"}})
				if err == nil {
					t.Fatal("upgrade with Origin http://evil.example accepted")
				}
				if res == nil || res.StatusCode != http.StatusForbidden {
					t.Fatalf("upgrade with Origin http://evil.example: %v (response %v), want HTTP 403", err, res)
				}
				for _, h := range []http.Header{{"Origin": {allowedOrigin}}, nil} {
					c, _, err := dialWS(t, srv, proto, h)
					if err != nil {
						t.Fatalf("upgrade with header %v refused: %v", h, err)
					}
					c.init(tok)
				}
			})

			t.Run("token expiry ends the socket", func(t *testing.T) {
				t.Parallel()
				exp := time.Unix(time.Now().Add(2*time.Second).Unix(), 0) // JWT exp has second precision
				c := openWS(t, srv, proto)
				c.init(token(user, exp))
				c.subscribe("feed", feedSub, nil)
				ce, _ := c.waitClose(time.Until(exp) + 5*time.Second)
				// The close frame is read after the server sent it; allow
				// the clock a little slack on the early side.
				if early := exp.Sub(c.closedAt); early > 200*time.Millisecond {
					t.Errorf("closed %v before the token expired", early)
				}
				if late := c.closedAt.Sub(exp); late > 3*time.Second {
					t.Errorf("closed %v after the token expired", late)
				}
				t.Logf("closed with %d %q, %v after expiry", ce.Code, ce.Text, c.closedAt.Sub(exp).Round(time.Millisecond))
			})
		})
	}
}

// An agent whose provider has no key: the message is stored and returned,
// with an LLM_UNAVAILABLE error next to it.
func TestLLMUnavailable(t *testing.T) {
	t.Parallel()
	llm := llmtest.NewServer(t)
	srv := startServer(t, serverConfig{dbURL: testdb.URL(t), llmURL: llm.URL()})
	user := uuid.New()
	tok := hourToken(user)
	agent := srv.createAgent(t, tok, "Claude", "claude-sonnet-4-20250514")

	r := srv.query(t, tok, sendMessageMutation, map[string]any{"in": map[string]any{"agentId": agent, "content": "Hello?"}})
	d := decode[struct{ SendMessage *chatMessage }](t, r.Data)
	if d.SendMessage == nil || d.SendMessage.ID == "" || d.SendMessage.Content != "Hello?" || d.SendMessage.Role != "USER" {
		t.Fatalf("data.sendMessage = %s, want the stored message", r.Data)
	}
	if len(r.Errors) == 0 {
		t.Fatalf("no errors; want LLM_UNAVAILABLE (data %s)", r.Data)
	}
	e := r.Errors[0]
	if e.Extensions["code"] != "LLM_UNAVAILABLE" {
		t.Fatalf("errors %+v, want errors[0].extensions.code LLM_UNAVAILABLE", r.Errors)
	}
	if len(e.Path) != 1 || e.Path[0] != "sendMessage" {
		t.Errorf("error path %v, want [sendMessage]", e.Path)
	}
	if !strings.Contains(e.Message, "ANTHROPIC_API_KEY") {
		t.Errorf("error message %q does not say which key to set", e.Message)
	}
	msgs := srv.threadMessages(t, tok, agent+":direct")
	if len(msgs) != 1 || msgs[0].ID != d.SendMessage.ID {
		t.Errorf("thread holds %+v, want just the user's message", msgs)
	}
	if reqs := llm.Requests(); len(reqs) != 0 {
		t.Errorf("the LLM was called %d times", len(reqs))
	}
}

// runBinary runs the server binary to completion with env added to baseEnv.
func runBinary(t *testing.T, within time.Duration, env []string, args ...string) (exitCode int, stdout, stderr string, took time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(baseEnv(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	took = time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("%v %v did not finish within %v\nstderr:\n%s", env, args, within, errOut.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String(), took
}

func TestBadConfiguration(t *testing.T) {
	t.Parallel()
	oneLine := func(t *testing.T, code int, stderr string) {
		t.Helper()
		if code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if len(lines) != 1 || lines[0] == "" {
			t.Errorf("stderr has %d lines, want exactly one:\n%s", len(lines), stderr)
		}
	}
	t.Run("unparsable DATABASE_URL", func(t *testing.T) {
		t.Parallel()
		code, _, stderr, took := runBinary(t, 20*time.Second, []string{"DATABASE_URL=not-a-url", "PORT=0"})
		oneLine(t, code, stderr)
		t.Logf("stderr: %s", stderr)
		if took > 5*time.Second {
			t.Errorf("took %v: a URL that cannot parse needs no retries", took)
		}
	})
	t.Run("production without auth", func(t *testing.T) {
		t.Parallel()
		// Dev mode's own tokens must never be accepted in production.
		code, stdout, stderr, _ := runBinary(t, 20*time.Second, []string{"APP_ENV=production", "PORT=0",
			"AGENTGRAPH_DEV_FILE=" + filepath.Join(t.TempDir(), "dev.json")})
		oneLine(t, code, stderr)
		if !strings.Contains(stderr, "SUPABASE_JWT_SECRET") || strings.Contains(stdout, "DEV MODE") {
			t.Errorf("stderr %q, stdout %q: want a refusal naming SUPABASE_JWT_SECRET and no dev banner", stderr, stdout)
		}
	})
	t.Run("token without a user outside dev mode", func(t *testing.T) {
		t.Parallel()
		code, _, stderr, _ := runBinary(t, 20*time.Second, []string{"SUPABASE_JWT_SECRET=" + testSecret}, "token")
		oneLine(t, code, stderr)
	})
	t.Run("unknown command", func(t *testing.T) {
		t.Parallel()
		code, _, stderr, _ := runBinary(t, 20*time.Second, nil, "bogus")
		oneLine(t, code, stderr)
	})
	t.Run("migrate a fresh database", func(t *testing.T) {
		t.Parallel()
		db := testdb.EmptyURL(t)
		code, _, stderr, _ := runBinary(t, 30*time.Second, []string{"DATABASE_URL=" + db}, "migrate")
		if code != 0 {
			t.Fatalf("migrate exited %d:\n%s", code, stderr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(ctx, `select count(*) from chat_messages`).Scan(&n); err != nil {
			t.Fatalf("after migrate: %v", err)
		}
	})
	t.Run("migrate a migrated database", func(t *testing.T) {
		t.Parallel()
		code, _, stderr, _ := runBinary(t, 30*time.Second, []string{"DATABASE_URL=" + testdb.URL(t)}, "migrate")
		if code != 0 {
			t.Fatalf("migrate exited %d:\n%s", code, stderr)
		}
	})
}

// A real browser-style client: Apollo Client 4 with graphql-ws, run by Node
// (e2e/chat.test.mjs).
func TestNodeApolloE2E(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("TestNodeApolloE2E needs Node.js 20+ on PATH (and npm to install e2e/'s packages): %v", err)
	}
	ensureNodeModules(t)

	llm := llmtest.NewServer(t)
	const reply = "Streaming to Apollo, chunk by chunk."
	llm.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Text: reply, Delay: 10 * time.Millisecond}
	})
	srv := startServer(t, serverConfig{dbURL: testdb.URL(t), llmURL: llm.URL()})
	user := uuid.New()
	tok := hourToken(user)
	agent := srv.createAgent(t, tok, "Apollo", "")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", filepath.Join("e2e", "chat.test.mjs"))
	cmd.Env = append(os.Environ(), "SERVER_URL="+srv.base, "TOKEN="+tok, "AGENT_ID="+agent, "EXPECTED_REPLY="+reply)
	cmd.WaitDelay = 5 * time.Second
	if err := streamToLog(t, cmd, "node"); err != nil {
		if ctx.Err() != nil {
			t.Fatalf("node --test e2e/chat.test.mjs did not finish within 60s")
		}
		t.Fatalf("node --test e2e/chat.test.mjs failed: %v (its output is above)", err)
	}
	if n := len(llm.Requests()); n != 1 {
		t.Errorf("the LLM got %d requests, want 1", n)
	}
}

// ensureNodeModules installs e2e's locked packages when they are missing, so
// `go test ./...` works on a fresh machine without .ci/test.sh.
func ensureNodeModules(t *testing.T) {
	t.Helper()
	installed := true
	for _, pkg := range []string{"@apollo/client", "graphql-http", "playwright-core"} {
		if _, err := os.Stat(filepath.Join("e2e", "node_modules", pkg, "package.json")); err != nil {
			installed = false
		}
	}
	if installed {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("e2e/node_modules is missing and npm is not on PATH to install it (run `npm ci --prefix e2e`): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--prefix", "e2e", "--no-audit", "--no-fund")
	if err := streamToLog(t, cmd, "npm ci"); err != nil {
		t.Fatalf("npm ci --prefix e2e: %v", err)
	}
}

// streamToLog runs cmd with its output copied line by line into the test log.
func streamToLog(t *testing.T, cmd *exec.Cmd, prefix string) error {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			t.Logf("%s: %s", prefix, sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	<-copied
	return err
}

// Every subscription event resolves its nested fields with loaders of its
// own: an agent renamed between two events shows its new name in the
// second, which loaders kept for the socket's lifetime would have cached.
func TestSubscriptionEventsUseFreshLoaders(t *testing.T) {
	t.Parallel()
	llm := llmtest.NewServer(t)
	srv := startServer(t, serverConfig{dbURL: testdb.URL(t), llmURL: llm.URL()})
	user := uuid.New()
	tok := hourToken(user)
	agent := srv.createAgent(t, tok, "Before", "gpt-4o-mini")

	c := openWS(t, srv, transportWS)
	c.init(tok)
	c.subscribe("feed", `subscription($a: ID) { feedEventAdded(agentId: $a) { id type agent { name } } }`,
		map[string]any{"a": agent})
	c.syncFeed("feed", "sync", func() { srv.postFeed(t, tok, agent, "sync", "sync") })

	names := func(typ string) string {
		t.Helper()
		for {
			f, ok := c.next(ioTimeout)
			if !ok {
				t.Fatalf("no %s event", typ)
			}
			ev := result[struct {
				FeedEventAdded struct {
					Type  string
					Agent struct{ Name string }
				}
			}](t, f).FeedEventAdded
			if ev.Type == typ {
				return ev.Agent.Name
			}
		}
	}
	srv.postFeed(t, tok, agent, "first", "one")
	if got := names("first"); got != "Before" {
		t.Fatalf("first event: agent name %q, want Before", got)
	}
	srv.must(t, tok, `mutation($a: ID!) { updateAgent(id: $a, input: {name: "After"}) { id } }`, map[string]any{"a": agent})
	srv.postFeed(t, tok, agent, "second", "two")
	if got := names("second"); got != "After" {
		t.Fatalf("second event: agent name %q, want After (a loader cached the agent across events)", got)
	}
}

// /metrics counts open sockets, and SIGTERM closes them with 1001 (going
// away) so that clients reconnect elsewhere and resubscribe, instead of
// seeing their subscriptions complete.
func TestSocketsMetricsAndShutdown(t *testing.T) {
	t.Parallel()
	llm := llmtest.NewServer(t)
	srv := startServer(t, serverConfig{dbURL: testdb.URL(t), llmURL: llm.URL()})
	tok := hourToken(uuid.New())
	var clients []*wsClient
	for _, proto := range []string{transportWS, legacyWS} {
		c := openWS(t, srv, proto)
		c.init(tok)
		c.subscribe("feed", feedSub, nil)
		clients = append(clients, c)
	}
	if got := srv.metric(t, "agentgraph_websockets"); got != 2 {
		t.Fatalf("agentgraph_websockets = %v, want 2", got)
	}

	srv.terminate(t)
	for _, c := range clients {
		ce, got := c.waitClose(10 * time.Second)
		if ce.Code != websocket.CloseGoingAway {
			t.Errorf("%s: closed with %d %q, want 1001", c.proto, ce.Code, ce.Text)
		}
		for _, f := range got {
			if f.Type == "complete" {
				t.Errorf("%s: subscription completed before the close: %v", c.proto, got)
			}
		}
	}
	if !srv.waitExit(20 * time.Second) {
		t.Fatal("still running 20s after SIGTERM")
	}
}

// metric reads one unlabelled gauge or counter from /metrics.
func (s *server) metric(t *testing.T, name string) float64 {
	t.Helper()
	res, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}
