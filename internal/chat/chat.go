// Package chat is the domain of conversations: storing what users say,
// publishing it, and handing messages to an agent for a reply.
package chat

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/jobs"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// Input limits, in characters (README.md lists them for clients).
const (
	MaxContent = 20000
)

// DirectSuffix makes an agent's default thread id: "<agentId>:direct".
const DirectSuffix = ":direct"

// Service runs the chat operations.
type Service struct {
	store   *store.Store
	replies *Worker      // nil: messages are stored, no agent replies
	jobs    *jobs.Client // inserts the reply jobs replies works
}

// New returns a Service; replies may be nil (then no agent replies).
func New(s *store.Store, replies *Worker, jc *jobs.Client) *Service {
	return &Service{store: s, replies: replies, jobs: jc}
}

// Send stores the viewer's message and publishes it, then, when the thread
// has an agent, asks the agent for a reply in the background. The message is
// stored and returned whatever happens to the reply: when no reply can be
// generated (the model's provider is not configured), noReply says why
// (LLM_UNAVAILABLE) next to the stored message.
func (s *Service) Send(ctx context.Context, in domain.SendMessageInput) (msg *domain.Message, noReply error, err error) {
	u, err := auth.Require(ctx)
	if err != nil {
		return nil, nil, err
	}
	var c validate.Checker
	c.Required("input.content", in.Content, MaxContent)
	if in.ThreadID != nil {
		c.ThreadID("input.threadId", *in.ThreadID)
	}
	if err := c.Err(); err != nil {
		return nil, nil, err
	}
	var agentID *uuid.UUID
	if in.AgentID != nil {
		id, err := validate.ID("input.agentId", *in.AgentID)
		if err != nil {
			return nil, nil, err
		}
		agentID = &id
	}
	threadID, agentID, err := s.resolveThread(ctx, in.ThreadID, agentID)
	if err != nil {
		return nil, nil, err
	}
	var agent *domain.Agent
	if agentID != nil {
		if agent, err = s.store.Agent(ctx, *agentID); err != nil {
			return nil, nil, err
		}
		if agent.Status == domain.AgentStatusDestroyed {
			return nil, nil, apperr.Invalid("input.agentId", "the agent is destroyed; it takes no more messages")
		}
	}
	n := store.NewMessage{ID: uuid.New(), ThreadID: threadID, Content: in.Content, AgentID: agentID, Interrupt: in.Interrupt}
	var enqueue store.Enqueue
	if agent != nil {
		n.AgentName = &agent.Name
	}
	if agent != nil && s.replies != nil {
		noReply = s.replies.Available(agent.Personality.Model)
		if noReply == nil {
			noReply = s.replies.CheckBudget(ctx, u.ID)
			if noReply != nil && !apperr.Is(noReply, apperr.BudgetExceeded) {
				return nil, nil, noReply
			}
		}
		if noReply == nil {
			enqueue = func(ctx context.Context, tx pgx.Tx) error {
				return s.replies.Enqueue(ctx, s.jobs, tx, u.ID, threadID)
			}
		}
	}
	// The message and the job that answers it commit together.
	if msg, err = s.store.AddUserMessage(ctx, n, enqueue); err != nil {
		return nil, nil, err
	}
	return msg, noReply, nil
}

// resolveThread picks the thread and its agent: an agent's direct thread when
// no thread is named; otherwise the named thread's agent, or the agent a
// "<agentId>:direct" id names.
func (s *Service) resolveThread(ctx context.Context, threadID *string, agentID *uuid.UUID) (string, *uuid.UUID, error) {
	if threadID == nil {
		if agentID == nil {
			return "", nil, apperr.Invalid("input.agentId", "is required when threadId is omitted")
		}
		return agentID.String() + DirectSuffix, agentID, nil
	}
	if agentID != nil {
		return *threadID, agentID, nil
	}
	t, err := s.store.Thread(ctx, *threadID, nil)
	switch {
	case err == nil:
		return *threadID, t.AgentID, nil
	case !apperr.Is(err, apperr.NotFound):
		return "", nil, err
	}
	if prefix, ok := strings.CutSuffix(*threadID, DirectSuffix); ok {
		// Only the canonical spelling names an agent, so one agent has one direct thread.
		if id, err := uuid.Parse(prefix); err == nil && id.String() == prefix {
			return *threadID, &id, nil
		}
	}
	return *threadID, nil, nil // a new thread without an agent: notes to self
}
