// Package vectors holds the vector side of knowledge search: the packed
// encoding of vectors kept in Postgres with exact top-k cosine over them, and
// the Pinecone index (go-pinecone) used when one is configured.
package vectors

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"math"

	"github.com/google/uuid"
)

// Normalize scales v to unit length in place, so that cosine similarity is a
// dot product; a zero vector stays zero.
func Normalize(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return v
	}
	inv := 1 / math.Sqrt(n)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
	return v
}

// Pack encodes v as little-endian float32s, the bytea of
// knowledge_entries.embedding.
func Pack(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// Unpack decodes what Pack encoded.
func Unpack(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// Dot is the dot product of a packed vector and q; a packed vector of another
// length (indexed under other EMBEDDING_DIMENSIONS) scores 0.
func Dot(packed []byte, q []float32) float64 {
	if len(packed) != 4*len(q) {
		return 0
	}
	var s float32
	for i, x := range q {
		s += x * math.Float32frombits(binary.LittleEndian.Uint32(packed[4*i:]))
	}
	return float64(s)
}

// DotFloats is Dot over a vector already unpacked (Unpack): the same
// products summed in the same order, so it scores exactly as Dot does on
// the packed bytes, without decoding them on every search.
func DotFloats(v, q []float32) float64 {
	if len(v) != len(q) {
		return 0
	}
	var s float32
	for i, x := range q {
		s += x * v[i]
	}
	return float64(s)
}

// Scored is an id with its score.
type Scored struct {
	ID    uuid.UUID
	Score float64
}

// TopK keeps the k best scores offered to it: a min-heap of size k, so a scan
// of n vectors costs n·log k and no more memory than k results. Equal scores
// rank the smaller id first, whatever the order of the offers, so scans split
// across goroutines and merged (Merge) keep exactly the same results.
type TopK struct {
	k int
	h scoredHeap
}

// NewTopK returns an empty TopK of size k.
func NewTopK(k int) *TopK { return &TopK{k: k, h: make(scoredHeap, 0, k)} }

// Offer considers one result.
func (t *TopK) Offer(id uuid.UUID, score float64) {
	if t.k <= 0 {
		return
	}
	if len(t.h) < t.k {
		heap.Push(&t.h, Scored{id, score})
		return
	}
	if s := (Scored{id, score}); worse(t.h[0], s) {
		t.h[0] = s
		heap.Fix(&t.h, 0)
	}
}

// Merge offers what o kept.
func (t *TopK) Merge(o *TopK) {
	for _, s := range o.h {
		t.Offer(s.ID, s.Score)
	}
}

// Best returns the results kept, best first.
func (t *TopK) Best() []Scored {
	out := make([]Scored, len(t.h))
	h := append(scoredHeap(nil), t.h...)
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&h).(Scored)
	}
	return out
}

type scoredHeap []Scored

func (h scoredHeap) Len() int           { return len(h) }
func (h scoredHeap) Less(i, j int) bool { return worse(h[i], h[j]) }

// worse orders results from last to first: lower score, then, on equal
// scores, the larger id (a smaller id ranks first, as in SQL's "order by
// score desc, id").
func worse(a, b Scored) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return bytes.Compare(a.ID[:], b.ID[:]) > 0
}
func (h scoredHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *scoredHeap) Push(x any)   { *h = append(*h, x.(Scored)) }
func (h *scoredHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
