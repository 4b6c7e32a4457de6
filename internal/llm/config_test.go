package llm_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentgraph/agentgraph/internal/llm"
)

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"OPENAI_API_KEY":     "sk-openai-secret",
		"OPENAI_BASE_URL":    "http://127.0.0.1:11434/v1",
		"ANTHROPIC_API_KEY":  "sk-ant-secret",
		"ANTHROPIC_BASE_URL": "https://proxy.example/anthropic/v1/",
		"GEMINI_API_KEY":     "gemini-secret",
		"LLM_TIMEOUT":        "90s",
		"LLM_IDLE_TIMEOUT":   "15",
	}
	cfg, err := llm.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OpenAIKey != "sk-openai-secret" || cfg.OpenAIBaseURL != "http://127.0.0.1:11434/v1" ||
		cfg.AnthropicKey != "sk-ant-secret" || cfg.AnthropicBaseURL != "https://proxy.example/anthropic/v1/" ||
		cfg.GeminiKey != "gemini-secret" || cfg.GeminiBaseURL != "" {
		t.Fatalf("config %+v", cfg)
	}
	if cfg.Timeout != 90*time.Second || cfg.IdleTimeout != 15*time.Second {
		t.Fatalf("timeouts %s %s", cfg.Timeout, cfg.IdleTimeout)
	}
	if len(cfg.Prices) != len(llm.DefaultPrices()) {
		t.Fatalf("%d prices, want the default table", len(cfg.Prices))
	}
	// A Config that ends up in a log must not carry its keys there.
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), cfg.LogValue().String()} {
		if strings.Contains(s, "secret") {
			t.Fatalf("config printed a key: %s", s)
		}
	}

	empty, err := llm.ConfigFromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if empty.Timeout != llm.DefaultTimeout || empty.IdleTimeout != llm.DefaultIdleTimeout {
		t.Fatalf("defaults %s %s", empty.Timeout, empty.IdleTimeout)
	}

	for k, v := range map[string]string{
		"LLM_TIMEOUT":      "soon",
		"LLM_IDLE_TIMEOUT": "-5s",
		"OPENAI_BASE_URL":  "localhost:11434",
		"GEMINI_BASE_URL":  "ftp://x/",
	} {
		_, err := llm.ConfigFromEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: err %v", k, v, err)
		}
	}
}
