-- pgvector, when the server has it: knowledge_entries.embedding_vector holds each indexed
-- entry's unit vector as pgvector's type, and search ranks by cosine distance (<=>) in SQL
-- (knowledge.ModePGVector) instead of streaming the packed embedding to the server.
--
-- Conditional, and repeatable: agentgraph_enable_pgvector() does it all only when the
-- extension is available (pg_available_extensions: Supabase has it; on Debian it is built from
-- source, README.md) and the column is not there yet. This migration calls it once, and
-- internal/migrate calls it again after every migration run, so a server where pgvector is
-- installed later switches to it at its next start (or `agentgraph migrate`). Without pgvector
-- nothing changes and search keeps exact cosine over embedding (bytea). 00010 already created
-- the extension when it could; this creates it if that did not happen. pgvector is not a
-- trusted extension: a migrating role that is not a superuser (and finds it not created)
-- leaves it out with a notice; the server then warns at start that pgvector is available but
-- unused. The extension's schema is wherever it lives (public when created here, extensions
-- when enabled from Supabase's dashboard): the column's type is qualified with it, and the
-- server finds it the same way at start.
--
--  * embedding_vector: vector with no fixed dimension, so EMBEDDING_DIMENSIONS may change:
--    entries indexed under other dimensions are skipped by searches (vector_dims filter; the
--    bytea mode scores them 0) until an edit indexes them again. No ANN index: searches are
--    scoped to one user's collections and scan those rows exactly; an HNSW index (which would
--    need a fixed dimension) was measured and not chosen (BENCHMARKS.md, "pgvector mode").
--  * Column privileges: users keep SELECT on the table (their own rows, RLS), and INSERT and
--    UPDATE only on the columns 00010 granted, so they may not write vectors: the new column
--    gets no grant. service_role has ALL on the table (00009).
--  * The reindex trigger of 00010 clears embedding on an edit; reindex_vector (named after it,
--    so it runs after it) clears embedding_vector the same way: an edited entry never keeps the
--    old vector.
--  * Vectors already in embedding (a database that ran without pgvector) are copied over,
--    decoded from packed little-endian float32 in SQL, so those entries stay searchable.
--    embedding is then cleared: one copy of each vector.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION public.agentgraph_enable_pgvector() RETURNS boolean
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  ext_schema text;
BEGIN
  -- Instances starting together each call it: one adds the column, the others then find it.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('agentgraph_enable_pgvector'));
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = 'public.knowledge_entries'::regclass
             AND attname = 'embedding_vector' AND NOT attisdropped) THEN
    RETURN true;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'vector') THEN
    RAISE NOTICE 'pgvector is not available: knowledge search keeps exact cosine over embedding';
    RETURN false;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'vector') THEN
    BEGIN
      -- In public, like 00010 (the function's search_path is empty, so it is named):
      -- authenticated and service_role have USAGE there (00009).
      CREATE EXTENSION vector SCHEMA public;
    EXCEPTION WHEN insufficient_privilege THEN
      -- pgvector is not a trusted extension: a superuser must create it (README.md).
      RAISE NOTICE 'pgvector is available but this role may not create it: knowledge search keeps exact cosine over embedding';
      RETURN false;
    END;
  END IF;
  SELECT n.nspname INTO ext_schema FROM pg_catalog.pg_extension x
    JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace WHERE x.extname = 'vector';
  EXECUTE format('ALTER TABLE public.knowledge_entries ADD COLUMN embedding_vector %I.vector', ext_schema);

  CREATE FUNCTION public.knowledge_entries_reindex_vector() RETURNS trigger
  LANGUAGE plpgsql SET search_path = '' AS $fn$
  BEGIN
    IF NEW.index_version IS DISTINCT FROM OLD.index_version THEN
      NEW.embedding_vector := NULL;
    END IF;
    RETURN NEW;
  END
  $fn$;
  CREATE TRIGGER reindex_vector BEFORE UPDATE ON public.knowledge_entries
    FOR EACH ROW EXECUTE FUNCTION public.knowledge_entries_reindex_vector();

  -- Under FORCE ROW LEVEL SECURITY (00009) a non-superuser owner sees no rows: lifted for
  -- this copy only, inside this transaction (ALTER TABLE locks the table until it commits).
  ALTER TABLE public.knowledge_entries NO FORCE ROW LEVEL SECURITY;
  -- A float32 from its four little-endian bytes: sign, exponent, mantissa (unit vectors hold
  -- no infinities or NaNs; exponent 0 is a subnormal).
  EXECUTE format($sql$
    UPDATE public.knowledge_entries e SET embedding = NULL, embedding_vector = (
      SELECT array_agg(
          (CASE WHEN (b >> 31) = 1 THEN -1 ELSE 1 END) *
          (CASE WHEN ((b >> 23) & 255) = 0 THEN (b & 8388607) * (2::float8 ^ (-149))
                ELSE (1 + (b & 8388607) / 8388608::float8) * (2::float8 ^ (((b >> 23) & 255) - 127)) END)
        ORDER BY i)::real[]::%I.vector
      FROM (SELECT i, (pg_catalog.get_byte(e.embedding, 4 * i)::bigint)
              | (pg_catalog.get_byte(e.embedding, 4 * i + 1)::bigint << 8)
              | (pg_catalog.get_byte(e.embedding, 4 * i + 2)::bigint << 16)
              | (pg_catalog.get_byte(e.embedding, 4 * i + 3)::bigint << 24) AS b
            FROM pg_catalog.generate_series(0, pg_catalog.length(e.embedding) / 4 - 1) AS i) AS f)
    WHERE e.embedding IS NOT NULL AND pg_catalog.length(e.embedding) >= 4$sql$, ext_schema);
  ALTER TABLE public.knowledge_entries FORCE ROW LEVEL SECURITY;
  RETURN true;
END
$$;
-- +goose StatementEnd
-- Functions are executable by PUBLIC by default; this one is the owner's (PostgREST would
-- otherwise offer it to every user as an RPC, refused only by the ALTER TABLE inside).
REVOKE EXECUTE ON FUNCTION public.agentgraph_enable_pgvector() FROM PUBLIC;
SELECT public.agentgraph_enable_pgvector();

-- +goose Down
-- The extension stays: other schemas may use it, and 00010 may have created it. Vectors are
-- not copied back: entries then need indexing again (edit them).
DROP TRIGGER IF EXISTS reindex_vector ON public.knowledge_entries;
DROP FUNCTION IF EXISTS public.knowledge_entries_reindex_vector();
DROP FUNCTION public.agentgraph_enable_pgvector();
ALTER TABLE public.knowledge_entries DROP COLUMN IF EXISTS embedding_vector;
