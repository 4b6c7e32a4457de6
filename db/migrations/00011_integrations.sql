-- Integrations (issue 12): the bookkeeping of sealed OAuth tokens.
--
--  * status: 'active', or 'refresh_failed' once the provider refused to renew the tokens
--    (the user must reconnect). EXPIRED is not stored: the API derives it from
--    token_expires_at, which passes without anyone writing.
--  * key_id: the id of the key both token columns are sealed under (each sealed value names
--    its key too; this column lets `agentgraph reseal` find rows under an older key with an
--    index instead of reading every ciphertext). Written in the same statement as the tokens.
--  * connected_at: when the user last connected (reconnecting replaces the row's tokens).
--  * refreshed_at, refresh_error: the last renewal, and the provider's error code when it
--    refused (an OAuth error code like invalid_grant, never a token).
--
-- Users keep what 00009 gave them: SELECT of the columns that hold no token, and DELETE
-- (disconnect). They may read status and connected_at; key_id and the refresh bookkeeping
-- are the service role's, and nothing here is writable by users.

-- +goose Up
ALTER TABLE public.user_integrations
  ADD COLUMN status        text        NOT NULL DEFAULT 'active'
    CONSTRAINT user_integrations_status_check CHECK (status IN ('active', 'refresh_failed')),
  ADD COLUMN key_id        text,
  ADD COLUMN connected_at  timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN refreshed_at  timestamptz,
  ADD COLUMN refresh_error text
    CONSTRAINT user_integrations_refresh_error_check CHECK (char_length(refresh_error) <= 200);

UPDATE public.user_integrations SET connected_at = created_at;

CREATE INDEX user_integrations_key_id_idx ON public.user_integrations (key_id, id);

GRANT SELECT (status, connected_at) ON public.user_integrations TO authenticated;

-- +goose Down
REVOKE SELECT (status, connected_at) ON public.user_integrations FROM authenticated;
DROP INDEX public.user_integrations_key_id_idx;
ALTER TABLE public.user_integrations
  DROP COLUMN refresh_error,
  DROP COLUMN refreshed_at,
  DROP COLUMN connected_at,
  DROP COLUMN key_id,
  DROP COLUMN status;
