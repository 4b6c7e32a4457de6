package testdb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/agentgraph/agentgraph/internal/testdb"
)

// Parallel tests each get a private database: what one writes, no other sees.
func TestDatabasesAreIsolated(t *testing.T) {
	t.Parallel()
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := testdb.Pool(t)
			var name string
			if err := pool.QueryRow(ctx, `select current_database()`).Scan(&name); err != nil {
				t.Fatal(err)
			}
			if _, err := pool.Exec(ctx, `insert into feed_events (user_id, type, message) values (gen_random_uuid(), 'info', $1)`, name); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := pool.QueryRow(ctx, `select count(*) from feed_events`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("%s: %d feed events, want only the one this test wrote", name, n)
			}
		})
	}
}
