package loaders

// Priming: rows a root field read ahead of its nested fields (graph's
// lookahead, store.Ahead) go into the loaders those fields ask, linked as
// the loaders' own batch functions link what they fetch, so a primed field
// and a loaded one see the same values. A key already cached is left as it
// is (dataloadgen's Prime). Only rows of the request's own user reach here:
// they were read in the request's batch, under its RLS settings.

import (
	"github.com/google/uuid"
	"github.com/vikstrous/dataloadgen"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
	"github.com/agentgraph/agentgraph/internal/store"
)

// PrimeAgents caches agents read together, linked together as the Agent
// loader links a batch it fetches.
func (l *Loaders) PrimeAgents(agents []*domain.Agent) {
	LinkAgents(agents)
	for _, a := range agents {
		l.Agent().Prime(a.ID, a)
	}
}

// PrimeMessagePages caches message pages by their keys, their messages
// linked together as the MessagePage loader links them.
func (l *Loaders) PrimeMessagePages(pages map[store.MessagesKey]page.Page[*domain.Message]) {
	var all []*domain.Message
	for _, p := range pages {
		all = append(all, p.Items...)
	}
	LinkMessages(all)
	for k, p := range pages {
		l.MessagePage().Prime(k, p)
	}
}

// PrimeSkills caches the skills of agents: an agent absent from byAgent has
// none.
func (l *Loaders) PrimeSkills(agents []uuid.UUID, byAgent map[uuid.UUID][]*domain.Skill) {
	primeLists(l.Skills(), agents, byAgent)
}

// PrimeTraining caches the training data of agents.
func (l *Loaders) PrimeTraining(agents []uuid.UUID, byAgent map[uuid.UUID][]*domain.TrainingData) {
	primeLists(l.Training(), agents, byAgent)
}

// PrimeAccess caches the knowledge access of agents, with their collections
// linked together as the Access loader links them.
func (l *Loaders) PrimeAccess(agents []uuid.UUID, byAgent map[uuid.UUID][]*domain.KnowledgeAccess) {
	var all []*domain.KnowledgeAccess
	for _, id := range agents {
		all = append(all, byAgent[id]...)
	}
	linkAccess(all)
	primeLists(l.Access(), agents, byAgent)
}

// primeLists caches the list of each key, empty when byKey has none (as the
// lists adapter answers a key without rows).
func primeLists[K comparable, V any](l *dataloadgen.Loader[K, []V], keys []K, byKey map[K][]V) {
	for _, k := range keys {
		v, ok := byKey[k]
		if !ok {
			v = []V{}
		}
		l.Prime(k, v)
	}
}
