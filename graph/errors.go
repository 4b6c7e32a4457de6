package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/requestid"
)

// presentError is the one place errors become GraphQL errors. Errors the
// domain raised on purpose (apperr) are shown with their code; errors gqlgen
// raised (parse, validation, complexity) keep the code gqlgen gave them;
// anything else is logged with the request id and shown without details.
func presentError(ctx context.Context, err error) *gqlerror.Error {
	gerr := graphql.DefaultErrorPresenter(ctx, err)
	if e, ok := apperr.As(err); ok {
		gerr.Message = e.Message
		gerr.Extensions = map[string]any{"code": string(e.Code)}
		if e.Field != "" {
			gerr.Extensions["field"] = e.Field
		}
		return gerr
	}
	var ge *gqlerror.Error
	if errors.As(err, &ge) && ge.Err == nil {
		if gerr.Extensions == nil || gerr.Extensions["code"] == nil {
			// gqlgen's own input errors (argument coercion) carry no code.
			if gerr.Extensions == nil {
				gerr.Extensions = map[string]any{}
			}
			gerr.Extensions["code"] = string(apperr.BadUserInput)
		}
		return gerr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		gerr.Message = "request exceeded its deadline"
		gerr.Extensions = map[string]any{"code": string(apperr.Timeout)}
		return gerr
	}
	if errors.Is(err, context.Canceled) {
		gerr.Message = "request canceled"
		gerr.Extensions = map[string]any{"code": string(apperr.InternalError)}
		return gerr
	}
	id := requestid.From(ctx)
	slog.ErrorContext(ctx, "internal error", "request_id", id, "path", gerr.Path.String(), "err", err)
	gerr.Message = "internal server error (request " + id + ")"
	gerr.Extensions = map[string]any{"code": string(apperr.InternalError), "requestId": id}
	return gerr
}

// recoverPanic logs a resolver panic with its stack and hands the presenter an
// error without the panic value, which may hold internals.
func recoverPanic(ctx context.Context, p any) error {
	slog.ErrorContext(ctx, "panic in resolver", "request_id", requestid.From(ctx), "panic", fmt.Sprint(p),
		"stack", string(debug.Stack()))
	return errors.New("panic")
}
