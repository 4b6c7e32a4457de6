package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/jobs"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/spend"
	"github.com/agentgraph/agentgraph/internal/store"
)

// Prompt budget: the history sent with a reply is the latest messages that
// fit, estimated at 4 characters a token.
const (
	historyMessages    = 50
	historyTokenBudget = 6000
	// saveTimeout bounds storing a reply after its stream ended, retries
	// included, even when the server is shutting down.
	saveTimeout = 10 * time.Second
	// flushTimeout bounds the wait for the chunks' NOTIFYs before the reply
	// is stored; storing it does not depend on them.
	flushTimeout = 2 * time.Second
	// startBudget: a job starts answering another message of its thread only
	// this long after it began; later it hands the thread to a fresh run of
	// itself (JobSnooze(0)), so that no run outlives its time bound.
	startBudget = 10 * time.Second
	// rescueMargin is added to a job's time bound before it is taken for
	// dead and run again on another instance.
	rescueMargin = 5 * time.Second
	// maxAttempts: a job fails only when storing fails (the provider's errors
	// are stored as FAILED replies), so it is retried until the database
	// takes it; backoff is capped at maxBackoff (about four days in all).
	maxAttempts = 1000
	maxBackoff  = 5 * time.Minute
)

// Queue is River's queue of reply jobs; its worker count caps the replies
// in flight on one instance (more wait as jobs, no message is refused).
const Queue = "replies"

// XP: a complete reply earns 10 plus 1 per 100 output tokens; an interrupted
// one only the tokens; a failed one nothing. Levels: LevelForXP.
const (
	xpPerReply     = 10
	tokensPerPoint = 100
)

// LevelForXP is the level curve: level n needs 100·(n-1)² XP (100 for level
// 2, 400 for 3, 900 for 4 …). SaveReply computes the same in SQL.
func LevelForXP(xp int) int {
	level := 1
	for 100*level*level <= xp {
		level++
	}
	return level
}

// ReplyArgs is a thread's reply job: it answers the thread's awaiting
// messages one at a time, oldest first. A thread has at most one such job
// waiting or running (unique by args), which is what orders its replies.
type ReplyArgs struct {
	UserID   uuid.UUID `json:"user_id" river:"unique"`
	ThreadID string    `json:"thread_id" river:"unique"`
}

// Kind names the job in River's table.
func (ReplyArgs) Kind() string { return "chat_reply" }

// InsertOpts puts reply jobs on their queue, one per thread: a message sent
// while its thread's job waits or runs adds no second job (that job answers
// it), while a job that completed or was discarded does not stand in the way.
func (ReplyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: maxAttempts, UniqueOpts: river.UniqueOpts{
		ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled},
	}}
}

// Hub is what the worker needs of *pubsub.Hub: streaming chunks to every
// instance, and hearing of messages that interrupt a reply.
type Hub interface {
	Stream(pubsub.Event) error
	// Flush waits until what Stream took has gone out to the other
	// instances, so that the stored reply (and its last, done chunk) reach
	// them after the other chunks.
	Flush(context.Context) error
	Subscribe(user uuid.UUID, match func(*pubsub.Event) bool) *pubsub.Subscription
}

// Worker generates agents' replies as River jobs: it streams them from the
// LLM, publishes every chunk, then stores the reply with its usage, XP and
// feed events. A client that disconnects does not cancel a reply. At
// shutdown, running replies get their own deadline to finish (Drain); one
// still running then is cut and left to the next instance, which generates
// it again from the start (its subscribers see a chunk with restart set).
type Worker struct {
	river.WorkerDefaults[ReplyArgs]
	store *store.Store
	llm   *llm.Client
	hub   Hub
	log   *slog.Logger
	lim   Limits
	// draining: the instance is shutting down; a job starts no new reply.
	draining atomic.Bool
	// recall retrieves knowledge for a reply (SetRetriever); nil: none.
	recall Retriever
}

// Limits bound what replies may cost.
type Limits struct {
	// MaxReplyTokens caps every reply (max_tokens), and is the cap of an
	// agent without one of its own (DefaultMaxReplyTokens when zero).
	MaxReplyTokens int
	// PerUser caps one user's replies generated at once across instances
	// (DefaultPerUser when zero): more wait, as jobs. Checked when a job
	// starts, so a burst of simultaneous starts may pass it by a few.
	PerUser int
	// Spend checks the user's monthly budget before each reply; nil: none.
	Spend *spend.Service
}

// Defaults of Limits.
const (
	DefaultMaxReplyTokens = 4096
	DefaultPerUser        = 4
)

