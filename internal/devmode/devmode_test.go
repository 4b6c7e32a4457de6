package devmode

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/agentgraph/agentgraph/internal/auth"
)

// The identity is made once and read back unchanged, also by processes
// racing to make it.
func TestLoadIsStable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), DefaultFile)
	ids := make([]Identity, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := Load(path)
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	again, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if id != again {
			t.Fatalf("identities differ: %+v and %+v", id, again)
		}
	}
}

// A minted token passes the server's own verifier, issuer included.
func TestTokenVerifies(t *testing.T) {
	t.Parallel()
	id, err := Load(filepath.Join(t.TempDir(), DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	const iss = "https://example.supabase.co/auth/v1"
	v, err := auth.NewVerifier(context.Background(), auth.Options{HS256Secret: []byte(id.Secret), Issuer: iss})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Token(id.Secret, id.User, time.Hour, iss)
	if err != nil {
		t.Fatal(err)
	}
	u, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if u.ID != id.User {
		t.Errorf("user %v, want %v", u.ID, id.User)
	}
}
