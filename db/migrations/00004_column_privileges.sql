-- Column privileges and ownership that RLS alone does not give.
--
-- RLS decides which rows a user reaches, not which columns they may write: with table-wide
-- UPDATE a user could raise their own agent's xp or level, which the system awards. Users may
-- write only the columns the API lets them set; xp and level move through service-role work.
--
-- A knowledge entry's user must be its collection's user. The row policy checks this for user
-- writes; the composite foreign key makes it hold for service-role writes too.

-- +goose Up
REVOKE INSERT, UPDATE ON public.agents FROM authenticated;
GRANT INSERT (user_id, name, agent_type, status, trust_tier, personality_model, personality_tone,
              personality_verbosity, objective, instructions, background, email_address, is_head)
  ON public.agents TO authenticated;
GRANT UPDATE (name, status, trust_tier, personality_model, personality_tone, personality_verbosity,
              objective, instructions, background, email_address, is_head)
  ON public.agents TO authenticated;

ALTER TABLE public.knowledge_collections
  ADD CONSTRAINT knowledge_collections_id_user_id_key UNIQUE (id, user_id);
ALTER TABLE public.knowledge_entries
  ADD CONSTRAINT knowledge_entries_collection_owner_fkey FOREIGN KEY (collection_id, user_id)
  REFERENCES public.knowledge_collections (id, user_id) ON DELETE CASCADE;

-- +goose Down
ALTER TABLE public.knowledge_entries DROP CONSTRAINT knowledge_entries_collection_owner_fkey;
ALTER TABLE public.knowledge_collections DROP CONSTRAINT knowledge_collections_id_user_id_key;
REVOKE INSERT, UPDATE ON public.agents FROM authenticated;
GRANT INSERT, UPDATE ON public.agents TO authenticated;
