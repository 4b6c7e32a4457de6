package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Exact vector search reads every vector of its scope. The knowledge engine
// keeps a collection's vectors in memory between searches and checks them,
// at every search, against a stamp Postgres computes from the rows: the
// statements below.

// VectorStamp identifies the vectors Postgres holds for one collection at
// one moment: how many indexed entries carry one, and the XOR of a hash of
// each one's (id, index_version, indexed_at). Whatever changes what a search
// reads changes it: an entry indexed or indexed again (indexed_at), edited
// or moved (index_version moves and it leaves the indexed set until its job
// runs), deleted or failed (it leaves the set). Two states share a stamp only
// by a 64-bit hash coincidence.
type VectorStamp struct {
	Count int64
	Hash  int64
}

// vectorRowHash is one row's share of a VectorStamp. indexed_at to the
// microsecond (what Postgres keeps) seeds the hash of the version, which
// seeds the hash of the id. Rows written as indexed without indexed_at (bulk
// loads) hash as of epoch 0.
const vectorRowHash = `uuid_hash_extended(e.id, hashint8extended(
	coalesce((extract(epoch from e.indexed_at) * 1000000)::bigint, 0), e.index_version))`

// vectorRows are the entries of a scope whose vectors Postgres holds.
const vectorRows = `from knowledge_entries e where e.user_id = $1 and e.collection_id = any($2)
	and e.index_status = 'indexed' and e.embedding is not null`

// VectorStamps returns the stamp of each of sc's collections holding
// vectors (collections without any are absent). It reads the rows but not
// their vectors (stored out of line), so it costs a fraction of a scan: at
// 10,000 entries ~5 ms against ~200 ms (BENCHMARKS.md). User scopes run
// under RLS like every search statement.
func (s *Store) VectorStamps(ctx context.Context, sc Scope) (map[uuid.UUID]VectorStamp, error) {
	out := map[uuid.UUID]VectorStamp{}
	b := &pgx.Batch{}
	b.Queue(`select e.collection_id, count(*), coalesce(bit_xor(`+vectorRowHash+`), 0) `+vectorRows+`
		group by e.collection_id`, sc.User, sc.Collections).Query(func(rows pgx.Rows) error {
		var col uuid.UUID
		var st VectorStamp
		_, err := pgx.ForEachRow(rows, []any{&col, &st.Count, &st.Hash}, func() error {
			out[col] = st
			return nil
		})
		return err
	})
	if err := s.runScope(ctx, sc, b); err != nil {
		return nil, fmt.Errorf("vector stamps: %w", err)
	}
	return out, nil
}

// ScanVectors streams the Postgres-held vectors of sc's indexed entries in
// the collections cols (a subset of sc's) to fn, with each one's collection,
// importance and share of its collection's VectorStamp (XOR the hashes of a
// collection's rows and count them: that is its stamp as of this scan). With
// ids, only those entries (a refresh of what changed). The bytes are only
// valid during the call.
func (s *Store) ScanVectors(ctx context.Context, sc Scope, cols, ids []uuid.UUID,
	fn func(col, id uuid.UUID, importance float64, vec []byte, hash int64)) error {
	b := &pgx.Batch{}
	sql, args := `select e.collection_id, e.id, e.importance, e.embedding, `+vectorRowHash+` `+vectorRows, []any{sc.User, cols}
	if ids != nil {
		// Its own statement, so that every plan of it looks ids up by key.
		sql, args = sql+` and e.id = any($3)`, append(args, ids)
	}
	b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		for rows.Next() {
			raw := rows.RawValues()
			if len(raw[0]) != 16 || len(raw[1]) != 16 || len(raw[2]) != 8 || len(raw[4]) != 8 {
				return fmt.Errorf("unexpected row encoding (%d, %d, %d, %d bytes)", len(raw[0]), len(raw[1]), len(raw[2]), len(raw[4]))
			}
			col, id := uuid.UUID(raw[0]), uuid.UUID(raw[1])
			fn(col, id, math.Float64frombits(binary.BigEndian.Uint64(raw[2])), raw[3],
				int64(binary.BigEndian.Uint64(raw[4])))
		}
		return rows.Err()
	})
	if err := s.runScope(ctx, sc, b); err != nil {
		return fmt.Errorf("scan vectors: %w", err)
	}
	return nil
}

// VectorHashes streams each indexed entry of sc's collections cols, with its
// share of its collection's VectorStamp, without its vector: what a cached
// collection whose stamp moved compares with what it holds, to read again
// only the vectors that changed (at 10,000 entries such a search costs ~15 ms
// more than one of an unchanged collection, against ~150 ms more to read
// every vector again; BENCHMARKS.md).
func (s *Store) VectorHashes(ctx context.Context, sc Scope, cols []uuid.UUID, fn func(col, id uuid.UUID, hash int64)) error {
	b := &pgx.Batch{}
	b.Queue(`select e.collection_id, e.id, `+vectorRowHash+` `+vectorRows, sc.User, cols).Query(func(rows pgx.Rows) error {
		var col, id uuid.UUID
		var hash int64
		_, err := pgx.ForEachRow(rows, []any{&col, &id, &hash}, func() error {
			fn(col, id, hash)
			return nil
		})
		return err
	})
	if err := s.runScope(ctx, sc, b); err != nil {
		return fmt.Errorf("vector hashes: %w", err)
	}
	return nil
}
