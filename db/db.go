// Package db holds the database schema of agentgraph as goose SQL migrations,
// embedded into the binary so that the server can migrate its database on start
// without shipping files next to it (see internal/migrate).
package db

import "embed"

// Migrations holds migrations/*.sql. Paths inside it keep the "migrations/"
// prefix; use fs.Sub(Migrations, "migrations") to get the directory itself.
//
//go:embed migrations/*.sql
var Migrations embed.FS
