package llm

import (
	"slices"
	"strings"
)

// Priced reports whether model has a price (exactly or by prefix, as Cost
// matches): only such models may be chosen for an agent, since an unpriced
// model's usage would be logged at 0 cents.
func (p Prices) Priced(model string) bool {
	_, ok := p.lookup(model)
	return ok
}

// Models lists the table's entries, sorted, to tell a client what it may
// choose (a dated snapshot of a listed family is also allowed).
func (p Prices) Models() []string {
	out := make([]string, 0, len(p))
	for k := range p {
		// Embedding models are not for chat.
		if !strings.Contains(k, "embedding") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
