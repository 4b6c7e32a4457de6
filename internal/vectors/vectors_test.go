package vectors

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/uuid"
)

// The cached scan (DotFloats over unpacked vectors) must score exactly as
// the scan over Postgres' bytes (Dot): a search answers the same from
// either.
func TestDotFloatsIsDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dims := range []int{1, 3, 64, 1536} {
		q := make([]float32, dims)
		for i := range q {
			q[i] = float32(rng.NormFloat64())
		}
		Normalize(q)
		for range 100 {
			v := make([]float32, dims)
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
			Normalize(v)
			if a, b := Dot(Pack(v), q), DotFloats(Unpack(Pack(v)), q); a != b {
				t.Fatalf("dims %d: Dot %v, DotFloats %v", dims, a, b)
			}
		}
		if got := DotFloats(make([]float32, dims+1), q); got != 0 {
			t.Errorf("another length scores %v, want 0", got)
		}
	}
}

// TopK keeps the same results whatever the order of the offers, ties
// included, and merging partial TopKs gives what one TopK over all gives.
func TestTopKOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var all []Scored
	for i := range 200 {
		// Few distinct scores: many ties, some across the k-th place.
		all = append(all, Scored{ID: uuid.New(), Score: float64(i%7) / 7})
	}
	want := func() []Scored {
		s := slices.Clone(all)
		slices.SortFunc(s, func(a, b Scored) int {
			if worse(a, b) {
				return 1
			}
			if worse(b, a) {
				return -1
			}
			return 0
		})
		return s[:10]
	}()
	for range 20 {
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		one := NewTopK(10)
		parts := []*TopK{NewTopK(10), NewTopK(10), NewTopK(10)}
		for i, s := range all {
			one.Offer(s.ID, s.Score)
			parts[i%3].Offer(s.ID, s.Score)
		}
		merged := NewTopK(10)
		for _, p := range parts {
			merged.Merge(p)
		}
		if got := one.Best(); !slices.Equal(got, want) {
			t.Fatalf("one TopK: %v, want %v", got, want)
		}
		if got := merged.Best(); !slices.Equal(got, want) {
			t.Fatalf("merged TopKs: %v, want %v", got, want)
		}
	}
}
