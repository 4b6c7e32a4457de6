package store

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/pubsub"
)

// Awaiting is the oldest message of a thread that awaits its agent's reply.
type Awaiting struct {
	Message *domain.Message
	// Agent is the thread's agent as it is now; nil if it is gone.
	Agent *domain.Agent
	// Superseded: a later message of the thread interrupts this one, which
	// is then answered only as context of that later message.
	Superseded bool
}

// NextAwaiting returns the oldest message of user's thread that awaits a
// reply, with its agent, or nil when none does; one round trip, as the
// service role.
func (s *Store) NextAwaiting(ctx context.Context, user uuid.UUID, thread string) (*Awaiting, error) {
	type row struct {
		msg        *domain.Message
		superseded bool
	}
	var rows []row
	var agents []*domain.Agent
	b := &pgx.Batch{}
	const oldest = `from chat_messages m where m.user_id = $1 and m.thread_id = $2 and m.awaiting_reply
		order by m.created_at, m.id limit 1`
	all(b, &rows, func(r pgx.CollectableRow) (row, error) {
		var m domain.Message
		x := row{msg: &m}
		return x, r.Scan(append(messageDest(&m), &x.superseded)...)
	}, `select `+messageCols+`, exists (select 1 from chat_messages l where l.user_id = m.user_id
			and l.thread_id = m.thread_id and l.awaiting_reply and l.interrupt and (l.created_at, l.id) > (m.created_at, m.id))
		`+oldest, user, thread)
	all(b, &agents, scanAgent, `select `+agentCols+` from agents where user_id = $1 and id = (select m.agent_id `+oldest+`)`,
		user, thread)
	if err := s.runService(ctx, b); err != nil || len(rows) == 0 {
		return nil, err
	}
	a := &Awaiting{Message: rows[0].msg, Superseded: rows[0].superseded}
	if len(agents) > 0 {
		a.Agent = agents[0]
	}
	return a, nil
}

// SkipAwaiting marks a message as no longer awaiting a reply, without one:
// its agent is gone, or a later message interrupted it before its reply began.
func (s *Store) SkipAwaiting(ctx context.Context, user, msg uuid.UUID) error {
	b := &pgx.Batch{}
	b.Queue(`update chat_messages set awaiting_reply = false where id = $1 and user_id = $2`, msg, user)
	return s.runService(ctx, b)
}

