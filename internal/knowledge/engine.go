package knowledge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/spend"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/vectors"
)

// Mode is where search runs; the API is the same in every mode.
type Mode string

// Modes, chosen at start from the configuration (Engine.Mode).
const (
	// ModePinecone: vectors in Pinecone (PINECONE_API_KEY and
	// PINECONE_INDEX_HOST set, and an embedding provider).
	ModePinecone Mode = "pinecone"
	// ModePGVector: vectors in knowledge_entries.embedding_vector (the
	// database has pgvector: migration 00013), cosine computed by pgvector
	// over the scope's rows.
	ModePGVector Mode = "pgvector"
	// ModePostgres: vectors in knowledge_entries.embedding (packed bytea),
	// exact cosine computed by the server; the database lacks pgvector.
	ModePostgres Mode = "postgres"
	// ModeText: no embedding provider; Postgres full-text search only.
	ModeText Mode = "text"
)

// Config is what the knowledge index reads from the environment.
type Config struct {
	// EmbeddingModel embeds entries and queries (EMBEDDING_MODEL); its
	// provider is chosen like a chat model's (llm.ProviderFor).
	EmbeddingModel string
	// Dimensions asks the model for vectors of this size
	// (EMBEDDING_DIMENSIONS; 0: the model's own size).
	Dimensions   int
	PineconeKey  string
	PineconeHost string
}

// DefaultEmbeddingModel is EMBEDDING_MODEL's default.
const DefaultEmbeddingModel = "text-embedding-3-small"

// Engine indexes and searches knowledge: it embeds (with a cache), writes
// vectors where the mode keeps them, and ranks hits. It runs its own
// statements as the service role on the background store; user searches
// pass the request's store.
type Engine struct {
	bg       *store.Store
	llm      *llm.Client
	cfg      Config
	mode     Mode
	pinecone *vectors.Pinecone
	// pgvector is set in ModePGVector.
	pgvector *store.PGVector
	cache    *ristretto.Cache[string, []float32]
	vcache   *vectorCache
	log      *slog.Logger

	// spend, when set, keeps embeddings within each user's monthly budget.
	spend *spend.Service

	// betweenPasses, set by tests, runs between a search's vector pass and
	// its full-text pass.
	betweenPasses func()

	// Tuning, exported for tests: entries embedded per call, attempts of an
	// index job before its entries are marked FAILED, the longest backoff
	// between attempts, and how long a job holds the entries it embeds.
	Batch       int
	MaxAttempts int
	MaxBackoff  time.Duration
	Lease       time.Duration
	// BudgetRecheck is how long an index job past its user's budget waits
	// before looking again (for a raised budget or the next month).
	BudgetRecheck time.Duration
}

// NewEngine returns the engine for cfg: Pinecone when it is configured and
// embeddings are available; when only embeddings are, Postgres vectors, with
// pgvector when the database has it (one catalog query, at start) and
// packed exact cosine otherwise; full text without embeddings. c may be nil
// (no provider).
func NewEngine(bg *store.Store, c *llm.Client, cfg Config, log *slog.Logger) (*Engine, error) {
	cache, err := ristretto.NewCache(&ristretto.Config[string, []float32]{
		NumCounters: 100_000, MaxCost: 64 << 20, BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("knowledge: cache: %w", err)
	}
	vcache, err := newVectorCache(DefaultVectorCacheBytes)
	if err != nil {
		cache.Close()
		return nil, err
	}
	e := &Engine{bg: bg, llm: c, cfg: cfg, mode: ModeText, cache: cache, vcache: vcache, log: log,
		Batch: 64, MaxAttempts: 25, MaxBackoff: 10 * time.Minute, Lease: leaseMargin, BudgetRecheck: 15 * time.Minute}
	if c != nil && c.Available(cfg.EmbeddingModel) == nil {
		e.mode = ModePostgres
		e.Lease = c.Timeout() + leaseMargin
	}
	if cfg.PineconeKey != "" {
		if e.mode == ModeText {
			log.Warn("PINECONE_API_KEY is set but no embedding provider is: searching by full text only",
				"embedding_model", cfg.EmbeddingModel)
		} else {
			p, err := vectors.NewPinecone(cfg.PineconeKey, cfg.PineconeHost)
			if err != nil {
				cache.Close()
				vcache.c.Close()
				return nil, err
			}
			e.pinecone, e.mode = p, ModePinecone
		}
	}
	if e.mode == ModePostgres {
		if err := e.findPGVector(); err != nil {
			cache.Close()
			vcache.c.Close()
			return nil, err
		}
	}
	return e, nil
}

// findPGVector switches ModePostgres to ModePGVector when the database has
// pgvector's column, and warns when pgvector could be had but is not used.
func (e *Engine) findPGVector() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	pv, available, err := e.bg.FindPGVector(ctx)
	if err != nil {
		return fmt.Errorf("knowledge: %w", err)
	}
	if pv != nil {
		e.pgvector, e.mode = pv, ModePGVector
	} else if available {
		// The migrating role could not create the extension (not a superuser).
		e.log.Warn("pgvector is available but not in this database: searching by exact cosine over packed vectors; " +
			"have a superuser run CREATE EXTENSION vector, then agentgraph migrate (README.md, Installing pgvector)")
	}
	return nil
}