// Retriever finds the entries of the collections an agent may read that are
// relevant to a message (knowledge.Engine), logging the query's embedding.
type Retriever interface {
	Recall(ctx context.Context, user, agent uuid.UUID, query string, limit int) ([]store.Recalled, error)
}

// SetRetriever makes replies recall knowledge; call before jobs start.
func (w *Worker) SetRetriever(r Retriever) { w.recall = r }

// recallLimit is how many entries a reply retrieves at most; BuildPrompt
// keeps those that fit knowledgeTokenBudget.
const recallLimit = 8

// NewWorker returns a Worker; register it with river.AddWorker.
func NewWorker(s *store.Store, c *llm.Client, hub Hub, log *slog.Logger, lim Limits) *Worker {
	if lim.MaxReplyTokens <= 0 {
		lim.MaxReplyTokens = DefaultMaxReplyTokens
	}
	if lim.PerUser <= 0 {
		lim.PerUser = DefaultPerUser
	}
	return &Worker{store: s, llm: c, hub: hub, log: log, lim: lim}
}

// CheckBudget answers BUDGET_EXCEEDED when user has spent this month's
// budget (sendMessage then stores the message without asking a reply).
func (w *Worker) CheckBudget(ctx context.Context, user uuid.UUID) error {
	return w.lim.Spend.Check(ctx, user)
}

// maxTokens is a reply's max_tokens: the agent's own cap within the server's.
func (w *Worker) maxTokens(a *domain.Agent) int {
	if n := a.Personality.MaxTokens; n != nil && *n > 0 && *n < w.lim.MaxReplyTokens {
		return *n
	}
	return w.lim.MaxReplyTokens
}

// Available reports whether the model's provider is configured.
func (w *Worker) Available(model string) error { return w.llm.Available(model) }

// Enqueue adds the reply job of user's thread inside tx, the transaction
// storing the message it will answer (unless the thread has one already).
func (w *Worker) Enqueue(ctx context.Context, jc *jobs.Client, tx pgx.Tx, user uuid.UUID, thread string) error {
	if _, err := jc.InsertTx(ctx, tx, ReplyArgs{UserID: user, ThreadID: thread}, nil); err != nil {
		return fmt.Errorf("enqueue reply: %w", err)
	}
	return nil
}

// replyBound is the longest one reply may take: the LLM call, then storing.
func (w *Worker) replyBound() time.Duration { return w.llm.Timeout() + flushTimeout + saveTimeout }

// Timeout bounds one run of a reply job: the last reply it may start, plus
// that reply's bound.
func (w *Worker) Timeout(*river.Job[ReplyArgs]) time.Duration { return startBudget + w.replyBound() }

// RescueAfter is how long a reply job may run before River takes its
// instance for dead and runs it again elsewhere (jobs.Config.RescueAfter).
func (w *Worker) RescueAfter() time.Duration { return w.Timeout(nil) + rescueMargin }

// NextRetry backs off exponentially from one second, capped at maxBackoff:
// the River default grows to days, and a reply should follow as soon as the
// database is back.
func (w *Worker) NextRetry(job *river.Job[ReplyArgs]) time.Time {
	d := maxBackoff
	if job.Attempt < 9 {
		d = min(maxBackoff, time.Second<<job.Attempt)
	}
	return time.Now().Add(d)
}

// Shutdown stops working jobs: replies in flight get until ctx ends to
// finish, and start no other; then the rest are cut and stay jobs, to be
// generated again by the next instance (snoozed, not failed: a cut costs no
// attempt). It returns once no reply runs here.
func (w *Worker) Shutdown(ctx context.Context, jc *jobs.Client) {
	w.draining.Store(true)
	if jc.Stop(ctx) == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	if err := jc.StopAndCancel(cctx); err != nil {
		w.log.Warn("replies did not stop in time; River runs them again elsewhere", "err", err)
	}
}

// errShutdown: the job's context ended (the instance stops, or the job ran
// out of time) while a reply streamed.
var errShutdown = errors.New("reply cut by shutdown")

// Work answers the thread's awaiting messages in order until none is left,
// then completes the job in the same transaction as that finding.
func (w *Worker) Work(ctx context.Context, job *river.Job[ReplyArgs]) error {
	start := time.Now()
	user, thread := job.Args.UserID, job.Args.ThreadID
	running, err := jobs.RunningBefore(ctx, w.store.Pool(), ReplyArgs{}.Kind(), "user_id", user.String(), job.ID)
	if err != nil {
		return fmt.Errorf("replies in flight: %w", err)
	}
	if running >= w.lim.PerUser {
		return river.JobSnooze(time.Second) // the user's other replies first
	}
	for {
		next, err := w.store.NextAwaiting(ctx, user, thread)
		if err != nil {
			return fmt.Errorf("next message: %w", err)
		}
		if next == nil {
			idle, err := w.store.CompleteIfIdle(ctx, user, thread, jobs.CompleteTx(job))
			if err != nil {
				return fmt.Errorf("complete: %w", err)
			}
			if idle {
				return nil
			}
			continue
		}
		if w.draining.Load() || time.Since(start) > startBudget {
			return river.JobSnooze(0)
		}
		if err := w.answer(ctx, next); err != nil {
			if errors.Is(err, errShutdown) {
				return river.JobSnooze(0)
			}
			return err
		}
	}
}

