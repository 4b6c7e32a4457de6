package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"

	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/testdb"
	"github.com/agentgraph/agentgraph/internal/vectors"
	"github.com/agentgraph/agentgraph/internal/vectors/pineconetest"
)

type indexedEntry struct {
	ID          string  `json:"id"`
	Content     string  `json:"content"`
	IndexStatus string  `json:"indexStatus"`
	IndexedAt   *string `json:"indexedAt"`
}

const (
	addEntryMutation = `mutation($c: ID!, $t: String!) { addKnowledgeEntry(input: {collectionId: $c, content: $t, type: NOTE}) {
		id content indexStatus indexedAt } }`
	collectionEntriesQuery = `query($c: ID!) { collection(id: $c) { entries(first: 100) { edges { node {
		id content indexStatus indexedAt } } } } }`
	searchQuery = `query($q: String!) { searchKnowledge(query: $q, limit: 50) { score entry { id } } }`
)

func (s *server) collectionEntries(t *testing.T, tok, col string) []indexedEntry {
	t.Helper()
	r := s.must(t, tok, collectionEntriesQuery, map[string]any{"c": col})
	d := decode[struct {
		Collection struct {
			Entries struct{ Edges []struct{ Node indexedEntry } }
		}
	}](t, r.Data)
	out := make([]indexedEntry, len(d.Collection.Entries.Edges))
	for i, e := range d.Collection.Entries.Edges {
		out[i] = e.Node
	}
	return out
}

func (s *server) searchIDs(t *testing.T, tok, q string) map[string]bool {
	t.Helper()
	r := s.must(t, tok, searchQuery, map[string]any{"q": q})
	d := decode[struct {
		SearchKnowledge []struct{ Entry struct{ ID string } }
	}](t, r.Data)
	out := map[string]bool{}
	for _, h := range d.SearchKnowledge {
		out[h.Entry.ID] = true
	}
	return out
}

