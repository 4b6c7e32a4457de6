package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentgraph/agentgraph/internal/llm"
)

// loadLLM reads the LLM settings of runtime.md. Durations accept Go
// syntax ("90s", "2m") or a bare number of seconds. LLM_PRICES is a JSON
// object {"model": {"input": centsPerMTok, "output": centsPerMTok}} merged
// over llm.DefaultPrices().
func loadLLM(getenv func(string) string) (llm.Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := llm.Config{
		OpenAIKey:        get("OPENAI_API_KEY"),
		OpenAIBaseURL:    get("OPENAI_BASE_URL"),
		AnthropicKey:     get("ANTHROPIC_API_KEY"),
		AnthropicBaseURL: get("ANTHROPIC_BASE_URL"),
		GeminiKey:        get("GEMINI_API_KEY"),
		GeminiBaseURL:    get("GEMINI_BASE_URL"),
		Timeout:          llm.DefaultTimeout,
		IdleTimeout:      llm.DefaultIdleTimeout,
	}
	for _, u := range []struct{ name, val string }{
		{"OPENAI_BASE_URL", cfg.OpenAIBaseURL},
		{"ANTHROPIC_BASE_URL", cfg.AnthropicBaseURL},
		{"GEMINI_BASE_URL", cfg.GeminiBaseURL},
	} {
		if u.val == "" {
			continue
		}
		p, err := url.Parse(u.val)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return llm.Config{}, fmt.Errorf("%s: want an http(s) URL, got %q", u.name, u.val)
		}
	}
	var err error
	if cfg.Timeout, err = envDuration(get, "LLM_TIMEOUT", llm.DefaultTimeout); err != nil {
		return llm.Config{}, err
	}
	if cfg.IdleTimeout, err = envDuration(get, "LLM_IDLE_TIMEOUT", llm.DefaultIdleTimeout); err != nil {
		return llm.Config{}, err
	}
	cfg.Prices = llm.DefaultPrices()
	if raw := get("LLM_PRICES"); raw != "" {
		over, err := llm.ParsePrices(raw)
		if err != nil {
			return llm.Config{}, fmt.Errorf("LLM_PRICES: %w", err)
		}
		for m, p := range over {
			cfg.Prices[m] = p
		}
	}
	return cfg, nil
}

func envDuration(get func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := get(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, err2 := strconv.Atoi(v)
		if err2 != nil {
			return 0, fmt.Errorf("%s: want a duration such as 30s or 2m, got %q", name, v)
		}
		d = time.Duration(secs) * time.Second
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s: must be positive, got %q", name, v)
	}
	return d, nil
}
