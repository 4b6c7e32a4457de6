// Package migrate applies the embedded SQL migrations of package db with goose.
//
// Several instances of the server may start at the same moment against one database; each
// calls Up, and a Postgres session-level advisory lock (goose's session locker) makes them take
// turns: the first applies what is pending, the others then find nothing to do. Every
// migration runs in its own transaction, so a failed one leaves the database at the previous
// version.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/agentgraph/agentgraph/db"
)

// lockPollSeconds and lockAttempts bound the wait for another instance's migration: the lock
// is polled every second (goose's minimum) for up to ten minutes, which is far more than our
// migrations take but short enough that a wedged holder turns into an error, not a hang.
const (
	lockPollSeconds = 1
	lockAttempts    = 600
)

// Up connects to databaseURL (a postgres:// URL or key=value DSN, as pgx accepts) and applies
// every pending migration. A role without the privilege to migrate (a plain serving role)
// gets nil when there is nothing to migrate, and an error naming the fix otherwise.
//
// The URL is parsed as pgxpool parses it, so the server can pass the same DATABASE_URL it gives
// its pool: pool_* settings (pool_max_conns, ...) are dropped here instead of being sent to
// Postgres as unknown run-time parameters.
func Up(ctx context.Context, databaseURL string) error {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx's parse errors never include the password.
		return fmt.Errorf("migrate: database URL: %w", err)
	}
	sqlDB := stdlib.OpenDB(*cfg.ConnConfig)
	defer sqlDB.Close()
	err = UpDB(ctx, sqlDB)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		return err
	}
	// The login role may not even read goose's table: it is a plain serving role
	// (README, "Running with least privilege"), and migrations are the owner's job.
	// That is fine as long as they are done.
	return checkCurrent(ctx, cfg.ConnConfig, err)
}

// checkCurrent reports whether every embedded migration is applied, reading goose's table
// as service_role (granted SELECT by 00009): the serving role itself holds no privilege
// on any table. denied is why Up could not simply migrate.
func checkCurrent(ctx context.Context, conn *pgx.ConnConfig, denied error) error {
	sqlDB := stdlib.OpenDB(*conn, stdlib.OptionAfterConnect(func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "set role service_role")
		return err
	}))
	defer sqlDB.Close()
	p, err := newProvider(sqlDB)
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err == nil && !pending {
		err = riverCurrent(ctx, sqlDB)
	}
	if err == nil && !pending {
		slog.InfoContext(ctx, "database is migrated; this role does not migrate", "user", conn.User)
		return nil
	}
	if err == nil {
		err = errors.New("migrations are pending")
	}
	return fmt.Errorf("migrate: %s may not migrate (%v) and the database is not current (%v): "+
		"run `agentgraph migrate` as the role that owns the schema", conn.User, denied, err)
}

// UpDB applies every pending migration through sqlDB, which must be a Postgres database
// opened with a database/sql driver (normally pgx's stdlib). It logs each applied migration
// with slog.Default().
func UpDB(ctx context.Context, sqlDB *sql.DB) error {
	_, err := upDB(ctx, sqlDB, slog.Default())
	return err
}

// upDB is UpDB returning what it applied, for tests.
func upDB(ctx context.Context, sqlDB *sql.DB, log *slog.Logger) ([]*goose.MigrationResult, error) {
	p, err := newProvider(sqlDB)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	results, err := p.Up(ctx)
	for _, r := range results {
		logResult(ctx, log, r)
	}
	if err != nil {
		// A PartialError carries the migrations applied before the failing one; they are
		// committed, so log them too before reporting the failure.
		var partial *goose.PartialError
		if errors.As(err, &partial) {
			for _, r := range partial.Applied {
				logResult(ctx, log, r)
			}
			return partial.Applied, fmt.Errorf("migrate: %s failed: %w",
				path.Base(partial.Failed.Source.Path), partial.Err)
		}
		return nil, fmt.Errorf("migrate: %w", err)
	}
	version, err := p.GetDBVersion(ctx)
	if err != nil {
		return results, fmt.Errorf("migrate: read version: %w", err)
	}
	if err := upRiver(ctx, sqlDB, log); err != nil {
		return results, err
	}
	if err := enablePGVector(ctx, sqlDB); err != nil {
		return results, err
	}
	log.InfoContext(ctx, "database migrated",
		"version", version, "applied", len(results), "duration", time.Since(start))
	return results, nil
}

func logResult(ctx context.Context, log *slog.Logger, r *goose.MigrationResult) {
	log.InfoContext(ctx, "migration applied",
		"version", r.Source.Version,
		"source", path.Base(r.Source.Path),
		"direction", r.Direction,
		"empty", r.Empty,
		"duration", r.Duration)
}

// MigrationStatus is the state of one known migration.
type MigrationStatus struct {
	Version   int64
	Source    string    // file name, e.g. "00002_tables.sql"
	Applied   bool      // recorded in goose_db_version
	AppliedAt time.Time // zero unless Applied
}

// Status reports every embedded migration and whether the database has it, in version order.
// It takes the same lock as Up, so it waits for a migration in progress.
func Status(ctx context.Context, sqlDB *sql.DB) ([]MigrationStatus, error) {
	p, err := newProvider(sqlDB)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{
			Version:   s.Source.Version,
			Source:    path.Base(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// newProvider builds a goose provider over the embedded migrations.
//
// The session locker is created per provider on purpose: its retry budget is a stateful
// counter, so sharing one locker between calls would let earlier waits eat into later ones.
func newProvider(sqlDB *sql.DB) (*goose.Provider, error) {
	fsys, err := Migrations()
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(lockPollSeconds, lockAttempts))
	if err != nil {
		return nil, fmt.Errorf("migrate: session locker: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithSessionLocker(locker),
		// Only our embedded SQL files: Go migrations registered globally by some imported
		// package must not sneak in.
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("migrate: goose provider: %w", err)
	}
	return p, nil
}

// Migrations returns the migration files as a directory (the embedded db.Migrations without
// its "migrations/" prefix).
func Migrations() (fs.FS, error) {
	fsys, err := fs.Sub(db.Migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: migrations directory: %w", err)
	}
	return fsys, nil
}
