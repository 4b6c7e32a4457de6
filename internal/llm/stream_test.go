package llm_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
)

const openaiKey = "sk-test-openai"

func newClient(srv *llmtest.Server, mutate func(*llm.Config)) *llm.Client {
	cfg := llm.Config{OpenAIKey: openaiKey, OpenAIBaseURL: srv.URL()}
	if mutate != nil {
		mutate(&cfg)
	}
	return llm.New(cfg)
}

func chatReq(model string) llm.Request {
	return llm.Request{Model: model, Messages: []llm.Message{
		{Role: "system", Content: "You are terse."},
		{Role: "user", Content: "Say hello to the world"},
	}}
}

// drain reads s to its end, returning the deltas and the final error.
func drain(t *testing.T, s *llm.Stream) ([]string, error) {
	t.Helper()
	var deltas []string
	for {
		d, err := s.Recv()
		if err != nil {
			return deltas, err
		}
		deltas = append(deltas, d)
	}
}

func TestStreamDeltasAndUsage(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	chunks := []string{"Hel", "lo, ", "wor", "ld!"}
	srv.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: chunks, PromptTokens: 17, CompletionTokens: 4}
	})
	c := newClient(srv, nil)

	s, err := c.Stream(t.Context(), chatReq("gpt-4o-mini"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deltas, err := drain(t, s)
	if err != io.EOF {
		t.Fatalf("end of stream: got %v, want io.EOF", err)
	}
	if strings.Join(deltas, "|") != strings.Join(chunks, "|") {
		t.Fatalf("deltas %q, want %q", deltas, chunks)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("Recv after the end: %v, want io.EOF again", err)
	}
	if got, want := s.Usage(), (llm.Usage{InputTokens: 17, OutputTokens: 4}); got != want {
		t.Fatalf("usage %+v, want %+v (from the final usage chunk)", got, want)
	}

	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/v1/chat/completions" || r.Authorization != "Bearer "+openaiKey || r.Model != "gpt-4o-mini" {
		t.Fatalf("request path %q auth %q model %q", r.Path, r.Authorization, r.Model)
	}
	if !r.Stream || !r.IncludeUsage {
		t.Fatalf("stream=%v include_usage=%v, want both", r.Stream, r.IncludeUsage)
	}
	want := []llmtest.Message{{Role: "system", Content: "You are terse."}, {Role: "user", Content: "Say hello to the world"}}
	if len(r.Messages) != 2 || r.Messages[0] != want[0] || r.Messages[1] != want[1] {
		t.Fatalf("messages %+v, want %+v", r.Messages, want)
	}
}

