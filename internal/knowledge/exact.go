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
// instance, is compared row by row with what Postgres holds (ids and hashes,
// no vectors) and only its changed vectors are read again. Every statement
// runs in the search's own role (RLS for a user's search), and entries are
// keyed by user and collection, so a search only ever uses vectors its own
// statements could have read.

// DefaultVectorCacheBytes bounds the vectors kept between searches on one
// instance: four collections of 10,000 entries at 1,536 dimensions.
const DefaultVectorCacheBytes = 256 << 20

// vectorSet is one collection's vectors, unpacked, with each row's share of
// the stamp; its stamp is computed from the rows it holds, so it always
// describes its own content, whatever changed while it was read. A set is
// never modified once cached (a refresh builds a new one, sharing the
// unchanged vectors), so searches read it without locks.
type vectorSet struct {
	stamp      store.VectorStamp
	ids        []uuid.UUID
	importance []float64
	vecs       [][]float32
	hashes     []int64
}

func newVectorSet(n int64) *vectorSet {
	return &vectorSet{ids: make([]uuid.UUID, 0, n), importance: make([]float64, 0, n),
		vecs: make([][]float32, 0, n), hashes: make([]int64, 0, n)}
}

func (s *vectorSet) add(id uuid.UUID, importance float64, vec []float32, hash int64) {
	s.ids = append(s.ids, id)
	s.importance = append(s.importance, importance)
	s.vecs = append(s.vecs, vec)
	s.hashes = append(s.hashes, hash)
	s.stamp.Count++
	s.stamp.Hash ^= hash
}

// cost is what the set holds in memory, in bytes, for the cache's bound.
func (s *vectorSet) cost() int64 {
	n := int64(len(s.ids)) * (16 + 8 + 24 + 8)
	for _, v := range s.vecs {
		n += 4 * int64(len(v))
	}
	return n
}

type vectorCache struct {
	c *ristretto.Cache[string, *vectorSet]
	// For tests: collections read whole from Postgres (misses), collections
	// refreshed (stamp moved), and vectors read again by refreshes.
	scans, refreshes, refetched atomic.Int64
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
// stamp still matches, refreshed where it moved, read from Postgres where it
// is not cached. With nothing of sc cached (a first search, or collections
// too large for the cache) the stamps are not asked for: the scan computes
// them as it reads.
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
		stale := map[uuid.UUID]*vectorSet{}
		for _, c := range sc.Collections {
			stamp, ok := stamps[c]
			switch s := cached[c]; {
			case !ok: // no vectors
			case s == nil:
				missing = append(missing, c)
			case s.stamp == stamp:
				sets = append(sets, s)
			default:
				stale[c] = s
			}
		}
		if len(stale) > 0 {
			fresh, err := e.refreshVectors(ctx, st, sc, stale)
			if err != nil {
				return nil, err
			}
			sets = append(sets, fresh...)
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
		byCol[c] = newVectorSet(stamps[c].Count)
	}
	err := st.ScanVectors(ctx, sc, cols, nil, func(col, id uuid.UUID, importance float64, vec []byte, hash int64) {
		if s := byCol[col]; s != nil { // always: the statement filters by cols
			s.add(id, importance, vectors.Unpack(vec), hash)
		}
	})
	if err != nil {
		return nil, err
	}
	e.vcache.scans.Add(int64(len(cols)))
	return e.keep(sc.User, cols, byCol), nil
}

// refreshVectors brings cached collections whose stamp moved up to date:
// it lists their rows' ids and hashes (no vectors), keeps the vectors whose
// hash is unchanged and reads again only the others. When most changed it
// reads the collections whole instead.
func (e *Engine) refreshVectors(ctx context.Context, st *store.Store, sc store.Scope, stale map[uuid.UUID]*vectorSet) ([]*vectorSet, error) {
	type row struct {
		col, id uuid.UUID
		hash    int64
	}
	cols := make([]uuid.UUID, 0, len(stale))
	held := map[uuid.UUID]int{} // position of each cached id in its collection's set
	for c, s := range stale {
		cols = append(cols, c)
		for i, id := range s.ids {
			held[id] = i
		}
	}
	var listed []row
	if err := st.VectorHashes(ctx, sc, cols, func(col, id uuid.UUID, hash int64) {
		listed = append(listed, row{col, id, hash})
	}); err != nil {
		return nil, err
	}
	// unchanged reports whether r is cached, in its collection's set, with
	// the same hash (an id cached in another collection moved: read again).
	unchanged := func(r row) (*vectorSet, int, bool) {
		s, i := stale[r.col], -1
		if j, ok := held[r.id]; ok && j < len(s.ids) && s.ids[j] == r.id && s.hashes[j] == r.hash {
			i = j
		}
		return s, i, i >= 0
	}
	var need []uuid.UUID
	for _, r := range listed {
		if _, _, ok := unchanged(r); !ok {
			need = append(need, r.id)
		}
	}
	if 2*len(need) > len(listed) {
		return e.readVectors(ctx, st, sc, cols, nil)
	}
	type vector struct {
		col        uuid.UUID
		importance float64
		vec        []float32
		hash       int64
	}
	read := make(map[uuid.UUID]vector, len(need))
	if len(need) > 0 {
		if err := st.ScanVectors(ctx, sc, cols, need, func(col, id uuid.UUID, importance float64, vec []byte, hash int64) {
			read[id] = vector{col, importance, vectors.Unpack(vec), hash}
		}); err != nil {
			return nil, err
		}
	}
	byCol := make(map[uuid.UUID]*vectorSet, len(cols))
	for _, c := range cols {
		byCol[c] = newVectorSet(stale[c].stamp.Count)
	}
	for _, r := range listed {
		if s, i, ok := unchanged(r); ok {
			byCol[r.col].add(r.id, s.importance[i], s.vecs[i], r.hash)
		} else if v, ok := read[r.id]; ok && v.col == r.col {
			// The hash read with the vector, not the one listed: the row may
			// have changed in between, and the set must describe itself.
			byCol[r.col].add(r.id, v.importance, v.vec, v.hash)
		}
		// Otherwise deleted or moved between the two reads: left out, and
		// the set's stamp says so.
	}
	e.vcache.refreshes.Add(int64(len(cols)))
	e.vcache.refetched.Add(int64(len(read)))
	return e.keep(sc.User, cols, byCol), nil
}

// keep caches user's sets of cols and returns those holding vectors.
func (e *Engine) keep(user uuid.UUID, cols []uuid.UUID, byCol map[uuid.UUID]*vectorSet) []*vectorSet {
	out := make([]*vectorSet, 0, len(byCol))
	for _, c := range cols {
		if s := byCol[c]; len(s.ids) > 0 {
			e.vcache.c.Set(vectorKey(user, c), s, s.cost())
			out = append(out, s)
		} else {
			e.vcache.c.Del(vectorKey(user, c))
		}
	}
	// Sets are applied asynchronously; waiting (microseconds) makes the next
	// search of these collections find them.
	e.vcache.c.Wait()
	return out
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
