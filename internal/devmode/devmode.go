// Package devmode makes a fresh clone usable without an identity provider:
// when no way to verify tokens is configured (and APP_ENV is not
// production), the server signs and accepts its own HS256 tokens with a
// secret generated once and kept in a git-ignored local file, so tokens
// printed yesterday still work after a restart.
package devmode

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// DefaultFile is where the dev identity lives, relative to the working
// directory (the repository root under `go run .`); .gitignore lists it.
const DefaultFile = ".agentgraph-dev.json"

// DefaultTTL is the lifetime of the banner's token: a working day, so a
// developer copies it once.
const DefaultTTL = 24 * time.Hour

// Identity is what dev mode keeps across restarts: the signing secret and
// the demo user that the banner's token, the playground and `seed` act as.
type Identity struct {
	Secret string    `json:"secret"`
	User   uuid.UUID `json:"demoUser"`
}

// Load reads the identity at path, creating it on first use. Creation is
// atomic (written aside, then linked into place), so two servers started
// at once agree on one secret.
func Load(path string) (Identity, error) {
	id, err := read(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return Identity{}, fmt.Errorf("dev mode: %w", err)
	}
	id = Identity{Secret: base64.RawURLEncoding.EncodeToString(secret), User: uuid.New()}
	b, _ := json.MarshalIndent(id, "", "  ")
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".agentgraph-dev-*")
	if err != nil {
		return Identity{}, fmt.Errorf("dev mode: create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return Identity{}, fmt.Errorf("dev mode: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return Identity{}, fmt.Errorf("dev mode: write %s: %w", path, err)
	}
	// CreateTemp made it 0600: the secret signs tokens for every user.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return Identity{}, fmt.Errorf("dev mode: create %s: %w", path, err)
	}
	return read(path) // another process may have won the link: use its identity
}

func read(path string) (Identity, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Identity{}, err
	}
	var id Identity
	if err := json.Unmarshal(b, &id); err != nil || len(id.Secret) < 32 || id.User == uuid.Nil {
		return Identity{}, fmt.Errorf("dev mode: %s is not a dev identity (delete it to make a new one)", path)
	}
	return id, nil
}

// Token mints a Supabase-style access token for user, signed with HS256 and
// secret: the claims internal/auth requires (sub, role, aud, exp) and iss
// when the server checks one.
func Token(secret string, user uuid.UUID, ttl time.Duration, issuer string) (string, error) {
	if secret == "" {
		return "", errors.New("no HS256 secret to sign with")
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"sub": user.String(), "role": "authenticated", "aud": "authenticated",
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	}
	if issuer != "" {
		claims["iss"] = issuer
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Banner tells a developer what dev mode gives them: where to click, which
// token to paste and what it means.
func Banner(w io.Writer, port int, file string, id Identity, token string) {
	base := fmt.Sprintf("http://localhost:%d", port)
	lines := []string{
		"",
		"  agentgraph is running in DEV MODE (no SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL, APP_ENV is not production)",
		"",
		"  playground   " + base + "/   (the demo user's token is filled in)",
		"  GraphQL      " + base + "/query   ws://localhost:" + fmt.Sprint(port) + "/query",
		"  demo user    " + id.User.String() + "   (`go run . seed` gives it agents, threads, a feed and usage)",
		"  token (24h)  " + token,
		"",
		"  try:  curl -s " + base + "/query -H 'Content-Type: application/json' \\",
		"          -H 'Authorization: Bearer " + token[:12] + "…' -d '{\"query\":\"{ viewer { id } }\"}'",
		"  more: go run . token --user <uuid> [--ttl 1h]",
		"",
		"  The dev secret is in " + file + " (git-ignored). Anyone with it can sign in as any user:",
		"  never use dev mode where others can reach it; APP_ENV=production refuses to start without real auth.",
		"",
	}
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}
