// Package seed gives a user believable demo data (`agentgraph seed`): a
// head agent and an agent of every type with personalities, skills and
// training data, knowledge collections with entries, finished
// conversations, a feed and a month of usage. It goes through the same
// domain services as the API, as the user (RLS applies), and through the
// store's service-role helpers only for what users never write (assistant
// replies, past feed events, usage). Running it again adds nothing:
// agents and collections are found by name, and the rest is written only
// where none is yet.
package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/agents"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/jobs"
	"github.com/agentgraph/agentgraph/internal/knowledge"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/page"
	"github.com/agentgraph/agentgraph/internal/store"
)

// Report says what a run wrote.
type Report struct {
	AgentsCreated, CollectionsCreated, Conversations int
	Feed, Usage                                      bool
}

func (r Report) String() string {
	return fmt.Sprintf("%d agents and %d collections created, %d conversations stored, feed history %s, usage history %s",
		r.AgentsCreated, r.CollectionsCreated, r.Conversations, yesNo(r.Feed), yesNo(r.Usage))
}

func yesNo(b bool) string {
	if b {
		return "added"
	}
	return "already there"
}

// Seed writes the demo for user through st; now dates the history. jc,
// when set, inserts the index jobs of the knowledge entries, so a server
// indexes them (nil: they stay PENDING, found by full text).
func Seed(ctx context.Context, st *store.Store, jc *jobs.Client, prices llm.Prices, user uuid.UUID, now time.Time) (Report, error) {
	var rep Report
	ctx = auth.WithUser(ctx, auth.User{ID: user, Role: "authenticated", ExpiresAt: now.Add(time.Hour)})
	svc := agents.New(st, "gpt-4o-mini", prices)
	kn := knowledge.New(st, nil, jc)

	existing, err := st.Agents(ctx, store.AgentFilter{}, page.Args{Size: page.MaxSize}, nil)
	if err != nil {
		return rep, fmt.Errorf("seed: list agents: %w", err)
	}
	byName := map[string]*domain.Agent{}
	for _, a := range existing.Items {
		byName[a.Name] = a
	}
	made := map[string]*domain.Agent{}
	for _, d := range demoAgents {
		a := byName[d.in.Name]
		if a == nil {
			if a, err = createAgent(ctx, svc, d); err != nil {
				return rep, err
			}
			rep.AgentsCreated++
		}
		made[d.in.Name] = a
	}

	cols, err := st.Collections(ctx, page.Args{Size: page.MaxSize})
	if err != nil {
		return rep, fmt.Errorf("seed: list collections: %w", err)
	}
	colByName := map[string]*domain.Collection{}
	for _, c := range cols.Items {
		colByName[c.Name] = c
	}
	for _, d := range demoCollections {
		c := colByName[d.in.Name]
		if c == nil {
			if c, err = kn.CreateCollection(ctx, d.in); err != nil {
				return rep, fmt.Errorf("seed: collection %q: %w", d.in.Name, err)
			}
			for _, e := range d.entries {
				e.CollectionID = c.ID.String()
				if _, err := kn.AddEntry(ctx, e); err != nil {
					return rep, fmt.Errorf("seed: entry of %q: %w", d.in.Name, err)
				}
			}
			rep.CollectionsCreated++
		}
		// Granting again only sets the level: idempotent.
		for agent, level := range d.access {
			if _, err := kn.Grant(ctx, made[agent].ID.String(), c.ID.String(), level); err != nil {
				return rep, fmt.Errorf("seed: grant %q to %q: %w", d.in.Name, agent, err)
			}
		}
	}

	for _, c := range demoConversations {
		a := made[c.agent]
		msgs := make([]store.SeedMessage, len(c.lines))
		start := now.Add(-c.ago)
		for i, l := range c.lines {
			msgs[i] = store.SeedMessage{Assistant: i%2 == 1, Content: l, At: start.Add(time.Duration(i) * 40 * time.Second)}
		}
		thread := a.ID.String() + ":direct"
		if c.thread != "" {
			thread = c.thread
		}
		wrote, err := st.SeedConversation(ctx, user, a.ID, a.Name, thread, msgs)
		if err != nil {
			return rep, fmt.Errorf("seed: conversation with %q: %w", c.agent, err)
		}
		if wrote {
			rep.Conversations++
		}
	}

	var evs []store.SeedFeedEvent
	for _, e := range demoFeed {
		ev := store.SeedFeedEvent{Type: e.typ, Message: e.msg, At: now.Add(-e.ago)}
		if a := made[e.agent]; a != nil {
			ev.Agent = &a.ID
		}
		evs = append(evs, ev)
	}
	if rep.Feed, err = st.SeedFeed(ctx, user, evs); err != nil {
		return rep, fmt.Errorf("seed: feed: %w", err)
	}
	if rep.Usage, err = st.SeedUsageHistory(ctx, user, usage(made, prices, now)); err != nil {
		return rep, fmt.Errorf("seed: usage: %w", err)
	}
	return rep, nil
}

func createAgent(ctx context.Context, svc *agents.Service, d demoAgent) (*domain.Agent, error) {
	a, err := svc.Create(ctx, d.in)
	if err != nil {
		return nil, fmt.Errorf("seed: agent %q: %w", d.in.Name, err)
	}
	for _, s := range d.skills {
		if _, err := svc.InstallSkill(ctx, a.ID.String(), s); err != nil {
			return nil, fmt.Errorf("seed: skill %q of %q: %w", s.Slug, d.in.Name, err)
		}
	}
	for _, t := range d.training {
		if _, err := svc.AddTraining(ctx, a.ID.String(), t); err != nil {
			return nil, fmt.Errorf("seed: training %q of %q: %w", t.Title, d.in.Name, err)
		}
	}
	return a, nil
}

// usage is 30 days of calls per agent, busier on weekdays, priced with
// the server's own table so the costs match what replies would log. The
// generator is seeded by the user's id: the same user gets the same month.
func usage(made map[string]*domain.Agent, prices llm.Prices, now time.Time) []store.SeedUsage {
	var out []store.SeedUsage
	for _, d := range demoAgents {
		a := made[d.in.Name]
		r := rand.New(rand.NewPCG(uint64(a.UserID.ID()), uint64(len(d.in.Name))))
		model := a.Personality.Model
		for day := 30; day >= 1; day-- {
			at := now.Add(-time.Duration(day) * 24 * time.Hour)
			calls := 1 + r.IntN(4)
			if wd := at.Weekday(); wd == time.Saturday || wd == time.Sunday {
				calls = r.IntN(2)
			}
			for i := 0; i < calls; i++ {
				in, out1 := 400+r.IntN(2600), 120+r.IntN(900)
				cost, _ := prices.Cost(model, in, out1)
				out = append(out, store.SeedUsage{Agent: a.ID, Model: model, Provider: string(llm.ProviderFor(model)),
					Input: in, Output: out1, CostCents: cost, At: at.Add(time.Duration(r.IntN(10*3600)) * time.Second)})
			}
		}
	}
	return out
}
