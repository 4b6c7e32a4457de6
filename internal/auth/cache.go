package auth

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/golang-jwt/jwt/v5"
)

// Clients send the same token with every request until it expires, and
// checking it again (base64 and JSON decoding, the HMAC or public-key
// signature) was 1.6–2.6 % of the server's CPU per request. Verify therefore
// remembers the tokens it accepted, under the SHA-256 of the token: only
// tokens that passed every check are stored, and a stored one is used only
// while the checks that depend on the time would still pass.
//
// The SHA-256 of a 1 KB token is most of a hit's cost (0.9 of 1.3 µs).
// Keying by the token itself would save it, but would keep every live bearer
// token in the heap, and a hit would then rest on ristretto's 128-bit
// non-cryptographic hash or on storing and comparing the whole token.
const (
	// cacheMaxCost bounds the memory the cache holds, in bytes (costed by
	// cachedToken.cost, plus ristretto's bookkeeping): about 30,000 Supabase
	// tokens. Past it ristretto keeps the most used; a token it does not
	// keep is verified in full on its next request, as without a cache.
	cacheMaxCost = 16 << 20
	// cacheMaxAge bounds how long a verified token is trusted without being
	// checked against the keys again. The HS256 secret cannot change while the
	// process runs, but the JWKS can: its refresh (every jwksRefresh, or
	// sooner for an unknown kid) drops a revoked key, after which a fresh
	// verification refuses the key's tokens. A remembered token is not
	// checked against the keys, so without this bound a token signed by a
	// revoked key would keep working until its exp, an hour or more. With it,
	// a revoked key's tokens are refused at most cacheMaxAge after the
	// refresh that drops it, where before they were refused at the refresh:
	// at most jwksRefresh + cacheMaxAge (11 minutes) after the revocation
	// instead of jwksRefresh. Checking the key on every hit would cost a
	// JWKS lookup per request, the work the cache exists to save; verifying
	// a client's token once a minute costs nothing measurable.
	cacheMaxAge = time.Minute
)

// cachedToken is a token Verify accepted, and what it needs to accept it again.
type cachedToken struct {
	// sum is the token's whole SHA-256: ristretto keeps only 128 bits of a
	// key, and comparing all of it makes a hit mean this very token.
	sum  [sha256.Size]byte
	user User
	// claims are checked again on every hit by a validator built from the
	// parser's own options, so exp, nbf and iat (with the leeway) and iss
	// pass or fail exactly as they would in a full verification.
	claims     jwt.RegisteredClaims
	verifiedAt time.Time
}

// cost approximates the bytes an entry holds: the struct (224) with its slot
// in ristretto's map, the three dates and the strings decoded from the token.
// Measured: about 580 heap bytes for a Supabase token, ristretto's own 48
// included; this gives 520.
func (e *cachedToken) cost() int64 {
	n := 320 + 3*24 + len(e.user.Role) + len(e.claims.Issuer) + len(e.claims.Subject) + len(e.claims.ID)
	for _, a := range e.claims.Audience {
		n += 16 + len(a)
	}
	return int64(n)
}

// newTokenCache returns a cache of about maxCost bytes.
func newTokenCache(maxCost int64) (*ristretto.Cache[string, *cachedToken], error) {
	return ristretto.NewCache(&ristretto.Config[string, *cachedToken]{
		NumCounters: maxCost / 400 * 10, // ~10x the entries, as ristretto advises
		MaxCost:     maxCost,
		BufferItems: 64,
		// The key is already a SHA-256: its first 128 bits are the hashes
		// ristretto would otherwise compute.
		KeyToHash: func(k string) (uint64, uint64) {
			return binary.LittleEndian.Uint64([]byte(k[:8])), binary.LittleEndian.Uint64([]byte(k[8:16]))
		},
	})
}

// cached returns the user of the token whose SHA-256 is sum if the token was
// verified less than cacheMaxAge ago and its claims are still valid now.
// Anything else is a miss, and the token is verified in full, so every
// refusal comes from the full verification with the same message as without
// a cache.
func (v *Verifier) cached(sum *[sha256.Size]byte) (User, bool) {
	e, ok := v.cache.Get(string(sum[:]))
	// The age is measured on the monotonic clock (time.Now's), so a step of
	// the wall clock cannot stretch it.
	if !ok || e.sum != *sum || v.now().Sub(e.verifiedAt) >= cacheMaxAge {
		return User{}, false
	}
	if v.validator.Validate(&e.claims) != nil {
		return User{}, false
	}
	return e.user, true
}

// remember stores a token that verified as u with claims c.
func (v *Verifier) remember(sum *[sha256.Size]byte, u User, c jwt.RegisteredClaims) {
	if c.ExpiresAt == nil { // required by the parser; never cache a token that could live forever
		return
	}
	now := v.now()
	// Also past exp (+ leeway) ristretto drops the entry, so expired tokens
	// leave memory rather than waiting to be evicted; cached checks exp itself.
	ttl := min(cacheMaxAge, c.ExpiresAt.Add(v.leeway).Sub(now))
	if ttl <= 0 {
		return
	}
	e := &cachedToken{sum: *sum, user: u, claims: c, verifiedAt: now}
	// A set ristretto drops under contention only costs a later full verification.
	v.cache.SetWithTTL(string(sum[:]), e, e.cost(), ttl)
}
