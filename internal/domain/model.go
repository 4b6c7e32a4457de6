// Package model holds the domain types shared by the store, the loaders and the
// GraphQL layer. gqlgen binds the schema's types to these structs (gqlgen.yml),
// so a row read from Postgres is served without being copied into another type.
//
// Enumerations are strings holding the database's lowercase values; gqlgen maps
// them to the schema's upper-case enum values through enum_values in gqlgen.yml.
package domain

import (
	"time"

	"github.com/google/uuid"
)

// AgentType is agents.agent_type.
type AgentType string

// The agent types.
const (
	AgentTypeEmail    AgentType = "email"
	AgentTypeCalendar AgentType = "calendar"
	AgentTypeResearch AgentType = "research"
	AgentTypeCode     AgentType = "code"
	AgentTypeCustom   AgentType = "custom"
)

// AgentStatus is agents.status.
type AgentStatus string

// The agent statuses. A destroyed agent keeps its data but no longer acts.
const (
	AgentStatusActive    AgentStatus = "active"
	AgentStatusSleeping  AgentStatus = "sleeping"
	AgentStatusDestroyed AgentStatus = "destroyed"
)

// TrustTier is agents.trust_tier.
type TrustTier string

// The trust tiers, from least to most trusted.
const (
	TrustTierObserver TrustTier = "observer"
	TrustTierHelper   TrustTier = "helper"
	TrustTierPartner  TrustTier = "partner"
	TrustTierTrusted  TrustTier = "trusted"
)

// TrainingDataType is agent_training_data.type.
type TrainingDataType string

// The training data types.
const (
	TrainingDataKnowledge   TrainingDataType = "knowledge"
	TrainingDataInstruction TrainingDataType = "instruction"
	TrainingDataExample     TrainingDataType = "example"
)

// AccessLevel is agent_knowledge_access.access_level.
type AccessLevel string

// The access levels.
const (
	AccessRead      AccessLevel = "read"
	AccessReadWrite AccessLevel = "read_write"
)

// KnowledgeType is knowledge_entries.type.
type KnowledgeType string

// The knowledge entry types.
const (
	KnowledgeFact       KnowledgeType = "fact"
	KnowledgePreference KnowledgeType = "preference"
	KnowledgeKnowledge  KnowledgeType = "knowledge"
	KnowledgeNote       KnowledgeType = "note"
	KnowledgeSummary    KnowledgeType = "summary"
)

// MessageRole is chat_messages.role.
type MessageRole string

// The message roles.
const (
	RoleUser      MessageRole = "user"
	RoleAssistant MessageRole = "assistant"
)

// Personality is how an agent speaks and which model it runs on.
type Personality struct {
	Model     string  `json:"model"`
	Tone      *string `json:"tone"`
	Verbosity *string `json:"verbosity"`
	// MaxTokens caps the agent's replies; nil: the server's default, which
	// also caps it (chat.Limits.MaxReplyTokens).
	MaxTokens *int `json:"maxTokens"`
}

// Agent is a row of agents.
type Agent struct {
	ID           uuid.UUID
	UserID       uuid.UUID
	Name         string
	Type         AgentType
	Status       AgentStatus
	TrustTier    TrustTier
	Personality  Personality
	Objective    *string
	Instructions *string
	Background   *string
	EmailAddress *string
	IsHead       bool
	Level        int
	Xp           int
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Batch holds the ids of the agents read together with this one. Nested
	// fields load for all of them at once, so batching does not depend on
	// sibling resolvers happening to start within the loader's wait.
	Batch []uuid.UUID
}

// Skill is a row of agent_skills.
type Skill struct {
	ID          uuid.UUID
	AgentID     uuid.UUID
	Slug        string
	Name        string
	Category    *string
	Level       int
	InstalledAt time.Time
}

