package knowledge

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/vectors"
)

// Exact search in Postgres mode reads every vector of its scope: 61 MB at
// 10,000 entries of 1,536 dimensions, ~200 ms to send, against ~15 ms for
// the dot products (BENCHMARKS.md). So each collection's vectors, once read,
// stay in memory (a ristretto cache bounded in bytes), and every search asks
// Postgres for each collection's VectorStamp, a few milliseconds, before
// using them: a collection whose vectors changed in any way, on any
// instance, is read again. The stamp is read in the search's own role (RLS
// for a user's search), and entries are keyed by user and collection, so a
// search only ever uses vectors its own statement could have read.

// DefaultVectorCacheBytes bounds the vectors kept between searches on one
// instance: four collections of 10,000 entries at 1,536 dimensions.
const DefaultVectorCacheBytes = 256 << 20

// vectorSet is one collection's vectors as one scan read them, unpacked.
type vectorSet struct {
	stamp      store.VectorStamp
	ids        []uuid.UUID
	importance []float64
	vecs       [][]float32
}

// cost is what the set holds in memory, in bytes, for the cache's bound.
func (s *vectorSet) cost() int64 {
	n := int64(len(s.ids)) * (16 + 8 + 24)
	for _, v := range s.vecs {
		n += 4 * int64(len(v))
	}
	return n
}

type vectorCache struct {
	c *ristretto.Cache[string, *vectorSet]
	// scans counts collections read from Postgres (cache misses), for tests.
	scans atomic.Int64
}

func newVectorCache(maxBytes int64) (*vectorCache, error) {
	c, err := ristretto.NewCache(&ristretto.Config[string, *vectorSet]{
		NumCounters: 100_000, MaxCost: maxBytes, BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("knowledge: vector cache: %w", err)
	}
	return &vectorCache{c: c}, nil
}

func vectorKey(user, col uuid.UUID) string { return string(user[:]) + string(col[:]) }

// exactHits ranks sc's indexed entries by cosine similarity to q weighted by
// importance, best first, at most limit: from the cache where a collection's
// stamp still matches, from Postgres otherwise. With nothing of sc cached
// (a first search, or collections too large for the cache) the stamps are
// not asked for: the scan computes them as it reads.
func (e *Engine) exactHits(ctx context.Context, st *store.Store, sc store.Scope, q []float32, limit int) ([]store.Hit, error) {
	cached := make(map[uuid.UUID]*vectorSet, len(sc.Collections))
	for _, c := range sc.Collections {
		if s, ok := e.vcache.c.Get(vectorKey(sc.User, c)); ok {
			cached[c] = s
		}
	}
	sets := make([]*vectorSet, 0, len(sc.Collections))
	missing := sc.Collections
	var stamps map[uuid.UUID]store.VectorStamp
	if len(cached) > 0 {
		var err error
		if stamps, err = st.VectorStamps(ctx, sc); err != nil {
			return nil, err
		}
		missing = nil
		for _, c := range sc.Collections {
			stamp, ok := stamps[c]
			if !ok {
				continue // no vectors
			}
			if s := cached[c]; s != nil && s.stamp == stamp {
				sets = append(sets, s)
				continue
			}
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		read, err := e.readVectors(ctx, st, sc, missing, stamps)
		if err != nil {
			return nil, err
		}
		sets = append(sets, read...)
	}
	top := rankExact(sets, q, limit)
	hits := make([]store.Hit, 0, limit)
	for _, s := range top.Best() {
		hits = append(hits, store.Hit{ID: s.ID, Score: s.Score})
	}
	return hits, nil
}

// readVectors reads the vectors of sc's collections cols and caches each
// collection's under the stamp of what was read (not the stamp checked
// before, if any: the rows may have changed in between, and the set must
// describe itself). stamps, when known, size the sets.
func (e *Engine) readVectors(ctx context.Context, st *store.Store, sc store.Scope, cols []uuid.UUID, stamps map[uuid.UUID]store.VectorStamp) ([]*vectorSet, error) {
	byCol := make(map[uuid.UUID]*vectorSet, len(cols))
	for _, c := range cols {
		n := stamps[c].Count
		byCol[c] = &vectorSet{ids: make([]uuid.UUID, 0, n), importance: make([]float64, 0, n), vecs: make([][]float32, 0, n)}
	}
	err := st.ScanVectors(ctx, sc, cols, func(col, id uuid.UUID, importance float64, vec []byte, hash int64) {
		s := byCol[col]
		if s == nil {
			return // not asked for: cannot happen, the statement filters by cols
		}
		s.ids = append(s.ids, id)
		s.importance = append(s.importance, importance)
		s.vecs = append(s.vecs, vectors.Unpack(vec))
		s.stamp.Count++
		s.stamp.Hash ^= hash
	})
	if err != nil {
		return nil, err
	}
	out := make([]*vectorSet, 0, len(byCol))
	for _, c := range cols {
		s := byCol[c]
		e.vcache.scans.Add(1)
		if len(s.ids) > 0 {
			e.vcache.c.Set(vectorKey(sc.User, c), s, s.cost())
			out = append(out, s)
		}
	}
	// Sets are applied asynchronously; waiting (microseconds) makes the next
	// search of these collections find them.
	e.vcache.c.Wait()
	return out, nil
}

// rankExact scores every vector of sets against q. Past a few thousand
// vectors the work is split across cores, in chunks pulled by each worker;
// TopK ranks ties by id whatever the order of the offers, so the split never
// changes the result.
func rankExact(sets []*vectorSet, q []float32, limit int) *vectors.TopK {
	type chunk struct {
		s      *vectorSet
		lo, hi int
	}
	var chunks []chunk
	total := 0
	for _, s := range sets {
		for lo := 0; lo < len(s.ids); lo += exactChunk {
			chunks = append(chunks, chunk{s, lo, min(lo+exactChunk, len(s.ids))})
		}
		total += len(s.ids)
	}
	score := func(top *vectors.TopK, c chunk) {
		for i := c.lo; i < c.hi; i++ {
			top.Offer(c.s.ids[i], weight(vectors.DotFloats(c.s.vecs[i], q), c.s.importance[i]))
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(chunks), total/exactPerWorker)
	top := vectors.NewTopK(limit)
	if workers <= 1 {
		for _, c := range chunks {
			score(top, c)
		}
		return top
	}
	var next atomic.Int64
	tops := make([]*vectors.TopK, workers)
	var wg sync.WaitGroup
	for w := range tops {
		tops[w] = vectors.NewTopK(limit)
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(chunks) {
					return
				}
				score(tops[w], chunks[i])
			}
		})
	}
	wg.Wait()
	for _, t := range tops {
		top.Merge(t)
	}
	return top
}

// exactChunk vectors are scored between two pulls of work; exactPerWorker
// is the least worth a goroutine (~3 ms of dot products at 1,536 dimensions).
const (
	exactChunk     = 1024
	exactPerWorker = 2048
)
