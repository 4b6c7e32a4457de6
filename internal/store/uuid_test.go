package store

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/agentgraph/agentgraph/internal/testdb"
)

// registered connects to the test database with RegisterTypes applied.
func registered(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	RegisterTypes(conn.TypeMap())
	return conn
}

// With RegisterTypes, uuid columns scan into uuid.UUID and *uuid.UUID
// (NULL: nil) as they did through uuid.UUID's sql.Scanner.
func TestRegisterTypesScansUUIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := registered(t)
	want := uuid.New()
	var got uuid.UUID
	var some, none *uuid.UUID
	if err := conn.QueryRow(ctx, `select $1::uuid, $1::uuid, null::uuid`, want).Scan(&got, &some, &none); err != nil {
		t.Fatal(err)
	}
	if got != want || some == nil || *some != want || none != nil {
		t.Fatalf("scanned %v, %v, %v; want %v, %v, nil", got, some, none, want, want)
	}
	rows, _ := conn.Query(ctx, `select x from unnest($1::uuid[]) as x`, []uuid.UUID{want, want})
	if ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil || len(ids) != 2 || ids[1] != want {
		t.Fatalf("rows %v, %v", ids, err)
	}
}

// With RegisterTypes, uuid.UUID and *uuid.UUID parameters (array elements
// too) go out as their 16 bytes, not through driver.Valuer's string, and
// arrive as the same uuids; a nil *uuid.UUID is NULL.
func TestRegisterTypesEncodesUUIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := registered(t)
	want := uuid.New()
	for _, v := range []any{want, &want} {
		plan := conn.TypeMap().PlanEncode(pgtype.UUIDOID, pgtype.BinaryFormatCode, v)
		if _, ok := plan.(encodeUUID); !ok {
			t.Fatalf("%T: plan %T, want encodeUUID", v, plan)
		}
		buf, err := plan.Encode(v, nil)
		if err != nil || !bytes.Equal(buf, want[:]) {
			t.Fatalf("%T: encoded %x, %v; want %x", v, buf, err, want[:])
		}
	}
	var nilID *uuid.UUID
	var text string
	var isNull bool
	var n int
	if err := conn.QueryRow(ctx, `select $1::uuid::text, $2::uuid is null, cardinality($4::uuid[]) from (select) s where $3::uuid = $1`,
		want, nilID, &want, []uuid.UUID{want, uuid.Nil}).Scan(&text, &isNull, &n); err != nil {
		t.Fatal(err)
	}
	if text != want.String() || !isNull || n != 2 {
		t.Fatalf("sent %v, nil, %v, 2 uuids; Postgres read %s, null %v, %d", want, want, text, isNull, n)
	}
	var elems []string
	if err := conn.QueryRow(ctx, `select array(select x::text from unnest($1::uuid[]) x)`, []uuid.UUID{want, uuid.Nil}).Scan(&elems); err != nil {
		t.Fatal(err)
	}
	if len(elems) != 2 || elems[0] != want.String() || elems[1] != uuid.Nil.String() {
		t.Fatalf("array read as %v", elems)
	}
}
