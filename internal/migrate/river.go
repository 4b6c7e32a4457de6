package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
)

// RiverSchema holds River's job tables (migration 00008 creates it and gives service_role
// what River needs there).
const RiverSchema = "river"

// riverLockKey serialises River's migrations between instances starting together; goose's
// own lock is released by then. Any constant unlikely to collide will do.
const riverLockKey = 0x61676a6f62 // "agjob"

// upRiver applies River's own migrations (the job queue of internal/jobs). Each runs in its
// own transaction (one adds an enum value, which Postgres will not use in the transaction
// that added it); a session advisory lock held on a connection of its own meanwhile makes
// two instances starting at once take turns.
func upRiver(ctx context.Context, sqlDB *sql.DB, log *slog.Logger) error {
	m, err := rivermigrate.New(riverdatabasesql.New(sqlDB), &rivermigrate.Config{Schema: RiverSchema, Logger: log})
	if err != nil {
		return fmt.Errorf("migrate: river: %w", err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: river: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `select pg_advisory_lock($1)`, riverLockKey); err != nil {
		return fmt.Errorf("migrate: river lock: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `select pg_advisory_unlock($1)`, riverLockKey)
	}()
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("migrate: river: %w", err)
	}
	if len(res.Versions) > 0 {
		log.InfoContext(ctx, "river migrated", "applied", len(res.Versions))
	}
	return nil
}

// riverCurrent reports an error unless River's migrations are all applied (for a serving role
// that may not apply them itself).
func riverCurrent(ctx context.Context, sqlDB *sql.DB) error {
	m, err := rivermigrate.New(riverdatabasesql.New(sqlDB), &rivermigrate.Config{Schema: RiverSchema})
	if err != nil {
		return fmt.Errorf("river: %w", err)
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("river: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("river: %s", strings.Join(res.Messages, "; "))
	}
	return nil
}
