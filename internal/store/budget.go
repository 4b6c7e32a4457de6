package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agentgraph/agentgraph/internal/pubsub"
)

// monthSpentSQL sums a user's usage cost this calendar month (UTC); the
// usage_logs (user_id, created_at) index serves it.
const monthSpentSQL = `select coalesce(sum(cost_cents), 0)::float8 from usage_logs
	where user_id = $1 and created_at >= date_trunc('month', now() at time zone 'utc') at time zone 'utc'`

// Spend is a user's own monthly budget (nil: none set) and what they spent
// this month, in cents.
type Spend struct {
	Own   *float64
	Spent float64
}

// ViewerSpend reads the caller's budget setting and this month's spend.
func (s *Store) ViewerSpend(ctx context.Context) (Spend, error) {
	uid, err := userID(ctx)
	if err != nil {
		return Spend{}, err
	}
	return s.spend(ctx, uid, s.run)
}

// UserSpend is ViewerSpend for background work, as the service role.
func (s *Store) UserSpend(ctx context.Context, user uuid.UUID) (Spend, error) {
	return s.spend(ctx, user, s.runService)
}

func (s *Store) spend(ctx context.Context, user uuid.UUID, run func(context.Context, *pgx.Batch) error) (Spend, error) {
	var sp Spend
	b := &pgx.Batch{}
	b.Queue(`select monthly_budget_cents::float8 from user_budgets where user_id = $1`, user).Query(func(rows pgx.Rows) error {
		own, err := pgx.CollectRows(rows, pgx.RowTo[*float64])
		if len(own) > 0 {
			sp.Own = own[0]
		}
		return err
	})
	b.Queue(monthSpentSQL, user).QueryRow(func(r pgx.Row) error { return r.Scan(&sp.Spent) })
	return sp, run(ctx, b)
}

// SetBudget sets the caller's monthly budget in cents; nil clears it.
func (s *Store) SetBudget(ctx context.Context, cents *float64) error {
	uid, err := userID(ctx)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(`insert into user_budgets as b (user_id, monthly_budget_cents) values ($1, $2)
		on conflict (user_id) do update set monthly_budget_cents = excluded.monthly_budget_cents, updated_at = now()`, uid, cents)
	return s.run(ctx, b)
}

// NoteBudgetExceeded posts "budget_exceeded" to the user's feed once a
// month: it reports whether this call posted it (the conditional update
// decides, so two instances never both post).
func (s *Store) NoteBudgetExceeded(ctx context.Context, user uuid.UUID, message string) (bool, error) {
	feedID := uuid.New()
	ev, err := pubsub.Encode(pubsub.Event{Kind: pubsub.KindFeed, UserID: user, ID: feedID.String()})
	if err != nil {
		return false, err
	}
	posted := false
	b := &pgx.Batch{}
	b.Queue(`with month as (select (date_trunc('month', now() at time zone 'utc'))::date as m),
		noted as (insert into user_budgets as b (user_id, notified_month) select $1, m from month
			on conflict (user_id) do update set notified_month = excluded.notified_month
			where b.notified_month is distinct from excluded.notified_month returning 1)
		insert into feed_events (id, user_id, type, message) select $2, $1, 'budget_exceeded', $3 from noted`,
		user, feedID, message).Exec(func(ct pgconn.CommandTag) error {
		posted = ct.RowsAffected() == 1
		return nil
	})
	b.Queue(`select pg_notify($1, $2) from feed_events where id = $3`, pubsub.Channel, ev, feedID)
	return posted, s.runService(ctx, b)
}
