package integrations_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/oauth2"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/integrations"
	"github.com/agentgraph/agentgraph/internal/secrets"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

func newKey(t testing.TB) string {
	t.Helper()
	k := make([]byte, secrets.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

func keys(t testing.TB, encoded ...string) *secrets.Keyring {
	t.Helper()
	k, err := secrets.ParseKeys(encoded)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func as(user uuid.UUID) context.Context {
	return auth.WithUser(context.Background(), auth.User{ID: user, Role: "authenticated"})
}

func ptr[T any](v T) *T { return &v }

// provider is a loopback stand-in for a provider's OAuth token endpoint: it
// speaks the refresh_token grant (RFC 6749 section 6) as golang.org/x/oauth2
// expects, counting the refreshes it answers.
type provider struct {
	srv   *httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	// answer decides the response to a refresh of refreshToken.
	answer func(refreshToken string) (status int, body map[string]any)
	delay  time.Duration
	errs   []string // protocol mistakes seen
}

func newProvider(t *testing.T) *provider {
	t.Helper()
	p := &provider{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", 400)
			return
		}
		p.mu.Lock()
		if r.Method != http.MethodPost || r.URL.Path != "/token" || r.PostForm.Get("grant_type") != "refresh_token" ||
			r.PostForm.Get("client_id") != "client-1" || r.PostForm.Get("client_secret") != "client-secret-1" {
			p.errs = append(p.errs, fmt.Sprintf("%s %s %v", r.Method, r.URL.Path, r.PostForm))
		}
		answer, delay := p.answer, p.delay
		p.mu.Unlock()
		time.Sleep(delay)
		status, body := answer(r.PostForm.Get("refresh_token"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(func() {
		p.srv.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.errs {
			t.Errorf("token endpoint got an unexpected request: %s", e)
		}
	})
	return p
}

func (p *provider) set(delay time.Duration, answer func(string) (int, map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay, p.answer = delay, answer
}

// harness is a Service on a private database, logging to a buffer.
type harness struct {
	pool *pgxpool.Pool
	st   *store.Store
	svc  *integrations.Service
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newHarness(t *testing.T, k *secrets.Keyring, p *provider) *harness {
	t.Helper()
	pool := testdb.Pool(t)
	h := &harness{pool: pool, st: store.New(pool), logs: &syncBuffer{}}
	h.svc = h.service(k, p)
	return h
}

// service is another Service on h's database (another server, or the same
// one restarted with other keys).
func (h *harness) service(k *secrets.Keyring, p *provider) *integrations.Service {
	o := integrations.Options{Keys: k, Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if p != nil {
		o.OAuth = map[string]integrations.OAuthClient{}
		for _, name := range integrations.Providers {
			o.OAuth[name] = integrations.OAuthClient{TokenURL: p.srv.URL + "/token", ClientID: "client-1", ClientSecret: "client-secret-1",
				AuthStyle: oauth2.AuthStyleInParams}
		}
	}
	return integrations.New(h.st, o)
}

func (h *harness) connect(t *testing.T, user uuid.UUID, in domain.ConnectIntegrationInput) *domain.Integration {
	t.Helper()
	i, err := h.svc.Connect(as(user), in)
	if err != nil {
		t.Fatalf("connect %s: %v", in.Provider, err)
	}
	return i
}

// row reads the stored row as the superuser, bypassing everything.
func (h *harness) row(t *testing.T, user uuid.UUID, provider string) (access string, refresh *string, keyID *string, status string, dump string) {
	t.Helper()
	if err := h.pool.QueryRow(context.Background(), `select access_token_encrypted, refresh_token_encrypted, key_id, status, row_to_json(u)::text
		from user_integrations u where user_id = $1 and provider = $2`, user, provider).Scan(&access, &refresh, &keyID, &status, &dump); err != nil {
		t.Fatalf("row %s: %v", provider, err)
	}
	return
}

// noPlaintext fails if any of secrets appears in text.
func noPlaintext(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains a token in the clear (%.8s…)", where, s)
		}
	}
}

func TestConnectSealsTokensAndTokenOpensThem(t *testing.T) {
	t.Parallel()
	k := keys(t, newKey(t))
	h := newHarness(t, k, nil)
	user := uuid.New()
	const access, refresh = "gho_access-plaintext-1", "ghr_refresh-plaintext-1"
	i := h.connect(t, user, domain.ConnectIntegrationInput{Provider: "github", AccessToken: access, RefreshToken: ptr(refresh),
		ExpiresAt: ptr(time.Now().Add(time.Hour)), Scopes: []string{"repo", "read:user"}, Metadata: map[string]any{"login": "octo"}})
	if i.Provider != "github" || strings.Join(i.Scopes, " ") != "repo read:user" || i.Status() != domain.IntegrationActive {
		t.Fatalf("connected: %+v", i)
	}
	sealedAccess, sealedRefresh, keyID, status, dump := h.row(t, user, "github")
	noPlaintext(t, "the stored row", dump, access, refresh)
	if !strings.HasPrefix(sealedAccess, "v1."+k.Current()+".") || sealedRefresh == nil || keyID == nil || *keyID != k.Current() || status != "active" {
		t.Fatalf("stored: key %v, status %s", keyID, status)
	}
	tok, err := h.svc.Token(context.Background(), user, "github")
	if err != nil || tok.AccessToken.Reveal() != access {
		t.Fatalf("token: %v", err)
	}
	if s := fmt.Sprintf("%v %s %+v %#v", tok.AccessToken, tok.AccessToken, tok, tok); strings.Contains(s, access) {
		t.Fatalf("formatting a token shows it: %s", s)
	}
	// Reconnecting replaces the row: one per user and provider.
	h.connect(t, user, domain.ConnectIntegrationInput{Provider: "github", AccessToken: "gho_second"})
	if tok, err := h.svc.Token(context.Background(), user, "github"); err != nil || tok.AccessToken.Reveal() != "gho_second" {
		t.Fatalf("after reconnecting: %v", err)
	}
	if _, refresh, _, _, _ := h.row(t, user, "github"); refresh != nil {
		t.Fatal("reconnecting without a refresh token kept the old one")
	}
	noPlaintext(t, "the logs", h.logs.String(), access, refresh, "gho_second")
}

func TestConnectValidatesInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, keys(t, newKey(t)), nil)
	user := uuid.New()
	for _, tc := range []struct {
		in    domain.ConnectIntegrationInput
		field string
	}{
		{domain.ConnectIntegrationInput{Provider: "dropbox", AccessToken: "x"}, "input.provider"},
		{domain.ConnectIntegrationInput{Provider: "GitHub", AccessToken: "x"}, "input.provider"},
		{domain.ConnectIntegrationInput{Provider: "github", AccessToken: " "}, "input.accessToken"},
		{domain.ConnectIntegrationInput{Provider: "github", AccessToken: strings.Repeat("x", 8193)}, "input.accessToken"},
		{domain.ConnectIntegrationInput{Provider: "github", AccessToken: "x", RefreshToken: ptr("  ")}, "input.refreshToken"},
		{domain.ConnectIntegrationInput{Provider: "github", AccessToken: "x", Scopes: []string{"a b"}}, "input.scopes"},
		{domain.ConnectIntegrationInput{Provider: "github", AccessToken: "x", Scopes: []string{""}}, "input.scopes"},
		{domain.ConnectIntegrationInput{Provider: "github", AccessToken: "x", Metadata: []any{1}}, "input.metadata"},
		{domain.ConnectIntegrationInput{Provider: "github", AccessToken: "x", Metadata: map[string]any{"a": strings.Repeat("x", 17000)}}, "input.metadata"},
	} {
		_, err := h.svc.Connect(as(user), tc.in)
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.BadUserInput || e.Field != tc.field {
			t.Errorf("%+.60v: got %v, want BAD_USER_INPUT on %s", tc.in, err, tc.field)
		}
	}
	if _, err := h.svc.Disconnect(as(user), "dropbox"); !apperr.Is(err, apperr.BadUserInput) {
		t.Errorf("disconnect of an unknown provider: %v", err)
	}
}

// Without a key, connecting is refused and nothing is stored; reading and
// disconnecting still work.
func TestDisabledWithoutKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	user := uuid.New()
	_, err := h.svc.Connect(as(user), domain.ConnectIntegrationInput{Provider: "slack", AccessToken: "xoxb-plaintext"})
	if !apperr.Is(err, apperr.IntegrationsDisabled) {
		t.Fatalf("connect without a key: %v", err)
	}
	var n int
	if err := h.pool.QueryRow(context.Background(), `select count(*) from user_integrations`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows stored, %v", n, err)
	}
	if list, err := h.svc.List(as(user)); err != nil || len(list) != 0 {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := h.svc.Token(context.Background(), user, "slack"); !errors.Is(err, integrations.ErrDisabled) {
		t.Fatalf("token: %v", err)
	}
	if _, err := h.svc.Reseal(context.Background(), 10, nil); !errors.Is(err, integrations.ErrDisabled) {
		t.Fatalf("reseal: %v", err)
	}
}

// A sealed token copied to another user's row, another provider's row or the
// other column does not open there.
func TestSwappedCiphertextsDoNotOpen(t *testing.T) {
	t.Parallel()
	h := newHarness(t, keys(t, newKey(t)), nil)
	ctx := context.Background()
	alice, bob := uuid.New(), uuid.New()
	for _, u := range []uuid.UUID{alice, bob} {
		for _, p := range []string{"github", "slack"} {
			h.connect(t, u, domain.ConnectIntegrationInput{Provider: p, AccessToken: "access-" + p + "-" + u.String(),
				RefreshToken: ptr("refresh-" + p + "-" + u.String())})
		}
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := h.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	// Alice's github token into bob's github row: another user.
	exec(`update user_integrations set access_token_encrypted =
		(select access_token_encrypted from user_integrations where user_id = $1 and provider = 'github')
		where user_id = $2 and provider = 'github'`, alice, bob)
	if _, err := h.svc.Token(ctx, bob, "github"); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("another user's ciphertext: %v", err)
	}
	// Alice's github token into her slack row: another provider.
	exec(`update user_integrations set access_token_encrypted =
		(select access_token_encrypted from user_integrations where user_id = $1 and provider = 'github')
		where user_id = $1 and provider = 'slack'`, alice)
	if _, err := h.svc.Token(ctx, alice, "slack"); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("another provider's ciphertext: %v", err)
	}
	// Alice's github refresh token into its access column: another column.
	exec(`update user_integrations set access_token_encrypted = refresh_token_encrypted
		where user_id = $1 and provider = 'github'`, alice)
	if _, err := h.svc.Token(ctx, alice, "github"); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("the other column's ciphertext: %v", err)
	}
	// Tampered: one character of bob's slack token changed.
	exec(`update user_integrations set access_token_encrypted = overlay(access_token_encrypted placing
		(case when substr(access_token_encrypted, 30, 1) = 'A' then 'B' else 'A' end) from 30 for 1)
		where user_id = $1 and provider = 'slack'`, bob)
	if _, err := h.svc.Token(ctx, bob, "slack"); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("tampered ciphertext: %v", err)
	}
	// Another server with another key opens nothing.
	other := h.service(keys(t, newKey(t)), nil)
	h.connect(t, alice, domain.ConnectIntegrationInput{Provider: "notion", AccessToken: "secret_notion"})
	if _, err := other.Token(ctx, alice, "notion"); !errors.Is(err, secrets.ErrUnknownKey) {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := h.svc.Token(ctx, alice, "google"); !errors.Is(err, integrations.ErrNotConnected) {
		t.Errorf("not connected: %v", err)
	}
}

// expire makes the stored access token expired.
func (h *harness) expire(t *testing.T, user uuid.UUID, provider string) {
	t.Helper()
	if _, err := h.pool.Exec(context.Background(), `update user_integrations set token_expires_at = now() - interval '1 hour'
		where user_id = $1 and provider = $2`, user, provider); err != nil {
		t.Fatal(err)
	}
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	k := keys(t, newKey(t))
	h := newHarness(t, k, p)
	ctx := context.Background()
	user := uuid.New()
	const oldAccess, oldRefresh, newAccess, newRefresh = "ya29.old-access", "1//old-refresh", "ya29.new-access", "1//new-refresh"
	h.connect(t, user, domain.ConnectIntegrationInput{Provider: "google", AccessToken: oldAccess, RefreshToken: ptr(oldRefresh),
		ExpiresAt: ptr(time.Now().Add(-time.Minute)), Scopes: []string{"email"}})
	p.set(0, func(rt string) (int, map[string]any) {
		if rt != oldRefresh {
			return 400, map[string]any{"error": "invalid_grant"}
		}
		return 200, map[string]any{"access_token": newAccess, "refresh_token": newRefresh, "token_type": "Bearer", "expires_in": 3600}
	})

	t.Run("success", func(t *testing.T) {
		tok, err := h.svc.Token(ctx, user, "google")
		if err != nil || tok.AccessToken.Reveal() != newAccess || tok.Expiry == nil || time.Until(*tok.Expiry) < 50*time.Minute {
			t.Fatalf("refreshed token: %+v, %v", tok, err)
		}
		if p.calls.Load() != 1 {
			t.Fatalf("%d refreshes, want 1", p.calls.Load())
		}
		_, _, keyID, status, dump := h.row(t, user, "google")
		noPlaintext(t, "the stored row", dump, oldAccess, oldRefresh, newAccess, newRefresh)
		if status != "active" || *keyID != k.Current() {
			t.Fatalf("after refresh: status %s", status)
		}
		// Stored: the next call opens it without asking the provider.
		if tok, err := h.svc.Token(ctx, user, "google"); err != nil || tok.AccessToken.Reveal() != newAccess || p.calls.Load() != 1 {
			t.Fatalf("second call: %v, %d refreshes", err, p.calls.Load())
		}
		list, err := h.svc.List(as(user))
		if err != nil || len(list) != 1 || list[0].Status() != domain.IntegrationActive {
			t.Fatalf("list after refresh: %+v %v", list, err)
		}
	})

	t.Run("the rotated refresh token is used, and kept when none comes back", func(t *testing.T) {
		var mu sync.Mutex
		var seen []string
		p.set(0, func(rt string) (int, map[string]any) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, rt)
			return 200, map[string]any{"access_token": "ya29.third", "expires_in": 3600}
		})
		for range 2 {
			h.expire(t, user, "google")
			if tok, err := h.svc.Token(ctx, user, "google"); err != nil || tok.AccessToken.Reveal() != "ya29.third" {
				t.Fatalf("renewal: %v", err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if strings.Join(seen, " ") != newRefresh+" "+newRefresh {
			t.Fatalf("refresh tokens sent: %q, want the rotated one twice", seen)
		}
	})

	t.Run("a provider that cannot answer changes nothing", func(t *testing.T) {
		h.expire(t, user, "google")
		p.set(0, func(string) (int, map[string]any) { return 503, map[string]any{"error": "temporarily_unavailable"} })
		before := p.calls.Load()
		if _, err := h.svc.Token(ctx, user, "google"); err == nil || errors.Is(err, integrations.ErrRefreshFailed) {
			t.Fatalf("503: %v", err)
		}
		if _, _, _, status, _ := h.row(t, user, "google"); status != "active" || p.calls.Load() != before+1 {
			t.Fatalf("after a 503: status %s", status)
		}
	})

	t.Run("refusal", func(t *testing.T) {
		p.set(0, func(string) (int, map[string]any) {
			return 400, map[string]any{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
		})
		before := p.calls.Load()
		if _, err := h.svc.Token(ctx, user, "google"); !errors.Is(err, integrations.ErrRefreshFailed) {
			t.Fatalf("refused: %v", err)
		}
		var status, code string
		var feed int
		if err := h.pool.QueryRow(ctx, `select status, refresh_error,
			(select count(*) from feed_events where user_id = $1 and type = $3 and agent_id is null)
			from user_integrations where user_id = $1 and provider = $2`, user, "google", integrations.FeedRefreshFailed).
			Scan(&status, &code, &feed); err != nil {
			t.Fatal(err)
		}
		if status != "refresh_failed" || code != "invalid_grant" || feed != 1 {
			t.Fatalf("after a refusal: status %s, error %s, %d feed events", status, code, feed)
		}
		list, _ := h.svc.List(as(user))
		if len(list) != 1 || list[0].Status() != domain.IntegrationRefreshFailed {
			t.Fatalf("list after refusal: %+v", list)
		}
		// No more attempts until the user reconnects.
		if _, err := h.svc.Token(ctx, user, "google"); !errors.Is(err, integrations.ErrRefreshFailed) || p.calls.Load() != before+1 {
			t.Fatalf("after the refusal: %v, %d calls", err, p.calls.Load()-before)
		}
		h.connect(t, user, domain.ConnectIntegrationInput{Provider: "google", AccessToken: "ya29.reconnected", ExpiresAt: ptr(time.Now().Add(time.Hour))})
		if tok, err := h.svc.Token(ctx, user, "google"); err != nil || tok.AccessToken.Reveal() != "ya29.reconnected" {
			t.Fatalf("after reconnecting: %v", err)
		}
	})

	t.Run("expired without a refresh token", func(t *testing.T) {
		h.expire(t, user, "google")
		if _, err := h.svc.Token(ctx, user, "google"); !errors.Is(err, integrations.ErrExpired) {
			t.Fatalf("got %v", err)
		}
	})

	logs := h.logs.String()
	noPlaintext(t, "the logs", logs, oldAccess, oldRefresh, newAccess, newRefresh, "ya29.reconnected", "client-secret-1")
	if !strings.Contains(logs, "integration refresh refused") {
		t.Errorf("the refusal was not logged: %s", logs)
	}
}

// Two callers (two servers) finding one expired token at once: the provider
// is asked once, and both get the renewed token.
func TestConcurrentRefreshHappensOnce(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	k := keys(t, newKey(t))
	h := newHarness(t, k, p)
	ctx := context.Background()
	user := uuid.New()
	h.connect(t, user, domain.ConnectIntegrationInput{Provider: "slack", AccessToken: "xoxe.old", RefreshToken: ptr("xoxe-1-old"),
		ExpiresAt: ptr(time.Now().Add(-time.Hour))})
	var n atomic.Int64
	// A provider that rotates refresh tokens: a second refresh with the old
	// one would be refused and break the integration.
	p.set(300*time.Millisecond, func(rt string) (int, map[string]any) {
		if rt != "xoxe-1-old" {
			return 400, map[string]any{"error": "invalid_refresh_token"}
		}
		i := n.Add(1)
		return 200, map[string]any{"ok": true, "access_token": fmt.Sprintf("xoxe.new-%d", i),
			"refresh_token": fmt.Sprintf("xoxe-1-new-%d", i), "expires_in": 43200}
	})
	servers := []*integrations.Service{h.svc, h.service(k, p), h.service(k, p)}
	got := make([]string, len(servers))
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() {
			tok, err := s.Token(ctx, user, "slack")
			errs[i] = err
			if err == nil {
				got[i] = tok.AccessToken.Reveal()
			}
		})
	}
	wg.Wait()
	for i := range servers {
		if errs[i] != nil || got[i] != "xoxe.new-1" {
			t.Errorf("caller %d: %q, %v; want xoxe.new-1", i, got[i], errs[i])
		}
	}
	if c := p.calls.Load(); c != 1 {
		t.Fatalf("the provider was asked %d times, want once", c)
	}
}

// Rotation: rows sealed under an old key are resealed under the new one in
// batches; a run stopped half-way is finished by the next; every plaintext
// survives and opens with the new key alone.
func TestResealInterruptedAndResumed(t *testing.T) {
	t.Parallel()
	oldKey, newKeyB64 := newKey(t), newKey(t)
	h := newHarness(t, keys(t, oldKey), nil)
	ctx := context.Background()
	type conn struct {
		user            uuid.UUID
		provider        string
		access, refresh string
		hasRefreshToken bool
	}
	var conns []conn
	for u := range 7 {
		user := uuid.New()
		for j, p := range integrations.Providers {
			c := conn{user: user, provider: p, access: fmt.Sprintf("access-%d-%s", u, p), refresh: fmt.Sprintf("refresh-%d-%s", u, p),
				hasRefreshToken: j%2 == 0}
			in := domain.ConnectIntegrationInput{Provider: p, AccessToken: c.access}
			if c.hasRefreshToken {
				in.RefreshToken = ptr(c.refresh)
			}
			h.connect(t, user, in)
			conns = append(conns, c)
		}
	}
	rotated := keys(t, newKeyB64, oldKey)
	during := h.service(rotated, nil)
	// A row the new key sealed already (a connect after the deploy) is left alone.
	late := uuid.New()
	if _, err := during.Connect(as(late), domain.ConnectIntegrationInput{Provider: "github", AccessToken: "access-late"}); err != nil {
		t.Fatal(err)
	}
	countOld := func() int {
		var n int
		if err := h.pool.QueryRow(ctx, `select count(*) from user_integrations where key_id is distinct from $1
			or access_token_encrypted not like 'v1.' || $1 || '.%'
			or (refresh_token_encrypted is not null and refresh_token_encrypted not like 'v1.' || $1 || '.%')`, rotated.Current()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if countOld() != len(conns) {
		t.Fatalf("%d rows under the old key before, want %d", countOld(), len(conns))
	}

	// Interrupted after two batches of 5.
	stop, cancel := context.WithCancel(ctx)
	batches := 0
	p, err := during.Reseal(stop, 5, func(integrations.ResealProgress) {
		if batches++; batches == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || p.Resealed != 10 {
		t.Fatalf("interrupted run: %+v, %v", p, err)
	}
	if n := countOld(); n != len(conns)-10 {
		t.Fatalf("after the interrupted run %d rows under the old key, want %d", n, len(conns)-10)
	}
	// Meanwhile the servers still open every row, old key or new.
	for _, c := range conns {
		if tok, err := during.Token(ctx, c.user, c.provider); err != nil || tok.AccessToken.Reveal() != c.access {
			t.Fatalf("mid-rotation %s: %v", c.provider, err)
		}
	}

	// Resumed: the rest, and nothing twice.
	p, err = during.Reseal(ctx, 5, nil)
	if err != nil || p.Resealed != len(conns)-10 || len(p.Unreadable) != 0 {
		t.Fatalf("resumed run: %+v, %v", p, err)
	}
	if n := countOld(); n != 0 {
		t.Fatalf("%d rows still under the old key", n)
	}
	if p, err := during.Reseal(ctx, 5, nil); err != nil || p.Resealed != 0 {
		t.Fatalf("a third run: %+v, %v", p, err)
	}

	// The old key can go: every plaintext opens with the new key alone.
	after := h.service(keys(t, newKeyB64), nil)
	for _, c := range conns {
		tok, err := after.Token(ctx, c.user, c.provider)
		if err != nil || tok.AccessToken.Reveal() != c.access {
			t.Fatalf("after rotation %s: %v", c.provider, err)
		}
		_, refresh, _, _, _ := h.row(t, c.user, c.provider)
		if (refresh != nil) != c.hasRefreshToken {
			t.Fatalf("refresh token present %v, want %v", refresh != nil, c.hasRefreshToken)
		}
	}
	if tok, err := after.Token(ctx, late, "github"); err != nil || tok.AccessToken.Reveal() != "access-late" {
		t.Fatalf("late row: %v", err)
	}

	// A row under a key no longer configured is reported, not fatal.
	stranger := uuid.New()
	if _, err := h.svc.Connect(as(stranger), domain.ConnectIntegrationInput{Provider: "notion", AccessToken: "access-lost"}); err != nil {
		t.Fatal(err)
	}
	p, err = after.Reseal(ctx, 5, nil)
	if err != nil || p.Resealed != 0 || len(p.Unreadable) != 1 {
		t.Fatalf("unreadable row: %+v, %v", p, err)
	}
	noPlaintext(t, "the logs", h.logs.String(), "access-0-github", "refresh-0-github", "access-late")
}
