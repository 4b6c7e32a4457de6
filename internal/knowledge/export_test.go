package knowledge

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/vectors"
)

// ExactVectors makes e search and index like a database without pgvector
// (ModePostgres, packed vectors in embedding) when it chose ModePGVector:
// the bytea mode keeps its tests and benchmarks on a machine with pgvector.
func ExactVectors(e *Engine) {
	if e.mode == ModePGVector {
		e.mode, e.pgvector = ModePostgres, nil
	}
}

// UpsertForBench puts vectors for user's entries of col into e's Pinecone,
// as index jobs would have, for the search benchmark.
func UpsertForBench(e *Engine, user, col uuid.UUID, n, dims int) error {
	ctx := context.Background()
	rows, err := e.bg.Pool().Query(ctx, `select id from knowledge_entries where collection_id = $1`, col)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return err
	}
	for start := 0; start < len(ids); start += 500 {
		end := min(start+500, len(ids))
		items := make([]vectors.Item, 0, end-start)
		for _, id := range ids[start:end] {
			items = append(items, vectors.Item{ID: id, Collection: col, Type: "note", Importance: 0.5,
				Values: llmtest.Vector("m", id.String(), dims)})
		}
		if err := e.pinecone.Upsert(ctx, user, items); err != nil {
			return err
		}
	}
	return nil
}

// VectorScans is how many collections e has read from Postgres for exact
// search (its vector cache's misses).
func VectorScans(e *Engine) int64 { return e.vcache.scans.Load() }

// VectorRefreshes is how many cached collections e has refreshed (their
// stamp moved) and how many vectors it read again doing so.
func VectorRefreshes(e *Engine) (collections, vectors int64) {
	return e.vcache.refreshes.Load(), e.vcache.refetched.Load()
}

// ClearVectorCache empties e's vector cache.
func ClearVectorCache(e *Engine) { e.vcache.c.Clear() }

// BetweenPasses makes e call fn between a search's vector and full-text
// passes.
func BetweenPasses(e *Engine, fn func()) { e.betweenPasses = fn }
