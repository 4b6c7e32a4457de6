package auth

import (
	"crypto/sha256"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// clock is a settable time for Options.now.
type clock struct{ t atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}

func (c *clock) now() time.Time  { return time.Unix(0, c.t.Load()) }
func (c *clock) set(t time.Time) { c.t.Store(t.UnixNano()) }

// isCached reports whether Verify would accept token from the cache now.
// ristretto applies stores asynchronously, so it waits for them first.
func isCached(v *Verifier, token string) bool {
	v.cache.Wait()
	sum := sha256.Sum256([]byte(token))
	_, ok := v.cached(&sum)
	return ok
}

// result is what Verify answered, comparable across verifiers.
type result struct {
	user User
	err  string
}

func verifyResult(t *testing.T, v *Verifier, token string) result {
	t.Helper()
	u, err := v.Verify(t.Context(), token)
	if err != nil {
		return result{u, err.Error()}
	}
	return result{u, ""}
}

// at returns claims of testUser issued at iat and expiring exp seconds later.
func at(iat time.Time, exp time.Duration, kv ...any) jwt.MapClaims {
	c := with(kv...)
	c["iat"] = iat.Unix()
	c["exp"] = iat.Add(exp).Unix()
	return c
}

func TestCacheHitIsTheSameUser(t *testing.T) {
	t.Parallel()
	k := keys()
	srv := newJWKSServer(t, pubKey{"rsa1", "RS256", &k.rsa.PublicKey}, pubKey{"ec1", "ES256", &k.ec.PublicKey})
	opts := Options{HS256Secret: secret, JWKSURL: srv.URL}
	tests := []struct{ name, token string }{
		{"HS256", hs(t, validClaims())},
		{"HS256 anonymous", hs(t, with("is_anonymous", true))},
		{"HS256 with nbf and an aud array", hs(t, with("nbf", time.Now().Unix(), "aud", []string{"x", "authenticated"}))},
		{"RS256", sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", validClaims())},
		{"ES256 without kid", sign(t, jwt.SigningMethodES256, k.ec, "", validClaims())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newVerifier(t, opts)
			want := verifyResult(t, newVerifier(t, Options{HS256Secret: secret, JWKSURL: srv.URL, cacheMaxCost: -1}), tc.token)
			if want.err != "" {
				t.Fatalf("uncached Verify: %s", want.err)
			}
			if isCached(v, tc.token) {
				t.Fatal("cached before its first verification")
			}
			if got := verifyResult(t, v, tc.token); got != want {
				t.Fatalf("first Verify = %+v, want %+v", got, want)
			}
			if !isCached(v, tc.token) {
				t.Fatal("not cached after a successful verification")
			}
			// With other keys, only the cache can still accept the token: the
			// next Verify is a hit, and the same user.
			v.secret, v.jwks = []byte("another-secret-another-secret-another"), nil
			if got := verifyResult(t, v, "Bearer "+tc.token); got != want {
				t.Fatalf("cached Verify = %+v, want %+v", got, want)
			}
		})
	}
}

// An expired token is refused even though it was cached, exactly when a
// full verification starts refusing it, with the same error.
func TestCachedTokenExpires(t *testing.T) {
	t.Parallel()
	for _, leeway := range []time.Duration{0, time.Second} {
		t.Run("leeway "+leeway.String(), func(t *testing.T) {
			t.Parallel()
			start := time.Now().Truncate(time.Second)
			clk := newClock(start)
			v := newVerifier(t, Options{HS256Secret: secret, Leeway: leeway, now: clk.now})
			full := newVerifier(t, Options{HS256Secret: secret, Leeway: leeway, now: clk.now, cacheMaxCost: -1})
			tok := hs(t, at(start, 10*time.Second))
			if r := verifyResult(t, v, tok); r.err != "" {
				t.Fatal(r.err)
			}
			end := start.Add(10*time.Second + v.leeway) // the first instant a full verification refuses
			clk.set(end.Add(-time.Nanosecond))
			if !isCached(v, tok) {
				t.Fatal("not cached just before exp + leeway")
			}
			if r := verifyResult(t, v, tok); r.err != "" {
				t.Fatalf("just before exp + leeway: %s", r.err)
			}
			clk.set(end)
			if isCached(v, tok) {
				t.Fatal("still served from the cache at exp + leeway")
			}
			got, want := verifyResult(t, v, tok), verifyResult(t, full, tok)
			if got != want || !strings.Contains(got.err, "token expired") {
				t.Fatalf("at exp + leeway: %+v, full verification: %+v", got, want)
			}
		})
	}
}

// The same on the real clock, through ristretto's own expiry too.
func TestCachedTokenExpiresRealClock(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, Options{HS256Secret: secret, Leeway: time.Millisecond})
	exp := time.Now().Add(time.Second).Truncate(time.Second).Add(time.Second)
	tok := hs(t, with("exp", exp.Unix()))
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if !isCached(v, tok) {
		t.Fatal("not cached")
	}
	time.Sleep(time.Until(exp.Add(2 * time.Millisecond)))
	_, err := v.Verify(t.Context(), tok)
	wantUnauth(t, err, "token expired")
}

