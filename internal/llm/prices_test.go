package llm_test

import (
	"math"
	"strings"
	"testing"

	"github.com/agentgraph/agentgraph/internal/llm"
)

func TestCost(t *testing.T) {
	t.Parallel()
	p := llm.DefaultPrices()
	for _, tc := range []struct {
		model   string
		in, out int
		cents   float64
		known   bool
	}{
		// Exact entries.
		{"gpt-4o", 1_000_000, 1_000_000, 250 + 1000, true},
		{"claude-sonnet-4-20250514", 2_000_000, 100_000, 600 + 150, true},
		{"gemini-2.0-flash", 1_000_000, 0, 10, true},
		// Dated snapshots take the longest matching prefix.
		{"gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000, 15 + 60, true},
		{"gpt-4o-2024-08-06", 1_000_000, 0, 250, true},
		{"claude-3-5-haiku-20241022", 0, 1_000_000, 400, true},
		{"o3-mini-2025-01-31", 1_000_000, 1_000_000, 110 + 440, true},
		{"GPT-4o-Mini", 1_000_000, 0, 15, true},
		// Unknown models cost nothing, and say so.
		{"llama3.1:8b", 5000, 5000, 0, false},
		{"gpt-4ofoo", 1, 1, 0, false}, // a prefix must end at a separator
	} {
		cents, known := p.Cost(tc.model, tc.in, tc.out)
		if known != tc.known || math.Abs(cents-tc.cents) > 1e-9 {
			t.Errorf("Cost(%q, %d, %d) = %v, %v; want %v, %v", tc.model, tc.in, tc.out, cents, known, tc.cents, tc.known)
		}
	}
	// Small calls cost fractions of a cent; nothing is rounded away.
	if cents, _ := p.Cost("gpt-4o-mini", 1000, 500); math.Abs(cents-(0.015+0.03)) > 1e-12 {
		t.Errorf("small call: %v cents", cents)
	}
}

func TestCostPrefixNeedsSeparator(t *testing.T) {
	t.Parallel()
	// Without a gpt-4o entry, gpt-4o must not be priced as gpt-4.
	p := llm.Prices{"gpt-4": {3000, 6000}}
	if _, known := p.Cost("gpt-4o", 1, 1); known {
		t.Fatal("gpt-4o priced as gpt-4")
	}
	if _, known := p.Cost("gpt-4-0613", 1, 1); !known {
		t.Fatal("gpt-4-0613 not priced as gpt-4")
	}
	if _, known := (llm.Prices{"llama3.1": {1, 1}}).Cost("llama3.1:70b", 1, 1); !known {
		t.Fatal("an Ollama tag should match its model")
	}
}

func TestLLMPrices(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"LLM_PRICES": `{"gpt-4o": {"input": 100, "output": 200}, "Llama3.1": {"input": 1.5, "output": 3}, "my-embedder": {"input": 4}}`,
	}
	cfg, err := llm.ConfigFromEnv(func(k string) string { return env[k] })
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
		_, err := llm.ConfigFromEnv(func(k string) string {
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

func TestPricedAndModels(t *testing.T) {
	cfg, err := llm.ConfigFromEnv(func(k string) string {
		if k == "LLM_PRICES" {
			return `{"llama3.1:8b": {"input": 0, "output": 0}}`
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Prices
	for model, want := range map[string]bool{
		"gpt-4o-mini": true, "GPT-4o-mini-2024-07-18": true, "llama3.1:8b": true,
		"gpt-9000": false, "": false, "gpt-4ofree": false,
	} {
		if got := p.Priced(model); got != want {
			t.Errorf("Priced(%q) = %v, want %v", model, got, want)
		}
	}
	models := strings.Join(p.Models(), ",")
	if !strings.Contains(models, "gpt-4o-mini") || !strings.Contains(models, "llama3.1:8b") || strings.Contains(models, "embedding") {
		t.Errorf("Models() = %s", models)
	}
}
