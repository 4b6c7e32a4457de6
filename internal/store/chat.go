package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
	"github.com/agentgraph/agentgraph/internal/pubsub"
)

var messageColumns = []string{"id", "user_id", "thread_id", "role", "content", "agent_id", "agent_name", "status", "created_at", "reply_to"}

var messageCols = qualified("m", messageColumns)

// messageDest lists the scan destinations of messageCols.
func messageDest(m *domain.Message) []any {
	return []any{&m.ID, &m.UserID, &m.ThreadID, &m.Role, &m.Content, &m.AgentID, &m.AgentName, &m.Status, &m.CreatedAt, &m.ReplyTo}
}

func scanMessage(row pgx.CollectableRow) (*domain.Message, error) {
	var m domain.Message
	return &m, row.Scan(messageDest(&m)...)
}

const threadCols = `t.id, t.user_id, t.agent_id, t.last_message_id, t.message_count, t.created_at, t.updated_at`

func scanThread(row pgx.CollectableRow) (*domain.Thread, error) {
	var t domain.Thread
	return &t, row.Scan(&t.ID, &t.UserID, &t.AgentID, &t.LastMessageID, &t.MessageCount, &t.CreatedAt, &t.UpdatedAt)
}

// NewMessage is a validated user message to store.
type NewMessage struct {
	ID        uuid.UUID
	ThreadID  string
	Content   string
	AgentID   *uuid.UUID
	AgentName *string
	// Interrupt cuts the reply in progress in the thread (it is stored
	// INTERRUPTED) instead of waiting behind it.
	Interrupt bool
}

// Enqueue adds the job that answers a message, inside the transaction that
// stores it (as the service role).
type Enqueue func(ctx context.Context, tx pgx.Tx) error

// AddUserMessage stores the caller's message and publishes it, in one
// transaction: subscribers hear of it only once it is stored. When AgentID is
// set the agent must be the caller's and not destroyed. With enqueue, the
// message awaits a reply and enqueue adds the job that will answer it in the
// same transaction: a stored message never lacks its job. Without it, one
// round trip.
func (s *Store) AddUserMessage(ctx context.Context, n NewMessage, enqueue Enqueue) (*domain.Message, error) {
	uid, err := userID(ctx)
	if err != nil {
		return nil, err
	}
	var m *domain.Message
	b := &pgx.Batch{}
	if n.AgentID != nil {
		guardAgent(b, *n.AgentID)
	}
	one(b, &m, scanMessage, "message not stored", `insert into chat_messages as m
		(id, user_id, thread_id, role, content, agent_id, agent_name)
		values ($1, $2, $3, 'user', $4, $5, $6) returning `+messageCols,
		n.ID, uid, n.ThreadID, n.Content, n.AgentID, n.AgentName)
	if err := pubsub.Notify(b, pubsub.MessageEvent(uid, n.ThreadID, n.ID, n.Interrupt && enqueue != nil)); err != nil {
		return nil, err
	}
	if enqueue == nil {
		return m, s.run(ctx, b)
	}
	// Users may not mark messages as awaiting a reply (that is the server's
	// promise to answer): the service role does, in the same transaction.
	return m, s.userTx(ctx, b, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `update chat_messages set awaiting_reply = true, interrupt = $2 where id = $1`,
			n.ID, n.Interrupt); err != nil {
			return err
		}
		return enqueue(ctx, tx)
	})
}

// Thread returns one of the caller's threads.
func (s *Store) Thread(ctx context.Context, id string) (*domain.Thread, error) {
	var t *domain.Thread
	b := &pgx.Batch{}
	one(b, &t, scanThread, "thread not found", `select `+threadCols+` from threads t where t.id = $1`, id)
	return t, s.run(ctx, b)
}

// ThreadArgs is a forward page of threads, most recent activity first.
type ThreadArgs struct {
	Size  int
	After *page.TextCursor
}

func (a ThreadArgs) afterAt() *time.Time {
	if a.After == nil {
		return nil
	}
	return &a.After.At
}

func (a ThreadArgs) afterID() *string {
	if a.After == nil {
		return nil
	}
	return &a.After.ID
}

// Threads returns a page of the caller's threads, optionally of one agent.
func (s *Store) Threads(ctx context.Context, agentID *uuid.UUID, a ThreadArgs) ([]*domain.Thread, bool, error) {
	var rows []*domain.Thread
	b := &pgx.Batch{}
	all(b, &rows, scanThread, `select `+threadCols+` from threads t
		where ($1::uuid is null or t.agent_id = $1)
		and ($2::timestamptz is null or (t.updated_at, t.id) < ($2, $3::text))
		order by t.updated_at desc, t.id desc limit $4`, agentID, a.afterAt(), a.afterID(), a.Size+1)
	if err := s.run(ctx, b); err != nil {
		return nil, false, err
	}
	more := len(rows) > a.Size
	if more {
		rows = rows[:a.Size]
	}
	domain.LinkThreads(rows)
	return rows, more, nil
}

// CountThreads counts the caller's threads, optionally of one agent.
func (s *Store) CountThreads(ctx context.Context, agentID *uuid.UUID) (int, error) {
	var n int
	b := &pgx.Batch{}
	b.Queue(`select count(*) from threads where ($1::uuid is null or agent_id = $1)`, agentID).
		QueryRow(func(r pgx.Row) error { return r.Scan(&n) })
	return n, s.run(ctx, b)
}

