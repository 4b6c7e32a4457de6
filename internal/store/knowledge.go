package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
)

var collectionColumns = []string{"id", "user_id", "name", "description", "is_default", "created_at", "updated_at"}

var collectionCols = cols("", collectionColumns)

func collectionDest(c *domain.Collection) []any {
	return []any{&c.ID, &c.UserID, &c.Name, &c.Description, &c.IsDefault, &c.CreatedAt, &c.UpdatedAt}
}

func scanCollection(row pgx.CollectableRow) (*domain.Collection, error) {
	var c domain.Collection
	return &c, row.Scan(collectionDest(&c)...)
}

const collectionNotFound = "collection not found"

// Collection returns one of the caller's collections.
func (s *Store) Collection(ctx context.Context, id uuid.UUID) (*domain.Collection, error) {
	var c *domain.Collection
	b := &pgx.Batch{}
	one(b, &c, scanCollection, collectionNotFound, `select `+collectionCols+` from knowledge_collections where id = $1`, id)
	return c, s.run(ctx, b)
}

// CollectionsByID loads collections by id; ids the caller cannot see are absent.
func (s *Store) CollectionsByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*domain.Collection, error) {
	var rows []*domain.Collection
	b := &pgx.Batch{}
	all(b, &rows, scanCollection, `select `+collectionCols+` from knowledge_collections where id = any($1)`, ids)
	if err := s.run(ctx, b); err != nil {
		return nil, err
	}
	return keyed(rows, func(c *domain.Collection) uuid.UUID { return c.ID }), nil
}

// Collections returns a page of the caller's collections, oldest first.
func (s *Store) Collections(ctx context.Context, a page.Args) (page.Page[*domain.Collection], error) {
	var rows []*domain.Collection
	b := &pgx.Batch{}
	all(b, &rows, scanCollection, `select `+collectionCols+` from knowledge_collections
		where ($1::timestamptz is null or (created_at, id) > ($1, $2)) order by created_at, id limit $3`,
		a.AfterAt(), a.AfterID(), a.Limit())
	if err := s.run(ctx, b); err != nil {
		return page.Page[*domain.Collection]{}, err
	}
	return page.Cut(a, rows), nil
}

// CountCollections counts the caller's collections.
func (s *Store) CountCollections(ctx context.Context) (int, error) {
	var n int
	b := &pgx.Batch{}
	b.Queue(`select count(*) from knowledge_collections`).QueryRow(func(r pgx.Row) error { return r.Scan(&n) })
	return n, s.run(ctx, b)
}

// unsetDefaultSQL clears the caller's default collection so that another can
// take the flag in the same batch.
const unsetDefaultSQL = `update knowledge_collections set is_default = false where is_default and id is distinct from $1`

// CreateCollection creates a collection for the caller.
func (s *Store) CreateCollection(ctx context.Context, in domain.CollectionInput) (*domain.Collection, error) {
	uid, err := userID(ctx)
	if err != nil {
		return nil, err
	}
	isDefault := in.IsDefault != nil && *in.IsDefault
	var c *domain.Collection
	b := &pgx.Batch{}
	if isDefault {
		b.Queue(unsetDefaultSQL, nil)
	}
	one(b, &c, scanCollection, collectionNotFound, `insert into knowledge_collections (user_id, name, description, is_default)
		values ($1, $2, nullif($3, ''), $4) returning `+collectionCols, uid, in.Name, in.Description, isDefault)
	return c, s.run(ctx, b)
}

// UpdateCollection changes a collection: nil keeps a value, an empty
// description clears it.
func (s *Store) UpdateCollection(ctx context.Context, id uuid.UUID, p domain.UpdateCollectionInput) (*domain.Collection, error) {
	var c *domain.Collection
	b := &pgx.Batch{}
	found(b, collectionNotFound, `select exists (select 1 from knowledge_collections where id = $1)`, id)
	if p.IsDefault != nil && *p.IsDefault {
		b.Queue(unsetDefaultSQL, id)
	}
	one(b, &c, scanCollection, collectionNotFound, `update knowledge_collections set name = coalesce($2, name),
		description = case when $3::text is null then description else nullif($3, '') end,
		is_default = coalesce($4, is_default) where id = $1 returning `+collectionCols,
		id, p.Name, p.Description, p.IsDefault)
	return c, s.run(ctx, b)
}

