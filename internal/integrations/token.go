package integrations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/store"
)

// Secret is a token in memory. Printing, formatting, logging or marshalling
// it shows "[redacted]"; Reveal is the one way to the value, so a token
// reaches a log only if someone writes Reveal into the call.
type Secret string

const redacted = "[redacted]"

func (Secret) String() string                  { return redacted }
func (Secret) GoString() string                { return redacted }
func (Secret) LogValue() slog.Value            { return slog.StringValue(redacted) }
func (Secret) MarshalText() ([]byte, error)    { return []byte(redacted), nil }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// Reveal is the token itself, to put in a request to the provider.
func (s Secret) Reveal() string { return string(s) }

// Token is a user's usable access token at a provider, for background work.
type Token struct {
	AccessToken Secret
	// Expiry is when the access token stops working; nil when it does not.
	Expiry *time.Time
	Scopes []string
}

// The errors of Token.
var (
	ErrDisabled     = errors.New("integrations: disabled (no token encryption key configured)")
	ErrNotConnected = errors.New("integrations: the user has not connected this provider")
	ErrExpired      = errors.New("integrations: the access token expired and there is no refresh token; the user must reconnect")
	// ErrRefreshFailed: the provider refused to renew the tokens (now or
	// earlier); the integration is REFRESH_FAILED until the user reconnects.
	ErrRefreshFailed = errors.New("integrations: the provider refused to renew the token; the user must reconnect")
	ErrNoClient      = errors.New("integrations: no OAuth client is configured for this provider (OAUTH_<PROVIDER>_CLIENT_ID)")
)

// expiryLeeway renews a token this long before it expires, so a token handed
// out is not already dead when the caller's request reaches the provider.
const expiryLeeway = time.Minute

// FeedRefreshFailed is the feed event type posted when a provider refuses to
// renew a user's tokens.
const FeedRefreshFailed = "integration_refresh_failed"

var displayNames = map[string]string{"github": "GitHub", "google": "Google", "notion": "Notion", "slack": "Slack"}

// Token opens user's access token at provider for background work, as the
// service role. An expired token is renewed first through the provider's
// token endpoint (the OAuth refresh_token grant) and the new tokens stored
// sealed; concurrent callers for one row renew it once (the others wait for
// the row's lock and use what the first stored). When the provider refuses,
// the integration becomes REFRESH_FAILED, the user's feed says so, and the
// error is ErrRefreshFailed; a provider that cannot be reached leaves the
// row as it was and returns the error (try again later).
func (s *Service) Token(ctx context.Context, user uuid.UUID, provider string) (*Token, error) {
	if s.keys == nil {
		return nil, ErrDisabled
	}
	if !slices.Contains(Providers, provider) {
		return nil, fmt.Errorf("integrations: unknown provider %q", provider)
	}
	row, err := s.store.SealedIntegration(ctx, user, provider)
	if apperr.Is(err, apperr.NotFound) {
		return nil, ErrNotConnected
	}
	if err != nil {
		return nil, fmt.Errorf("integrations: load %s of user %s: %w", provider, user, err)
	}
	if row.Status == domain.IntegrationRefreshFailed {
		return nil, ErrRefreshFailed
	}
	if !s.expired(row.ExpiresAt) {
		return s.token(row)
	}
	return s.refresh(ctx, row)
}

func (s *Service) expired(at *time.Time) bool {
	return at != nil && !s.now().Add(expiryLeeway).Before(*at)
}

// token opens row's access token.
func (s *Service) token(row *store.SealedIntegration) (*Token, error) {
	access, err := s.open(row.UserID, row.Provider, columnAccess, row.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("integrations: open %s access token of user %s: %w", row.Provider, row.UserID, err)
	}
	return &Token{AccessToken: Secret(access), Expiry: row.ExpiresAt, Scopes: row.Scopes}, nil
}

