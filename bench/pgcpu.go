package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// dbCPU measures the CPU time of the Postgres backends connected to the
// bench database: the share of the work a server hands to Postgres
// (PostGraphile builds its JSON there). CPU time, unlike throughput, is
// not inflated by other work on a shared machine. Backends that exit
// within a window lose their share: the servers' pools keep theirs.
type dbCPU struct {
	conn *pgx.Conn
	db   string
}

func (d *dbCPU) sample(ctx context.Context) map[int]time.Duration {
	out := map[int]time.Duration{}
	if d == nil || d.conn == nil {
		return out
	}
	rows, err := d.conn.Query(ctx, `select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, d.db)
	if err != nil {
		return out
	}
	pids, _ := pgx.CollectRows(rows, pgx.RowTo[int32])
	for _, pid := range pids {
		out[int(pid)] = pidCPU(int(pid))
	}
	return out
}

// since is the CPU the backends of now used after before was sampled.
func since(before, now map[int]time.Duration) time.Duration {
	var sum time.Duration
	for pid, c := range now {
		sum += c - before[pid]
	}
	return sum
}
