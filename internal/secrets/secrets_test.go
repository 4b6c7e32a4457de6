package secrets_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/agentgraph/agentgraph/internal/secrets"
)

func newKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, secrets.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

func keyring(t *testing.T, keys ...string) *secrets.Keyring {
	t.Helper()
	k, err := secrets.ParseKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	k := keyring(t, newKey(t))
	aad := secrets.Bind("user_integrations", "user-1", "github", "access_token")
	for _, plain := range []string{"gho_secret-token", "", strings.Repeat("x", 10000), "ünïcödé \x00 bytes"} {
		sealed, err := k.Seal([]byte(plain), aad)
		if err != nil {
			t.Fatal(err)
		}
		if plain != "" && strings.Contains(sealed, plain) {
			t.Fatalf("sealed value contains the plaintext")
		}
		if !strings.HasPrefix(sealed, "v1."+k.Current()+".") {
			t.Fatalf("sealed value %.30q… does not name its key %s", sealed, k.Current())
		}
		got, err := k.Open(sealed, aad)
		if err != nil || string(got) != plain {
			t.Fatalf("open: %q, %v; want %q", got, err, plain)
		}
	}
}

func TestFreshNonceEachSeal(t *testing.T) {
	t.Parallel()
	k := keyring(t, newKey(t))
	aad := secrets.Bind("x")
	a, _ := k.Seal([]byte("same"), aad)
	b, _ := k.Seal([]byte("same"), aad)
	if a == b {
		t.Fatal("two seals of one plaintext are identical: the nonce was reused")
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	k := keyring(t, newKey(t))
	aad := secrets.Bind("user_integrations", "user-1", "github", "access_token")
	sealed, err := k.Seal([]byte("gho_secret"), aad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	other := keyring(t, newKey(t))
	otherSealed, _ := other.Seal([]byte("gho_secret"), aad)
	for _, tc := range []struct {
		name   string
		keys   *secrets.Keyring
		sealed string
		aad    []byte
		want   error
	}{
		{"tampered ciphertext", k, flip(sealed, len(sealed)-10), aad, secrets.ErrOpen},
		{"tampered nonce", k, flip(sealed, len("v1.")+16+2), aad, secrets.ErrOpen},
		{"truncated", k, sealed[:len(sealed)-4], aad, secrets.ErrOpen},
		{"wrong key", other, sealed, aad, secrets.ErrUnknownKey},
		{"header names another key", k, "v1." + other.Current() + sealed[len("v1.")+16:], aad, secrets.ErrUnknownKey},
		{"sealed by another key, relabelled", k, "v1." + k.Current() + otherSealed[len("v1.")+16:], aad, secrets.ErrOpen},
		{"another row (user)", k, sealed, secrets.Bind("user_integrations", "user-2", "github", "access_token"), secrets.ErrOpen},
		{"another row (provider)", k, sealed, secrets.Bind("user_integrations", "user-1", "slack", "access_token"), secrets.ErrOpen},
		{"another column", k, sealed, secrets.Bind("user_integrations", "user-1", "github", "refresh_token"), secrets.ErrOpen},
		{"ambiguous parts", k, sealed, secrets.Bind("user_integrations", "user-1github", "", "access_token"), secrets.ErrOpen},
		{"not sealed", k, "gho_plain", aad, secrets.ErrMalformed},
		{"other version", k, "v2" + sealed[2:], aad, secrets.ErrMalformed},
		{"bad base64", k, sealed + "!", aad, secrets.ErrMalformed},
	} {
		got, err := tc.keys.Open(tc.sealed, tc.aad)
		if !errors.Is(err, tc.want) || got != nil {
			t.Errorf("%s: got %q, %v; want %v", tc.name, got, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "gho_secret") {
			t.Errorf("%s: error %q contains the plaintext", tc.name, err)
		}
	}
}

// Rotation: a keyring with a new key first seals under it and still opens
// what the old key sealed; once the old key is gone, its values do not open.
func TestRotationKeepsPlaintexts(t *testing.T) {
	t.Parallel()
	oldKey, newKey := newKey(t), newKey(t)
	before := keyring(t, oldKey)
	during := keyring(t, newKey, oldKey)
	after := keyring(t, newKey)
	aad := secrets.Bind("row")
	var sealed []string
	for i := range 20 {
		s, err := before.Seal([]byte{byte(i), 'x'}, aad)
		if err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, s)
	}
	if during.Current() == before.Current() || during.Current() != after.Current() {
		t.Fatal("the newest key must seal")
	}
	for i, s := range sealed {
		got, err := during.Open(s, aad)
		if err != nil || string(got) != string([]byte{byte(i), 'x'}) {
			t.Fatalf("row %d after adding a key: %q, %v", i, got, err)
		}
		resealed, err := during.Seal(got, aad)
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := secrets.SealedKeyID(resealed); id != during.Current() {
			t.Fatalf("resealed under %s, want %s", id, during.Current())
		}
		if got, err := after.Open(resealed, aad); err != nil || string(got) != string([]byte{byte(i), 'x'}) {
			t.Fatalf("row %d after dropping the old key: %q, %v", i, got, err)
		}
		if _, err := after.Open(s, aad); !errors.Is(err, secrets.ErrUnknownKey) {
			t.Fatalf("a value under a dropped key opened: %v", err)
		}
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	k := newKey(t)
	raw, _ := base64.StdEncoding.DecodeString(k)
	for _, tc := range []struct {
		name string
		keys []string
		ok   bool
	}{
		{"standard base64", []string{k}, true},
		{"url-safe unpadded", []string{base64.RawURLEncoding.EncodeToString(raw)}, true},
		{"short", []string{base64.StdEncoding.EncodeToString(raw[:16])}, false},
		{"not base64", []string{"not a key!"}, false},
		{"duplicate", []string{k, k}, false},
		{"none", nil, false},
	} {
		_, err := secrets.ParseKeys(tc.keys)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.name, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), k[:10]) {
			t.Errorf("%s: error %q echoes the key", tc.name, err)
		}
	}
	a := keyring(t, k)
	b := keyring(t, base64.RawURLEncoding.EncodeToString(raw))
	if a.Current() != b.Current() {
		t.Error("one key in two encodings has two ids")
	}
}
