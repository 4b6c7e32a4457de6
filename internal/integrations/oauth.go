package integrations

import (
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// OAuthClient is this app's OAuth client at one provider: where and as whom
// it renews users' tokens.
type OAuthClient struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	// AuthStyle is how the client authenticates to the token endpoint.
	AuthStyle oauth2.AuthStyle
}

// defaultClients are the providers' token endpoints, without client
// credentials. Each provider documents how it wants the client to
// authenticate; guessing (oauth2.AuthStyleAutoDetect) would cost a refused
// call, which here counts as a refusal.
func defaultClients() map[string]OAuthClient {
	return map[string]OAuthClient{
		"google": {TokenURL: "https://oauth2.googleapis.com/token", AuthStyle: oauth2.AuthStyleInParams},
		"github": {TokenURL: "https://github.com/login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams},
		"slack":  {TokenURL: "https://slack.com/api/oauth.v2.access", AuthStyle: oauth2.AuthStyleInParams},
		"notion": {TokenURL: "https://api.notion.com/v1/oauth/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
}

// ConfigFromEnv reads each provider's OAuth client from
// OAUTH_<PROVIDER>_CLIENT_ID, OAUTH_<PROVIDER>_CLIENT_SECRET and
// OAUTH_<PROVIDER>_TOKEN_URL (the last overriding the provider's endpoint,
// for a proxy or a test stand-in). A bad URL is an error naming the
// variable; a secret is never echoed.
func ConfigFromEnv(getenv func(string) string) (map[string]OAuthClient, error) {
	out := defaultClients()
	for _, p := range Providers {
		prefix := "OAUTH_" + strings.ToUpper(p) + "_"
		c := out[p]
		c.ClientID = strings.TrimSpace(getenv(prefix + "CLIENT_ID"))
		c.ClientSecret = strings.TrimSpace(getenv(prefix + "CLIENT_SECRET"))
		if u := strings.TrimSpace(getenv(prefix + "TOKEN_URL")); u != "" {
			parsed, err := url.Parse(u)
			if err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" {
				return nil, fmt.Errorf("%sTOKEN_URL must be an http(s) URL", prefix)
			}
			c.TokenURL = u
		}
		out[p] = c
	}
	return out, nil
}
