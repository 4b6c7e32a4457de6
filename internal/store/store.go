// Package store is the data layer: every SQL statement of the API lives here.
//
// User requests run as Postgres role `authenticated` with the caller's JWT
// claims in `request.jwt.claims`, local to the transaction, exactly as
// Supabase's PostgREST does, so Row Level Security filters every statement even
// if a query here forgets a user filter. The settings and the statements go out
// as one pgx batch: one round trip, one implicit transaction (atomic), and
// nothing outlives it on the pooled connection. Background work (replies,
// prompts, live events' rows) runs the same way as service_role (runService),
// never as the login role.
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/auth"
)

// Store runs the API's statements on a pool.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool is the underlying pool. Statements sent on it run as the login role,
// which in production has no privilege on any table (README, "Running with
// least privilege"): background work goes through runService instead.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

const setClaimsSQL = `select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`

// setClaimsGenericSQL is setClaimsSQL that also has Postgres reuse one plan
// per statement and connection (a generic plan) for the rest of the
// batch's transaction. Left to choose (plan_cache_mode auto), Postgres
// planned a thread page's statements again at every execution (it
// estimates their generic plans dearer than the custom ones, which are the
// same index scans): the page's batch cost Postgres 0.39 ms of CPU against
// 0.10 ms with one plan (BENCHMARKS.md). Only for batches whose statements'
// best plans do not depend on their arguments: keyed lookups, and pages
// whose optional conditions are left out of the statement's text rather
// than decided by an argument (messagePages, where). With "$1 is null or
// …" in its text, a generic plan reads and sorts every row of the user
// where a custom one reads the page off the index.
const setClaimsGenericSQL = `select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true),
	set_config('plan_cache_mode', 'force_generic_plan', true)`

// setServiceSQL switches a batch to service_role. Local to the batch's
// transaction like setClaimsSQL, so the pooled connection goes back to the
// login role afterwards.
const setServiceSQL = `select set_config('role', 'service_role', true)`

// userID is the authenticated caller; every user statement needs one.
func userID(ctx context.Context) (uuid.UUID, error) {
	u, ok := auth.UserFrom(ctx)
	if !ok {
		return uuid.Nil, apperr.Unauth("authentication required")
	}
	return u.ID, nil
}

// run sends the statements queued on b as the calling user, prefixed by the
// RLS settings, in one round trip and one implicit transaction: an error
// raised by Postgres aborts the rest and rolls all of it back. The queued
// callbacks receive the results afterwards; an error a callback returns is
// reported but comes too late to undo anything, so checks that must stop a
// write are made in SQL (found, guardAgent).
func (s *Store) run(ctx context.Context, b *pgx.Batch) error {
	return s.runAs(ctx, setClaimsSQL, b)
}

// runAs is run with settings, setClaimsSQL or setClaimsGenericSQL.
func (s *Store) runAs(ctx context.Context, settings string, b *pgx.Batch) error {
	asUser, err := userBatchWith(ctx, settings, b)
	if err != nil {
		return err
	}
	if ok, err := s.inSnapshot(ctx, asUser()); ok {
		return err
	}
	return retry(ctx, func() error { return translate(s.pool.SendBatch(ctx, asUser()).Close()) })
}

// userBatch returns a function making, for each attempt, a fresh copy of b
// prefixed by the caller's RLS settings.
func userBatch(ctx context.Context, b *pgx.Batch) (func() *pgx.Batch, error) {
	return userBatchWith(ctx, setClaimsSQL, b)
}

func userBatchWith(ctx context.Context, settings string, b *pgx.Batch) (func() *pgx.Batch, error) {
	uid, err := userID(ctx)
	if err != nil {
		return nil, err
	}
	// A UUID has no characters that need JSON escaping.
	claims := `{"sub":"` + uid.String() + `","role":"authenticated"}`
	return func() *pgx.Batch {
		full := &pgx.Batch{}
		full.Queue(settings, claims)
		return appendFresh(full, b)
	}, nil
}

// userTx is run for writes that must share a transaction with work done
// after the batch: it sends b as the calling user, then switches the
// transaction to the service role and calls then (a job insert the user may
// not make), and commits. Retried like run; the whole transaction runs again.
func (s *Store) userTx(ctx context.Context, b *pgx.Batch, then func(context.Context, pgx.Tx) error) error {
	asUser, err := userBatch(ctx, b)
	if err != nil {
		return err
	}
	return retry(ctx, func() error {
		full := asUser()
		full.Queue(setServiceSQL)
		return translate(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := tx.SendBatch(ctx, full).Close(); err != nil {
				return err
			}
			return then(ctx, tx)
		}))
	})
}

// runService sends the statements queued on b as service_role, for background
// work that belongs to no request (storing replies, loading prompts, loading
// the rows of live events), in one round trip and one implicit transaction,
// translated and retried like run. The role is set by the batch's first
// statement, as run sets authenticated, so the work never runs as the login
// role, which owns nothing and is granted nothing but membership in
// authenticated and service_role. service_role bypasses RLS, so every
// statement queued here must filter by user itself.
func (s *Store) runService(ctx context.Context, b *pgx.Batch) error {
	asService := func() *pgx.Batch {
		full := &pgx.Batch{}
		full.Queue(setServiceSQL)
		return appendFresh(full, b)
	}
	if ok, err := s.inSnapshot(ctx, asService()); ok {
		return err
	}
	return retry(ctx, func() error { return translate(s.pool.SendBatch(ctx, asService()).Close()) })
}

