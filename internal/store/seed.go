package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Demo data (internal/seed) that no user request can write: finished
// conversations with their assistant replies, past feed events and usage
// history, each dated in the past. Written as service_role like replies,
// every statement filtered by user, each a single INSERT … SELECT whose
// NOT EXISTS guard makes a second run a no-op (one statement sees one
// snapshot: all of its rows go in, or none).

// SeedMessage is one message of a finished demo conversation; an
// assistant message answers the user message before it.
type SeedMessage struct {
	Assistant bool
	Content   string
	At        time.Time
}

// SeedConversation stores msgs in thread, talking with agent (its id and
// name), unless the thread has messages already; it reports whether it
// wrote. Nothing awaits a reply, so no job is queued. Lock order as
// documented in retry.go: the agent (key share, by the foreign key), then
// the thread (touch_thread trigger), row by row.
func (s *Store) SeedConversation(ctx context.Context, user, agent uuid.UUID, agentName, thread string, msgs []SeedMessage) (bool, error) {
	n := len(msgs)
	ids, roles, contents, ats := make([]uuid.UUID, n), make([]string, n), make([]string, n), make([]time.Time, n)
	replyTo := make([]*uuid.UUID, n)
	for i, m := range msgs {
		ids[i], contents[i], ats[i], roles[i] = uuid.New(), m.Content, m.At, "user"
		if m.Assistant {
			roles[i] = "assistant"
			if i > 0 && !msgs[i-1].Assistant {
				replyTo[i] = &ids[i-1]
			}
		}
	}
	var wrote int64
	b := &pgx.Batch{}
	b.Queue(`insert into chat_messages (id, user_id, thread_id, role, content, agent_id, agent_name, status, reply_to,
			awaiting_reply, created_at, updated_at)
		select m.id, $1, $2, m.role, m.content, $3, case when m.role = 'assistant' then $4 end, 'complete', m.reply_to,
			false, m.at, m.at
		from unnest($5::uuid[], $6::text[], $7::text[], $8::uuid[], $9::timestamptz[]) with ordinality
			as m(id, role, content, reply_to, at, n)
		where not exists (select 1 from chat_messages where user_id = $1 and thread_id = $2)
		order by m.n`,
		user, thread, agent, agentName, ids, roles, contents, replyTo, ats).Exec(func(ct pgconn.CommandTag) error {
		wrote = ct.RowsAffected()
		return nil
	})
	err := s.runService(ctx, b)
	return wrote > 0, err
}

// SeedFeedEvent is a past event of the activity feed.
type SeedFeedEvent struct {
	Agent   *uuid.UUID
	Type    string
	Message string
	At      time.Time
}

// SeedFeed stores past feed events unless the user has one of their
// messages already (the user's own events do not count); it reports
// whether it wrote.
func (s *Store) SeedFeed(ctx context.Context, user uuid.UUID, evs []SeedFeedEvent) (bool, error) {
	agents, types, msgs, ats := make([]*uuid.UUID, len(evs)), make([]string, len(evs)), make([]string, len(evs)), make([]time.Time, len(evs))
	for i, e := range evs {
		agents[i], types[i], msgs[i], ats[i] = e.Agent, e.Type, e.Message, e.At
	}
	var wrote int64
	b := &pgx.Batch{}
	b.Queue(`insert into feed_events (user_id, agent_id, type, message, created_at, updated_at)
		select $1, e.agent, e.type, e.message, e.at, e.at
		from unnest($2::uuid[], $3::text[], $4::text[], $5::timestamptz[]) as e(agent, type, message, at)
		where not exists (select 1 from feed_events where user_id = $1 and message = any($4::text[]))`,
		user, agents, types, msgs, ats).Exec(func(ct pgconn.CommandTag) error {
		wrote = ct.RowsAffected()
		return nil
	})
	err := s.runService(ctx, b)
	return wrote > 0, err
}

// SeedUsage is one past LLM call.
type SeedUsage struct {
	Agent         uuid.UUID
	Model         string
	Provider      string
	Input, Output int
	CostCents     float64
	At            time.Time
}

// SeedUsageHistory stores past usage logs unless one of their agents has
// usage already; it reports whether it wrote.
func (s *Store) SeedUsageHistory(ctx context.Context, user uuid.UUID, rows []SeedUsage) (bool, error) {
	n := len(rows)
	agents, models, providers := make([]uuid.UUID, n), make([]string, n), make([]string, n)
	in, out, cost, ats := make([]int32, n), make([]int32, n), make([]float64, n), make([]time.Time, n)
	for i, r := range rows {
		agents[i], models[i], providers[i] = r.Agent, r.Model, r.Provider
		in[i], out[i], cost[i], ats[i] = int32(r.Input), int32(r.Output), r.CostCents, r.At
	}
	var wrote int64
	b := &pgx.Batch{}
	b.Queue(`insert into usage_logs (user_id, agent_id, model, provider, operation, input_tokens, output_tokens,
			cost_cents, created_at)
		select $1, u.agent, u.model, u.provider, 'chat', u.input, u.output, u.cost, u.at
		from unnest($2::uuid[], $3::text[], $4::text[], $5::int[], $6::int[], $7::float8[], $8::timestamptz[])
			as u(agent, model, provider, input, output, cost, at)
		where not exists (select 1 from usage_logs where user_id = $1 and agent_id = any($2::uuid[]))`,
		user, agents, models, providers, in, out, cost, ats).Exec(func(ct pgconn.CommandTag) error {
		wrote = ct.RowsAffected()
		return nil
	})
	err := s.runService(ctx, b)
	return wrote > 0, err
}