// DeleteCollection deletes a collection with its entries and access rows.
// With gone, the ids of the deleted entries are handed to it in the same
// transaction (as the service role), to enqueue the deletion of their vectors.
func (s *Store) DeleteCollection(ctx context.Context, id uuid.UUID, gone EntriesGone) error {
	b := &pgx.Batch{}
	found(b, collectionNotFound, `select exists (select 1 from knowledge_collections where id = $1)`, id)
	ids := new([]uuid.UUID)
	if gone != nil {
		// Deleted before the cascade only to learn their ids.
		ids = deletedIDs(b, `delete from knowledge_entries where collection_id = $1 returning id`, id)
	}
	b.Queue(`delete from knowledge_collections where id = $1`, id)
	if gone == nil {
		return s.run(ctx, b)
	}
	return s.userTx(ctx, b, func(ctx context.Context, tx pgx.Tx) error { return gone(ctx, tx, *ids) })
}

// EntriesGone is called, inside the transaction that deleted them, with the
// ids of deleted entries (possibly none).
type EntriesGone func(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) error

// deletedIDs queues a "delete … returning id" and returns where its ids land.
func deletedIDs(b *pgx.Batch, sql string, args ...any) *[]uuid.UUID {
	ids := new([]uuid.UUID)
	b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		got, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		*ids = got
		return err
	})
	return ids
}

func scanAccess(row pgx.CollectableRow) (*domain.KnowledgeAccess, error) {
	var k domain.KnowledgeAccess
	return &k, row.Scan(&k.ID, &k.AgentID, &k.CollectionID, &k.AccessLevel)
}

var accessColumns = []string{"id", "agent_id", "collection_id", "access_level"}

var accessCols = cols("", accessColumns)

// accessWithCollectionCols is an access row (k) and its collection (c).
var accessWithCollectionCols = cols("k", accessColumns) + ", " + cols("c", collectionColumns)

func scanAccessWithCollection(row pgx.CollectableRow) (*domain.KnowledgeAccess, error) {
	k := &domain.KnowledgeAccess{Collection: &domain.Collection{}}
	return k, row.Scan(append([]any{&k.ID, &k.AgentID, &k.CollectionID, &k.AccessLevel}, collectionDest(k.Collection)...)...)
}

// AccessByAgent loads the collections several agents may access, with the
// collections themselves.
func (s *Store) AccessByAgent(ctx context.Context, agentIDs []uuid.UUID) (map[uuid.UUID][]*domain.KnowledgeAccess, error) {
	var rows []*domain.KnowledgeAccess
	b := &pgx.Batch{}
	all(b, &rows, scanAccessWithCollection, `select `+accessWithCollectionCols+`
		from agent_knowledge_access k join knowledge_collections c on c.id = k.collection_id
		where k.agent_id = any($1) order by k.created_at, k.id`, agentIDs)
	if err := s.run(ctx, b); err != nil {
		return nil, err
	}
	return groupBy(rows, func(k *domain.KnowledgeAccess) uuid.UUID { return k.AgentID }), nil
}

// GrantAccess lets an agent access a collection, or changes the level of an
// access it already has. Both must be the caller's.
func (s *Store) GrantAccess(ctx context.Context, agentID, collectionID uuid.UUID, level domain.AccessLevel) (*domain.KnowledgeAccess, error) {
	var k *domain.KnowledgeAccess
	b := &pgx.Batch{}
	guardAgent(b, agentID)
	found(b, collectionNotFound, `select exists (select 1 from knowledge_collections where id = $1)`, collectionID)
	one(b, &k, scanAccess, collectionNotFound, `insert into agent_knowledge_access (agent_id, collection_id, access_level)
		values ($1, $2, $3) on conflict (agent_id, collection_id) do update set access_level = excluded.access_level
		returning `+accessCols, agentID, collectionID, level)
	return k, s.run(ctx, b)
}

