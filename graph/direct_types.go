package graph

// The types and fields direct execution answers (direct.go), each written as
// gqlgen's generated code for it writes it. A field not listed in
// directFields sends its query through gqlgen; a listed field must have its
// case here (a missing one sends the query to gqlgen at run time, which the
// tests' comparison does not notice, so keep the two together).

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/graph/model"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/ratelimit"
	"github.com/agentgraph/agentgraph/internal/spend"
	"github.com/agentgraph/agentgraph/internal/store"
)

// directFields lists, per object type, the fields direct execution answers.
// Resolver fields below the root are listed only when they load linked
// (loaders.Linked) or read what their parent carries: direct execution
// resolves one object after another, and a linked load queues the keys of
// all siblings at the first one, so the round trips stay those of gqlgen's
// concurrent execution.
var directFields = fieldSets(map[string]string{
	"Query":                         "viewer agents agent thread threads feed collections collection searchKnowledge usage integrations rateLimit",
	"Viewer":                        "id personalization headAgent budget integrations",
	"Personalization":               "bio occupation company goals interests aboutMe twitter linkedin github instagram",
	"Budget":                        "monthlyCents custom spentCents remainingCents exceeded",
	"RateLimit":                     "limit cost remaining resetAt",
	"Integration":                   "provider scopes expiresAt connected metadata updatedAt status connectedAt",
	"KnowledgeHit":                  "entry score",
	"UsageReport":                   "totals buckets",
	"UsageTotals":                   "calls inputTokens outputTokens costCents",
	"UsageBucket":                   "key calls inputTokens outputTokens costCents",
	"AgentConnection":               "edges pageInfo totalCount",
	"AgentEdge":                     "cursor node",
	"PageInfo":                      "hasNextPage hasPreviousPage startCursor endCursor",
	"Agent":                         "id name type status trustTier personality objective instructions background emailAddress isHead level xp createdAt updatedAt skills trainingData knowledgeAccess threads usage",
	"Personality":                   "model tone verbosity maxTokens",
	"AgentSkill":                    "id slug name category level installedAt",
	"TrainingData":                  "id type title content enabled createdAt updatedAt",
	"KnowledgeAccess":               "accessLevel collection",
	"KnowledgeCollection":           "id name description isDefault createdAt updatedAt entryCount entries agents",
	"KnowledgeCollectionConnection": "edges pageInfo totalCount",
	"KnowledgeCollectionEdge":       "cursor node",
	"KnowledgeEntryConnection":      "edges pageInfo totalCount",
	"KnowledgeEntryEdge":            "cursor node",
	"KnowledgeEntry":                "id collection content type importance source createdAt updatedAt indexStatus indexedAt indexError",
	"ThreadConnection":              "edges pageInfo totalCount",
	"ThreadEdge":                    "cursor node",
	"Thread":                        "id agent messages lastMessage updatedAt messageCount createdAt",
	"ChatMessageConnection":         "edges pageInfo totalCount",
	"ChatMessageEdge":               "cursor node",
	"ChatMessage":                   "id threadId role content agent agentName createdAt status replyTo",
	"FeedEventConnection":           "edges pageInfo totalCount",
	"FeedEventEdge":                 "cursor node",
	"FeedEvent":                     "id type message agent createdAt",
})

// directLoads lists, per object type, the fields of directFields that may
// wait for a loader's batch when no root read them ahead: warm starts them
// together.
var directLoads = map[string]map[string]bool{
	"Agent":               {"skills": true, "trainingData": true, "knowledgeAccess": true, "threads": true, "usage": true},
	"Thread":              {"agent": true, "messages": true, "lastMessage": true},
	"KnowledgeCollection": {"entries": true, "entryCount": true, "agents": true},
	"Viewer":              {"personalization": true, "headAgent": true, "budget": true, "integrations": true},
}

// fieldSets turns space-separated field names into sets, __typename
// included in each.
func fieldSets(spec map[string]string) map[string]map[string]bool {
	sets := make(map[string]map[string]bool, len(spec))
	for typ, names := range spec {
		set := map[string]bool{"__typename": true}
		for _, n := range strings.Fields(names) {
			set[n] = true
		}
		sets[typ] = set
	}
	return sets
}

// enterRoot gives d, for the root field f it is about to resolve, the
// context gqlgen gives a root field's resolver: its field context
// (lookahead reads the selection from it) and root field context. query
// restores the outer context when the field is written.
func (d *direct) enterRoot(f *graphql.CollectedField, args map[string]any) {
	ctx := graphql.WithRootFieldContext(d.ctx, &graphql.RootFieldContext{Object: f.Name, Field: *f})
	d.ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: "Query", Field: *f, Args: args, IsMethod: true, IsResolver: true})
}

