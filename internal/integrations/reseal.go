package integrations

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/store"
)

// ResealProgress is how far a reseal has come.
type ResealProgress struct {
	// Resealed rows now sealed under the newest key.
	Resealed int
	// Unreadable rows do not open under any configured key (their key was
	// dropped too early, or they were altered): left as they are.
	Unreadable []uuid.UUID
}

// DefaultResealBatch is how many rows one reseal transaction locks: small
// enough that a refresh waiting for one of them waits briefly.
const DefaultResealBatch = 100

// Reseal seals every integration's tokens again under the newest key, batch
// rows at a time, each batch its own transaction; progress (may be nil) is
// called after each. It is safe while servers run: rows are locked as a
// refresh locks them, and a server still sealing under an older key only
// leaves rows for the next run. It is resumable: rows already under the
// newest key are not read again, so a run stopped anywhere (ctx, a crash)
// is finished by running it again. Rows that open under no configured key
// are reported, not fatal.
func (s *Service) Reseal(ctx context.Context, batch int, progress func(ResealProgress)) (ResealProgress, error) {
	var done ResealProgress
	if s.keys == nil {
		return done, ErrDisabled
	}
	if batch <= 0 {
		batch = DefaultResealBatch
	}
	current := s.keys.Current()
	after := uuid.Nil
	for {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		var resealed int
		var unreadable []uuid.UUID
		last, n, err := s.store.ResealIntegrations(ctx, after, batch, current,
			func(rows []*store.SealedIntegration) ([]store.Reseal, error) {
				// Run again if the transaction is retried: count afresh.
				resealed, unreadable = 0, nil
				out := make([]store.Reseal, 0, len(rows))
				for _, r := range rows {
					re, err := s.resealRow(r, current)
					if err != nil {
						unreadable = append(unreadable, r.ID)
						continue
					}
					out = append(out, re)
				}
				resealed = len(out)
				return out, nil
			})
		if err != nil {
			return done, fmt.Errorf("reseal after %s: %w", after, err)
		}
		if n == 0 {
			return done, nil
		}
		done.Resealed += resealed
		done.Unreadable = append(done.Unreadable, unreadable...)
		after = last
		if progress != nil {
			progress(done)
		}
	}
}

func (s *Service) resealRow(r *store.SealedIntegration, current string) (store.Reseal, error) {
	re := store.Reseal{ID: r.ID, KeyID: current}
	access, err := s.open(r.UserID, r.Provider, columnAccess, r.AccessToken)
	if err != nil {
		return re, err
	}
	if re.AccessToken, err = s.seal(r.UserID, r.Provider, columnAccess, access); err != nil {
		return re, err
	}
	if r.RefreshToken != nil {
		refresh, err := s.open(r.UserID, r.Provider, columnRefresh, *r.RefreshToken)
		if err != nil {
			return re, err
		}
		sealed, err := s.seal(r.UserID, r.Provider, columnRefresh, refresh)
		if err != nil {
			return re, err
		}
		re.RefreshToken = &sealed
	}
	return re, nil
}