// SetSpend makes indexing and query embeddings respect each user's monthly
// budget: past it, entries wait PENDING (found by full text) and searches
// run by full text, with no embedding call. Call it before jobs start.
func (e *Engine) SetSpend(s *spend.Service) { e.spend = s }

// overBudget reports whether user has spent this month's budget (the feed
// says so once; spend.Check).
func (e *Engine) overBudget(ctx context.Context, user uuid.UUID) (bool, error) {
	err := e.spend.Check(ctx, user)
	if apperr.Is(err, apperr.BudgetExceeded) {
		return true, nil
	}
	return false, err
}

// Mode is where search runs.
func (e *Engine) Mode() Mode { return e.mode }

// Close releases the cache and the Pinecone connection.
func (e *Engine) Close() {
	e.cache.Close()
	e.vcache.c.Close()
	if e.pinecone != nil {
		_ = e.pinecone.Close()
	}
}

// embed returns unit vectors for texts, from the cache where it has them
// (keyed by model, dimensions and a hash of the text: the same text embeds
// the same, whoever wrote it, so sharing leaks nothing), and the usage of
// the call made for the rest (zero when all were cached).
func (e *Engine) embed(ctx context.Context, texts []string) ([][]float32, llm.Usage, error) {
	out := make([][]float32, len(texts))
	keys := make([]string, len(texts))
	var missing []int
	for i, t := range texts {
		sum := sha256.Sum256([]byte(t))
		keys[i] = e.cfg.EmbeddingModel + "\x00" + strconv.Itoa(e.cfg.Dimensions) + "\x00" + hex.EncodeToString(sum[:])
		if v, ok := e.cache.Get(keys[i]); ok {
			out[i] = v
		} else {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return out, llm.Usage{}, nil
	}
	inputs := make([]string, len(missing))
	for j, i := range missing {
		inputs[j] = texts[i]
	}
	vecs, usage, err := e.llm.Embed(ctx, e.cfg.EmbeddingModel, e.cfg.Dimensions, inputs)
	if err != nil {
		return nil, llm.Usage{}, err
	}
	for j, i := range missing {
		v := vectors.Normalize(vecs[j])
		out[i] = v
		e.cache.Set(keys[i], v, int64(4*len(v)+len(keys[i])))
	}
	return out, usage, nil
}

// usageRow is the usage_logs row of an embedding call.
func (e *Engine) usageRow(user uuid.UUID, agent *uuid.UUID, u llm.Usage) *store.Usage {
	if u.InputTokens == 0 {
		return nil
	}
	cost, _ := e.llm.Cost(e.cfg.EmbeddingModel, u.InputTokens, 0)
	return &store.Usage{UserID: user, AgentID: agent, Model: e.cfg.EmbeddingModel,
		Provider: string(llm.ProviderFor(e.cfg.EmbeddingModel)), Operation: "embedding", Input: u.InputTokens, CostCents: cost}
}