func (d *direct) query(f *graphql.CollectedField, _ struct{}) bool {
	outer := d.ctx
	defer func() { d.ctx = outer }()
	q := d.ec.Resolvers.Query()
	vars := d.oc.Variables
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "Query")
		return true
	case "agents":
		args, err := d.ec.field_Query_agents_args(d.ctx, f.ArgumentMap(vars))
		if err != nil {
			return false
		}
		d.enterRoot(f, args)
		c, err := q.Agents(d.ctx, args["first"].(*int), args["after"].(*string), args["status"].(*domain.AgentStatus), args["type"].(*domain.AgentType))
		return err == nil && writeOne(d, f.Selections, agentConnectionImplementors, c, true, (*direct).agentConnection)
	case "agent":
		args, err := d.ec.field_Query_agent_args(d.ctx, f.ArgumentMap(vars))
		if err != nil {
			return false
		}
		d.enterRoot(f, args)
		a, err := q.Agent(d.ctx, args["id"].(string))
		return err == nil && writeOne(d, f.Selections, agentImplementors, a, false, (*direct).agent)
	case "thread":
		args, err := d.ec.field_Query_thread_args(d.ctx, f.ArgumentMap(vars))
		if err != nil {
			return false
		}
		d.enterRoot(f, args)
		t, err := q.Thread(d.ctx, args["id"].(string))
		return err == nil && writeOne(d, f.Selections, threadImplementors, t, false, (*direct).thread)
	case "threads":
		args, err := d.ec.field_Query_threads_args(d.ctx, f.ArgumentMap(vars))
		if err != nil {
			return false
		}
		d.enterRoot(f, args)
		c, err := q.Threads(d.ctx, args["first"].(*int), args["after"].(*string), args["agentId"].(*string))
		return err == nil && writeOne(d, f.Selections, threadConnectionImplementors, c, true, (*direct).threadConnection)
	case "feed":
		args, err := d.ec.field_Query_feed_args(d.ctx, f.ArgumentMap(vars))
		if err != nil {
			return false
		}
		d.enterRoot(f, args)
		c, err := q.Feed(d.ctx, args["first"].(*int), args["after"].(*string), args["agentId"].(*string), args["types"].([]string))
		return err == nil && writeOne(d, f.Selections, feedEventConnectionImplementors, c, true, (*direct).feedConnection)
	case "viewer":
		d.enterRoot(f, nil)
		v, err := q.Viewer(d.ctx)
		return err == nil && writeOne(d, f.Selections, viewerImplementors, v, true, (*direct).viewer)
	case "searchKnowledge":
		args, err := d.ec.field_Query_searchKnowledge_args(d.ctx, f.ArgumentMap(vars))
		if err != nil {
			return false
		}
		d.enterRoot(f, args)
		hits, err := q.SearchKnowledge(d.ctx, args["query"].(string), args["agentId"].(*string), args["collectionIds"].([]string), args["limit"].(*int))
		return err == nil && writeList(d, f.Selections, knowledgeHitImplementors, hits, (*direct).hit)
	case "usage":
		args, err := d.ec.field_Query_usage_args(d.ctx, f.ArgumentMap(vars))
		if err != nil {
			return false
		}
		d.enterRoot(f, args)
		u, err := q.Usage(d.ctx, args["from"].(*time.Time), args["to"].(*time.Time), args["groupBy"].(model.UsageGroupBy))
		return err == nil && writeOne(d, f.Selections, usageReportImplementors, u, true, (*direct).usageReport)
	case "rateLimit":
		d.enterRoot(f, nil)
		s, err := q.RateLimit(d.ctx)
		return err == nil && writeOne(d, f.Selections, rateLimitImplementors, s, false, (*direct).rateLimit)
	case "integrations":
		d.enterRoot(f, nil)
		list, err := q.Integrations(d.ctx)
		return err == nil && writeList(d, f.Selections, integrationImplementors, list, (*direct).integration)
	case "collections":
		args, err := d.ec.field_Query_collections_args(d.ctx, f.ArgumentMap(vars))
		if err != nil {
			return false
		}
		d.enterRoot(f, args)
		c, err := q.Collections(d.ctx, args["first"].(*int), args["after"].(*string))
		return err == nil && writeOne(d, f.Selections, knowledgeCollectionConnectionImplementors, c, true, (*direct).collectionConnection)
	case "collection":
		args, err := d.ec.field_Query_collection_args(d.ctx, f.ArgumentMap(vars))
		if err != nil {
			return false
		}
		d.enterRoot(f, args)
		c, err := q.Collection(d.ctx, args["id"].(string))
		return err == nil && writeOne(d, f.Selections, knowledgeCollectionImplementors, c, false, (*direct).collection)
	}
	return false
}

