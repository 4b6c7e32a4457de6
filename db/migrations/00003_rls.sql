-- Row level security, for real.
--
-- User requests run as role `authenticated` with request.jwt.claims set local to the
-- transaction (as Supabase's PostgREST does), so every query a resolver sends is filtered by
-- these policies even if it forgets a `where user_id = ...`. Background work runs as
-- service_role (BYPASSRLS) or as the table owner, which RLS does not restrict (no FORCE).
--
-- Every policy compares with (select auth.uid()) rather than auth.uid(): wrapped in a scalar
-- sub-select it becomes an InitPlan evaluated once per statement instead of once per row.
-- Ownership "through" a parent (agent, collection) is an EXISTS on the parent, which itself
-- is filtered by the parent's own policy.
--
-- Privileges are granted explicitly and first revoked: Supabase's default privileges give
-- anon/authenticated ALL on new tables in public, and plain Postgres gives nothing, so revoking
-- first makes both platforms end up identical. anon gets nothing on these tables.

-- +goose Up

-- Tables owned directly through user_id, all four commands.
-- +goose StatementBegin
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    'agents', 'knowledge_collections', 'user_integrations', 'user_personalization'
  ] LOOP
    EXECUTE format($p$CREATE POLICY %1$s_select_own ON public.%1$I FOR SELECT TO authenticated
      USING (user_id = (SELECT auth.uid()))$p$, t);
    EXECUTE format($p$CREATE POLICY %1$s_insert_own ON public.%1$I FOR INSERT TO authenticated
      WITH CHECK (user_id = (SELECT auth.uid()))$p$, t);
    EXECUTE format($p$CREATE POLICY %1$s_update_own ON public.%1$I FOR UPDATE TO authenticated
      USING (user_id = (SELECT auth.uid())) WITH CHECK (user_id = (SELECT auth.uid()))$p$, t);
    EXECUTE format($p$CREATE POLICY %1$s_delete_own ON public.%1$I FOR DELETE TO authenticated
      USING (user_id = (SELECT auth.uid()))$p$, t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- knowledge_entries: own rows, and a written row must also sit in one of the user's own
-- collections (the FK alone would accept another user's collection: FK checks bypass RLS).
CREATE POLICY knowledge_entries_select_own ON public.knowledge_entries FOR SELECT TO authenticated
  USING (user_id = (SELECT auth.uid()));
CREATE POLICY knowledge_entries_insert_own ON public.knowledge_entries FOR INSERT TO authenticated
  WITH CHECK (
    user_id = (SELECT auth.uid())
    AND EXISTS (SELECT 1 FROM public.knowledge_collections c
                WHERE c.id = knowledge_entries.collection_id AND c.user_id = (SELECT auth.uid()))
  );
CREATE POLICY knowledge_entries_update_own ON public.knowledge_entries FOR UPDATE TO authenticated
  USING (user_id = (SELECT auth.uid()))
  WITH CHECK (
    user_id = (SELECT auth.uid())
    AND EXISTS (SELECT 1 FROM public.knowledge_collections c
                WHERE c.id = knowledge_entries.collection_id AND c.user_id = (SELECT auth.uid()))
  );
CREATE POLICY knowledge_entries_delete_own ON public.knowledge_entries FOR DELETE TO authenticated
  USING (user_id = (SELECT auth.uid()));

-- chat_messages and feed_events: select, insert and delete own; no update (history is
-- append-only for users; assistant replies are written by the service role). A row the user
-- writes may only name one of the user's own agents (again: the FK alone would accept any).
-- +goose StatementBegin
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['chat_messages', 'feed_events'] LOOP
    EXECUTE format($p$CREATE POLICY %1$s_select_own ON public.%1$I FOR SELECT TO authenticated
      USING (user_id = (SELECT auth.uid()))$p$, t);
    EXECUTE format($p$CREATE POLICY %1$s_insert_own ON public.%1$I FOR INSERT TO authenticated
      WITH CHECK (
        user_id = (SELECT auth.uid())
        AND (%1$I.agent_id IS NULL OR EXISTS (
          SELECT 1 FROM public.agents a WHERE a.id = %1$I.agent_id AND a.user_id = (SELECT auth.uid())))
      )$p$, t);
    EXECUTE format($p$CREATE POLICY %1$s_delete_own ON public.%1$I FOR DELETE TO authenticated
      USING (user_id = (SELECT auth.uid()))$p$, t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- usage_logs: users may read their own usage; it is written only by background work as the
-- service role, so there is no write policy (and no write privilege) for authenticated.
CREATE POLICY usage_logs_select_own ON public.usage_logs FOR SELECT TO authenticated
  USING (user_id = (SELECT auth.uid()));

-- agent_training_data, agent_skills: owned through the agent, all four commands.
-- +goose StatementBegin
DO $$
DECLARE
  t text;
  own text;
BEGIN
  FOREACH t IN ARRAY ARRAY['agent_training_data', 'agent_skills'] LOOP
    own := format(
      'EXISTS (SELECT 1 FROM public.agents a WHERE a.id = %I.agent_id AND a.user_id = (SELECT auth.uid()))', t);
    EXECUTE format('CREATE POLICY %1$s_select_own ON public.%1$I FOR SELECT TO authenticated USING (%2$s)', t, own);
    EXECUTE format('CREATE POLICY %1$s_insert_own ON public.%1$I FOR INSERT TO authenticated WITH CHECK (%2$s)', t, own);
    EXECUTE format('CREATE POLICY %1$s_update_own ON public.%1$I FOR UPDATE TO authenticated USING (%2$s) WITH CHECK (%2$s)', t, own);
    EXECUTE format('CREATE POLICY %1$s_delete_own ON public.%1$I FOR DELETE TO authenticated USING (%2$s)', t, own);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- agent_knowledge_access joins an agent and a collection: both must be the user's, for
-- reading and for writing, so a row can never join one user's agent to another's collection.
-- +goose StatementBegin
DO $$
DECLARE
  own text := $o$
    EXISTS (SELECT 1 FROM public.agents a
            WHERE a.id = agent_knowledge_access.agent_id AND a.user_id = (SELECT auth.uid()))
    AND EXISTS (SELECT 1 FROM public.knowledge_collections c
                WHERE c.id = agent_knowledge_access.collection_id AND c.user_id = (SELECT auth.uid()))
  $o$;
BEGIN
  EXECUTE format('CREATE POLICY agent_knowledge_access_select_own ON public.agent_knowledge_access FOR SELECT TO authenticated USING (%s)', own);
  EXECUTE format('CREATE POLICY agent_knowledge_access_insert_own ON public.agent_knowledge_access FOR INSERT TO authenticated WITH CHECK (%s)', own);
  EXECUTE format('CREATE POLICY agent_knowledge_access_update_own ON public.agent_knowledge_access FOR UPDATE TO authenticated USING (%1$s) WITH CHECK (%1$s)', own);
  EXECUTE format('CREATE POLICY agent_knowledge_access_delete_own ON public.agent_knowledge_access FOR DELETE TO authenticated USING (%s)', own);
END
$$;
-- +goose StatementEnd

ALTER TABLE public.agents                 ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.agent_training_data    ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.agent_skills           ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.agent_knowledge_access ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.knowledge_collections  ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.knowledge_entries      ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.chat_messages          ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.feed_events            ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_integrations      ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_personalization   ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.usage_logs             ENABLE ROW LEVEL SECURITY;

GRANT USAGE ON SCHEMA public TO authenticated, service_role;

REVOKE ALL ON TABLE
  public.agents, public.agent_training_data, public.agent_skills, public.agent_knowledge_access,
  public.knowledge_collections, public.knowledge_entries, public.chat_messages, public.feed_events,
  public.user_integrations, public.user_personalization, public.usage_logs
  FROM anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE
  public.agents, public.agent_training_data, public.agent_skills, public.agent_knowledge_access,
  public.knowledge_collections, public.knowledge_entries,
  public.user_integrations, public.user_personalization
  TO authenticated;
GRANT SELECT, INSERT, DELETE ON TABLE public.chat_messages, public.feed_events TO authenticated;
GRANT SELECT ON TABLE public.usage_logs TO authenticated;

GRANT ALL ON TABLE
  public.agents, public.agent_training_data, public.agent_skills, public.agent_knowledge_access,
  public.knowledge_collections, public.knowledge_entries, public.chat_messages, public.feed_events,
  public.user_integrations, public.user_personalization, public.usage_logs
  TO service_role;

-- goose's own bookkeeping table lives in public too. On Supabase, default privileges would
-- let anon/authenticated (i.e. anyone with the anon key, through PostgREST) read and write it;
-- lock it down. RLS with no policy denies everyone but its owner (the migrating role).
-- +goose StatementBegin
DO $$
BEGIN
  IF pg_catalog.to_regclass('public.goose_db_version') IS NOT NULL THEN
    REVOKE ALL ON TABLE public.goose_db_version FROM anon, authenticated;
    ALTER TABLE public.goose_db_version ENABLE ROW LEVEL SECURITY;
  END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down

-- Schema usage on public is left granted: on Supabase it predates this migration.
REVOKE ALL ON TABLE
  public.agents, public.agent_training_data, public.agent_skills, public.agent_knowledge_access,
  public.knowledge_collections, public.knowledge_entries, public.chat_messages, public.feed_events,
  public.user_integrations, public.user_personalization, public.usage_logs
  FROM authenticated, service_role;

-- +goose StatementBegin
DO $$
DECLARE
  p record;
BEGIN
  FOR p IN
    SELECT policyname, tablename FROM pg_catalog.pg_policies
    WHERE schemaname = 'public' AND tablename = ANY (ARRAY[
      'agents', 'agent_training_data', 'agent_skills', 'agent_knowledge_access',
      'knowledge_collections', 'knowledge_entries', 'chat_messages', 'feed_events',
      'user_integrations', 'user_personalization', 'usage_logs'])
  LOOP
    EXECUTE format('DROP POLICY %I ON public.%I', p.policyname, p.tablename);
  END LOOP;
END
$$;
-- +goose StatementEnd

ALTER TABLE public.agents                 DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.agent_training_data    DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.agent_skills           DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.agent_knowledge_access DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.knowledge_collections  DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.knowledge_entries      DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.chat_messages          DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.feed_events            DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_integrations      DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_personalization   DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.usage_logs             DISABLE ROW LEVEL SECURITY;