func TestDefaultReplyWordChunks(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	srv.SetReply("one two  three")
	s, err := newClient(srv, nil).Stream(t.Context(), chatReq("gpt-4o"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deltas, err := drain(t, s)
	if err != io.EOF || strings.Join(deltas, "") != "one two  three" || len(deltas) != 4 {
		t.Fatalf("deltas %q err %v", deltas, err)
	}
	// The server's default usage counts words: 3 + 5 prompt words, 3 reply words.
	if u := s.Usage(); u != (llm.Usage{InputTokens: 8, OutputTokens: 3}) {
		t.Fatalf("usage %+v", u)
	}
}

func TestMaxTokensParameter(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	c := newClient(srv, nil)
	for _, model := range []string{"gpt-4o", "o3-mini"} {
		req := chatReq(model)
		req.MaxTokens = 77
		s, err := c.Stream(t.Context(), req)
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		if _, err := drain(t, s); err != io.EOF {
			t.Fatalf("%s: %v", model, err)
		}
		s.Close()
	}
	reqs := srv.Requests()
	// Reasoning models reject max_tokens; they get max_completion_tokens.
	if reqs[0].MaxTokens != 77 || reqs[0].MaxCompletionTokens != 0 {
		t.Fatalf("gpt-4o: max_tokens %d max_completion_tokens %d", reqs[0].MaxTokens, reqs[0].MaxCompletionTokens)
	}
	if reqs[1].MaxTokens != 0 || reqs[1].MaxCompletionTokens != 77 {
		t.Fatalf("o3-mini: max_tokens %d max_completion_tokens %d", reqs[1].MaxTokens, reqs[1].MaxCompletionTokens)
	}
}

func TestProviderRouting(t *testing.T) {
	t.Parallel()
	openaiSrv, anthropicSrv, googleSrv := llmtest.NewServer(t), llmtest.NewServer(t), llmtest.NewServer(t)
	openaiSrv.SetReply("from openai")
	anthropicSrv.SetReply("from anthropic")
	googleSrv.SetReply("from google")
	c := llm.New(llm.Config{
		OpenAIKey: "sk-o", OpenAIBaseURL: openaiSrv.URL(),
		AnthropicKey: "sk-ant", AnthropicBaseURL: anthropicSrv.URL() + "/",
		GeminiKey: "g-key", GeminiBaseURL: strings.TrimSuffix(googleSrv.URL(), "/v1") + "/v1beta/openai/",
	})
	cases := []struct {
		model, reply, auth, path string
		srv                      *llmtest.Server
	}{
		{"gpt-4.1", "from openai", "Bearer sk-o", "/v1/chat/completions", openaiSrv},
		{"claude-sonnet-4-20250514", "from anthropic", "Bearer sk-ant", "/v1/chat/completions", anthropicSrv},
		{"gemini-2.0-flash", "from google", "Bearer g-key", "/v1beta/openai/chat/completions", googleSrv},
	}
	for _, tc := range cases {
		s, err := c.Stream(t.Context(), chatReq(tc.model))
		if err != nil {
			t.Fatalf("%s: %v", tc.model, err)
		}
		deltas, err := drain(t, s)
		s.Close()
		if err != io.EOF || strings.Join(deltas, "") != tc.reply {
			t.Fatalf("%s: reply %q err %v, want %q", tc.model, strings.Join(deltas, ""), err, tc.reply)
		}
		reqs := tc.srv.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%s: %d requests on its provider's server, want 1", tc.model, len(reqs))
		}
		if reqs[0].Authorization != tc.auth || reqs[0].Path != tc.path || reqs[0].Model != tc.model {
			t.Fatalf("%s: auth %q path %q model %q", tc.model, reqs[0].Authorization, reqs[0].Path, reqs[0].Model)
		}
	}
}

func TestProviderFor(t *testing.T) {
	t.Parallel()
	for model, want := range map[string]llm.Provider{
		"gpt-4o": llm.OpenAI, "o3-mini": llm.OpenAI, "llama3.1:8b": llm.OpenAI,
		"claude-3-5-haiku-latest": llm.Anthropic, "Claude-Opus-4": llm.Anthropic,
		"gemini-1.5-pro": llm.Google, "gemini-2.5-flash": llm.Google,
		"claude": llm.OpenAI, // only the claude- family goes to Anthropic
	} {
		if got := llm.ProviderFor(model); got != want {
			t.Errorf("ProviderFor(%q) = %s, want %s", model, got, want)
		}
	}
}

func TestNoKeyIsUnavailableBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	c := newClient(srv, nil) // OpenAI only

	_, err := c.Stream(t.Context(), chatReq("claude-sonnet-4-20250514"))
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.LLMUnavailable {
		t.Fatalf("err %v, want LLM_UNAVAILABLE", err)
	}
	if want := "no API key configured for provider anthropic (set ANTHROPIC_API_KEY)"; e.Message != want {
		t.Fatalf("message %q, want %q", e.Message, want)
	}
	if !llm.IsUnavailable(err) {
		t.Fatal("IsUnavailable false for a missing key")
	}
	if err := c.Available("gemini-2.0-flash"); err == nil || !strings.Contains(err.Error(), "GEMINI_API_KEY") {
		t.Fatalf("Available(gemini): %v", err)
	}
	if _, _, err := c.Embed(t.Context(), "gemini-embedding-001", 0, []string{"x"}); !apperr.Is(err, apperr.LLMUnavailable) {
		t.Fatalf("Embed without key: %v", err)
	}
	if err := c.Available("gpt-4o"); err != nil {
		t.Fatalf("Available(gpt-4o): %v", err)
	}
	if n := len(srv.Requests()) + len(srv.EmbeddingRequests()); n != 0 {
		t.Fatalf("%d requests sent without a key", n)
	}

	if err := llm.New(llm.Config{}).Available("gpt-4o"); !apperr.Is(err, apperr.LLMUnavailable) ||
		!strings.Contains(err.Error(), "OPENAI_API_KEY") {
		t.Fatalf("no config at all: %v", err)
	}
}

