// Package ratelimit meters what costs the server or its bill per caller:
// mutations, calls that start an LLM reply, new subscriptions, and the
// price of every operation in points (its complexity). Each
// caller (a user, or a client IP without a token) has a token bucket per
// kind (golang.org/x/time/rate); buckets live in a ristretto cache, so the
// memory they take is bounded however many callers come. Buckets are per
// instance: behind N instances a caller gets up to N times the rate.
package ratelimit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"golang.org/x/time/rate"
)

// Kind is what a bucket meters.
type Kind int

// The kinds of calls that are metered.
const (
	Mutation     Kind = iota // every root mutation field
	LLM                      // sendMessage: each starts a paid reply
	Subscription             // each new subscription
	Points                   // every operation: max(MinPoints, its complexity)
	kinds
)

var kindNames = [kinds]string{"mutation", "llm", "subscription", "points"}

// MinPoints is what any operation costs in points, whatever its complexity,
// and what it pays before it is parsed: a flood of cheap, malformed or
// refused documents still spends the caller's budget.
const MinPoints = 100

func (k Kind) String() string { return kindNames[k] }

// Limit is N calls per Per, with bursts up to N. N = 0 means no limit.
type Limit struct {
	N   int
	Per time.Duration
}

// ParseLimit reads "N/duration" (e.g. "120/1m"), or "0" for no limit.
func ParseLimit(s string) (Limit, error) {
	if strings.TrimSpace(s) == "0" {
		return Limit{}, nil
	}
	n, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 0 {
		return Limit{}, fmt.Errorf("want N/duration like 120/1m, or 0, got %q", s)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Limit{}, fmt.Errorf("want N/duration like 120/1m, or 0, got %q", s)
	}
	return Limit{N: count, Per: d}, nil
}

func (l Limit) String() string {
	if l.N == 0 {
		return "0"
	}
	return fmt.Sprintf("%d/%s", l.N, l.Per)
}

// Config holds the limits of users and of anonymous callers: Supabase
// anonymous sign-ins (anyone can mint them) and requests without a token,
// metered by client IP.
type Config struct {
	User      [kinds]Limit
	Anonymous [kinds]Limit
}

// Defaults are the limits without configuration (README.md).
func Defaults() Config {
	return Config{
		User: [kinds]Limit{Mutation: {120, time.Minute}, LLM: {20, time.Minute}, Subscription: {60, time.Minute},
			Points: {1_000_000, time.Minute}},
		Anonymous: [kinds]Limit{Mutation: {30, time.Minute}, LLM: {5, time.Minute}, Subscription: {20, time.Minute},
			Points: {100_000, time.Minute}},
	}
}

// maxKeys bounds the buckets kept: past it ristretto evicts the least
// valuable, and an evicted caller starts again with a full bucket.
const maxKeys = 1 << 17

// bucketTTL forgets a caller idle this long (a full bucket again).
const bucketTTL = time.Hour

// Limiter holds the buckets. It is safe for concurrent use.
type Limiter struct {
	cfg     Config
	buckets *ristretto.Cache[string, *rate.Limiter]
	mu      sync.Mutex // makes get-or-create atomic
	// overflow is shared by the callers whose bucket the cache would not
	// admit (it is full of others): they are limited together rather than
	// not at all.
	overflow map[string]*rate.Limiter
}

// New returns a Limiter for cfg.
func New(cfg Config) (*Limiter, error) {
	c, err := ristretto.NewCache(&ristretto.Config[string, *rate.Limiter]{
		NumCounters: maxKeys * 10, MaxCost: maxKeys, BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}
	return &Limiter{cfg: cfg, buckets: c, overflow: map[string]*rate.Limiter{}}, nil
}

// Close releases the cache's goroutines.
func (l *Limiter) Close() { l.buckets.Close() }

// Caller is whom a bucket belongs to.
type Caller struct {
	// Key is a user id, or "ip:" and an address.
	Key string
	// Anonymous selects Config.Anonymous.
	Anonymous bool
}

// Take takes n tokens of kind from the caller's bucket. When they are not
// there it takes none and says how long until they will be.
func (l *Limiter) Take(c Caller, kind Kind, n int) (ok bool, retryAfter time.Duration) {
	limit, class := l.limitOf(c, kind)
	if limit.N == 0 || n <= 0 {
		return true, 0
	}
	if n > limit.N {
		// More than a full bucket: never allowed in one request.
		return false, limit.Per
	}
	b := l.bucket(class, c.Key, limit)
	now := time.Now()
	r := b.ReserveN(now, n)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// limitOf is the caller's limit of kind and the class of buckets it fills.
func (l *Limiter) limitOf(c Caller, kind Kind) (Limit, string) {
	if c.Anonymous {
		return l.cfg.Anonymous[kind], kind.String() + "-anonymous"
	}
	return l.cfg.User[kind], kind.String()
}

func (l *Limiter) bucket(class, caller string, limit Limit) *rate.Limiter {
	key := class + "|" + caller
	if b, ok := l.buckets.Get(key); ok {
		return b
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets.Get(key); ok {
		return b
	}
	every := rate.Limit(float64(limit.N) / limit.Per.Seconds())
	l.buckets.SetWithTTL(key, rate.NewLimiter(every, limit.N), 1, bucketTTL)
	// ristretto applies sets asynchronously: without waiting, the caller's
	// next request could find no bucket and get a fresh one.
	l.buckets.Wait()
	if b, ok := l.buckets.Get(key); ok {
		return b
	}
	o, ok := l.overflow[class]
	if !ok {
		o = rate.NewLimiter(every, limit.N)
		l.overflow[class] = o
	}
	return o
}

// Status is a caller's budget of points as one operation leaves it (the API's
// RateLimit).
type Status struct {
	Limit     int       // points when full
	Cost      int       // what the operation paid
	Remaining int       // points left, rounded down
	ResetAt   time.Time // when full again if nothing more is spent
}

// status reads the caller's bucket of kind at now; false when kind is not
// metered for the caller.
func (l *Limiter) status(c Caller, kind Kind, now time.Time) (Status, bool) {
	limit, class := l.limitOf(c, kind)
	if limit.N == 0 {
		return Status{}, false
	}
	tokens := max(0, l.bucket(class, c.Key, limit).TokensAt(now))
	missing := float64(limit.N) - tokens
	return Status{
		Limit:     limit.N,
		Remaining: int(tokens),
		ResetAt:   now.Add(time.Duration(missing / float64(limit.N) * float64(limit.Per))).Truncate(time.Second).Add(time.Second),
	}, true
}

// Seconds rounds a wait up to whole seconds, as Retry-After wants.
func Seconds(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }
