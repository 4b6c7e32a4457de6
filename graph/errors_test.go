package graph

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/agentgraph/agentgraph/internal/apperr"
)

// A null where the schema promises a value is the server's bug, not the
// client's input: INTERNAL_SERVER_ERROR. gqlgen's own input errors (no
// code, no wrapped error) are BAD_USER_INPUT.
func TestPresentErrorCodes(t *testing.T) {
	t.Parallel()
	ctx := graphql.WithResponseContext(context.Background(), presentError, recoverPanic)
	cases := []struct {
		err  error
		want apperr.Code
	}{
		{&graphql.InvalidNullError{DeclaredType: "String!"}, apperr.InternalError},
		{gqlerror.Errorf("cannot use String as Int"), apperr.BadUserInput},
		{apperr.NotFoundf("agent not found"), apperr.NotFound},
	}
	for _, c := range cases {
		got := presentError(ctx, c.err)
		if got.Extensions["code"] != string(c.want) {
			t.Errorf("%T %v: code %v, want %s", c.err, c.err, got.Extensions["code"], c.want)
		}
	}
}
