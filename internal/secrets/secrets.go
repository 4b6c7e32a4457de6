// Package secrets seals small secrets (OAuth tokens) for storage with
// AES-256-GCM under a keyring, and opens them again.
//
// A sealed value is text, so it fits a text column:
//
//	v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>
//
// The key id says which key of the keyring opens it, so keys can rotate: the
// newest key seals, every configured key opens. The nonce is 12 fresh random
// bytes per seal (GCM is safe for about 2^32 random nonces per key, far more
// than any key here will ever seal). The caller's associated data binds the
// value to where it is stored (Bind): a value copied to another row or column
// does not open there.
//
// Nothing in this package prints a key, a plaintext or a sealed value in an
// error.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

const (
	version   = "v1"
	nonceSize = 12
)

var (
	// ErrMalformed: the value is not a sealed value of this package.
	ErrMalformed = errors.New("secrets: malformed sealed value")
	// ErrUnknownKey: the value was sealed under a key the keyring lacks.
	ErrUnknownKey = errors.New("secrets: sealed under a key that is not configured")
	// ErrOpen: the value does not open with its key and associated data:
	// it was altered, or belongs to another row or column.
	ErrOpen = errors.New("secrets: sealed value does not open (altered, or bound to another place)")
)

// Keyring holds the keys that open sealed values; the first seals.
type Keyring struct {
	ids   []string // newest first
	aeads map[string]cipher.AEAD
}

// ParseKeys builds a keyring from base64-encoded 32-byte keys, newest first.
// Standard and URL-safe base64, padded or not, are accepted. Errors name the
// key's position, never its value.
func ParseKeys(encoded []string) (*Keyring, error) {
	if len(encoded) == 0 {
		return nil, errors.New("secrets: no key")
	}
	k := &Keyring{aeads: make(map[string]cipher.AEAD, len(encoded))}
	for i, e := range encoded {
		raw, err := decodeKey(strings.TrimSpace(e))
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		id := KeyID(raw)
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("key %d: the same key is listed twice", i+1)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		k.ids = append(k.ids, id)
		k.aeads[id] = aead
	}
	return k, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			if len(raw) != KeySize {
				return nil, fmt.Errorf("must be %d bytes, got %d", KeySize, len(raw))
			}
			return raw, nil
		}
	}
	return nil, errors.New("must be base64")
}

// KeyID names a key by a fingerprint of it: the first 8 bytes of SHA-256
// over a label and the key, in hex. Deriving the id from the key, rather than
// asking operators to name keys, means a key keeps its id whichever variable
// or position it is configured in, and two different keys cannot share one.
// A hash of a random 256-bit key reveals nothing usable about it.
func KeyID(key []byte) string {
	h := sha256.New()
	h.Write([]byte("agentgraph token key id\x00"))
	h.Write(key)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Current is the id of the key that seals.
func (k *Keyring) Current() string { return k.ids[0] }

// IDs are the ids of every configured key, newest first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// Seal encrypts plaintext under the newest key with a fresh nonce, bound to
// aad (see Bind).
func (k *Keyring) Seal(plaintext, aad []byte) (string, error) {
	id := k.ids[0]
	aead := k.aeads[id]
	buf := make([]byte, nonceSize, nonceSize+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("secrets: nonce: %w", err)
	}
	out := aead.Seal(buf, buf[:nonceSize], plaintext, associated(id, aad))
	return version + "." + id + "." + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal returned, with the same aad.
func (k *Keyring) Open(sealed string, aad []byte) ([]byte, error) {
	id, body, err := split(sealed)
	if err != nil {
		return nil, err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w (key id %s)", ErrUnknownKey, id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) < nonceSize+aead.Overhead() {
		return nil, ErrMalformed
	}
	plain, err := aead.Open(nil, raw[:nonceSize], raw[nonceSize:], associated(id, aad))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// SealedKeyID is the id of the key a sealed value was sealed under.
func SealedKeyID(sealed string) (string, error) {
	id, _, err := split(sealed)
	return id, err
}

func split(sealed string) (id, body string, err error) {
	parts := strings.SplitN(sealed, ".", 3)
	if len(parts) != 3 || parts[0] != version || parts[1] == "" {
		return "", "", ErrMalformed
	}
	return parts[1], parts[2], nil
}

// associated is what GCM authenticates besides the ciphertext: the format
// version and key id (so the header cannot be swapped) and the caller's
// binding.
func associated(id string, aad []byte) []byte {
	return append([]byte(version+"."+id+"\x00"), aad...)
}

// Bind encodes the place a sealed value belongs to (for example table, user,
// provider, column) as associated data. Each part is length-prefixed, so no
// two different lists of parts encode alike ("a.b","c" differs from "a","b.c").
func Bind(parts ...string) []byte {
	var out []byte
	for _, p := range parts {
		out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out
}
