// Package llmtest is a loopback stand-in for the OpenAI API (and so for every
// OpenAI-compatible endpoint), so tests exercise the real go-openai client
// end to end: the same JSON, the same server-sent events, the same failures
// (HTTP errors, connections cut mid-stream, streams that stall).
//
//	srv := llmtest.NewServer(t)
//	srv.SetReply("Hello there")
//	client := llm.New(llm.Config{OpenAIKey: "k", OpenAIBaseURL: srv.URL()})
package llmtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one message of a received chat request.
type Message struct {
	Role    string
	Content string
}

// ChatRequest is a chat completion request as the server received it.
type ChatRequest struct {
	Path                string // e.g. /v1/chat/completions: shows which base URL was used
	Authorization       string // the Authorization header, e.g. "Bearer sk-…"
	Model               string
	Messages            []Message
	Stream              bool
	IncludeUsage        bool // stream_options.include_usage
	MaxTokens           int
	MaxCompletionTokens int
}

// EmbeddingRequest is an embeddings request as the server received it.
type EmbeddingRequest struct {
	Path          string
	Authorization string
	Model         string
	Input         []string
	Dimensions    int
}

// Reply says how to answer one chat request. The zero Reply answers the
// default text, word by word, with no delay.
type Reply struct {
	// Text is the reply, streamed as one chunk per word (with its trailing
	// space) unless Chunks is set.
	Text string
	// Chunks, if set, are the content chunks to stream, and Text is ignored.
	Chunks []string
	// Delay is the pause before each content chunk after the first.
	Delay time.Duration

	// FailStatus, if set, answers this HTTP status with an OpenAI-style error
	// body ({"error": {"message", "type", "code"}}) instead of a reply.
	FailStatus int
	// FailMessage is the error's message (default: the status text).
	FailMessage string

	// CutAfter > 0 writes that many content chunks, then closes the
	// connection abruptly: no finish chunk, no usage, no [DONE].
	// A value ≥ the number of chunks cuts after all content.
	CutAfter int
	// StallAfter > 0 writes that many content chunks, then sends nothing
	// until the client goes away (see Server.Canceled).
	StallAfter int
	// ErrorAfter > 0 writes that many content chunks, then an error event
	// (data: {"error": …}, with FailMessage) and ends the response, as
	// providers do when they fail mid-reply (Anthropic's overloaded_error).
	ErrorAfter int
	// NoUsage leaves out the usage chunk even when include_usage was asked
	// for, like a compatible server that ignores stream_options.
	NoUsage bool

	// PromptTokens and CompletionTokens are the usage to report; zero means
	// count words (of all messages, and of the reply).
	PromptTokens     int
	CompletionTokens int
}

// DefaultReply is the text answered when no reply or handler was set.
const DefaultReply = "Hello from llmtest."

// Server is the stand-in. Its controls are safe for concurrent use.
type Server struct {
	srv  *httptest.Server
	done chan struct{} // closed at cleanup, so stalled handlers let Close finish

	mu              sync.Mutex
	handler         func(ChatRequest) Reply
	apiKey          string
	embedFailStatus int
	requests        []ChatRequest
	embeds          []EmbeddingRequest
	canceled        chan ChatRequest
}

// NewServer starts a server that is shut down when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := Start()
	t.Cleanup(s.Close)
	return s
}

// Start starts a server outside a test (the load benchmark, bench/, runs
// it as the provider of the server it drives); Close shuts it down.
func Start() *Server {
	s := &Server{
		done:     make(chan struct{}),
		canceled: make(chan ChatRequest, 64),
		handler:  func(ChatRequest) Reply { return Reply{Text: DefaultReply} },
	}
	mux := http.NewServeMux()
	// Match on the suffix so any base URL path works (/v1, /v1beta/openai, …).
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method != http.MethodPost:
			writeError(w, http.StatusMethodNotAllowed, "")
		case strings.HasSuffix(r.URL.Path, "/chat/completions"):
			s.chat(w, r)
		case strings.HasSuffix(r.URL.Path, "/embeddings"):
			s.embed(w, r)
		default:
			writeError(w, http.StatusNotFound, "unknown endpoint "+r.URL.Path)
		}
	})
	s.srv = httptest.NewServer(mux)
	return s
}

// Close lets stalled handlers return and shuts the server down.
func (s *Server) Close() {
	close(s.done)
	s.srv.Close()
}

// URL is the base URL to configure the client with: the server's root plus
// "/v1", like https://api.openai.com/v1.
func (s *Server) URL() string { return s.srv.URL + "/v1" }

// SetReply answers every chat request with text.
func (s *Server) SetReply(text string) {
	s.SetHandler(func(ChatRequest) Reply { return Reply{Text: text} })
}

