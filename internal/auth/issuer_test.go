package auth

import (
	"strings"
	"testing"
)

// With an issuer configured (SUPABASE_URL or JWT_ISSUER), a token signed
// with the right key but minted by someone else is refused.
func TestVerifyIssuer(t *testing.T) {
	t.Parallel()
	const iss = "https://abc.supabase.co/auth/v1"
	v := newVerifier(t, Options{HS256Secret: secret, Issuer: iss})
	if _, err := v.Verify(t.Context(), hs(t, with("iss", iss))); err != nil {
		t.Fatalf("right issuer: %v", err)
	}
	_, err := v.Verify(t.Context(), hs(t, with("iss", "https://evil.example/auth/v1")))
	wantUnauth(t, err, "issuer")
	_, err = v.Verify(t.Context(), hs(t, validClaims()))
	wantUnauth(t, err, "issuer")
	// Without one, iss is not checked.
	if _, err := newVerifier(t, Options{HS256Secret: secret}).Verify(t.Context(), hs(t, with("iss", "anything"))); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyAnonymous(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, Options{HS256Secret: secret})
	for claim, want := range map[any]bool{true: true, false: false, nil: false} {
		u, err := v.Verify(t.Context(), hs(t, with("is_anonymous", claim)))
		if err != nil {
			t.Fatal(err)
		}
		if u.Anonymous != want {
			t.Errorf("is_anonymous %v: Anonymous = %v", claim, u.Anonymous)
		}
	}
}

// FuzzVerify feeds arbitrary tokens to the verifier: it must never panic,
// and anything it accepts must be a well-formed user of an HS256 token.
func FuzzVerify(f *testing.F) {
	v, err := NewVerifier(f.Context(), Options{HS256Secret: secret})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(v.Close)
	f.Add("")
	f.Add("Bearer ")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Fuzz(func(t *testing.T, token string) {
		u, err := v.Verify(t.Context(), token)
		if err != nil {
			if strings.Contains(err.Error(), token) && len(token) > 8 {
				t.Fatalf("error echoes the token: %v", err)
			}
			return
		}
		if u.Role != "authenticated" || u.ID.String() == "" || u.ExpiresAt.IsZero() {
			t.Fatalf("accepted %q as %+v", token, u)
		}
	})
}
