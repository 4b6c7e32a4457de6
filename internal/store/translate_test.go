package store

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agentgraph/agentgraph/internal/apperr"
)

// Constraint and column names describe the schema: a violation without a
// field mapping is a generic BAD_USER_INPUT that names neither.
func TestTranslateHidesConstraintNames(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"23505", "23514", "22001", "22P02"} {
		err := translate(&pgconn.PgError{Code: code, ConstraintName: "agents_secret_column_check",
			ColumnName: "secret_column", TableName: "agents", Message: "new row violates check constraint"})
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.BadUserInput || e.Field != "" {
			t.Fatalf("%s: %v", code, err)
		}
		if strings.Contains(e.Message, "secret") || strings.Contains(e.Message, "agents") || strings.Contains(e.Message, "constraint") {
			t.Fatalf("%s: message leaks the schema: %q", code, e.Message)
		}
	}
}