func TestKeylessLocalServer(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	// Ollama-style: a base URL and no key.
	c := llm.New(llm.Config{OpenAIBaseURL: srv.URL()})
	if err := c.Available("llama3.1"); err != nil {
		t.Fatalf("Available: %v", err)
	}
	s, err := c.Stream(t.Context(), chatReq("llama3.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := drain(t, s); err != io.EOF {
		t.Fatal(err)
	}
	if auth := srv.Requests()[0].Authorization; auth != "Bearer no-key" {
		t.Fatalf("Authorization %q, want the placeholder", auth)
	}
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status      int
		unavailable bool
	}{
		{http.StatusInternalServerError, true},
		{http.StatusBadGateway, true},
		{http.StatusServiceUnavailable, true},
		{http.StatusUnauthorized, true},
		{http.StatusForbidden, true},
		{http.StatusTooManyRequests, true},
		{http.StatusNotFound, true},
		{http.StatusBadRequest, false}, // our request was wrong: an internal error
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t)
			const secret = "Incorrect API key provided: sk-test-*****nai"
			srv.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
				return llmtest.Reply{FailStatus: tc.status, FailMessage: secret}
			})
			s, err := newClient(srv, nil).Stream(t.Context(), chatReq("gpt-4o"))
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if got := llm.IsUnavailable(err); got != tc.unavailable {
				t.Fatalf("IsUnavailable = %v, want %v (%v)", got, tc.unavailable, err)
			}
			// The log sees everything: provider, model, status, upstream text.
			for _, want := range []string{"openai", "gpt-4o", http.StatusText(tc.status), secret} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			e, ok := apperr.As(err)
			if ok != tc.unavailable {
				t.Fatalf("apperr present = %v, want %v", ok, tc.unavailable)
			}
			// The client sees a code and a safe message, never the provider's text.
			if ok && (e.Code != apperr.LLMUnavailable || strings.Contains(e.Message, "sk-")) {
				t.Fatalf("client error %s %q", e.Code, e.Message)
			}
		})
	}
}

func TestCutStream(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		cutAfter int
		want     []string
	}{
		{"mid-reply", 2, []string{"abcd", "efgh"}},
		{"after all content", 99, []string{"abcd", "efgh", "ij"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t)
			srv.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
				return llmtest.Reply{Chunks: []string{"abcd", "efgh", "ij"}, CutAfter: tc.cutAfter, PromptTokens: 1000}
			})
			req := llm.Request{Model: "gpt-4o", Messages: []llm.Message{{Role: "user", Content: "0123456789"}}}
			s, err := newClient(srv, nil).Stream(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			deltas, err := drain(t, s)
			if strings.Join(deltas, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("deltas before the cut %q, want %q", deltas, tc.want)
			}
			if err == io.EOF || !errors.Is(err, llm.ErrIncomplete) || !llm.IsUnavailable(err) {
				t.Fatalf("err %v, want ErrIncomplete (unavailable)", err)
			}
			if _, again := s.Recv(); again != err {
				t.Fatalf("Recv after failure: %v, want the same error", again)
			}
			// No usage chunk arrived: chars/4, rounded up, marked estimated.
			text := strings.Join(tc.want, "")
			want := llm.Usage{InputTokens: 3, OutputTokens: (len(text) + 3) / 4, Estimated: true}
			if got := s.Usage(); got != want {
				t.Fatalf("usage %+v, want %+v", got, want)
			}
		})
	}
}

