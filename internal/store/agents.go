package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
	"github.com/agentgraph/agentgraph/internal/pubsub"
)

var agentColumns = []string{"id", "user_id", "name", "agent_type", "status", "trust_tier",
	"personality_model", "personality_tone", "personality_verbosity", "objective", "instructions",
	"background", "email_address", "is_head", "level", "xp", "created_at", "updated_at", "personality_max_tokens"}

var agentCols = cols("", agentColumns)

// agentDest lists the scan destinations of agentCols.
func agentDest(a *domain.Agent) []any {
	return []any{&a.ID, &a.UserID, &a.Name, &a.Type, &a.Status, &a.TrustTier, &a.Personality.Model,
		&a.Personality.Tone, &a.Personality.Verbosity, &a.Objective, &a.Instructions, &a.Background,
		&a.EmailAddress, &a.IsHead, &a.Level, &a.Xp, &a.CreatedAt, &a.UpdatedAt, &a.Personality.MaxTokens}
}

func scanAgent(row pgx.CollectableRow) (*domain.Agent, error) {
	var a domain.Agent
	return &a, row.Scan(agentDest(&a)...)
}

const agentNotFound = "agent not found"

// guardAgent queues a check that the agent exists for the caller and is not
// destroyed: a destroyed agent keeps its data but takes no more changes.
func guardAgent(b *pgx.Batch, agentID uuid.UUID) {
	guardAgentOf(b, agentNotFound, `select status from agents where id = $1`, agentID)
}

// guardAgentOf is guardAgent for an object of an agent: statusSQL returns the
// agent's status, or no row when the object is not the caller's. The check
// runs in Postgres, so a failure aborts the whole batch (see check).
func guardAgentOf(b *pgx.Batch, notFound string, statusSQL string, id uuid.UUID) {
	b.Queue(`select agentgraph_check(s is not null, '`+codeNotFound+`', $2),
		agentgraph_check(s is distinct from 'destroyed', '`+codeBadInput+`', 'the agent is destroyed; it takes no more changes')
		from (select (`+statusSQL+`) as s) x`, id, notFound)
}

// Agent returns one of the caller's agents.
func (s *Store) Agent(ctx context.Context, id uuid.UUID) (*domain.Agent, error) {
	var a *domain.Agent
	b := &pgx.Batch{}
	one(b, &a, scanAgent, agentNotFound, `select `+agentCols+` from agents where id = $1`, id)
	return a, s.run(ctx, b)
}

// AgentsByID loads agents by id; ids the caller cannot see are absent.
func (s *Store) AgentsByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*domain.Agent, error) {
	var rows []*domain.Agent
	b := &pgx.Batch{}
	all(b, &rows, scanAgent, `select `+agentCols+` from agents where id = any($1)`, ids)
	if err := s.run(ctx, b); err != nil {
		return nil, err
	}
	return keyed(rows, func(a *domain.Agent) uuid.UUID { return a.ID }), nil
}

// HeadAgent returns the caller's head agent, or nil.
func (s *Store) HeadAgent(ctx context.Context) (*domain.Agent, error) {
	var rows []*domain.Agent
	b := &pgx.Batch{}
	all(b, &rows, scanAgent, `select `+agentCols+` from agents where is_head`)
	if err := s.run(ctx, b); err != nil || len(rows) == 0 {
		return nil, err
	}
	return rows[0], nil
}

// AgentFilter selects agents. Destroyed agents are left out unless Status asks
// for them or ID names one.
type AgentFilter struct {
	Status *domain.AgentStatus
	Type   *domain.AgentType
	// ID selects the one agent agent(id) asks for, destroyed or not.
	ID *uuid.UUID
}

