package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/domain"
)

// The knowledge index (internal/knowledge): what the index jobs read and
// write as the service role, and the searches. Migration 00010 describes the
// columns.

// ToIndex is an entry claimed by an index job: the version it read is the
// one its vector must match to be written.
type ToIndex struct {
	ID           uuid.UUID
	CollectionID uuid.UUID
	Content      string
	Type         domain.KnowledgeType
	Importance   float64
	Version      int64
}

// ClaimToIndex leases up to limit of user's pending entries for lease, oldest
// change first, skipping those another job holds: several jobs of one user
// (one running, one queued behind it) and several instances then never embed
// the same entry twice. A lease that runs out (its instance died) frees the
// entry for the next job.
func (s *Store) ClaimToIndex(ctx context.Context, user uuid.UUID, limit int, lease time.Duration) ([]ToIndex, error) {
	var rows []ToIndex
	b := &pgx.Batch{}
	all(b, &rows, pgx.RowToStructByPos[ToIndex], `update knowledge_entries e set index_lease = now() + $3::interval
		from (select id from knowledge_entries where user_id = $1 and index_status = 'pending'
			and (index_lease is null or index_lease < now())
			order by updated_at, id limit $2 for update skip locked) c
		where e.id = c.id
		returning e.id, e.collection_id, e.content, e.type, e.importance, e.index_version`, user, limit, lease)
	return rows, s.runService(ctx, b)
}

// Indexed is the outcome of indexing one entry at one version.
type Indexed struct {
	ID      uuid.UUID
	Version int64
	// Embedding is the packed vector when Postgres holds it without
	// pgvector; nil otherwise.
	Embedding []byte
	// Vector is the vector when pgvector holds it (SaveIndexed's pv).
	Vector []float32
	// PineconeID is the vector's id in Pinecone, when it went there.
	PineconeID *string
}

// Usage is one usage_logs row.
type Usage struct {
	UserID    uuid.UUID
	AgentID   *uuid.UUID
	Model     string
	Provider  string
	Operation string
	Input     int
	Output    int
	CostCents float64
}

// queueUsage queues the insert of u.
func queueUsage(b *pgx.Batch, u Usage) {
	b.Queue(`insert into usage_logs (user_id, agent_id, model, provider, input_tokens, output_tokens, cost_cents, operation)
		values ($1, $2, $3, $4, $5, $6, $7, $8)`, u.UserID, u.AgentID, u.Model, u.Provider, u.Input, u.Output, u.CostCents, u.Operation)
}

// LogUsage stores a usage_logs row (the embedding of a search or of a reply's
// retrieval), as the service role.
func (s *Store) LogUsage(ctx context.Context, u Usage) error {
	b := &pgx.Batch{}
	queueUsage(b, u)
	return s.runService(ctx, b)
}

// SaveIndexed marks user's entries indexed with their vectors and logs the
// embedding call's usage (when usage is set), in one transaction. An entry
// whose version moved on since it was claimed keeps its pending status (its
// new content waits for the next job); gone lists the entries that no longer
// exist, whose vectors a remote index must drop again. With pv (the
// database has pgvector) the items' Vector goes to embedding_vector.
func (s *Store) SaveIndexed(ctx context.Context, user uuid.UUID, items []Indexed, usage *Usage, pv *PGVector) (gone []uuid.UUID, err error) {
	ids := make([]uuid.UUID, len(items))
	versions := make([]int64, len(items))
	embeddings := make([][]byte, len(items))
	pids := make([]*string, len(items))
	vecs := make([]*string, len(items))
	for i, it := range items {
		ids[i], versions[i], embeddings[i], pids[i] = it.ID, it.Version, it.Embedding, it.PineconeID
		if it.Vector != nil {
			lit := vectorLiteral(it.Vector)
			vecs[i] = &lit
		}
	}
	// pgvector's type has no binary form pgx knows: vectors go as text and
	// are cast (only when the column exists: the statement names it).
	setVector := ""
	if pv != nil {
		setVector = `, embedding_vector = k.vec::` + pv.vectorType()
	}
	b := &pgx.Batch{}
	b.Queue(`update knowledge_entries e set index_status = 'indexed', index_error = null, indexed_at = now(),
			index_lease = null, embedding = k.embedding, pinecone_id = k.pid`+setVector+`
		from unnest($2::uuid[], $3::bigint[], $4::bytea[], $5::text[], $6::text[]) as k(id, version, embedding, pid, vec)
		where e.id = k.id and e.user_id = $1 and e.index_version = k.version`, user, ids, versions, embeddings, pids, vecs)
	// Stale claims (content changed meanwhile) give their lease back at once.
	b.Queue(`update knowledge_entries set index_lease = null where id = any($2) and user_id = $1 and index_status = 'pending'`, user, ids)
	all(b, &gone, pgx.RowTo[uuid.UUID], `select k.id from unnest($1::uuid[]) as k(id)
		where not exists (select 1 from knowledge_entries e where e.id = k.id)`, ids)
	if usage != nil {
		queueUsage(b, *usage)
	}
	return gone, s.runService(ctx, b)
}

