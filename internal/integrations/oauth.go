package integrations

import (
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

// DefaultClients are the providers' token endpoints, without client
// credentials. Each provider documents how it wants the client to
// authenticate; guessing (oauth2.AuthStyleAutoDetect) would cost a refused
// call, which here counts as a refusal.
func DefaultClients() map[string]OAuthClient {
	return map[string]OAuthClient{
		"google": {TokenURL: "https://oauth2.googleapis.com/token", AuthStyle: oauth2.AuthStyleInParams},
		"github": {TokenURL: "https://github.com/login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams},
		"slack":  {TokenURL: "https://slack.com/api/oauth.v2.access", AuthStyle: oauth2.AuthStyleInParams},
		"notion": {TokenURL: "https://api.notion.com/v1/oauth/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
}
