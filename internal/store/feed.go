package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
	"github.com/agentgraph/agentgraph/internal/pubsub"
)

var feedColumns = []string{"id", "user_id", "agent_id", "type", "message", "created_at"}

var feedCols = cols("", feedColumns)

func scanFeed(row pgx.CollectableRow) (*domain.FeedEvent, error) {
	var f domain.FeedEvent
	return &f, row.Scan(&f.ID, &f.UserID, &f.AgentID, &f.Type, &f.Message, &f.CreatedAt)
}

// FeedFilter selects feed events.
type FeedFilter struct {
	AgentID *uuid.UUID
	Types   []string // empty: every type
}

// feedWhere is the conditions of f, and of the page after a's cursor when
// a is not nil.
func feedWhere(f FeedFilter, a *page.Args) *where {
	w := &where{}
	if f.AgentID != nil {
		w.add("agent_id = ?", *f.AgentID)
	}
	if len(f.Types) > 0 {
		w.add("type = any(?)", f.Types)
	}
	if a != nil && a.After != nil {
		w.add("(created_at, id) < (?, ?::uuid)", a.After.At, a.After.ID)
	}
	return w
}

// feedPage returns the statement selecting cols of the events of a page of
// the feed, newest first, limit rows at most, and its arguments.
func feedPage(cols string, f FeedFilter, a page.Args, limit int) (string, []any) {
	w := feedWhere(f, &a)
	return `select ` + cols + ` from feed_events where ` + w.String() + ` order by created_at desc, id desc limit ` + w.arg(limit), w.args
}

// Feed returns a page of the caller's feed, newest first, with what ahead
// (may be nil) queued for its nested fields in the same round trip.
func (s *Store) Feed(ctx context.Context, f FeedFilter, a page.Args, ahead *Ahead) (page.Page[*domain.FeedEvent], error) {
	var rows []*domain.FeedEvent
	b := &pgx.Batch{}
	sql, args := feedPage(feedCols, f, a, a.Limit())
	all(b, &rows, scanFeed, sql, args...)
	if err := s.runAhead(ctx, setClaimsGenericSQL, b, ahead); err != nil {
		return page.Page[*domain.FeedEvent]{}, err
	}
	return page.Cut(a, rows), nil
}

// CountFeed counts the caller's feed events matching f.
func (s *Store) CountFeed(ctx context.Context, f FeedFilter) (int, error) {
	var n int
	b := &pgx.Batch{}
	w := feedWhere(f, nil)
	b.Queue(`select count(*) from feed_events where `+w.String(), w.args...).
		QueryRow(func(r pgx.Row) error { return r.Scan(&n) })
	return n, s.runAs(ctx, setClaimsGenericSQL, b)
}

// NewFeedEvent is a validated feed event.
type NewFeedEvent struct {
	ID      uuid.UUID
	AgentID *uuid.UUID
	Type    string
	Message string
}

// AddFeedEvent stores a feed event of the caller and publishes it in the same
// transaction.
func (s *Store) AddFeedEvent(ctx context.Context, n NewFeedEvent) (*domain.FeedEvent, error) {
	uid, err := userID(ctx)
	if err != nil {
		return nil, err
	}
	var f *domain.FeedEvent
	b := &pgx.Batch{}
	topic := ""
	if n.AgentID != nil {
		found(b, agentNotFound, `select exists (select 1 from agents where id = $1)`, *n.AgentID)
		topic = n.AgentID.String()
	}
	one(b, &f, scanFeed, "feed event not stored", `insert into feed_events (id, user_id, agent_id, type, message)
		values ($1, $2, $3, $4, $5) returning `+feedCols, n.ID, uid, n.AgentID, n.Type, n.Message)
	if err := pubsub.Notify(b, pubsub.Event{Kind: pubsub.KindFeed, UserID: uid, Topic: topic, ID: n.ID.String()}); err != nil {
		return nil, err
	}
	return f, s.run(ctx, b)
}

// UsageRange bounds a usage query; nil ends are open.
type UsageRange struct {
	From, To *time.Time
}

// usageGroups are the SQL expressions of usage(groupBy).
var usageGroups = map[string]string{
	"DAY":       `to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')`,
	"MODEL":     `model`,
	"AGENT":     `coalesce(agent_id::text, '')`,
	"PROVIDER":  `provider`,
	"OPERATION": `operation`,
}

func scanTotals(dst *domain.UsageTotals) []any {
	return []any{&dst.Calls, &dst.InputTokens, &dst.OutputTokens, &dst.CostCents}
}

const totalsSQL = `count(*)::int, coalesce(sum(input_tokens), 0)::int, coalesce(sum(output_tokens), 0)::int,
	coalesce(sum(cost_cents), 0)::float8`

