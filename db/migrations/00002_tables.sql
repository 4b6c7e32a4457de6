-- The eleven tables of seed/database-schema.txt, with the seed's column names.
--
-- Conventions:
--  * every table has id uuid (gen_random_uuid(), core since Postgres 13), created_at and
--    updated_at, and a BEFORE UPDATE trigger set_updated_at;
--  * NOT NULL wherever the GraphQL API promises a value;
--  * every constraint is named explicitly, in the pattern Postgres would use by default
--    (<table>_<column>_check, <table>_<column>_fkey, <table>_<cols>_key, <table>_pkey): the app
--    maps constraint names from SQLSTATE 23xxx errors to input fields, so the names are an API;
--  * user_id is the JWT subject (auth.uid()). There is deliberately NO foreign key to
--    auth.users: the plain-Postgres shim (00001) has no such table, and the same migrations must
--    run on both. Deleting a Supabase user therefore does not cascade here.
--  * list indexes end in (created_at, id): the API pages by that keyset.

-- +goose Up

CREATE TABLE public.agents (
  id                    uuid        NOT NULL DEFAULT gen_random_uuid() CONSTRAINT agents_pkey PRIMARY KEY,
  user_id               uuid        NOT NULL,
  name                  text        NOT NULL,
  agent_type            text        NOT NULL
    CONSTRAINT agents_agent_type_check CHECK (agent_type IN ('email', 'calendar', 'research', 'code', 'custom')),
  status                text        NOT NULL DEFAULT 'active'
    CONSTRAINT agents_status_check CHECK (status IN ('active', 'sleeping', 'destroyed')),
  trust_tier            text        NOT NULL DEFAULT 'observer'
    CONSTRAINT agents_trust_tier_check CHECK (trust_tier IN ('observer', 'helper', 'partner', 'trusted')),
  personality_model     text        NOT NULL,
  personality_tone      text,
  personality_verbosity text,
  objective             text,
  instructions          text,
  background            text,
  email_address         text,
  is_head               boolean     NOT NULL DEFAULT false,
  level                 integer     NOT NULL DEFAULT 1 CONSTRAINT agents_level_check CHECK (level >= 1),
  xp                    integer     NOT NULL DEFAULT 0 CONSTRAINT agents_xp_check CHECK (xp >= 0),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  -- The head agent is the user's entry point; destroying it would leave the user without one.
  CONSTRAINT agents_destroyed_not_head_check CHECK (NOT (is_head AND status = 'destroyed'))
);
-- One head agent per user (a partial unique index, so any number of non-head agents).
CREATE UNIQUE INDEX agents_one_head_per_user ON public.agents (user_id) WHERE is_head;
-- email_address is a routable inbound address: mail to it must reach exactly one agent, and
-- mail addresses compare case-insensitively.
CREATE UNIQUE INDEX agents_email_address_key ON public.agents (lower(email_address)) WHERE email_address IS NOT NULL;
CREATE INDEX agents_user_id_created_at_id_idx ON public.agents (user_id, created_at, id);

