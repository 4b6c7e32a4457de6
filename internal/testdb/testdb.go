// Package testdb gives each test its own Postgres database, already migrated, cloned from a
// template database (github.com/peterldowns/pgtestdb). Cloning a template is a file copy on
// the server, far cheaper than migrating, so every test can have a private database and run
// with t.Parallel().
//
// The server is the one at 127.0.0.1:5432 as user postgres, unless TEST_DATABASE_URL
// (postgres://user:password@host:port/dbname?options) says otherwise; its database is only used
// to create and drop the test databases.
//
// Tests connect as that same user (a superuser in development and CI), like the server does
// in development: it runs migrations (which create the Supabase roles when missing) and then
// switches to role authenticated or service_role per request with set_config('role', ...).
//
// Concurrency: pgtestdb creates each template at most once per process (a sync map keyed by
// the template hash) and at most once across processes (a session advisory lock on the
// template's name, taken in the server's maintenance database), and marks it complete with
// datistemplate only after migrating, so `go test ./...` running packages as parallel processes
// shares one template safely. A template whose migration failed is dropped and rebuilt by the
// next run. Templates are kept between runs and keyed by a hash of the migration files, so a
// changed migration simply yields a new template.
package testdb

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	// Registers the "pgx" database/sql driver, used by pgtestdb.
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/peterldowns/pgtestdb"
	"github.com/peterldowns/pgtestdb/migrators/common"

	"github.com/agentgraph/agentgraph/db"
	"github.com/agentgraph/agentgraph/internal/migrate"
)

// DefaultServerURL is used when TEST_DATABASE_URL is not set.
const DefaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// URL returns the connection URL of a fresh database with every migration applied, for this
// test only. The database is dropped when the test ends, unless the test failed: then it is
// kept for inspection and its URL is in the test log (line "testdbconf: ...").
func URL(t testing.TB) string {
	t.Helper()
	cfg := config(t)
	return pgtestdb.Custom(t, cfg, Migrator{PGVector: pgvectorAvailable(t, cfg)}).URL()
}

var (
	pgvectorOnce  sync.Once
	pgvectorAvail bool
	pgvectorErr   error
)

// pgvectorAvailable reports whether the server can create pgvector (asked once
// per process). Migration 00013 does something only then, so a template
// migrated before pgvector was installed is not the same schema as one
// migrated after: the answer is part of the template's hash.
func pgvectorAvailable(t testing.TB, cfg pgtestdb.Config) bool {
	t.Helper()
	pgvectorOnce.Do(func() {
		sqlDB, err := sql.Open(cfg.DriverName, cfg.URL())
		if err != nil {
			pgvectorErr = err
			return
		}
		defer sqlDB.Close()
		pgvectorErr = sqlDB.QueryRow(`select exists (select 1 from pg_catalog.pg_available_extensions where name = 'vector')`).
			Scan(&pgvectorAvail)
	})
	if pgvectorErr != nil {
		t.Fatalf("testdb: is pgvector available: %v", pgvectorErr)
	}
	return pgvectorAvail
}

// EmptyURL is like URL but the database has no migrations applied (it is a plain copy of
// template1), for tests of migrating itself.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return pgtestdb.Custom(t, config(t), pgtestdb.NoopMigrator{}).URL()
}

// Pool returns a pgx pool on a fresh migrated database (see URL), closed when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), URL(t))
	if err != nil {
		t.Fatalf("testdb: open pool: %v", err)
	}
	// Registered after URL's cleanup, so it runs before it (cleanups run last-in first-out):
	// the pool's connections are gone when pgtestdb drops the database.
	t.Cleanup(pool.Close)
	return pool
}