// Usage sums the caller's usage in r, in total and grouped by groupBy (one
// of DAY, MODEL, AGENT, PROVIDER, OPERATION), in one round trip.
func (s *Store) Usage(ctx context.Context, r UsageRange, groupBy string) (*domain.UsageReport, error) {
	expr, ok := usageGroups[groupBy]
	if !ok {
		expr = usageGroups["DAY"]
	}
	rep := &domain.UsageReport{Buckets: []domain.UsageBucket{}}
	where := `($1::timestamptz is null or created_at >= $1) and ($2::timestamptz is null or created_at < $2)`
	b := &pgx.Batch{}
	b.Queue(`select `+totalsSQL+` from usage_logs where `+where, r.From, r.To).
		QueryRow(func(row pgx.Row) error { return row.Scan(scanTotals(&rep.Totals)...) })
	b.Queue(`select `+expr+` as key, `+totalsSQL+` from usage_logs where `+where+` group by 1 order by 1`, r.From, r.To).
		Query(func(rows pgx.Rows) error {
			var k domain.UsageBucket
			_, err := pgx.ForEachRow(rows, append([]any{&k.Key}, scanTotals(&k.UsageTotals)...), func() error {
				rep.Buckets = append(rep.Buckets, k)
				return nil
			})
			return err
		})
	return rep, s.run(ctx, b)
}

// UsageKey names one agent's usage over a range.
type UsageKey struct {
	Agent    uuid.UUID
	From, To time.Time // zero: open
}

// UsageByAgent sums usage for several agents in one round trip (one grouped
// query per distinct range, usually one).
func (s *Store) UsageByAgent(ctx context.Context, keys []UsageKey) (map[UsageKey]*domain.UsageTotals, error) {
	type span struct{ from, to time.Time }
	ids := make(map[span][]uuid.UUID)
	out := make(map[UsageKey]*domain.UsageTotals, len(keys))
	for _, k := range keys {
		sp := span{k.From, k.To}
		ids[sp] = append(ids[sp], k.Agent)
		out[k] = &domain.UsageTotals{}
	}
	b := &pgx.Batch{}
	for sp, agents := range ids {
		b.Queue(`select agent_id, `+totalsSQL+` from usage_logs where agent_id = any($1)
			and ($2::timestamptz is null or created_at >= $2) and ($3::timestamptz is null or created_at < $3)
			group by agent_id`, agents, nullTime(sp.from), nullTime(sp.to)).
			Query(func(rows pgx.Rows) error {
				var id uuid.UUID
				var t domain.UsageTotals
				_, err := pgx.ForEachRow(rows, append([]any{&id}, scanTotals(&t)...), func() error {
					v := t
					out[UsageKey{Agent: id, From: sp.from, To: sp.to}] = &v
					return nil
				})
				return err
			})
	}
	return out, s.run(ctx, b)
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// queueFeed queues a feed event of the caller's agent and its NOTIFY on b:
// the system's lifecycle events (agent created, skill installed …) are
// stored in the same transaction as what they report.
func queueFeed(b *pgx.Batch, user, agent uuid.UUID, typ, message string) error {
	id := uuid.New()
	b.Queue(`insert into feed_events (id, user_id, agent_id, type, message) values ($1, $2, $3, $4, $5)`,
		id, user, agent, typ, message)
	return pubsub.Notify(b, pubsub.Event{Kind: pubsub.KindFeed, UserID: user, Topic: agent.String(), ID: id.String()})
}

// EventRows loads the rows live events name, as the service role, each only
// for its event's own user: the hub calls it for the events that arrived
// together on an instance with subscribers of their users
// (pubsub.Options.Resolve), so a burst costs one round trip. Chunks carry
// their data inline and name no row (nil); an event whose row is gone, or
// belongs to another user, is pubsub.Skip.
func (s *Store) EventRows(ctx context.Context, evs []*pubsub.Event) ([]any, error) {
	rows := make([]any, len(evs))
	ids := make([]uuid.UUID, len(evs))
	var feedIDs, messageIDs []uuid.UUID
	for i, ev := range evs {
		if ev.Kind != pubsub.KindMessage && ev.Kind != pubsub.KindFeed {
			continue
		}
		id, err := uuid.Parse(ev.ID)
		if err != nil {
			rows[i] = pubsub.Skip
			continue
		}
		ids[i] = id
		if ev.Kind == pubsub.KindMessage {
			messageIDs = append(messageIDs, id)
		} else {
			feedIDs = append(feedIDs, id)
		}
	}
	var feeds []*domain.FeedEvent
	var messages []*domain.Message
	b := &pgx.Batch{}
	if len(feedIDs) > 0 {
		all(b, &feeds, scanFeed, `select `+feedCols+` from feed_events where id = any($1)`, feedIDs)
	}
	if len(messageIDs) > 0 {
		all(b, &messages, scanMessage, `select `+messageCols+` from chat_messages m where m.id = any($1)`, messageIDs)
	}
	if b.Len() > 0 {
		if err := s.runService(ctx, b); err != nil {
			return nil, fmt.Errorf("load event rows: %w", err)
		}
	}
	feedByID := make(map[uuid.UUID]*domain.FeedEvent, len(feeds))
	for _, f := range feeds {
		feedByID[f.ID] = f
	}
	messageByID := make(map[uuid.UUID]*domain.Message, len(messages))
	for _, m := range messages {
		messageByID[m.ID] = m
	}
	for i, ev := range evs {
		switch ev.Kind {
		case pubsub.KindFeed:
			rows[i] = pubsub.Skip
			if f := feedByID[ids[i]]; f != nil && f.UserID == ev.UserID {
				rows[i] = f
			}
		case pubsub.KindMessage:
			rows[i] = pubsub.Skip
			if m := messageByID[ids[i]]; m != nil && m.UserID == ev.UserID {
				rows[i] = m
			}
		}
	}
	return rows, nil
}
