package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/agentgraph/agentgraph/internal/integrations"
)

// loadOAuth reads each provider's OAuth client from
// OAUTH_<PROVIDER>_CLIENT_ID, OAUTH_<PROVIDER>_CLIENT_SECRET and
// OAUTH_<PROVIDER>_TOKEN_URL (the last overriding the provider's endpoint,
// for a proxy or a test stand-in). A bad URL is an error naming the
// variable; a secret is never echoed.
func loadOAuth(getenv func(string) string) (map[string]integrations.OAuthClient, error) {
	out := integrations.DefaultClients()
	for _, p := range integrations.Providers {
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