func (d *direct) pageInfo(f *graphql.CollectedField, p *model.PageInfo) bool {
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "PageInfo")
	case "hasNextPage":
		d.b = strconv.AppendBool(d.b, p.HasNextPage)
	case "hasPreviousPage":
		d.b = strconv.AppendBool(d.b, p.HasPreviousPage)
	case "startCursor":
		d.b = appendOptString(d.b, p.StartCursor())
	case "endCursor":
		d.b = appendOptString(d.b, p.EndCursor())
	default:
		return false
	}
	return true
}

// count writes a connection's totalCount.
func (d *direct) count(count func() (int, error)) bool {
	n, err := count()
	if err != nil {
		return false
	}
	d.b = strconv.AppendInt(d.b, int64(n), 10)
	return true
}

// connection writes a field of a connection type: its edges, pageInfo and
// totalCount.
func connection[E comparable](d *direct, f *graphql.CollectedField, typename string, edges []E, edgeImplementors []string,
	info *model.PageInfo, count model.CountFunc, write fieldWriter[E]) bool {
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, typename)
		return true
	case "edges":
		return writeList(d, f.Selections, edgeImplementors, edges, write)
	case "pageInfo":
		return writeOne(d, f.Selections, pageInfoImplementors, info, true, (*direct).pageInfo)
	case "totalCount":
		return d.count(func() (int, error) { return count(d.ctx) })
	}
	return false
}

// edge writes a field of an edge type: its cursor and node.
func edge[N comparable](d *direct, f *graphql.CollectedField, typename string, e model.Edge, node N, nodeImplementors []string, write fieldWriter[N]) bool {
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, typename)
		return true
	case "cursor":
		d.b = appendQuoted(d.b, e.Cursor())
		return true
	case "node":
		return writeOne(d, f.Selections, nodeImplementors, node, true, write)
	}
	return false
}

func (d *direct) agentConnection(f *graphql.CollectedField, c *model.AgentConnection) bool {
	return connection(d, f, "AgentConnection", c.Edges, agentEdgeImplementors, c.PageInfo, c.Count, (*direct).agentEdge)
}

func (d *direct) agentEdge(f *graphql.CollectedField, e *model.AgentEdge) bool {
	return edge(d, f, "AgentEdge", e, e.Node, agentImplementors, (*direct).agent)
}

func (d *direct) agent(f *graphql.CollectedField, a *domain.Agent) bool {
	ok := true
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "Agent")
	case "id":
		d.b, ok = appendID(d.b, a.ID)
	case "name":
		d.b = appendQuoted(d.b, a.Name)
	case "type":
		d.b, ok = appendEnum(d.b, marshalNAgentType2githubᚗcomᚋagentgraphᚋagentgraphᚋinternalᚋdomainᚐAgentType, a.Type)
	case "status":
		d.b, ok = appendEnum(d.b, marshalNAgentStatus2githubᚗcomᚋagentgraphᚋagentgraphᚋinternalᚋdomainᚐAgentStatus, a.Status)
	case "trustTier":
		d.b, ok = appendEnum(d.b, marshalNTrustTier2githubᚗcomᚋagentgraphᚋagentgraphᚋinternalᚋdomainᚐTrustTier, a.TrustTier)
	case "personality":
		return writeObject(d, "Personality", graphql.CollectFields(d.oc, f.Selections, personalityImplementors), &a.Personality, (*direct).personality)
	case "objective":
		d.b = appendOptString(d.b, a.Objective)
	case "instructions":
		d.b = appendOptString(d.b, a.Instructions)
	case "background":
		d.b = appendOptString(d.b, a.Background)
	case "emailAddress":
		d.b = appendOptString(d.b, a.EmailAddress)
	case "isHead":
		d.b = strconv.AppendBool(d.b, a.IsHead)
	case "level":
		d.b = strconv.AppendInt(d.b, int64(a.Level), 10)
	case "xp":
		d.b = strconv.AppendInt(d.b, int64(a.Xp), 10)
	case "createdAt":
		d.b, ok = appendTime(d.b, a.CreatedAt)
	case "updatedAt":
		d.b, ok = appendTime(d.b, a.UpdatedAt)
	case "skills":
		r := d.ec.Resolvers.Agent()
		skills, err := r.Skills(d.ctx, a)
		return err == nil && writeList(d, f.Selections, agentSkillImplementors, skills, (*direct).skill)
	case "trainingData":
		r := d.ec.Resolvers.Agent()
		training, err := r.TrainingData(d.ctx, a)
		return err == nil && writeList(d, f.Selections, trainingDataImplementors, training, (*direct).training)
	case "knowledgeAccess":
		r := d.ec.Resolvers.Agent()
		access, err := r.KnowledgeAccess(d.ctx, a)
		return err == nil && writeList(d, f.Selections, knowledgeAccessImplementors, access, (*direct).access)
	case "threads":
		args, err := d.ec.field_Agent_threads_args(d.ctx, f.ArgumentMap(d.oc.Variables))
		if err != nil {
			return false
		}
		c, err := d.ec.Resolvers.Agent().Threads(d.ctx, a, args["first"].(*int), args["after"].(*string))
		return err == nil && writeOne(d, f.Selections, threadConnectionImplementors, c, true, (*direct).threadConnection)
	case "usage":
		args, err := d.ec.field_Agent_usage_args(d.ctx, f.ArgumentMap(d.oc.Variables))
		if err != nil {
			return false
		}
		u, err := d.ec.Resolvers.Agent().Usage(d.ctx, a, args["from"].(*time.Time), args["to"].(*time.Time))
		return err == nil && writeOne(d, f.Selections, usageTotalsImplementors, u, true, (*direct).usageTotals)
	default:
		return false
	}
	return ok
}

