-- In the vector modes a search also ranks, by full text, the entries not yet indexed (pending or
-- failed), which vector search cannot find yet: usually a handful of a user's entries. Without
-- this index that query visited every entry of the scope (~40 ms at 100,000 entries): under RLS
-- the GIN index on search cannot serve a user's query, because @@ is not leakproof and Postgres
-- evaluates it only after the row policy; <> on text is leakproof, so this partial index can
-- (BENCHMARKS.md, "Knowledge search and indexing").

-- +goose Up
CREATE INDEX knowledge_entries_user_id_unindexed_idx ON public.knowledge_entries (user_id)
  WHERE index_status <> 'indexed';

-- +goose Down
DROP INDEX public.knowledge_entries_user_id_unindexed_idx;
