package testdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agentgraph/agentgraph/internal/testdb"
	"github.com/agentgraph/agentgraph/internal/vectors"
)

// Migration 00013 with pgvector: users may not write vectors, an edit clears
// the entry's vector, and agentgraph_enable_pgvector() run on a database that
// went without pgvector adds the column and copies the packed vectors into it,
// exactly.
func TestPGVectorColumn(t *testing.T) {
	testdb.NeedPGVector(t)
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	a := newUser()
	seed(t, pool, a, "alice")
	entry := a.rows["knowledge_entries"][0]

	for _, tc := range []struct {
		sql  string
		args []any
	}{
		{`update knowledge_entries set embedding_vector = '[1,0]' where id = $1`, []any{entry}},
		{`insert into knowledge_entries (user_id, collection_id, content, type, embedding_vector) values ($1, $2, 'x', 'fact', '[1,0]')`,
			[]any{a.id, a.coll}},
	} {
		_, err := execAs(ctx, pool, a.claims, tc.sql, tc.args...)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" || !strings.HasPrefix(pgErr.Message, "permission denied for table knowledge_entries") {
			t.Errorf("as the user, %s: %v, want permission denied", tc.sql, err)
		}
	}
	if _, err := pool.Exec(ctx, `update knowledge_entries set embedding_vector = '[1,0]', index_status = 'indexed' where id = $1`, entry); err != nil {
		t.Fatal(err)
	}
	if _, err := execAs(ctx, pool, a.claims, `update knowledge_entries set content = 'edited' where id = $1`, entry); err != nil {
		t.Fatal(err)
	}
	var cleared bool
	if err := pool.QueryRow(ctx, `select embedding_vector is null from knowledge_entries where id = $1`, entry).Scan(&cleared); err != nil || !cleared {
		t.Errorf("vector after an edit: cleared %v (%v), want cleared", cleared, err)
	}

	// A database that ran without pgvector: packed vectors only.
	for _, sql := range []string{
		`drop trigger reindex_vector on knowledge_entries`,
		`drop function knowledge_entries_reindex_vector()`,
		`alter table knowledge_entries drop column embedding_vector`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	want := []float32{0.6, -0.8, 1e-40, 0}
	if _, err := pool.Exec(ctx, `update knowledge_entries set embedding = $2, index_status = 'indexed' where id = $1`,
		entry, vectors.Pack(want)); err != nil {
		t.Fatal(err)
	}
	var on bool
	if err := pool.QueryRow(ctx, `select agentgraph_enable_pgvector()`).Scan(&on); err != nil || !on {
		t.Fatalf("enable pgvector: %v (%v)", on, err)
	}
	var got []float32
	var packed bool
	if err := pool.QueryRow(ctx, `select embedding_vector::real[], embedding is not null from knowledge_entries where id = $1`,
		entry).Scan(&got, &packed); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || packed {
		t.Fatalf("copied vector %v (packed copy kept: %v), want %v once", got, packed, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("copied vector %v, want %v exactly", got, want)
			break
		}
	}
	// Called again (every migration run does): nothing to do.
	if err := pool.QueryRow(ctx, `select agentgraph_enable_pgvector()`).Scan(&on); err != nil || !on {
		t.Fatalf("enable pgvector again: %v (%v)", on, err)
	}
}
