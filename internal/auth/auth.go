// Package auth verifies the Supabase access tokens described in runtime.md and
// carries the resulting user, or the reason a presented token was refused,
// through a request's context.
package auth

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/agentgraph/agentgraph/internal/apperr"
)

const (
	defaultLeeway = 30 * time.Second
	// Real Supabase tokens are a few KiB at most; the cap keeps a hostile
	// connection_init payload from making us base64- and JSON-decode megabytes.
	maxTokenLen = 16 << 10
	// Bounds every JWKS request, including the first one in NewVerifier, so an
	// unreachable JWKS server delays start-up by at most this much.
	jwksTimeout = 10 * time.Second
	// Supabase serves its JWKS with a 10-minute cache lifetime; polling at the
	// same pace also retries soon after a failed first fetch.
	jwksRefresh = 10 * time.Minute
	// A token naming an unknown kid refetches the JWKS at most this often, so a
	// flood of random kids costs the JWKS server one request per period.
	unknownKIDEvery = time.Minute
	// Supabase's role for signed-in users; anon and service_role keys are
	// also JWTs signed with the same keys but must not act as a user.
	userRole = "authenticated"
)

// asymmetricAlgs are the algorithms checked against JWKS keys. HS* is absent
// on purpose: symmetric tokens are only ever checked against the shared secret.
var asymmetricAlgs = []string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"}

// User is the caller proven by a verified token.
type User struct {
	ID        uuid.UUID
	Role      string
	ExpiresAt time.Time
	// Anonymous: a Supabase anonymous sign-in (claim is_anonymous), which
	// anyone can mint in bulk; it gets its own, lower rate limits.
	Anonymous bool
}

// Options configure a Verifier; either HS256Secret or JWKSURL (or both) must
// be set for it to accept any token.
type Options struct {
	HS256Secret []byte
	JWKSURL     string
	HTTPClient  *http.Client  // for JWKS requests; nil means http.DefaultClient
	Leeway      time.Duration // clock skew allowed on exp/nbf/iat; <= 0 means 30s
	// Issuer, when set, must be the token's iss (Supabase: <project
	// URL>/auth/v1): a key shared with another issuer then cannot mint
	// tokens for this API.
	Issuer string

	// For tests: now replaces time.Now in every check of time, cacheMaxCost
	// replaces the package's (< 0: no cache).
	now          func() time.Time
	cacheMaxCost int64
}

// Verifier checks access tokens. It is safe for concurrent use.
type Verifier struct {
	secret  []byte
	jwks    jwkset.Storage
	methods []string
	parser  *jwt.Parser
	// validator is built from the parser's options: it checks a cached
	// token's claims again exactly as the parser checked them.
	validator *jwt.Validator
	leeway    time.Duration
	now       func() time.Time
	cache     *ristretto.Cache[string, *cachedToken] // nil: every token is verified in full
}

// NewVerifier builds a Verifier. ctx bounds the JWKS refresh goroutine; Close
// releases the token cache's. A JWKS that cannot be fetched now is logged and
// retried later rather than failing, so an auth-server hiccup cannot keep the
// API from starting.
func NewVerifier(ctx context.Context, o Options) (*Verifier, error) {
	// Non-nil and empty: jwt treats a nil list as "every algorithm is fine".
	v := &Verifier{methods: []string{}, now: time.Now}
	if o.now != nil {
		v.now = o.now
	}
	if len(o.HS256Secret) > 0 {
		if len(o.HS256Secret) < 32 {
			slog.WarnContext(ctx, "auth: HS256 secret is shorter than 32 bytes; tokens signed with it can be forged by brute force")
		}
		v.secret = bytes.Clone(o.HS256Secret)
		v.methods = append(v.methods, "HS256")
	}
	if o.JWKSURL != "" {
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{o.JWKSURL}, keyfunc.Override{
			Client:            o.HTTPClient,
			HTTPTimeout:       jwksTimeout,
			RefreshInterval:   jwksRefresh,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(unknownKIDEvery), 1),
			// Also bounds the refetch itself, so it must leave room for a slow JWKS server.
			RateLimitWaitMax: jwksTimeout,
			RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
				return func(ctx context.Context, err error) {
					slog.WarnContext(ctx, "auth: JWKS fetch failed; will retry", "url", u, "error", err)
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("auth: JWKS URL %q: %w", o.JWKSURL, err)
		}
		v.jwks = kf.Storage()
		v.methods = append(v.methods, asymmetricAlgs...)
	}
	v.leeway = o.Leeway
	if v.leeway <= 0 {
		v.leeway = defaultLeeway
	}
	popts := []jwt.ParserOption{jwt.WithValidMethods(v.methods), jwt.WithLeeway(v.leeway),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(v.now)}
	if o.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(o.Issuer))
	}
	v.parser = jwt.NewParser(popts...)
	v.validator = jwt.NewValidator(popts...)
	if maxCost := cmp.Or(o.cacheMaxCost, cacheMaxCost); maxCost > 0 && v.Enabled() {
		var err error
		if v.cache, err = newTokenCache(maxCost); err != nil {
			return nil, fmt.Errorf("auth: token cache: %w", err)
		}
	}
	return v, nil
}

