package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/apperr"
)

var secret = []byte("test-secret-that-is-at-least-32-bytes-long!")

// Keys are generated once: 2048-bit RSA generation is slow under -race.
var keys = sync.OnceValue(func() (k struct {
	rsa, rsa2 *rsa.PrivateKey
	ec        *ecdsa.PrivateKey
	ed        ed25519.PrivateKey
}) {
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	return k
})

type pubKey struct {
	kid, alg string
	key      crypto.PublicKey
}

// jwksServer serves a JWKS whose keys the test can swap, counting requests.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int32
	fail atomic.Bool
	mu   sync.Mutex
	keys []pubKey
}

func newJWKSServer(t testing.TB, keys ...pubKey) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		var set jwkset.JWKSMarshal
		for _, k := range s.keys {
			j, err := jwkset.NewJWKFromKey(k.key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
				KID: k.kid, ALG: jwkset.ALG(k.alg), USE: jwkset.UseSig,
			}})
			if err != nil {
				t.Errorf("jwk %s: %v", k.kid, err)
				return
			}
			set.Keys = append(set.Keys, j.Marshal())
		}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setKeys(keys ...pubKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func newVerifier(t *testing.T, o Options) *Verifier {
	t.Helper()
	v, err := NewVerifier(t.Context(), o)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

var testUser = uuid.MustParse("6f1c2a4e-8b1d-4c3e-9f2a-0d5e7b9c1a23")

func validClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"sub":  testUser.String(),
		"role": "authenticated",
		"aud":  "authenticated",
		"iat":  now.Unix(),
		"exp":  now.Add(time.Hour).Unix(),
	}
}

