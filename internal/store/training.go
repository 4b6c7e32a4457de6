package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/domain"
)

var skillColumns = []string{"id", "agent_id", "skill_slug", "skill_name", "skill_category", "level", "created_at"}

var skillCols = cols("", skillColumns)

func scanSkill(row pgx.CollectableRow) (*domain.Skill, error) {
	var k domain.Skill
	return &k, row.Scan(&k.ID, &k.AgentID, &k.Slug, &k.Name, &k.Category, &k.Level, &k.InstalledAt)
}

// SkillsByAgent loads the skills of several agents, in install order.
func (s *Store) SkillsByAgent(ctx context.Context, agentIDs []uuid.UUID) (map[uuid.UUID][]*domain.Skill, error) {
	var rows []*domain.Skill
	b := &pgx.Batch{}
	all(b, &rows, scanSkill, `select `+skillCols+` from agent_skills where agent_id = any($1)
		order by created_at, id`, agentIDs)
	if err := s.run(ctx, b); err != nil {
		return nil, err
	}
	return groupBy(rows, func(k *domain.Skill) uuid.UUID { return k.AgentID }), nil
}

// NewSkill is a validated skill to install.
type NewSkill struct {
	Slug     string
	Name     string
	Category *string
	Level    int
}

// InstallSkill installs a skill on one of the caller's agents and posts
// "skill_installed" to the feed.
func (s *Store) InstallSkill(ctx context.Context, agentID uuid.UUID, n NewSkill) (*domain.Skill, error) {
	uid, err := userID(ctx)
	if err != nil {
		return nil, err
	}
	var k *domain.Skill
	b := &pgx.Batch{}
	guardAgent(b, agentID)
	one(b, &k, scanSkill, agentNotFound, `insert into agent_skills (agent_id, skill_slug, skill_name, skill_category, level)
		values ($1, $2, $3, $4, $5) returning `+skillCols, agentID, n.Slug, n.Name, n.Category, n.Level)
	if err := queueFeed(b, uid, agentID, "skill_installed", "Skill "+n.Name+" installed"); err != nil {
		return nil, err
	}
	return k, s.run(ctx, b)
}

// UninstallSkill removes a skill; false when the agent did not have it.
func (s *Store) UninstallSkill(ctx context.Context, agentID uuid.UUID, slug string) (bool, error) {
	var n int64
	b := &pgx.Batch{}
	guardAgent(b, agentID)
	affected(b, &n, `delete from agent_skills where agent_id = $1 and skill_slug = $2`, agentID, slug)
	return n > 0, s.run(ctx, b)
}

var trainingColumns = []string{"id", "agent_id", "type", "title", "content", "enabled", "created_at", "updated_at"}

var trainingCols = cols("", trainingColumns)

func scanTraining(row pgx.CollectableRow) (*domain.TrainingData, error) {
	var t domain.TrainingData
	return &t, row.Scan(&t.ID, &t.AgentID, &t.Type, &t.Title, &t.Content, &t.Enabled, &t.CreatedAt, &t.UpdatedAt)
}

const trainingNotFound = "training data not found"

// TrainingByAgent loads the training data of several agents, oldest first.
func (s *Store) TrainingByAgent(ctx context.Context, agentIDs []uuid.UUID) (map[uuid.UUID][]*domain.TrainingData, error) {
	var rows []*domain.TrainingData
	b := &pgx.Batch{}
	all(b, &rows, scanTraining, `select `+trainingCols+` from agent_training_data where agent_id = any($1)
		order by created_at, id`, agentIDs)
	if err := s.run(ctx, b); err != nil {
		return nil, err
	}
	return groupBy(rows, func(t *domain.TrainingData) uuid.UUID { return t.AgentID }), nil
}

// AddTraining adds training data to one of the caller's agents.
func (s *Store) AddTraining(ctx context.Context, agentID uuid.UUID, in domain.TrainingDataInput) (*domain.TrainingData, error) {
	enabled := in.Enabled == nil || *in.Enabled
	var t *domain.TrainingData
	b := &pgx.Batch{}
	guardAgent(b, agentID)
	one(b, &t, scanTraining, agentNotFound, `insert into agent_training_data (agent_id, type, title, content, enabled)
		values ($1, $2, $3, $4, $5) returning `+trainingCols, agentID, in.Type, in.Title, in.Content, enabled)
	return t, s.run(ctx, b)
}

// trainingAgentStatusSQL finds the status of the agent a training row belongs to.
const trainingAgentStatusSQL = `select a.status from agent_training_data t join agents a on a.id = t.agent_id where t.id = $1`

// UpdateTraining changes training data; nil fields keep their value.
func (s *Store) UpdateTraining(ctx context.Context, id uuid.UUID, p domain.UpdateTrainingDataInput) (*domain.TrainingData, error) {
	var t *domain.TrainingData
	b := &pgx.Batch{}
	guardAgentOf(b, trainingNotFound, trainingAgentStatusSQL, id)
	one(b, &t, scanTraining, trainingNotFound, `update agent_training_data set type = coalesce($2, type),
		title = coalesce($3, title), content = coalesce($4, content), enabled = coalesce($5, enabled)
		where id = $1 returning `+trainingCols, id, p.Type, p.Title, p.Content, p.Enabled)
	return t, s.run(ctx, b)
}

// RemoveTraining deletes training data.
func (s *Store) RemoveTraining(ctx context.Context, id uuid.UUID) error {
	var n int64
	b := &pgx.Batch{}
	guardAgentOf(b, trainingNotFound, trainingAgentStatusSQL, id)
	affected(b, &n, `delete from agent_training_data where id = $1`, id)
	return s.run(ctx, b)
}

// keyed maps rows by their id.
func keyed[T any](rows []T, id func(T) uuid.UUID) map[uuid.UUID]T {
	m := make(map[uuid.UUID]T, len(rows))
	for _, r := range rows {
		m[id(r)] = r
	}
	return m
}

// groupBy groups rows by a key, keeping their order.
func groupBy[K comparable, T any](rows []T, key func(T) K) map[K][]T {
	m := make(map[K][]T)
	for _, r := range rows {
		k := key(r)
		m[k] = append(m[k], r)
	}
	return m
}