// SetHandler decides the reply to each chat request.
func (s *Server) SetHandler(h func(req ChatRequest) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

// RequireKey makes the server answer 401 (as OpenAI does) to any request
// whose Authorization header is not "Bearer "+key.
func (s *Server) RequireKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKey = key
}

// SetEmbeddingFailStatus makes embeddings requests fail with status (0: succeed).
func (s *Server) SetEmbeddingFailStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.embedFailStatus = status
}

// Requests returns the chat requests received so far, oldest first.
func (s *Server) Requests() []ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ChatRequest(nil), s.requests...)
}

// EmbeddingRequests returns the embeddings requests received so far.
func (s *Server) EmbeddingRequests() []EmbeddingRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]EmbeddingRequest(nil), s.embeds...)
}

// Canceled delivers each stalled request once its context has ended, i.e.
// once the client gave up and closed the connection: the proof that a client
// timeout really releases the upstream request.
func (s *Server) Canceled() <-chan ChatRequest { return s.canceled }

// checkKey answers 401 and returns false when a key is required and missing.
func (s *Server) checkKey(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	key := s.apiKey
	s.mu.Unlock()
	if key != "" && r.Header.Get("Authorization") != "Bearer "+key {
		writeError(w, http.StatusUnauthorized, "Incorrect API key provided.")
		return false
	}
	return true
}

// wireChat is the part of OpenAI's chat request this server reads.
type wireChat struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           int `json:"max_tokens"`
	MaxCompletionTokens int `json:"max_completion_tokens"`
}

// content reads a message's content, which OpenAI allows to be a string or
// an array of parts; only text parts matter here.
func content(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	// Read the whole body: only then does net/http watch the connection
	// and cancel r.Context() when the client goes away.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var in wireChat
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	req := ChatRequest{
		Path:                r.URL.Path,
		Authorization:       r.Header.Get("Authorization"),
		Model:               in.Model,
		Stream:              in.Stream,
		IncludeUsage:        in.StreamOptions != nil && in.StreamOptions.IncludeUsage,
		MaxTokens:           in.MaxTokens,
		MaxCompletionTokens: in.MaxCompletionTokens,
	}
	for _, m := range in.Messages {
		req.Messages = append(req.Messages, Message{Role: m.Role, Content: content(m.Content)})
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	h := s.handler
	s.mu.Unlock()

	if !s.checkKey(w, r) {
		return
	}
	if in.Model == "" || len(in.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "model and messages are required")
		return
	}
	reply := h(req)
	if reply.FailStatus != 0 {
		writeError(w, reply.FailStatus, reply.FailMessage)
		return
	}
	chunks := reply.Chunks
	if chunks == nil {
		chunks = splitWords(reply.Text)
	}
	text := strings.Join(chunks, "")
	prompt := reply.PromptTokens
	if prompt == 0 {
		for _, m := range req.Messages {
			prompt += len(strings.Fields(m.Content))
		}
	}
	completion := reply.CompletionTokens
	if completion == 0 {
		completion = len(strings.Fields(text))
	}
	usage := map[string]int{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
	id := fmt.Sprintf("chatcmpl-llmtest-%d", time.Now().UnixNano())
	created := time.Now().Unix()

	if !in.Stream {
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": in.Model,
			"choices": []any{map[string]any{
				"index":         0,
				"message":       map[string]any{"role": "assistant", "content": text},
				"finish_reason": "stop",
			}},
			"usage": usage,
		})
		return
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(choices []any, withUsage bool) {
		chunk := map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": in.Model,
			"choices": choices,
		}
		// As OpenAI does: with include_usage every chunk has "usage": null
		// except the last, which has the counts and no choices.
		if req.IncludeUsage {
			chunk["usage"] = nil
			if withUsage {
				chunk["usage"] = usage
			}
		}
		b, _ := json.Marshal(chunk)
		fmt.Fprintf(w, "data: %s\n\n", b)
		_ = rc.Flush()
	}
	delta := func(d map[string]any, finish any) []any {
		return []any{map[string]any{"index": 0, "delta": d, "logprobs": nil, "finish_reason": finish}}
	}

	sendError := func() {
		msg := reply.FailMessage
		if msg == "" {
			msg = "Overloaded"
		}
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "server_error", "param": nil, "code": nil}})
		fmt.Fprintf(w, "data: %s\n\n", b)
		_ = rc.Flush()
	}

	send(delta(map[string]any{"role": "assistant", "content": ""}, nil), false)
	for i, c := range chunks {
		if i == reply.CutAfter && reply.CutAfter > 0 {
			cut(rc)
			return
		}
		if i == reply.StallAfter && reply.StallAfter > 0 {
			s.stall(r, req)
			return
		}
		if i == reply.ErrorAfter && reply.ErrorAfter > 0 {
			sendError()
			return
		}
		if i > 0 && reply.Delay > 0 && !s.sleep(r, reply.Delay) {
			return
		}
		send(delta(map[string]any{"content": c}, nil), false)
	}
	if reply.CutAfter > 0 {
		cut(rc)
		return
	}
	if reply.StallAfter > 0 {
		s.stall(r, req)
		return
	}
	if reply.ErrorAfter > 0 {
		sendError()
		return
	}
	send(delta(map[string]any{}, "stop"), false)
	if req.IncludeUsage && !reply.NoUsage {
		send([]any{}, true)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}

