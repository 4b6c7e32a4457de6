package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
	"github.com/agentgraph/agentgraph/internal/pubsub"
)

var messageColumns = []string{"id", "user_id", "thread_id", "role", "content", "agent_id", "agent_name", "status", "created_at", "reply_to"}

var messageCols = cols("m", messageColumns)

// messageDest lists the scan destinations of messageCols.
func messageDest(m *domain.Message) []any {
	return []any{&m.ID, &m.UserID, &m.ThreadID, &m.Role, &m.Content, &m.AgentID, &m.AgentName, &m.Status, &m.CreatedAt, &m.ReplyTo}
}

func scanMessage(row pgx.CollectableRow) (*domain.Message, error) {
	var m domain.Message
	return &m, row.Scan(messageDest(&m)...)
}

var threadColumns = []string{"id", "user_id", "agent_id", "last_message_id", "message_count", "created_at", "updated_at"}

var threadCols = cols("t", threadColumns)

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

// Thread returns one of the caller's threads, with what ahead (may be nil)
// queued for its nested fields in the same round trip.
func (s *Store) Thread(ctx context.Context, id string, ahead *Ahead) (*domain.Thread, error) {
	var t *domain.Thread
	b := &pgx.Batch{}
	one(b, &t, scanThread, "thread not found", `select `+threadCols+` from threads t where t.id = $1`, id)
	return t, s.runAhead(ctx, setClaimsGenericSQL, b, ahead)
}

// Threads returns a page of the caller's threads, optionally of one agent,
// most recent activity first.
func (s *Store) Threads(ctx context.Context, agentID *uuid.UUID, a page.Args) (page.Page[*domain.Thread], error) {
	var rows []*domain.Thread
	b := &pgx.Batch{}
	all(b, &rows, scanThread, `select `+threadCols+` from threads t
		where ($1::uuid is null or t.agent_id = $1)
		and ($2::timestamptz is null or (t.updated_at, t.id) < ($2, $3::text))
		order by t.updated_at desc, t.id desc limit $4`, agentID, a.AfterAt(), a.AfterID(), a.Limit())
	if err := s.run(ctx, b); err != nil {
		return page.Page[*domain.Thread]{}, err
	}
	return page.Cut(a, rows), nil
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
	Page   page.Key
}

// MessagePages loads pages of several threads' messages, newest last, in one
// round trip (lateralPages).
func (s *Store) MessagePages(ctx context.Context, keys []MessagesKey) (map[MessagesKey]page.Page[*domain.Message], error) {
	b := &pgx.Batch{}
	pages := queueMessagePages(b, keys)
	if err := s.runAs(ctx, setClaimsGenericSQL, b); err != nil {
		return nil, err
	}
	return pages(), nil
}

// messagePages returns the SQL reading, as m, one backward page of each
// thread of $1 (ids), $2 rows at most (the page and one more), and its
// arguments. The page before a cursor ($3, $4) is a statement of its own
// rather than an optional condition, so that neither statement's best plan
// depends on its arguments and one plan serves every execution
// (setClaimsGenericSQL): an optional cursor would leave the generic plan
// filtering the rows after the cursor instead of seeking past them.
func messagePages(threads []string, back page.Backward) (string, []any) {
	if back.Before == nil {
		return `unnest($1::text[]) as k(id)
	cross join lateral (select * from chat_messages c where c.thread_id = k.id
		order by c.created_at desc, c.id desc limit $2) m`, []any{threads, back.Size + 1}
	}
	return `unnest($1::text[]) as k(id)
	cross join lateral (select * from chat_messages c where c.thread_id = k.id
		and (c.created_at, c.id) < ($3, $4::uuid)
		order by c.created_at desc, c.id desc limit $2) m`, []any{threads, back.Size + 1, back.Before.At, back.Before.ID}
}

// queueMessagePages queues on b the message pages keys name; the function it
// returns cuts them out once b has run.
func queueMessagePages(b *pgx.Batch, keys []MessagesKey) func() map[MessagesKey]page.Page[*domain.Message] {
	return lateralPages(b, keys, func(k MessagesKey) (page.Key, string) { return k.Page, k.Thread },
		func(b *pgx.Batch, g page.Key, threads []string, dst *[]*domain.Message) {
			from, args := messagePages(threads, g.Backward())
			all(b, dst, scanMessage, `select `+messageCols+` from `+from, args...)
		},
		func(m *domain.Message) string { return m.ThreadID },
		func(g page.Key, rows []*domain.Message) page.Page[*domain.Message] {
			return page.CutBack(g.Backward(), rows)
		})
}

// ThreadsKey names one page of one agent's threads.
type ThreadsKey struct {
	Agent uuid.UUID
	Page  page.Key
}

// ThreadPages loads pages of several agents' threads, most recent activity
// first, in one round trip (lateralPages).
func (s *Store) ThreadPages(ctx context.Context, keys []ThreadsKey) (map[ThreadsKey]page.Page[*domain.Thread], error) {
	b := &pgx.Batch{}
	pages := lateralPages(b, keys, func(k ThreadsKey) (page.Key, uuid.UUID) { return k.Page, k.Agent },
		func(b *pgx.Batch, g page.Key, agents []uuid.UUID, dst *[]*domain.Thread) {
			a := g.Args()
			all(b, dst, scanThread, `select `+threadCols+` from unnest($1::uuid[]) as k(id)
				cross join lateral (select * from threads x where x.agent_id = k.id
					and ($2::timestamptz is null or (x.updated_at, x.id) < ($2, $3::text))
					order by x.updated_at desc, x.id desc limit $4) t`, agents, a.AfterAt(), a.AfterID(), a.Limit())
		},
		func(t *domain.Thread) uuid.UUID { return *t.AgentID },
		func(g page.Key, rows []*domain.Thread) page.Page[*domain.Thread] { return page.Cut(g.Args(), rows) })
	if err := s.run(ctx, b); err != nil {
		return nil, err
	}
	return pages(), nil
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
