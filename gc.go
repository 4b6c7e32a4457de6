package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The collector's pace (GOGC) unless the environment sets GOGC or
// GOMEMLIMIT. Go's default, 100, lets the heap grow by what is live before
// the next cycle. Serving requests, the live heap is small (tens of MiB) and
// a request's garbage dies with it, so 100 collects very often for little
// memory saved: about a tenth of the CPU per request went to the collector
// in the load benchmark (BENCHMARKS.md, "Against PostGraphile"). With
// thousands of idle WebSockets the live heap is large and the growth would
// be paid in memory per socket instead, so the pace follows the live heap:
// the heap may grow by gcHeadroom, by at most maxGCPercent of what is live,
// and never by less than Go's default.
const (
	gcHeadroom   = 128 << 20
	maxGCPercent = 400
	minGCPercent = 100
	gcRetune     = time.Second
)

// gcPercentFor is the GOGC for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return maxGCPercent
	}
	return int(min(maxGCPercent, max(minGCPercent, gcHeadroom*100/live)))
}

// tuneGC sets GOGC from the live heap now and then every gcRetune until ctx
// ends, unless getenv has GOGC or GOMEMLIMIT: an operator's setting wins.
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
	go func() {
		t := time.NewTicker(gcRetune)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				set()
			}
		}
	}()
}