// refresh renews seen's tokens under the row's lock, unless another caller
// renewed them (or the user reconnected) while this one waited for it.
func (s *Service) refresh(ctx context.Context, seen *store.SealedIntegration) (*Token, error) {
	user, provider := seen.UserID, seen.Provider
	var out *Token
	var refusedCode string
	err := s.store.RenewIntegration(ctx, user, provider, func(row *store.SealedIntegration) (*store.Renewal, error) {
		out, refusedCode = nil, ""
		if row.Status == domain.IntegrationRefreshFailed {
			return nil, ErrRefreshFailed
		}
		// Renewed (or reconnected) while this caller waited for the lock: use
		// that token while it works at all, even inside the leeway, so that
		// a provider's short-lived tokens are not renewed once per waiter.
		changed := row.AccessToken != seen.AccessToken && (row.ExpiresAt == nil || s.now().Before(*row.ExpiresAt))
		if changed || !s.expired(row.ExpiresAt) {
			t, err := s.token(row)
			out = t
			return nil, err
		}
		if row.RefreshToken == nil {
			return nil, ErrExpired
		}
		client, ok := s.oauth[provider]
		if !ok || client.ClientID == "" || client.TokenURL == "" {
			return nil, ErrNoClient
		}
		old, err := s.open(user, provider, columnRefresh, *row.RefreshToken)
		if err != nil {
			return nil, fmt.Errorf("integrations: open %s refresh token of user %s: %w", provider, user, err)
		}
		cfg := &oauth2.Config{ClientID: client.ClientID, ClientSecret: client.ClientSecret,
			Endpoint: oauth2.Endpoint{TokenURL: client.TokenURL, AuthStyle: client.AuthStyle}}
		tok, err := cfg.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, s.client), &oauth2.Token{RefreshToken: old}).Token()
		if err != nil {
			code, refused := refusal(err)
			if !refused {
				return nil, fmt.Errorf("integrations: renew %s token of user %s: %s", provider, user, code)
			}
			refusedCode = code
			name := displayNames[provider]
			return &store.Renewal{Refused: code, FeedType: FeedRefreshFailed, FeedMessage: fmt.Sprintf(
				"%s refused to renew this app's access (%s). Reconnect %s to keep using it.", name, code, name)}, nil
		}
		return s.renewed(row, old, tok, &out)
	})
	switch {
	case apperr.Is(err, apperr.NotFound):
		return nil, ErrNotConnected // disconnected meanwhile
	case err != nil:
		return nil, err
	case refusedCode != "":
		s.log.WarnContext(ctx, "integration refresh refused", "user", user, "provider", provider, "error_code", refusedCode)
		return nil, ErrRefreshFailed
	}
	return out, nil
}

// renewed seals a refresh's new tokens (keeping the old refresh token when
// the provider sent none, as most do unless they rotate them) and sets *out
// to the token to hand back.
func (s *Service) renewed(row *store.SealedIntegration, oldRefresh string, tok *oauth2.Token, out **Token) (*store.Renewal, error) {
	refresh := oldRefresh
	if tok.RefreshToken != "" {
		refresh = tok.RefreshToken
	}
	t := &store.RenewedTokens{KeyID: s.keys.Current()}
	if !tok.Expiry.IsZero() {
		e := tok.Expiry.UTC()
		t.ExpiresAt = &e
	}
	var err error
	if t.AccessToken, err = s.seal(row.UserID, row.Provider, columnAccess, tok.AccessToken); err != nil {
		return nil, err
	}
	sealed, err := s.seal(row.UserID, row.Provider, columnRefresh, refresh)
	if err != nil {
		return nil, err
	}
	t.RefreshToken = &sealed
	*out = &Token{AccessToken: Secret(tok.AccessToken), Expiry: t.ExpiresAt, Scopes: row.Scopes}
	s.log.Info("integration token renewed", "user", row.UserID, "provider", row.Provider, "key_id", t.KeyID)
	return &store.Renewal{Tokens: t}, nil
}

// refusal tells a provider's refusal (an OAuth error response: 4xx, or an
// error code in a 200 as GitHub sends) from a failure to reach it (network,
// 5xx, 429), and describes either without the response body, which is the
// provider's to word and is not ours to log.
func refusal(err error) (description string, refused bool) {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return "timed out or canceled", false
		}
		// Transport errors name the URL and the cause, not the request body.
		return err.Error(), false
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	code := cleanCode(re.ErrorCode)
	if status == 429 || status >= 500 {
		return fmt.Sprintf("the provider answered HTTP %d %s", status, code), false
	}
	if code == "" {
		code = fmt.Sprintf("http_%d", status)
	}
	return code, true
}

// cleanCode keeps an OAuth error code (RFC 6749 5.2: printable ASCII, in
// practice snake_case) short and plain, since it reaches the feed and logs.
func cleanCode(c string) string {
	c = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' {
			return r
		}
		return -1
	}, c)
	return c[:min(len(c), 64)]
}
