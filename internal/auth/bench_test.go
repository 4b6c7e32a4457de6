package auth

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// BenchmarkVerify: a token checked in full on every call (uncached), the
// same token served from the cache after its first call (cached), and
// tokens the cache has not seen (first: checked in full, hashed and stored).
func BenchmarkVerify(b *testing.B) {
	k := keys()
	srv := newJWKSServer(b, pubKey{"rsa1", "RS256", &k.rsa.PublicKey}, pubKey{"ec1", "ES256", &k.ec.PublicKey}).URL
	// What Supabase Auth puts in an access token (about 900 bytes signed).
	claims := with("iss", "https://abcdefghijklmnopqrst.supabase.co/auth/v1", "email", "someone@example.com",
		"phone", "", "session_id", uuid.NewString(), "aal", "aal1", "is_anonymous", false,
		"app_metadata", map[string]any{"provider": "email", "providers": []string{"email"}},
		"user_metadata", map[string]any{"email": "someone@example.com", "email_verified": true,
			"phone_verified": false, "sub": testUser.String()},
		"amr", []map[string]any{{"method": "password", "timestamp": time.Now().Unix()}})
	sign := func(m jwt.SigningMethod, key any, kid string, kv ...any) string {
		c := maps.Clone(claims)
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		tok := jwt.NewWithClaims(m, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	tokens := []struct{ name, token string }{
		{"HS256", sign(jwt.SigningMethodHS256, secret, "")},
		{"RS256", sign(jwt.SigningMethodRS256, k.rsa, "rsa1")},
		{"ES256", sign(jwt.SigningMethodES256, k.ec, "ec1")},
	}
	for _, tc := range tokens {
		for _, cache := range []struct {
			name    string
			maxCost int64
		}{{"uncached", -1}, {"cached", 0}} {
			b.Run(tc.name+"/"+cache.name, func(b *testing.B) {
				v, err := NewVerifier(b.Context(), Options{HS256Secret: secret, JWKSURL: srv, cacheMaxCost: cache.maxCost})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(v.Close)
				header := "Bearer " + tc.token
				b.ReportAllocs()
				for b.Loop() {
					if _, err := v.Verify(b.Context(), header); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("HS256/first", func(b *testing.B) {
		// 4,096 tokens in turn through a cache with room for 16 of them.
		many := make([]string, 4096)
		for i := range many {
			many[i] = sign(jwt.SigningMethodHS256, secret, "", "jti", fmt.Sprint(i))
		}
		v, err := NewVerifier(b.Context(), Options{HS256Secret: secret, cacheMaxCost: 16 * 600})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(v.Close)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := v.Verify(b.Context(), many[i%len(many)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