// with returns validClaims changed by kv pairs; a nil value deletes the claim.
func with(kv ...any) jwt.MapClaims {
	c := validClaims()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

// sign makes a token; kid "" leaves the header without one.
func sign(t *testing.T, m jwt.SigningMethod, key, kid any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func hs(t *testing.T, c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, secret, "", c) }

func wantUnauth(t *testing.T, err error, substr string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Unauthenticated {
		t.Fatalf("error = %v (%T), want apperr %s", err, err, apperr.Unauthenticated)
	}
	if !strings.Contains(e.Message, substr) {
		t.Fatalf("error message = %q, want it to contain %q", e.Message, substr)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	k := keys()
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	srv := newJWKSServer(t,
		pubKey{"rsa1", "RS256", &k.rsa.PublicKey},
		pubKey{"rsa-small", "RS256", &rsa1024.PublicKey},
		pubKey{"ec384", "", &p384.PublicKey},
		pubKey{"rsa-any", "", &k.rsa.PublicKey},
		pubKey{"ec1", "ES256", &k.ec.PublicKey},
		pubKey{"ed1", "EdDSA", k.ed.Public()},
	)
	both := newVerifier(t, Options{HS256Secret: secret, JWKSURL: srv.URL})
	jwksOnly := newVerifier(t, Options{JWKSURL: srv.URL})
	secretOnly := newVerifier(t, Options{HS256Secret: secret})
	ecOnly := newVerifier(t, Options{JWKSURL: newJWKSServer(t, pubKey{"ec1", "ES256", &k.ec.PublicKey}).URL})
	strict := newVerifier(t, Options{HS256Secret: secret, Leeway: time.Second})

	pubDER, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	good := hs(t, validClaims())
	parts := strings.Split(good, ".")
	otherPayload := strings.Split(hs(t, with("sub", uuid.NewString())), ".")[1]
	now := time.Now()

	tests := []struct {
		name  string
		v     *Verifier
		token string
		want  string // error message substring; "" means accepted
	}{
		{"HS256 valid", both, good, ""},
		{"HS256 valid with secret only", secretOnly, good, ""},
		{"RS256 via JWKS", jwksOnly, sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", validClaims()), ""},
		{"RS512 with a JWKS key without alg", jwksOnly, sign(t, jwt.SigningMethodRS512, k.rsa, "rsa-any", validClaims()), ""},
		{"PS256 with a JWKS key without alg", jwksOnly, sign(t, jwt.SigningMethodPS256, k.rsa, "rsa-any", validClaims()), ""},
		{"ES256 via JWKS", both, sign(t, jwt.SigningMethodES256, k.ec, "ec1", validClaims()), ""},
		{"EdDSA via JWKS", jwksOnly, sign(t, jwt.SigningMethodEdDSA, k.ed, "ed1", validClaims()), ""},
		{"RS256 without kid tries fitting keys", jwksOnly, sign(t, jwt.SigningMethodRS256, k.rsa, "", validClaims()), ""},
		{"Bearer prefix", both, "Bearer " + good, ""},
		{"bearer prefix any case and spacing", both, "  bEARER   " + good + " ", ""},
		{"aud array containing authenticated", both, hs(t, with("aud", []string{"other", "authenticated"})), ""},
		{"aud absent", both, hs(t, with("aud", nil)), ""},
		{"expired within leeway", both, hs(t, with("exp", now.Add(-10*time.Second).Unix())), ""},

		{"alg none", both, noneTok, "token algorithm not allowed"},
		{"HS256 signed with the RSA public key, JWKS only", jwksOnly, sign(t, jwt.SigningMethodHS256, pubPEM, "rsa1", validClaims()), "token algorithm not allowed"},
		{"HS256 signed with the RSA public key, secret too", both, sign(t, jwt.SigningMethodHS256, pubPEM, "rsa1", validClaims()), "token signature invalid"},
		{"HS256 without a secret", jwksOnly, good, "token algorithm not allowed"},
		{"HS384", both, sign(t, jwt.SigningMethodHS384, secret, "", validClaims()), "token algorithm not allowed"},
		{"RS256 without JWKS", secretOnly, sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", validClaims()), "token algorithm not allowed"},
		{"RS256 naming an EC key", jwksOnly, sign(t, jwt.SigningMethodRS256, k.rsa, "ec1", validClaims()), "not usable with the token algorithm"},
		{"RS512 naming an RS256 key", jwksOnly, sign(t, jwt.SigningMethodRS512, k.rsa, "rsa1", validClaims()), "not usable with the token algorithm"},
		{"RS256 with a 1024-bit key", jwksOnly, sign(t, jwt.SigningMethodRS256, rsa1024, "rsa-small", validClaims()), "not usable with the token algorithm"},
		{"ES256 naming a P-384 key", jwksOnly, sign(t, jwt.SigningMethodES256, k.ec, "ec384", validClaims()), "not usable with the token algorithm"},
		{"ES384 without kid", jwksOnly, sign(t, jwt.SigningMethodES384, p384, "", validClaims()), ""},
		{"RS256 without kid and no RSA key", ecOnly, sign(t, jwt.SigningMethodRS256, k.rsa, "", validClaims()), "token signing key not found"},
		{"unknown kid", jwksOnly, sign(t, jwt.SigningMethodRS256, k.rsa, "nope", validClaims()), "token signing key not found"},
		{"non-string kid", jwksOnly, sign(t, jwt.SigningMethodRS256, k.rsa, 7, validClaims()), "token key id (kid) is invalid"},

		{"HS256 wrong secret", both, sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-another"), "", validClaims()), "token signature invalid"},
		{"RS256 signed by another key", jwksOnly, sign(t, jwt.SigningMethodRS256, k.rsa2, "rsa1", validClaims()), "token signature invalid"},
		{"payload swapped", both, parts[0] + "." + otherPayload + "." + parts[2], "token signature invalid"},

		{"expired", both, hs(t, with("exp", now.Add(-time.Hour).Unix())), "token expired"},
		{"expired beyond a 1s leeway", strict, hs(t, with("exp", now.Add(-10*time.Second).Unix())), "token expired"},
		{"nbf in the future", both, hs(t, with("nbf", now.Add(time.Hour).Unix())), "token not valid yet"},
		{"iat in the future", both, hs(t, with("iat", now.Add(time.Hour).Unix())), "token issued in the future"},
		{"missing exp", both, hs(t, with("exp", nil)), "token has no expiry"},
		{"exp not a number", both, hs(t, with("exp", "tomorrow")), "token is malformed"},
		{"missing sub", both, hs(t, with("sub", nil)), "token has no subject"},
		{"non-UUID sub", both, hs(t, with("sub", "user-42")), "token subject is not a user id"},
		{"braced UUID sub", both, hs(t, with("sub", "{"+testUser.String()+"}")), "token subject is not a user id"},
		{"nil UUID sub", both, hs(t, with("sub", uuid.Nil.String())), "token subject is not a user id"},
		{"role anon", both, hs(t, with("role", "anon")), `token role must be "authenticated"`},
		{"role service_role", both, hs(t, with("role", "service_role")), `token role must be "authenticated"`},
		{"role missing", both, hs(t, with("role", nil)), `token role must be "authenticated"`},
		{"aud other", both, hs(t, with("aud", "other")), `token audience must be "authenticated"`},
		{"aud array without authenticated", both, hs(t, with("aud", []string{"a", "b"})), `token audience must be "authenticated"`},

		{"empty", both, "", "token is empty"},
		{"Bearer only", both, "Bearer ", "token is empty"},
		{"garbage", both, "not-a-jwt", "token is malformed"},
		{"too large", both, strings.Repeat("a", maxTokenLen+1), "token is too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, err := tc.v.Verify(t.Context(), tc.token)
			if tc.want != "" {
				wantUnauth(t, err, tc.want)
				if u != (User{}) {
					t.Fatalf("refused token still returned user %+v", u)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if u.ID != testUser || u.Role != "authenticated" || u.ExpiresAt.Before(now.Add(-time.Minute)) {
				t.Fatalf("user = %+v", u)
			}
		})
	}
}

func TestVerifyUserExpiry(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(42 * time.Minute).Truncate(time.Second)
	u, err := newVerifier(t, Options{HS256Secret: secret}).Verify(t.Context(), hs(t, with("exp", exp.Unix())))
	if err != nil {
		t.Fatal(err)
	}
	if !u.ExpiresAt.Equal(exp) {
		t.Fatalf("ExpiresAt = %v, want %v", u.ExpiresAt, exp)
	}
}

func TestUnknownKIDRefetchesJWKS(t *testing.T) {
	t.Parallel()
	k := keys()
	old := pubKey{"old", "RS256", &k.rsa.PublicKey}
	srv := newJWKSServer(t, old)
	v := newVerifier(t, Options{JWKSURL: srv.URL})
	if got := srv.hits.Load(); got != 1 {
		t.Fatalf("JWKS hits after start = %d, want 1", got)
	}
	rotated := sign(t, jwt.SigningMethodRS256, k.rsa2, "new", validClaims())

	srv.setKeys(old, pubKey{"new", "RS256", &k.rsa2.PublicKey})
	if _, err := v.Verify(t.Context(), rotated); err != nil {
		t.Fatalf("token with rotated-in kid: %v", err)
	}
	if got := srv.hits.Load(); got != 2 {
		t.Fatalf("JWKS hits after unknown kid = %d, want 2", got)
	}

	// A flood of made-up kids must not reach the JWKS server again.
	for i := range 20 {
		_, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodRS256, k.rsa2, fmt.Sprint("random-", i), validClaims()))
		wantUnauth(t, err, "token signing key not found")
	}
	// Known keys stay cached.
	for _, tok := range []string{rotated, sign(t, jwt.SigningMethodRS256, k.rsa, "old", validClaims())} {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatalf("cached key: %v", err)
		}
	}
	if got := srv.hits.Load(); got != 2 {
		t.Fatalf("JWKS hits after random kids = %d, want still 2", got)
	}
}

func TestJWKSDownAtStart(t *testing.T) {
	t.Parallel()
	k := keys()
	srv := newJWKSServer(t, pubKey{"k1", "ES256", &k.ec.PublicKey})
	srv.fail.Store(true)
	v := newVerifier(t, Options{JWKSURL: srv.URL})
	if !v.Enabled() || srv.hits.Load() != 1 {
		t.Fatalf("Enabled = %v, hits = %d; want true, 1", v.Enabled(), srv.hits.Load())
	}
	srv.fail.Store(false)
	if _, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodES256, k.ec, "k1", validClaims())); err != nil {
		t.Fatalf("after JWKS recovered: %v", err)
	}
	if got := srv.hits.Load(); got != 2 {
		t.Fatalf("JWKS hits = %d, want 2", got)
	}
}

func TestJWKSUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	v := newVerifier(t, Options{JWKSURL: url})
	_, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodEdDSA, keys().ed, "k", validClaims()))
	wantUnauth(t, err, "token signing key not found")
}

