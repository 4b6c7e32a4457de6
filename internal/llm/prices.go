package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Price is what a model costs, in US cents per million tokens.
type Price struct {
	InputPerMTok  float64
	OutputPerMTok float64
}

// Prices maps a model name (lower case) or name prefix to its price.
type Prices map[string]Price

// DefaultPrices returns the built-in table: providers' list prices (standard
// tier, no batch or cache discounts, the lowest context tier where prices
// are tiered) as of writing, in cents per million tokens. Prices change;
// LLM_PRICES overrides or extends this table without a release.
//
// Keys are matched exactly or as a prefix (see Cost), so dated snapshots
// ("gpt-4o-2024-08-06") inherit their family's price; a variant priced
// differently from its family ("o3-pro" under "o3") needs its own entry.
func DefaultPrices() Prices {
	return Prices{
		// OpenAI
		"gpt-5":         {125, 1000},
		"gpt-5-mini":    {25, 200},
		"gpt-5-nano":    {5, 40},
		"gpt-4.1":       {200, 800},
		"gpt-4.1-mini":  {40, 160},
		"gpt-4.1-nano":  {10, 40},
		"gpt-4o":        {250, 1000},
		"gpt-4o-mini":   {15, 60},
		"gpt-4-turbo":   {1000, 3000},
		"gpt-4":         {3000, 6000},
		"gpt-3.5-turbo": {50, 150},
		"o1":            {1500, 6000},
		"o1-mini":       {110, 440},
		"o1-pro":        {15000, 60000},
		"o3":            {200, 800},
		"o3-mini":       {110, 440},
		"o3-pro":        {2000, 8000},
		"o4-mini":       {110, 440},

		// OpenAI embeddings (input only).
		"text-embedding-3-small": {2, 0},
		"text-embedding-3-large": {13, 0},
		"text-embedding-ada-002": {10, 0},

		// Anthropic
		"claude-opus-4":            {1500, 7500}, // also claude-opus-4-1
		"claude-opus-4-5":          {500, 2500},
		"claude-opus-4-6":          {500, 2500},
		"claude-sonnet-4":          {300, 1500}, // also claude-sonnet-4-5
		"claude-sonnet-4-20250514": {300, 1500},
		"claude-3-7-sonnet":        {300, 1500},
		"claude-3-5-sonnet":        {300, 1500},
		"claude-haiku-4-5":         {100, 500},
		"claude-3-5-haiku":         {80, 400},
		"claude-3-opus":            {1500, 7500},
		"claude-3-haiku":           {25, 125},

		// Google
		"gemini-2.5-pro":        {125, 1000},
		"gemini-2.5-flash":      {30, 250},
		"gemini-2.5-flash-lite": {10, 40},
		"gemini-2.0-flash":      {10, 40},
		"gemini-2.0-flash-lite": {7.5, 30},
		"gemini-1.5-pro":        {125, 500},
		"gemini-1.5-flash":      {7.5, 30},
	}
}

// Cost returns what in prompt tokens and out completion tokens of model cost,
// in cents. The price is the exact entry for model if there is one, else the
// longest entry that is a prefix of model ending at a separator ('-', ':' or
// '@'), so "gpt-4o-mini-2024-07-18" costs as "gpt-4o-mini" but "gpt-4o" never
// costs as "gpt-4". An unknown model costs 0 with known false: usage is still
// logged, and the caller can tell a free model from an unpriced one.
func (p Prices) Cost(model string, in, out int) (cents float64, known bool) {
	price, ok := p.lookup(model)
	if !ok {
		return 0, false
	}
	return (float64(in)*price.InputPerMTok + float64(out)*price.OutputPerMTok) / 1e6, true
}

func (p Prices) lookup(model string) (Price, bool) {
	m := strings.ToLower(strings.TrimSpace(model))
	if price, ok := p[m]; ok {
		return price, true
	}
	best, found := "", false
	for key := range p {
		k := strings.ToLower(key)
		if len(k) <= len(best) || len(k) >= len(m) || !strings.HasPrefix(m, k) {
			continue
		}
		if strings.IndexByte("-:@", m[len(k)]) < 0 {
			continue
		}
		best, found = key, true
	}
	if !found {
		return Price{}, false
	}
	return p[best], true
}

// ParsePrices reads LLM_PRICES (internal/config reads the environment). Unknown fields are errors, so a typo such as
// "inputs" fails at startup instead of silently pricing a model at zero.
func ParsePrices(raw string) (Prices, error) {
	var in map[string]struct {
		Input  *float64 `json:"input"`
		Output *float64 `json:"output"`
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("want a JSON object {\"model\": {\"input\": cents, \"output\": cents}}: %w", err)
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON object")
	}
	if in == nil {
		return nil, errors.New("want a JSON object, got null")
	}
	out := make(Prices, len(in))
	for model, v := range in {
		name := strings.ToLower(strings.TrimSpace(model))
		if name == "" {
			return nil, errors.New("empty model name")
		}
		if v.Input == nil {
			return nil, fmt.Errorf("%s: missing \"input\" (cents per million prompt tokens)", model)
		}
		price := Price{InputPerMTok: *v.Input}
		if v.Output != nil {
			price.OutputPerMTok = *v.Output
		}
		for _, x := range []float64{price.InputPerMTok, price.OutputPerMTok} {
			if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%s: prices must be non-negative numbers", model)
			}
		}
		out[name] = price
	}
	return out, nil
}
