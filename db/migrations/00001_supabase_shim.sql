-- Supabase shim.
--
-- On Supabase the auth schema, auth.uid()/auth.role()/auth.jwt() and the roles anon,
-- authenticated and service_role already exist (owned by Supabase's own admin roles, which
-- our migration role may not alter). On plain Postgres (development, tests, CI) they do not,
-- and the RLS policies of 00003 need them. So everything here is created ONLY WHEN MISSING and
-- never replaced: on Supabase this migration is a no-op apart from public.set_updated_at().
--
-- Note: there is no auth.users table in the shim, so no table references auth.users; user_id
-- columns are plain uuids (the subject of the JWT).

-- +goose Up

-- Roles are cluster-wide, not per-database. Tests migrate many databases on one server at the
-- same time, so two sessions can both see a role missing and both run CREATE ROLE: the loser
-- gets duplicate_object, or unique_violation on pg_authid's name index when it had to wait for
-- the winner to commit. Either way the role now exists, which is all we want, so both errors
-- are swallowed. Attributes follow Supabase: NOLOGIN (only reached through SET ROLE),
-- NOINHERIT, and BYPASSRLS for service_role (background work sees every user's rows).
-- +goose StatementBegin
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT * FROM (VALUES
      ('anon',          'NOLOGIN NOINHERIT'),
      ('authenticated', 'NOLOGIN NOINHERIT'),
      ('service_role',  'NOLOGIN NOINHERIT BYPASSRLS')
    ) AS t(name, attrs)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I %s', r.name, r.attrs);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created meanwhile by a migration of another database on this server
      END;
    END IF;
  END LOOP;
END
$$;
-- +goose StatementEnd

-- The server connects as the migrating role and switches with set_config('role', ...), which
-- needs membership in the target role. A superuser (plain Postgres in dev/tests) counts as a
-- member of every role, and on Supabase `postgres` already is a member of all three, so in both
-- cases pg_has_role is true and nothing is granted. Only a non-superuser on plain Postgres gets
-- the grant; if it may not grant it we only warn: migrating must still work, and a missing
-- membership shows up clearly as "permission denied to set role" at request time.
-- +goose StatementBegin
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT pg_catalog.pg_has_role(current_user, r, 'MEMBER') THEN
      BEGIN
        EXECUTE format('GRANT %I TO %I', r, current_user);
      EXCEPTION
        WHEN insufficient_privilege THEN
          RAISE WARNING 'agentgraph: % cannot be granted role %; SET ROLE % will fail', current_user, r, r;
        WHEN duplicate_object OR unique_violation THEN
          NULL; -- granted meanwhile by a concurrent migration
      END;
    END IF;
  END LOOP;
END
$$;
-- +goose StatementEnd

-- auth schema and functions, with Supabase's definitions. The comment marks them as ours so
-- that Down removes only what this migration created (never Supabase's own objects).
-- The functions are plain SQL, STABLE, without SET clauses, exactly like Supabase's; policies
-- call them as (select auth.uid()) so that Postgres evaluates them once per statement.
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'auth') THEN
    CREATE SCHEMA auth;
    COMMENT ON SCHEMA auth IS 'agentgraph shim: stands in for Supabase''s auth schema on plain Postgres';
    -- Policies are evaluated as the querying role, which must be able to reach auth.uid().
    GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
  END IF;

  IF pg_catalog.to_regprocedure('auth.uid()') IS NULL THEN
    CREATE FUNCTION auth.uid() RETURNS uuid
      LANGUAGE sql STABLE
      AS $f$
        SELECT coalesce(
          nullif(current_setting('request.jwt.claim.sub', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        )::uuid
      $f$;
    COMMENT ON FUNCTION auth.uid() IS 'agentgraph shim: Supabase''s auth.uid(), the sub claim of the request JWT';
  END IF;

  IF pg_catalog.to_regprocedure('auth.role()') IS NULL THEN
    CREATE FUNCTION auth.role() RETURNS text
      LANGUAGE sql STABLE
      AS $f$
        SELECT coalesce(
          nullif(current_setting('request.jwt.claim.role', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
        )::text
      $f$;
    COMMENT ON FUNCTION auth.role() IS 'agentgraph shim: Supabase''s auth.role(), the role claim of the request JWT';
  END IF;

  IF pg_catalog.to_regprocedure('auth.jwt()') IS NULL THEN
    CREATE FUNCTION auth.jwt() RETURNS jsonb
      LANGUAGE sql STABLE
      AS $f$
        SELECT coalesce(
          nullif(current_setting('request.jwt.claim', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')
        )::jsonb
      $f$;
    COMMENT ON FUNCTION auth.jwt() IS 'agentgraph shim: Supabase''s auth.jwt(), the claims of the request JWT';
  END IF;
END
$$;
-- +goose StatementEnd

-- Ours on both platforms: keeps updated_at honest whoever writes the row. search_path is pinned
-- (Supabase's linter flags trigger functions with a mutable search_path); now() is pg_catalog.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION public.set_updated_at() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = ''
  AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- +goose Down

DROP FUNCTION IF EXISTS public.set_updated_at();

-- Drop only the shim's own objects (recognised by their comment); the shared roles stay, since
-- other databases on the server use them, and so do memberships granted to the migrating role.
-- +goose StatementBegin
DO $$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['auth.uid()', 'auth.role()', 'auth.jwt()'] LOOP
    IF pg_catalog.to_regprocedure(f) IS NOT NULL
       AND coalesce(pg_catalog.obj_description(pg_catalog.to_regprocedure(f), 'pg_proc'), '') LIKE 'agentgraph shim:%' THEN
      EXECUTE 'DROP FUNCTION ' || f;
    END IF;
  END LOOP;

  IF EXISTS (
    SELECT 1 FROM pg_catalog.pg_namespace
    WHERE nspname = 'auth'
      AND coalesce(pg_catalog.obj_description(oid, 'pg_namespace'), '') LIKE 'agentgraph shim:%'
  ) THEN
    BEGIN
      DROP SCHEMA auth; -- no CASCADE: keep it if something else was put there
    EXCEPTION WHEN dependent_objects_still_exist THEN
      RAISE NOTICE 'agentgraph: schema auth is not empty, kept';
    END;
  END IF;
END
$$;
-- +goose StatementEnd
