// Package feed is the activity feed's domain: posting to it (createFeedEvent).
// Reading it is the store's (Store.Feed); the system's own events (replies,
// level-ups, agents created or destroyed) are written with the changes they
// announce.
package feed

import (
	"context"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// MaxMessage is the longest feed message, in characters (README.md).
const MaxMessage = 2000

// Service posts to the viewer's feed.
type Service struct{ store *store.Store }

// New returns a Service on s.
func New(s *store.Store) *Service { return &Service{store: s} }

var feedTypeHint = "must be 1 to 64 lowercase letters, digits or '_', starting with a letter (like task_completed)"

// Create posts an event to the viewer's feed.
func (s *Service) Create(ctx context.Context, in domain.FeedEventInput) (*domain.FeedEvent, error) {
	var c validate.Checker
	c.FeedType("input.type", in.Type, feedTypeHint)
	c.Required("input.message", in.Message, MaxMessage)
	if err := c.Err(); err != nil {
		return nil, err
	}
	n := store.NewFeedEvent{ID: uuid.New(), Type: in.Type, Message: in.Message}
	if in.AgentID != nil {
		id, err := validate.ID("input.agentId", *in.AgentID)
		if err != nil {
			return nil, err
		}
		n.AgentID = &id
	}
	return s.store.AddFeedEvent(ctx, n)
}
