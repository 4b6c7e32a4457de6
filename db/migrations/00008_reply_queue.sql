-- Replies as durable, ordered work.
--
-- A user message that an agent must answer is stored with awaiting_reply = true, in the same
-- transaction as the job that will answer it (a River job per thread, schema river). The job
-- answers a thread's awaiting messages one at a time, oldest first, and stores each reply with
-- reply_to = the message it answers while clearing awaiting_reply, in one transaction: a reply
-- is stored at most once (the unique index), and a message is never left without its answer
-- unless a later message with interrupt = true cut it short. reply_attempts counts the replies
-- to a message that began.
--
-- River's tables live in their own schema, out of PostgREST's sight on Supabase; the server's
-- background pool runs as service_role, which gets what River needs there. River creates its
-- tables after this migration (internal/jobs), as the same role, so default privileges apply.

-- +goose Up
ALTER TABLE public.chat_messages
  ADD COLUMN awaiting_reply boolean NOT NULL DEFAULT false,
  ADD COLUMN interrupt      boolean NOT NULL DEFAULT false,
  ADD COLUMN reply_to       uuid,
  -- How many times a reply to this message began: more than one means an earlier attempt was
  -- cut (its instance stopped or died), so the stream's subscribers are told to start over.
  ADD COLUMN reply_attempts integer NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX chat_messages_reply_to_key ON public.chat_messages (reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX chat_messages_awaiting_idx ON public.chat_messages (user_id, thread_id, created_at, id)
  WHERE awaiting_reply;

CREATE SCHEMA IF NOT EXISTS river;
GRANT USAGE, CREATE ON SCHEMA river TO service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA river GRANT ALL ON TABLES TO service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA river GRANT ALL ON SEQUENCES TO service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA river GRANT EXECUTE ON FUNCTIONS TO service_role;

-- +goose Down
ALTER DEFAULT PRIVILEGES IN SCHEMA river REVOKE ALL ON TABLES FROM service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA river REVOKE ALL ON SEQUENCES FROM service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA river REVOKE EXECUTE ON FUNCTIONS FROM service_role;
DROP INDEX public.chat_messages_awaiting_idx;
DROP INDEX public.chat_messages_reply_to_key;
ALTER TABLE public.chat_messages DROP COLUMN reply_attempts, DROP COLUMN reply_to, DROP COLUMN interrupt, DROP COLUMN awaiting_reply;
