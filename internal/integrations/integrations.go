// Package integrations is the domain of users' connected accounts (google,
// notion, slack, github): connecting and disconnecting them through the API,
// and, for background work, opening their OAuth tokens and renewing them
// when they expire.
//
// Tokens are sealed (internal/secrets) before they reach the store and are
// opened only on the service side (Token); the API's types carry none. The
// associated data of each sealed token binds it to its user, provider and
// column, so a ciphertext copied to another row or column does not open.
// Without keys the service is disabled: connecting answers
// INTEGRATIONS_DISABLED and nothing is stored, in the clear or otherwise.
package integrations

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/secrets"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// Providers are the services a user may connect (the data model's list).
var Providers = []string{"github", "google", "notion", "slack"}

// Input limits (README.md lists them for clients).
const (
	MaxToken        = 8192 // characters of an access or refresh token
	MaxScopes       = 100
	MaxScope        = 200
	MaxMetadataSize = 16 << 10 // bytes of metadata as JSON
)

// Options configure a Service.
type Options struct {
	// Keys seal and open tokens; nil disables integrations.
	Keys *secrets.Keyring
	// OAuth are the providers' token endpoints and clients (internal/config reads them).
	OAuth map[string]OAuthClient
	// HTTPClient calls the token endpoints; nil: one with a 30 s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Service runs the integration operations.
type Service struct {
	store  *store.Store
	keys   *secrets.Keyring
	oauth  map[string]OAuthClient
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
}

// New returns a Service on st.
func New(st *store.Store, o Options) *Service {
	s := &Service{store: st, keys: o.Keys, oauth: o.OAuth, client: o.HTTPClient, log: o.Logger, now: time.Now}
	if s.client == nil {
		s.client = &http.Client{Timeout: 30 * time.Second}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.oauth == nil {
		s.oauth = DefaultClients()
	}
	return s
}

// Enabled reports whether tokens can be sealed (a key is configured).
func (s *Service) Enabled() bool { return s.keys != nil }

// disabled is the error of operations that need a key when none is set.
func disabled() error {
	return apperr.New(apperr.IntegrationsDisabled,
		"integrations are disabled on this server: no TOKEN_ENCRYPTION_KEY is configured")
}

// List returns the viewer's connected integrations.
func (s *Service) List(ctx context.Context) ([]*domain.Integration, error) {
	return s.store.Integrations(ctx)
}

// Connect stores the viewer's tokens for a provider, sealed, replacing a
// previous connection to it.
func (s *Service) Connect(ctx context.Context, in domain.ConnectIntegrationInput) (*domain.Integration, error) {
	u, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	var c validate.Checker
	checkProvider(&c, "input.provider", in.Provider)
	c.Required("input.accessToken", in.AccessToken, MaxToken)
	if in.RefreshToken != nil && *in.RefreshToken == "" {
		in.RefreshToken = nil // what an OAuth callback without one hands over
	}
	c.NotBlank("input.refreshToken", in.RefreshToken, MaxToken)
	checkScopes(&c, "input.scopes", in.Scopes)
	meta := checkMetadata(&c, "input.metadata", in.Metadata)
	if err := c.Err(); err != nil {
		return nil, err
	}
	if s.keys == nil {
		return nil, disabled()
	}
	n := store.NewIntegration{Provider: in.Provider, KeyID: s.keys.Current(), ExpiresAt: in.ExpiresAt,
		Scopes: in.Scopes, Metadata: meta}
	if n.AccessToken, err = s.seal(u.ID, in.Provider, columnAccess, in.AccessToken); err != nil {
		return nil, err
	}
	if in.RefreshToken != nil {
		sealed, err := s.seal(u.ID, in.Provider, columnRefresh, *in.RefreshToken)
		if err != nil {
			return nil, err
		}
		n.RefreshToken = &sealed
	}
	i, err := s.store.ConnectIntegration(ctx, n)
	if err == nil {
		s.log.InfoContext(ctx, "integration connected", "user", u.ID, "provider", in.Provider,
			"key_id", n.KeyID, "refresh_token", n.RefreshToken != nil)
	}
	return i, err
}

// Disconnect deletes the viewer's connection to provider: false when there
// was none.
func (s *Service) Disconnect(ctx context.Context, provider string) (bool, error) {
	var c validate.Checker
	checkProvider(&c, "provider", provider)
	if err := c.Err(); err != nil {
		return false, err
	}
	return s.store.DisconnectIntegration(ctx, provider)
}

func checkProvider(c *validate.Checker, field, p string) {
	if !slices.Contains(Providers, p) {
		c.Fail(field, "must be one of %s", strings.Join(Providers, ", "))
	}
}

func checkScopes(c *validate.Checker, field string, scopes []string) {
	if len(scopes) > MaxScopes {
		c.Fail(field, "must have at most %d scopes", MaxScopes)
		return
	}
	for _, s := range scopes {
		// Scopes are stored space-separated, as OAuth writes them.
		if s == "" || len(s) > MaxScope || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			c.Fail(field, "each scope must be 1 to %d characters without spaces", MaxScope)
			return
		}
	}
}

// checkMetadata returns metadata as a JSON object ({} for none).
func checkMetadata(c *validate.Checker, field string, v any) []byte {
	if v == nil {
		return []byte("{}")
	}
	if _, ok := v.(map[string]any); !ok {
		c.Fail(field, "must be a JSON object")
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		c.Fail(field, "must be a JSON object")
		return nil
	}
	if len(b) > MaxMetadataSize {
		c.Fail(field, "must be at most %d bytes as JSON", MaxMetadataSize)
		return nil
	}
	return b
}

// The sealed columns, named in each token's associated data.
const (
	columnAccess  = "access_token"
	columnRefresh = "refresh_token"
)

// binding is the associated data of a token: its table, user, provider and
// column.
func binding(user uuid.UUID, provider, column string) []byte {
	return secrets.Bind("user_integrations", user.String(), provider, column)
}

func (s *Service) seal(user uuid.UUID, provider, column, token string) (string, error) {
	return s.keys.Seal([]byte(token), binding(user, provider, column))
}

func (s *Service) open(user uuid.UUID, provider, column, sealed string) (string, error) {
	plain, err := s.keys.Open(sealed, binding(user, provider, column))
	return string(plain), err
}
