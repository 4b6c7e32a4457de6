package knowledge_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/knowledge"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/testdb"
	"github.com/agentgraph/agentgraph/internal/vectors"
)

var pgvectorBenchOnce sync.Once

// setupPGVectorBench gives the benchmark users' entries (1k, 10k, 100k) a
// pgvector vector each: random unit vectors, distinct per row, so that an
// HNSW graph built over them is a fair one (the packed vectors of
// setupBench are near-copies of one vector, which costs an exact scan the
// same but would flatter or break a graph). Everyone else's rows have no
// vector, as in setupBench.
func setupPGVectorBench(b *testing.B, db *benchDB) {
	pgvectorBenchOnce.Do(func() {
		users := make([]uuid.UUID, 0, len(db.users))
		for _, u := range db.users {
			users = append(users, u)
		}
		start := time.Now()
		// The subquery names e so that it runs per row (uncorrelated, it would
		// run once and give every row the same vector).
		if _, err := db.pool.Exec(context.Background(), `update knowledge_entries e set embedding_vector = (
				select l2_normalize(array_agg(random() - 0.5)::real[]::vector) from generate_series(1, $2) where e.id is not null)
			where user_id = any($1)`, users, benchDims); err != nil {
			b.Fatal(err)
		}
		if _, err := db.pool.Exec(context.Background(), `vacuum analyze knowledge_entries`); err != nil {
			b.Fatal(err)
		}
		b.Logf("%.1fs: pgvector vectors for %d users", time.Since(start).Seconds(), len(users))
	})
}

// benchPGVector is BenchmarkSearch's pgvector mode: the same searches
// through Service.Search (cosine in SQL over the user's rows). With
// BENCH_PGVECTOR_HNSW=1 it also compares, as bare SQL, the exact scan with
// an HNSW index (cosine, on the 1,536-dimension rows) read with pgvector
// 0.8's iterative scan, to decide whether the mode should have one.
func benchPGVector(b *testing.B, db *benchDB, fake *llmtest.Server) {
	var has bool
	if err := db.pool.QueryRow(context.Background(), `select exists (select 1 from pg_attribute
		where attrelid = 'knowledge_entries'::regclass and attname = 'embedding_vector' and not attisdropped)`).Scan(&has); err != nil {
		b.Fatal(err)
	}
	if !has {
		testdb.NeedPGVector(b)
		b.Fatal("pgvector is available but the benchmark database has no embedding_vector column")
	}
	setupPGVectorBench(b, db)
	for _, n := range []int{1000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("%s/%d", knowledge.ModePGVector, n), func(b *testing.B) {
			st := store.New(db.pool)
			cfg := knowledge.Config{EmbeddingModel: "text-embedding-3-small", Dimensions: benchDims}
			e, err := knowledge.NewEngine(st, llm.New(llm.Config{OpenAIKey: "k", OpenAIBaseURL: fake.URL()}), cfg, quiet())
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			if e.Mode() != knowledge.ModePGVector {
				b.Fatalf("mode %s, want pgvector", e.Mode())
			}
			runSearches(b, knowledge.New(st, e, nil), db.users[n], "tomatoes")
		})
	}
	if os.Getenv("BENCH_PGVECTOR_HNSW") == "" {
		return
	}
	q := vectors.Normalize(llmtest.Vector("m", "tomatoes", benchDims))
	// The ranking query as the mode runs it (exact), and the nearest-first
	// query an HNSW index can serve (an index orders by distance alone, so the
	// importance weighting would be applied to its candidates afterwards).
	exact := `select id from knowledge_entries where user_id = $1 and collection_id = $2 and index_status = 'indexed'
		and embedding_vector is not null and vector_dims(embedding_vector) = 1536
		order by coalesce(nullif(1 - (embedding_vector <=> $3::real[]::vector), 'NaN'), 0) * (0.5 + 0.5 * importance) desc, id limit 10`
	// The filters compare text so that no btree serves them: the plan is the
	// HNSW index scan, its rows filtered, whatever the planner would prefer.
	nearest := `select id from knowledge_entries where user_id::text = $1::text and collection_id::text = $2::text
		and index_status = 'indexed' and vector_dims(embedding_vector) = 1536
		order by embedding_vector::vector(1536) <=> $3::real[]::vector(1536) limit 10`
	for _, n := range []int{1000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("sql-exact/%d", n), func(b *testing.B) {
			runSQL(b, db, exact, nil, db.users[n], db.cols[n], q)
		})
	}
	start := time.Now()
	for _, sql := range []string{
		`set maintenance_work_mem = '2GB'`,
		`create index if not exists knowledge_entries_bench_hnsw on knowledge_entries
			using hnsw ((embedding_vector::vector(1536)) vector_cosine_ops) where vector_dims(embedding_vector) = 1536`,
		`analyze knowledge_entries`,
	} {
		if _, err := db.pool.Exec(context.Background(), sql); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%.1fs: HNSW index built", time.Since(start).Seconds())
	defer func() {
		if _, err := db.pool.Exec(context.Background(), `drop index knowledge_entries_bench_hnsw`); err != nil {
			b.Error(err)
		}
	}()
	for _, n := range []int{1000, 10_000, 100_000} {
		for _, tc := range []struct {
			scan string
			ef   int // 40 is pgvector's default; more candidates cost time for recall
		}{{"strict_order", 40}, {"relaxed_order", 40}, {"relaxed_order", 200}} {
			b.Run(fmt.Sprintf("sql-hnsw-%s-ef%d/%d", tc.scan, tc.ef, n), func(b *testing.B) {
				settings := []string{`set hnsw.iterative_scan = ` + tc.scan, `set hnsw.ef_search = ` + strconv.Itoa(tc.ef)}
				runSQL(b, db, nearest, settings, db.users[n], db.cols[n], q)
			})
		}
	}
}