// agentWhere is the conditions of f, and of the page after a's cursor
// when a is not nil. Destroyed agents are left out unless f asks for them.
func agentWhere(f AgentFilter, a *page.Args) *where {
	w := &where{}
	if f.ID != nil {
		w.add("id = ?", *f.ID)
	}
	if f.Status != nil {
		w.add("status = ?", *f.Status)
	} else if f.ID == nil {
		w.add("status <> 'destroyed'")
	}
	if f.Type != nil {
		w.add("agent_type = ?", *f.Type)
	}
	if a != nil && a.After != nil {
		w.add("(created_at, id) > (?, ?::uuid)", a.After.At, a.After.ID)
	}
	return w
}

// agentPage returns the statement selecting cols of the agents of a page,
// oldest first, limit rows at most, and its arguments.
func agentPage(cols string, f AgentFilter, a page.Args, limit int) (string, []any) {
	w := agentWhere(f, &a)
	return `select ` + cols + ` from agents where ` + w.String() + ` order by created_at, id limit ` + w.arg(limit), w.args
}

// Agents returns a page of the caller's agents, oldest first, with what
// ahead (may be nil) queued for its nested fields in the same round trip.
func (s *Store) Agents(ctx context.Context, f AgentFilter, a page.Args, ahead *Ahead) (page.Page[*domain.Agent], error) {
	var rows []*domain.Agent
	b := &pgx.Batch{}
	sql, args := agentPage(agentCols, f, a, a.Limit())
	all(b, &rows, scanAgent, sql, args...)
	if err := s.runAhead(ctx, setClaimsGenericSQL, b, ahead); err != nil {
		return page.Page[*domain.Agent]{}, err
	}
	return page.Cut(a, rows), nil
}

// CountAgents counts the caller's agents matching f.
func (s *Store) CountAgents(ctx context.Context, f AgentFilter) (int, error) {
	var n int
	b := &pgx.Batch{}
	queueCountAgents(b, f, &n)
	return n, s.runAs(ctx, setClaimsGenericSQL, b)
}

func queueCountAgents(b *pgx.Batch, f AgentFilter, n *int) {
	w := agentWhere(f, nil)
	b.Queue(`select count(*) from agents where `+w.String(), w.args...).QueryRow(func(r pgx.Row) error { return r.Scan(n) })
}

// NewAgent is a validated agent to create.
type NewAgent struct {
	Name         string
	Type         domain.AgentType
	TrustTier    domain.TrustTier
	Personality  domain.Personality
	Objective    *string
	Instructions *string
	Background   *string
	EmailAddress *string
	IsHead       bool
}

// unseatHead clears the caller's head flag so another agent can take it; it
// runs in the same batch as the write that sets the new head, so the move is
// atomic (and the partial unique index catches a concurrent move).
const unseatHeadSQL = `update agents set is_head = false where is_head and id is distinct from $1`

// CreateAgent creates an agent for the caller and posts "agent_created" to
// the feed.
func (s *Store) CreateAgent(ctx context.Context, n NewAgent) (*domain.Agent, error) {
	uid, err := userID(ctx)
	if err != nil {
		return nil, err
	}
	id := uuid.New()
	var a *domain.Agent
	b := &pgx.Batch{}
	if n.IsHead {
		b.Queue(unseatHeadSQL, nil)
	}
	one(b, &a, scanAgent, agentNotFound, `insert into agents (id, user_id, name, agent_type, trust_tier,
		personality_model, personality_tone, personality_verbosity, objective, instructions, background,
		email_address, is_head, personality_max_tokens) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		returning `+agentCols,
		id, uid, n.Name, n.Type, n.TrustTier, n.Personality.Model, n.Personality.Tone, n.Personality.Verbosity,
		n.Objective, n.Instructions, n.Background, n.EmailAddress, n.IsHead, n.Personality.MaxTokens)
	if err := queueFeed(b, uid, id, "agent_created", n.Name+" was created"); err != nil {
		return nil, err
	}
	return a, s.run(ctx, b)
}

// AgentPatch changes an agent: nil keeps a value, and an empty string clears
// an optional text.
type AgentPatch struct {
	Name         *string
	Status       *domain.AgentStatus
	TrustTier    *domain.TrustTier
	Model        *string
	Tone         *string
	Verbosity    *string
	Objective    *string
	Instructions *string
	Background   *string
	EmailAddress *string
	IsHead       *bool
	// MaxTokens caps replies; 0 returns to the server's default.
	MaxTokens *int
}