// RevokeAccess removes an agent's access to a collection; false when it had none.
func (s *Store) RevokeAccess(ctx context.Context, agentID, collectionID uuid.UUID) (bool, error) {
	var n int64
	b := &pgx.Batch{}
	found(b, agentNotFound, `select exists (select 1 from agents where id = $1)`, agentID)
	found(b, collectionNotFound, `select exists (select 1 from knowledge_collections where id = $1)`, collectionID)
	affected(b, &n, `delete from agent_knowledge_access where agent_id = $1 and collection_id = $2`, agentID, collectionID)
	return n > 0, s.run(ctx, b)
}

var entryColumns = []string{"id", "user_id", "collection_id", "content", "type", "importance", "source",
	"pinecone_id", "created_at", "updated_at", "index_status", "index_error", "indexed_at"}

var entryCols = cols("", entryColumns)

func scanEntry(row pgx.CollectableRow) (*domain.Entry, error) {
	var e domain.Entry
	return &e, row.Scan(&e.ID, &e.UserID, &e.CollectionID, &e.Content, &e.Type, &e.Importance, &e.Source,
		&e.PineconeID, &e.CreatedAt, &e.UpdatedAt, &e.IndexStatus, &e.IndexError, &e.IndexedAt)
}

const entryNotFound = "knowledge entry not found"

// EntriesKey names one page of one collection's entries.
type EntriesKey struct {
	Collection uuid.UUID
	Type       domain.KnowledgeType // "" for every type
	Page       page.Key
}

// EntryPages loads pages of entries of several collections. Keys that share
// their page arguments (the usual case: one field of a list) share a LATERAL
// query, and all queries go in one round trip.
func (s *Store) EntryPages(ctx context.Context, keys []EntriesKey) (map[EntriesKey]page.Page[*domain.Entry], error) {
	type group struct {
		typ  domain.KnowledgeType
		page page.Key
	}
	b := &pgx.Batch{}
	pages := lateralPages(b, keys, func(k EntriesKey) (group, uuid.UUID) { return group{k.Type, k.Page}, k.Collection },
		func(b *pgx.Batch, g group, collections []uuid.UUID, dst *[]*domain.Entry) {
			a := g.page.Args()
			all(b, dst, scanEntry, `select `+cols("e", entryColumns)+` from unnest($1::uuid[]) as k(id)
				cross join lateral (select * from knowledge_entries e where e.collection_id = k.id
					and ($2::text is null or e.type = $2)
					and ($3::timestamptz is null or (e.created_at, e.id) > ($3, $4::uuid))
					order by e.created_at, e.id limit $5) e`,
				collections, nullIfEmpty(string(g.typ)), a.AfterAt(), a.AfterID(), a.Limit())
		},
		func(e *domain.Entry) uuid.UUID { return e.CollectionID },
		func(g group, rows []*domain.Entry) page.Page[*domain.Entry] { return page.Cut(g.page.Args(), rows) })
	if err := s.run(ctx, b); err != nil {
		return nil, err
	}
	return pages(), nil
}

// CountKey names a count of one collection's entries, of one type or all.
type CountKey struct {
	Collection uuid.UUID
	Type       domain.KnowledgeType
}

// CountEntries counts the entries of several collections in one round trip.
func (s *Store) CountEntries(ctx context.Context, keys []CountKey) (map[CountKey]int, error) {
	ids := make(map[domain.KnowledgeType][]uuid.UUID)
	for _, k := range keys {
		ids[k.Type] = append(ids[k.Type], k.Collection)
	}
	out := make(map[CountKey]int, len(keys))
	b := &pgx.Batch{}
	for typ, cids := range ids {
		for _, id := range cids {
			out[CountKey{id, typ}] = 0
		}
		b.Queue(`select collection_id, count(*) from knowledge_entries where collection_id = any($1)
			and ($2::text is null or type = $2) group by collection_id`, cids, nullIfEmpty(string(typ))).
			Query(func(rows pgx.Rows) error {
				var id uuid.UUID
				var n int
				_, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error {
					out[CountKey{id, typ}] = n
					return nil
				})
				return err
			})
	}
	return out, s.run(ctx, b)
}