// runSQL runs query (args: user, collection, query vector) on one
// connection with settings, checks that the plan is the one meant (an HNSW
// index scan when settings are given, none otherwise), reports p50 and p99,
// and the recall of the first run against the exact nearest ten.
func runSQL(b *testing.B, db *benchDB, query string, settings []string, user, col uuid.UUID, q []float32) {
	ctx := context.Background()
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	for _, s := range settings {
		if _, err := conn.Exec(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	defer func() {
		if _, err := conn.Exec(ctx, `reset all`); err != nil {
			b.Error(err)
		}
	}()
	var plan strings.Builder
	rows, err := conn.Query(ctx, `explain `+query, user, col, q)
	if err != nil {
		b.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range lines {
		plan.WriteString(l + "\n")
	}
	if usesHNSW := strings.Contains(plan.String(), "knowledge_entries_bench_hnsw"); usesHNSW != (settings != nil) {
		b.Fatalf("plan (HNSW wanted: %v):\n%s", settings != nil, plan.String())
	}
	ids := func() []uuid.UUID {
		rows, err := conn.Query(ctx, query, user, col, q)
		if err != nil {
			b.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			b.Fatal(err)
		}
		return got
	}
	first := ids()
	recall := -1.0
	if settings != nil {
		// Recall against the exact nearest ten (the exact mode's query ranks by
		// weighted score instead, so it has none to report).
		rows, err = db.pool.Query(ctx, `select id from knowledge_entries where user_id = $1 and collection_id = $2
			order by embedding_vector <=> $3::real[]::vector limit 10`, user, col, q)
		if err != nil {
			b.Fatal(err)
		}
		truth, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			b.Fatal(err)
		}
		found := 0
		for _, id := range truth {
			if slices.Contains(first, id) {
				found++
			}
		}
		recall = float64(found) / float64(max(len(truth), 1))
	}
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if got := ids(); len(got) == 0 {
			b.Fatal("no rows")
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(first)), "rows")
	if recall >= 0 { // after the loop: ResetTimer drops metrics reported before it
		b.ReportMetric(recall, "recall@10")
	}
}
