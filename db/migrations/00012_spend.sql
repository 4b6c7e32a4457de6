-- Spend control: a cap on each agent's reply length, and a monthly budget per user.
--
-- personality_max_tokens caps an agent's replies (null: the server's MAX_REPLY_TOKENS, which
-- also caps any value set here). user_budgets holds a user's own monthly budget in cents (null:
-- the server's MONTHLY_BUDGET_CENTS); past it, LLM calls answer BUDGET_EXCEEDED. notified_month
-- records that the feed said so this month, so it says it once; only the service role writes it.

-- +goose Up
ALTER TABLE public.agents ADD COLUMN personality_max_tokens integer
  CONSTRAINT agents_personality_max_tokens_check CHECK (personality_max_tokens BETWEEN 1 AND 100000);
GRANT INSERT (personality_max_tokens), UPDATE (personality_max_tokens) ON public.agents TO authenticated;

CREATE TABLE public.user_budgets (
  user_id              uuid          NOT NULL CONSTRAINT user_budgets_pkey PRIMARY KEY,
  monthly_budget_cents numeric(12,2) CONSTRAINT user_budgets_monthly_budget_cents_check CHECK (monthly_budget_cents >= 0),
  notified_month       date,
  updated_at           timestamptz   NOT NULL DEFAULT now()
);
ALTER TABLE public.user_budgets ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_budgets FORCE ROW LEVEL SECURITY;
CREATE POLICY user_budgets_select_own ON public.user_budgets FOR SELECT TO authenticated
  USING (user_id = (SELECT auth.uid()));
CREATE POLICY user_budgets_insert_own ON public.user_budgets FOR INSERT TO authenticated
  WITH CHECK (user_id = (SELECT auth.uid()));
CREATE POLICY user_budgets_update_own ON public.user_budgets FOR UPDATE TO authenticated
  USING (user_id = (SELECT auth.uid())) WITH CHECK (user_id = (SELECT auth.uid()));
REVOKE ALL ON TABLE public.user_budgets FROM anon, authenticated;
GRANT SELECT, INSERT (user_id, monthly_budget_cents), UPDATE (monthly_budget_cents, updated_at)
  ON public.user_budgets TO authenticated;
GRANT ALL ON TABLE public.user_budgets TO service_role;

-- +goose Down
DROP TABLE public.user_budgets;
ALTER TABLE public.agents DROP COLUMN personality_max_tokens;