// cut closes the connection under the response, the way a crashed upstream
// or a dropped proxy connection does: the client sees the chunked body end
// without its terminating chunk.
func cut(rc *http.ResponseController) {
	_ = rc.Flush()
	conn, buf, err := rc.Hijack()
	if err != nil {
		return
	}
	_ = buf.Flush()
	_ = conn.Close()
}

// stall sends nothing more until the client disconnects (or the server
// shuts down), then reports the request on Canceled.
func (s *Server) stall(r *http.Request, req ChatRequest) {
	select {
	case <-r.Context().Done():
		select {
		case s.canceled <- req:
		default:
		}
	case <-s.done:
	}
}

func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.done:
		return false
	}
}

// splitWords splits text into chunks of a word and the spaces after it, so
// that the chunks concatenate back to text exactly.
func splitWords(text string) []string {
	var out []string
	for _, w := range strings.SplitAfter(text, " ") {
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

type wireEmbed struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	Dimensions     int             `json:"dimensions"`
	EncodingFormat string          `json:"encoding_format"`
}

func (s *Server) embed(w http.ResponseWriter, r *http.Request) {
	var in wireEmbed
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	var inputs []string
	if err := json.Unmarshal(in.Input, &inputs); err != nil {
		var one string
		if err := json.Unmarshal(in.Input, &one); err != nil {
			writeError(w, http.StatusBadRequest, "input must be a string or an array of strings")
			return
		}
		inputs = []string{one}
	}
	s.mu.Lock()
	s.embeds = append(s.embeds, EmbeddingRequest{
		Path: r.URL.Path, Authorization: r.Header.Get("Authorization"),
		Model: in.Model, Input: inputs, Dimensions: in.Dimensions,
	})
	fail := s.embedFailStatus
	s.mu.Unlock()
	if !s.checkKey(w, r) {
		return
	}
	if fail != 0 {
		writeError(w, fail, "")
		return
	}
	if in.Model == "" || len(inputs) == 0 {
		writeError(w, http.StatusBadRequest, "model and input are required")
		return
	}
	dims := in.Dimensions
	if dims <= 0 {
		dims = 1536 // text-embedding-3-small's native size
		if strings.Contains(in.Model, "large") {
			dims = 3072
		}
	}
	data := make([]any, len(inputs))
	tokens := 0
	for i, text := range inputs {
		v := Vector(in.Model, text, dims)
		var emb any = v
		if in.EncodingFormat == "base64" {
			b := make([]byte, 4*len(v))
			for j, f := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(f))
			}
			emb = base64.StdEncoding.EncodeToString(b)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
		tokens += len(strings.Fields(text))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list", "data": data, "model": in.Model,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

// Vector is the embedding the server answers for text: deterministic (seeded
// by a hash of model and text), unit length, dims long. Equal texts get
// equal vectors, so tests can predict search results.
func Vector(model, text string, dims int) []float32 {
	sum := sha256.Sum256([]byte(model + "\x00" + text))
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
	v := make([]float32, dims)
	var norm float64
	for i := range v {
		x := rng.NormFloat64()
		v[i] = float32(x)
		norm += x * x
	}
	norm = math.Sqrt(norm)
	if norm > 0 {
		for i := range v {
			v[i] = float32(float64(v[i]) / norm)
		}
	}
	return v
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers an error the way OpenAI does, so go-openai parses it
// into an *openai.APIError with the status attached.
func writeError(w http.ResponseWriter, status int, msg string) {
	if msg == "" {
		msg = http.StatusText(status)
	}
	typ, code := "invalid_request_error", any(nil)
	switch {
	case status == http.StatusUnauthorized:
		code = "invalid_api_key"
	case status == http.StatusNotFound:
		code = "model_not_found"
	case status == http.StatusTooManyRequests:
		typ, code = "requests", "rate_limit_exceeded"
	case status >= 500:
		typ = "server_error"
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": code,
	}})
}
