package knowledge_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/agentgraph/agentgraph/internal/knowledge"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/store"
)

// BenchmarkSearchExactChanged is BenchmarkSearch's postgres/10000 when the
// vector cache cannot answer alone: "changed" indexes one of the user's
// entries again before every search (its indexed_at moves), so every search
// finds its collection's stamp moved and refreshes it (ids and hashes, then
// that one vector); "cold" empties the cache before every search, which
// then reads all the vectors from Postgres, as a first search does.
func BenchmarkSearchExactChanged(b *testing.B) {
	db := setupBench(b)
	fake := llmtest.NewServer(b)
	st := store.New(db.pool)
	newEngine := func() *knowledge.Engine {
		e, err := knowledge.NewEngine(st, llm.New(llm.Config{OpenAIKey: "k", OpenAIBaseURL: fake.URL()}),
			knowledge.Config{EmbeddingModel: "text-embedding-3-small", Dimensions: benchDims}, quiet())
		if err != nil {
			b.Fatal(err)
		}
		knowledge.ExactVectors(e) // the packed mode, where the database has pgvector too
		return e
	}
	user := db.users[10_000]
	b.Run("changed", func(b *testing.B) {
		e := newEngine()
		defer e.Close()
		touch := func() {
			if _, err := db.pool.Exec(context.Background(), `update knowledge_entries set indexed_at = clock_timestamp()
				where id = (select id from knowledge_entries where user_id = $1 limit 1)`, user); err != nil {
				b.Fatal(err)
			}
		}
		runSearches(b, knowledge.New(st, e, nil), user, "tomatoes", touch)
		if cols, _ := knowledge.VectorRefreshes(e); cols < int64(b.N) {
			b.Fatalf("%d refreshes for %d searches: the cache answered alone", cols, b.N)
		}
	})
	b.Run("cold", func(b *testing.B) {
		e := newEngine()
		defer e.Close()
		runSearches(b, knowledge.New(st, e, nil), user, "tomatoes", func() { knowledge.ClearVectorCache(e) })
	})
}

// BenchmarkSearchSelective is BenchmarkSearch's full-text mode with a
// selective query: an identifier that one entry of each set holds
// (md5('7')), where `tomatoes` matches 1 in 6.
func BenchmarkSearchSelective(b *testing.B) {
	db := setupBench(b)
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("text/%d", n), func(b *testing.B) {
			st := store.New(db.pool)
			e, err := knowledge.NewEngine(st, llm.New(llm.Config{}),
				knowledge.Config{EmbeddingModel: "text-embedding-3-small", Dimensions: benchDims}, quiet())
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			runSearches(b, knowledge.New(st, e, nil), db.users[n], "8f14e45fceea167a5a36dedd4bea2543")
		})
	}
}
