package store

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/model"
	"github.com/agentgraph/agentgraph/internal/pubsub"
)

// PromptContext is what an agent's reply is built from, read as the service
// role for one user.
type PromptContext struct {
	Training        []*model.TrainingData // enabled only
	Personalization *model.Personalization
	History         []*model.Message // oldest first
}

// LoadPromptContext reads an agent's enabled training data, the user's
// personalization and the thread's latest messages in one round trip.
func (s *Store) LoadPromptContext(ctx context.Context, user, agent uuid.UUID, thread string, history int) (*PromptContext, error) {
	pc := &PromptContext{}
	b := &pgx.Batch{}
	all(b, &pc.Training, scanTraining, `select `+trainingCols+` from agent_training_data
		where agent_id = $1 and enabled order by created_at, id`, agent)
	var prof []*model.Personalization
	all(b, &prof, scanPersonalization, `select `+personalizationCols+` from user_personalization where user_id = $1`, user)
	all(b, &pc.History, scanMessage, `select `+messageCols+` from chat_messages m
		where m.user_id = $1 and m.thread_id = $2 order by m.created_at desc, m.id desc limit $3`, user, thread, history)
	if err := s.runService(ctx, b); err != nil {
		return nil, err
	}
	if len(prof) > 0 {
		pc.Personalization = prof[0]
	}
	for i, j := 0, len(pc.History)-1; i < j; i, j = i+1, j-1 {
		pc.History[i], pc.History[j] = pc.History[j], pc.History[i]
	}
	return pc, nil
}

// Reply is an assistant reply to store with what it cost.
type Reply struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	Agent     *model.Agent
	ThreadID  string
	Content   string
	Status    model.MessageStatus
	Model     string
	Provider  string
	Input     int
	Output    int
	CostCents float64
	XP        int
	// DoneSeq is the sequence number of the stream's last chunk.
	DoneSeq int64
	// FeedType and FeedMessage describe the reply in the activity feed.
	FeedType, FeedMessage string
}

// SaveReply stores a reply, its usage log, the agent's XP (and level, by
// LevelForXP's curve) and its feed events, and publishes the stream's last
// chunk, the message and the feed events: one transaction, one round trip,
// as the service role. It reports whether the agent levelled up.
func (s *Store) SaveReply(ctx context.Context, r Reply) (newLevel int, levelUp bool, err error) {
	agentID := r.Agent.ID
	feedID, levelFeedID := uuid.New(), uuid.New()
	b := &pgx.Batch{}
	b.Queue(`insert into chat_messages (id, user_id, thread_id, role, content, agent_id, agent_name, status)
		values ($1, $2, $3, 'assistant', $4, $5, $6, $7)`,
		r.ID, r.UserID, r.ThreadID, r.Content, agentID, r.Agent.Name, r.Status)
	b.Queue(`insert into usage_logs (user_id, agent_id, model, provider, input_tokens, output_tokens, cost_cents, operation)
		values ($1, $2, $3, $4, $5, $6, $7, 'chat')`, r.UserID, agentID, r.Model, r.Provider, r.Input, r.Output, r.CostCents)
	// The level follows the XP curve in SQL so the read-modify-write is one
	// atomic statement; old.level tells whether this reply crossed a level.
	b.Queue(`with old as (select id, level from agents where id = $1 for update),
		upd as (update agents a set xp = a.xp + $2,
			level = greatest(a.level, floor(sqrt((a.xp + $2) / 100.0))::int + 1)
			from old where a.id = old.id returning a.level as new_level, old.level as old_level, a.name)
		insert into feed_events (id, user_id, agent_id, type, message)
		select $3, $4, $1, 'level_up', name || ' reached level ' || new_level from upd where new_level > old_level`,
		agentID, r.XP, levelFeedID, r.UserID)
	b.Queue(`select level from agents where id = $1`, agentID).QueryRow(func(row pgx.Row) error { return row.Scan(&newLevel) })
	b.Queue(`select exists (select 1 from feed_events where id = $1)`, levelFeedID).
		QueryRow(func(row pgx.Row) error { return row.Scan(&levelUp) })
	b.Queue(`insert into feed_events (id, user_id, agent_id, type, message) values ($1, $2, $3, $4, $5)`,
		feedID, r.UserID, agentID, r.FeedType, r.FeedMessage)
	done, _ := json.Marshal(map[string]any{"delta": "", "done": true})
	events := []pubsub.Event{
		{Kind: pubsub.KindChunk, UserID: r.UserID, Topic: r.ThreadID, ID: r.ID.String(), Seq: r.DoneSeq, Data: done},
		{Kind: pubsub.KindMessage, UserID: r.UserID, Topic: r.ThreadID, ID: r.ID.String()},
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
	return newLevel, levelUp, err
}
