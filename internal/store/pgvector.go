package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// PGVector is pgvector as this database has it: the schema its type and
// operators live in (public on plain Postgres, extensions on Supabase), so
// statements name them qualified whatever the role's search_path. A nil
// *PGVector means the database keeps vectors packed in embedding (bytea).
type PGVector struct {
	schema string
}

// vectorType is the qualified type name, for casts.
func (p *PGVector) vectorType() string { return pgx.Identifier{p.schema, "vector"}.Sanitize() }

// cosineDistance is pgvector's <=> operator, qualified.
func (p *PGVector) cosineDistance() string {
	return "operator(" + pgx.Identifier{p.schema}.Sanitize() + ".<=>)"
}

// FindPGVector reports whether knowledge_entries has its pgvector column
// (migration 00013 adds it when the extension can be created), and whether
// the extension is at least available to the server, so that a database
// which could have it but does not is worth a warning.
func (s *Store) FindPGVector(ctx context.Context) (pv *PGVector, available bool, err error) {
	var schema *string
	if err := s.pool.QueryRow(ctx, `select
		(select n.nspname from pg_catalog.pg_extension x join pg_catalog.pg_namespace n on n.oid = x.extnamespace
			where x.extname = 'vector'
			and exists (select 1 from pg_catalog.pg_attribute a where a.attrelid = 'public.knowledge_entries'::regclass
				and a.attname = 'embedding_vector' and not a.attisdropped)),
		exists (select 1 from pg_catalog.pg_available_extensions where name = 'vector')`).Scan(&schema, &available); err != nil {
		return nil, false, fmt.Errorf("find pgvector: %w", err)
	}
	if schema == nil {
		return nil, available, nil
	}
	return &PGVector{schema: *schema}, true, nil
}

// VectorHits ranks sc's indexed entries by cosine similarity to q (a unit
// vector), computed by pgvector over the scope's rows, weighted by
// importance as every mode does: similarity × (0.5 + 0.5 × importance).
// Entries indexed under other dimensions (EMBEDDING_DIMENSIONS changed) are
// left out: <=> refuses vectors of different sizes. A zero vector, whose
// cosine is undefined (NaN, which Postgres sorts above every number), scores
// 0 as in the bytea mode.
//
// The scan is exact: the user's rows come by the user_id index and the
// distances are computed for all of them; BENCHMARKS.md ("pgvector mode")
// has why no HNSW index.
func (s *Store) VectorHits(ctx context.Context, sc Scope, pv *PGVector, q []float32, limit int) ([]Hit, error) {
	var hits []Hit
	b := &pgx.Batch{}
	all(b, &hits, pgx.RowToStructByPos[Hit], `select e.id,
			coalesce(nullif(1 - (e.embedding_vector `+pv.cosineDistance()+` $3::real[]::`+pv.vectorType()+`), 'NaN'), 0)
				* (0.5 + 0.5 * e.importance) as score
		from knowledge_entries e
		where e.user_id = $1 and e.collection_id = any($2) and e.index_status = 'indexed'
		and e.embedding_vector is not null and `+pgx.Identifier{pv.schema, "vector_dims"}.Sanitize()+`(e.embedding_vector) = $5
		order by score desc, e.id limit $4`, sc.User, sc.Collections, q, limit, len(q))
	return hits, s.runScope(ctx, sc, b)
}

// vectorLiteral is v in pgvector's text form, [x,y,...], each float32
// written in its shortest exact form.
func vectorLiteral(v []float32) string {
	b := make([]byte, 0, 2+len(v)*12)
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
	}
	return string(append(b, ']'))
}
