package knowledge_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/knowledge"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/migrate"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/testdb"
	"github.com/agentgraph/agentgraph/internal/vectors"
	"github.com/agentgraph/agentgraph/internal/vectors/pineconetest"
)

// benchTotal is the number of entries in the database (BENCH_TOTAL, default
// 1,000,000): the searched user's plus everyone else's.
func benchTotal() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_TOTAL")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// benchDB is one database shared by the search benchmarks: users with 1k,
// 10k and 100k entries of 1,536-dimension vectors (packed, 6 KiB each;
// stored uncompressed like real vectors, which do not compress), and
// everyone else's entries up to benchTotal, each generated in one statement.
type benchDB struct {
	pool  *pgxpool.Pool
	users map[int]uuid.UUID
	cols  map[int]uuid.UUID
}

var (
	benchOnce sync.Once
	bench     *benchDB
)

const benchDims = 1536

// benchURL is the search benchmarks' database: BENCH_DATABASE_URL when set
// (migrated here, and its bench rows made once and kept, so runs after the
// first skip the ~85 s setup), else a fresh test database.
func benchURL(b *testing.B) string {
	u := os.Getenv("BENCH_DATABASE_URL")
	if u == "" {
		return testdb.URL(b)
	}
	if err := migrate.Up(context.Background(), u); err != nil {
		b.Fatal(err)
	}
	return u
}

func setupBench(b *testing.B) *benchDB {
	benchOnce.Do(func() {
		pool, err := pgxpool.New(context.Background(), benchURL(b))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		exec := func(sql string, args ...any) {
			start := time.Now()
			if _, err := pool.Exec(ctx, sql, args...); err != nil {
				b.Fatal(err)
			}
			b.Logf("%.1fs: %.60s", time.Since(start).Seconds(), sql)
		}
		sizes := []int{1000, 10_000, 100_000}
		if db := reuseBench(b, pool, sizes); db != nil {
			bench = db
			return
		}
		exec(`alter table knowledge_entries alter column embedding set storage external`)
		db := &benchDB{pool: pool, users: map[int]uuid.UUID{}, cols: map[int]uuid.UUID{}}
		vec := vectors.Pack(llmtest.Vector("m", "bench", benchDims))
		mine := 0
		for _, n := range sizes {
			u, c := uuid.New(), uuid.New()
			db.users[n], db.cols[n] = u, c
			exec(`insert into knowledge_collections (id, user_id, name) values ($1, $2, 'bench ' || $3::int)`, c, u, n)
			// Text varies so full text has work to do: 1 in 6 entries mentions tomatoes.
			exec(`insert into knowledge_entries (user_id, collection_id, content, type, importance, index_status, embedding)
				select $1, $2, 'note ' || i || ' about ' || (array['deploys','garden','tomatoes','cats','release','salmon'])[1 + i % 6]
					|| ' and ' || md5(i::text), 'note', (i % 10) / 10.0, 'indexed',
					overlay($3::bytea placing int4send(i) from 1)
				from generate_series(1, $4) i`, u, c, vec, n)
			mine += n
		}
		others := benchTotal() - mine
		if others > 0 {
			u, c := uuid.New(), uuid.New()
			exec(`insert into knowledge_collections (id, user_id, name) values ($1, $2, 'others')`, c, u)
			// Everyone else: 1,000 users' worth of rows, text only (their vectors
			// are not read by another user's search: the scan is by user and collection).
			exec(`insert into knowledge_entries (user_id, collection_id, content, type, index_status)
				select $1, $2, 'note ' || i || ' about ' || (array['deploys','garden','tomatoes','cats','release','salmon'])[1 + i % 6]
					|| ' and ' || md5(i::text), 'note', 'indexed'
				from generate_series(1, $3) i`, u, c, others)
		}
		exec(`vacuum analyze knowledge_entries`)
		bench = db
	})
	if bench == nil {
		b.Fatal("bench setup failed")
	}
	return bench
}

// reuseBench returns the bench rows a previous run left in pool's database
// (BENCH_DATABASE_URL), or nil when there are none yet.
func reuseBench(b *testing.B, pool *pgxpool.Pool, sizes []int) *benchDB {
	db := &benchDB{pool: pool, users: map[int]uuid.UUID{}, cols: map[int]uuid.UUID{}}
	for _, n := range sizes {
		var u, c uuid.UUID
		err := pool.QueryRow(context.Background(), `select user_id, id from knowledge_collections where name = 'bench ' || $1::int`, n).Scan(&u, &c)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			b.Fatal(err)
		}
		db.users[n], db.cols[n] = u, c
	}
	b.Log("reusing the bench rows of BENCH_DATABASE_URL")
	return db
}

