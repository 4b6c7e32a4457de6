package wsbench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/agentgraph/agentgraph/internal/testdb"
)

// streamRun is one streamed reply being measured: emit[i] is when the
// stand-in provider had flushed content chunk i, recv[i] when the client
// read its messageStream frame (ns since base; 0: never).
type streamRun struct {
	emit, recv []int64
	emitted    chan struct{} // closed by the provider after the last chunk
	done       chan struct{} // closed by the client at the done frame
	doneOnce   sync.Once
}

// upstream is an OpenAI-compatible stand-in speaking the wire format of
// internal/llm/llmtest (the same chunks, usage chunk and [DONE]), which also
// records when each content chunk left it. The reply to a request whose last
// user message is "stream <key>" is the chunks "<key>.<i> " for i < chunks,
// delay apart.
type upstream struct {
	srv    *httptest.Server
	base   time.Time
	delay  time.Duration
	mu     sync.Mutex
	runs   map[string]*streamRun
	chunks map[string]int
}

func newUpstream(t *testing.T, base time.Time, delay time.Duration) *upstream {
	u := &upstream{base: base, delay: delay, runs: map[string]*streamRun{}, chunks: map[string]int{}}
	u.srv = httptest.NewServer(http.HandlerFunc(u.chat))
	t.Cleanup(u.srv.Close)
	return u
}

// expect registers a run before the message that starts it is sent.
func (u *upstream) expect(key string, chunks int) *streamRun {
	r := &streamRun{emit: make([]int64, chunks), recv: make([]int64, chunks),
		emitted: make(chan struct{}), done: make(chan struct{})}
	u.mu.Lock()
	u.runs[key], u.chunks[key] = r, chunks
	u.mu.Unlock()
	return r
}

func (u *upstream) run(key string) (*streamRun, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.runs[key], u.chunks[key]
}

