package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/config"
	"github.com/agentgraph/agentgraph/internal/devmode"
	"github.com/agentgraph/agentgraph/internal/jobs"
	"github.com/agentgraph/agentgraph/internal/seed"
	"github.com/agentgraph/agentgraph/internal/store"
)

// mintToken prints an access token for --user (the dev user when omitted)
// signed with SUPABASE_JWT_SECRET, or with dev mode's secret when none is
// set: what a developer pastes into curl, GraphiQL or a client.
func mintToken(cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // one line on stderr, from main
	user := fs.String("user", "", "the user's UUID (the token's sub); default: dev mode's demo user")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("token: %w (usage: token --user <uuid> [--ttl 1h])", err)
	}
	if *ttl <= 0 {
		return errors.New("token: --ttl must be positive")
	}
	secret := cfg.JWTSecret
	var dev devmode.Identity
	if cfg.DevMode() {
		var err error
		if dev, err = devmode.Load(cfg.DevFile); err != nil {
			return err
		}
		secret = dev.Secret
	}
	if secret == "" {
		return errors.New("token: no SUPABASE_JWT_SECRET to sign with (tokens for a JWKS-verified server come from Supabase Auth)")
	}
	id := dev.User
	if *user != "" {
		u, err := uuid.Parse(*user)
		if err != nil {
			return fmt.Errorf("token: --user must be a UUID: %w", err)
		}
		id = u
	}
	if id == uuid.Nil {
		return errors.New("token: --user is required outside dev mode")
	}
	tok, err := devmode.Token(secret, id, *ttl, cfg.JWTIssuer)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// seedDemo gives --user (the dev user when omitted) the demo data of
// internal/seed, after migrating; running it again adds nothing.
func seedDemo(ctx context.Context, cfg config.Config, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	user := fs.String("user", "", "the user's UUID; default: dev mode's demo user")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("seed: %w (usage: seed [--user <uuid>])", err)
	}
	var id uuid.UUID
	switch {
	case *user != "":
		u, err := uuid.Parse(*user)
		if err != nil {
			return fmt.Errorf("seed: --user must be a UUID: %w", err)
		}
		id = u
	case cfg.DevMode():
		dev, err := devmode.Load(cfg.DevFile)
		if err != nil {
			return err
		}
		id = dev.User
	default:
		return errors.New("seed: --user is required outside dev mode")
	}
	pool, err := migratedPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	// Insert-only: a running server works the entries' index jobs.
	jc, err := jobs.New(pool, jobs.Config{})
	if err != nil {
		return err
	}
	rep, err := seed.Seed(ctx, store.New(pool), jc, cfg.LLM.Prices, id, time.Now())
	if err != nil {
		return err
	}
	slog.Info("seeded", "user", id, "result", rep.String())
	return nil
}

// migratedPool migrates the database (waiting for it as the server does) and
// opens a pool on it, for the commands that work on data.
func migratedPool(ctx context.Context, cfg config.Config) (*pgxpool.Pool, error) {
	if err := migrateWithRetry(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	return pool, nil
}

// seedFirstStart gives dev mode's demo user the demo data when it has no
// agent yet: the first start of a fresh clone. Later starts leave what the
// developer changed alone.
func seedFirstStart(ctx context.Context, st *store.Store, jc *jobs.Client, cfg config.Config, user uuid.UUID) error {
	uctx := auth.WithUser(ctx, auth.User{ID: user, Role: "authenticated", ExpiresAt: time.Now().Add(time.Minute)})
	n, err := st.CountAgents(uctx, store.AgentFilter{})
	if err != nil || n > 0 {
		return err
	}
	rep, err := seed.Seed(ctx, st, jc, cfg.LLM.Prices, user, time.Now())
	if err != nil {
		return err
	}
	slog.Info("dev mode: demo data seeded", "user", user, "result", rep.String())
	return nil
}
