package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/agentgraph/agentgraph/internal/knowledge"
)

// loadKnowledge reads EMBEDDING_MODEL, EMBEDDING_DIMENSIONS,
// PINECONE_API_KEY and PINECONE_INDEX_HOST.
func loadKnowledge(getenv func(string) string) (knowledge.Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := knowledge.Config{EmbeddingModel: get("EMBEDDING_MODEL"), PineconeKey: get("PINECONE_API_KEY"), PineconeHost: get("PINECONE_INDEX_HOST")}
	if cfg.EmbeddingModel == "" {
		cfg.EmbeddingModel = knowledge.DefaultEmbeddingModel
	}
	if d := get("EMBEDDING_DIMENSIONS"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 20000 {
			return knowledge.Config{}, fmt.Errorf("EMBEDDING_DIMENSIONS: want a number of dimensions (1–20000), got %q", d)
		}
		cfg.Dimensions = n
	}
	if (cfg.PineconeKey == "") != (cfg.PineconeHost == "") {
		return knowledge.Config{}, errors.New("PINECONE_API_KEY and PINECONE_INDEX_HOST: set both to use Pinecone, or neither")
	}
	return cfg, nil
}
