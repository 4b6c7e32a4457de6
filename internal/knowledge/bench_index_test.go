package knowledge_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/knowledge"
)

// BenchmarkIndexJob measures the index job alone: entries inserted in bulk
// (one statement, as pending) with their user's job, then the time until
// none is pending. Each run's texts are new, so none comes from the
// embedding cache.
func BenchmarkIndexJob(b *testing.B) {
	r := newRigDims(b, knowledge.ModePostgres, benchDims)
	ctx := context.Background()
	user := uuid.New()
	col := r.collection(b, user, "bulk")
	const n = 2000
	for b.Loop() {
		if _, err := r.pool.Exec(ctx, `insert into knowledge_entries (user_id, collection_id, content, type)
			select $1, $2, 'bulk entry ' || i || ' ' || $3, 'note' from generate_series(1, $4) i`,
			user, col, strconv.FormatInt(time.Now().UnixNano(), 10), n); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := r.jobs.Insert(ctx, knowledge.IndexArgs{UserID: user}, nil); err != nil {
			b.Fatal(err)
		}
		r.waitIndexed(b)
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "entries/s")
	}
}

// BenchmarkIndexingClients measures indexing while entries arrive through
// the API from several clients at once (one user each, so one index job
// each, run by the rig's four knowledge workers): from the first add until
// none is pending.
func BenchmarkIndexingClients(b *testing.B) {
	r := newRigDims(b, knowledge.ModePostgres, benchDims)
	const clients, each = 4, 500
	users := make([]uuid.UUID, clients)
	cols := make([]uuid.UUID, clients)
	for i := range users {
		users[i] = uuid.New()
		cols[i] = r.collection(b, users[i], "bulk")
	}
	for b.Loop() {
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for c := range clients {
			wg.Go(func() {
				imp := 0.5
				for i := range each {
					if _, err := r.svc.AddEntry(as(users[c]), domain.KnowledgeEntryInput{CollectionID: cols[c].String(),
						Content: fmt.Sprintf("client %d entry %d %d", c, i, time.Now().UnixNano()), Type: domain.KnowledgeNote, Importance: &imp}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		added := time.Since(start)
		r.waitIndexed(b)
		b.ReportMetric(float64(clients*each)/time.Since(start).Seconds(), "entries/s")
		b.ReportMetric(float64(clients*each)/added.Seconds(), "adds/s")
	}
}