// Close releases the token cache's goroutine and memory (about 2 MiB), for
// verifiers that do not live as long as the process (tests). Call it only
// once no Verify can run: ristretto panics when closed during a store.
func (v *Verifier) Close() {
	if v != nil {
		v.cache.Close()
	}
}

// Enabled reports whether any token can be verified at all.
func (v *Verifier) Enabled() bool { return v != nil && (v.secret != nil || v.jwks != nil) }

type claims struct {
	jwt.RegisteredClaims
	Role        string `json:"role"`
	IsAnonymous bool   `json:"is_anonymous"`
}

// Verify checks token (optionally prefixed by "Bearer ") and returns its user.
// Every failure is an apperr UNAUTHENTICATED error whose message names the
// broken rule without echoing the token.
//
// A token accepted once is remembered (cache.go) and accepted again without
// its signature being checked, while its claims stay valid and for at most
// cacheMaxAge. Refusals are never remembered: a token that is not accepted
// from the cache is verified in full, so every error is the full
// verification's.
func (v *Verifier) Verify(ctx context.Context, token string) (User, error) {
	if !v.Enabled() {
		return User{}, apperr.Unauth("no way to verify tokens is configured")
	}
	token, _ = cutBearer(token)
	switch {
	case token == "":
		return User{}, apperr.Unauth("token is empty")
	case len(token) > maxTokenLen:
		return User{}, apperr.Unauth("token is too large")
	}
	if v.cache == nil {
		var c claims
		return v.verify(ctx, token, &c)
	}
	sum := sha256.Sum256([]byte(token))
	if u, ok := v.cached(&sum); ok {
		return u, nil
	}
	var c claims // declared here, not above: it escapes, and a hit needs none
	u, err := v.verify(ctx, token, &c)
	if err != nil {
		return User{}, err
	}
	v.remember(&sum, u, c.RegisteredClaims)
	return u, nil
}

// verify checks the signature and every claim of token, decoding its claims
// into c, and returns its user.
func (v *Verifier) verify(ctx context.Context, token string, c *claims) (User, error) {
	t, err := v.parser.ParseWithClaims(token, c, v.keyfunc(ctx))
	if err != nil {
		return User{}, v.explain(t, err)
	}
	if c.Subject == "" {
		return User{}, apperr.Unauth("token has no subject (sub)")
	}
	// Only the canonical form: uuid.Parse also takes braces, urn: and bare hex,
	// and one user must not have several spellings.
	id, err := uuid.Parse(c.Subject)
	if err != nil || len(c.Subject) != 36 || id == uuid.Nil {
		return User{}, apperr.Unauth("token subject is not a user id")
	}
	if c.Role != userRole {
		return User{}, apperr.Unauth("token role must be %q", userRole)
	}
	if len(c.Audience) > 0 && !slices.Contains(c.Audience, userRole) {
		return User{}, apperr.Unauth("token audience must be %q", userRole)
	}
	return User{ID: id, Role: c.Role, ExpiresAt: c.ExpiresAt.Time, Anonymous: c.IsAnonymous}, nil
}

// explain turns a jwt error into the client-facing reason.
func (v *Verifier) explain(t *jwt.Token, err error) error {
	if e, ok := apperr.As(err); ok { // from keyfunc
		return e
	}
	alg := ""
	if t != nil {
		alg, _ = t.Header["alg"].(string)
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return apperr.Unauth("token is malformed")
	case t != nil && !slices.Contains(v.methods, alg):
		return apperr.Unauth("token algorithm not allowed")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return apperr.Unauth("token signature invalid")
	case errors.Is(err, jwt.ErrTokenExpired):
		return apperr.Unauth("token expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return apperr.Unauth("token not valid yet (nbf)")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return apperr.Unauth("token issued in the future (iat)")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer),
		errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && strings.Contains(err.Error(), "iss claim"):
		return apperr.Unauth("token issuer (iss) is not this project's")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return apperr.Unauth("token has no expiry (exp)")
	}
	return apperr.Unauth("token claims invalid")
}

// keyfunc picks the verification key by the token's algorithm family first, so
// a key can never be used with an algorithm of another kind (RSA public key
// bytes as an HMAC secret being the classic attack).
func (v *Verifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	errAlg := apperr.Unauth("token algorithm not allowed")
	return func(t *jwt.Token) (any, error) {
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); ok {
			if v.secret == nil {
				return nil, errAlg
			}
			return v.secret, nil
		}
		if v.jwks == nil {
			return nil, errAlg
		}
		raw, hasKID := t.Header["kid"]
		if !hasKID {
			return v.keySet(ctx, t.Method)
		}
		kid, ok := raw.(string)
		if !ok || kid == "" {
			return nil, apperr.Unauth("token key id (kid) is invalid")
		}
		// Refetches the JWKS on a miss, within the unknown-kid rate limit.
		j, err := v.jwks.KeyRead(ctx, kid)
		if err != nil {
			return nil, apperr.Unauth("token signing key not found")
		}
		key, ok := usableKey(j, t.Method)
		if !ok {
			return nil, apperr.Unauth("token signing key is not usable with the token algorithm")
		}
		return key, nil
	}
}