// A token differing from a cached one by a byte is verified on its own.
func TestTamperedTokenRefusedAfterCaching(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, Options{HS256Secret: secret})
	good := hs(t, validClaims())
	if _, err := v.Verify(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	if !isCached(v, good) {
		t.Fatal("not cached")
	}
	dot := strings.LastIndexByte(good, '.')
	// The signature's first character: its 6 bits all count (a last
	// character's low bits may be ignored by base64 decoding).
	b := []byte(good)
	if b[dot+1] == 'A' {
		b[dot+1] = 'B'
	} else {
		b[dot+1] = 'A'
	}
	tampered := string(b)
	for range 2 { // refused, then refused again: nothing was cached
		_, err := v.Verify(t.Context(), tampered)
		wantUnauth(t, err, "token signature invalid")
	}
	if isCached(v, tampered) {
		t.Fatal("tampered token cached")
	}
	if !isCached(v, good) {
		t.Fatal("the original left the cache")
	}
}

// Only successes are cached: a refused token stays refused, however it failed.
func TestRefusalsAreNotCached(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Second)
	clk := newClock(now)
	v := newVerifier(t, Options{HS256Secret: secret, now: clk.now})
	notYet := hs(t, at(now, time.Hour, "nbf", now.Add(time.Minute).Unix()))
	for _, tc := range []struct{ name, token, want string }{
		{"wrong secret", sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-another"), "", validClaims()), "signature invalid"},
		{"signed, role anon", hs(t, with("role", "anon")), "role"},
		{"signed, audience other", hs(t, with("aud", "other")), "audience"},
		{"signed, expired", hs(t, at(now.Add(-2*time.Hour), time.Hour)), "expired"},
		{"signed, not valid yet", notYet, "not valid yet"},
	} {
		for range 2 {
			_, err := v.Verify(t.Context(), tc.token)
			wantUnauth(t, err, tc.want)
		}
		if isCached(v, tc.token) {
			t.Fatalf("%s: refused token cached", tc.name)
		}
	}
	clk.set(now.Add(time.Minute))
	if _, err := v.Verify(t.Context(), notYet); err != nil {
		t.Fatalf("at nbf: %v", err)
	}
	if !isCached(v, notYet) {
		t.Fatal("not cached once valid")
	}
}