// replyID is the id of the reply to msg: the same on every attempt, so a
// stream that starts over keeps its messageId.
func replyID(msg uuid.UUID) uuid.UUID { return uuid.NewSHA1(msg, []byte("reply")) }

// errInterrupted cuts a reply when a message interrupting it arrives.
var errInterrupted = errors.New("reply interrupted by a newer message")

// answer generates and stores the reply to one awaiting message. An error
// means nothing was stored and the job should run again: errShutdown when
// the job's context ended, a database error otherwise.
func (w *Worker) answer(ctx context.Context, next *store.Awaiting) error {
	msg, agent := next.Message, next.Agent
	user := msg.UserID
	log := w.log.With("user", user, "thread", msg.ThreadID, "message", msg.ID)
	if agent == nil || agent.Status == domain.AgentStatusDestroyed || next.Superseded {
		// No one to answer, or a later message cut this one short before
		// its reply began: that message's reply has this one in context.
		log.Info("reply skipped", "agent_gone", agent == nil || agent.Status == domain.AgentStatusDestroyed,
			"superseded", next.Superseded)
		return w.store.SkipAwaiting(ctx, user, msg.ID)
	}
	id := replyID(msg.ID)
	log = log.With("agent", agent.ID, "reply", id)
	if err := w.lim.Spend.Check(ctx, user); err != nil {
		if !apperr.Is(err, apperr.BudgetExceeded) {
			return err
		}
		// Not generated, and said so in the thread: the message is kept.
		log.Info("reply not generated: monthly budget reached")
		w.endStream(ctx, log, msg, id, 1)
		r := w.reply(agent, msg, id, "", domain.MessageFailed, agent.Personality.Model, llm.Usage{}, err)
		return w.save(ctx, log, r)
	}
	pc, err := w.store.LoadPromptContext(ctx, user, agent.ID, msg, historyMessages)
	if err != nil {
		if ctx.Err() != nil {
			return errShutdown
		}
		return fmt.Errorf("load prompt context: %w", err)
	}
	if w.recall != nil {
		// Access is read now, so a revoked collection is gone from this
		// reply on. A reply without knowledge beats no reply.
		if pc.Knowledge, err = w.recall.Recall(ctx, user, agent.ID, msg.Content, recallLimit); err != nil {
			if ctx.Err() != nil {
				return errShutdown
			}
			log.Warn("reply: knowledge retrieval failed; replying without it", "err", err)
		}
	}
	req := llm.Request{Model: agent.Personality.Model, Messages: BuildPrompt(agent, pc), MaxTokens: w.maxTokens(agent)}
	// A reply begun before and cut (its instance stopped or died) tells the
	// stream's subscribers to drop what they showed.
	restart := pc.Attempt > 1

	// A message sent with interrupt: true, on any instance, cuts this reply.
	sctx, cut := context.WithCancelCause(ctx)
	defer cut(nil)
	sub := w.hub.Subscribe(user, func(ev *pubsub.Event) bool {
		return ev.Topic == msg.ThreadID && pubsub.Interrupts(ev)
	})
	defer sub.Close()
	go func() {
		select {
		case _, ok := <-sub.C():
			// A closed channel (the hub stopped) is no interrupt: the
			// reply goes on, or is cut by shutdown like any other.
			if ok {
				cut(errInterrupted)
			}
		case <-sctx.Done():
		}
	}()

	var (
		content strings.Builder
		seq     int64
		usage   llm.Usage
	)
	stream, err := w.llm.Stream(sctx, req)
	if err == nil {
		for {
			delta, rerr := stream.Recv()
			if rerr != nil {
				if !errors.Is(rerr, io.EOF) {
					err = rerr
				}
				break
			}
			if delta == "" {
				continue
			}
			content.WriteString(delta)
			seq++
			w.publish(pubsub.ChunkEvent(user, msg.ThreadID, id, seq, pubsub.Chunk{Delta: delta, Restart: restart && seq == 1}))
		}
		usage = stream.Usage()
		stream.Close()
	}
	interrupted := errors.Is(context.Cause(sctx), errInterrupted)
	if err != nil && ctx.Err() != nil && !interrupted {
		// Cut by shutdown: nothing is stored, the job runs again (here or on
		// another instance) and generates the whole reply anew.
		log.Info("reply cut by shutdown; left to the next run", "chunks", seq)
		return errShutdown
	}
	w.endStream(ctx, log, msg, id, seq+1)
	status := domain.MessageComplete
	switch {
	case interrupted:
		status = domain.MessageInterrupted
	case err != nil && content.Len() > 0:
		status = domain.MessageInterrupted
		log.Warn("reply ended early", "status", status, "err", err)
	case err != nil:
		status = domain.MessageFailed
		log.Warn("reply failed", "err", err)
	}
	r := w.reply(agent, msg, id, clean(content.String()), status, req.Model, usage, err)
	return w.save(ctx, log, r)
}