func (d *direct) personality(f *graphql.CollectedField, p *domain.Personality) bool {
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "Personality")
	case "model":
		d.b = appendQuoted(d.b, p.Model)
	case "tone":
		d.b = appendOptString(d.b, p.Tone)
	case "verbosity":
		d.b = appendOptString(d.b, p.Verbosity)
	case "maxTokens":
		d.b = appendOptInt(d.b, p.MaxTokens)
	default:
		return false
	}
	return true
}

func (d *direct) skill(f *graphql.CollectedField, s *domain.Skill) bool {
	ok := true
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "AgentSkill")
	case "id":
		d.b, ok = appendID(d.b, s.ID)
	case "slug":
		d.b = appendQuoted(d.b, s.Slug)
	case "name":
		d.b = appendQuoted(d.b, s.Name)
	case "category":
		d.b = appendOptString(d.b, s.Category)
	case "level":
		d.b = strconv.AppendInt(d.b, int64(s.Level), 10)
	case "installedAt":
		d.b, ok = appendTime(d.b, s.InstalledAt)
	default:
		return false
	}
	return ok
}

func (d *direct) training(f *graphql.CollectedField, t *domain.TrainingData) bool {
	ok := true
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "TrainingData")
	case "id":
		d.b, ok = appendID(d.b, t.ID)
	case "type":
		d.b, ok = appendEnum(d.b, marshalNTrainingDataType2githubᚗcomᚋagentgraphᚋagentgraphᚋinternalᚋdomainᚐTrainingDataType, t.Type)
	case "title":
		d.b = appendQuoted(d.b, t.Title)
	case "content":
		d.b = appendQuoted(d.b, t.Content)
	case "enabled":
		d.b = strconv.AppendBool(d.b, t.Enabled)
	case "createdAt":
		d.b, ok = appendTime(d.b, t.CreatedAt)
	case "updatedAt":
		d.b, ok = appendTime(d.b, t.UpdatedAt)
	default:
		return false
	}
	return ok
}

func (d *direct) access(f *graphql.CollectedField, k *domain.KnowledgeAccess) bool {
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "KnowledgeAccess")
		return true
	case "accessLevel":
		var ok bool
		d.b, ok = appendEnum(d.b, marshalNAccessLevel2githubᚗcomᚋagentgraphᚋagentgraphᚋinternalᚋdomainᚐAccessLevel, k.AccessLevel)
		return ok
	case "collection":
		c, err := d.ec.Resolvers.KnowledgeAccess().Collection(d.ctx, k)
		return err == nil && writeOne(d, f.Selections, knowledgeCollectionImplementors, c, true, (*direct).collection)
	}
	return false
}