// Issue 8's durability test with real processes: while the embedding API and
// Pinecone fail, entries added through two instances stay PENDING and are
// found by full text; once they recover, the instance embedding a batch is
// killed (-9) in the middle of its Pinecone upsert and started again, more
// entries arrive meanwhile, and every entry ends INDEXED, its vector upserted
// by exactly one successful call.
func TestKnowledgeIndexingAcrossProcessesAndACrash(t *testing.T) {
	t.Parallel()
	db := testdb.URL(t)
	pc := pineconetest.NewServer(t)
	// An embedding provider per instance: the one asked tells which instance
	// runs the index job.
	llms := []*llmtest.Server{llmtest.NewServer(t), llmtest.NewServer(t)}
	for _, l := range llms {
		l.SetEmbeddingFailStatus(http.StatusServiceUnavailable)
	}
	pc.Fail(codes.Unavailable)
	// LLM_TIMEOUT bounds an embedding call and so the lease on a batch and
	// the time before River takes a dead instance's job over.
	extra := []string{"LLM_TIMEOUT=2s", "PINECONE_API_KEY=pc-test", "PINECONE_INDEX_HOST=" + pc.Host()}
	cfgs := []serverConfig{
		{dbURL: db, llmURL: llms[0].URL(), extra: extra},
		{dbURL: db, llmURL: llms[1].URL(), extra: extra},
	}
	procs := startServers(t, cfgs...)
	for _, p := range procs {
		if !strings.Contains(p.logs.String(), "pinecone") {
			t.Fatalf("%s does not say it searches with Pinecone:\n%s", p.name, p.logs.String())
		}
	}
	user := uuid.New()
	tok := hourToken(user)
	col := decode[struct{ CreateCollection struct{ ID string } }](t,
		procs[0].must(t, tok, `mutation { createCollection(input: {name: "Field notes"}) { id } }`, nil).Data).CreateCollection.ID

	var ids []string
	add := func(p *server, content string) {
		t.Helper()
		e := decode[struct{ AddKnowledgeEntry indexedEntry }](t,
			p.must(t, tok, addEntryMutation, map[string]any{"c": col, "t": content}).Data).AddKnowledgeEntry
		if e.IndexStatus != "PENDING" {
			t.Fatalf("new entry %+v, want PENDING", e)
		}
		ids = append(ids, e.ID)
	}
	for i := range 20 {
		add(procs[i%2], fmt.Sprintf("Field note %d: the heron nests by the %s weir", i, []string{"north", "south"}[i%2]))
	}

	// Down: nothing gets indexed, and full text still finds every entry, on
	// both instances (the query's own embedding fails too).
	waitFor(t, 20*time.Second, "index attempts against the failing provider", func() bool {
		return len(llms[0].EmbeddingRequests())+len(llms[1].EmbeddingRequests()) >= 1
	})
	for _, e := range procs[1].collectionEntries(t, tok, col) {
		if e.IndexStatus != "PENDING" || e.IndexedAt != nil {
			t.Fatalf("entry %+v while the provider fails, want PENDING", e)
		}
	}
	for _, p := range procs {
		if got := p.searchIDs(t, tok, "heron weir"); len(got) != len(ids) {
			t.Fatalf("%s: full text found %d of %d pending entries", p.name, len(got), len(ids))
		}
	}

	// Embeddings come back and Pinecone hangs: the instance running the job
	// embeds a batch and waits in its upsert. Kill it there.
	pc.Fail(codes.OK)
	pc.Stall(true)
	asked := []int{len(llms[0].EmbeddingRequests()), len(llms[1].EmbeddingRequests())}
	for _, l := range llms {
		l.SetEmbeddingFailStatus(0)
	}
	waitFor(t, 60*time.Second, "an upsert in flight", func() bool {
		for _, c := range pc.Calls() {
			if c.Method == "Upsert" {
				return true
			}
		}
		return false
	})
	victim := -1
	for i, l := range llms {
		if len(l.EmbeddingRequests()) > asked[i] {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatal("an upsert but no embedding request")
	}
	procs[victim].kill(t)
	t.Logf("killed %s in the middle of its upsert", procs[victim].name)
	pc.Stall(false)
	survivor := procs[1-victim]

	// Entries keep arriving on the survivor while the dead instance's job is
	// still marked running; then the victim starts again.
	for i := range 10 {
		add(survivor, fmt.Sprintf("Field note %d: an otter by the mill race", 20+i))
	}
	restarted := launch(t, procs[victim].name+"-restarted", cfgs[victim])
	if err := restarted.waitReady(30 * time.Second); err != nil {
		t.Fatalf("restart: %v\n%s", err, restarted.logs.String())
	}

	start := time.Now()
	waitFor(t, 150*time.Second, "every entry indexed", func() bool {
		for _, e := range restarted.collectionEntries(t, tok, col) {
			if e.IndexStatus != "INDEXED" {
				return false
			}
		}
		return true
	})
	t.Logf("all %d entries indexed %v after the restart", len(ids), time.Since(start).Round(time.Second))

	entries := survivor.collectionEntries(t, tok, col)
	if len(entries) != len(ids) {
		t.Fatalf("%d entries listed, %d added", len(entries), len(ids))
	}
	for _, e := range entries {
		if e.IndexStatus != "INDEXED" || e.IndexedAt == nil {
			t.Errorf("entry %+v, want INDEXED with indexedAt", e)
		}
	}
	// Exactly once: Pinecone holds one vector per entry, each written by one
	// successful upsert (the stalled call wrote nothing).
	ns := pc.Namespace(vectors.Namespace(user))
	upserts := map[string]int{}
	for _, c := range pc.Calls() {
		if c.Method == "Upsert" && !c.Failed {
			for _, id := range c.IDs {
				upserts[id]++
			}
		}
	}
	if len(ns) != len(ids) {
		t.Errorf("Pinecone holds %d vectors for the user, want %d", len(ns), len(ids))
	}
	for _, id := range ids {
		if _, ok := ns[id]; !ok {
			t.Errorf("entry %s has no vector", id)
		}
		if upserts[id] != 1 {
			t.Errorf("entry %s upserted by %d successful calls, want 1", id, upserts[id])
		}
	}
	// The database agrees, and the embeddings were billed.
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var linked, tokens int
	if err := conn.QueryRow(context.Background(), `select count(*) filter (where pinecone_id = id::text and indexed_at is not null),
		(select coalesce(sum(input_tokens), 0) from usage_logs where user_id = $1 and operation = 'embedding')
		from knowledge_entries where user_id = $1`, user).Scan(&linked, &tokens); err != nil {
		t.Fatal(err)
	}
	if linked != len(ids) || tokens == 0 {
		t.Errorf("%d entries linked to their vectors (want %d), %d embedding tokens billed", linked, len(ids), tokens)
	}
	// Vector search now finds the late entries on the restarted instance.
	if got := restarted.searchIDs(t, tok, "Field note 25: an otter by the mill race"); !got[ids[25]] {
		t.Errorf("search by the exact text of an entry missed it: %v", got)
	}
}

// waitFor polls cond every 100 ms until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
