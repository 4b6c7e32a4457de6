package config

import (
	"strings"
	"testing"
	"time"

	"github.com/agentgraph/agentgraph/internal/ratelimit"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.DatabaseURL != DefaultDatabaseURL || c.LoaderWait != time.Millisecond ||
		c.DefaultModel != "gpt-4o-mini" || len(c.AllowedOrigins) != 0 ||
		c.ReplyWorkers != 50 || c.ReplyDrain != 20*time.Second || c.MaxReplyTokens != 4096 || c.RepliesPerUser != 4 || c.SocketsPerUser != 20 || c.SocketOperations != 100 ||
		c.MonthlyBudgetCents != nil || c.BackgroundConns < 8 || c.APIConns < 8 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestValues(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		"PORT": "9000", "ALLOWED_ORIGINS": " https://app.example/ , http://localhost:5173,, ",
		"LOADER_WAIT": "3ms", "SUPABASE_JWT_SECRET": "s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9000 || c.LoaderWait != 3*time.Millisecond || c.JWTSecret != "s" {
		t.Fatalf("values: %+v", c)
	}
	if strings.Join(c.AllowedOrigins, "|") != "https://app.example|http://localhost:5173" {
		t.Fatalf("origins %q", c.AllowedOrigins)
	}
}

// Bad settings are refused with a message naming the variable, and a bad
// DATABASE_URL's message never echoes the URL (it may hold a password).
func TestBadValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ key, value, want string }{
		{"PORT", "eighty", "PORT"},
		{"PORT", "70000", "PORT"},
		{"DATABASE_URL", "postgres://u:hunter2@[bad", "DATABASE_URL"},
		{"LOADER_WAIT", "forever", "LOADER_WAIT"},
		{"LOADER_WAIT", "2s", "LOADER_WAIT"},
		{"BACKGROUND_POOL_MAX_CONNS", "2", "BACKGROUND_POOL_MAX_CONNS"},
		{"REPLY_WORKERS", "0", "REPLY_WORKERS"},
		{"REPLY_DRAIN_TIMEOUT", "soon", "REPLY_DRAIN_TIMEOUT"},
		{"MAX_REPLY_TOKENS", "0", "MAX_REPLY_TOKENS"},
		{"SOCKETS_PER_USER", "0", "SOCKETS_PER_USER"},
		{"REPLIES_PER_USER", "many", "REPLIES_PER_USER"},
		{"MONTHLY_BUDGET_CENTS", "-5", "MONTHLY_BUDGET_CENTS"},
		{"MAX_DEPTH", "0", "MAX_DEPTH"},
		{"MAX_COMPLEXITY", "lots", "MAX_COMPLEXITY"},
		{"TIMEOUT", "-1s", "TIMEOUT"},
		{"INTROSPECTION", "maybe", "INTROSPECTION"},
		{"RATE_LLM", "lots", "RATE_LLM"},
		{"RATE_ANON_MUTATIONS", "5/never", "RATE_ANON_MUTATIONS"},
		{"RATE_POINTS", "49999/1m", "RATE_POINTS"},
		{"RATE_ANON_POINTS", "10/1s", "RATE_ANON_POINTS"},
		{"APP_ENV", "staging", "APP_ENV"},
		{"APP_ENV", "production", "SUPABASE_JWT_SECRET"},
	} {
		_, err := Load(env(map[string]string{tc.key: tc.value}))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: error %v, want one naming %s", tc.key, tc.value, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error echoes the secret: %v", tc.key, err)
		}
	}
}

// pool_max_conns in DATABASE_URL sizes the request pool; without it the
// default fits the machine.
func TestPoolSizes(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"DATABASE_URL": DefaultDatabaseURL + "&pool_max_conns=3", "BACKGROUND_POOL_MAX_CONNS": "6"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.APIConns != 3 || c.BackgroundConns != 6 {
		t.Fatalf("pools %d and %d, want 3 and 6", c.APIConns, c.BackgroundConns)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"MAX_DEPTH": "8", "MAX_COMPLEXITY": "1000", "TIMEOUT": "5s", "INTROSPECTION": "false"}))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Limits
	if l.Depth != 8 || l.Complexity != 1000 || l.Timeout != 5*time.Second || l.Introspection || l.Fields != 100 {
		t.Fatalf("limits: %+v", l)
	}
}