// TrainingData is a row of agent_training_data.
type TrainingData struct {
	ID        uuid.UUID
	AgentID   uuid.UUID
	Type      TrainingDataType
	Title     string
	Content   string
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// KnowledgeAccess is a row of agent_knowledge_access: an agent may read (or
// write) a collection.
type KnowledgeAccess struct {
	ID           uuid.UUID
	AgentID      uuid.UUID
	CollectionID uuid.UUID
	AccessLevel  AccessLevel
	// Collection is the collection itself when it was read with the row (a
	// join saves the dashboard a round trip); nil when it must be loaded.
	Collection *Collection
}

// Collection is a row of knowledge_collections.
type Collection struct {
	ID          uuid.UUID
	UserID      uuid.UUID
	Name        string
	Description *string
	IsDefault   bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Batch holds the ids of the collections read together with this one
	// (see Agent.Batch).
	Batch []uuid.UUID
}

// Entry is a row of knowledge_entries.
type Entry struct {
	ID           uuid.UUID
	UserID       uuid.UUID
	CollectionID uuid.UUID
	Content      string
	Type         KnowledgeType
	Importance   float64
	Source       string
	PineconeID   *string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// IndexStatus is where the entry's search index stands (migration 00010).
	IndexStatus IndexStatus
	// IndexError says why indexing failed, in words a user can act on.
	IndexError *string
	// IndexedAt is when the entry's content was last indexed.
	IndexedAt *time.Time
	// Collections holds the collection ids of the entries read together
	// with this one (see Message.Agents).
	Collections []uuid.UUID `json:"-"`
}

// IndexStatus is where a knowledge entry's search index stands.
type IndexStatus string

// Index statuses, as stored in knowledge_entries.index_status.
const (
	IndexPending IndexStatus = "pending"
	IndexIndexed IndexStatus = "indexed"
	IndexFailed  IndexStatus = "failed"
)

// Personalization is the viewer's row of user_personalization.
type Personalization struct {
	Bio        *string
	Occupation *string
	Company    *string
	Goals      *string
	Interests  *string
	AboutMe    *string
	Twitter    *string
	Linkedin   *string
	Github     *string
	Instagram  *string
}

// MessageStatus is chat_messages.status: how an assistant reply ended.
type MessageStatus string

// The message statuses. A user's message is always complete.
const (
	MessageComplete    MessageStatus = "complete"
	MessageInterrupted MessageStatus = "interrupted"
	MessageFailed      MessageStatus = "failed"
)

// Message is a row of chat_messages.
type Message struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	ThreadID  string
	Role      MessageRole
	Content   string
	AgentID   *uuid.UUID
	AgentName *string
	Status    MessageStatus
	CreatedAt time.Time
	// ReplyTo is the user message an assistant reply answers.
	ReplyTo *uuid.UUID
	// Agents holds the agent ids of the messages read together with this
	// one, so that one message's agent field loads the agents of all (see
	// Agent.Batch).
	Agents []uuid.UUID `json:"-"`
}

// Thread is a row of threads: a conversation and its latest activity.
type Thread struct {
	ID            string
	UserID        uuid.UUID
	AgentID       *uuid.UUID
	LastMessageID *uuid.UUID
	MessageCount  int
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Batch holds the threads read together with this one (see Agent.Batch).
	Batch []*Thread
}

// FeedEvent is a row of feed_events.
type FeedEvent struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	AgentID   *uuid.UUID
	Type      string
	Message   string
	CreatedAt time.Time
	// Agents holds the agent ids of the events read together with this one
	// (see Message.Agents).
	Agents []uuid.UUID `json:"-"`
}

// UsageTotals sums usage_logs rows.
type UsageTotals struct {
	Calls        int
	InputTokens  int
	OutputTokens int
	CostCents    float64
}

// UsageBucket is the usage of one group (a day, a model …).
type UsageBucket struct {
	Key string
	UsageTotals
}

// UsageReport is the answer of usage(from, to, groupBy).
type UsageReport struct {
	Totals  UsageTotals
	Buckets []UsageBucket
}

// IntegrationStatus is whether an integration's tokens can be used.
// user_integrations.status stores active or refresh_failed; expired is
// derived from the expiry when read, since time passes without a write.
type IntegrationStatus string

// The integration statuses.
const (
	IntegrationActive        IntegrationStatus = "active"
	IntegrationExpired       IntegrationStatus = "expired"
	IntegrationRefreshFailed IntegrationStatus = "refresh_failed"
)

// Integration is a row of user_integrations without its sealed tokens, which
// no type here carries: what the API may show of a connected account.
type Integration struct {
	ID       uuid.UUID
	UserID   uuid.UUID
	Provider string
	Scopes   []string
	// ExpiresAt is the access token's expiry; nil when the provider gave none.
	ExpiresAt *time.Time
	// Metadata is provider-specific data the app handed over (a JSON object).
	Metadata any
	// StoredStatus is the status column: active or refresh_failed.
	StoredStatus IntegrationStatus
	ConnectedAt  time.Time
	UpdatedAt    time.Time
}

// Connected is always true: a row exists only while the account is
// connected (disconnecting deletes it).
func (i *Integration) Connected() bool { return true }

// Status is the status the API shows: refresh_failed as stored; otherwise
// expired once the access token's expiry has passed (a background user
// renews it with the refresh token, if there is one, on its next use).
func (i *Integration) Status() IntegrationStatus {
	if i.StoredStatus == IntegrationRefreshFailed {
		return IntegrationRefreshFailed
	}
	if i.ExpiresAt != nil && !time.Now().Before(*i.ExpiresAt) {
		return IntegrationExpired
	}
	return IntegrationActive
}