// UpdateAgent applies p to one of the caller's agents.
func (s *Store) UpdateAgent(ctx context.Context, id uuid.UUID, p AgentPatch) (*domain.Agent, error) {
	var a *domain.Agent
	b := &pgx.Batch{}
	guardAgent(b, id)
	if p.IsHead != nil && *p.IsHead {
		b.Queue(unseatHeadSQL, id)
	}
	one(b, &a, scanAgent, agentNotFound, `update agents set
		name = coalesce($2, name),
		status = coalesce($3, status),
		trust_tier = coalesce($4, trust_tier),
		personality_model = coalesce($5, personality_model),
		personality_tone = case when $6::text is null then personality_tone else nullif($6, '') end,
		personality_verbosity = case when $7::text is null then personality_verbosity else nullif($7, '') end,
		objective = case when $8::text is null then objective else nullif($8, '') end,
		instructions = case when $9::text is null then instructions else nullif($9, '') end,
		background = case when $10::text is null then background else nullif($10, '') end,
		email_address = case when $11::text is null then email_address else nullif($11, '') end,
		-- a destroyed agent gives up the head flag
		is_head = case when coalesce($3, status) = 'destroyed' then false else coalesce($12, is_head) end,
		personality_max_tokens = case when $13::int is null then personality_max_tokens else nullif($13, 0) end
		where id = $1 returning `+agentCols,
		id, p.Name, p.Status, p.TrustTier, p.Model, p.Tone, p.Verbosity, p.Objective, p.Instructions,
		p.Background, p.EmailAddress, p.IsHead, p.MaxTokens)
	return a, s.run(ctx, b)
}

// DestroyAgent marks an agent destroyed, keeping its data, and posts
// "agent_destroyed" to the feed. Destroying a destroyed agent changes nothing.
func (s *Store) DestroyAgent(ctx context.Context, id uuid.UUID) (*domain.Agent, error) {
	uid, err := userID(ctx)
	if err != nil {
		return nil, err
	}
	feedID := uuid.New()
	ev, err := pubsub.Encode(pubsub.Event{Kind: pubsub.KindFeed, UserID: uid, Topic: id.String(), ID: feedID.String()})
	if err != nil {
		return nil, err
	}
	var a *domain.Agent
	b := &pgx.Batch{}
	b.Queue(`with d as (update agents set status = 'destroyed', is_head = false
			where id = $1 and status <> 'destroyed' returning id, name)
		insert into feed_events (id, user_id, agent_id, type, message)
		select $2, $3, d.id, 'agent_destroyed', d.name || ' was destroyed' from d`, id, feedID, uid)
	// Published only when this call destroyed the agent.
	b.Queue(`select pg_notify($1, $2) from feed_events where id = $3`, pubsub.Channel, ev, feedID)
	one(b, &a, scanAgent, agentNotFound, `select `+agentCols+` from agents where id = $1`, id)
	return a, s.run(ctx, b)
}

// AgentsByCollection loads, per collection, the agents (not destroyed) that
// may access it, oldest first.
func (s *Store) AgentsByCollection(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*domain.Agent, error) {
	type row struct {
		collection uuid.UUID
		agent      domain.Agent
	}
	var rows []row
	b := &pgx.Batch{}
	all(b, &rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(append([]any{&x.collection}, agentDest(&x.agent)...)...)
	}, `select k.collection_id, `+cols("a", agentColumns)+`
		from agent_knowledge_access k join agents a on a.id = k.agent_id
		where k.collection_id = any($1) and a.status <> 'destroyed' order by a.created_at, a.id`, ids)
	if err := s.run(ctx, b); err != nil {
		return nil, err
	}
	m := make(map[uuid.UUID][]*domain.Agent, len(ids))
	for i := range rows {
		m[rows[i].collection] = append(m[rows[i].collection], &rows[i].agent)
	}
	return m, nil
}
