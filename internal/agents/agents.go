// Package agents is the domain of agents: their settings, skills and training
// data. It validates input against the documented limits and leaves
// ownership to the store, where Row Level Security enforces it.
package agents

import (
	"context"
	"strings"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// Input limits, in characters (README.md lists them for clients).
const (
	MaxName  = 100
	MaxModel = 100
	MaxStyle = 200 // tone, verbosity
	// MaxReplyTokens bounds an agent's own reply cap (the server's MAX_REPLY_TOKENS caps it too).
	MaxReplyTokens  = 100000
	MaxLongText     = 10000
	MaxSkillName    = 100
	MaxCategory     = 50
	MaxSkillLevel   = 100
	MaxTrainingText = 20000
	MaxTitle        = 200
)

// Prices is the price table agents' models are checked against
// (llm.Prices: the built-in table with LLM_PRICES over it).
type Prices interface {
	// Priced reports whether model has a price.
	Priced(model string) bool
	// Models lists the models that may be chosen.
	Models() []string
}

// Service runs the agent operations.
type Service struct {
	store        *store.Store
	defaultModel string
	prices       Prices
}

// New returns a Service; agents created without a model get defaultModel.
// Only models with a price may be chosen: a reply from an unpriced model
// would cost money that no usage log shows.
func New(s *store.Store, defaultModel string, prices Prices) *Service {
	return &Service{store: s, defaultModel: defaultModel, prices: prices}
}

func (s *Service) checkPersonality(c *validate.Checker, p *domain.PersonalityInput) {
	if p == nil {
		return
	}
	c.NotBlank("input.personality.model", p.Model, MaxModel)
	c.Optional("input.personality.tone", p.Tone, MaxStyle)
	c.Optional("input.personality.verbosity", p.Verbosity, MaxStyle)
	if p.MaxTokens != nil && (*p.MaxTokens < 0 || *p.MaxTokens > MaxReplyTokens) {
		c.Fail("input.personality.maxTokens", "must be from 1 to %d (0 on update: the server's default)", MaxReplyTokens)
	}
	if p.Model != nil && strings.TrimSpace(*p.Model) != "" && len(*p.Model) <= MaxModel && !s.prices.Priced(*p.Model) {
		c.Fail("input.personality.model", "%q has no price on this server; choose one of %s (or a dated version of one)",
			*p.Model, strings.Join(s.prices.Models(), ", "))
	}
}

func checkTexts(c *validate.Checker, objective, instructions, background, email *string) {
	c.Optional("input.objective", objective, MaxLongText)
	c.Optional("input.instructions", instructions, MaxLongText)
	c.Optional("input.background", background, MaxLongText)
	c.Email("input.emailAddress", email)
}

// Create creates an agent; with isHead it becomes the head agent in place of
// the previous one.
func (s *Service) Create(ctx context.Context, in domain.CreateAgentInput) (*domain.Agent, error) {
	var c validate.Checker
	c.Required("input.name", in.Name, MaxName)
	s.checkPersonality(&c, in.Personality)
	checkTexts(&c, in.Objective, in.Instructions, in.Background, in.EmailAddress)
	if err := c.Err(); err != nil {
		return nil, err
	}
	n := store.NewAgent{
		Name: in.Name, Type: in.Type, TrustTier: domain.TrustTierObserver,
		Personality:  domain.Personality{Model: s.defaultModel},
		Objective:    emptyToNil(in.Objective),
		Instructions: emptyToNil(in.Instructions),
		Background:   emptyToNil(in.Background),
		EmailAddress: emptyToNil(in.EmailAddress),
		IsHead:       in.IsHead != nil && *in.IsHead,
	}
	if in.TrustTier != nil {
		n.TrustTier = *in.TrustTier
	}
	if p := in.Personality; p != nil {
		if p.Model != nil {
			n.Personality.Model = *p.Model
		}
		n.Personality.Tone, n.Personality.Verbosity = emptyToNil(p.Tone), emptyToNil(p.Verbosity)
		if p.MaxTokens != nil && *p.MaxTokens > 0 {
			n.Personality.MaxTokens = p.MaxTokens
		}
	}
	return s.store.CreateAgent(ctx, n)
}

// Update changes an agent. Setting status DESTROYED is the same as Destroy.
func (s *Service) Update(ctx context.Context, id string, in domain.UpdateAgentInput) (*domain.Agent, error) {
	aid, err := validate.ID("id", id)
	if err != nil {
		return nil, err
	}
	var c validate.Checker
	c.NotBlank("input.name", in.Name, MaxName)
	s.checkPersonality(&c, in.Personality)
	checkTexts(&c, in.Objective, in.Instructions, in.Background, in.EmailAddress)
	if err := c.Err(); err != nil {
		return nil, err
	}
	if in.IsHead != nil && *in.IsHead && in.Status != nil && *in.Status == domain.AgentStatusDestroyed {
		return nil, apperr.Invalid("input.isHead", "a destroyed agent cannot be the head agent")
	}
	p := store.AgentPatch{
		Name: in.Name, Status: in.Status, TrustTier: in.TrustTier,
		Objective: in.Objective, Instructions: in.Instructions, Background: in.Background,
		EmailAddress: in.EmailAddress, IsHead: in.IsHead,
	}
	if in.Personality != nil {
		p.Model, p.Tone, p.Verbosity = in.Personality.Model, in.Personality.Tone, in.Personality.Verbosity
		p.MaxTokens = in.Personality.MaxTokens
	}
	return s.store.UpdateAgent(ctx, aid, p)
}

// Destroy marks an agent destroyed; its data is kept.
func (s *Service) Destroy(ctx context.Context, id string) (*domain.Agent, error) {
	aid, err := validate.ID("id", id)
	if err != nil {
		return nil, err
	}
	return s.store.DestroyAgent(ctx, aid)
}

// InstallSkill installs a skill on an agent.
func (s *Service) InstallSkill(ctx context.Context, agentID string, in domain.SkillInput) (*domain.Skill, error) {
	aid, err := validate.ID("agentId", agentID)
	if err != nil {
		return nil, err
	}
	var c validate.Checker
	c.Slug("input.slug", in.Slug)
	c.Required("input.name", in.Name, MaxSkillName)
	c.Optional("input.category", in.Category, MaxCategory)
	c.IntRange("input.level", in.Level, 1, MaxSkillLevel)
	if err := c.Err(); err != nil {
		return nil, err
	}
	level := 1
	if in.Level != nil {
		level = *in.Level
	}
	return s.store.InstallSkill(ctx, aid, store.NewSkill{
		Slug: in.Slug, Name: in.Name, Category: emptyToNil(in.Category), Level: level,
	})
}

// UninstallSkill removes a skill; false when the agent did not have it.
func (s *Service) UninstallSkill(ctx context.Context, agentID, slug string) (bool, error) {
	aid, err := validate.ID("agentId", agentID)
	if err != nil {
		return false, err
	}
	var c validate.Checker
	c.Slug("slug", slug)
	if err := c.Err(); err != nil {
		return false, err
	}
	return s.store.UninstallSkill(ctx, aid, slug)
}

// AddTraining adds training data to an agent.
func (s *Service) AddTraining(ctx context.Context, agentID string, in domain.TrainingDataInput) (*domain.TrainingData, error) {
	aid, err := validate.ID("agentId", agentID)
	if err != nil {
		return nil, err
	}
	var c validate.Checker
	c.Required("input.title", in.Title, MaxTitle)
	c.Required("input.content", in.Content, MaxTrainingText)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return s.store.AddTraining(ctx, aid, in)
}

// UpdateTraining changes training data.
func (s *Service) UpdateTraining(ctx context.Context, id string, in domain.UpdateTrainingDataInput) (*domain.TrainingData, error) {
	tid, err := validate.ID("id", id)
	if err != nil {
		return nil, err
	}
	var c validate.Checker
	c.NotBlank("input.title", in.Title, MaxTitle)
	c.NotBlank("input.content", in.Content, MaxTrainingText)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return s.store.UpdateTraining(ctx, tid, in)
}

// SetTrainingEnabled includes or leaves out training data from prompts.
func (s *Service) SetTrainingEnabled(ctx context.Context, id string, enabled bool) (*domain.TrainingData, error) {
	return s.UpdateTraining(ctx, id, domain.UpdateTrainingDataInput{Enabled: &enabled})
}

// RemoveTraining deletes training data.
func (s *Service) RemoveTraining(ctx context.Context, id string) error {
	tid, err := validate.ID("id", id)
	if err != nil {
		return err
	}
	return s.store.RemoveTraining(ctx, tid)
}

// emptyToNil stores an empty optional text as NULL.
func emptyToNil(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}
