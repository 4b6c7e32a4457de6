package graph_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/loaders"
)

// BenchmarkDashboardQuery measures the dashboard query end to end over HTTP
// (JWT check, loaders, RLS batches on a real Postgres) and reports its SQL
// round trips per request, which must not change with the number of agents.
// It runs with the production loader wait.
//
//	go test -run '^$' -bench DashboardQuery -benchtime 200x ./graph
func BenchmarkDashboardQuery(b *testing.B) {
	for _, agents := range []int{2, 50} {
		b.Run(fmt.Sprintf("agents=%d", agents), func(b *testing.B) {
			e := newEnvWait(b, loaders.DefaultWait)
			user := uuid.New()
			for range agents {
				e.seed(b, user)
			}
			e.must(b, user, dashboardQuery, nil)
			e.queries.n.Store(0)
			b.ResetTimer()
			for b.Loop() {
				e.must(b, user, dashboardQuery, nil)
			}
			b.StopTimer()
			b.ReportMetric(float64(e.queries.n.Load())/float64(b.N), "roundtrips/op")
		})
	}
}
