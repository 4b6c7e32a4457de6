// Package config reads the server's settings from the environment
// (runtime.md), all of them, here and nowhere else, and rejects bad ones with
// one clear message at start.
package config

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentgraph/agentgraph/internal/devmode"
	"github.com/agentgraph/agentgraph/internal/integrations"
	"github.com/agentgraph/agentgraph/internal/knowledge"
	"github.com/agentgraph/agentgraph/internal/limits"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/ratelimit"
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
	// MaxReplyTokens caps every reply (MAX_REPLY_TOKENS); RepliesPerUser
	// caps one user's replies generated at once (REPLIES_PER_USER).
	MaxReplyTokens int
	RepliesPerUser int
	// MonthlyBudgetCents is every user's monthly LLM budget unless they set
	// their own (MONTHLY_BUDGET_CENTS); nil: no budget.
	MonthlyBudgetCents *float64
	// JWTIssuer, when set, must be every token's iss: JWT_ISSUER, or
	// SUPABASE_URL + "/auth/v1" (what Supabase Auth puts there).
	JWTIssuer string
	// MetricsAddr, when set, serves /metrics on its own listener instead of
	// the API's port.
	MetricsAddr string
	// Limits bound each GraphQL operation (MAX_DEPTH, MAX_FIELDS,
	// MAX_ALIASES, MAX_TOKENS, MAX_COMPLEXITY, TIMEOUT, INTROSPECTION).
	Limits limits.Config
	// Rates meter each caller (RATE_MUTATIONS, RATE_LLM,
	// RATE_SUBSCRIPTIONS and their RATE_ANON_ variants).
	Rates ratelimit.Config
	// TokenKeys seal and open integration tokens (TOKEN_ENCRYPTION_KEYS,
	// newest first, or the one TOKEN_ENCRYPTION_KEY); nil when neither is
	// set: the server starts, and connecting an integration answers
	// INTEGRATIONS_DISABLED.
	TokenKeys *secrets.Keyring
	// LLM is the providers, timeouts and prices of replies (OPENAI_*,
	// ANTHROPIC_*, GEMINI_*, LLM_TIMEOUT, LLM_IDLE_TIMEOUT, LLM_PRICES).
	LLM llm.Config
	// OAuth is each integration provider's OAuth client (OAUTH_*).
	OAuth map[string]integrations.OAuthClient
	// SocketOperations, SocketSubscriptions and SocketsPerUser are the
	// WebSocket quotas: operations and subscriptions in flight on one
	// socket, sockets of one user on one instance.
	SocketOperations, SocketSubscriptions, SocketsPerUser int
	// Knowledge is the embedding model and the vector store (EMBEDDING_*,
	// PINECONE_*).
	Knowledge knowledge.Config
	// Production (APP_ENV=production) forbids dev mode: the server refuses
	// to start without SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL.
	Production bool
	// DevFile keeps dev mode's generated secret and demo user
	// (AGENTGRAPH_DEV_FILE, default devmode.DefaultFile).
	DevFile string
}