// NewEntry is a validated knowledge entry to add.
type NewEntry struct {
	CollectionID uuid.UUID
	Content      string
	Type         domain.KnowledgeType
	Importance   float64
	Source       string
	// Agent is the agent a source "agent:<id>" names: it must be the
	// caller's and have READ_WRITE access to the collection.
	Agent *uuid.UUID
}

// agentWriterSQL checks that agent $1 may write the collection the
// expression collection names (entries that agents add need READ_WRITE).
func agentWriterSQL(collection string) string {
	return `select agentgraph_check(exists (select 1 from agent_knowledge_access k
	join agents a on a.id = k.agent_id where k.agent_id = $1 and k.collection_id = ` + collection + `
	and k.access_level = 'read_write' and a.status <> 'destroyed'),
	'` + codeBadInput + `', 'the agent named by source needs READ_WRITE access to the collection', 'input.source')`
}

// AddEntry adds an entry to one of the caller's collections and, in the same
// transaction, calls enqueue (as the service role) to add its index job.
func (s *Store) AddEntry(ctx context.Context, n NewEntry, enqueue Enqueue) (*domain.Entry, error) {
	uid, err := userID(ctx)
	if err != nil {
		return nil, err
	}
	var e *domain.Entry
	b := &pgx.Batch{}
	found(b, collectionNotFound, `select exists (select 1 from knowledge_collections where id = $1)`, n.CollectionID)
	if n.Agent != nil {
		b.Queue(agentWriterSQL("$2"), *n.Agent, n.CollectionID)
	}
	one(b, &e, scanEntry, collectionNotFound, `insert into knowledge_entries (user_id, collection_id, content, type, importance, source)
		values ($1, $2, $3, $4, $5, $6) returning `+entryCols, uid, n.CollectionID, n.Content, n.Type, n.Importance, n.Source)
	if enqueue == nil {
		return e, s.run(ctx, b)
	}
	return e, s.userTx(ctx, b, enqueue)
}

// EntryPatch is a validated change to an entry: nil keeps a value; Agent as
// in NewEntry, when Source names one.
type EntryPatch struct {
	Content    *string
	Type       *domain.KnowledgeType
	Importance *float64
	Source     *string
	Agent      *uuid.UUID
}

// UpdateEntry changes one of the caller's entries and, in the same
// transaction, calls enqueue to add its index job. A change to what is
// indexed puts the entry back to PENDING (the reindex trigger of 00010).
func (s *Store) UpdateEntry(ctx context.Context, id uuid.UUID, p EntryPatch, enqueue Enqueue) (*domain.Entry, error) {
	var e *domain.Entry
	b := &pgx.Batch{}
	found(b, entryNotFound, `select exists (select 1 from knowledge_entries where id = $1)`, id)
	if p.Agent != nil {
		b.Queue(agentWriterSQL("(select collection_id from knowledge_entries where id = $2)"), *p.Agent, id)
	}
	one(b, &e, scanEntry, entryNotFound, `update knowledge_entries set content = coalesce($2, content),
		type = coalesce($3, type), importance = coalesce($4, importance), source = coalesce($5, source)
		where id = $1 returning `+entryCols, id, p.Content, p.Type, p.Importance, p.Source)
	if enqueue == nil {
		return e, s.run(ctx, b)
	}
	return e, s.userTx(ctx, b, enqueue)
}

// DeleteEntry deletes one of the caller's entries; gone as in
// DeleteCollection.
func (s *Store) DeleteEntry(ctx context.Context, id uuid.UUID, gone EntriesGone) error {
	b := &pgx.Batch{}
	found(b, entryNotFound, `select exists (select 1 from knowledge_entries where id = $1)`, id)
	ids := deletedIDs(b, `delete from knowledge_entries where id = $1 returning id`, id)
	if gone == nil {
		return s.run(ctx, b)
	}
	return s.userTx(ctx, b, func(ctx context.Context, tx pgx.Tx) error { return gone(ctx, tx, *ids) })
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