// MessagesByID loads messages by id; ids the caller cannot see are absent.
func (s *Store) MessagesByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*domain.Message, error) {
	var rows []*domain.Message
	b := &pgx.Batch{}
	all(b, &rows, scanMessage, `select `+messageCols+` from chat_messages m where m.id = any($1)`, ids)
	if err := s.run(ctx, b); err != nil {
		return nil, err
	}
	return keyed(rows, func(m *domain.Message) uuid.UUID { return m.ID }), nil
}

// MessagesKey names one backward page of one thread's messages.
type MessagesKey struct {
	Thread string
	Size   int
	Before page.Cursor
	Has    bool
}

// Backward returns the page request k names.
func (k MessagesKey) Backward() page.Backward {
	b := page.Backward{Size: k.Size}
	if k.Has {
		c := k.Before
		b.Before = &c
	}
	return b
}

// MessagePages loads pages of several threads' messages, newest last. Keys
// with the same page arguments share one LATERAL query; all go in one round
// trip.
func (s *Store) MessagePages(ctx context.Context, keys []MessagesKey) (map[MessagesKey]page.Page[*domain.Message], error) {
	type group struct {
		size   int
		before page.Cursor
		has    bool
	}
	threads := make(map[group][]string)
	for _, k := range keys {
		g := group{k.Size, k.Before, k.Has}
		threads[g] = append(threads[g], k.Thread)
	}
	results := make(map[group]*[]*domain.Message, len(threads))
	b := &pgx.Batch{}
	for g, ids := range threads {
		back := MessagesKey{Size: g.size, Before: g.before, Has: g.has}.Backward()
		var rows []*domain.Message
		results[g] = &rows
		all(b, &rows, scanMessage, `select `+messageCols+` from unnest($1::text[]) as k(id)
			cross join lateral (select * from chat_messages c where c.thread_id = k.id
				and ($2::timestamptz is null or (c.created_at, c.id) < ($2, $3))
				order by c.created_at desc, c.id desc limit $4) m`,
			ids, back.BeforeAt(), back.BeforeID(), g.size+1)
	}
	if err := s.run(ctx, b); err != nil {
		return nil, err
	}
	out := make(map[MessagesKey]page.Page[*domain.Message], len(keys))
	for g, rows := range results {
		byThread := groupBy(*rows, func(m *domain.Message) string { return m.ThreadID })
		for _, id := range threads[g] {
			k := MessagesKey{Thread: id, Size: g.size, Before: g.before, Has: g.has}
			out[k] = page.CutBack(k.Backward(), byThread[id])
		}
	}
	return out, nil
}

// ThreadsKey names one page of one agent's threads.
type ThreadsKey struct {
	Agent uuid.UUID
	Size  int
	After page.TextCursor
	Has   bool
}

// ThreadPage is a page of threads, most recent activity first.
type ThreadPage struct {
	Threads []*domain.Thread
	More    bool
}

// ThreadPages loads pages of several agents' threads: keys that share their
// page arguments share one LATERAL query, all in one round trip.
func (s *Store) ThreadPages(ctx context.Context, keys []ThreadsKey) (map[ThreadsKey]ThreadPage, error) {
	type group struct {
		size  int
		after page.TextCursor
		has   bool
	}
	agents := make(map[group][]uuid.UUID)
	for _, k := range keys {
		g := group{k.Size, k.After, k.Has}
		agents[g] = append(agents[g], k.Agent)
	}
	results := make(map[group]*[]*domain.Thread, len(agents))
	b := &pgx.Batch{}
	for g, ids := range agents {
		var at *time.Time
		var id *string
		if g.has {
			at, id = &g.after.At, &g.after.ID
		}
		var rows []*domain.Thread
		results[g] = &rows
		all(b, &rows, scanThread, `select `+threadCols+` from unnest($1::uuid[]) as k(id)
			cross join lateral (select * from threads x where x.agent_id = k.id
				and ($2::timestamptz is null or (x.updated_at, x.id) < ($2, $3::text))
				order by x.updated_at desc, x.id desc limit $4) t`, ids, at, id, g.size+1)
	}
	if err := s.run(ctx, b); err != nil {
		return nil, err
	}
	out := make(map[ThreadsKey]ThreadPage, len(keys))
	for g, rows := range results {
		domain.LinkThreads(*rows) // nested fields of all these threads load together
		byAgent := groupBy(*rows, func(t *domain.Thread) uuid.UUID { return *t.AgentID })
		for _, id := range agents[g] {
			p := ThreadPage{Threads: byAgent[id]}
			if len(p.Threads) > g.size {
				p.Threads, p.More = p.Threads[:g.size], true
			}
			out[ThreadsKey{Agent: id, Size: g.size, After: g.after, Has: g.has}] = p
		}
	}
	return out, nil
}

// CountThreadsByAgent counts several agents' threads in one round trip.
func (s *Store) CountThreadsByAgent(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]int, error) {
	out := make(map[uuid.UUID]int, len(ids))
	for _, id := range ids {
		out[id] = 0
	}
	b := &pgx.Batch{}
	b.Queue(`select agent_id, count(*) from threads where agent_id = any($1) group by agent_id`, ids).
		Query(func(rows pgx.Rows) error {
			var id uuid.UUID
			var n int
			_, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error {
				out[id] = n
				return nil
			})
			return err
		})
	return out, s.run(ctx, b)
}