func (d *direct) collection(f *graphql.CollectedField, c *domain.Collection) bool {
	ok := true
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "KnowledgeCollection")
	case "id":
		d.b, ok = appendID(d.b, c.ID)
	case "name":
		d.b = appendQuoted(d.b, c.Name)
	case "description":
		d.b = appendOptString(d.b, c.Description)
	case "isDefault":
		d.b = strconv.AppendBool(d.b, c.IsDefault)
	case "createdAt":
		d.b, ok = appendTime(d.b, c.CreatedAt)
	case "updatedAt":
		d.b, ok = appendTime(d.b, c.UpdatedAt)
	case "entryCount":
		return d.count(func() (int, error) { return d.ec.Resolvers.KnowledgeCollection().EntryCount(d.ctx, c) })
	case "entries":
		args, err := d.ec.field_KnowledgeCollection_entries_args(d.ctx, f.ArgumentMap(d.oc.Variables))
		if err != nil {
			return false
		}
		e, err := d.ec.Resolvers.KnowledgeCollection().Entries(d.ctx, c, args["first"].(*int), args["after"].(*string), args["type"].(*domain.KnowledgeType))
		return err == nil && writeOne(d, f.Selections, knowledgeEntryConnectionImplementors, e, true, (*direct).entryConnection)
	case "agents":
		agents, err := d.ec.Resolvers.KnowledgeCollection().Agents(d.ctx, c)
		return err == nil && writeList(d, f.Selections, agentImplementors, agents, (*direct).agent)
	default:
		return false
	}
	return ok
}

func (d *direct) collectionConnection(f *graphql.CollectedField, c *model.KnowledgeCollectionConnection) bool {
	return connection(d, f, "KnowledgeCollectionConnection", c.Edges, knowledgeCollectionEdgeImplementors, c.PageInfo, c.Count, (*direct).collectionEdge)
}

func (d *direct) collectionEdge(f *graphql.CollectedField, e *model.KnowledgeCollectionEdge) bool {
	return edge(d, f, "KnowledgeCollectionEdge", e, e.Node, knowledgeCollectionImplementors, (*direct).collection)
}

func (d *direct) entryConnection(f *graphql.CollectedField, c *model.KnowledgeEntryConnection) bool {
	return connection(d, f, "KnowledgeEntryConnection", c.Edges, knowledgeEntryEdgeImplementors, c.PageInfo, c.Count, (*direct).entryEdge)
}

func (d *direct) entryEdge(f *graphql.CollectedField, e *model.KnowledgeEntryEdge) bool {
	return edge(d, f, "KnowledgeEntryEdge", e, e.Node, knowledgeEntryImplementors, (*direct).entry)
}

func (d *direct) entry(f *graphql.CollectedField, e *domain.Entry) bool {
	ok := true
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "KnowledgeEntry")
	case "id":
		d.b, ok = appendID(d.b, e.ID)
	case "collection":
		c, err := d.ec.Resolvers.KnowledgeEntry().Collection(d.ctx, e)
		return err == nil && writeOne(d, f.Selections, knowledgeCollectionImplementors, c, true, (*direct).collection)
	case "content":
		d.b = appendQuoted(d.b, e.Content)
	case "type":
		d.b, ok = appendEnum(d.b, marshalNKnowledgeType2githubᚗcomᚋagentgraphᚋagentgraphᚋinternalᚋdomainᚐKnowledgeType, e.Type)
	case "importance":
		d.b, ok = appendFloat(d.b, e.Importance)
	case "source":
		d.b = appendQuoted(d.b, e.Source)
	case "createdAt":
		d.b, ok = appendTime(d.b, e.CreatedAt)
	case "updatedAt":
		d.b, ok = appendTime(d.b, e.UpdatedAt)
	case "indexStatus":
		d.b, ok = appendEnum(d.b, marshalNIndexStatus2githubᚗcomᚋagentgraphᚋagentgraphᚋinternalᚋdomainᚐIndexStatus, e.IndexStatus)
	case "indexedAt":
		d.b = appendOptTime(d.b, e.IndexedAt)
	case "indexError":
		d.b = appendOptString(d.b, e.IndexError)
	default:
		return false
	}
	return ok
}

func (d *direct) viewer(f *graphql.CollectedField, v *model.Viewer) bool {
	r := d.ec.Resolvers.Viewer()
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "Viewer")
		return true
	case "id":
		d.b = appendQuoted(d.b, v.ID)
		return true
	case "personalization":
		p, err := r.Personalization(d.ctx, v)
		return err == nil && writeOne(d, f.Selections, personalizationImplementors, p, false, (*direct).personalization)
	case "headAgent":
		a, err := r.HeadAgent(d.ctx, v)
		return err == nil && writeOne(d, f.Selections, agentImplementors, a, false, (*direct).agent)
	case "budget":
		b, err := r.Budget(d.ctx, v)
		return err == nil && writeOne(d, f.Selections, budgetImplementors, b, true, (*direct).budget)
	case "integrations":
		list, err := r.Integrations(d.ctx, v)
		return err == nil && writeList(d, f.Selections, integrationImplementors, list, (*direct).integration)
	}
	return false
}

