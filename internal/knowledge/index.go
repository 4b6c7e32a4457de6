package knowledge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/agentgraph/agentgraph/internal/jobs"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/vectors"
)

// Queue is River's queue of knowledge jobs (indexing, vector deletes).
const Queue = "knowledge"

// IndexArgs is a user's index job: it embeds the user's pending entries, a
// batch at a time, until none is left. A user has at most one, waiting or
// running (unique by args): an entry added while it runs is picked up by it
// (Store.CompleteIfNoPending closes the gap at its end).
type IndexArgs struct {
	UserID uuid.UUID `json:"user_id" river:"unique"`
}

// Kind names the job in River's table.
func (IndexArgs) Kind() string { return "knowledge_index" }

// InsertOpts puts index jobs on the knowledge queue, one waiting per user.
func (IndexArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, UniqueOpts: river.UniqueOpts{
		ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled},
	}}
}

// DeleteVectorsArgs removes deleted entries' vectors from Pinecone.
type DeleteVectorsArgs struct {
	UserID uuid.UUID   `json:"user_id"`
	IDs    []uuid.UUID `json:"ids"`
}

// Kind names the job in River's table.
func (DeleteVectorsArgs) Kind() string { return "knowledge_delete_vectors" }

// InsertOpts puts the job on the knowledge queue; it is retried like an index
// job, for days: a vector left behind would be found by no search (hits are
// checked against Postgres) but would cost storage.
func (DeleteVectorsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 25}
}

// IndexWorker works IndexArgs.
type IndexWorker struct {
	river.WorkerDefaults[IndexArgs]
	e *Engine
}

// DeleteWorker works DeleteVectorsArgs.
type DeleteWorker struct {
	river.WorkerDefaults[DeleteVectorsArgs]
	e *Engine
}

// Workers registers the engine's job kinds.
func (e *Engine) Workers(w *river.Workers) {
	river.AddWorker(w, &IndexWorker{e: e})
	river.AddWorker(w, &DeleteWorker{e: e})
}

// Timeout bounds one run: a batch's embedding call and writes, for a handful
// of batches; the job hands over to a fresh run (JobSnooze) after runBudget.
func (w *IndexWorker) Timeout(*river.Job[IndexArgs]) time.Duration { return w.e.Lease + runBudget }

// runBudget: an index job starts no new batch after running this long. Kept
// short, with the lease, so that RescueAfter stays within the reply job's:
// River's rescue bound is one for all kinds, and a longer one here would
// delay the takeover of a dead instance's replies.
const runBudget = 10 * time.Second

// NextRetry backs off exponentially from one second, capped at MaxBackoff.
func (w *IndexWorker) NextRetry(job *river.Job[IndexArgs]) time.Time {
	return time.Now().Add(backoff(job.Attempt, w.e.MaxBackoff))
}

// NextRetry as IndexWorker's.
func (w *DeleteWorker) NextRetry(job *river.Job[DeleteVectorsArgs]) time.Time {
	return time.Now().Add(backoff(job.Attempt, w.e.MaxBackoff))
}

func backoff(attempt int, most time.Duration) time.Duration {
	if attempt >= 30 {
		return most
	}
	return min(most, time.Second<<max(attempt-1, 0))
}

// Work embeds the user's pending entries until none is left. A failure
// (provider or Pinecone down) gives the batch back and fails the run, which
// River retries with backoff; on the last attempt the batch is marked FAILED
// with the reason instead.
func (w *IndexWorker) Work(ctx context.Context, job *river.Job[IndexArgs]) error {
	e, user := w.e, job.Args.UserID
	last := job.Attempt >= min(job.MaxAttempts, e.MaxAttempts)
	start := time.Now()
	idle := 0
	for {
		if time.Since(start) > runBudget {
			return river.JobSnooze(0)
		}
		items, err := e.bg.ClaimToIndex(ctx, user, e.Batch, e.Lease)
		if err != nil {
			return fmt.Errorf("claim entries: %w", err)
		}
		if len(items) == 0 {
			done, err := e.bg.CompleteIfNoPending(ctx, user, job.ID, jobs.CompleteTx(job))
			if err != nil {
				return fmt.Errorf("complete: %w", err)
			}
			if done {
				return nil
			}
			// Pending but leased: by a run of this job that died, until its
			// lease runs out. Entries that just arrived are claimed at once.
			if idle++; idle > 1 {
				return river.JobSnooze(time.Second)
			}
			continue
		}
		idle = 0
		if over, err := e.overBudget(ctx, user); err != nil || over {
			if rerr := e.bg.ReleaseClaims(context.WithoutCancel(ctx), user, ids(items)); rerr != nil {
				e.log.Warn("index: release claims", "err", rerr)
			}
			if err != nil {
				return fmt.Errorf("budget: %w", err)
			}
			// Past the month's budget: the entries wait PENDING (found by
			// full text) and the job looks again later, for a raised budget
			// or the next month.
			return river.JobSnooze(e.BudgetRecheck)
		}
		if err := e.indexBatch(ctx, user, items); err != nil {
			if last {
				e.log.Warn("indexing failed for good", "user", user, "entries", len(items), "err", err)
				if ferr := e.bg.FailIndex(context.WithoutCancel(ctx), user, items, reason(err)); ferr != nil {
					return fmt.Errorf("mark failed: %w (after %v)", ferr, err)
				}
				continue
			}
			if rerr := e.bg.ReleaseClaims(context.WithoutCancel(ctx), user, ids(items)); rerr != nil {
				e.log.Warn("index: release claims", "err", rerr)
			}
			return err
		}
	}
}

