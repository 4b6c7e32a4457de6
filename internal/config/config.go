// Package config reads the server's settings from the environment
// (runtime.md) and rejects bad ones with one clear message at start.
package config

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentgraph/agentgraph/internal/secrets"
)

// DefaultDatabaseURL is the local Postgres of a development machine.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Config is the server's configuration.
type Config struct {
	Port           int
	DatabaseURL    string
	JWTSecret      string
	JWKSURL        string
	AllowedOrigins []string
	// DefaultModel is the personality model of an agent created without one.
	DefaultModel string
	// LoaderWait is how long dataloaders gather keys before querying.
	LoaderWait time.Duration
	// WebSocketImpl is the WebSocket transport: "gqlws" (default: our own,
	// internal/gqlws, on gorilla/websocket), or gqlgen's transport on
	// "gorilla" or "coder" (coder/websocket).
	WebSocketImpl string
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration
	// PprofAddr, when set, serves net/http/pprof on its own listener (keep
	// it on loopback: profiles expose internals).
	PprofAddr string
	// APIConns is the size of the pool serving requests: pool_max_conns in
	// DATABASE_URL when it is there, else 4 per core (at least 8).
	APIConns int32
	// BackgroundConns is the size of the background pool (replies, jobs,
	// loading events for subscribers, the LISTEN connections), apart from
	// requests so a flood of them cannot starve it.
	BackgroundConns int32
	// ReplyWorkers caps the replies generated at once on this instance;
	// more wait as jobs.
	ReplyWorkers int
	// ReplyDrain is how long a shutdown lets replies in flight finish
	// before cutting them (they are then generated again by the next
	// instance); it runs alongside, not after, HTTP draining.
	ReplyDrain time.Duration
	// TokenKeys seal and open integration tokens (TOKEN_ENCRYPTION_KEYS,
	// newest first, or the one TOKEN_ENCRYPTION_KEY); nil when neither is
	// set: the server starts, and connecting an integration answers
	// INTEGRATIONS_DISABLED.
	TokenKeys *secrets.Keyring
}

// Load reads the configuration through getenv (os.Getenv in production).
func Load(getenv func(string) string) (Config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		DatabaseURL:     get("DATABASE_URL", DefaultDatabaseURL),
		JWTSecret:       getenv("SUPABASE_JWT_SECRET"),
		JWKSURL:         get("SUPABASE_JWKS_URL", ""),
		DefaultModel:    get("DEFAULT_MODEL", "gpt-4o-mini"),
		ShutdownTimeout: 15 * time.Second,
	}
	port, err := strconv.Atoi(get("PORT", "8080"))
	if err != nil || port < 0 || port > 65535 {
		return c, fmt.Errorf("PORT must be a port number, got %q", getenv("PORT"))
	}
	c.Port = port
	if _, err := pgxpool.ParseConfig(c.DatabaseURL); err != nil {
		// pgx's message can echo the URL, password included; say only what is wrong.
		return c, fmt.Errorf("DATABASE_URL is not a valid Postgres URL or DSN")
	}
	for _, o := range strings.Split(getenv("ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.AllowedOrigins = append(c.AllowedOrigins, strings.TrimRight(o, "/"))
		}
	}
	wait, err := time.ParseDuration(get("LOADER_WAIT", "1ms"))
	if err != nil || wait < 0 || wait > time.Second {
		return c, fmt.Errorf("LOADER_WAIT must be a duration up to 1s, like 1ms")
	}
	c.LoaderWait = wait
	c.PprofAddr = get("PPROF_ADDR", "")
	if err := c.loadPools(get); err != nil {
		return c, err
	}
	if c.TokenKeys, err = loadTokenKeys(get); err != nil {
		return c, err
	}
	c.WebSocketImpl = get("WEBSOCKET_IMPL", "gqlws")
	if c.WebSocketImpl != "gqlws" && c.WebSocketImpl != "gorilla" && c.WebSocketImpl != "coder" {
		return c, fmt.Errorf("WEBSOCKET_IMPL must be gqlws, gorilla or coder")
	}
	return c, nil
}

// loadPools reads the pool sizes, reply workers and reply drain time.
func (c *Config) loadPools(get func(k, def string) string) error {
	pc, _ := pgxpool.ParseConfig(c.DatabaseURL) // validated by Load
	c.APIConns = int32(max(8, 4*runtime.NumCPU()))
	if strings.Contains(c.DatabaseURL, "pool_max_conns") {
		c.APIConns = pc.MaxConns
	}
	n, err := strconv.Atoi(get("BACKGROUND_POOL_MAX_CONNS", strconv.Itoa(max(8, 2*runtime.NumCPU()))))
	if err != nil || n < 4 || n > 1000 {
		return fmt.Errorf("BACKGROUND_POOL_MAX_CONNS must be a number from 4 to 1000")
	}
	c.BackgroundConns = int32(n)
	if c.ReplyWorkers, err = strconv.Atoi(get("REPLY_WORKERS", "50")); err != nil || c.ReplyWorkers < 1 || c.ReplyWorkers > 10000 {
		return fmt.Errorf("REPLY_WORKERS must be a number from 1 to 10000")
	}
	if c.ReplyDrain, err = time.ParseDuration(get("REPLY_DRAIN_TIMEOUT", "20s")); err != nil || c.ReplyDrain < 0 {
		return fmt.Errorf("REPLY_DRAIN_TIMEOUT must be a duration, like 20s")
	}
	return nil
}

// loadTokenKeys reads the integration token keys. TOKEN_ENCRYPTION_KEYS
// lists several, comma-separated, newest first (the newest seals, all open:
// key rotation); TOKEN_ENCRYPTION_KEY is the one-key form. Setting both is
// refused rather than guessing which was meant. Errors name the variable and
// the key's position, never a key.
func loadTokenKeys(get func(k, def string) string) (*secrets.Keyring, error) {
	one, many := get("TOKEN_ENCRYPTION_KEY", ""), get("TOKEN_ENCRYPTION_KEYS", "")
	switch {
	case one != "" && many != "":
		return nil, fmt.Errorf("set TOKEN_ENCRYPTION_KEY or TOKEN_ENCRYPTION_KEYS, not both")
	case one != "":
		k, err := secrets.ParseKeys([]string{one})
		if err != nil {
			return nil, fmt.Errorf("TOKEN_ENCRYPTION_KEY must be base64 of 32 random bytes (openssl rand -base64 32): %w", err)
		}
		return k, nil
	case many != "":
		var keys []string
		for _, k := range strings.Split(many, ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
		k, err := secrets.ParseKeys(keys)
		if err != nil {
			return nil, fmt.Errorf("TOKEN_ENCRYPTION_KEYS must be comma-separated base64 keys of 32 random bytes, newest first: %w", err)
		}
		return k, nil
	}
	return nil, nil
}