// NeedPGVector skips t when the server lacks pgvector, saying how to install
// it, and fails it instead when CI is set: .ci/test.sh installs pgvector, so
// there a skip would hide a search mode that stopped working.
func NeedPGVector(t testing.TB) {
	t.Helper()
	if pgvectorAvailable(t, config(t)) {
		return
	}
	const msg = `pgvector is not installed in this Postgres (README.md, "Installing pgvector")`
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI is set, so this fails instead of skipping")
	}
	t.Skip(msg + ": skipping the pgvector mode")
}

// Migrator is the pgtestdb.Migrator for our schema: it migrates a template with
// migrate.UpDB, exactly as the server migrates its database.
type Migrator struct {
	// PGVector: the server has pgvector, so the template has its column
	// (migration 00013). Cloning a template copies its extensions.
	PGVector bool
}

// Hash identifies the migrated state: the name and content of every embedded migration file,
// plus a version of this migrator so that a change in how we migrate also rebuilds templates.
func (m Migrator) Hash() (string, error) {
	h := common.NewRecursiveHash(common.Field("migrator", "agentgraph/migrate.UpDB v2 (goose, then river)"),
		common.Field("pgvector", strconv.FormatBool(m.PGVector)))
	entries, err := db.Migrations.ReadDir("migrations")
	if err != nil {
		return "", err
	}
	// ReadDir returns entries sorted by name, so the hash is stable.
	for _, e := range entries {
		b, err := db.Migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return "", err
		}
		h.AddField("file", e.Name())
		h.Add(b)
	}
	return h.String(), nil
}

// Migrate applies all migrations to the new template database.
func (Migrator) Migrate(ctx context.Context, sqlDB *sql.DB, _ pgtestdb.Config) error {
	return migrate.UpDB(ctx, sqlDB)
}

// config builds the pgtestdb configuration from TEST_DATABASE_URL or DefaultServerURL.
func config(t testing.TB) pgtestdb.Config {
	t.Helper()
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		raw = DefaultServerURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// Don't echo raw: it may hold a password.
		t.Fatalf("testdb: TEST_DATABASE_URL must be a postgres:// URL")
	}
	user := u.User.Username()
	if user == "" {
		user = "postgres"
	}
	password, _ := u.User.Password()
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	host := u.Hostname()
	if host == "" {
		host = "127.0.0.1"
	}
	database := strings.TrimPrefix(u.Path, "/")
	if database == "" {
		database = "postgres"
	}
	options := u.RawQuery
	if options == "" {
		// A local server often has TLS on (Debian's snakeoil certificate); pgx's default
		// sslmode=prefer would then pay a TLS handshake on every connection for nothing.
		options = "sslmode=disable"
	}

	// pgtestdb.Config.URL() pastes fields into a URL with Sprintf, unescaped: escape the
	// password here (the username is also used unquoted in SQL by pgtestdb, so it stays raw).
	password = escapeUserinfo(password)

	return pgtestdb.Config{
		DriverName: "pgx",
		Host:       host,
		Port:       port,
		User:       user,
		Password:   password,
		Database:   database,
		Options:    options,
		// pgtestdb's default TestRole is a role it creates, "pgtdbuser", NOSUPERUSER
		// NOCREATEDB NOCREATEROLE, which would own and connect to every test database. Our
		// migrations need more (CREATE ROLE for the Supabase roles, BYPASSRLS) and the code
		// under test needs to SET ROLE authenticated/service_role. So the test role is the
		// connecting user itself: pgtestdb then sees that the role exists and leaves it alone
		// (it never ALTERs an existing role, so the password below is not applied anywhere).
		TestRole: &pgtestdb.Role{
			Username:     user,
			Password:     password,
			Capabilities: "", // the role exists (we connect as it): never applied
		},
		// A test that leaks a connection (say, a LISTEN loop still reconnecting) would
		// otherwise make DROP DATABASE fail the test at cleanup.
		ForceTerminateConnections: true,
	}
}

// escapeUserinfo percent-escapes s for the userinfo part of a URL. url.QueryEscape turns a
// space into "+", which userinfo does not decode, so spaces are written as %20.
func escapeUserinfo(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
