-- The API creates an agent and its "agent_created" feed event in one batch, which needs the
-- agent's id before the insert: the server generates it, so users may write the id column.
-- +goose Up
GRANT INSERT (id) ON public.agents TO authenticated;
-- +goose Down
REVOKE INSERT (id) ON public.agents FROM authenticated;