func (d *direct) personalization(f *graphql.CollectedField, p *domain.Personalization) bool {
	var v *string
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "Personalization")
		return true
	case "bio":
		v = p.Bio
	case "occupation":
		v = p.Occupation
	case "company":
		v = p.Company
	case "goals":
		v = p.Goals
	case "interests":
		v = p.Interests
	case "aboutMe":
		v = p.AboutMe
	case "twitter":
		v = p.Twitter
	case "linkedin":
		v = p.Linkedin
	case "github":
		v = p.Github
	case "instagram":
		v = p.Instagram
	default:
		return false
	}
	d.b = appendOptString(d.b, v)
	return true
}

func (d *direct) budget(f *graphql.CollectedField, b *spend.Budget) bool {
	ok := true
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "Budget")
	case "monthlyCents":
		d.b, ok = appendOptFloat(d.b, b.MonthlyCents)
	case "custom":
		d.b = strconv.AppendBool(d.b, b.Custom)
	case "spentCents":
		d.b, ok = appendFloat(d.b, b.SpentCents)
	case "remainingCents":
		d.b, ok = appendOptFloat(d.b, b.RemainingCents)
	case "exceeded":
		d.b = strconv.AppendBool(d.b, b.Exceeded)
	default:
		return false
	}
	return ok
}

func (d *direct) rateLimit(f *graphql.CollectedField, s *ratelimit.Status) bool {
	ok := true
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "RateLimit")
	case "limit":
		d.b = strconv.AppendInt(d.b, int64(s.Limit), 10)
	case "cost":
		d.b = strconv.AppendInt(d.b, int64(s.Cost), 10)
	case "remaining":
		d.b = strconv.AppendInt(d.b, int64(s.Remaining), 10)
	case "resetAt":
		d.b, ok = appendTime(d.b, s.ResetAt)
	default:
		return false
	}
	return ok
}

func (d *direct) integration(f *graphql.CollectedField, i *domain.Integration) bool {
	ok := true
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "Integration")
	case "provider":
		d.b = appendQuoted(d.b, i.Provider)
	case "scopes":
		d.b = append(d.b, '[')
		for k, sc := range i.Scopes {
			if k > 0 {
				d.b = append(d.b, ',')
			}
			d.b = appendQuoted(d.b, sc)
		}
		d.b = append(d.b, ']')
	case "expiresAt":
		d.b = appendOptTime(d.b, i.ExpiresAt)
	case "connected":
		d.b = strconv.AppendBool(d.b, i.Connected())
	case "metadata":
		if i.Metadata == nil {
			d.b = append(d.b, "null"...)
			break
		}
		// gqlgen's JSON scalar (json.Encoder, its newline included).
		w := appender{&d.b}
		graphql.MarshalAny(i.Metadata).MarshalGQL(w)
	case "updatedAt":
		d.b, ok = appendTime(d.b, i.UpdatedAt)
	case "status":
		d.b, ok = appendEnum(d.b, marshalNIntegrationStatus2githubᚗcomᚋagentgraphᚋagentgraphᚋinternalᚋdomainᚐIntegrationStatus, i.Status())
	case "connectedAt":
		d.b, ok = appendTime(d.b, i.ConnectedAt)
	default:
		return false
	}
	return ok
}

func (d *direct) hit(f *graphql.CollectedField, h *store.Hit) bool {
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "KnowledgeHit")
		return true
	case "entry":
		e, err := d.ec.Resolvers.KnowledgeHit().Entry(d.ctx, h)
		return err == nil && writeOne(d, f.Selections, knowledgeEntryImplementors, e, true, (*direct).entry)
	case "score":
		var ok bool
		d.b, ok = appendFloat(d.b, h.Score)
		return ok
	}
	return false
}

func (d *direct) usageReport(f *graphql.CollectedField, u *domain.UsageReport) bool {
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "UsageReport")
		return true
	case "totals":
		return writeOne(d, f.Selections, usageTotalsImplementors, &u.Totals, true, (*direct).usageTotals)
	case "buckets":
		buckets := make([]*domain.UsageBucket, len(u.Buckets))
		for i := range u.Buckets {
			buckets[i] = &u.Buckets[i]
		}
		return writeList(d, f.Selections, usageBucketImplementors, buckets, (*direct).usageBucket)
	}
	return false
}

