package llm_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
)

func TestEmbed(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	c := newClient(srv, nil)
	inputs := []string{"the cat sat", "on the mat", "the cat sat"}
	vecs, usage, err := c.Embed(t.Context(), "text-embedding-3-small", 256, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != len(inputs) {
		t.Fatalf("%d vectors", len(vecs))
	}
	for i, v := range vecs {
		if len(v) != 256 {
			t.Fatalf("vector %d has %d dimensions, want 256", i, len(v))
		}
		if !slices.Equal(v, llmtest.Vector("text-embedding-3-small", inputs[i], 256)) {
			t.Fatalf("vector %d is not the server's vector for its input", i)
		}
	}
	if !slices.Equal(vecs[0], vecs[2]) || slices.Equal(vecs[0], vecs[1]) {
		t.Fatal("equal inputs should embed equally, different ones differently")
	}
	if usage != (llm.Usage{InputTokens: 9}) {
		t.Fatalf("usage %+v", usage)
	}
	reqs := srv.EmbeddingRequests()
	if len(reqs) != 1 || reqs[0].Dimensions != 256 || !slices.Equal(reqs[0].Input, inputs) ||
		reqs[0].Authorization != "Bearer "+openaiKey || reqs[0].Path != "/v1/embeddings" {
		t.Fatalf("requests %+v", reqs)
	}

	// Without dims, the model's native size.
	vecs, _, err = c.Embed(t.Context(), "text-embedding-3-small", 0, inputs[:1])
	if err != nil || len(vecs[0]) != 1536 {
		t.Fatalf("native size: %v, %d", err, len(vecs[0]))
	}
	// Nothing to embed: no request.
	if vecs, _, err := c.Embed(t.Context(), "text-embedding-3-small", 8, nil); err != nil || vecs != nil {
		t.Fatalf("empty input: %v %v", vecs, err)
	}
	if n := len(srv.EmbeddingRequests()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

func TestEmbedErrors(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t)
	srv.SetEmbeddingFailStatus(http.StatusTooManyRequests)
	_, _, err := newClient(srv, nil).Embed(t.Context(), "text-embedding-3-small", 8, []string{"x"})
	if err == nil || !llm.IsUnavailable(err) {
		t.Fatalf("err %v, want unavailable", err)
	}
}
