-- Least privilege in the database.
--
-- On Supabase, PostgREST exposes these tables to every signed-in user as role authenticated
-- with their own JWT, whatever this API allows. So what a user may write is decided here, by
-- privileges, policies and triggers, not by the resolvers:
--  * chat_messages: a user inserts only their own messages with role 'user', and never
--    chooses status or timestamps; nobody but the service role updates a message (00003
--    granted no UPDATE). Assistant replies are stored by background work as service_role.
--  * agents: no hard delete (destroyAgent keeps the data), and a destroyed agent stays
--    destroyed for every role RLS applies to; xp and level stay unwritable (00004).
--  * user_integrations: users see provider, scopes, expiry, metadata and timestamps, never the
--    sealed tokens, and may disconnect (delete); connecting writes tokens, which only the
--    server does, as service_role, after sealing them.
--  * usage_logs and threads: read-only for users (00003, 00005), restated here.
--
-- FORCE ROW LEVEL SECURITY: the tables' owner (the migrating role) is otherwise exempt from
-- RLS. The server no longer connects as the owner (README, "Running with least privilege"),
-- and with FORCE a connection that does is not a way around the policies either: a statement
-- that forgets to set a role sees no rows instead of everyone's. Superusers and BYPASSRLS
-- roles (service_role; Supabase's postgres) are not affected, and neither are foreign key
-- checks and cascades, which Postgres runs without RLS. Data migrations run by a non-superuser
-- owner must therefore SET LOCAL ROLE service_role to see rows.
--
-- The one piece of code that runs as the owner is chat_messages_touch_thread (SECURITY
-- DEFINER, 00005), which keeps threads. Under FORCE it needs a policy: threads_touch_thread
-- lets the function's owner write threads only from inside a trigger (pg_trigger_depth() > 0),
-- so the owner still sees no thread rows from a plain statement. It names the owner at
-- migration time: a later ALTER FUNCTION ... OWNER TO must recreate it.
--
-- goose_db_version: a server connecting as a plain role checks at start, as service_role, that
-- there is nothing to migrate (internal/migrate), so service_role may read it.

-- +goose Up

REVOKE INSERT ON public.chat_messages FROM authenticated;
GRANT INSERT (id, user_id, thread_id, role, content, agent_id, agent_name)
  ON public.chat_messages TO authenticated;
-- RESTRICTIVE: AND-ed with chat_messages_insert_own (own user, own agent).
CREATE POLICY chat_messages_insert_user_role ON public.chat_messages
  AS RESTRICTIVE FOR INSERT TO authenticated
  WITH CHECK (role = 'user');

REVOKE DELETE ON public.agents FROM authenticated;
-- Without the privilege the policy is dead; dropping it keeps a future GRANT from reviving it.
DROP POLICY agents_delete_own ON public.agents;

-- A BEFORE trigger rather than a policy: an UPDATE policy's WITH CHECK sees only the new row,
-- and a USING that hid destroyed rows would make the update a silent no-op, not a refusal.
-- It applies to the roles RLS applies to; service_role and superusers may still restore.
-- +goose StatementBegin
CREATE FUNCTION public.agents_destroyed_is_final() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF NOT (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
    RAISE EXCEPTION USING
      ERRCODE = 'insufficient_privilege',
      MESSAGE = 'permission denied: a destroyed agent stays destroyed',
      TABLE = 'agents', COLUMN = 'status';
  END IF;
  RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER destroyed_is_final BEFORE UPDATE OF status ON public.agents
  FOR EACH ROW WHEN (OLD.status = 'destroyed' AND NEW.status IS DISTINCT FROM 'destroyed')
  EXECUTE FUNCTION public.agents_destroyed_is_final();

REVOKE ALL ON public.user_integrations FROM authenticated;
GRANT SELECT (id, user_id, provider, token_expires_at, scopes, metadata, created_at, updated_at)
  ON public.user_integrations TO authenticated;
GRANT DELETE ON public.user_integrations TO authenticated;
DROP POLICY user_integrations_insert_own ON public.user_integrations;
DROP POLICY user_integrations_update_own ON public.user_integrations;

REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.usage_logs, public.threads FROM anon, authenticated;

ALTER TABLE public.agents                 FORCE ROW LEVEL SECURITY;
ALTER TABLE public.agent_training_data    FORCE ROW LEVEL SECURITY;
ALTER TABLE public.agent_skills           FORCE ROW LEVEL SECURITY;
ALTER TABLE public.agent_knowledge_access FORCE ROW LEVEL SECURITY;
ALTER TABLE public.knowledge_collections  FORCE ROW LEVEL SECURITY;
ALTER TABLE public.knowledge_entries      FORCE ROW LEVEL SECURITY;
ALTER TABLE public.chat_messages          FORCE ROW LEVEL SECURITY;
ALTER TABLE public.feed_events            FORCE ROW LEVEL SECURITY;
ALTER TABLE public.user_integrations      FORCE ROW LEVEL SECURITY;
ALTER TABLE public.user_personalization   FORCE ROW LEVEL SECURITY;
ALTER TABLE public.usage_logs             FORCE ROW LEVEL SECURITY;
ALTER TABLE public.threads                FORCE ROW LEVEL SECURITY;

-- +goose StatementBegin
DO $$
BEGIN
  EXECUTE format(
    'CREATE POLICY threads_touch_thread ON public.threads FOR ALL TO %I
       USING (pg_catalog.pg_trigger_depth() > 0) WITH CHECK (pg_catalog.pg_trigger_depth() > 0)',
    (SELECT pg_catalog.pg_get_userbyid(p.proowner) FROM pg_catalog.pg_proc p
      WHERE p.oid = 'public.chat_messages_touch_thread()'::regprocedure));
  IF pg_catalog.to_regclass('public.goose_db_version') IS NOT NULL THEN
    GRANT SELECT ON TABLE public.goose_db_version TO service_role;
  END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down

-- +goose StatementBegin
DO $$
BEGIN
  IF pg_catalog.to_regclass('public.goose_db_version') IS NOT NULL THEN
    REVOKE SELECT ON TABLE public.goose_db_version FROM service_role;
  END IF;
END
$$;
-- +goose StatementEnd
DROP POLICY threads_touch_thread ON public.threads;

ALTER TABLE public.agents                 NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.agent_training_data    NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.agent_skills           NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.agent_knowledge_access NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.knowledge_collections  NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.knowledge_entries      NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.chat_messages          NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.feed_events            NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.user_integrations      NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.user_personalization   NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.usage_logs             NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.threads                NO FORCE ROW LEVEL SECURITY;

CREATE POLICY user_integrations_insert_own ON public.user_integrations FOR INSERT TO authenticated
  WITH CHECK (user_id = (SELECT auth.uid()));
CREATE POLICY user_integrations_update_own ON public.user_integrations FOR UPDATE TO authenticated
  USING (user_id = (SELECT auth.uid())) WITH CHECK (user_id = (SELECT auth.uid()));
REVOKE ALL ON public.user_integrations FROM authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.user_integrations TO authenticated;

DROP TRIGGER destroyed_is_final ON public.agents;
DROP FUNCTION public.agents_destroyed_is_final();
CREATE POLICY agents_delete_own ON public.agents FOR DELETE TO authenticated
  USING (user_id = (SELECT auth.uid()));
GRANT DELETE ON public.agents TO authenticated;

DROP POLICY chat_messages_insert_user_role ON public.chat_messages;
REVOKE INSERT ON public.chat_messages FROM authenticated;
GRANT INSERT ON public.chat_messages TO authenticated;
