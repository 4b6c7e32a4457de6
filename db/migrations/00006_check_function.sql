-- agentgraph_check raises an error when a condition fails, so that a check queued in a batch
-- aborts the batch's implicit transaction inside Postgres. A check made in Go on a result
-- would come too late: the statements after it have already run and commit at the batch's
-- end. The SQLSTATEs are ours (class AG): AGNF0 not found, AGBI0 bad input; the app maps
-- them to NOT_FOUND and BAD_USER_INPUT with the message, and the field in DETAIL.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION public.agentgraph_check(ok boolean, errcode text, message text, field text DEFAULT '')
RETURNS boolean LANGUAGE plpgsql IMMUTABLE SET search_path = '' AS $$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION USING ERRCODE = errcode, MESSAGE = message, DETAIL = field;
  END IF;
  RETURN true;
END
$$;
-- +goose StatementEnd
GRANT EXECUTE ON FUNCTION public.agentgraph_check(boolean, text, text, text) TO authenticated, service_role;

-- +goose Down
DROP FUNCTION public.agentgraph_check(boolean, text, text, text);
