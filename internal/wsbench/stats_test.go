package wsbench

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// summary describes a set of latencies.
type summary struct {
	n                  int
	p50, p90, p99, max time.Duration
	mean               time.Duration
}

// summarize sorts d in place and returns its nearest-rank percentiles.
func summarize(d []time.Duration) summary {
	if len(d) == 0 {
		return summary{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return summary{
		n: len(d), p50: percentile(d, 50), p90: percentile(d, 90), p99: percentile(d, 99),
		max: d[len(d)-1], mean: sum / time.Duration(len(d)),
	}
}

// percentile is the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(p/100*float64(len(sorted)) + 0.999999999)
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func (s summary) String() string {
	return fmt.Sprintf("n=%d p50=%s p90=%s p99=%s max=%s mean=%s", s.n, ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), ms(s.mean))
}

// ms formats d in milliseconds with enough digits for sub-millisecond values.
func ms(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	}
}

func TestSummarize(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	s := summarize(d)
	if s.n != 100 || s.p50 != 50*time.Millisecond || s.p90 != 90*time.Millisecond || s.p99 != 99*time.Millisecond ||
		s.max != 100*time.Millisecond || s.mean != 50500*time.Microsecond {
		t.Fatalf("summarize(1..100 ms) = %v", s)
	}
	if s := summarize([]time.Duration{7}); s.p50 != 7 || s.p99 != 7 || s.max != 7 {
		t.Fatalf("summarize one = %v", s)
	}
	if s := summarize(nil); s.n != 0 {
		t.Fatalf("summarize(nil) = %v", s)
	}
}
