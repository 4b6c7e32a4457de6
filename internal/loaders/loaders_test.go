package loaders

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vikstrous/dataloadgen"

	"github.com/agentgraph/agentgraph/internal/domain"
)

// A request's loaders are made one by one, when first used, and each once:
// concurrent first uses get the same loader, and the loaders a request does
// not use are never made.
func TestLoadersMadeOnFirstUse(t *testing.T) {
	t.Parallel()
	l := New(nil, time.Millisecond)
	got := make([]*dataloadgen.Loader[uuid.UUID, *domain.Agent], 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i] = l.Agent() })
	}
	wg.Wait()
	for i, a := range got {
		if a == nil || a != got[0] {
			t.Fatalf("use %d: loader %p, want %p", i, a, got[0])
		}
	}
	if l.collection.Load() != nil || l.skills.Load() != nil || l.messagePage.Load() != nil {
		t.Fatal("loaders not used were made")
	}
	if l.Collection() == nil || l.collection.Load() != l.Collection() {
		t.Fatal("Collection not made once on first use")
	}
}