// ReleaseClaims gives user's leased entries back without indexing them (the
// embedding call failed; the job's retry claims them again), logging usage
// when set.
func (s *Store) ReleaseClaims(ctx context.Context, user uuid.UUID, ids []uuid.UUID) error {
	b := &pgx.Batch{}
	b.Queue(`update knowledge_entries set index_lease = null where id = any($2) and user_id = $1`, user, ids)
	return s.runService(ctx, b)
}

// FailIndex marks user's entries FAILED with reason, if still at the version
// that failed.
func (s *Store) FailIndex(ctx context.Context, user uuid.UUID, failed []ToIndex, reason string) error {
	ids := make([]uuid.UUID, len(failed))
	versions := make([]int64, len(failed))
	for i, f := range failed {
		ids[i], versions[i] = f.ID, f.Version
	}
	b := &pgx.Batch{}
	b.Queue(`update knowledge_entries e set index_status = 'failed', index_error = $4, index_lease = null
		from unnest($2::uuid[], $3::bigint[]) as k(id, version)
		where e.id = k.id and e.user_id = $1 and e.index_version = k.version`, user, ids, versions, reason)
	return s.runService(ctx, b)
}

// CompleteIfNoPending ends a user's index job (complete, in the same
// transaction) when none of the user's entries is pending. The job's own row
// is locked first: an entry write that commits meanwhile has tried to insert
// the user's job, found this one running and locked its row (River's unique
// insert is an ON CONFLICT DO UPDATE), so the lock waits for that write and
// the check below sees its entry; a write that comes after the lock waits
// until the job is complete, and then inserts a job of its own.
func (s *Store) CompleteIfNoPending(ctx context.Context, user uuid.UUID, jobID int64, complete func(context.Context, pgx.Tx) error) (bool, error) {
	done := false
	err := s.serviceTx(ctx, func(tx pgx.Tx) error {
		done = false
		if _, err := tx.Exec(ctx, `select 1 from river.river_job where id = $1 for update`, jobID); err != nil {
			return err
		}
		var pending bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from knowledge_entries where user_id = $1 and index_status = 'pending')`,
			user).Scan(&pending); err != nil {
			return err
		}
		if pending {
			return nil
		}
		done = true
		return complete(ctx, tx)
	})
	return done, err
}

// Scope is the set of collections one search may read, all of one user.
// Service scopes (an agent's retrieval) run as the service role, filtered by
// User in every statement; user scopes run as the caller, under RLS.
type Scope struct {
	User        uuid.UUID
	Collections []uuid.UUID
	// Names are the collections' names, for prompts.
	Names   map[uuid.UUID]string
	Service bool
}

func (s *Store) runScope(ctx context.Context, sc Scope, b *pgx.Batch) error {
	if sc.Service {
		return s.runService(ctx, b)
	}
	return s.run(ctx, b)
}

// SearchScope resolves the collections a search of the caller may read: the
// named ones (each must be the caller's: NOT_FOUND otherwise) or all of the
// caller's, narrowed with agent to those the agent may read (the agent must
// be the caller's).
func (s *Store) SearchScope(ctx context.Context, agent *uuid.UUID, named []uuid.UUID) (Scope, error) {
	uid, err := userID(ctx)
	if err != nil {
		return Scope{}, err
	}
	sc := Scope{User: uid, Names: map[uuid.UUID]string{}}
	b := &pgx.Batch{}
	if agent != nil {
		found(b, agentNotFound, `select exists (select 1 from agents where id = $1)`, *agent)
	}
	if named != nil {
		b.Queue(`select agentgraph_check((select count(*) from knowledge_collections where id = any($1))
			= cardinality(array(select distinct unnest($1::uuid[]))), '`+codeNotFound+`', 'collection not found', 'collectionIds')`, named)
	}
	b.Queue(`select c.id, c.name from knowledge_collections c where ($1::uuid[] is null or c.id = any($1))
		and ($2::uuid is null or exists (select 1 from agent_knowledge_access k where k.agent_id = $2 and k.collection_id = c.id))
		order by c.id`, named, agent).Query(func(rows pgx.Rows) error {
		var id uuid.UUID
		var name string
		_, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
			sc.Collections = append(sc.Collections, id)
			sc.Names[id] = name
			return nil
		})
		return err
	})
	return sc, s.run(ctx, b)
}

// RecallScope is the scope of an agent's retrieval: the collections of user
// the agent may read, now (a revoked access is gone at the next reply).
func (s *Store) RecallScope(ctx context.Context, user, agent uuid.UUID) (Scope, error) {
	sc := Scope{User: user, Names: map[uuid.UUID]string{}, Service: true}
	b := &pgx.Batch{}
	b.Queue(`select c.id, c.name from agent_knowledge_access k join knowledge_collections c on c.id = k.collection_id
		where k.agent_id = $1 and c.user_id = $2 order by c.id`, agent, user).Query(func(rows pgx.Rows) error {
		var id uuid.UUID
		var name string
		_, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
			sc.Collections = append(sc.Collections, id)
			sc.Names[id] = name
			return nil
		})
		return err
	})
	return sc, s.runService(ctx, b)
}

// Hit is a search result before hydration: an entry and its score.
type Hit struct {
	ID    uuid.UUID
	Score float64
	// Batch points at the ids of the hits returned with this one, so that
	// one hit's entry field loads the entries of all (loaders.LinkHits). A
	// pointer keeps Hit comparable; never a column.
	Batch *[]uuid.UUID `json:"-" db:"-"`
}

// TextHits ranks sc's entries matching query (websearch_to_tsquery, English)
// by ts_rank_cd normalized to [0, 1) (rank/(rank+1)), weighted by importance
// like vector hits: rank × (0.5 + 0.5 × importance). With unindexed, only
// entries not indexed (pending or failed), which vector search cannot find
// yet. The two are distinct statements, not one with a flag, so that the
// second's "index_status <> 'indexed'" is in every plan of it, generic ones
// too, and the partial index of the unindexed entries serves it
// (migration 00014).
func (s *Store) TextHits(ctx context.Context, sc Scope, query string, limit int, unindexed bool) ([]Hit, error) {
	only := ""
	if unindexed {
		only = ` and e.index_status <> 'indexed'`
	}
	var hits []Hit
	b := &pgx.Batch{}
	all(b, &hits, pgx.RowToStructByPos[Hit], `select e.id, ts_rank_cd(e.search, q, 32) * (0.5 + 0.5 * e.importance) as score
		from knowledge_entries e, websearch_to_tsquery('english', $3) q
		where e.user_id = $1 and e.collection_id = any($2) and e.search @@ q`+only+`
		order by score desc, e.id limit $4`, sc.User, sc.Collections, query, limit)
	return hits, s.runScope(ctx, sc, b)
}

// IndexedEntries loads sc's indexed entries among ids with their importance,
// for hits a remote index returned: an entry deleted, moved out of scope or
// changed since it was indexed is left out (its new content is found by
// full text until it is indexed again).
func (s *Store) IndexedEntries(ctx context.Context, sc Scope, ids []uuid.UUID) (map[uuid.UUID]float64, error) {
	out := make(map[uuid.UUID]float64, len(ids))
	b := &pgx.Batch{}
	b.Queue(`select e.id, e.importance from knowledge_entries e where e.id = any($3) and e.user_id = $1
		and e.collection_id = any($2) and e.index_status = 'indexed'`, sc.User, sc.Collections, ids).
		Query(func(rows pgx.Rows) error {
			var id uuid.UUID
			var imp float64
			_, err := pgx.ForEachRow(rows, []any{&id, &imp}, func() error {
				out[id] = imp
				return nil
			})
			return err
		})
	return out, s.runScope(ctx, sc, b)
}

// EntriesByID loads the caller's entries by id; ids the caller cannot see
// are absent.
func (s *Store) EntriesByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*domain.Entry, error) {
	var rows []*domain.Entry
	b := &pgx.Batch{}
	all(b, &rows, scanEntry, `select `+entryCols+` from knowledge_entries where id = any($1)`, ids)
	if err := s.run(ctx, b); err != nil {
		return nil, err
	}
	return keyed(rows, func(e *domain.Entry) uuid.UUID { return e.ID }), nil
}

// UserEntries loads user's entries by id as the service role (an agent's
// retrieval), in the order of ids.
func (s *Store) UserEntries(ctx context.Context, user uuid.UUID, ids []uuid.UUID) ([]*domain.Entry, error) {
	var rows []*domain.Entry
	b := &pgx.Batch{}
	all(b, &rows, scanEntry, `select `+entryCols+` from knowledge_entries where user_id = $1 and id = any($2)`, user, ids)
	if err := s.runService(ctx, b); err != nil {
		return nil, err
	}
	byID := keyed(rows, func(e *domain.Entry) uuid.UUID { return e.ID })
	out := make([]*domain.Entry, 0, len(rows))
	for _, id := range ids {
		if e, ok := byID[id]; ok {
			out = append(out, e)
		}
	}
	return out, nil
}