func TestNewVerifierBadURL(t *testing.T) {
	t.Parallel()
	if _, err := NewVerifier(t.Context(), Options{JWKSURL: "not a url"}); err == nil {
		t.Fatal("NewVerifier accepted a malformed JWKS URL")
	}
}

func TestEnabled(t *testing.T) {
	t.Parallel()
	var nilV *Verifier
	off := newVerifier(t, Options{})
	for _, v := range []*Verifier{nilV, off} {
		if v.Enabled() {
			t.Fatal("Enabled() = true without secret or JWKS")
		}
		_, err := v.Verify(t.Context(), hs(t, validClaims()))
		wantUnauth(t, err, "no way to verify tokens is configured")
	}
	if !newVerifier(t, Options{HS256Secret: secret}).Enabled() {
		t.Fatal("Enabled() = false with a secret")
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, Options{HS256Secret: secret})
	tests := []struct {
		name, header string
		wantUser     bool
		wantErr      string // stored auth error; "" means none
		wantRequire  string // Require's error; "" means it succeeds
	}{
		{"no header", "", false, "", "authentication required"},
		{"valid", "Bearer " + hs(t, validClaims()), true, "", ""},
		{"lowercase scheme", "bearer " + hs(t, validClaims()), true, "", ""},
		{"expired", "Bearer " + hs(t, with("exp", time.Now().Add(-time.Hour).Unix())), false, "token expired", "token expired"},
		{"empty bearer", "Bearer ", false, "token is empty", "token is empty"},
		{"other scheme", "Basic dXNlcjpwYXNz", false, "Bearer <token>", "Bearer <token>"},
		{"raw token without scheme", hs(t, validClaims()), false, "Bearer <token>", "Bearer <token>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ctx context.Context
			h := Middleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx = r.Context()
				w.WriteHeader(http.StatusTeapot)
			}))
			req := httptest.NewRequest(http.MethodPost, "/query", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusTeapot || ctx == nil {
				t.Fatalf("request did not reach the handler (status %d)", rec.Code)
			}
			u, ok := UserFrom(ctx)
			if ok != tc.wantUser || (ok && u.ID != testUser) {
				t.Fatalf("UserFrom = %+v, %v; want user %v", u, ok, tc.wantUser)
			}
			if aerr := AuthErrorFrom(ctx); tc.wantErr == "" {
				if aerr != nil {
					t.Fatalf("AuthErrorFrom = %v, want nil", aerr)
				}
			} else {
				wantUnauth(t, aerr, tc.wantErr)
			}
			ru, err := Require(ctx)
			if tc.wantRequire == "" {
				if err != nil || ru.ID != testUser {
					t.Fatalf("Require = %+v, %v", ru, err)
				}
			} else {
				wantUnauth(t, err, tc.wantRequire)
			}
		})
	}
}

