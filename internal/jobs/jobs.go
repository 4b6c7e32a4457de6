// Package jobs runs durable background work on River (riverqueue/river), a Postgres job queue:
// a job is inserted in the same transaction as the data it follows up (a stored message and the
// job that answers it commit together or not at all), runs on whichever instance fetches it
// first, is retried with backoff when it fails, and is rescued when the instance running it
// dies. River's tables live in schema river (internal/migrate creates them at start).
//
// The client runs on the background pool, whose connections act as service_role, so a flood
// of API requests cannot starve the jobs of connections.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/agentgraph/agentgraph/internal/migrate"
)

// Client inserts and works jobs.
type Client = river.Client[pgx.Tx]

// Config is what the queues need.
type Config struct {
	// Workers holds every kind of job this instance works (river.AddWorker).
	Workers *river.Workers
	// Queues and how many jobs of each run at once on this instance.
	Queues map[string]int
	// RescueAfter is how long a job may run before it is taken for dead (its instance
	// crashed) and run again: longer than any job's own time bound.
	RescueAfter time.Duration
	// PollInterval is how often jobs are fetched when no notification says one is waiting
	// (River's default, 1 s, when zero).
	PollInterval time.Duration
	Logger       *slog.Logger
}

// A reply waits for its job to be fetched before its first token, so River's
// fetch timing is the chat's latency. With River's default cooldown (a fetch
// at most every 100 ms, and an inserting client notifying a queue at most
// once per cooldown) the first token of a reply from an instant provider
// waited 100–1,000 ms: a job often waited for a later fetch or the next
// poll. Measured with bench W4 (BENCHMARKS.md): first token p50 / p99 515 /
// 988 ms with one client and 180 / 722 ms with 32, against 11–13 / 16–18 ms
// and 149–198 / 215–285 ms with a 5 ms cooldown. Polling every 100 ms instead
// of every second was measured too and changed nothing (the notifications
// do the work), so the poll stays at River's default and idle instances do
// not query ten times as often.
const fetchCooldown = 5 * time.Millisecond

// New returns a client working cfg's queues on pool; Start it to work them. A client with
// no Queues only inserts.
func New(pool *pgxpool.Pool, cfg Config) (*Client, error) {
	rc := &river.Config{
		Schema:               migrate.RiverSchema,
		Workers:              cfg.Workers,
		RescueStuckJobsAfter: cfg.RescueAfter,
		// Each worker bounds its own runs (river.Worker's Timeout), below
		// RescueAfter; River's one-minute default would cut a long reply.
		JobTimeout:        -1,
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     fetchCooldown,
		Logger:            cfg.Logger,
	}
	if len(cfg.Queues) > 0 {
		rc.Queues = make(map[string]river.QueueConfig, len(cfg.Queues))
		for name, n := range cfg.Queues {
			rc.Queues[name] = river.QueueConfig{MaxWorkers: n}
		}
	}
	c, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return c, nil
}

// RunningBefore counts the running jobs of kind whose args hold value under key and that were
// inserted before job id: a per-key concurrency check (River's own limits are per queue and
// instance). Counting only older jobs lets the oldest always run, so jobs starting together
// never all wait for each other.
func RunningBefore(ctx context.Context, db *pgxpool.Pool, kind, key, value string, id int64) (int, error) {
	var n int
	err := db.QueryRow(ctx, `select count(*) from `+migrate.RiverSchema+`.river_job
		where state = 'running' and kind = $1 and args ->> $2 = $3 and id < $4`, kind, key, value, id).Scan(&n)
	return n, err
}

// CompleteTx returns the function that completes job inside a transaction
// of the caller's (river.JobCompleteTx): for a job that may end only in the
// same transaction as the finding that nothing is left for it to do.
func CompleteTx[T river.JobArgs](job *river.Job[T]) func(context.Context, pgx.Tx) error {
	return func(ctx context.Context, tx pgx.Tx) error {
		_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	}
}
