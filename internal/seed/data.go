package seed

import (
	"time"

	"github.com/agentgraph/agentgraph/internal/domain"
)

func ptr[T any](v T) *T { return &v }

type demoAgent struct {
	in       domain.CreateAgentInput
	skills   []domain.SkillInput
	training []domain.TrainingDataInput
}

// demoAgents: a head agent and one agent of every type, on models of
// each provider (all priced in the built-in table).
var demoAgents = []demoAgent{
	{
		in: domain.CreateAgentInput{Name: "Atlas", Type: domain.AgentTypeCustom, TrustTier: ptr(domain.TrustTierTrusted), IsHead: ptr(true),
			Personality:  &domain.PersonalityInput{Model: ptr("gpt-4o"), Tone: ptr("calm, decisive"), Verbosity: ptr("brief")},
			Objective:    ptr("Coordinate the other agents and keep the week on track."),
			Instructions: ptr("Delegate to the specialist agents; summarise their results in three bullet points at most.")},
		skills: []domain.SkillInput{{Slug: "planning", Name: "Planning", Category: ptr("coordination"), Level: ptr(80)},
			{Slug: "delegation", Name: "Delegation", Category: ptr("coordination"), Level: ptr(70)}},
		training: []domain.TrainingDataInput{{Type: domain.TrainingDataInstruction, Title: "Weekly review",
			Content: "Every Friday, list what each agent finished, what is blocked and what needs a decision."}},
	},
	{
		in: domain.CreateAgentInput{Name: "Iris", Type: domain.AgentTypeEmail, TrustTier: ptr(domain.TrustTierPartner),
			Personality: &domain.PersonalityInput{Model: ptr("gpt-4o-mini"), Tone: ptr("warm, professional"), Verbosity: ptr("concise")},
			Objective:   ptr("Keep the inbox at zero without missing anything important."),
			Background:  ptr("Knows the team's customers and which threads need a human.")},
		skills: []domain.SkillInput{{Slug: "triage", Name: "Inbox triage", Category: ptr("email"), Level: ptr(85)},
			{Slug: "drafting", Name: "Reply drafting", Category: ptr("email"), Level: ptr(65)}},
		training: []domain.TrainingDataInput{{Type: domain.TrainingDataExample, Title: "Polite decline",
			Content: "Thanks for thinking of us! We can't take this on this quarter, but let's talk again in spring."}},
	},
	{
		in: domain.CreateAgentInput{Name: "Chronos", Type: domain.AgentTypeCalendar, TrustTier: ptr(domain.TrustTierHelper),
			Personality: &domain.PersonalityInput{Model: ptr("gemini-2.5-flash"), Tone: ptr("cheerful"), Verbosity: ptr("brief")},
			Objective:   ptr("Protect focus time and keep meetings short.")},
		skills: []domain.SkillInput{{Slug: "scheduling", Name: "Scheduling", Category: ptr("calendar"), Level: ptr(75)}},
		training: []domain.TrainingDataInput{{Type: domain.TrainingDataInstruction, Title: "Focus blocks",
			Content: "Never book meetings on Tuesday and Thursday mornings: those are focus blocks."}},
	},
	{
		in: domain.CreateAgentInput{Name: "Sage", Type: domain.AgentTypeResearch, TrustTier: ptr(domain.TrustTierPartner),
			Personality: &domain.PersonalityInput{Model: ptr("claude-sonnet-4-20250514"), Tone: ptr("curious, precise"), Verbosity: ptr("detailed")},
			Objective:   ptr("Answer research questions with sources and a confidence level.")},
		skills: []domain.SkillInput{{Slug: "web.research", Name: "Web research", Category: ptr("research"), Level: ptr(90)},
			{Slug: "summarise", Name: "Summarising", Category: ptr("writing"), Level: ptr(80)}},
		training: []domain.TrainingDataInput{{Type: domain.TrainingDataKnowledge, Title: "Market notes",
			Content: "The team sells a scheduling product to clinics; competitors are priced per seat."}},
	},
	{
		in: domain.CreateAgentInput{Name: "Forge", Type: domain.AgentTypeCode, TrustTier: ptr(domain.TrustTierHelper),
			Personality: &domain.PersonalityInput{Model: ptr("gpt-4.1"), Tone: ptr("direct"), Verbosity: ptr("concise")},
			Objective:   ptr("Review pull requests and keep CI green.")},
		skills: []domain.SkillInput{{Slug: "go", Name: "Go", Category: ptr("languages"), Level: ptr(85)},
			{Slug: "code-review", Name: "Code review", Category: ptr("engineering"), Level: ptr(75)}},
		training: []domain.TrainingDataInput{{Type: domain.TrainingDataInstruction, Title: "Review checklist",
			Content: "Check error wrapping, tests on real Postgres, and that no secret reaches a log."}},
	},
}

