// Package knowledge is the domain of knowledge collections, their entries and
// agents' access to them.
package knowledge

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/jobs"
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

// Search limits.
const (
	DefaultLimit = 10
	MaxLimit     = 50
	MaxQuery     = 1000
)

// Service runs the knowledge operations.
type Service struct {
	store  *store.Store
	engine *Engine
	jobs   *jobs.Client
}

// New returns a Service. Without jc no index jobs are enqueued (entries stay
// PENDING and are found by full text); without e search is full text only.
func New(s *store.Store, e *Engine, jc *jobs.Client) *Service {
	return &Service{store: s, engine: e, jobs: jc}
}

// enqueue returns the callback adding the caller's index job in the
// transaction of an entry's write, or nil without a jobs client.
func (s *Service) enqueue(ctx context.Context) store.Enqueue {
	u, ok := auth.UserFrom(ctx)
	if !ok || s.jobs == nil {
		return nil
	}
	return func(ctx context.Context, tx pgx.Tx) error {
		if _, err := s.jobs.InsertTx(ctx, tx, IndexArgs{UserID: u.ID}, nil); err != nil {
			return fmt.Errorf("enqueue index job: %w", err)
		}
		return nil
	}
}

// gone returns the callback enqueuing the removal of deleted entries'
// vectors, when a remote index holds them (Postgres drops them with the rows).
func (s *Service) gone(ctx context.Context) store.EntriesGone {
	u, ok := auth.UserFrom(ctx)
	if !ok || s.jobs == nil || s.engine == nil || s.engine.pinecone == nil {
		return nil
	}
	return func(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) error {
		if len(ids) == 0 {
			return nil
		}
		if _, err := s.jobs.InsertTx(ctx, tx, DeleteVectorsArgs{UserID: u.ID, IDs: ids}, nil); err != nil {
			return fmt.Errorf("enqueue vector delete: %w", err)
		}
		return nil
	}
}

// sourceAgent is the agent a source "agent:<id>" names, nil for other
// sources.
func sourceAgent(field string, source *string) (*uuid.UUID, error) {
	if source == nil || !strings.HasPrefix(*source, "agent:") {
		return nil, nil
	}
	id, err := uuid.Parse(strings.TrimPrefix(*source, "agent:"))
	if err != nil {
		return nil, apperr.Invalid(field, "an agent source is agent:<agent id>")
	}
	return &id, nil
}

// CreateCollection creates a collection; with isDefault it becomes the
// default in place of the previous one.
func (s *Service) CreateCollection(ctx context.Context, in domain.CollectionInput) (*domain.Collection, error) {
	var c validate.Checker
	c.Required("input.name", in.Name, MaxName)
	c.Optional("input.description", in.Description, MaxDescription)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return s.store.CreateCollection(ctx, in)
}

// UpdateCollection changes a collection.
func (s *Service) UpdateCollection(ctx context.Context, id string, in domain.UpdateCollectionInput) (*domain.Collection, error) {
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
	return s.store.DeleteCollection(ctx, cid, s.gone(ctx))
}

// AddEntry adds an entry to a collection.
func (s *Service) AddEntry(ctx context.Context, in domain.KnowledgeEntryInput) (*domain.Entry, error) {
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
	agent, err := sourceAgent("input.source", in.Source)
	if err != nil {
		return nil, err
	}
	n := store.NewEntry{CollectionID: cid, Content: in.Content, Type: in.Type,
		Importance: DefaultImportance, Source: DefaultSource, Agent: agent}
	if in.Importance != nil {
		n.Importance = *in.Importance
	}
	if in.Source != nil {
		n.Source = *in.Source
	}
	return s.store.AddEntry(ctx, n, s.enqueue(ctx))
}

// UpdateEntry changes an entry; a change to what is indexed puts it back to
// PENDING and enqueues its index job in the same transaction.
func (s *Service) UpdateEntry(ctx context.Context, id string, in domain.UpdateKnowledgeEntryInput) (*domain.Entry, error) {
	eid, err := validate.ID("id", id)
	if err != nil {
		return nil, err
	}
	var c validate.Checker
	c.NotBlank("input.content", in.Content, MaxContent)
	c.FloatRange("input.importance", in.Importance, 0, 1)
	c.NotBlank("input.source", in.Source, MaxSource)
	if err := c.Err(); err != nil {
		return nil, err
	}
	agent, err := sourceAgent("input.source", in.Source)
	if err != nil {
		return nil, err
	}
	return s.store.UpdateEntry(ctx, eid, store.EntryPatch{Content: in.Content, Type: in.Type,
		Importance: in.Importance, Source: in.Source, Agent: agent}, s.enqueue(ctx))
}

// Search ranks the viewer's entries for query (README.md, "Knowledge and
// search"): in collectionIds (each must be the viewer's) or all the
// viewer's collections, narrowed with agentId to those the agent may read.
func (s *Service) Search(ctx context.Context, query string, agentID *string, collectionIDs []string, limit *int) ([]*store.Hit, error) {
	hits, err := s.search(ctx, query, agentID, collectionIDs, limit)
	out := make([]*store.Hit, len(hits))
	for i := range hits {
		out[i] = &hits[i]
	}
	return out, err
}

func (s *Service) search(ctx context.Context, query string, agentID *string, collectionIDs []string, limit *int) ([]store.Hit, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	var c validate.Checker
	c.Required("query", query, MaxQuery)
	if err := c.Err(); err != nil {
		return nil, err
	}
	n := DefaultLimit
	if limit != nil {
		if *limit < 1 || *limit > MaxLimit {
			return nil, apperr.Invalid("limit", "must be between 1 and %d", MaxLimit)
		}
		n = *limit
	}
	var agent *uuid.UUID
	if agentID != nil {
		id, err := validate.ID("agentId", *agentID)
		if err != nil {
			return nil, err
		}
		agent = &id
	}
	var named []uuid.UUID
	if collectionIDs != nil {
		named = make([]uuid.UUID, 0, len(collectionIDs))
		for _, cid := range collectionIDs {
			id, err := validate.ID("collectionIds", cid)
			if err != nil {
				return nil, err
			}
			named = append(named, id)
		}
	}
	sc, err := s.store.SearchScope(ctx, agent, named)
	if err != nil {
		return nil, err
	}
	if s.engine == nil {
		if len(sc.Collections) == 0 {
			return []store.Hit{}, nil
		}
		return s.store.TextHits(ctx, sc, query, n, false)
	}
	return s.engine.search(ctx, s.store, sc, query, query, n, nil)
}

// DeleteEntry deletes an entry.
func (s *Service) DeleteEntry(ctx context.Context, id string) error {
	eid, err := validate.ID("id", id)
	if err != nil {
		return err
	}
	return s.store.DeleteEntry(ctx, eid, s.gone(ctx))
}

// Grant lets an agent read (or read and write) a collection; granting again
// changes the level.
func (s *Service) Grant(ctx context.Context, agentID, collectionID string, level domain.AccessLevel) (*domain.KnowledgeAccess, error) {
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
