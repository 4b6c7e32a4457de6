package llmtest_test

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
)

func post(t *testing.T, url, key, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const streamBody = `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},
	"messages":[{"role":"user","content":[{"type":"text","text":"hi there"}]}]}`

// TestStreamWireFormat checks the raw SSE, independent of any client's
// leniency: data lines of chat.completion.chunk, a finish chunk, a last
// chunk with no choices and the usage, then [DONE].
func TestStreamWireFormat(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	srv.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: []string{"a", "b"}, PromptTokens: 5, CompletionTokens: 2}
	})
	resp := post(t, srv.URL()+"/chat/completions", "k", streamBody)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	type chunk struct {
		Object  string `json:"object"`
		Choices []struct {
			Delta struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			Prompt     int `json:"prompt_tokens"`
			Completion int `json:"completion_tokens"`
			Total      int `json:"total_tokens"`
		} `json:"usage"`
	}
	var chunks []chunk
	done := false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || done {
			t.Fatalf("unexpected line %q", line)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var c chunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		chunks = append(chunks, c)
	}
	if !done || len(chunks) != 5 {
		t.Fatalf("done=%v, %d chunks, want role + 2 content + finish + usage", done, len(chunks))
	}
	if chunks[0].Choices[0].Delta.Role != "assistant" || chunks[1].Choices[0].Delta.Content != "a" ||
		chunks[2].Choices[0].Delta.Content != "b" || *chunks[3].Choices[0].FinishReason != "stop" {
		t.Fatalf("chunks %+v", chunks)
	}
	last := chunks[4]
	if last.Object != "chat.completion.chunk" || len(last.Choices) != 0 || last.Usage == nil ||
		last.Usage.Prompt != 5 || last.Usage.Completion != 2 || last.Usage.Total != 7 {
		t.Fatalf("usage chunk %+v", last)
	}
	if r := srv.Requests()[0]; r.Messages[0].Content != "hi there" || !r.IncludeUsage || r.Authorization != "Bearer k" {
		t.Fatalf("recorded %+v", r)
	}
}

func TestCutIsAbrupt(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	srv.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: []string{"a", "b"}, CutAfter: 1}
	})
	resp := post(t, srv.URL()+"/chat/completions", "k", streamBody)
	body, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read error %v, want unexpected EOF", err)
	}
	if !strings.Contains(string(body), `"content":"a"`) || strings.Contains(string(body), "[DONE]") ||
		strings.Contains(string(body), `"content":"b"`) {
		t.Fatalf("body before the cut: %s", body)
	}
}

func TestNonStreamAndErrors(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	srv.SetReply("plain answer")
	resp := post(t, srv.URL()+"/chat/completions", "", `{"model":"m","messages":[{"role":"user","content":"q"}]}`)
	var out struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Object != "chat.completion" ||
		out.Choices[0].Message.Content != "plain answer" {
		t.Fatalf("%+v %v", out, err)
	}

	srv.RequireKey("right")
	resp = post(t, srv.URL()+"/chat/completions", "wrong", streamBody)
	var e struct {
		Error struct{ Message, Type, Code string } `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 401 || e.Error.Code != "invalid_api_key" {
		t.Fatalf("status %d error %+v %v", resp.StatusCode, e, err)
	}
}

func TestEmbeddingsBase64(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	resp := post(t, srv.URL()+"/embeddings", "k", `{"model":"text-embedding-3-small","input":"hello","dimensions":4,"encoding_format":"base64"}`)
	var out struct {
		Data []struct {
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(out.Data[0].Embedding)
	if err != nil || len(raw) != 16 {
		t.Fatalf("%d bytes, %v", len(raw), err)
	}
	want := llmtest.Vector("text-embedding-3-small", "hello", 4)
	var norm float64
	for i := range 4 {
		got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		if got != want[i] {
			t.Fatalf("component %d: %v, want %v", i, got, want[i])
		}
		norm += float64(got) * float64(got)
	}
	if math.Abs(norm-1) > 1e-5 {
		t.Fatalf("vector norm² %v, want 1", norm)
	}
}
