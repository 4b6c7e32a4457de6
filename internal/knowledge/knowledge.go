// Package knowledge is the domain of knowledge collections, their entries and
// agents' access to them.
package knowledge

import (
	"context"

	"github.com/agentgraph/agentgraph/internal/model"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// Input limits, in characters (README.md lists them for clients).
const (
	MaxName        = 100
	MaxDescription = 2000
	MaxContent     = 20000
	MaxSource      = 200
	// DefaultImportance is an entry's importance when none is given.
	DefaultImportance = 0.5
	// DefaultSource is an entry's source when none is given.
	DefaultSource = "manual"
)

// Service runs the knowledge operations.
type Service struct{ store *store.Store }

// New returns a Service.
func New(s *store.Store) *Service { return &Service{store: s} }

// CreateCollection creates a collection; with isDefault it becomes the
// default in place of the previous one.
func (s *Service) CreateCollection(ctx context.Context, in model.CollectionInput) (*model.Collection, error) {
	var c validate.Checker
	c.Required("input.name", in.Name, MaxName)
	c.Optional("input.description", in.Description, MaxDescription)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return s.store.CreateCollection(ctx, in)
}

// UpdateCollection changes a collection.
func (s *Service) UpdateCollection(ctx context.Context, id string, in model.UpdateCollectionInput) (*model.Collection, error) {
	cid, err := validate.ID("id", id)
	if err != nil {
		return nil, err
	}
	var c validate.Checker
	c.NotBlank("input.name", in.Name, MaxName)
	c.Optional("input.description", in.Description, MaxDescription)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return s.store.UpdateCollection(ctx, cid, in)
}

// DeleteCollection deletes a collection, its entries and all access to it.
func (s *Service) DeleteCollection(ctx context.Context, id string) error {
	cid, err := validate.ID("id", id)
	if err != nil {
		return err
	}
	return s.store.DeleteCollection(ctx, cid)
}

// AddEntry adds an entry to a collection.
func (s *Service) AddEntry(ctx context.Context, in model.KnowledgeEntryInput) (*model.Entry, error) {
	cid, err := validate.ID("input.collectionId", in.CollectionID)
	if err != nil {
		return nil, err
	}
	var c validate.Checker
	c.Required("input.content", in.Content, MaxContent)
	c.FloatRange("input.importance", in.Importance, 0, 1)
	c.NotBlank("input.source", in.Source, MaxSource)
	if err := c.Err(); err != nil {
		return nil, err
	}
	n := store.NewEntry{CollectionID: cid, Content: in.Content, Type: in.Type,
		Importance: DefaultImportance, Source: DefaultSource}
	if in.Importance != nil {
		n.Importance = *in.Importance
	}
	if in.Source != nil {
		n.Source = *in.Source
	}
	return s.store.AddEntry(ctx, n)
}

// DeleteEntry deletes an entry.
func (s *Service) DeleteEntry(ctx context.Context, id string) error {
	eid, err := validate.ID("id", id)
	if err != nil {
		return err
	}
	return s.store.DeleteEntry(ctx, eid)
}

// Grant lets an agent read (or read and write) a collection; granting again
// changes the level.
func (s *Service) Grant(ctx context.Context, agentID, collectionID string, level model.AccessLevel) (*model.KnowledgeAccess, error) {
	aid, err := validate.ID("agentId", agentID)
	if err != nil {
		return nil, err
	}
	cid, err := validate.ID("collectionId", collectionID)
	if err != nil {
		return nil, err
	}
	return s.store.GrantAccess(ctx, aid, cid, level)
}

// Revoke takes an agent's access to a collection away; false when it had none.
func (s *Service) Revoke(ctx context.Context, agentID, collectionID string) (bool, error) {
	aid, err := validate.ID("agentId", agentID)
	if err != nil {
		return false, err
	}
	cid, err := validate.ID("collectionId", collectionID)
	if err != nil {
		return false, err
	}
	return s.store.RevokeAccess(ctx, aid, cid)
}
