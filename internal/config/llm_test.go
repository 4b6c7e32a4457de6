package config

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/agentgraph/agentgraph/internal/llm"
)

func TestLoadLLM(t *testing.T) {
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
	cfg, err := loadLLM(func(k string) string { return env[k] })
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

	empty, err := loadLLM(func(string) string { return "" })
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
		_, err := loadLLM(func(key string) string {
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

func TestLLMPrices(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"LLM_PRICES": `{"gpt-4o": {"input": 100, "output": 200}, "Llama3.1": {"input": 1.5, "output": 3}, "my-embedder": {"input": 4}}`,
	}
	cfg, err := loadLLM(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	check := func(model string, want float64) {
		t.Helper()
		cents, known := cfg.Prices.Cost(model, 1_000_000, 1_000_000)
		if !known || math.Abs(cents-want) > 1e-9 {
			t.Errorf("%s: %v %v, want %v", model, cents, known, want)
		}
	}
	check("gpt-4o", 300)                  // overridden
	check("llama3.1:8b", 4.5)             // added (keys are case-insensitive)
	check("my-embedder", 4)               // output defaults to 0
	check("claude-3-5-haiku-latest", 480) // the rest of the default table stays

	for _, bad := range []string{
		`{"gpt-4o": {"input": 1`,                 // truncated
		`[1, 2]`,                                 // not an object
		`null`,                                   // not an object
		`{"gpt-4o": {"inputs": 1, "output": 2}}`, // typo: unknown field
		`{"gpt-4o": {"output": 2}}`,              // input missing
		`{"gpt-4o": {"input": -1, "output": 2}}`, // negative
		`{"gpt-4o": {"input": "1"}}`,             // not a number
		`{"a": {"input": 1}} {}`,                 // trailing data
	} {
		_, err := loadLLM(func(k string) string {
			if k == "LLM_PRICES" {
				return bad
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), "LLM_PRICES") {
			t.Errorf("LLM_PRICES=%s: err %v, want an LLM_PRICES error", bad, err)
		}
	}
}
