// Package profile is the domain of the user's own profile (personalization).
package profile

import (
	"context"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// Input limits, in characters (README.md lists them for clients).
const (
	MaxShort   = 200   // occupation, company, social handles
	MaxMedium  = 2000  // bio, goals, interests
	MaxAboutMe = 10000 // about me
)

// Service runs the profile operations.
type Service struct{ store *store.Store }

// New returns a Service.
func New(s *store.Store) *Service { return &Service{store: s} }

// Get returns the caller's personalization, nil before the first update.
func (s *Service) Get(ctx context.Context) (*domain.Personalization, error) {
	return s.store.Personalization(ctx)
}

// Update merges in into the caller's personalization: omitted fields keep
// their value, empty strings clear them.
func (s *Service) Update(ctx context.Context, in domain.Personalization) (*domain.Personalization, error) {
	var c validate.Checker
	c.Optional("input.bio", in.Bio, MaxMedium)
	c.Optional("input.occupation", in.Occupation, MaxShort)
	c.Optional("input.company", in.Company, MaxShort)
	c.Optional("input.goals", in.Goals, MaxMedium)
	c.Optional("input.interests", in.Interests, MaxMedium)
	c.Optional("input.aboutMe", in.AboutMe, MaxAboutMe)
	c.Optional("input.twitter", in.Twitter, MaxShort)
	c.Optional("input.linkedin", in.Linkedin, MaxShort)
	c.Optional("input.github", in.Github, MaxShort)
	c.Optional("input.instagram", in.Instagram, MaxShort)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return s.store.UpdatePersonalization(ctx, in)
}
