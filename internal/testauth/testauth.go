// Package testauth mints Supabase-style access tokens for tests, signed with
// HS256 like Supabase's legacy JWT secret.
package testauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Sign returns claims signed with HS256 and secret.
func Sign(secret string, claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + enc(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(head))
	return head + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Claims are the claims of user's access token expiring at exp.
func Claims(user uuid.UUID, exp time.Time) map[string]any {
	return map[string]any{"sub": user.String(), "role": "authenticated", "aud": "authenticated", "exp": exp.Unix()}
}

// Token is user's access token expiring at exp.
func Token(secret string, user uuid.UUID, exp time.Time) string {
	return Sign(secret, Claims(user, exp))
}
