-- Knowledge entries are indexed for search in the background (internal/knowledge): the API
-- commits an entry with its index job (River, same transaction), the job embeds the content
-- and writes the vector, to Pinecone when configured, otherwise into embedding below.
--
--  * index_status: pending until the job has written the vector of the entry's current
--    content; failed only once the job's retries are spent (index_error says why, in words a
--    user can act on). Search finds pending and failed entries by full text meanwhile.
--  * index_version: bumped by a trigger whenever what is indexed changes (content, type,
--    importance, collection), which also puts the entry back to pending. The job writes its
--    vector only if the version it embedded is still current, so an entry edited while its job
--    ran is embedded again, never left with the old vector.
--  * index_lease: until when an index job holds the entry (it is embedding it), so that
--    jobs of one user on several instances never embed it twice; a lease that runs out (its
--    instance died) frees the entry for the next job.
--  * embedding: the vector when Postgres holds it, packed little-endian float32 (bytea). Not
--    real[]: Postgres sends real[] element by element, 1.1 s for 10,000 vectors of 1,536
--    dimensions on our machine, against 60 ms for the same bytes as bytea (BENCHMARKS.md);
--    cosine is computed by the server over the streamed rows.
--  * search: the full-text vector of the content, for websearch_to_tsquery, GIN-indexed.
--
-- Users may not write any of these (nor pinecone_id): they are the server's record of what the
-- index holds. Column grants replace the table-wide INSERT and UPDATE of 00003.
--
-- pgvector: when the extension is available (Supabase has it) and not yet created, it is
-- created (if this role may); the server uses it for vector search when it is there
-- (knowledge.ModePGVector), and exact cosine over embedding otherwise.

-- +goose Up
ALTER TABLE public.knowledge_entries
  ADD COLUMN index_status  text        NOT NULL DEFAULT 'pending'
    CONSTRAINT knowledge_entries_index_status_check CHECK (index_status IN ('pending', 'indexed', 'failed')),
  ADD COLUMN index_error   text,
  ADD COLUMN indexed_at    timestamptz,
  ADD COLUMN index_version bigint      NOT NULL DEFAULT 1,
  ADD COLUMN index_lease   timestamptz,
  ADD COLUMN embedding     bytea,
  ADD COLUMN search        tsvector    GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED;

CREATE INDEX knowledge_entries_search_idx ON public.knowledge_entries USING gin (search);
-- The index job's scan for a user's entries still to embed.
CREATE INDEX knowledge_entries_user_id_pending_idx ON public.knowledge_entries (user_id)
  WHERE index_status = 'pending';

-- +goose StatementBegin
CREATE FUNCTION public.knowledge_entries_reindex() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.content IS DISTINCT FROM OLD.content OR NEW.type IS DISTINCT FROM OLD.type
     OR NEW.importance IS DISTINCT FROM OLD.importance OR NEW.collection_id IS DISTINCT FROM OLD.collection_id THEN
    NEW.index_version := OLD.index_version + 1;
    NEW.index_status := 'pending';
    NEW.index_error := NULL;
    NEW.embedding := NULL;
  END IF;
  RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER reindex BEFORE UPDATE ON public.knowledge_entries
  FOR EACH ROW EXECUTE FUNCTION public.knowledge_entries_reindex();

REVOKE INSERT, UPDATE ON public.knowledge_entries FROM authenticated;
GRANT INSERT (id, user_id, collection_id, content, type, importance, source) ON public.knowledge_entries TO authenticated;
GRANT UPDATE (content, type, importance, source) ON public.knowledge_entries TO authenticated;

-- +goose StatementBegin
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'vector')
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'vector') THEN
    BEGIN
      CREATE EXTENSION vector;
    EXCEPTION WHEN insufficient_privilege THEN
      -- A non-superuser owner may not; search then runs without it, as it does anyway.
      RAISE NOTICE 'pgvector is available but this role may not create it';
    END;
  END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
REVOKE INSERT, UPDATE ON public.knowledge_entries FROM authenticated;
GRANT INSERT, UPDATE ON public.knowledge_entries TO authenticated;
DROP TRIGGER reindex ON public.knowledge_entries;
DROP FUNCTION public.knowledge_entries_reindex();
DROP INDEX public.knowledge_entries_user_id_pending_idx;
DROP INDEX public.knowledge_entries_search_idx;
ALTER TABLE public.knowledge_entries
  DROP COLUMN search, DROP COLUMN embedding, DROP COLUMN index_lease, DROP COLUMN index_version, DROP COLUMN indexed_at,
  DROP COLUMN index_error, DROP COLUMN index_status;
