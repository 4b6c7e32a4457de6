package chat

import (
	"fmt"
	"strings"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/store"
)

// knowledgeTokenBudget bounds the recalled knowledge in a prompt (4
// characters a token, like the history).
const knowledgeTokenBudget = 1500

// BuildPrompt assembles a reply's messages: a system message from the agent
// (name, personality, objective, instructions, background), its enabled
// training data, the user's personalization and the knowledge recalled for
// the message (each entry marked with its collection), then the latest messages of
// the thread that fit historyTokenBudget, oldest first.
func BuildPrompt(a *domain.Agent, pc *store.PromptContext) []llm.Message {
	var sb strings.Builder
	fmt.Fprintf(&sb, "You are %s, a %s agent.", a.Name, a.Type)
	line := func(label string, v *string) {
		if v != nil && *v != "" {
			fmt.Fprintf(&sb, "\n%s: %s", label, *v)
		}
	}
	line("Tone", a.Personality.Tone)
	line("Verbosity", a.Personality.Verbosity)
	line("Objective", a.Objective)
	line("Instructions", a.Instructions)
	line("Background", a.Background)
	sections := map[domain.TrainingDataType]string{
		domain.TrainingDataInstruction: "Instructions to follow",
		domain.TrainingDataKnowledge:   "Knowledge",
		domain.TrainingDataExample:     "Examples",
	}
	for _, typ := range []domain.TrainingDataType{domain.TrainingDataInstruction, domain.TrainingDataKnowledge, domain.TrainingDataExample} {
		first := true
		for _, t := range pc.Training {
			if t.Type != typ || !t.Enabled {
				continue
			}
			if first {
				fmt.Fprintf(&sb, "\n\n%s:", sections[typ])
				first = false
			}
			fmt.Fprintf(&sb, "\n- %s: %s", t.Title, t.Content)
		}
	}
	if p := pc.Personalization; p != nil {
		sb.WriteString("\n\nAbout the user:")
		for _, f := range []struct {
			label string
			v     *string
		}{{"Bio", p.Bio}, {"Occupation", p.Occupation}, {"Company", p.Company}, {"Goals", p.Goals},
			{"Interests", p.Interests}, {"About", p.AboutMe}} {
			if f.v != nil && *f.v != "" {
				fmt.Fprintf(&sb, "\n- %s: %s", f.label, *f.v)
			}
		}
	}
	knowledgeSection(&sb, pc.Knowledge)
	msgs := []llm.Message{{Role: "system", Content: sb.String()}}
	// Walk back from the newest message while the budget lasts.
	budget, start := historyTokenBudget, len(pc.History)
	for start > 0 {
		cost := len(pc.History[start-1].Content)/4 + 4
		if cost > budget && start < len(pc.History) {
			break
		}
		budget -= cost
		start--
	}
	for _, m := range pc.History[start:] {
		msgs = append(msgs, llm.Message{Role: string(m.Role), Content: m.Content})
	}
	return msgs
}

// knowledgeSection writes the recalled entries, most relevant first, each
// marked with its collection, skipping those that no longer fit the budget.
func knowledgeSection(sb *strings.Builder, recalled []store.Recalled) {
	budget, first := knowledgeTokenBudget, true
	for _, r := range recalled {
		cost := (len(r.Collection)+len(r.Entry.Content))/4 + 6
		if cost > budget {
			continue
		}
		budget -= cost
		if first {
			sb.WriteString("\n\nKnowledge from your collections (most relevant first):")
			first = false
		}
		fmt.Fprintf(sb, "\n- [%s] %s", r.Collection, r.Entry.Content)
	}
}
