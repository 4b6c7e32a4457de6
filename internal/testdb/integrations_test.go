package testdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agentgraph/agentgraph/internal/testdb"
)

// user_integrations through SQL as authenticated, the way PostgREST hands it to users
// (migrations 00009 and 00011): a user reads the columns that hold no token nor key id,
// of their own rows only, deletes (disconnects) their own rows only, and writes nothing,
// neither the tokens nor the status or refresh bookkeeping the server keeps.
func TestIntegrationsAsAuthenticated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	a, b := newUser(), newUser()
	for _, u := range []*user{a, b} {
		for _, p := range []string{"github", "slack"} {
			u.insert(t, pool, "user_integrations", "user_id, provider, access_token_encrypted, refresh_token_encrypted, key_id, status",
				u.id, p, "v1.k.sealed-"+p, "v1.k.sealed-refresh-"+p, "k", "active")
		}
	}
	const denied = "permission denied for table user_integrations"
	for _, tc := range []struct {
		name, sql string
		args      []any
	}{
		{"read the key id", `select key_id from user_integrations`, nil},
		{"read the refresh bookkeeping", `select refreshed_at, refresh_error from user_integrations`, nil},
		{"reactivate a failed integration", `update user_integrations set status = 'active' where user_id = $1`, []any{a.id}},
		{"move the connection time", `update user_integrations set connected_at = now() where user_id = $1`, []any{a.id}},
		{"claim a newer key", `update user_integrations set key_id = 'other' where user_id = $1`, []any{a.id}},
		{"connect with a status", `insert into user_integrations (user_id, provider, access_token_encrypted, status)
			values ($1, 'notion', 'v1.k.x', 'active')`, []any{a.id}},
		{"update another user's status", `update user_integrations set status = 'refresh_failed' where user_id = $1`, []any{b.id}},
	} {
		_, err := execAs(ctx, pool, a.claims, tc.sql, tc.args...)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" || !strings.HasPrefix(pgErr.Message, denied) {
			t.Errorf("%s: got %v, want %q", tc.name, err, denied)
		}
	}

	// What the API reads: own rows, without tokens.
	seen, err := queryAs(ctx, pool, a.claims, `select id from user_integrations
		where status = 'active' and connected_at <= now() and provider is not null`)
	if err != nil || len(seen) != 2 {
		t.Fatalf("a reads %d integrations, %v; want own 2", len(seen), err)
	}
	for _, id := range seen {
		for _, own := range b.rows["user_integrations"] {
			if id == own {
				t.Fatal("a reads b's integration")
			}
		}
	}
	// Disconnecting another user's integration deletes nothing; one's own, one row.
	if tag, err := execAs(ctx, pool, a.claims, `delete from user_integrations where user_id = $1`, b.id); err != nil || tag.RowsAffected() != 0 {
		t.Fatalf("a deletes b's integrations: %v, %d rows", err, tag.RowsAffected())
	}
	if tag, err := execAs(ctx, pool, a.claims, `delete from user_integrations where provider = 'github'`); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("a disconnects github: %v, %d rows, want 1", err, tag.RowsAffected())
	}
	var bRows int
	if err := pool.QueryRow(ctx, `select count(*) from user_integrations where user_id = $1`, b.id).Scan(&bRows); err != nil || bRows != 2 {
		t.Fatalf("b's integrations after a's deletes: %d, %v", bRows, err)
	}
}
