package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// The collector's pace (GOGC) unless the environment sets GOGC or
// GOMEMLIMIT. Go's default, 100, lets the heap grow by what is live before
// the next cycle. Serving requests, the live heap is small (tens of MiB) and
// a request's garbage dies with it, so 100 collects very often for little
// memory saved: 12-15 % of the server's CPU went to the collector in
// profiles of the load benchmark, and GOGC=400 took a fifth to a third off
// the CPU per request (BENCHMARKS.md, "Against PostGraphile"). With
// thousands of idle WebSockets the live heap is large and the growth would
// be paid in memory per socket instead, so the pace follows the live heap:
// the heap may grow by gcHeadroom, by at most maxGCPercent of what is live,
// and never by less than Go's default. (128 MiB of headroom still cost
// 10,000 idle sockets 2 KiB each; 64 MiB costs them nothing measurable.)
const (
	gcHeadroom   = 64 << 20
	maxGCPercent = 400
	minGCPercent = 100
)

// gcPercentFor is the GOGC for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return maxGCPercent
	}
	return int(min(maxGCPercent, max(minGCPercent, gcHeadroom*100/live)))
}

// tuneGC sets GOGC from the live heap now and again after every collection
// until ctx ends, unless getenv has GOGC or GOMEMLIMIT: an operator's
// setting wins. Retuning at each cycle, when the live heap has just been
// measured, follows a fast-growing heap (10,000 sockets opening in seconds)
// closely; a periodic retune let the heap overshoot meanwhile (BENCHMARKS.md).
func tuneGC(ctx context.Context, getenv func(string) string) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	last := 0
	set := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if p := gcPercentFor(sample[0].Value.Uint64()); p != last {
			debug.SetGCPercent(p)
			last = p
		}
	}
	set()
	afterEachGC(ctx, set)
}

// afterEachGC calls f after every garbage collection until ctx ends: a
// sentinel object nothing refers to is collected by the next cycle, and its
// cleanup (run by the runtime after that cycle) calls f and arms the next.
func afterEachGC(ctx context.Context, f func()) {
	sentinel := new([32]byte) // past the tiny allocator, whose objects share cleanups
	runtime.AddCleanup(sentinel, func(struct{}) {
		if ctx.Err() == nil {
			f()
			afterEachGC(ctx, f)
		}
	}, struct{}{})
}
