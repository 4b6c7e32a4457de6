package knowledge_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/knowledge"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/vectors"
)

// Exact search keeps each collection's vectors in memory between searches.
// It must answer exactly what a scan of Postgres answers, never another
// user's vectors, and never stale ones: every change is seen by the next
// search, whichever instance made it (the check is a read of Postgres, not
// an invalidation in this process).
func TestExactSearchCache(t *testing.T) {
	t.Parallel()
	r := newRig(t, knowledge.ModePostgres)
	ctx := context.Background()
	a, b := uuid.New(), uuid.New()
	colA, colB := r.collection(t, a, "A"), r.collection(t, b, "B")
	const (
		garden = "The tomatoes need water every morning"
		boat   = "The boat is moored at the north pier"
	)
	eGarden := r.add(t, a, colA, garden, 0.5)
	eBoat := r.add(t, a, colA, boat, 1)
	r.add(t, a, colA, "The bread goes in the oven at six", 0.5)
	theirs := r.add(t, b, colB, garden, 1)
	r.waitIndexed(t)
	scans := func() int64 { return knowledge.VectorScans(r.engine) }
	// Fresh engines answer from Postgres alone: the reference.
	uncached := func(user uuid.UUID, q string) []*store.Hit {
		t.Helper()
		e, err := knowledge.NewEngine(r.st, llm.New(r.llmCfg), r.cfg, quiet())
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		knowledge.ExactVectors(e) // the packed mode, where the database has pgvector too
		limit := 10
		hits, err := knowledge.New(r.st, e, nil).Search(as(user), q, nil, nil, &limit)
		if err != nil {
			t.Fatal(err)
		}
		return hits
	}
	same := func(what string, got, want []*store.Hit) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d hits, want %d", what, len(got), len(want))
		}
		for i := range got {
			if *got[i] != *want[i] {
				t.Fatalf("%s: hit %d is %+v, want %+v (from Postgres)", what, i, *got[i], *want[i])
			}
		}
	}

	hits := r.search(t, a, garden, nil, nil, 10)
	if len(hits) != 3 || hits[0].ID != eGarden {
		t.Fatalf("first search: %v, want %s first of A's three", hitIDs(hits), eGarden)
	}
	if n := scans(); n != 1 {
		t.Fatalf("first search read %d collections, want 1", n)
	}
	again := r.search(t, a, garden, nil, nil, 10)
	same("repeated search", again, hits)
	same("cached against Postgres", again, uncached(a, garden))
	if n := scans(); n != 1 {
		t.Fatalf("a repeated search read the vectors again (%d reads)", n)
	}

	// Another user's search never sees A's cached vectors, nor A B's.
	if got := hitIDs(r.search(t, b, garden, nil, nil, 10)); len(got) != 1 || got[0] != theirs {
		t.Fatalf("B's search: %v, want only %s", got, theirs)
	}
	if got := hitIDs(r.search(t, a, garden, nil, nil, 10)); contains(got, theirs) {
		t.Fatalf("A's search found B's entry: %v", got)
	}
	if n := scans(); n != 2 {
		t.Fatalf("after B's first search: %d reads, want 2 (A's collection, B's)", n)
	}

	// Changes made behind this instance's back, straight in Postgres as
	// another instance would: each is seen by the next search.
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := r.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	// A vector rewritten at the same version (a job that ran twice).
	boatVec := vectors.Pack(vectors.Normalize(llmtest.Vector(r.cfg.EmbeddingModel, boat, dims)))
	exec(`update knowledge_entries set embedding = $2, indexed_at = now() where id = $1`, eGarden, boatVec)
	same("after a vector was rewritten", r.search(t, a, boat, nil, nil, 10), uncached(a, boat))
	if got := r.search(t, a, boat, nil, nil, 10); len(got) != 3 || got[1].ID != eGarden || got[1].Score < 0.74 {
		t.Fatalf("after the garden entry's vector became the boat's: %v, want %s second at 0.75", hitIDs(got), eGarden)
	}
	// Only what changed was read again.
	if cols, vecs := knowledge.VectorRefreshes(r.engine); scans() != 2 || cols != 1 || vecs != 1 {
		t.Fatalf("after one vector changed: %d whole reads, %d refreshes reading %d vectors; want 2, 1, 1", scans(), cols, vecs)
	}
	// An edit: the entry leaves the vectors until indexed again. Made in
	// SQL, without its job (enqueued just after), so that the job cannot
	// index it again between the two searches compared.
	newText := "Sailing lessons start in June"
	exec(`update knowledge_entries set content = $2 where id = $1`, eBoat, newText)
	same("right after an edit", r.search(t, a, boat, nil, nil, 10), uncached(a, boat))
	if _, err := r.jobs.Insert(ctx, knowledge.IndexArgs{UserID: a}, nil); err != nil {
		t.Fatal(err)
	}
	r.waitIndexed(t)
	got := r.search(t, a, newText, nil, nil, 10)
	same("after the edit was indexed", got, uncached(a, newText))
	if got[0].ID != eBoat || got[0].Score < 0.99 {
		t.Fatalf("edited entry once indexed: %+v, want %s at score 1", *got[0], eBoat)
	}
	// A delete.
	exec(`delete from knowledge_entries where id = $1`, eGarden)
	if got := hitIDs(r.search(t, a, garden, nil, nil, 10)); contains(got, eGarden) {
		t.Fatalf("deleted entry still found: %v", got)
	}
	// An importance change through another service (another instance's
	// API): the entry is indexed again, under a new version.
	svc2 := knowledge.New(r.st, r.engine, r.jobs)
	zero := 0.0
	if _, err := svc2.UpdateEntry(as(a), eBoat.String(), domain.UpdateKnowledgeEntryInput{Importance: &zero}); err != nil {
		t.Fatal(err)
	}
	r.waitIndexed(t)
	got = r.search(t, a, newText, nil, nil, 10)
	same("after an importance change", got, uncached(a, newText))
	if got[0].Score > 0.51 {
		t.Fatalf("importance 0: score %v, want 0.5", got[0].Score)
	}
	// B's cached collection was never touched by A's changes.
	if got := hitIDs(r.search(t, b, garden, nil, nil, 10)); len(got) != 1 || got[0] != theirs {
		t.Fatalf("B's search after A's changes: %v", got)
	}
	if n := scans(); n != 2 {
		t.Errorf("%d whole reads, want 2: every change was a refresh", n)
	}
}