// CompleteIfIdle ends a thread's reply job when no message of the thread
// awaits a reply: with the thread's row locked, so that a message being
// stored at the same moment either commits first and is seen here (false:
// keep answering), or commits after, when the job is complete and its own
// job insert is no longer a duplicate. complete completes the job in the
// same transaction.
func (s *Store) CompleteIfIdle(ctx context.Context, user uuid.UUID, thread string, complete func(context.Context, pgx.Tx) error) (bool, error) {
	idle := false
	err := s.serviceTx(ctx, func(tx pgx.Tx) error {
		idle = false
		if _, err := tx.Exec(ctx, `select 1 from threads where user_id = $1 and id = $2 for update`, user, thread); err != nil {
			return err
		}
		var waiting bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from chat_messages
			where user_id = $1 and thread_id = $2 and awaiting_reply)`, user, thread).Scan(&waiting); err != nil {
			return err
		}
		if waiting {
			return nil
		}
		idle = true
		return complete(ctx, tx)
	})
	return idle, err
}

// PromptContext is what an agent's reply is built from, read as the service
// role for one user.
type PromptContext struct {
	Training        []*domain.TrainingData // enabled only
	Personalization *domain.Personalization
	// History is the conversation up to the message being answered, each
	// reply right after the message it answers; messages still waiting for
	// their turn are not in it.
	History []*domain.Message
	// Attempt counts the replies to the message that began, this one
	// included: more than 1 means an earlier one was cut.
	Attempt int
	// Knowledge is what the agent recalled from the collections it may
	// read, most relevant first (set by the reply worker, not loaded here).
	Knowledge []Recalled
}

// Recalled is a knowledge entry retrieved for a reply, with its
// collection's name.
type Recalled struct {
	Entry      *domain.Entry
	Collection string
	Score      float64
}

// LoadPromptContext reads an agent's enabled training data, the user's
// personalization and the thread's latest messages up to msg, and counts the
// attempt to answer msg, in one round trip.
func (s *Store) LoadPromptContext(ctx context.Context, user, agent uuid.UUID, msg *domain.Message, history int) (*PromptContext, error) {
	pc := &PromptContext{}
	b := &pgx.Batch{}
	b.Queue(`update chat_messages set reply_attempts = reply_attempts + 1 where id = $1 and user_id = $2
		returning reply_attempts`, msg.ID, user).QueryRow(func(r pgx.Row) error { return r.Scan(&pc.Attempt) })
	all(b, &pc.Training, scanTraining, `select `+trainingCols+` from agent_training_data
		where agent_id = $1 and enabled order by created_at, id`, agent)
	var prof []*domain.Personalization
	all(b, &prof, scanPersonalization, `select `+personalizationCols+` from user_personalization where user_id = $1`, user)
	all(b, &pc.History, scanMessage, `select `+messageCols+` from chat_messages m
		where m.user_id = $1 and m.thread_id = $2
		and (m.role <> 'user' or ((m.created_at, m.id) <= ($3, $4) and (m.id = $4 or not m.awaiting_reply)))
		order by m.created_at desc, m.id desc limit $5`, user, msg.ThreadID, msg.CreatedAt, msg.ID, history)
	if err := s.runService(ctx, b); err != nil {
		return nil, err
	}
	if len(prof) > 0 {
		pc.Personalization = prof[0]
	}
	pc.History = conversationOrder(pc.History)
	return pc, nil
}

// conversationOrder sorts messages as the conversation went: by time, except
// that a reply follows the message it answers (a reply is stored after the
// messages sent while it streamed).
func conversationOrder(msgs []*domain.Message) []*domain.Message {
	at := make(map[uuid.UUID]*domain.Message, len(msgs))
	for _, m := range msgs {
		at[m.ID] = m
	}
	anchor := func(m *domain.Message) (*domain.Message, int) {
		if m.ReplyTo != nil {
			if q, ok := at[*m.ReplyTo]; ok {
				return q, 1
			}
		}
		return m, 0
	}
	slices.SortStableFunc(msgs, func(x, y *domain.Message) int {
		ax, rx := anchor(x)
		ay, ry := anchor(y)
		if c := ax.CreatedAt.Compare(ay.CreatedAt); c != 0 {
			return c
		}
		if ax.ID != ay.ID {
			return slices.Compare(ax.ID[:], ay.ID[:])
		}
		return rx - ry
	})
	return msgs
}

// Reply is an assistant reply to store with what it cost.
type Reply struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	Agent     *domain.Agent
	ThreadID  string
	ReplyTo   uuid.UUID // the user message answered
	Content   string
	Status    domain.MessageStatus
	Model     string
	Provider  string
	Input     int
	Output    int
	CostCents float64
	XP        int
	// FeedType and FeedMessage describe the reply in the activity feed.
	FeedType, FeedMessage string
}

// ErrAnswered is SaveReply's error when the message already has its reply
// (the job ran twice, say after its instance died just after storing).
var ErrAnswered = errors.New("store: the message already has its reply")

const codeAnswered = "AGRA0"

// SaveReply stores a reply, its usage log, the agent's XP (and level, by
// LevelForXP's curve) and its feed events, marks the message it answers as
// answered, and publishes the message and the feed
// events: one transaction, one round trip, as the service role, locking in
// the documented order (agent, then thread through the message insert). It
// reports whether the agent levelled up; ErrAnswered when the message was
// answered already, in which case nothing is stored twice.
func (s *Store) SaveReply(ctx context.Context, r Reply) (newLevel int, levelUp bool, err error) {
	agentID := r.Agent.ID
	feedID, levelFeedID := uuid.New(), uuid.New()
	b := &pgx.Batch{}
	// The agent first: the level follows the XP curve in SQL so the
	// read-modify-write is one atomic statement; old.level (read under the
	// same lock) tells whether this reply crossed a level.
	b.Queue(`with old as (select id, level from agents where id = $1 and user_id = $4 for no key update),
		upd as (update agents a set xp = a.xp + $2,
			level = greatest(a.level, floor(sqrt((a.xp + $2) / 100.0))::int + 1)
			from old where a.id = old.id returning a.level as new_level, old.level as old_level, a.name)
		insert into feed_events (id, user_id, agent_id, type, message)
		select $3, $4, $1, 'level_up', name || ' reached level ' || new_level from upd where new_level > old_level`,
		agentID, r.XP, levelFeedID, r.UserID)
	b.Queue(`with answered as (update chat_messages set awaiting_reply = false
			where id = $1 and user_id = $2 and awaiting_reply returning 1)
		select agentgraph_check(exists (select 1 from answered), '`+codeAnswered+`', 'message already answered')`,
		r.ReplyTo, r.UserID)
	b.Queue(`insert into chat_messages (id, user_id, thread_id, role, content, agent_id, agent_name, status, reply_to)
		values ($1, $2, $3, 'assistant', $4, $5, $6, $7, $8)`,
		r.ID, r.UserID, r.ThreadID, r.Content, agentID, r.Agent.Name, r.Status, r.ReplyTo)
	b.Queue(`insert into usage_logs (user_id, agent_id, model, provider, input_tokens, output_tokens, cost_cents, operation)
		values ($1, $2, $3, $4, $5, $6, $7, 'chat')`, r.UserID, agentID, r.Model, r.Provider, r.Input, r.Output, r.CostCents)
	b.Queue(`select level from agents where id = $1`, agentID).QueryRow(func(row pgx.Row) error { return row.Scan(&newLevel) })
	b.Queue(`select exists (select 1 from feed_events where id = $1)`, levelFeedID).
		QueryRow(func(row pgx.Row) error { return row.Scan(&levelUp) })
	b.Queue(`insert into feed_events (id, user_id, agent_id, type, message) values ($1, $2, $3, $4, $5)`,
		feedID, r.UserID, agentID, r.FeedType, r.FeedMessage)
	events := []pubsub.Event{
		pubsub.MessageEvent(r.UserID, r.ThreadID, r.ID, false),
		{Kind: pubsub.KindFeed, UserID: r.UserID, Topic: agentID.String(), ID: feedID.String()},
	}
	for _, ev := range events {
		if err := pubsub.Notify(b, ev); err != nil {
			return 0, false, err
		}
	}
	// Published only when the level-up row exists.
	lvl, err := pubsub.Encode(pubsub.Event{Kind: pubsub.KindFeed, UserID: r.UserID, Topic: agentID.String(), ID: levelFeedID.String()})
	if err != nil {
		return 0, false, err
	}
	b.Queue(`select pg_notify($1, $2) from feed_events where id = $3`, pubsub.Channel, lvl, levelFeedID)
	err = s.runService(ctx, b)
	if pg := (*pgconn.PgError)(nil); errors.As(err, &pg) && pg.Code == codeAnswered {
		return 0, false, ErrAnswered
	}
	return newLevel, levelUp, err
}
