package knowledge_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"google.golang.org/grpc/codes"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/jobs"
	"github.com/agentgraph/agentgraph/internal/knowledge"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/migrate"
	"github.com/agentgraph/agentgraph/internal/spend"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/testdb"
	"github.com/agentgraph/agentgraph/internal/vectors"
	"github.com/agentgraph/agentgraph/internal/vectors/pineconetest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// rig is one database with a knowledge service in a given mode and its
// index jobs running on one River client (an instance's worth).
type rig struct {
	pool     *pgxpool.Pool
	st       *store.Store
	llm      *llmtest.Server
	pinecone *pineconetest.Server
	engine   *knowledge.Engine
	jobs     *jobs.Client
	svc      *knowledge.Service
	cfg      knowledge.Config
	llmCfg   llm.Config
	mode     knowledge.Mode
}

const dims = 64 // small vectors keep the suite fast; benchmarks use 1,536

func newRig(t testing.TB, mode knowledge.Mode) *rig { return newRigDims(t, mode, dims) }

func newRigDims(t testing.TB, mode knowledge.Mode, dims int) *rig {
	t.Helper()
	if mode == knowledge.ModePGVector {
		testdb.NeedPGVector(t)
	}
	return newRigOn(t, testdb.Pool(t), mode, dims)
}

// newRigOn is newRigDims on a database of the caller's making.
func newRigOn(t testing.TB, pool *pgxpool.Pool, mode knowledge.Mode, dims int) *rig {
	t.Helper()
	r := &rig{pool: pool, llm: llmtest.NewServer(t), mode: mode}
	r.st = store.New(r.pool)
	r.cfg = knowledge.Config{EmbeddingModel: knowledge.DefaultEmbeddingModel, Dimensions: dims}
	r.llmCfg = llm.Config{Timeout: 2 * time.Second}
	if mode != knowledge.ModeText {
		r.llmCfg.OpenAIKey, r.llmCfg.OpenAIBaseURL = "sk-test", r.llm.URL()
	}
	if mode == knowledge.ModePinecone {
		r.pinecone = pineconetest.NewServer(t)
		r.cfg.PineconeKey, r.cfg.PineconeHost = "pc-test", r.pinecone.Host()
	}
	r.engine, r.jobs = r.start(t)
	if got := r.engine.Mode(); got != mode {
		t.Fatalf("mode %s, want %s", got, mode)
	}
	r.svc = knowledge.New(r.st, r.engine, r.jobs)
	return r
}