func TestStallEndsRecvAndCancelsUpstream(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	srv.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: []string{"first ", "never"}, StallAfter: 1}
	})
	const idle = 200 * time.Millisecond
	c := newClient(srv, func(cfg *llm.Config) { cfg.IdleTimeout = idle })
	s, err := c.Stream(t.Context(), chatReq("gpt-4o"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d, err := s.Recv(); err != nil || d != "first " {
		t.Fatalf("first delta %q %v", d, err)
	}
	start := time.Now()
	_, err = s.Recv()
	waited := time.Since(start)
	if !errors.Is(err, llm.ErrStalled) || !llm.IsUnavailable(err) {
		t.Fatalf("err %v, want ErrStalled (unavailable)", err)
	}
	if waited < idle || waited > 10*idle {
		t.Fatalf("Recv gave up after %s, want about %s", waited, idle)
	}
	select {
	case <-srv.Canceled():
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
	if u := s.Usage(); !u.Estimated || u.OutputTokens != 2 {
		t.Fatalf("usage %+v, want an estimate over %q", u, "first ")
	}
}

func TestStallBeforeHeaders(t *testing.T) {
	t.Parallel()
	// A server that accepts the request and never answers.
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(hung.Close)
	c := llm.New(llm.Config{OpenAIKey: "k", OpenAIBaseURL: hung.URL + "/v1", IdleTimeout: 150 * time.Millisecond})
	_, err := c.Stream(t.Context(), chatReq("gpt-4o"))
	if !errors.Is(err, llm.ErrStalled) || !llm.IsUnavailable(err) {
		t.Fatalf("err %v, want ErrStalled", err)
	}
}

func TestWholeCallTimeout(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	chunks := make([]string, 100)
	for i := range chunks {
		chunks[i] = "x"
	}
	srv.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: chunks, Delay: 30 * time.Millisecond}
	})
	c := newClient(srv, func(cfg *llm.Config) {
		cfg.Timeout = 300 * time.Millisecond
		cfg.IdleTimeout = 5 * time.Second // chunks keep coming: only Timeout can end this
	})
	start := time.Now()
	s, err := c.Stream(t.Context(), chatReq("gpt-4o"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deltas, err := drain(t, s)
	if !errors.Is(err, llm.ErrTimeout) || !llm.IsUnavailable(err) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if len(deltas) == 0 || len(deltas) == len(chunks) {
		t.Fatalf("%d deltas before the timeout", len(deltas))
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("timeout took %s", d)
	}
}

func TestCallerCancellationIsNotUnavailable(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	srv.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: []string{"a", "b"}, StallAfter: 1}
	})
	ctx, cancel := context.WithCancel(t.Context())
	s, err := newClient(srv, nil).Stream(ctx, chatReq("gpt-4o"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = s.Recv()
	if !errors.Is(err, context.Canceled) || llm.IsUnavailable(err) {
		t.Fatalf("err %v: want context.Canceled, not unavailable", err)
	}
}

func TestCloseFromAnotherGoroutine(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	srv.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: []string{"a", "b"}, StallAfter: 1}
	})
	s, err := newClient(srv, nil).Stream(t.Context(), chatReq("gpt-4o"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { _ = s.Close() })
	if _, err := s.Recv(); err == nil || err == io.EOF || llm.IsUnavailable(err) {
		t.Fatalf("Recv after Close: %v", err)
	}
	_ = s.Close() // idempotent
	select {
	case <-srv.Canceled():
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel the upstream request")
	}
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	c := newClient(srv, nil)
	if _, err := c.Stream(t.Context(), llm.Request{Model: "gpt-4o"}); err == nil {
		t.Fatal("no messages: no error")
	}
	bad := llm.Request{Model: "gpt-4o", Messages: []llm.Message{{Role: "wizard", Content: "x"}}}
	if _, err := c.Stream(t.Context(), bad); err == nil {
		t.Fatal("unknown role: no error")
	}
	if _, err := c.Stream(t.Context(), llm.Request{Messages: chatReq("").Messages}); err == nil {
		t.Fatal("no model: no error")
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("%d invalid requests were sent", n)
	}
}

func TestErrorEventMidStream(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	srv.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: []string{"partial ", "reply"}, ErrorAfter: 1, FailMessage: "Overloaded"}
	})
	s, err := newClient(srv, nil).Stream(t.Context(), chatReq("gpt-4o"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deltas, err := drain(t, s)
	if len(deltas) != 1 || deltas[0] != "partial " {
		t.Fatalf("deltas %q", deltas)
	}
	if err == io.EOF || !llm.IsUnavailable(err) || !strings.Contains(err.Error(), "Overloaded") {
		t.Fatalf("err %v, want the provider's error event, unavailable", err)
	}
	if !s.Usage().Estimated {
		t.Fatal("usage should be estimated")
	}
}

func TestServerWithoutUsageChunk(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	srv.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Text: "four char word", NoUsage: true}
	})
	s, err := newClient(srv, nil).Stream(t.Context(), chatReq("gpt-4o"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A finished reply without usage is still a success…
	if _, err := drain(t, s); err != io.EOF {
		t.Fatalf("err %v, want io.EOF", err)
	}
	// …with estimated usage: 36 prompt characters, 14 reply characters.
	if got, want := s.Usage(), (llm.Usage{InputTokens: 9, OutputTokens: 4, Estimated: true}); got != want {
		t.Fatalf("usage %+v, want %+v", got, want)
	}
}