type demoCollection struct {
	in      domain.CollectionInput
	entries []domain.KnowledgeEntryInput
	access  map[string]domain.AccessLevel // agent name → level
}

var demoCollections = []demoCollection{
	{
		in: domain.CollectionInput{Name: "Company handbook", Description: ptr("How the team works: hours, tools, people."), IsDefault: ptr(true)},
		entries: []domain.KnowledgeEntryInput{
			{Content: "Core hours are 10:00–16:00 CET; async the rest of the day.", Type: domain.KnowledgeFact, Importance: ptr(0.8)},
			{Content: "Dana prefers a summary at the top of every email.", Type: domain.KnowledgePreference, Importance: ptr(0.6)},
			{Content: "Releases go out on Wednesdays after the demo.", Type: domain.KnowledgeFact, Source: ptr("eng wiki")},
		},
		access: map[string]domain.AccessLevel{"Atlas": domain.AccessReadWrite, "Iris": domain.AccessRead, "Chronos": domain.AccessRead},
	},
	{
		in: domain.CollectionInput{Name: "Research notes", Description: ptr("What Sage found, with sources.")},
		entries: []domain.KnowledgeEntryInput{
			{Content: "Clinics book 60% of appointments by phone; online booking grows 15% a year.", Type: domain.KnowledgeSummary, Importance: ptr(0.9), Source: ptr("industry report 2025")},
			{Content: "Per-seat pricing is the norm; two competitors moved to per-location pricing this year.", Type: domain.KnowledgeKnowledge},
			{Content: "Follow up: interview three clinic managers about no-show reminders.", Type: domain.KnowledgeNote},
		},
		access: map[string]domain.AccessLevel{"Sage": domain.AccessReadWrite, "Atlas": domain.AccessRead},
	},
}

type demoConversation struct {
	agent  string
	thread string // "" for the agent's direct thread
	ago    time.Duration
	lines  []string // user, assistant, user, assistant…
}

var demoConversations = []demoConversation{
	{agent: "Atlas", ago: 26 * time.Hour, lines: []string{
		"What's on the plate this week?",
		"Three things: Iris is clearing 42 unread emails, Sage is finishing the pricing research (due Thursday), and Forge has two pull requests waiting for review. Nothing is blocked.",
		"Anything that needs me?",
		"One decision: Sage asks whether to include per-location pricing in the comparison. I'd say yes — two competitors switched this year.",
	}},
	{agent: "Iris", ago: 5 * time.Hour, lines: []string{
		"Anything urgent in the inbox?",
		"Two: the Northwind renewal (they want an answer by Friday) and a billing question from Contoso. I drafted replies to both; the rest can wait.",
	}},
	{agent: "Sage", ago: 3 * time.Hour, lines: []string{
		"How do clinics book appointments today?",
		"Mostly by phone — about 60% — with online booking growing roughly 15% a year. Confidence: medium; the figures come from one industry report, so I'd confirm them with a couple of interviews.",
		"Good. Add that to the research notes.",
		"Done: it's in \"Research notes\" with the source attached.",
	}},
	{agent: "Forge", ago: 90 * time.Minute, lines: []string{
		"Can you look at the retry change?",
		"Looked: the retry loop is bounded and jittered, good. One issue — the error from the last attempt isn't wrapped, so callers lose the cause. Suggested a one-line fix in the review.",
	}},
	{agent: "Chronos", ago: 40 * time.Minute, lines: []string{
		"Find an hour with Dana next week.",
		"Wednesday 14:00–15:00 works for both of you and keeps your Tuesday and Thursday mornings free. Shall I send the invite?",
	}},
}

type demoEvent struct {
	agent string // "" for none
	typ   string
	msg   string
	ago   time.Duration
}

var demoFeed = []demoEvent{
	{"Atlas", "plan_ready", "Atlas planned the week: 3 goals, 7 tasks", 6 * 24 * time.Hour},
	{"Sage", "task_completed", "Sage finished the competitor pricing table", 4 * 24 * time.Hour},
	{"Forge", "review_done", "Forge approved \"store: wrap the last retry error\"", 3 * 24 * time.Hour},
	{"Iris", "task_completed", "Iris archived 38 newsletters and flagged 2 emails", 2 * 24 * time.Hour},
	{"Chronos", "meeting_scheduled", "Chronos booked Wednesday 14:00 with Dana", 30 * time.Hour},
	{"Atlas", "approval_needed", "Atlas asks: include per-location pricing in the comparison?", 20 * time.Hour},
	{"Iris", "insight", "Iris noticed Northwind's renewal is due Friday", 5 * time.Hour},
	{"", "note", "Welcome to agentgraph: this feed shows what your agents do, live", 2 * time.Hour},
}
