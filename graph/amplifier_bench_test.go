package graph_test

import (
	"bytes"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestAmplifierDoesNotHurtOthers measures another user's dashboard p99
// alone and while one user sends the list-walking amplifier of issue 10
// (collections → agents → knowledgeAccess → collection → agents …) in a
// loop. The amplifier is refused before execution, so the dashboard keeps
// its p99. Numbers: BENCHMARKS.md. Run with
//
//	LIMITS_BENCH=1 go test -run TestAmplifierDoesNotHurtOthers -v -count=1 ./graph/
func TestAmplifierDoesNotHurtOthers(t *testing.T) {
	if os.Getenv("LIMITS_BENCH") == "" {
		t.Skip("a measurement: set LIMITS_BENCH=1")
	}
	e := newEnv(t)
	attacker, victim := uuid.New(), uuid.New()
	// 10 agents × 10 collections, every agent with access to every collection.
	for _, u := range []uuid.UUID{attacker, victim} {
		var agents, cols []string
		for range 10 {
			agents = append(agents, id(t, e.must(t, u, `mutation { createAgent(input: {name: "A", type: CUSTOM}) { id } }`, nil), "createAgent"))
			cols = append(cols, id(t, e.must(t, u, `mutation { createCollection(input: {name: "C"}) { id } }`, nil), "createCollection"))
		}
		for _, a := range agents {
			for _, c := range cols {
				e.must(t, u, `mutation($a: ID!, $c: ID!) { grantKnowledgeAccess(agentId: $a, collectionId: $c, accessLevel: READ) { accessLevel } }`,
					map[string]any{"a": a, "c": c})
			}
		}
	}
	const dashboard = `{ viewer { id } agents(first: 20) { totalCount edges { node { id name level
		skills { slug } knowledgeAccess { accessLevel collection { id name } } } } } feed(first: 20) { edges { node { id type } } } }`
	// Within the depth limit: its price is what refuses it.
	amplifier := queryBody(t, `{ collections(first: 100) { edges { node { agents { knowledgeAccess { collection { agents {
		knowledgeAccess { collection { agents { name } } } } } } } } } } }`, nil)

	measure := func(n int) (p50, p99 time.Duration) {
		var d []time.Duration
		for range n {
			start := time.Now()
			e.must(t, victim, dashboard, nil)
			d = append(d, time.Since(start))
		}
		slices.Sort(d)
		return d[n/2], d[n*99/100]
	}
	measure(20) // warm up
	p50, p99 := measure(300)
	t.Logf("dashboard alone:            p50 %v p99 %v", p50, p99)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var refused, other atomic.Int64
	var lastOther atomic.Value
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, r := e.post(t, attacker, bytes.NewReader(amplifier), int64(len(amplifier)))
				if status < 500 && r.code() == "COMPLEXITY_LIMIT_EXCEEDED" {
					refused.Add(1)
				} else {
					other.Add(1)
					lastOther.Store(r.Errors)
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	ap50, ap99 := measure(300)
	close(stop)
	wg.Wait()
	t.Logf("dashboard under amplifier:  p50 %v p99 %v (%d amplifiers refused in %v, %d otherwise answered)",
		ap50, ap99, refused.Load(), time.Since(start).Round(time.Millisecond), other.Load())
	if other.Load() != 0 {
		t.Fatalf("%d amplifier requests were not refused with COMPLEXITY_LIMIT_EXCEEDED: %+v", other.Load(), lastOther.Load())
	}
}
