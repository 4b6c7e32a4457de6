package vectors

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pinecone-io/go-pinecone/v5/pinecone"
)

// Item is one entry's vector with the metadata Pinecone filters on.
type Item struct {
	ID         uuid.UUID
	Values     []float32
	Collection uuid.UUID
	Type       string
	Importance float64
}

// Pinecone is a Pinecone index reached through go-pinecone, which speaks
// gRPC (service VectorService) to the index host: one namespace per user, so
// a query can never reach another user's vectors whatever its filter says.
type Pinecone struct {
	idx *pinecone.IndexConnection
}

// NewPinecone connects to the index at host (from the Pinecone console; an
// http:// host is reached in plaintext, as a loopback stand-in is). No call
// is made until the first operation.
func NewPinecone(apiKey, host string) (*Pinecone, error) {
	pc, err := pinecone.NewClient(pinecone.NewClientParams{ApiKey: apiKey, SourceTag: "agentgraph"})
	if err != nil {
		return nil, fmt.Errorf("pinecone: %w", err)
	}
	idx, err := pc.Index(pinecone.NewIndexConnParams{Host: host})
	if err != nil {
		return nil, fmt.Errorf("pinecone: index %s: %w", host, err)
	}
	return &Pinecone{idx: idx}, nil
}

// callTimeout bounds one call to the index: a stalled index must not hold a
// search (which then falls back to full text) or a job for long.
const callTimeout = 10 * time.Second

// Namespace is a user's namespace.
func Namespace(user uuid.UUID) string { return "user-" + user.String() }

// Close closes the connection.
func (p *Pinecone) Close() error { return p.idx.Close() }

// Upsert writes user's vectors, replacing those with the same ids.
func (p *Pinecone) Upsert(ctx context.Context, user uuid.UUID, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	vs := make([]*pinecone.Vector, len(items))
	for i, it := range items {
		md, err := pinecone.NewMetadata(map[string]any{
			"user_id": user.String(), "collection_id": it.Collection.String(),
			"type": it.Type, "importance": it.Importance,
		})
		if err != nil {
			return fmt.Errorf("pinecone: metadata: %w", err)
		}
		values := it.Values
		vs[i] = &pinecone.Vector{Id: it.ID.String(), Values: &values, Metadata: md}
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := p.idx.WithNamespace(Namespace(user)).UpsertVectors(ctx, vs); err != nil {
		return fmt.Errorf("pinecone: upsert %d vectors: %w", len(vs), err)
	}
	return nil
}

// Query returns the k vectors of user nearest to q among collections, with
// their similarity (the index's metric: cosine for text embeddings).
func (p *Pinecone) Query(ctx context.Context, user uuid.UUID, q []float32, collections []uuid.UUID, k int) ([]Scored, error) {
	if len(collections) == 0 || k <= 0 {
		return nil, nil
	}
	ids := make([]any, len(collections))
	for i, c := range collections {
		ids[i] = c.String()
	}
	filter, err := pinecone.NewMetadataFilter(map[string]any{"collection_id": map[string]any{"$in": ids}})
	if err != nil {
		return nil, fmt.Errorf("pinecone: filter: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	res, err := p.idx.WithNamespace(Namespace(user)).QueryByVectorValues(ctx, &pinecone.QueryByVectorValuesRequest{
		Vector: q, TopK: uint32(k), MetadataFilter: filter,
	})
	if err != nil {
		return nil, fmt.Errorf("pinecone: query: %w", err)
	}
	out := make([]Scored, 0, len(res.Matches))
	for _, m := range res.Matches {
		if m == nil || m.Vector == nil {
			continue
		}
		id, err := uuid.Parse(strings.TrimSpace(m.Vector.Id))
		if err != nil {
			continue // not ours: ids are entry ids
		}
		out = append(out, Scored{ID: id, Score: float64(m.Score)})
	}
	return out, nil
}

// Delete removes user's vectors by id; ids not there are no error.
func (p *Pinecone) Delete(ctx context.Context, user uuid.UUID, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := p.idx.WithNamespace(Namespace(user)).DeleteVectorsById(ctx, s); err != nil {
		return fmt.Errorf("pinecone: delete %d vectors: %w", len(s), err)
	}
	return nil
}
