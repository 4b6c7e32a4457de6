// Package llm talks to chat and embedding models over the OpenAI wire format.
//
// One client library (go-openai) serves every provider: OpenAI itself, any
// OpenAI-compatible server (Ollama, vLLM, … through OPENAI_BASE_URL), and
// Anthropic's and Google's OpenAI-compatible endpoints. The model name picks
// the provider (claude-* → anthropic, gemini-* → google, anything else →
// openai), so an agent's personality.model is all the chat layer passes in.
//
// Replies stream (DESIGN.md decision 4): Stream returns deltas as they arrive
// and, at the end, the token usage the provider reported — or an estimate,
// marked as such, when the stream was cut before the usage chunk.
package llm

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/agentgraph/agentgraph/internal/apperr"
)

// Provider names an API that serves a family of models.
type Provider string

// The providers. Each is reached through an OpenAI-compatible endpoint.
const (
	OpenAI    Provider = "openai"
	Anthropic Provider = "anthropic"
	Google    Provider = "google"
)

// Default base URLs of the providers' OpenAI-compatible endpoints.
const (
	DefaultOpenAIBaseURL    = "https://api.openai.com/v1"
	DefaultAnthropicBaseURL = "https://api.anthropic.com/v1/"
	DefaultGeminiBaseURL    = "https://generativelanguage.googleapis.com/v1beta/openai/"
)

// Defaults for Config's durations.
const (
	DefaultTimeout     = 2 * time.Minute
	DefaultIdleTimeout = 30 * time.Second
)

// keylessPlaceholder is sent as the API key to a custom OpenAI-compatible
// server configured without one. Local servers (Ollama, vLLM without
// --api-key) ignore it; sending something rather than nothing keeps proxies
// that insist on an Authorization header happy.
const keylessPlaceholder = "no-key"

// ProviderFor returns the provider that serves model.
func ProviderFor(model string) Provider {
	m := strings.ToLower(strings.TrimSpace(model))
	switch {
	case strings.HasPrefix(m, "claude-"):
		return Anthropic
	case strings.HasPrefix(m, "gemini-"):
		return Google
	default:
		return OpenAI
	}
}

// keyEnv is the variable an operator sets to enable p; it is named in the
// LLM_UNAVAILABLE message so the fix is obvious from the client's error.
func (p Provider) keyEnv() string {
	switch p {
	case Anthropic:
		return "ANTHROPIC_API_KEY"
	case Google:
		return "GEMINI_API_KEY"
	default:
		return "OPENAI_API_KEY"
	}
}

// Config configures a Client. Empty base URLs mean the provider's default;
// zero durations mean the defaults above; nil Prices means DefaultPrices().
type Config struct {
	OpenAIKey        string
	OpenAIBaseURL    string
	AnthropicKey     string
	AnthropicBaseURL string
	GeminiKey        string
	GeminiBaseURL    string

	// Timeout bounds a whole call, from sending the request to the last chunk.
	Timeout time.Duration
	// IdleTimeout bounds the wait for the next piece of the answer (response
	// headers, then each chunk), so a stalled upstream fails in seconds
	// rather than at Timeout.
	IdleTimeout time.Duration

	Prices Prices

	// HTTPClient, if set, sends every request. Its Timeout should be zero:
	// an http.Client timeout also cuts a long healthy stream, which Timeout
	// and IdleTimeout already bound.
	HTTPClient *http.Client
}

// String redacts the keys, so that logging a Config by accident (%v, %+v)
// never prints a secret.
func (c Config) String() string {
	return fmt.Sprintf("llm.Config{openai:%s anthropic:%s google:%s timeout:%s idle:%s prices:%d}",
		keyState(c.OpenAIKey, c.OpenAIBaseURL), keyState(c.AnthropicKey, c.AnthropicBaseURL),
		keyState(c.GeminiKey, c.GeminiBaseURL), c.Timeout, c.IdleTimeout, len(c.Prices))
}

// LogValue redacts the keys for slog, as String does for fmt.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("openai", keyState(c.OpenAIKey, c.OpenAIBaseURL)),
		slog.String("anthropic", keyState(c.AnthropicKey, c.AnthropicBaseURL)),
		slog.String("google", keyState(c.GeminiKey, c.GeminiBaseURL)),
		slog.Duration("timeout", c.Timeout),
		slog.Duration("idle_timeout", c.IdleTimeout),
		slog.Int("prices", len(c.Prices)),
	)
}

func keyState(key, baseURL string) string {
	s := "no key"
	if key != "" {
		s = "key set"
	}
	if baseURL != "" {
		s += " @ " + baseURL
	}
	return s
}

// Client sends chat and embedding requests to the provider of each model.
// It is safe for concurrent use.
type Client struct {
	cfg  Config
	apis map[Provider]*openai.Client // only providers that are configured
}

// New returns a client for cfg, filling in defaults for zero fields.
func New(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Prices == nil {
		cfg.Prices = DefaultPrices()
	}
	c := &Client{cfg: cfg, apis: make(map[Provider]*openai.Client)}
	add := func(p Provider, key, baseURL, defaultURL string) {
		if key == "" {
			return
		}
		if baseURL == "" {
			baseURL = defaultURL
		}
		oc := openai.DefaultConfig(key)
		oc.BaseURL = baseURL
		if cfg.HTTPClient != nil {
			oc.HTTPClient = cfg.HTTPClient
		}
		c.apis[p] = openai.NewClientWithConfig(oc)
	}
	openaiKey := cfg.OpenAIKey
	if openaiKey == "" && cfg.OpenAIBaseURL != "" {
		openaiKey = keylessPlaceholder
	}
	add(OpenAI, openaiKey, cfg.OpenAIBaseURL, DefaultOpenAIBaseURL)
	add(Anthropic, cfg.AnthropicKey, cfg.AnthropicBaseURL, DefaultAnthropicBaseURL)
	add(Google, cfg.GeminiKey, cfg.GeminiBaseURL, DefaultGeminiBaseURL)
	return c
}

// Available reports whether model's provider is configured: nil, or an
// LLM_UNAVAILABLE error naming the variable to set. Checked before any
// request so a missing key fails fast and says how to fix it.
func (c *Client) Available(model string) error {
	_, err := c.api(model)
	return err
}

func (c *Client) api(model string) (*openai.Client, error) {
	if strings.TrimSpace(model) == "" {
		return nil, errors.New("llm: empty model name")
	}
	p := ProviderFor(model)
	api, ok := c.apis[p]
	if !ok {
		return nil, apperr.New(apperr.LLMUnavailable,
			"no API key configured for provider %s (set %s)", p, p.keyEnv())
	}
	return api, nil
}

// Cost prices a call with the client's price table; see Prices.Cost.
func (c *Client) Cost(model string, in, out int) (cents float64, known bool) {
	return c.cfg.Prices.Cost(model, in, out)
}

// Timeout is what bounds one whole call (Config.Timeout): a reply's own time
// bound, from which the reply jobs derive theirs.
func (c *Client) Timeout() time.Duration { return c.cfg.Timeout }
