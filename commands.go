package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/config"
	"github.com/agentgraph/agentgraph/internal/devmode"
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