func (d *direct) usageTotals(f *graphql.CollectedField, u *domain.UsageTotals) bool {
	return d.totals(f, "UsageTotals", u)
}

func (d *direct) usageBucket(f *graphql.CollectedField, u *domain.UsageBucket) bool {
	if f.Name == "key" {
		d.b = appendQuoted(d.b, u.Key)
		return true
	}
	return d.totals(f, "UsageBucket", &u.UsageTotals)
}

// totals writes the fields UsageTotals and UsageBucket share.
func (d *direct) totals(f *graphql.CollectedField, typename string, u *domain.UsageTotals) bool {
	ok := true
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, typename)
	case "calls":
		d.b = strconv.AppendInt(d.b, int64(u.Calls), 10)
	case "inputTokens":
		d.b = strconv.AppendInt(d.b, int64(u.InputTokens), 10)
	case "outputTokens":
		d.b = strconv.AppendInt(d.b, int64(u.OutputTokens), 10)
	case "costCents":
		d.b, ok = appendFloat(d.b, u.CostCents)
	default:
		return false
	}
	return ok
}

func (d *direct) threadConnection(f *graphql.CollectedField, c *model.ThreadConnection) bool {
	return connection(d, f, "ThreadConnection", c.Edges, threadEdgeImplementors, c.PageInfo, c.Count, (*direct).threadEdge)
}

func (d *direct) threadEdge(f *graphql.CollectedField, e *model.ThreadEdge) bool {
	return edge(d, f, "ThreadEdge", e, e.Node, threadImplementors, (*direct).thread)
}

func (d *direct) thread(f *graphql.CollectedField, t *domain.Thread) bool {
	ok := true
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "Thread")
	case "id":
		d.b = appendQuoted(d.b, t.ID)
	case "agent":
		a, err := d.ec.Resolvers.Thread().Agent(d.ctx, t)
		return err == nil && writeOne(d, f.Selections, agentImplementors, a, false, (*direct).agent)
	case "messages":
		args, err := d.ec.field_Thread_messages_args(d.ctx, f.ArgumentMap(d.oc.Variables))
		if err != nil {
			return false
		}
		c, err := d.ec.Resolvers.Thread().Messages(d.ctx, t, args["last"].(*int), args["before"].(*string))
		return err == nil && writeOne(d, f.Selections, chatMessageConnectionImplementors, c, true, (*direct).messageConnection)
	case "lastMessage":
		m, err := d.ec.Resolvers.Thread().LastMessage(d.ctx, t)
		return err == nil && writeOne(d, f.Selections, chatMessageImplementors, m, false, (*direct).message)
	case "updatedAt":
		d.b, ok = appendTime(d.b, t.UpdatedAt)
	case "messageCount":
		d.b = strconv.AppendInt(d.b, int64(t.MessageCount), 10)
	case "createdAt":
		d.b, ok = appendTime(d.b, t.CreatedAt)
	default:
		return false
	}
	return ok
}

func (d *direct) messageConnection(f *graphql.CollectedField, c *model.ChatMessageConnection) bool {
	return connection(d, f, "ChatMessageConnection", c.Edges, chatMessageEdgeImplementors, c.PageInfo, c.Count, (*direct).messageEdge)
}

func (d *direct) messageEdge(f *graphql.CollectedField, e *model.ChatMessageEdge) bool {
	return edge(d, f, "ChatMessageEdge", e, e.Node, chatMessageImplementors, (*direct).message)
}

func (d *direct) message(f *graphql.CollectedField, m *domain.Message) bool {
	ok := true
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "ChatMessage")
	case "id":
		d.b, ok = appendID(d.b, m.ID)
	case "threadId":
		d.b = appendQuoted(d.b, m.ThreadID)
	case "role":
		d.b, ok = appendEnum(d.b, marshalNMessageRole2githubᚗcomᚋagentgraphᚋagentgraphᚋinternalᚋdomainᚐMessageRole, m.Role)
	case "content":
		d.b = appendQuoted(d.b, m.Content)
	case "agent":
		a, err := d.ec.Resolvers.ChatMessage().Agent(d.ctx, m)
		return err == nil && writeOne(d, f.Selections, agentImplementors, a, false, (*direct).agent)
	case "agentName":
		d.b = appendOptString(d.b, m.AgentName)
	case "createdAt":
		d.b, ok = appendTime(d.b, m.CreatedAt)
	case "status":
		d.b, ok = appendEnum(d.b, marshalNMessageStatus2githubᚗcomᚋagentgraphᚋagentgraphᚋinternalᚋdomainᚐMessageStatus, m.Status)
	case "replyTo":
		d.b = appendOptID(d.b, m.ReplyTo)
	default:
		return false
	}
	return ok
}

