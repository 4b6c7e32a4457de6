package llm

import (
	"context"
	"fmt"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
)

// Embed returns one vector per input, in input order, through the OpenAI
// embeddings API of model's provider. dims > 0 asks for that many dimensions
// (text-embedding-3 and later) and is checked on the answer: a server that
// ignores the parameter would otherwise store vectors the index rejects.
func (c *Client) Embed(ctx context.Context, model string, dims int, inputs []string) ([][]float32, Usage, error) {
	api, err := c.api(model)
	if err != nil {
		return nil, Usage{}, err
	}
	if len(inputs) == 0 {
		return nil, Usage{}, nil
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.cfg.Timeout, ErrTimeout)
	defer cancel()
	resp, err := api.CreateEmbeddings(ctx, openai.EmbeddingRequest{
		Input:      inputs,
		Model:      openai.EmbeddingModel(model),
		Dimensions: dims,
	})
	p := ProviderFor(model)
	if err != nil {
		return nil, Usage{}, c.classify(ctx, p, model, err)
	}
	if len(resp.Data) != len(inputs) {
		return nil, Usage{}, fmt.Errorf("llm: %s %s: %d embeddings for %d inputs", p, model, len(resp.Data), len(inputs))
	}
	// Place by index rather than trusting the order of the answer.
	out := make([][]float32, len(inputs))
	for _, e := range resp.Data {
		if e.Index < 0 || e.Index >= len(out) || out[e.Index] != nil {
			return nil, Usage{}, fmt.Errorf("llm: %s %s: bad or repeated embedding index %d", p, model, e.Index)
		}
		if dims > 0 && len(e.Embedding) != dims {
			return nil, Usage{}, fmt.Errorf("llm: %s %s: got %d dimensions, want %d", p, model, len(e.Embedding), dims)
		}
		out[e.Index] = e.Embedding
	}
	u := Usage{InputTokens: resp.Usage.PromptTokens}
	if u.InputTokens == 0 {
		// Some compatible servers report no usage; estimate rather than log
		// a free call.
		chars := 0
		for _, s := range inputs {
			chars += utf8.RuneCountInString(s)
		}
		u = Usage{InputTokens: estimateTokens(chars), Estimated: true}
	}
	return out, u, nil
}
