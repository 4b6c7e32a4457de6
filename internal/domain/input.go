package domain

import "time"

// Inputs of the GraphQL mutations, bound by gqlgen.yml. In updates a nil field
// keeps the stored value; an empty string clears an optional text field.

// PersonalityInput sets an agent's personality.
type PersonalityInput struct {
	Model     *string
	Tone      *string
	Verbosity *string
	// MaxTokens caps replies (1 to MaxReplyTokens); on update 0 returns to
	// the server's default.
	MaxTokens *int
}

// CreateAgentInput is the input of createAgent.
type CreateAgentInput struct {
	Name         string
	Type         AgentType
	TrustTier    *TrustTier
	Personality  *PersonalityInput
	Objective    *string
	Instructions *string
	Background   *string
	EmailAddress *string
	IsHead       *bool
}

// UpdateAgentInput is the input of updateAgent.
type UpdateAgentInput struct {
	Name         *string
	Status       *AgentStatus
	TrustTier    *TrustTier
	Personality  *PersonalityInput
	Objective    *string
	Instructions *string
	Background   *string
	EmailAddress *string
	IsHead       *bool
}

// TrainingDataInput is the input of addTrainingData.
type TrainingDataInput struct {
	Type    TrainingDataType
	Title   string
	Content string
	Enabled *bool
}

// UpdateTrainingDataInput is the input of updateTrainingData.
type UpdateTrainingDataInput struct {
	Type    *TrainingDataType
	Title   *string
	Content *string
	Enabled *bool
}

// SkillInput is the input of installSkill.
type SkillInput struct {
	Slug     string
	Name     string
	Category *string
	Level    *int
}

// CollectionInput is the input of createCollection.
type CollectionInput struct {
	Name        string
	Description *string
	IsDefault   *bool
}

// UpdateCollectionInput is the input of updateCollection.
type UpdateCollectionInput struct {
	Name        *string
	Description *string
	IsDefault   *bool
}

// KnowledgeEntryInput is the input of addKnowledgeEntry.
type KnowledgeEntryInput struct {
	CollectionID string
	Content      string
	Type         KnowledgeType
	Importance   *float64
	Source       *string
}

// PersonalizationInput is the input of updatePersonalization.
type PersonalizationInput = Personalization

// UpdateKnowledgeEntryInput is the input of updateKnowledgeEntry: nil keeps
// a value.
type UpdateKnowledgeEntryInput struct {
	Content    *string
	Type       *KnowledgeType
	Importance *float64
	Source     *string
}

// SendMessageInput is sendMessage's input. Without ThreadID the message goes
// to AgentID's "<agentId>:direct" thread.
type SendMessageInput struct {
	ThreadID *string
	AgentID  *string
	Content  string
	// Interrupt cuts the reply in progress in the thread (stored
	// INTERRUPTED) and answers this message with both in context; without
	// it the message waits its turn behind the replies before it.
	Interrupt bool
}

// FeedEventInput is createFeedEvent's input.
type FeedEventInput struct {
	AgentID *string
	Type    string
	Message string
}

// ConnectIntegrationInput is connectIntegration's input: the tokens the
// app's OAuth callback received. Metadata is any JSON value.
type ConnectIntegrationInput struct {
	Provider     string
	AccessToken  string
	RefreshToken *string
	ExpiresAt    *time.Time
	Scopes       []string
	Metadata     any
}
