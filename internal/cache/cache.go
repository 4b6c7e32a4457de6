// Package cache adapts ristretto to gqlgen's graphql.Cache, for automatic
// persisted queries: a hash to query text map that is the same for every user,
// so sharing it across users leaks nothing.
package cache

import (
	"context"

	"github.com/dgraph-io/ristretto/v2"
)

// Strings is a size-bounded cache of strings, costed by their length.
type Strings struct {
	c *ristretto.Cache[string, string]
}

// NewStrings returns a cache holding about maxBytes of values.
func NewStrings(maxBytes int64) (*Strings, error) {
	c, err := ristretto.NewCache(&ristretto.Config[string, string]{
		NumCounters: maxBytes / 100, // ~10x the expected number of entries of ~1 KB
		MaxCost:     maxBytes,
		BufferItems: 64,
	})
	if err != nil {
		return nil, err
	}
	return &Strings{c: c}, nil
}

// Get returns the value stored under key.
func (s *Strings) Get(_ context.Context, key string) (string, bool) { return s.c.Get(key) }

// Add stores value under key. ristretto applies writes asynchronously; Wait
// makes a persisted query usable by the very next request that names it.
func (s *Strings) Add(_ context.Context, key, value string) {
	s.c.Set(key, value, int64(len(key)+len(value)))
	s.c.Wait()
}

// Close releases the cache's goroutines.
func (s *Strings) Close() { s.c.Close() }