// keySet serves tokens without a kid: every JWKS key that fits the algorithm.
func (v *Verifier) keySet(ctx context.Context, m jwt.SigningMethod) (any, error) {
	all, err := v.jwks.KeyReadAll(ctx)
	var set jwt.VerificationKeySet
	for _, j := range all {
		if key, ok := usableKey(j, m); ok {
			set.Keys = append(set.Keys, key)
		}
	}
	if err != nil || len(set.Keys) == 0 {
		return nil, apperr.Unauth("token signing key not found")
	}
	return set, nil
}

// usableKey returns j's public key if j may verify signatures made with m.
func usableKey(j jwkset.JWK, m jwt.SigningMethod) (any, bool) {
	meta := j.Marshal()
	if (meta.ALG != "" && meta.ALG.String() != m.Alg()) || (meta.USE != "" && meta.USE != jwkset.UseSig) {
		return nil, false
	}
	key := j.Key()
	// A JWKS that leaks private keys still parses; verify with the public half.
	if pk, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = pk.Public()
	}
	switch m := m.(type) {
	case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
		k, ok := key.(*rsa.PublicKey)
		return key, ok && k.Size() >= 256 // 2048 bits: smaller RSA keys are factorable
	case *jwt.SigningMethodECDSA:
		k, ok := key.(*ecdsa.PublicKey)
		return key, ok && k.Curve.Params().BitSize == m.CurveBits
	case *jwt.SigningMethodEd25519:
		_, ok := key.(ed25519.PublicKey)
		return key, ok
	}
	return nil, false
}

// cutBearer strips a case-insensitive "Bearer " scheme, reporting whether it was there.
func cutBearer(s string) (string, bool) {
	s = strings.TrimSpace(s)
	// A bare "Bearer" (header sent with an empty token) counts as the scheme too.
	if len(s) >= 6 && strings.EqualFold(s[:6], "bearer") && (len(s) == 6 || s[6] == ' ' || s[6] == '\t') {
		return strings.TrimSpace(s[6:]), true
	}
	return s, false
}

type (
	userKey    struct{}
	authErrKey struct{}
)

// WithUser returns ctx carrying u as the authenticated caller.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the authenticated caller, if any.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// WithAuthError records why a presented token was refused, so that an
// operation needing a user can say "token expired" rather than "no token".
func WithAuthError(ctx context.Context, err error) context.Context {
	return context.WithValue(ctx, authErrKey{}, err)
}

// AuthErrorFrom returns the error stored by WithAuthError, or nil.
func AuthErrorFrom(ctx context.Context) error {
	err, _ := ctx.Value(authErrKey{}).(error)
	return err
}

// Require returns the caller, or the reason there is none.
func Require(ctx context.Context) (User, error) {
	if u, ok := UserFrom(ctx); ok {
		return u, nil
	}
	if err := AuthErrorFrom(ctx); err != nil {
		return User{}, err
	}
	return User{}, apperr.Unauth("authentication required: send Authorization: Bearer <token>")
}

// Middleware verifies the Authorization header. It never rejects a request
// itself: public operations (introspection, say) must work without a token, so
// it only records the user or the refusal and lets the GraphQL layer decide.
func Middleware(v *Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := r.Header.Get("Authorization")
			if h == "" {
				next.ServeHTTP(w, r)
				return
			}
			ctx := r.Context()
			if tok, ok := cutBearer(h); !ok {
				ctx = WithAuthError(ctx, apperr.Unauth("Authorization header must be \"Bearer <token>\""))
			} else if u, err := v.Verify(ctx, tok); err != nil {
				ctx = WithAuthError(ctx, err)
			} else {
				ctx = WithUser(ctx, u)
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// TokenFromInitPayload finds the token in a WebSocket connection_init payload,
// where clients put it in differing places (see runtime.md). It returns the
// token without any "Bearer " prefix, or "" if there is none.
func TokenFromInitPayload(p map[string]any) string {
	if t := firstString(p, "Authorization", "authorization", "authToken"); t != "" {
		return t
	}
	switch h := p["headers"].(type) {
	case map[string]any:
		return firstString(h, "Authorization", "authorization")
	case map[string]string:
		for _, k := range []string{"Authorization", "authorization"} {
			if t, _ := cutBearer(h[k]); t != "" {
				return t
			}
		}
	}
	return ""
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok {
			if t, _ := cutBearer(s); t != "" {
				return t
			}
		}
	}
	return ""
}