func TestTokenFromInitPayload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    map[string]any
		want string
	}{
		{"Authorization with Bearer", map[string]any{"Authorization": "Bearer tok1"}, "tok1"},
		{"authorization without Bearer", map[string]any{"authorization": "tok2"}, "tok2"},
		{"authToken", map[string]any{"authToken": "tok3"}, "tok3"},
		{"headers.Authorization", map[string]any{"headers": map[string]any{"Authorization": "Bearer tok4"}}, "tok4"},
		{"headers.authorization", map[string]any{"headers": map[string]any{"authorization": "tok5"}}, "tok5"},
		{"headers as string map", map[string]any{"headers": map[string]string{"Authorization": "BEARER tok6"}}, "tok6"},
		{"top level wins over headers", map[string]any{"authToken": "top", "headers": map[string]any{"Authorization": "nested"}}, "top"},
		{"empty value falls through", map[string]any{"Authorization": "Bearer ", "authToken": "tok7"}, "tok7"},
		{"non-string ignored", map[string]any{"Authorization": 42}, ""},
		{"headers not an object", map[string]any{"headers": "Authorization: Bearer x"}, ""},
		{"unrelated keys", map[string]any{"token": "x"}, ""},
		{"nil", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := TokenFromInitPayload(tc.p); got != tc.want {
				t.Fatalf("TokenFromInitPayload = %q, want %q", got, tc.want)
			}
		})
	}
}
