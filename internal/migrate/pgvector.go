package migrate

import (
	"context"
	"database/sql"
	"fmt"
)

// enablePGVector runs migration 00013's agentgraph_enable_pgvector() again
// after every migration run: a conditional migration runs once, so a server
// where pgvector was installed after 00013 ran would otherwise never use it.
// The function does nothing when the column exists or pgvector is not
// available, and only notices when this role may not create the extension.
func enablePGVector(ctx context.Context, sqlDB *sql.DB) error {
	if _, err := sqlDB.ExecContext(ctx, `select public.agentgraph_enable_pgvector()`); err != nil {
		return fmt.Errorf("migrate: enable pgvector: %w", err)
	}
	return nil
}
