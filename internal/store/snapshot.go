package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// snapshotKey marks a context whose statements on one Store share a
// transaction (Snapshot); keyed by the Store, so another store's statements
// under the same context (the background store logging usage during a user's
// search) keep their own connections.
type snapshotKey struct{ s *Store }

// Snapshot runs fn with every batch this store sends under fn's context in
// one read-only REPEATABLE READ transaction, so that statements sent one
// after another see the database as of one moment. Knowledge search needs
// it: its vector pass reads indexed entries and its full-text pass the
// others, and an index job committing between two READ COMMITTED statements
// would hide an entry from both. A read-only transaction never fails to
// serialize, so nothing is retried; a write inside fn fails.
func (s *Store) Snapshot(ctx context.Context, fn func(ctx context.Context) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return translate(fmt.Errorf("snapshot: %w", err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(context.WithValue(ctx, snapshotKey{s}, tx)); err != nil {
		return err
	}
	return translate(tx.Commit(ctx))
}

// inSnapshot sends b on ctx's snapshot transaction of this store, if there
// is one (ok false otherwise). b's role settings are local, so they last
// until the snapshot ends; each batch sets them again.
func (s *Store) inSnapshot(ctx context.Context, b *pgx.Batch) (ok bool, err error) {
	tx, _ := ctx.Value(snapshotKey{s}).(pgx.Tx)
	if tx == nil {
		return false, nil
	}
	return true, translate(tx.SendBatch(ctx, b).Close())
}
