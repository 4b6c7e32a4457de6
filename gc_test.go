package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 400}, {10 << 20, 400}, {16 << 20, 400}, {32 << 20, 200}, {64 << 20, 100}, {1 << 30, 100},
	} {
		if got := gcPercentFor(c.live); got != c.want {
			t.Errorf("gcPercentFor(%d MiB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
}

// gcPercent reads GOGC as the runtime has it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// Not parallel: GOGC is the process's.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(gcPercent())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	debug.SetGCPercent(100)
	tuneGC(ctx, func(k string) string { return map[string]string{"GOGC": "100"}[k] })
	if got := gcPercent(); got != 100 {
		t.Errorf("with GOGC set, GOGC became %d", got)
	}
	tuneGC(ctx, func(string) string { return "" })
	if got := gcPercent(); got != 400 { // a test's live heap is a few MiB
		t.Errorf("GOGC = %d, want 400 for a small live heap", got)
	}
}

func TestAfterEachGC(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	afterEachGC(ctx, func() { calls.Add(1) })
	for deadline := time.Now().Add(5 * time.Second); calls.Load() < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls after 5s of collections, want 3", calls.Load())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // cleanups run on their own goroutine
	}
}
