package ratelimit

import (
	"testing"
	"time"
)

// A bucket of points is spent by amounts, refuses without spending, and
// never admits more than it holds in one go.
func TestTakePoints(t *testing.T) {
	cfg := Config{User: [kinds]Limit{Points: {N: 1000, Per: time.Hour}}}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := Caller{Key: "u1"}
	for _, step := range []struct {
		n  int
		ok bool
	}{{600, true}, {500, false}, {400, true}, {1, false}, {1001, false}} {
		ok, wait := l.Take(c, Points, step.n)
		if ok != step.ok || !ok && wait <= 0 {
			t.Fatalf("take %d: %v (wait %v), want %v", step.n, ok, wait, step.ok)
		}
	}
	if ok, _ := l.Take(Caller{Key: "u2"}, Points, 1000); !ok {
		t.Fatal("another caller shares the first one's bucket")
	}
	if ok, _ := l.Take(Caller{Key: "u3", Anonymous: true}, Points, 1); !ok {
		t.Fatal("a zero anonymous limit is no limit")
	}
}

// BenchmarkTake is what metering adds to every operation: two takes of
// points from a bucket that never runs dry.
func BenchmarkTake(b *testing.B) {
	l, err := New(Config{User: [kinds]Limit{Points: {N: 1 << 30, Per: time.Second}}})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	c := Caller{Key: "3f2a8c1e-8d4b-4c1e-9a7f-2b6d5e4c3a21"}
	b.ReportAllocs()
	for b.Loop() {
		l.Take(c, Points, MinPoints)
		l.Take(c, Points, 1)
	}
}