func (u *upstream) chat(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
		Stream        bool `json:"stream"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if !strings.HasSuffix(r.URL.Path, "/chat/completions") || json.NewDecoder(r.Body).Decode(&in) != nil || !in.Stream {
		http.Error(w, `{"error":{"message":"wsbench upstream: streaming chat completions only"}}`, http.StatusBadRequest)
		return
	}
	key := ""
	for _, m := range in.Messages {
		if m.Role == "user" {
			key, _ = strings.CutPrefix(m.Content, "stream ")
		}
	}
	run, chunks := u.run(key)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	id := "chatcmpl-wsbench-" + key
	created := time.Now().Unix()
	usage := ""
	if in.StreamOptions != nil && in.StreamOptions.IncludeUsage {
		usage = `,"usage":null`
	}
	send := func(delta, finish string) {
		fmt.Fprintf(w, `data: {"id":%q,"object":"chat.completion.chunk","created":%d,"model":%q,"choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}]%s}`+"\n\n",
			id, created, in.Model, delta, finish, usage)
		_ = rc.Flush()
	}
	send(`{"role":"assistant","content":""}`, "null")
	if run == nil {
		send(`{"content":"unknown stream"}`, "null")
	} else {
		for i := range chunks {
			if i > 0 {
				select {
				case <-time.After(u.delay):
				case <-r.Context().Done():
					return
				}
			}
			send(`{"content":"`+key+"."+strconv.Itoa(i)+` "}`, "null")
			run.emit[i] = int64(time.Since(u.base))
		}
		close(run.emitted)
	}
	send(`{}`, `"stop"`)
	if usage != "" {
		fmt.Fprintf(w, `data: {"id":%q,"object":"chat.completion.chunk","created":%d,"model":%q,"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n",
			id, created, in.Model, chunks, chunks+10)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}

// TestStreamingLoad measures what the server adds to each token of a
// streamed reply: from the moment the stand-in provider (in this process)
// has flushed an SSE chunk to the moment a client of this process reads the
// messageStream frame carrying it. In between: the server's OpenAI client,
// the reply worker's NOTIFY per chunk (pubsub.Publish on the pool),
// Postgres, the hub, gqlgen and the WebSocket write. Replies are 200 chunks
// 5ms apart, model gpt-4o-mini; "1 stream" is one reply at a time, "20
// streams" is 20 users' replies at once (4,000 chunks/s); each is repeated
// AGENTGRAPH_LOADTEST_STREAM_REPS times (5). With a comparison binary
// (transports), gqlgen's transports too, after a warm-up of 20 short replies.
func TestStreamingLoad(t *testing.T) {
	requireLoadTest(t)
	for _, impl := range transports() {
		t.Run(impl, func(t *testing.T) { runStreaming(t, impl) })
	}
}

func runStreaming(t *testing.T, impl string) {
	reps := envInt(t, "AGENTGRAPH_LOADTEST_STREAM_REPS", 5)
	const (
		users  = 20
		chunks = 200
		delay  = 5 * time.Millisecond
	)
	ctx := t.Context()
	base := time.Now()
	up := newUpstream(t, base, delay)
	env := map[string]string{"OPENAI_API_KEY": "wsbench", "OPENAI_BASE_URL": up.srv.URL + "/v1"}
	for k, v := range transportEnv(impl) {
		env[k] = v
	}
	srv := startServer(t, testdb.URL(t), env)

	type streamUser struct {
		id     uuid.UUID
		token  string
		agent  string
		conn   *websocket.Conn
		stream atomic.Pointer[streamRun]
	}
	us := make([]*streamUser, users)
	var readers sync.WaitGroup
	var (
		errMu    sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
	}
	t.Cleanup(func() {
		for _, u := range us {
			if u != nil && u.conn != nil {
				_ = u.conn.Close()
			}
		}
		readers.Wait()
	})
	for i := range us {
		u := &streamUser{id: uuid.New()}
		u.token = token(u.id)
		var out struct {
			CreateAgent struct{ ID string } `json:"createAgent"`
		}
		if err := graphQL(ctx, srv.base, u.token, `mutation { createAgent(input: {name: "Streamer", type: CUSTOM,
			personality: {model: "gpt-4o-mini"}}) { id } }`, nil, &out); err != nil {
			t.Fatalf("createAgent: %v", err)
		}
		u.agent = out.CreateAgent.ID
		conn, err := openSubscription(ctx, srv.ws, u.token,
			`subscription($t: ID!) { messageStream(threadId: $t) { delta done } }`, map[string]any{"t": u.agent + ":direct"})
		if err != nil {
			t.Fatal(err)
		}
		u.conn = conn
		us[i] = u
		readers.Go(func() {
			err := readLoop(conn, func(p json.RawMessage, at time.Time) {
				var msg struct {
					Data struct {
						MessageStream struct {
							Delta string
							Done  bool
						} `json:"messageStream"`
					} `json:"data"`
				}
				if err := json.Unmarshal(p, &msg); err != nil {
					fail(fmt.Errorf("bad next %s: %v", p, err))
					return
				}
				run := u.stream.Load()
				if run == nil {
					fail(fmt.Errorf("frame with no stream running: %s", p))
					return
				}
				if msg.Data.MessageStream.Done {
					run.doneOnce.Do(func() { close(run.done) })
					return
				}
				_, seq, _ := strings.Cut(strings.TrimSpace(msg.Data.MessageStream.Delta), ".")
				n, err := strconv.Atoi(seq)
				if err != nil || n < 0 || n >= len(run.recv) {
					fail(fmt.Errorf("unexpected delta %q", msg.Data.MessageStream.Delta))
					return
				}
				run.recv[n] = int64(at.Sub(base))
			})
			if err != nil {
				fail(err)
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // subscriptions register after the subscribe message

	// stream runs n users' replies at once and returns their runs.
	stream := func(name string, n, size int) []*streamRun {
		runs := make([]*streamRun, n)
		var wg sync.WaitGroup
		for i := range n {
			key := fmt.Sprintf("%s-%d", strings.ReplaceAll(name, " ", "_"), i)
			runs[i] = up.expect(key, size)
			us[i].stream.Store(runs[i])
			wg.Go(func() {
				err := graphQL(ctx, srv.base, us[i].token, `mutation($a: ID!, $c: String!) { sendMessage(input: {agentId: $a, content: $c}) { id } }`,
					map[string]any{"a": us[i].agent, "c": "stream " + key}, nil)
				if err != nil {
					fail(fmt.Errorf("sendMessage: %w", err))
				}
			})
		}
		wg.Wait()
		timeout := time.After(time.Duration(size)*delay + 30*time.Second)
		for i, r := range runs {
			for _, c := range []chan struct{}{r.emitted, r.done} {
				select {
				case <-c:
				case <-timeout:
					t.Fatalf("%s: stream %d did not finish (first error: %v)\n%s", name, i, firstErr, srv.logTail(20))
				}
			}
		}
		return runs
	}
	overhead := func(runs []*streamRun) (summary, int) {
		var d []time.Duration
		missing := 0
		for _, r := range runs {
			for i := range r.emit {
				if r.recv[i] == 0 {
					missing++
					continue
				}
				d = append(d, time.Duration(r.recv[i]-r.emit[i]))
			}
		}
		return summarize(d), missing
	}

	stream("warm-up", users, 20)
	var single []*streamRun
	for rep := range reps {
		single = append(single, stream(fmt.Sprintf("single %d", rep), 1, chunks)...)
	}
	s1, miss1 := overhead(single)
	cpu0 := srv.cpu()
	var concurrent []*streamRun
	for rep := range reps {
		concurrent = append(concurrent, stream(fmt.Sprintf("concurrent %d", rep), users, chunks)...)
	}
	cpuPerChunk := float64(srv.cpu()-cpu0) / 1e3 / float64(reps*users*chunks)
	s20, miss20 := overhead(concurrent)
	t.Logf("%s, 1 stream (%d replies of %d chunks, %s apart): overhead per chunk %v; missing %d", impl, reps, chunks, delay, s1, miss1)
	t.Logf("%s, %d concurrent streams (%d chunks/s, %d times): overhead per chunk %v; missing %d; server CPU %.0f µs per chunk",
		impl, users, int(float64(users)/delay.Seconds()), reps, s20, miss20, cpuPerChunk)
	t.Logf("summary: | %s | %s | %s | %s | %s | %s | %s |", impl, ms(s1.p50), ms(s1.p99), ms(s1.max), ms(s20.p50), ms(s20.p99), ms(s20.max))
	if firstErr != nil || miss1 > 0 || miss20 > 0 {
		t.Errorf("%s: %d + %d chunks missing; first client error: %v", impl, miss1, miss20, firstErr)
	}
}
