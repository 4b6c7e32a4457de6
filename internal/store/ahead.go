package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
)

// Ahead holds the statements a root field queues for the nested fields its
// selection will ask for (graph's lookahead), so that they go out in the
// root's own batch: one round trip and one transaction under the caller's
// RLS settings, instead of one batch per level of the query with a loader
// wait before each.
//
// The statements are keyed by what the root reads (a thread's id, a page's
// filter and cursor), not by the ids it returns, which are not known until
// the batch has run: each repeats the root's selection as a subquery.
//
// Results are valid only when Loaded reports true: the whole batch ran.
// When a looked-ahead statement fails, the root's own rows still stand
// (runAhead) and the nested fields load through their loaders as they
// would have without lookahead, reporting their own errors at their own
// paths.
type Ahead struct {
	b      pgx.Batch
	loaded bool
}

// Loaded reports whether the statements queued on a ran and their results
// are complete.
func (a *Ahead) Loaded() bool { return a != nil && a.loaded }

// runAhead sends b, the root's statements, followed by a's in one batch
// (see run) under settings (setClaimsSQL or setClaimsGenericSQL). An error
// of a looked-ahead statement is not the root's: once every statement of b
// has been read, runAhead returns nil and leaves a not Loaded. A nil or
// empty a is plain runAs.
func (s *Store) runAhead(ctx context.Context, settings string, b *pgx.Batch, a *Ahead) error {
	if a == nil || a.b.Len() == 0 {
		return s.runAs(ctx, settings, b)
	}
	full := appendFresh(&pgx.Batch{}, b)
	rootRead := false
	last := full.QueuedQueries[len(full.QueuedQueries)-1]
	if fn := last.Fn; fn != nil {
		last.Fn = func(br pgx.BatchResults) error {
			if err := fn(br); err != nil {
				return err
			}
			rootRead = true
			return nil
		}
	}
	err := s.runAs(ctx, settings, appendFresh(full, &a.b))
	switch {
	case err == nil:
		a.loaded = true
		return nil
	case rootRead:
		return nil
	}
	return err
}

// appendRows queues a query whose rows are appended to *dst, for results
// gathered from several statements. A retried attempt (retry) appends them
// again: only for rows whose repeats do no harm (agents, primed by id).
func appendRows[T any](b *pgx.Batch, dst *[]T, scan pgx.RowToFunc[T], sql string, args ...any) {
	b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		items, err := pgx.CollectRows(rows, scan)
		*dst = append(*dst, items...)
		return err
	})
}

// MessagePages queues the pages of messages keys name (see
// Store.MessagePages).
func (a *Ahead) MessagePages(keys []MessagesKey) func() map[MessagesKey]page.Page[*domain.Message] {
	return queueMessagePages(&a.b, keys)
}

// AgentsOfMessagePages queues the agents named by the messages of the pages
// keys name: the same page subqueries as MessagePages, so no more rows are
// read than the pages hold.
func (a *Ahead) AgentsOfMessagePages(keys []MessagesKey) *[]*domain.Agent {
	dst := new([]*domain.Agent)
	threads := make(map[page.Key][]string)
	for _, k := range keys {
		threads[k.Page] = append(threads[k.Page], k.Thread)
	}
	for g, ids := range threads {
		from, args := messagePages(ids, g.Backward())
		appendRows(&a.b, dst, scanAgent, `select `+agentCols+` from agents where id in (select m.agent_id from `+from+`)`, args...)
	}
	return dst
}

// AgentsOfFeed queues the agents named by the events of a feed page (see
// Store.Feed).
func (a *Ahead) AgentsOfFeed(f FeedFilter, args page.Args) *[]*domain.Agent {
	dst := new([]*domain.Agent)
	events, params := feedPage("agent_id", f, args, args.Size)
	all(&a.b, dst, scanAgent, `select `+agentCols+` from agents where id in (`+events+`)`, params...)
	return dst
}

// SkillsOfAgents queues the skills of the agents of a page (see
// Store.Agents), grouped by agent as SkillsByAgent groups them.
func (a *Ahead) SkillsOfAgents(f AgentFilter, args page.Args) func() map[uuid.UUID][]*domain.Skill {
	var rows []*domain.Skill
	agents, params := agentPage("id", f, args, args.Size)
	all(&a.b, &rows, scanSkill, `select `+skillCols+` from agent_skills where agent_id in (`+agents+`)
		order by created_at, id`, params...)
	return func() map[uuid.UUID][]*domain.Skill {
		return groupBy(rows, func(k *domain.Skill) uuid.UUID { return k.AgentID })
	}
}

// TrainingOfAgents queues the training data of the agents of a page,
// grouped by agent as TrainingByAgent groups it.
func (a *Ahead) TrainingOfAgents(f AgentFilter, args page.Args) func() map[uuid.UUID][]*domain.TrainingData {
	var rows []*domain.TrainingData
	agents, params := agentPage("id", f, args, args.Size)
	all(&a.b, &rows, scanTraining, `select `+trainingCols+` from agent_training_data where agent_id in (`+
		agents+`) order by created_at, id`, params...)
	return func() map[uuid.UUID][]*domain.TrainingData {
		return groupBy(rows, func(t *domain.TrainingData) uuid.UUID { return t.AgentID })
	}
}

// AccessOfAgents queues the knowledge access of the agents of a page, with
// its collections, grouped by agent as AccessByAgent groups it.
func (a *Ahead) AccessOfAgents(f AgentFilter, args page.Args) func() map[uuid.UUID][]*domain.KnowledgeAccess {
	var rows []*domain.KnowledgeAccess
	agents, params := agentPage("id", f, args, args.Size)
	all(&a.b, &rows, scanAccessWithCollection, `select `+accessWithCollectionCols+`
		from agent_knowledge_access k join knowledge_collections c on c.id = k.collection_id
		where k.agent_id in (`+agents+`) order by k.created_at, k.id`, params...)
	return func() map[uuid.UUID][]*domain.KnowledgeAccess {
		return groupBy(rows, func(k *domain.KnowledgeAccess) uuid.UUID { return k.AgentID })
	}
}

// CountAgents queues the count of the caller's agents matching f (see
// Store.CountAgents).
func (a *Ahead) CountAgents(f AgentFilter) *int {
	n := new(int)
	queueCountAgents(&a.b, f, n)
	return n
}