// BenchmarkSearch measures one search, end to end through Service.Search
// (scope, embedding the query through go-openai against llmtest, cached
// after the first, vector scan or Pinecone query, full text, ranking), at
// each size, in each mode, and reports p50 and p99.
func BenchmarkSearch(b *testing.B) {
	db := setupBench(b)
	fake := llmtest.NewServer(b)
	for _, mode := range []knowledge.Mode{knowledge.ModeText, knowledge.ModePostgres} {
		for _, n := range []int{1000, 10_000, 100_000} {
			if mode == knowledge.ModePostgres && n > 10_000 && os.Getenv("BENCH_EXACT_100K") == "" {
				continue // minutes per run: see BENCHMARKS.md
			}
			b.Run(fmt.Sprintf("%s/%d", mode, n), func(b *testing.B) {
				cfg := knowledge.Config{EmbeddingModel: "text-embedding-3-small", Dimensions: benchDims}
				lc := llm.Config{}
				if mode != knowledge.ModeText {
					lc = llm.Config{OpenAIKey: "k", OpenAIBaseURL: fake.URL()}
				}
				st := store.New(db.pool)
				e, err := knowledge.NewEngine(st, llm.New(lc), cfg, quiet())
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				knowledge.ExactVectors(e) // packed vectors, even where the database has pgvector
				svc := knowledge.New(st, e, nil)
				runSearches(b, svc, db.users[n], "tomatoes")
			})
		}
	}
	benchPGVector(b, db, fake)
	// Pinecone: the stand-in holds the vectors (in memory, exact), so this
	// measures our side and go-pinecone's gRPC round trip, not Pinecone.
	for _, n := range []int{1000, 10_000} {
		b.Run(fmt.Sprintf("pinecone/%d", n), func(b *testing.B) {
			pc := pineconetest.NewServer(b)
			st := store.New(db.pool)
			cfg := knowledge.Config{EmbeddingModel: "text-embedding-3-small", Dimensions: benchDims, PineconeKey: "k", PineconeHost: pc.Host()}
			e, err := knowledge.NewEngine(st, llm.New(llm.Config{OpenAIKey: "k", OpenAIBaseURL: fake.URL()}), cfg, quiet())
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			if err := knowledge.UpsertForBench(e, db.users[n], db.cols[n], n, benchDims); err != nil {
				b.Fatal(err)
			}
			runSearches(b, knowledge.New(st, e, nil), db.users[n], "tomatoes")
		})
	}
}

// runSearches runs b.N searches, each after the optional before (not timed).
func runSearches(b *testing.B, svc *knowledge.Service, user uuid.UUID, q string, before ...func()) {
	ctx := as(user)
	limit := 10
	if _, err := svc.Search(ctx, q, nil, nil, &limit); err != nil { // warm: the query's embedding is cached from here on
		b.Fatal(err)
	}
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		for _, f := range before {
			b.StopTimer()
			f()
			b.StartTimer()
		}
		start := time.Now()
		hits, err := svc.Search(ctx, q, nil, nil, &limit)
		if err != nil || len(hits) == 0 {
			b.Fatalf("search: %d hits, %v", len(hits), err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
}

// BenchmarkIndexing measures indexing throughput: entries added through the
// API (row and job in one transaction), embedded in batches through
// go-openai against llmtest (1,536 dimensions), written to Postgres, until
// none is pending.
func BenchmarkIndexing(b *testing.B) {
	r := newRigDims(b, knowledge.ModePostgres, benchDims)
	user := uuid.New()
	col := r.collection(b, user, "bulk")
	const n = 2000
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		for i := range n {
			imp := 0.5
			if _, err := r.svc.AddEntry(as(user), domain.KnowledgeEntryInput{CollectionID: col.String(),
				Content: fmt.Sprintf("bulk entry %d %d", i, time.Now().UnixNano()), Type: domain.KnowledgeNote, Importance: &imp}); err != nil {
				b.Fatal(err)
			}
		}
		added := time.Since(start)
		r.waitIndexed(b)
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "entries/s")
		b.ReportMetric(float64(n)/added.Seconds(), "adds/s")
	}
}
