package graph

import (
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
)

// Caps of the lists that are not paged (README.md, SECURITY.md). A list
// returns at most its cap, oldest first, so that complexity can price it by
// what it can return: without a cap, a walk collections → agents →
// knowledgeAccess → collection → agents … grows with the data at every hop
// while its price stays flat.
const (
	MaxSkills           = 50
	MaxTrainingData     = 50
	MaxKnowledgeAccess  = 50
	MaxCollectionAgents = 50
	// maxBuckets prices usage buckets: a DAY grouping over a long range
	// can return many, each a handful of scalars.
	maxBuckets = 100
	// maxIntegrations prices integrations: one per provider.
	maxIntegrations = 20
	// maxSearchHits prices searchKnowledge when its limit is not given.
	maxSearchHits = 10
)

// capped cuts a list to its cap (see MaxSkills).
func capped[T any](items []T, n int) []T {
	if len(items) > n {
		return items[:n]
	}
	return items
}

// setComplexity prices every list by what it can return: a connection by
// its page size, an unpaged list by its cap, times the price of what is
// selected in each item. Scalars and single objects cost 1 (gqlgen's default).
func setComplexity(c *ComplexityRoot) {
	size := func(first *int) int {
		if first == nil || *first <= 0 {
			return page.DefaultSize
		}
		// Above MaxSize the request fails with BAD_USER_INPUT on first;
		// pricing it here would hide that answer behind a complexity error.
		return min(*first, page.MaxSize)
	}
	list := func(n int) func(child int) int { return func(child int) int { return 1 + child*n } }

	c.Query.Agents = func(child int, first *int, _ *string, _ *domain.AgentStatus, _ *domain.AgentType) int {
		return 1 + child*size(first)
	}
	c.Query.Collections = func(child int, first *int, _ *string) int { return 1 + child*size(first) }
	c.Query.Threads = func(child int, first *int, _ *string, _ *string) int { return 1 + child*size(first) }
	c.Query.Feed = func(child int, first *int, _ *string, _ *string, _ []string) int { return 1 + child*size(first) }
	c.Query.SearchKnowledge = func(child int, _ string, _ *string, _ []string, limit *int) int {
		if limit == nil {
			return 1 + child*maxSearchHits
		}
		return 1 + child*size(limit)
	}
	c.Query.Integrations = list(maxIntegrations)
	c.UsageReport.Buckets = list(maxBuckets)

	c.KnowledgeCollection.Entries = func(child int, first *int, _ *string, _ *domain.KnowledgeType) int {
		return 1 + child*size(first)
	}
	c.KnowledgeCollection.Agents = list(MaxCollectionAgents)
	c.Agent.Threads = func(child int, first *int, _ *string) int { return 1 + child*size(first) }
	c.Agent.Skills = list(MaxSkills)
	c.Agent.TrainingData = list(MaxTrainingData)
	c.Agent.KnowledgeAccess = list(MaxKnowledgeAccess)
	c.Thread.Messages = func(child int, last *int, _ *string) int { return 1 + child*size(last) }
}