// start runs an engine and its jobs on a River client of its own, stopped
// when the test ends (or earlier, by the returned client's Stop).
func (r *rig) start(t testing.TB) (*knowledge.Engine, *jobs.Client) {
	t.Helper()
	e, err := knowledge.NewEngine(r.st, llm.New(r.llmCfg), r.cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if r.mode == knowledge.ModePostgres {
		knowledge.ExactVectors(e) // the bytea mode, on a machine with pgvector too
	}
	e.MaxBackoff = 200 * time.Millisecond
	e.Lease = 3 * time.Second
	t.Cleanup(e.Close)
	workers := river.NewWorkers()
	e.Workers(workers)
	jc, err := jobs.New(r.pool, jobs.Config{Workers: workers, Queues: map[string]int{knowledge.Queue: 4},
		RescueAfter: e.RescueAfter(), PollInterval: 50 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := jc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = jc.Stop(ctx)
	})
	return e, jc
}

func as(user uuid.UUID) context.Context {
	return auth.WithUser(context.Background(), auth.User{ID: user, Role: "authenticated"})
}

func (r *rig) collection(t testing.TB, user uuid.UUID, name string) uuid.UUID {
	t.Helper()
	c, err := r.svc.CreateCollection(as(user), domain.CollectionInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func (r *rig) add(t *testing.T, user, col uuid.UUID, content string, importance float64) uuid.UUID {
	t.Helper()
	e, err := r.svc.AddEntry(as(user), domain.KnowledgeEntryInput{CollectionID: col.String(), Content: content,
		Type: domain.KnowledgeFact, Importance: &importance})
	if err != nil {
		t.Fatal(err)
	}
	if e.IndexStatus != domain.IndexPending {
		t.Fatalf("new entry: status %s, want pending", e.IndexStatus)
	}
	return e.ID
}

func (r *rig) agent(t *testing.T, user uuid.UUID) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := r.pool.QueryRow(context.Background(), `insert into agents (user_id, name, agent_type, personality_model)
		values ($1, 'Ada', 'research', 'gpt-4o-mini') returning id`, user).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// waitIndexed waits until no entry is pending.
func (r *rig) waitIndexed(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var pending int
		if err := r.pool.QueryRow(context.Background(), `select count(*) from knowledge_entries where index_status = 'pending'`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries still pending", pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *rig) status(t *testing.T, id uuid.UUID) (domain.IndexStatus, *string) {
	t.Helper()
	var s domain.IndexStatus
	var reason *string
	if err := r.pool.QueryRow(context.Background(), `select index_status, index_error from knowledge_entries where id = $1`, id).Scan(&s, &reason); err != nil {
		t.Fatal(err)
	}
	return s, reason
}

func (r *rig) search(t *testing.T, user uuid.UUID, query string, agent *uuid.UUID, cols []uuid.UUID, limit int) []*store.Hit {
	t.Helper()
	hits, err := r.trySearch(user, query, agent, cols, limit)
	if err != nil {
		t.Fatalf("search %q: %v", query, err)
	}
	return hits
}

func (r *rig) trySearch(user uuid.UUID, query string, agent *uuid.UUID, cols []uuid.UUID, limit int) ([]*store.Hit, error) {
	var a *string
	if agent != nil {
		s := agent.String()
		a = &s
	}
	var ids []string
	if cols != nil {
		ids = []string{}
		for _, c := range cols {
			ids = append(ids, c.String())
		}
	}
	return r.svc.Search(as(user), query, a, ids, &limit)
}

func hitIDs(hits []*store.Hit) []uuid.UUID {
	out := make([]uuid.UUID, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

func contains(ids []uuid.UUID, id uuid.UUID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// The same search suite runs in every mode: what a user finds must not
// depend on where the vectors live.
func TestSearchSuite(t *testing.T) {
	t.Parallel()
	for _, mode := range []knowledge.Mode{knowledge.ModePinecone, knowledge.ModePGVector, knowledge.ModePostgres, knowledge.ModeText} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			searchSuite(t, newRig(t, mode), mode)
		})
	}
}

func searchSuite(t *testing.T, r *rig, mode knowledge.Mode) {
	a, b := uuid.New(), uuid.New()
	work, home := r.collection(t, a, "Work"), r.collection(t, a, "Home")
	theirs := r.collection(t, b, "Theirs")
	const (
		deploy = "Deploys run every Tuesday from the release branch"
		cat    = "The cat is called Miso and eats salmon"
		secret = "Bob keeps the launch codes under the doormat"
	)
	eDeploy := r.add(t, a, work, deploy, 0.5)
	eCat := r.add(t, a, home, cat, 0.5)
	// Same text, different importance: the formula ranks the important one first, at twice the score.
	eLow := r.add(t, a, work, "Standup is at nine thirty", 0)
	eHigh := r.add(t, a, home, "Standup is at nine thirty", 1)
	eSecret := r.add(t, b, theirs, secret, 1)
	r.waitIndexed(t)
	for _, id := range []uuid.UUID{eDeploy, eCat, eLow, eHigh, eSecret} {
		if s, reason := r.status(t, id); s != domain.IndexIndexed {
			t.Fatalf("entry %s: %s (%v), want indexed", id, s, reason)
		}
	}
	r.checkStored(t, mode)

	hits := r.search(t, a, deploy, nil, nil, 10)
	if len(hits) == 0 || hits[0].ID != eDeploy {
		t.Fatalf("search for an entry's text: %v, want %s first", hitIDs(hits), eDeploy)
	}
	if mode != knowledge.ModeText && (hits[0].Score < 0.74 || hits[0].Score > 0.76) {
		// Cosine 1 × (0.5 + 0.5 × 0.5).
		t.Errorf("score of an identical text at importance 0.5: %v, want 0.75", hits[0].Score)
	}
	hits = r.search(t, a, "Standup is at nine thirty", nil, nil, 10)
	if len(hits) < 2 || hits[0].ID != eHigh || hits[1].ID != eLow {
		t.Fatalf("importance ranking: %v, want %s then %s", hitIDs(hits), eHigh, eLow)
	}
	if ratio := hits[0].Score / hits[1].Score; ratio < 1.99 || ratio > 2.01 {
		t.Errorf("importance 1 against 0: score ratio %v, want 2", ratio)
	}

	// Collections narrow the search.
	if got := hitIDs(r.search(t, a, cat, nil, []uuid.UUID{work}, 10)); contains(got, eCat) {
		t.Errorf("search of Work found Home's entry: %v", got)
	}
	if got := hitIDs(r.search(t, a, cat, nil, []uuid.UUID{home}, 10)); !contains(got, eCat) {
		t.Errorf("search of Home missed its entry: %v", got)
	}
	if got := r.search(t, a, cat, nil, []uuid.UUID{}, 10); len(got) != 0 {
		t.Errorf("search of no collections: %v", hitIDs(got))
	}
	// An agent searches only what it was granted.
	agent := r.agent(t, a)
	if got := r.search(t, a, cat, &agent, nil, 10); len(got) != 0 {
		t.Errorf("agent without access found %v", hitIDs(got))
	}
	if _, err := r.svc.Grant(as(a), agent.String(), home.String(), domain.AccessRead); err != nil {
		t.Fatal(err)
	}
	if got := hitIDs(r.search(t, a, cat, &agent, nil, 10)); !contains(got, eCat) {
		t.Errorf("agent with access to Home: %v, want %s", got, eCat)
	}
	if got := hitIDs(r.search(t, a, deploy, &agent, nil, 10)); contains(got, eDeploy) {
		t.Errorf("agent without access to Work found its entry: %v", got)
	}

	// Isolation: B never gets A's entries, even naming A's collections or agent.
	if got := hitIDs(r.search(t, b, deploy, nil, nil, 50)); contains(got, eDeploy) || contains(got, eCat) {
		t.Errorf("B found A's entries: %v", got)
	}
	for _, tc := range []struct {
		name  string
		agent *uuid.UUID
		cols  []uuid.UUID
		field string
	}{
		{"A's collection", nil, []uuid.UUID{work}, "collectionIds"},
		{"A's collection among B's", nil, []uuid.UUID{theirs, home}, "collectionIds"},
		{"A's agent", &agent, nil, ""},
	} {
		_, err := r.trySearch(b, deploy, tc.agent, tc.cols, 10)
		if !apperr.Is(err, apperr.NotFound) {
			t.Errorf("B naming %s: %v, want NOT_FOUND", tc.name, err)
		}
	}
	if got := hitIDs(r.search(t, a, secret, nil, nil, 50)); contains(got, eSecret) {
		t.Errorf("A found B's entry: %v", got)
	}

	// An edit re-indexes: the new text is found, at once (full text) and
	// then by its vector; the old text no longer finds it by vector.
	newText := "Deploys moved to Thursday mornings"
	if _, err := r.svc.UpdateEntry(as(a), eDeploy.String(), domain.UpdateKnowledgeEntryInput{Content: &newText}); err != nil {
		t.Fatal(err)
	}
	if s, _ := r.status(t, eDeploy); s != domain.IndexPending && s != domain.IndexIndexed {
		t.Fatalf("after an edit: %s", s)
	}
	if got := hitIDs(r.search(t, a, newText, nil, nil, 10)); len(got) == 0 || got[0] != eDeploy {
		t.Errorf("edited entry right after the edit: %v, want %s first", got, eDeploy)
	}
	r.waitIndexed(t)
	if got := r.search(t, a, newText, nil, nil, 10); len(got) == 0 || got[0].ID != eDeploy ||
		(mode != knowledge.ModeText && got[0].Score < 0.74) {
		t.Errorf("edited entry once indexed: %v", got)
	}
	if mode != knowledge.ModeText {
		if got := r.search(t, a, deploy, nil, nil, 10); len(got) > 0 && got[0].ID == eDeploy && got[0].Score > 0.5 {
			t.Errorf("the old text still matches the edited entry's vector: %v", got[0])
		}
	}

	// Deletes take the entry (and its vector) away.
	if err := r.svc.DeleteEntry(as(a), eCat.String()); err != nil {
		t.Fatal(err)
	}
	if got := hitIDs(r.search(t, a, cat, nil, nil, 10)); contains(got, eCat) {
		t.Errorf("deleted entry still found: %v", got)
	}
	if err := r.svc.DeleteCollection(as(a), work.String()); err != nil {
		t.Fatal(err)
	}
	if mode == knowledge.ModePinecone {
		waitFor(t, "vectors of deleted entries to leave Pinecone", func() bool {
			ns := r.pinecone.Namespace(vectors.Namespace(a))
			_, cat := ns[eCat.String()]
			_, dep := ns[eDeploy.String()]
			_, low := ns[eLow.String()]
			_, high := ns[eHigh.String()]
			return !cat && !dep && !low && high
		})
		for _, c := range r.pinecone.Calls() {
			if c.Method == "Query" && c.Namespace != vectors.Namespace(a) && c.Namespace != vectors.Namespace(b) {
				t.Errorf("query in namespace %q", c.Namespace)
			}
			if c.APIKey != "pc-test" {
				t.Errorf("%s without the API key: %q", c.Method, c.APIKey)
			}
		}
	}

	// Bad input.
	for _, tc := range []struct {
		query, field string
		limit        int
	}{{"", "query", 10}, {"x", "limit", 0}, {"x", "limit", 51}} {
		_, err := r.trySearch(a, tc.query, nil, nil, tc.limit)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.BadUserInput || e.Field != tc.field {
			t.Errorf("search(%q, limit %d): %v, want BAD_USER_INPUT on %s", tc.query, tc.limit, err, tc.field)
		}
	}
}

// Supabase keeps pgvector in schema extensions, off the default search_path
// here: the mode names its type and operator with the extension's schema,
// so the suite passes there as in public.
func TestPGVectorInExtensionsSchema(t *testing.T) {
	testdb.NeedPGVector(t)
	t.Parallel()
	ctx := context.Background()
	url := testdb.EmptyURL(t)
	sqlDB, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	// What Supabase has before any migration of ours: pgvector enabled in
	// schema extensions, which its roles may use (granted once the migrations
	// made sure the roles exist).
	for _, stmt := range []string{`create schema extensions`, `create extension vector schema extensions`} {
		if _, err := sqlDB.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrate.UpDB(ctx, sqlDB); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.ExecContext(ctx, `grant usage on schema extensions to anon, authenticated, service_role`); err != nil {
		t.Fatal(err)
	}
	var typ string
	if err := sqlDB.QueryRowContext(ctx, `select format_type(atttypid, atttypmod) from pg_attribute
		where attrelid = 'knowledge_entries'::regclass and attname = 'embedding_vector'`).Scan(&typ); err != nil {
		t.Fatal(err)
	}
	if typ != "extensions.vector" {
		t.Fatalf("embedding_vector is %s, want extensions.vector", typ)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	searchSuite(t, newRigOn(t, pool, knowledge.ModePGVector, dims), knowledge.ModePGVector)
}

// checkStored checks that each indexed entry's vector is where mode keeps
// it, and only there: one copy per entry.
func (r *rig) checkStored(t *testing.T, mode knowledge.Mode) {
	t.Helper()
	var packed, pgv, total int
	vec := "0"
	if mode == knowledge.ModePGVector {
		vec = "count(embedding_vector)"
	}
	if err := r.pool.QueryRow(context.Background(), `select count(embedding), `+vec+`, count(*) from knowledge_entries
		where index_status = 'indexed'`).Scan(&packed, &pgv, &total); err != nil {
		t.Fatal(err)
	}
	want := map[knowledge.Mode][2]int{knowledge.ModePostgres: {total, 0}, knowledge.ModePGVector: {0, total}}[mode]
	if packed != want[0] || pgv != want[1] {
		t.Errorf("%s mode, %d indexed entries: %d packed vectors, %d pgvector vectors; want %v", mode, total, packed, pgv, want)
	}
}

// EMBEDDING_DIMENSIONS changes: entries indexed under the old size are
// not matched by vector (and break no search); an edit indexes them again
// at the new size.
func TestDimensionsChange(t *testing.T) {
	t.Parallel()
	for _, mode := range []knowledge.Mode{knowledge.ModePGVector, knowledge.ModePostgres} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			r := newRig(t, mode)
			user := uuid.New()
			col := r.collection(t, user, "Notes")
			const text = "The boiler is serviced every October"
			id := r.add(t, user, col, text, 0.5)
			r.waitIndexed(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := r.jobs.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			cancel()
			r.cfg.Dimensions = dims / 2
			r.engine, r.jobs = r.start(t)
			r.svc = knowledge.New(r.st, r.engine, r.jobs)
			for _, h := range r.search(t, user, text, nil, nil, 10) {
				if h.ID == id && h.Score > 0 {
					t.Errorf("a vector of %d dimensions matched a query of %d: %+v", dims, dims/2, h)
				}
			}
			edited := text + ", and in March"
			if _, err := r.svc.UpdateEntry(as(user), id.String(), domain.UpdateKnowledgeEntryInput{Content: &edited}); err != nil {
				t.Fatal(err)
			}
			r.waitIndexed(t)
			if got := r.search(t, user, edited, nil, nil, 10); len(got) != 1 || got[0].ID != id || got[0].Score < 0.74 {
				t.Errorf("after the edit, indexed at %d dimensions: %+v, want the entry at 0.75", dims/2, got)
			}
		})
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Durability: with the embedding API and Pinecone failing, entries stay
// PENDING and are found by full text; once both recover every entry ends
// INDEXED, its vector upserted exactly once, although the instance working
// the jobs stopped in the middle and another took over.
func TestIndexingSurvivesFailuresAndRestart(t *testing.T) {
	t.Parallel()
	r := newRig(t, knowledge.ModePinecone)
	user := uuid.New()
	col := r.collection(t, user, "Notes")
	r.llm.SetEmbeddingFailStatus(http.StatusServiceUnavailable)
	var ids []uuid.UUID
	for i := range 20 {
		ids = append(ids, r.add(t, user, col, "note number "+string(rune('a'+i))+" about durable indexing", 0.5))
	}
	time.Sleep(500 * time.Millisecond) // several failed attempts
	for _, id := range ids {
		if s, _ := r.status(t, id); s != domain.IndexPending {
			t.Fatalf("entry %s while the provider fails: %s, want pending", id, s)
		}
	}
	if got := r.search(t, user, "note number c", nil, nil, 50); len(got) == 0 {
		t.Fatalf("pending entries not found by full text")
	}
	// Embeddings work again, Pinecone does not: still pending.
	r.pinecone.Fail(codes.Unavailable)
	r.llm.SetEmbeddingFailStatus(0)
	time.Sleep(500 * time.Millisecond)
	var pending int
	if err := r.pool.QueryRow(context.Background(), `select count(*) from knowledge_entries where index_status = 'pending'`).Scan(&pending); err != nil || pending != len(ids) {
		t.Fatalf("with Pinecone down: %d pending (%v), want %d", pending, err, len(ids))
	}
	// The instance stops; another starts, and Pinecone comes back.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := r.jobs.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	r.pinecone.Fail(codes.OK)
	r.start(t)
	r.start(t) // two instances share the work
	r.waitIndexed(t)
	for _, id := range ids {
		if s, _ := r.status(t, id); s != domain.IndexIndexed {
			t.Errorf("entry %s: %s, want indexed", id, s)
		}
	}
	ns := r.pinecone.Namespace(vectors.Namespace(user))
	if len(ns) != len(ids) {
		t.Errorf("Pinecone holds %d vectors, want %d", len(ns), len(ids))
	}
	// Exactly once: each entry's vector was upserted by one successful call.
	upserts := map[string]int{}
	for _, c := range r.pinecone.Calls() {
		if c.Method == "Upsert" && !c.Failed {
			for _, id := range c.IDs {
				upserts[id]++
			}
		}
	}
	for _, id := range ids {
		if n := upserts[id.String()]; n != 1 {
			t.Errorf("entry %s upserted %d times, want 1", id, n)
		}
	}
	var usageRows, tokens int
	if err := r.pool.QueryRow(context.Background(), `select count(*), coalesce(sum(input_tokens), 0) from usage_logs
		where user_id = $1 and operation = 'embedding'`, user).Scan(&usageRows, &tokens); err != nil {
		t.Fatal(err)
	}
	if usageRows == 0 || tokens == 0 {
		t.Errorf("embedding usage: %d rows, %d tokens", usageRows, tokens)
	}
	var indexedAt int
	if err := r.pool.QueryRow(context.Background(), `select count(*) from knowledge_entries where user_id = $1 and indexed_at is not null
		and pinecone_id = id::text`, user).Scan(&indexedAt); err != nil || indexedAt != len(ids) {
		t.Errorf("entries with indexed_at and pinecone_id: %d (%v), want %d", indexedAt, err, len(ids))
	}
}

// An entry whose retries are spent is FAILED with a reason; editing it
// indexes it again.
func TestIndexFailsAfterRetriesWithReason(t *testing.T) {
	t.Parallel()
	r := newRig(t, knowledge.ModePostgres)
	r.engine.MaxAttempts = 2
	user := uuid.New()
	col := r.collection(t, user, "Notes")
	r.llm.SetEmbeddingFailStatus(http.StatusServiceUnavailable)
	id := r.add(t, user, col, "will fail for a while", 0.5)
	waitFor(t, "the entry to fail", func() bool { s, _ := r.status(t, id); return s == domain.IndexFailed })
	if _, reason := r.status(t, id); reason == nil || *reason == "" {
		t.Errorf("failed without a reason")
	}
	r.llm.SetEmbeddingFailStatus(0)
	text := "will fail for a while, edited"
	if _, err := r.svc.UpdateEntry(as(user), id.String(), domain.UpdateKnowledgeEntryInput{Content: &text}); err != nil {
		t.Fatal(err)
	}
	r.waitIndexed(t)
	if s, reason := r.status(t, id); s != domain.IndexIndexed || reason != nil {
		t.Errorf("after the edit: %s %v, want indexed without a reason", s, reason)
	}
}

// Refused content fails at once and does not hold back the other entries.
func TestRefusedContentFailsAlone(t *testing.T) {
	t.Parallel()
	r := newRig(t, knowledge.ModePostgres)
	user := uuid.New()
	col := r.collection(t, user, "Notes")
	r.llm.SetEmbeddingFailStatus(http.StatusBadRequest)
	id := r.add(t, user, col, "too long, the provider says", 0.5)
	waitFor(t, "the entry to fail", func() bool { s, _ := r.status(t, id); return s == domain.IndexFailed })
	r.llm.SetEmbeddingFailStatus(0)
	ok := r.add(t, user, col, "fine", 0.5)
	r.waitIndexed(t)
	if s, _ := r.status(t, ok); s != domain.IndexIndexed {
		t.Errorf("the next entry: %s", s)
	}
}

// Past the user's monthly budget no embedding is paid for: entries wait
// PENDING and are found by full text, searches run by full text, and the
// feed says why once.
func TestBudgetStopsEmbeddings(t *testing.T) {
	t.Parallel()
	r := newRig(t, knowledge.ModePostgres)
	r.engine.SetSpend(spend.New(r.st, nil))
	r.engine.BudgetRecheck = 200 * time.Millisecond
	user := uuid.New()
	zero := 0.0
	if err := r.st.SetBudget(as(user), &zero); err != nil {
		t.Fatal(err)
	}
	col := r.collection(t, user, "Notes")
	id := r.add(t, user, col, "the quarterly report is due on friday", 0.5)
	time.Sleep(500 * time.Millisecond) // an index job would have run by now
	if s, _ := r.status(t, id); s != domain.IndexPending {
		t.Fatalf("entry %s past the budget, want PENDING", s)
	}
	hits := r.search(t, user, "quarterly report", nil, nil, 10)
	if len(hits) != 1 || hits[0].ID != id {
		t.Fatalf("hits %+v, want the entry by full text", hits)
	}
	if n := len(r.llm.EmbeddingRequests()); n != 0 {
		t.Fatalf("%d embedding calls past the budget", n)
	}
	var notes int
	if err := r.pool.QueryRow(context.Background(), `select count(*) from feed_events where user_id = $1 and type = 'budget_exceeded'`,
		user).Scan(&notes); err != nil || notes != 1 {
		t.Fatalf("budget_exceeded events %d (%v)", notes, err)
	}
	// Raised, the entry is indexed when the job looks again.
	if err := r.st.SetBudget(as(user), nil); err != nil {
		t.Fatal(err)
	}
	r.waitIndexed(t)
}

// An entry whose index job commits while a search runs, between its vector
// pass (indexed entries) and its full-text pass (the others), is found: both
// passes read one snapshot. Before they did, such an entry was in neither.
func TestSearchPassesShareASnapshot(t *testing.T) {
	t.Parallel()
	for _, mode := range []knowledge.Mode{knowledge.ModePinecone, knowledge.ModePGVector, knowledge.ModePostgres} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			r := newRig(t, mode)
			// No index jobs run: the entry stays pending until the test
			// marks it indexed, as a job's commit would.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := r.jobs.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			user := uuid.New()
			col := r.collection(t, user, "Notes")
			id := r.add(t, user, col, "The boiler is serviced every October", 0.5)
			flipped := false
			knowledge.BetweenPasses(r.engine, func() {
				if flipped {
					return
				}
				flipped = true
				if _, err := r.pool.Exec(context.Background(), `update knowledge_entries
					set index_status = 'indexed', indexed_at = now() where id = $1`, id); err != nil {
					t.Error(err)
				}
			})
			got := r.search(t, user, "boiler serviced", nil, nil, 10)
			if !flipped {
				t.Fatal("the search made no vector pass")
			}
			found := false
			for _, h := range got {
				found = found || h.ID == id
			}
			if !found {
				t.Errorf("the entry indexed during the search was missed: %+v", got)
			}
		})
	}
}