// With the clock jumping back and forth around exp, nbf and iat (leeway
// included), a verifier with a cache answers exactly what one without answers.
func TestCacheMatchesFullVerification(t *testing.T) {
	t.Parallel()
	start := time.Now().Truncate(time.Second)
	const iss = "https://abc.supabase.co/auth/v1"
	tokens := map[string]string{
		"exp in 10s": hs(t, at(start, 10*time.Second, "iss", iss)),
		"nbf and iat ahead, within the leeway": hs(t, at(start.Add(25*time.Second), time.Minute,
			"nbf", start.Add(20*time.Second).Unix(), "iss", iss)),
		"nbf behind, anonymous": hs(t, at(start, 50*time.Second, "nbf", start.Add(-time.Hour).Unix(), "is_anonymous", true, "iss", iss)),
	}
	for name, tok := range tokens {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(start)
			v := newVerifier(t, Options{HS256Secret: secret, Issuer: iss, now: clk.now})
			full := newVerifier(t, Options{HS256Secret: secret, Issuer: iss, now: clk.now, cacheMaxCost: -1})
			if r := verifyResult(t, v, tok); r.err != "" {
				t.Fatalf("at start: %s", r.err)
			}
			// Every half second from 40s before the start to 120s after (past
			// cacheMaxAge), in a random order.
			var offsets []time.Duration
			for d := -40 * time.Second; d <= 120*time.Second; d += 500 * time.Millisecond {
				offsets = append(offsets, d, d-time.Nanosecond)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			rng.Shuffle(len(offsets), func(i, j int) { offsets[i], offsets[j] = offsets[j], offsets[i] })
			hits, refusals := 0, 0
			for _, d := range offsets {
				clk.set(start.Add(d))
				if isCached(v, tok) {
					hits++
				}
				got, want := verifyResult(t, v, tok), verifyResult(t, full, tok)
				if got != want {
					t.Fatalf("at start%+v: cached verifier %+v, full verification %+v", d, got, want)
				}
				if got.err != "" {
					refusals++
				}
			}
			// The test only means something if both happened.
			if hits == 0 || refusals == 0 {
				t.Fatalf("%d hits and %d refusals in %d checks", hits, refusals, len(offsets))
			}
		})
	}
}

// A token whose key left the JWKS is refused within cacheMaxAge of the
// refresh that dropped the key, however long before exp.
func TestCacheRevokedJWKSKey(t *testing.T) {
	t.Parallel()
	k := keys()
	old, rotated := pubKey{"old", "RS256", &k.rsa.PublicKey}, pubKey{"new", "RS256", &k.rsa2.PublicKey}
	srv := newJWKSServer(t, old)
	start := time.Now()
	clk := newClock(start)
	v := newVerifier(t, Options{JWKSURL: srv.URL, now: clk.now})
	full := newVerifier(t, Options{JWKSURL: srv.URL, now: clk.now, cacheMaxCost: -1})
	oldTok := sign(t, jwt.SigningMethodRS256, k.rsa, "old", validClaims())
	if _, err := v.Verify(t.Context(), oldTok); err != nil {
		t.Fatal(err)
	}
	// The key is revoked; a token of the new key makes both verifiers
	// refetch the JWKS, as the periodic refresh would.
	srv.setKeys(rotated)
	newTok := sign(t, jwt.SigningMethodRS256, k.rsa2, "new", validClaims())
	for _, v := range []*Verifier{v, full} {
		if _, err := v.Verify(t.Context(), newTok); err != nil {
			t.Fatalf("token of the new key: %v", err)
		}
	}
	_, err := full.Verify(t.Context(), oldTok)
	wantUnauth(t, err, "token signing key not found")

	clk.set(start.Add(cacheMaxAge - time.Second))
	if _, err := v.Verify(t.Context(), oldTok); err != nil {
		t.Fatalf("cached token before cacheMaxAge: %v", err)
	}
	clk.set(start.Add(cacheMaxAge))
	_, err = v.Verify(t.Context(), oldTok)
	wantUnauth(t, err, "token signing key not found")
}

// However many tokens are verified, the cache holds what its cost allows.
func TestCacheIsBounded(t *testing.T) {
	t.Parallel()
	const n = 500
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = hs(t, with("jti", uuid.NewString()))
	}
	countCached := func(v *Verifier) int {
		for _, tok := range tokens {
			if _, err := v.Verify(t.Context(), tok); err != nil {
				t.Fatal(err)
			}
		}
		cached := 0
		for _, tok := range tokens {
			if isCached(v, tok) {
				cached++
			}
		}
		return cached
	}
	// The default size holds them all, so the bound below is the configured
	// one, not an accident of ristretto.
	big := newVerifier(t, Options{HS256Secret: secret})
	if cached := countCached(big); cached != n {
		t.Fatalf("default cache holds %d of %d tokens", cached, n)
	}
	sum := sha256.Sum256([]byte(tokens[0]))
	e, _ := big.cache.Get(string(sum[:]))
	cost := e.cost() // ristretto adds its own bookkeeping to it

	const room = 20
	small := newVerifier(t, Options{HS256Secret: secret, cacheMaxCost: room * cost})
	if cached := countCached(small); cached == 0 || cached > room {
		t.Fatalf("%d tokens of cost %d cached in a cache of %d", cached, cost, room*cost)
	}
}
