package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.DatabaseURL != DefaultDatabaseURL || c.LoaderWait != time.Millisecond ||
		c.WebSocketImpl != "gqlws" || c.DefaultModel != "gpt-4o-mini" || len(c.AllowedOrigins) != 0 ||
		c.ReplyWorkers != 50 || c.ReplyDrain != 20*time.Second || c.BackgroundConns < 8 || c.APIConns < 8 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestValues(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		"PORT": "9000", "ALLOWED_ORIGINS": " https://app.example/ , http://localhost:5173,, ",
		"WEBSOCKET_IMPL": "coder", "LOADER_WAIT": "3ms", "SUPABASE_JWT_SECRET": "s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9000 || c.WebSocketImpl != "coder" || c.LoaderWait != 3*time.Millisecond || c.JWTSecret != "s" {
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
		{"WEBSOCKET_IMPL", "nhooyr", "WEBSOCKET_IMPL"},
		{"BACKGROUND_POOL_MAX_CONNS", "2", "BACKGROUND_POOL_MAX_CONNS"},
		{"REPLY_WORKERS", "0", "REPLY_WORKERS"},
		{"REPLY_DRAIN_TIMEOUT", "soon", "REPLY_DRAIN_TIMEOUT"},
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