func TestIssuer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{"SUPABASE_URL": "https://abc.supabase.co/"}, "https://abc.supabase.co/auth/v1"},
		{map[string]string{"SUPABASE_URL": "https://abc.supabase.co", "JWT_ISSUER": "https://auth.example"}, "https://auth.example"},
	} {
		c, err := Load(env(tc.env))
		if err != nil || c.JWTIssuer != tc.want {
			t.Errorf("%v: issuer %q (err %v), want %q", tc.env, c.JWTIssuer, err, tc.want)
		}
	}
}

func TestRates(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"RATE_LLM": "3/10s", "RATE_ANON_SUBSCRIPTIONS": "0", "RATE_ANON_POINTS": "0"}))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rates
	if r.User[ratelimit.LLM] != (ratelimit.Limit{N: 3, Per: 10 * time.Second}) || r.Anonymous[ratelimit.Subscription].N != 0 ||
		r.User[ratelimit.Mutation] != ratelimit.Defaults().User[ratelimit.Mutation] ||
		r.User[ratelimit.Points] != (ratelimit.Limit{N: 1_000_000, Per: time.Minute}) || r.Anonymous[ratelimit.Points].N != 0 {
		t.Fatalf("rates: %+v", r)
	}
	// A smaller MAX_COMPLEXITY lets a smaller budget of points through.
	c, err = Load(env(map[string]string{"MAX_COMPLEXITY": "1000", "RATE_POINTS": "1000/1s"}))
	if err != nil || c.Rates.User[ratelimit.Points] != (ratelimit.Limit{N: 1000, Per: time.Second}) {
		t.Fatalf("RATE_POINTS=1000/1s under MAX_COMPLEXITY=1000: %+v, %v", c.Rates.User[ratelimit.Points], err)
	}
}

// Integration token keys: none disables integrations; one key or a list
// (newest first) builds the keyring; a bad key is refused naming the
// variable, never echoing the key.
func TestTokenKeys(t *testing.T) {
	t.Parallel()
	const k1 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	const k2 = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=" // 32 bytes
	c, err := Load(env(nil))
	if err != nil || c.TokenKeys != nil {
		t.Fatalf("no key: %v, %v", c.TokenKeys, err)
	}
	one, err := Load(env(map[string]string{"TOKEN_ENCRYPTION_KEY": k1}))
	if err != nil || one.TokenKeys == nil || len(one.TokenKeys.IDs()) != 1 {
		t.Fatalf("one key: %v", err)
	}
	two, err := Load(env(map[string]string{"TOKEN_ENCRYPTION_KEYS": " " + k2 + " , " + k1}))
	if err != nil || len(two.TokenKeys.IDs()) != 2 || two.TokenKeys.IDs()[1] != one.TokenKeys.Current() {
		t.Fatalf("two keys: %v", err)
	}
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"TOKEN_ENCRYPTION_KEY": "c2hvcnQta2V5LXNlY3JldA=="}, "TOKEN_ENCRYPTION_KEY"},
		{map[string]string{"TOKEN_ENCRYPTION_KEY": "not base64 secret!"}, "TOKEN_ENCRYPTION_KEY"},
		{map[string]string{"TOKEN_ENCRYPTION_KEYS": k1 + ",c2hvcnQta2V5LXNlY3JldA=="}, "TOKEN_ENCRYPTION_KEYS"},
		{map[string]string{"TOKEN_ENCRYPTION_KEYS": k1 + "," + k1}, "TOKEN_ENCRYPTION_KEYS"},
		{map[string]string{"TOKEN_ENCRYPTION_KEY": k1, "TOKEN_ENCRYPTION_KEYS": k2}, "not both"},
	} {
		_, err := Load(env(tc.vars))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %s", tc.vars, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "c2hvcnQta2V5") || strings.Contains(err.Error(), "secret") ||
			strings.Contains(err.Error(), k1[:12])) {
			t.Errorf("%v: error echoes the key: %v", tc.vars, err)
		}
	}
}

// Dev mode is what a fresh clone gets, never production.
func TestDevMode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{nil, true},
		{map[string]string{"APP_ENV": "development"}, true},
		{map[string]string{"SUPABASE_JWT_SECRET": "s"}, false},
		{map[string]string{"SUPABASE_JWKS_URL": "https://x.supabase.co/auth/v1/.well-known/jwks.json"}, false},
		{map[string]string{"APP_ENV": "production", "SUPABASE_JWT_SECRET": "s"}, false},
	} {
		c, err := Load(env(tc.env))
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if c.DevMode() != tc.want {
			t.Errorf("%v: DevMode %v, want %v", tc.env, c.DevMode(), tc.want)
		}
	}
}