// Work deletes the vectors.
func (w *DeleteWorker) Work(ctx context.Context, job *river.Job[DeleteVectorsArgs]) error {
	if w.e.pinecone == nil {
		return nil
	}
	return w.e.pinecone.Delete(ctx, job.Args.UserID, job.Args.IDs)
}

// indexBatch embeds items (none in text mode), writes the vectors where the
// mode keeps them, and marks the entries indexed with the call's usage.
// When the provider refuses the batch as a bad request, each entry is tried
// alone and those it refuses are marked FAILED at once: retrying would not
// help them, and they must not hold back the rest.
func (e *Engine) indexBatch(ctx context.Context, user uuid.UUID, items []store.ToIndex) error {
	out := make([]store.Indexed, len(items))
	for i, it := range items {
		out[i] = store.Indexed{ID: it.ID, Version: it.Version}
	}
	if e.mode == ModeText {
		_, err := e.bg.SaveIndexed(ctx, user, out, nil, nil)
		return err
	}
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = it.Content
	}
	vecs, usage, err := e.embed(ctx, texts)
	if err != nil {
		if refused(err) && len(items) > 1 {
			return e.oneByOne(ctx, user, items)
		}
		if refused(err) {
			return e.bg.FailIndex(ctx, user, items, reason(err))
		}
		return fmt.Errorf("embed %d entries: %w", len(items), err)
	}
	if e.pinecone != nil {
		vs := make([]vectors.Item, len(items))
		for i, it := range items {
			vs[i] = vectors.Item{ID: it.ID, Values: vecs[i], Collection: it.CollectionID, Type: string(it.Type), Importance: it.Importance}
			pid := it.ID.String()
			out[i].PineconeID = &pid
		}
		if err := e.pinecone.Upsert(ctx, user, vs); err != nil {
			// Embedded but not stored: the retry finds the vectors in the cache.
			return err
		}
	} else if e.pgvector != nil {
		for i := range items {
			out[i].Vector = vecs[i]
		}
	} else {
		for i := range items {
			out[i].Embedding = vectors.Pack(vecs[i])
		}
	}
	gone, err := e.bg.SaveIndexed(ctx, user, out, e.usageRow(user, nil, usage), e.pgvector)
	if err != nil {
		return fmt.Errorf("save %d vectors: %w", len(out), err)
	}
	if len(gone) > 0 && e.pinecone != nil {
		// Deleted while being embedded: the delete's own job may have run
		// before this upsert.
		if err := e.pinecone.Delete(ctx, user, gone); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) oneByOne(ctx context.Context, user uuid.UUID, items []store.ToIndex) error {
	for _, it := range items {
		if err := e.indexBatch(ctx, user, []store.ToIndex{it}); err != nil {
			return err
		}
	}
	return nil
}

// refused reports whether the provider refused the request itself (HTTP
// 400: too long, invalid), which no retry fixes.
func refused(err error) bool {
	return err != nil && !llm.IsUnavailable(err) && !errors.Is(err, context.Canceled) &&
		!errors.Is(err, context.DeadlineExceeded) && llm.IsRequestError(err)
}

// reason is why indexing failed, as the entry's indexError tells the user:
// what to do, never the provider's own text.
func reason(err error) string {
	switch {
	case refused(err):
		return "the embedding provider refused this content (too long or invalid): shorten or edit it"
	case llm.IsUnavailable(err):
		return "the embedding provider was unavailable for hours: check EMBEDDING_MODEL and its provider's key, then edit the entry to index it again"
	default:
		return "the vector index was unavailable for hours: edit the entry to index it again"
	}
}

func ids(items []store.ToIndex) []uuid.UUID {
	out := make([]uuid.UUID, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

// RescueAfter is how long an index job may run before River takes its
// instance for dead (jobs.Config.RescueAfter must be at least this).
func (e *Engine) RescueAfter() time.Duration { return e.Lease + runBudget + 5*time.Second }

// leaseMargin is what a batch may take beyond its embedding call: the
// Pinecone upsert (bounded at 10 s) and the writes.
const leaseMargin = 10 * time.Second
