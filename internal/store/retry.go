package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Lock order. Every write path takes row locks in this order, so two
// transactions never wait for each other in a cycle:
//
//  1. the agent row (FOR NO KEY UPDATE by updates; FOR KEY SHARE by the
//     foreign keys of rows that name it: messages, feed events, usage);
//  2. the thread row (the touch_thread trigger of every message insert);
//  3. the rest: the message a reply answers, usage logs, feed events, and
//     River's job rows (a reply job is inserted or completed after the thread).
//
// Integrations stand apart: a token refresh locks its one user_integrations
// row (FOR UPDATE, held across the provider call: RenewIntegration) and then
// inserts a feed event that names no agent; a reseal locks a batch of rows
// in id order; connecting and disconnecting write one row. None of them
// locks an agent or a thread, so they close no cycle with the paths above,
// and a reseal waits for a refresh of a row rather than the reverse order.
//
// A reply therefore updates its agent's XP before it inserts its message:
// the other way round, it held the thread while waiting for the agent, and
// a user message (agent key-share, then thread) deadlocked with it.
//
// What can still fail with a serialization failure or a deadlock (other
// statements added later, Postgres's own choices) is retried by retry,
// bounded and with jitter, so a client sees success rather than a 500.

const (
	retryAttempts = 5
	retryBase     = 5 * time.Millisecond
)

// retries counts transactions run again after a serialization failure or a
// deadlock (exported as a metric: a rising count means a new lock cycle).
var retries atomic.Int64

// Retries is how many transactions this process has run again.
func Retries() int64 { return retries.Load() }

// retryable reports whether err is worth running the whole transaction
// again: a serialization failure (40001) or a deadlock (40P01). Both roll
// the transaction back entirely, so running it again is safe.
func retryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40001" || pg.Code == "40P01")
}

// retry runs fn until it succeeds, fails with an error that is not
// retryable, or retryAttempts runs have failed, sleeping a jittered,
// doubling delay between runs.
func retry(ctx context.Context, fn func() error) error {
	delay := retryBase
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == retryAttempts || !retryable(err) {
			return err
		}
		retries.Add(1)
		t := time.NewTimer(delay/2 + rand.N(delay))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay *= 2
	}
}
