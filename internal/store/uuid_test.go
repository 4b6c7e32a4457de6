package store

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/testdb"
)

// With RegisterTypes, uuid columns scan into uuid.UUID and *uuid.UUID
// (NULL: nil) as they did through uuid.UUID's sql.Scanner.
func TestRegisterTypesScansUUIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	RegisterTypes(conn.TypeMap())
	want := uuid.New()
	var got uuid.UUID
	var some, none *uuid.UUID
	if err := conn.QueryRow(ctx, `select $1::uuid, $1::uuid, null::uuid`, want).Scan(&got, &some, &none); err != nil {
		t.Fatal(err)
	}
	if got != want || some == nil || *some != want || none != nil {
		t.Fatalf("scanned %v, %v, %v; want %v, %v, nil", got, some, none, want, want)
	}
	var ids []uuid.UUID
	rows, _ := conn.Query(ctx, `select x from unnest($1::uuid[]) as x`, []uuid.UUID{want, want})
	if ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil || len(ids) != 2 || ids[1] != want {
		t.Fatalf("rows %v, %v", ids, err)
	}
}
