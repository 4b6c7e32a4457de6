package main

import (
	"context"
	"fmt"
	"log"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/migrate"
)

// Sizes of the data set (issue 11). Everything is derived from the user and
// agent numbers, so two runs seed byte-identical rows.
const (
	nUsers       = 200
	nAgents      = 10 // per user; agents 0..8 serve W1–W3, agent 9's thread takes W4's writes
	nSkills      = 5  // per agent
	nTraining    = 5  // per agent
	nGrants      = 2  // knowledge access rows per agent
	nCollections = 5  // per user
	nEntries     = 4  // per collection
	nFeed        = 25 // feed events per user
	w4Agent      = nAgents - 1
)

// messagesPerThread is the length of each agent's direct thread: 25, or
// 500 with -large (2,000 threads × 500 = 1,000,000 messages).
func messagesPerThread(large bool) int {
	if large {
		return 500
	}
	return 25
}

// seedVersion changes whenever the seed's SQL does, so an old database is
// seeded again instead of being measured as if it were this one.
const seedVersion = "agentgraph bench seed v1"

// ensureSeeded makes db (on the server of adminURL) hold the bench data:
// it keeps a database whose comment says it was seeded with the same
// parameters, unless force; otherwise it drops and recreates it, migrates it
// with the server's own migrations and bulk-inserts the rows.
func ensureSeeded(ctx context.Context, adminURL, db string, large, force bool) (string, error) {
	dbURL, err := withDatabase(adminURL, db)
	if err != nil {
		return "", err
	}
	want := fmt.Sprintf("%s users=%d agents=%d messages=%d", seedVersion, nUsers, nAgents, messagesPerThread(large))
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", adminURL, err)
	}
	defer admin.Close(ctx)
	var have *string
	err = admin.QueryRow(ctx, `select shobj_description(oid, 'pg_database') from pg_database where datname = $1`, db).Scan(&have)
	if err == nil && have != nil && *have == want && !force {
		log.Printf("seed: %s already holds %q", db, want)
		return dbURL, nil
	}
	start := time.Now()
	ident := pgx.Identifier{db}.Sanitize()
	// FORCE ends the connections of a server left running by an interrupted run.
	if _, err := admin.Exec(ctx, "drop database if exists "+ident+" with (force)"); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "create database "+ident); err != nil {
		return "", err
	}
	if err := migrate.Up(ctx, dbURL); err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	for _, stmt := range seedSQL(messagesPerThread(large)) {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return "", fmt.Errorf("seed: %w\n%s", err, stmt)
		}
	}
	// Marked only once complete: an interrupted seed is redone next time.
	if _, err := admin.Exec(ctx, "comment on database "+ident+" is "+quoteLiteral(want)); err != nil {
		return "", err
	}
	log.Printf("seed: %s seeded (%s) in %v", db, want, time.Since(start).Round(time.Millisecond))
	return dbURL, nil
}

func withDatabase(rawURL, db string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("-admin-url: %w", err)
	}
	u.Path = "/" + db
	return u.String(), nil
}

func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}