// serviceTx runs fn in a transaction as the service role, for background
// work that must decide between statements (CompleteIfIdle). It is retried
// like run; fn must be safe to run again.
func (s *Store) serviceTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return retry(ctx, func() error {
		return translate(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, setServiceSQL); err != nil {
				return err
			}
			return fn(tx)
		}))
	})
}

// appendFresh appends copies of b's queued statements to full and returns
// full. Each attempt needs its own: pgx records in a queued statement what it
// prepared for it, and a statement that failed mid-batch may have been
// invalidated, so a retry reusing it fails with "prepared statement does not
// exist".
func appendFresh(full, b *pgx.Batch) *pgx.Batch {
	for _, q := range b.QueuedQueries {
		full.QueuedQueries = append(full.QueuedQueries, &pgx.QueuedQuery{SQL: q.SQL, Arguments: q.Arguments, Fn: q.Fn})
	}
	return full
}

// all queues a query whose rows are collected into *dst.
func all[T any](b *pgx.Batch, dst *[]T, scan pgx.RowToFunc[T], sql string, args ...any) {
	b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		items, err := pgx.CollectRows(rows, scan)
		*dst = items
		return err
	})
}

// one queues a query that must return exactly one row; none is NOT_FOUND
// with the given message: a row RLS hides and a row that does not exist look
// the same to the caller, as they must.
func one[T any](b *pgx.Batch, dst *T, scan pgx.RowToFunc[T], notFound string, sql string, args ...any) {
	b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		item, err := pgx.CollectExactlyOneRow(rows, scan)
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.NotFoundf("%s", notFound)
		}
		*dst = item
		return err
	})
}

// affected queues a statement and stores how many rows it touched.
func affected(b *pgx.Batch, n *int64, sql string, args ...any) {
	b.Queue(sql, args...).Exec(func(ct pgconn.CommandTag) error {
		*n = ct.RowsAffected()
		return nil
	})
}

// Our SQLSTATEs, raised by agentgraph_check (migration 00006).
const (
	codeNotFound = "AGNF0"
	codeBadInput = "AGBI0"
)

// found queues a check that existsSQL (a "select exists (...)") is true,
// raising NOT_FOUND with msg otherwise. It runs in Postgres, so a failure
// aborts the batch's transaction: a check made in Go on a result would come
// after the later statements had already run.
func found(b *pgx.Batch, msg string, existsSQL string, args ...any) {
	n := len(args) + 1
	b.Queue(`select agentgraph_check((`+existsSQL+`), '`+codeNotFound+`', $`+strconv.Itoa(n)+`)`, append(args, msg)...)
}

// fields maps constraint names to the input field a violation is about.
var fields = map[string]struct{ field, msg string }{
	"agents_email_address_key":                          {"input.emailAddress", "is already used by another agent"},
	"agents_name_check":                                 {"input.name", "is not valid"},
	"agents_level_check":                                {"input.level", "must be at least 1"},
	"agents_destroyed_not_head_check":                   {"input.isHead", "a destroyed agent cannot be the head agent"},
	"agents_one_head_per_user":                          {"input.isHead", "another agent became head at the same time; try again"},
	"agent_skills_agent_id_skill_slug_key":              {"input.slug", "this skill is already installed on the agent"},
	"agent_skills_level_check":                          {"input.level", "must be at least 1"},
	"agent_knowledge_access_agent_id_collection_id_key": {"collectionId", "the agent already has access to this collection"},
	"knowledge_collections_one_default_per_user":        {"input.isDefault", "another collection became default at the same time; try again"},
	"knowledge_entries_importance_check":                {"input.importance", "must be between 0 and 1"},
	"user_personalization_user_id_key":                  {"input", "personalization was created concurrently; try again"},
}

// translate maps driver errors to API errors at the data boundary: constraint
// violations become BAD_USER_INPUT naming the field, RLS refusals NOT_FOUND.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return err
	}
	switch pg.Code {
	case codeNotFound:
		return apperr.NotFoundf("%s", pg.Message)
	case codeBadInput:
		if pg.Detail != "" {
			return apperr.Invalid(pg.Detail, "%s", pg.Message)
		}
		return apperr.New(apperr.BadUserInput, "%s", pg.Message)
	}
	if f, ok := fields[pg.ConstraintName]; ok {
		return apperr.Invalid(f.field, "%s", f.msg)
	}
	switch pg.Code {
	case "42501": // insufficient_privilege: an RLS with-check refused the row
		return apperr.NotFoundf("not found")
	case "23503": // foreign_key_violation: the parent does not exist
		return apperr.NotFoundf("a referenced object was not found")
	case "23505", "23514", "22001", "22P02":
		// No constraint or column name: they describe the schema, not the
		// client's input. The full error is in the log of the caller.
		return apperr.New(apperr.BadUserInput, "invalid input")
	}
	return fmt.Errorf("postgres %s: %w", pg.Code, err)
}

// cols is a select list of columns, each prefixed with alias unless it is
// "". Every table's columns are a []string (xColumns) turned into its select
// list here, so a list is written once and scanned in the same order.
func cols(alias string, columns []string) string {
	var sb strings.Builder
	for i, c := range columns {
		if i > 0 {
			sb.WriteString(", ")
		}
		if alias != "" {
			sb.WriteString(alias + ".")
		}
		sb.WriteString(c)
	}
	return sb.String()
}