CREATE TABLE public.knowledge_collections (
  id          uuid        NOT NULL DEFAULT gen_random_uuid() CONSTRAINT knowledge_collections_pkey PRIMARY KEY,
  user_id     uuid        NOT NULL,
  name        text        NOT NULL,
  description text,
  is_default  boolean     NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX knowledge_collections_one_default_per_user ON public.knowledge_collections (user_id) WHERE is_default;
CREATE INDEX knowledge_collections_user_id_created_at_id_idx ON public.knowledge_collections (user_id, created_at, id);

CREATE TABLE public.agent_training_data (
  id         uuid        NOT NULL DEFAULT gen_random_uuid() CONSTRAINT agent_training_data_pkey PRIMARY KEY,
  agent_id   uuid        NOT NULL
    CONSTRAINT agent_training_data_agent_id_fkey REFERENCES public.agents (id) ON DELETE CASCADE,
  type       text        NOT NULL
    CONSTRAINT agent_training_data_type_check CHECK (type IN ('knowledge', 'instruction', 'example')),
  title      text        NOT NULL,
  content    text        NOT NULL,
  enabled    boolean     NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_training_data_agent_id_created_at_id_idx ON public.agent_training_data (agent_id, created_at, id);

CREATE TABLE public.agent_skills (
  id             uuid        NOT NULL DEFAULT gen_random_uuid() CONSTRAINT agent_skills_pkey PRIMARY KEY,
  agent_id       uuid        NOT NULL
    CONSTRAINT agent_skills_agent_id_fkey REFERENCES public.agents (id) ON DELETE CASCADE,
  skill_slug     text        NOT NULL,
  skill_name     text        NOT NULL,
  skill_category text,
  level          integer     NOT NULL DEFAULT 1 CONSTRAINT agent_skills_level_check CHECK (level >= 1),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  -- Also serves lookups by agent_id (leading column), so no separate index.
  CONSTRAINT agent_skills_agent_id_skill_slug_key UNIQUE (agent_id, skill_slug)
);

CREATE TABLE public.agent_knowledge_access (
  id            uuid        NOT NULL DEFAULT gen_random_uuid() CONSTRAINT agent_knowledge_access_pkey PRIMARY KEY,
  agent_id      uuid        NOT NULL
    CONSTRAINT agent_knowledge_access_agent_id_fkey REFERENCES public.agents (id) ON DELETE CASCADE,
  collection_id uuid        NOT NULL
    CONSTRAINT agent_knowledge_access_collection_id_fkey REFERENCES public.knowledge_collections (id) ON DELETE CASCADE,
  access_level  text        NOT NULL DEFAULT 'read'
    CONSTRAINT agent_knowledge_access_access_level_check CHECK (access_level IN ('read', 'read_write')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT agent_knowledge_access_agent_id_collection_id_key UNIQUE (agent_id, collection_id)
);
-- KnowledgeCollection.agents, and the cascade when a collection is deleted.
CREATE INDEX agent_knowledge_access_collection_id_idx ON public.agent_knowledge_access (collection_id);

CREATE TABLE public.knowledge_entries (
  id            uuid             NOT NULL DEFAULT gen_random_uuid() CONSTRAINT knowledge_entries_pkey PRIMARY KEY,
  user_id       uuid             NOT NULL,
  collection_id uuid             NOT NULL
    CONSTRAINT knowledge_entries_collection_id_fkey REFERENCES public.knowledge_collections (id) ON DELETE CASCADE,
  content       text             NOT NULL,
  type          text             NOT NULL
    CONSTRAINT knowledge_entries_type_check CHECK (type IN ('fact', 'preference', 'knowledge', 'note', 'summary')),
  -- NaN compares greater than every number in Postgres, so "<= 1" also rejects it.
  importance    double precision NOT NULL DEFAULT 0.5
    CONSTRAINT knowledge_entries_importance_check CHECK (importance >= 0 AND importance <= 1),
  source        text             NOT NULL DEFAULT 'manual',
  pinecone_id   text,
  created_at    timestamptz      NOT NULL DEFAULT now(),
  updated_at    timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX knowledge_entries_collection_id_created_at_id_idx ON public.knowledge_entries (collection_id, created_at, id);
CREATE INDEX knowledge_entries_user_id_idx ON public.knowledge_entries (user_id);

CREATE TABLE public.chat_messages (
  id         uuid        NOT NULL DEFAULT gen_random_uuid() CONSTRAINT chat_messages_pkey PRIMARY KEY,
  user_id    uuid        NOT NULL,
  thread_id  text        NOT NULL,
  role       text        NOT NULL CONSTRAINT chat_messages_role_check CHECK (role IN ('user', 'assistant')),
  content    text        NOT NULL,
  -- History outlives the agent: destroying (deleting) it keeps the messages and agent_name.
  agent_id   uuid
    CONSTRAINT chat_messages_agent_id_fkey REFERENCES public.agents (id) ON DELETE SET NULL,
  agent_name text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_messages_user_id_thread_id_created_at_id_idx ON public.chat_messages (user_id, thread_id, created_at, id);
-- Serves threads(agentId:) and the ON DELETE SET NULL when an agent row is deleted (without it
-- that delete scans the whole table).
CREATE INDEX chat_messages_agent_id_idx ON public.chat_messages (agent_id) WHERE agent_id IS NOT NULL;

CREATE TABLE public.feed_events (
  id         uuid        NOT NULL DEFAULT gen_random_uuid() CONSTRAINT feed_events_pkey PRIMARY KEY,
  user_id    uuid        NOT NULL,
  agent_id   uuid
    CONSTRAINT feed_events_agent_id_fkey REFERENCES public.agents (id) ON DELETE SET NULL,
  -- Open-ended (info, task_completed, approval_needed, ...) but machine-readable: it is used
  -- as a filter key by feed(types:), so keep it a short snake_case identifier.
  type       text        NOT NULL CONSTRAINT feed_events_type_check CHECK (type ~ '^[a-z][a-z0-9_]{0,63}$'),
  message    text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feed_events_user_id_created_at_id_idx ON public.feed_events (user_id, created_at, id);
CREATE INDEX feed_events_agent_id_created_at_id_idx ON public.feed_events (agent_id, created_at, id);

CREATE TABLE public.user_integrations (
  id                      uuid        NOT NULL DEFAULT gen_random_uuid() CONSTRAINT user_integrations_pkey PRIMARY KEY,
  user_id                 uuid        NOT NULL,
  provider                text        NOT NULL
    CONSTRAINT user_integrations_provider_check CHECK (provider IN ('google', 'notion', 'slack', 'github')),
  -- Sealed with AES-256-GCM by the app (key id inside); never plaintext.
  access_token_encrypted  text        NOT NULL,
  refresh_token_encrypted text,
  token_expires_at        timestamptz,
  scopes                  text        NOT NULL DEFAULT '',
  metadata                jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT user_integrations_user_id_provider_key UNIQUE (user_id, provider)
);

CREATE TABLE public.user_personalization (
  id         uuid        NOT NULL DEFAULT gen_random_uuid() CONSTRAINT user_personalization_pkey PRIMARY KEY,
  user_id    uuid        NOT NULL CONSTRAINT user_personalization_user_id_key UNIQUE,
  bio        text,
  occupation text,
  company    text,
  goals      text,
  interests  text,
  about_me   text,
  twitter    text,
  linkedin   text,
  github     text,
  instagram  text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.usage_logs (
  id            uuid             NOT NULL DEFAULT gen_random_uuid() CONSTRAINT usage_logs_pkey PRIMARY KEY,
  user_id       uuid             NOT NULL,
  -- Billing history outlives the agent.
  agent_id      uuid
    CONSTRAINT usage_logs_agent_id_fkey REFERENCES public.agents (id) ON DELETE SET NULL,
  model         text             NOT NULL,
  provider      text             NOT NULL
    CONSTRAINT usage_logs_provider_check CHECK (provider IN ('anthropic', 'openai', 'google')),
  operation     text             NOT NULL CONSTRAINT usage_logs_operation_check CHECK (operation ~ '^[a-z][a-z0-9_]{0,63}$'),
  input_tokens  integer          NOT NULL DEFAULT 0 CONSTRAINT usage_logs_input_tokens_check CHECK (input_tokens >= 0),
  output_tokens integer          NOT NULL DEFAULT 0 CONSTRAINT usage_logs_output_tokens_check CHECK (output_tokens >= 0),
  -- "< 'infinity'" also rejects NaN (greater than everything) and infinity, which would poison sums.
  cost_cents    double precision NOT NULL DEFAULT 0
    CONSTRAINT usage_logs_cost_cents_check CHECK (cost_cents >= 0 AND cost_cents < 'infinity'::double precision),
  created_at    timestamptz      NOT NULL DEFAULT now(),
  updated_at    timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX usage_logs_user_id_created_at_idx ON public.usage_logs (user_id, created_at);
CREATE INDEX usage_logs_agent_id_created_at_idx ON public.usage_logs (agent_id, created_at);

-- updated_at on every table, whoever writes (app, service role, SQL console).
-- +goose StatementBegin
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    'agents', 'knowledge_collections', 'agent_training_data', 'agent_skills',
    'agent_knowledge_access', 'knowledge_entries', 'chat_messages', 'feed_events',
    'user_integrations', 'user_personalization', 'usage_logs'
  ] LOOP
    EXECUTE format(
      'CREATE TRIGGER set_updated_at BEFORE UPDATE ON public.%I FOR EACH ROW EXECUTE FUNCTION public.set_updated_at()',
      t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down

-- Children first; CASCADE is not used so that an unexpected dependency fails loudly.
DROP TABLE public.usage_logs;
DROP TABLE public.user_personalization;
DROP TABLE public.user_integrations;
DROP TABLE public.feed_events;
DROP TABLE public.chat_messages;
DROP TABLE public.knowledge_entries;
DROP TABLE public.agent_knowledge_access;
DROP TABLE public.agent_skills;
DROP TABLE public.agent_training_data;
DROP TABLE public.knowledge_collections;
DROP TABLE public.agents;