// DevMode reports whether the server signs its own tokens: nothing to
// verify real ones with, and not in production.
func (c Config) DevMode() bool { return !c.Production && c.JWTSecret == "" && c.JWKSURL == "" }

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
	c.MetricsAddr = get("METRICS_ADDR", "")
	c.JWTIssuer = get("JWT_ISSUER", "")
	if u := get("SUPABASE_URL", ""); c.JWTIssuer == "" && u != "" {
		c.JWTIssuer = strings.TrimRight(u, "/") + "/auth/v1"
	}
	if c.Limits, err = loadLimits(get); err != nil {
		return c, err
	}
	if c.Rates, err = loadRates(get, c.Limits.Complexity); err != nil {
		return c, err
	}
	if c.TokenKeys, err = loadTokenKeys(get); err != nil {
		return c, err
	}
	if c.LLM, err = loadLLM(getenv); err != nil {
		return c, fmt.Errorf("llm: %w", err)
	}
	if !c.LLM.Prices.Priced(c.DefaultModel) {
		return c, fmt.Errorf("DEFAULT_MODEL %q has no price: add it to LLM_PRICES", c.DefaultModel)
	}
	if c.OAuth, err = loadOAuth(getenv); err != nil {
		return c, err
	}
	if c.Knowledge, err = loadKnowledge(getenv); err != nil {
		return c, err
	}
	switch env := get("APP_ENV", "development"); env {
	case "production":
		c.Production = true
		if c.JWTSecret == "" && c.JWKSURL == "" {
			return c, fmt.Errorf("APP_ENV=production needs SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL (dev mode's own tokens are refused in production)")
		}
	case "development":
	default:
		return c, fmt.Errorf("APP_ENV must be development or production, got %q", env)
	}
	c.DevFile = get("AGENTGRAPH_DEV_FILE", devmode.DefaultFile)
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
	for _, q := range []struct {
		key string
		def int
		dst *int
	}{
		{"SOCKET_OPERATIONS", 100, &c.SocketOperations},
		{"SOCKET_SUBSCRIPTIONS", 50, &c.SocketSubscriptions},
		{"SOCKETS_PER_USER", 20, &c.SocketsPerUser},
	} {
		if *q.dst, err = strconv.Atoi(get(q.key, strconv.Itoa(q.def))); err != nil || *q.dst < 1 || *q.dst > 100000 {
			return fmt.Errorf("%s must be a number from 1 to 100000", q.key)
		}
	}
	if c.MaxReplyTokens, err = strconv.Atoi(get("MAX_REPLY_TOKENS", "4096")); err != nil || c.MaxReplyTokens < 1 || c.MaxReplyTokens > 100000 {
		return fmt.Errorf("MAX_REPLY_TOKENS must be a number from 1 to 100000")
	}
	if c.RepliesPerUser, err = strconv.Atoi(get("REPLIES_PER_USER", "4")); err != nil || c.RepliesPerUser < 1 || c.RepliesPerUser > 1000 {
		return fmt.Errorf("REPLIES_PER_USER must be a number from 1 to 1000")
	}
	if v := get("MONTHLY_BUDGET_CENTS", ""); v != "" {
		cents, err := strconv.ParseFloat(v, 64)
		if err != nil || cents < 0 || cents > 1e9 || cents != cents {
			return fmt.Errorf("MONTHLY_BUDGET_CENTS must be a number of cents from 0 to 1e9")
		}
		c.MonthlyBudgetCents = &cents
	}
	return nil
}

// loadLimits reads the request limits over limits.Defaults().
func loadLimits(get func(k, def string) string) (limits.Config, error) {
	l := limits.Defaults()
	for _, n := range []struct {
		key string
		dst *int
	}{
		{"MAX_DEPTH", &l.Depth}, {"MAX_FIELDS", &l.Fields}, {"MAX_ALIASES", &l.Aliases},
		{"MAX_TOKENS", &l.Tokens}, {"MAX_COMPLEXITY", &l.Complexity},
	} {
		v, err := strconv.Atoi(get(n.key, strconv.Itoa(*n.dst)))
		if err != nil || v < 1 {
			return l, fmt.Errorf("%s must be a positive integer", n.key)
		}
		*n.dst = v
	}
	d, err := time.ParseDuration(get("TIMEOUT", l.Timeout.String()))
	if err != nil || d <= 0 {
		return l, fmt.Errorf("TIMEOUT must be a positive duration, like 30s")
	}
	l.Timeout = d
	if l.Introspection, err = strconv.ParseBool(get("INTROSPECTION", "true")); err != nil {
		return l, fmt.Errorf("INTROSPECTION must be true or false")
	}
	return l, nil
}

// loadRates reads the rate limits over ratelimit.Defaults(). A budget of
// points must hold the costliest query the limits allow (maxComplexity),
// or that query could never run.
func loadRates(get func(k, def string) string, maxComplexity int) (ratelimit.Config, error) {
	r := ratelimit.Defaults()
	for _, k := range []ratelimit.Kind{ratelimit.Mutation, ratelimit.LLM, ratelimit.Subscription, ratelimit.Points} {
		name := strings.ToUpper(k.String())
		if k != ratelimit.LLM && k != ratelimit.Points {
			name += "S"
		}
		for _, v := range []struct {
			key string
			dst *ratelimit.Limit
		}{{"RATE_" + name, &r.User[k]}, {"RATE_ANON_" + name, &r.Anonymous[k]}} {
			l, err := ratelimit.ParseLimit(get(v.key, v.dst.String()))
			if err != nil {
				return r, fmt.Errorf("%s: %w", v.key, err)
			}
			if k == ratelimit.Points && l.N != 0 && l.N < max(maxComplexity, ratelimit.MinPoints) {
				return r, fmt.Errorf("%s: %d points cannot pay for one query of MAX_COMPLEXITY %d; raise it, or 0 for no limit",
					v.key, l.N, maxComplexity)
			}
			*v.dst = l
		}
	}
	return r, nil
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
