// Package spend keeps each user's LLM spend within a monthly budget: the user's own
// (setMonthlyBudget) or the server's default (MONTHLY_BUDGET_CENTS). Spend is what usage_logs
// record this calendar month (UTC), so it holds across instances. Past the budget, replies and
// embeddings answer BUDGET_EXCEEDED, the feed says so once a month, and nothing accepted is
// lost: a message is stored, its reply says why it was not generated.
package spend

import (
	"context"
	"fmt"
	"math"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/store"
)

// MaxCents bounds a budget (numeric(12,2) in user_budgets).
const MaxCents = 1e9

// Budget is a user's monthly budget as the API shows it.
type Budget struct {
	MonthlyCents   *float64
	Custom         bool
	SpentCents     float64
	RemainingCents *float64
	Exceeded       bool
}

// Service checks and sets budgets.
type Service struct {
	store *store.Store
	// def is the server's default monthly budget in cents; nil: none.
	def *float64
}

// New returns a Service with the server's default budget (nil: none).
func New(s *store.Store, defaultCents *float64) *Service {
	return &Service{store: s, def: defaultCents}
}

func (s *Service) budget(sp store.Spend) *Budget {
	b := &Budget{MonthlyCents: s.def, SpentCents: math.Round(sp.Spent*1e4) / 1e4}
	if sp.Own != nil {
		b.MonthlyCents, b.Custom = sp.Own, true
	}
	if b.MonthlyCents != nil {
		left := math.Max(0, *b.MonthlyCents-b.SpentCents)
		b.RemainingCents = &left
		b.Exceeded = b.SpentCents >= *b.MonthlyCents
	}
	return b
}

// Viewer returns the caller's budget.
func (s *Service) Viewer(ctx context.Context) (*Budget, error) {
	sp, err := s.store.ViewerSpend(ctx)
	if err != nil {
		return nil, err
	}
	return s.budget(sp), nil
}

// Set sets the caller's monthly budget (nil: back to the server's default).
func (s *Service) Set(ctx context.Context, cents *float64) (*Budget, error) {
	if cents != nil && (math.IsNaN(*cents) || *cents < 0 || *cents > MaxCents) {
		return nil, apperr.Invalid("cents", "must be from 0 to %.0f", MaxCents)
	}
	if err := s.store.SetBudget(ctx, cents); err != nil {
		return nil, err
	}
	return s.Viewer(ctx)
}

// Check answers BUDGET_EXCEEDED when user has spent this month's budget,
// posting "budget_exceeded" to their feed the first time in the month.
// Background work calls it (as the service role) before each paid call.
func (s *Service) Check(ctx context.Context, user uuid.UUID) error {
	if s == nil {
		return nil
	}
	sp, err := s.store.UserSpend(ctx, user)
	if err != nil {
		return fmt.Errorf("spend: %w", err)
	}
	b := s.budget(sp)
	if !b.Exceeded {
		return nil
	}
	msg := fmt.Sprintf("Monthly budget of %.2f¢ reached (%.2f¢ spent): replies and embeddings pause until next month "+
		"or until the budget is raised", *b.MonthlyCents, b.SpentCents)
	if _, err := s.store.NoteBudgetExceeded(ctx, user, msg); err != nil {
		return fmt.Errorf("spend: %w", err)
	}
	return apperr.New(apperr.BudgetExceeded, "%s", msg)
}
