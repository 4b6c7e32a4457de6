// Package cache adapts ristretto to gqlgen's graphql.Cache, for automatic
// persisted queries: a hash to query text map that is the same for every user,
// so sharing it across users leaks nothing.
package cache

import (
	"context"
	"time"

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

// Recent holds values for a short time, for work many requests repeat at
// once: a live event's row, loaded once per instance however many of its
// user's sockets deliver it. Keys must name the user the value belongs to.
type Recent[V any] struct {
	c   *ristretto.Cache[string, V]
	ttl time.Duration
}

// NewRecent returns a cache of about maxItems values, each kept for ttl.
func NewRecent[V any](maxItems int64, ttl time.Duration) (*Recent[V], error) {
	c, err := ristretto.NewCache(&ristretto.Config[string, V]{
		NumCounters: maxItems * 10,
		MaxCost:     maxItems,
		BufferItems: 64,
	})
	if err != nil {
		return nil, err
	}
	return &Recent[V]{c: c, ttl: ttl}, nil
}

// Get returns the value under key, if still held.
func (r *Recent[V]) Get(key string) (V, bool) { return r.c.Get(key) }

// Set holds value under key for the cache's ttl. It is visible to Get at once.
func (r *Recent[V]) Set(key string, value V) {
	r.c.SetWithTTL(key, value, 1, r.ttl)
	r.c.Wait()
}

// Close releases the cache's goroutines.
func (r *Recent[V]) Close() { r.c.Close() }
