package migrate_test

import (
	"context"
	"database/sql"
	"io/fs"
	"log/slog"
	"sync"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/agentgraph/agentgraph/internal/migrate"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// recorder is a slog.Handler that keeps the version of every "migration applied" record.
type recorder struct {
	mu      sync.Mutex
	applied []int64
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "migration applied" {
		return nil
	}
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "version" {
			r.mu.Lock()
			r.applied = append(r.applied, a.Value.Int64())
			r.mu.Unlock()
		}
		return true
	})
	return nil
}

func migrationCount(t *testing.T) int {
	t.Helper()
	fsys, err := migrate.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no migrations embedded")
	}
	return len(files)
}

// Two instances starting together against a fresh database: both Up calls must succeed and
// every migration must be applied exactly once (the advisory lock makes the second wait and
// then find nothing pending).
//
// Not parallel: it swaps the default slog logger to count what was applied.
func TestConcurrentUpAppliesEachMigrationOnce(t *testing.T) {
	rec := &recorder{}
	prev := slog.Default()
	slog.SetDefault(slog.New(rec))
	t.Cleanup(func() { slog.SetDefault(prev) })

	dbURL := testdb.EmptyURL(t)
	ctx := context.Background()

	const instances = 2
	var wg sync.WaitGroup
	errs := make([]error, instances)
	start := make(chan struct{})
	for i := range instances {
		wg.Go(func() {
			<-start
			u := dbURL
			if i == 1 {
				// The server may pass the URL it gives its pgxpool.
				u += "&pool_max_conns=4"
			}
			errs[i] = migrate.Up(ctx, u)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Up #%d: %v", i, err)
		}
	}

	n := migrationCount(t)
	seen := map[int64]int{}
	for _, v := range rec.applied {
		seen[v]++
	}
	if len(rec.applied) != n {
		t.Errorf("applied %d migrations in total (%v), want %d", len(rec.applied), rec.applied, n)
	}
	for v, c := range seen {
		if c != 1 {
			t.Errorf("migration %d applied %d times", v, c)
		}
	}

	sqlDB, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	// goose records each applied version once (plus its version 0 row).
	var rows, distinct int
	if err := sqlDB.QueryRowContext(ctx,
		`select count(*), count(distinct version_id) from goose_db_version where version_id > 0`,
	).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != n || distinct != n {
		t.Errorf("goose_db_version has %d rows / %d versions, want %d", rows, distinct, n)
	}

	// A later start finds nothing to do.
	rec.applied = nil
	if err := migrate.UpDB(ctx, sqlDB); err != nil {
		t.Fatal(err)
	}
	if len(rec.applied) != 0 {
		t.Errorf("second Up applied %v", rec.applied)
	}

	st, err := migrate.Status(ctx, sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != n {
		t.Fatalf("Status: %d migrations, want %d", len(st), n)
	}
	for _, s := range st {
		if !s.Applied || s.AppliedAt.IsZero() {
			t.Errorf("Status: %+v not applied", s)
		}
	}
}

// Every Down undoes its Up: migrate down to zero, check that nothing of ours is left, and
// migrate up again.
func TestDownAndUpAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sqlDB, err := sql.Open("pgx", testdb.EmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()

	if err := migrate.UpDB(ctx, sqlDB); err != nil {
		t.Fatal(err)
	}
	fsys, err := migrate.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("down: %v", err)
	}

	var leftovers []string
	rows, err := sqlDB.QueryContext(ctx, `
		select 'table ' || relname from pg_class
		 where relnamespace = 'public'::regnamespace and relname <> 'goose_db_version'
		   and relname not like 'goose_db_version%'
		union all
		select 'function ' || p.oid::regprocedure::text from pg_proc p
		 where p.pronamespace in ('public'::regnamespace, coalesce(to_regnamespace('auth'), 0))
		   -- pgvector's functions are the extension's, which Down keeps (00010, 00013).
		   and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass
		                   and d.objid = p.oid and d.deptype = 'e')
		union all
		select 'schema ' || nspname from pg_namespace where nspname = 'auth'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		leftovers = append(leftovers, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(leftovers) > 0 {
		t.Errorf("left after migrating down: %v", leftovers)
	}

	if err := migrate.UpDB(ctx, sqlDB); err != nil {
		t.Fatalf("up again: %v", err)
	}
}