func (d *direct) feedConnection(f *graphql.CollectedField, c *model.FeedEventConnection) bool {
	return connection(d, f, "FeedEventConnection", c.Edges, feedEventEdgeImplementors, c.PageInfo, c.Count, (*direct).feedEdge)
}

func (d *direct) feedEdge(f *graphql.CollectedField, e *model.FeedEventEdge) bool {
	return edge(d, f, "FeedEventEdge", e, e.Node, feedEventImplementors, (*direct).feedEvent)
}

func (d *direct) feedEvent(f *graphql.CollectedField, e *domain.FeedEvent) bool {
	ok := true
	switch f.Name {
	case "__typename":
		d.b = appendQuoted(d.b, "FeedEvent")
	case "id":
		d.b, ok = appendID(d.b, e.ID)
	case "type":
		d.b = appendQuoted(d.b, e.Type)
	case "message":
		d.b = appendQuoted(d.b, e.Message)
	case "agent":
		a, err := d.ec.Resolvers.FeedEvent().Agent(d.ctx, e)
		return err == nil && writeOne(d, f.Selections, agentImplementors, a, false, (*direct).agent)
	case "createdAt":
		d.b, ok = appendTime(d.b, e.CreatedAt)
	default:
		return false
	}
	return ok
}

// The scalars, as gqlgen's marshalers write them (graphql.MarshalString,
// MarshalUUID, MarshalTime, MarshalInt, MarshalBoolean); ok false where
// they would answer null for a non-null field.

// appendQuoted writes s quoted and escaped as graphql.MarshalString does.
func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '\\' && c != '"' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '\t':
			b = append(b, `\t`...)
		case '\r':
			b = append(b, `\r`...)
		case '\n':
			b = append(b, `\n`...)
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendQuoted(b, *s)
}

func appendOptInt(b []byte, n *int) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(*n), 10)
}

// appendID writes a non-null uuid ID; gqlgen answers null for the nil uuid.
func appendID(b []byte, id uuid.UUID) ([]byte, bool) {
	if id == uuid.Nil {
		return b, false
	}
	var buf [36]byte
	return append(append(append(b, '"'), encodeUUID(&buf, id)...), '"'), true
}

// appendOptID writes a nullable uuid ID: null for nil and for the nil uuid.
func appendOptID(b []byte, id *uuid.UUID) []byte {
	if id == nil || *id == uuid.Nil {
		return append(b, "null"...)
	}
	b, _ = appendID(b, *id)
	return b
}

// encodeUUID is uuid.UUID.String without its allocation.
func encodeUUID(dst *[36]byte, id uuid.UUID) []byte {
	const hex = "0123456789abcdef"
	j := 0
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = hex[c>>4], hex[c&0xf]
		j += 2
	}
	return dst[:]
}

// appendTime writes a non-null Time as RFC 3339 with nanoseconds; gqlgen
// answers null for the zero time.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	if t.IsZero() {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// appendOptTime writes a nullable Time: null for nil and for the zero time.
func appendOptTime(b []byte, t *time.Time) []byte {
	if t == nil || t.IsZero() {
		return append(b, "null"...)
	}
	b, _ = appendTime(b, *t)
	return b
}

// appendFloat writes a non-null Float as gqlgen's MarshalFloatContext does
// (%g); gqlgen refuses infinities and NaN.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64), true
}

// appendOptFloat writes a nullable Float.
func appendOptFloat(b []byte, f *float64) ([]byte, bool) {
	if f == nil {
		return append(b, "null"...), true
	}
	return appendFloat(b, *f)
}

// appender lets a gqlgen Marshaler write into a direct buffer.
type appender struct{ b *[]byte }

func (a appender) Write(p []byte) (int, error) {
	*a.b = append(*a.b, p...)
	return len(p), nil
}

// appendEnum writes an enum value by the generated name table; a value
// without a name is left to gqlgen.
func appendEnum[T comparable](b []byte, names map[T]string, v T) ([]byte, bool) {
	name, ok := names[v]
	if !ok {
		return b, false
	}
	return appendQuoted(b, name), true
}
