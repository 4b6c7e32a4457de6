package pubsub

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// A batch whose rows cannot be loaded (the database hiccups, the pool is
// exhausted for a moment) would reach none of this instance's subscribers,
// so Resolve is tried again, a few times over a few seconds, before the
// batch is given up (counted: ResolveDropped). The dispatching goroutine
// waits meanwhile, so the events behind the batch wait behind it and order
// holds; the listening goroutine keeps reading until the inbox is full,
// then waits as well, and Postgres queues what follows. The bound keeps one
// batch from holding everything up for longer than resolveBudget.
const (
	resolveAttempts = 4
	// resolveBackoff is the wait before the second attempt, doubled before
	// each next one and jittered (half to all of it), so that instances
	// that failed together do not all retry together: at most 1.4 s of
	// waiting in all.
	resolveBackoff = 200 * time.Millisecond
	// resolveBudget bounds a batch's attempts and waits together.
	resolveBudget = 8 * time.Second
)

// resolve loads evs' rows with Options.Resolve, retrying failures within
// the bounds above; it returns the last error once they are reached, or at
// once if ctx ends.
func (h *Hub) resolve(ctx context.Context, evs []*Event) ([]any, error) {
	start := time.Now()
	deadline := start.Add(resolveBudget)
	backoff := resolveBackoff
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, min(time.Until(deadline), resolveTimeout))
		rows, err := h.opts.Resolve(rctx, evs)
		cancel()
		if err == nil && len(rows) != len(evs) {
			err = fmt.Errorf("pubsub: Resolve returned %d rows for %d events", len(rows), len(evs))
		}
		if err == nil {
			if attempt > 1 {
				h.log.Info("pubsub: loaded events' rows after retrying", "events", len(evs), "attempts", attempt)
			}
			return rows, nil
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		// A retry needs time left for the attempt itself too.
		if attempt == resolveAttempts || ctx.Err() != nil || time.Until(deadline) < wait+resolveBackoff {
			return nil, fmt.Errorf("%d attempts in %v: %w", attempt, time.Since(start).Round(time.Millisecond), err)
		}
		h.log.Info("pubsub: loading events' rows failed, retrying", "events", len(evs), "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%d attempts: %w", attempt, err)
		case <-t.C:
		}
		backoff *= 2
	}
}
