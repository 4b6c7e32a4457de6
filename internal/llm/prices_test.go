package llm_test

import (
	"maps"
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

func TestPricedAndModels(t *testing.T) {
	over, err := llm.ParsePrices(`{"llama3.1:8b": {"input": 0, "output": 0}}`)
	if err != nil {
		t.Fatal(err)
	}
	p := llm.DefaultPrices()
	maps.Copy(p, over)
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