// endStream sends the stream's last chunk (done) and waits until every chunk
// has gone out to the other instances. Through the hub like the others: the
// next reply's first chunk, delivered here at once, cannot overtake it, as
// it could a NOTIFY sent with the stored reply. Before the reply is stored:
// messageAdded follows it everywhere.
func (w *Worker) endStream(ctx context.Context, log *slog.Logger, msg *domain.Message, id uuid.UUID, seq int64) {
	w.publish(pubsub.ChunkEvent(msg.UserID, msg.ThreadID, id, seq, pubsub.Chunk{Done: true}))
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if err := w.hub.Flush(fctx); err != nil {
		log.Warn("reply: flush chunks", "err", err)
	}
}

// publish streams a chunk; the stored message is the record, so a lost
// chunk only costs a live viewer a few characters.
func (w *Worker) publish(ev pubsub.Event) {
	if err := w.hub.Stream(ev); err != nil {
		w.log.Warn("reply: publish chunk", "err", err)
	}
}

// clean makes generated text storable: Postgres refuses NUL bytes and
// invalid UTF-8 in text, and one stray byte must not lose a whole reply.
func clean(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func (w *Worker) reply(agent *domain.Agent, msg *domain.Message, id uuid.UUID, content string,
	status domain.MessageStatus, modelName string, usage llm.Usage, cause error) store.Reply {
	cost, known := w.llm.Cost(modelName, usage.InputTokens, usage.OutputTokens)
	if !known {
		w.log.Warn("no price for model; usage logged at 0 cents", "model", modelName)
	}
	r := store.Reply{
		ID: id, UserID: msg.UserID, Agent: agent, ThreadID: msg.ThreadID, ReplyTo: msg.ID, Content: content, Status: status,
		Model: modelName, Provider: string(llm.ProviderFor(modelName)),
		Input: usage.InputTokens, Output: usage.OutputTokens, CostCents: cost,
		FeedType: "reply_done", FeedMessage: agent.Name + " replied",
	}
	switch status {
	case domain.MessageComplete:
		r.XP = xpPerReply + usage.OutputTokens/tokensPerPoint
	case domain.MessageInterrupted:
		r.XP = usage.OutputTokens / tokensPerPoint
		r.FeedType, r.FeedMessage = "reply_failed", agent.Name+"'s reply was interrupted"
	default:
		r.FeedType, r.FeedMessage = "reply_failed", fmt.Sprintf("%s could not reply: %s", agent.Name, reason(cause))
	}
	return r
}

// save stores r, retrying a failing database for up to saveTimeout even
// while the server shuts down (what was generated and paid for should not
// be generated twice); past that the job fails and runs again later.
func (w *Worker) save(ctx context.Context, log *slog.Logger, r store.Reply) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	delay := 100 * time.Millisecond
	for {
		level, up, err := w.store.SaveReply(sctx, r)
		switch {
		case err == nil:
			log.Info("reply stored", "status", r.Status, "input_tokens", r.Input, "output_tokens", r.Output,
				"cost_cents", r.CostCents, "level", level, "level_up", up)
			return nil
		case errors.Is(err, store.ErrAnswered):
			log.Info("reply already stored by an earlier run")
			return nil
		}
		log.Warn("reply: store", "err", err)
		select {
		case <-sctx.Done():
			return fmt.Errorf("store reply: %w", err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// reason is a failure as the feed shows it: never the provider's own text,
// which may echo request details.
func reason(err error) string {
	if err == nil {
		return "unknown error"
	}
	if llm.IsUnavailable(err) {
		return "the model provider is unavailable"
	}
	if apperr.Is(err, apperr.BudgetExceeded) {
		return "the monthly budget is reached"
	}
	return "the model provider answered an error"
}
