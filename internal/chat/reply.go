package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/model"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/store"
)

// Prompt budget: the history sent with a reply is the latest messages that
// fit, estimated at 4 characters a token.
const (
	historyMessages    = 50
	historyTokenBudget = 6000
	// saveTimeout bounds storing a reply after its stream ended, even when
	// the server is shutting down: what was generated must not be lost.
	saveTimeout = 10 * time.Second
	// flushTimeout bounds the wait for the chunks' NOTIFYs before the reply
	// is stored; storing it does not depend on them.
	flushTimeout = 2 * time.Second
)

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

// Worker generates agents' replies in the background: it streams them from
// the LLM, publishes every chunk, then stores the reply with its usage, XP
// and feed events. A client that disconnects does not cancel a reply; a
// shutdown waits for replies a bounded time, then cuts them and stores what
// they had as INTERRUPTED.
type Worker struct {
	store  *store.Store
	llm    *llm.Client
	chunks Chunks
	log    *slog.Logger

	ctx    context.Context // parent of every reply; cancelled by Shutdown
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Chunks publishes a reply's chunks: *pubsub.Hub, which delivers them to
// its own subscribers at once and NOTIFYs the other instances in batches.
type Chunks interface {
	Stream(pubsub.Event) error
	// Flush waits until what Stream took has gone out to the other
	// instances, so that the stored reply (and its last, done chunk) reach
	// them after the other chunks.
	Flush(context.Context) error
}

// NewWorker returns a Worker that publishes chunks through chunks.
func NewWorker(s *store.Store, c *llm.Client, chunks Chunks, log *slog.Logger) *Worker {
	ctx, cancel := context.WithCancel(context.Background())
	return &Worker{store: s, llm: c, chunks: chunks, log: log, ctx: ctx, cancel: cancel}
}

// Available reports whether the model's provider is configured.
func (w *Worker) Available(model string) error { return w.llm.Available(model) }

// Reply starts the agent's reply to msg.
func (w *Worker) Reply(user uuid.UUID, agent *model.Agent, msg *model.Message) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.reply(user, agent, msg)
	}()
}

// Shutdown waits for replies in flight until ctx ends, then cuts the rest,
// which store what they generated as INTERRUPTED, and waits for that.
func (w *Worker) Shutdown(ctx context.Context) {
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	w.cancel()
	<-done
}

func (w *Worker) reply(user uuid.UUID, agent *model.Agent, msg *model.Message) {
	id := uuid.New()
	log := w.log.With("user", user, "agent", agent.ID, "thread", msg.ThreadID, "reply", id)
	pc, err := w.store.LoadPromptContext(w.ctx, user, agent.ID, msg.ThreadID, historyMessages)
	if err != nil {
		log.Error("reply: load prompt context", "err", err)
		return
	}
	req := llm.Request{Model: agent.Personality.Model, Messages: BuildPrompt(agent, pc)}
	var (
		content strings.Builder
		seq     int64
		usage   llm.Usage
		status  = model.MessageComplete
	)
	stream, err := w.llm.Stream(w.ctx, req)
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
			w.publishChunk(user, msg.ThreadID, id, seq, delta)
		}
		usage = stream.Usage()
		stream.Close()
	}
	if seq > 0 {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), flushTimeout)
		if ferr := w.chunks.Flush(fctx); ferr != nil {
			log.Warn("reply: flush chunks", "err", ferr)
		}
		cancel()
	}
	if err != nil {
		status = model.MessageFailed
		if content.Len() > 0 || w.ctx.Err() != nil {
			status = model.MessageInterrupted
		}
		log.Warn("reply ended early", "status", status, "err", err)
	}
	w.save(log, user, agent, msg.ThreadID, id, seq+1, content.String(), status, req.Model, usage, err)
}

func (w *Worker) publishChunk(user uuid.UUID, thread string, id uuid.UUID, seq int64, delta string) {
	data, _ := json.Marshal(map[string]any{"delta": delta, "done": false})
	ev := pubsub.Event{Kind: pubsub.KindChunk, UserID: user, Topic: thread, ID: id.String(), Seq: seq, Data: data}
	if err := w.chunks.Stream(ev); err != nil {
		// The stored message is the record; a lost chunk only costs a live viewer a few characters.
		w.log.Warn("reply: publish chunk", "err", err)
	}
}

func (w *Worker) save(log *slog.Logger, user uuid.UUID, agent *model.Agent, thread string, id uuid.UUID, doneSeq int64,
	content string, status model.MessageStatus, modelName string, usage llm.Usage, cause error) {
	cost, known := w.llm.Cost(modelName, usage.InputTokens, usage.OutputTokens)
	if !known {
		log.Warn("no price for model; usage logged at 0 cents", "model", modelName)
	}
	r := store.Reply{
		ID: id, UserID: user, Agent: agent, ThreadID: thread, Content: content, Status: status,
		Model: modelName, Provider: string(llm.ProviderFor(modelName)),
		Input: usage.InputTokens, Output: usage.OutputTokens, CostCents: cost, DoneSeq: doneSeq,
		FeedType: "reply_done", FeedMessage: agent.Name + " replied",
	}
	switch status {
	case model.MessageComplete:
		r.XP = xpPerReply + usage.OutputTokens/tokensPerPoint
	case model.MessageInterrupted:
		r.XP = usage.OutputTokens / tokensPerPoint
		r.FeedType, r.FeedMessage = "reply_failed", agent.Name+"'s reply was interrupted"
	default:
		r.FeedType, r.FeedMessage = "reply_failed", fmt.Sprintf("%s could not reply: %s", agent.Name, reason(cause))
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), saveTimeout)
	defer cancel()
	level, up, err := w.store.SaveReply(ctx, r)
	if err != nil {
		log.Error("reply: store", "err", err)
		return
	}
	log.Info("reply stored", "status", status, "input_tokens", usage.InputTokens,
		"output_tokens", usage.OutputTokens, "cost_cents", cost, "level", level, "level_up", up)
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
	return "the model provider answered an error"
}
