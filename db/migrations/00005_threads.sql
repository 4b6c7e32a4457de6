-- Chat threads and reply status.
--
-- A thread is a row of its own, kept by a trigger in the same transaction as every message, so
-- listing threads by recent activity reads one index range instead of scanning all messages.
-- Thread ids are chosen by clients (by default "<agentId>:direct"), so they are unique per user.
--
-- An assistant reply is stored once it ends; status says how: complete, interrupted (the
-- stream was cut or the server shut down) or failed (the provider answered an error).

-- +goose Up
ALTER TABLE public.chat_messages
  ADD COLUMN status text NOT NULL DEFAULT 'complete'
    CONSTRAINT chat_messages_status_check CHECK (status IN ('complete', 'interrupted', 'failed')),
  ADD CONSTRAINT chat_messages_thread_id_check CHECK (thread_id ~ '^[A-Za-z0-9:._-]{1,200}$');

CREATE TABLE public.threads (
  user_id         uuid        NOT NULL,
  id              text        NOT NULL,
  agent_id        uuid        CONSTRAINT threads_agent_id_fkey REFERENCES public.agents (id) ON DELETE SET NULL,
  last_message_id uuid        CONSTRAINT threads_last_message_id_fkey REFERENCES public.chat_messages (id) ON DELETE SET NULL,
  message_count   integer     NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  -- updated_at is the time of the last message: the thread's activity, not its row's edits.
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT threads_pkey PRIMARY KEY (user_id, id)
);
CREATE INDEX threads_user_id_updated_at_id_idx ON public.threads (user_id, updated_at DESC, id DESC);
CREATE INDEX threads_agent_id_updated_at_id_idx ON public.threads (agent_id, updated_at DESC, id DESC)
  WHERE agent_id IS NOT NULL;

-- SECURITY DEFINER: users insert messages, but only this trigger writes threads.
-- +goose StatementBegin
CREATE FUNCTION public.chat_messages_touch_thread() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  INSERT INTO public.threads AS t (user_id, id, agent_id, last_message_id, message_count, created_at, updated_at)
  VALUES (NEW.user_id, NEW.thread_id, NEW.agent_id, NEW.id, 1, NEW.created_at, NEW.created_at)
  ON CONFLICT (user_id, id) DO UPDATE SET
    agent_id        = coalesce(t.agent_id, EXCLUDED.agent_id),
    last_message_id = EXCLUDED.last_message_id,
    message_count   = t.message_count + 1,
    updated_at      = greatest(t.updated_at, EXCLUDED.updated_at);
  RETURN NULL;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.chat_messages_touch_thread() FROM PUBLIC;

CREATE TRIGGER touch_thread AFTER INSERT ON public.chat_messages
  FOR EACH ROW EXECUTE FUNCTION public.chat_messages_touch_thread();

ALTER TABLE public.threads ENABLE ROW LEVEL SECURITY;
CREATE POLICY threads_select_own ON public.threads FOR SELECT TO authenticated
  USING (user_id = (SELECT auth.uid()));
REVOKE ALL ON TABLE public.threads FROM anon, authenticated;
GRANT SELECT ON TABLE public.threads TO authenticated;
GRANT ALL ON TABLE public.threads TO service_role;

-- Agent.usage(from, to) and usage(groupBy: AGENT) read usage by agent and time.
-- (usage_logs_agent_id_created_at_idx already serves them.)

-- +goose Down
DROP TRIGGER touch_thread ON public.chat_messages;
DROP FUNCTION public.chat_messages_touch_thread();
DROP TABLE public.threads;
ALTER TABLE public.chat_messages DROP CONSTRAINT chat_messages_thread_id_check, DROP COLUMN status;
