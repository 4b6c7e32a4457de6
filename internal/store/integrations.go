package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/pubsub"
)

// integrationCols are the columns users may read (00009, 00011): never a
// token, never the key id.
var integrationColumns = []string{"id", "user_id", "provider", "scopes", "token_expires_at", "metadata", "status", "connected_at", "updated_at"}

var integrationCols = cols("", integrationColumns)

func scanIntegration(row pgx.CollectableRow) (*domain.Integration, error) {
	var i domain.Integration
	var scopes string
	err := row.Scan(&i.ID, &i.UserID, &i.Provider, &scopes, &i.ExpiresAt, &i.Metadata, &i.StoredStatus, &i.ConnectedAt, &i.UpdatedAt)
	i.Scopes = strings.Fields(scopes)
	return &i, err
}

// Integrations lists the caller's connected integrations by provider, as the
// user (RLS, and column grants that leave the tokens out).
func (s *Store) Integrations(ctx context.Context) ([]*domain.Integration, error) {
	var rows []*domain.Integration
	b := &pgx.Batch{}
	all(b, &rows, scanIntegration, `select `+integrationCols+` from user_integrations order by provider`)
	return rows, s.run(ctx, b)
}

// NewIntegration is a connection to store, its tokens already sealed.
type NewIntegration struct {
	Provider     string
	AccessToken  string  // sealed
	RefreshToken *string // sealed; nil: none
	KeyID        string  // the key both are sealed under
	ExpiresAt    *time.Time
	Scopes       []string
	Metadata     []byte // a JSON object
}

// ConnectIntegration stores the caller's connection to a provider, replacing
// the previous one if any (tokens, scopes, expiry, metadata, status).
// Users may not write sealed tokens (00009), so the row is written by the
// service role, in the one statement of the batch, for the caller's own user
// id taken from the verified token: the statement cannot name anyone else.
func (s *Store) ConnectIntegration(ctx context.Context, n NewIntegration) (*domain.Integration, error) {
	uid, err := userID(ctx)
	if err != nil {
		return nil, err
	}
	var out *domain.Integration
	b := &pgx.Batch{}
	one(b, &out, scanIntegration, "integration not stored", `insert into user_integrations as i
		(user_id, provider, access_token_encrypted, refresh_token_encrypted, key_id, token_expires_at, scopes, metadata)
		values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
		on conflict (user_id, provider) do update set
		access_token_encrypted = excluded.access_token_encrypted,
		refresh_token_encrypted = excluded.refresh_token_encrypted,
		key_id = excluded.key_id, token_expires_at = excluded.token_expires_at,
		scopes = excluded.scopes, metadata = excluded.metadata,
		status = 'active', connected_at = now(), refreshed_at = null, refresh_error = null
		returning `+integrationCols,
		uid, n.Provider, n.AccessToken, n.RefreshToken, n.KeyID, n.ExpiresAt, strings.Join(n.Scopes, " "), string(n.Metadata))
	return out, s.runService(ctx, b)
}

// DisconnectIntegration deletes the caller's connection to provider, as the
// user (00009 lets users delete their own rows); false when there was none.
func (s *Store) DisconnectIntegration(ctx context.Context, provider string) (bool, error) {
	uid, err := userID(ctx)
	if err != nil {
		return false, err
	}
	var n int64
	b := &pgx.Batch{}
	affected(b, &n, `delete from user_integrations where user_id = $1 and provider = $2`, uid, provider)
	return n > 0, s.run(ctx, b)
}

// SealedIntegration is a row of user_integrations with its sealed tokens,
// for the service side only: it never reaches the API.
type SealedIntegration struct {
	ID           uuid.UUID
	UserID       uuid.UUID
	Provider     string
	AccessToken  string  // sealed
	RefreshToken *string // sealed
	KeyID        *string
	ExpiresAt    *time.Time
	Scopes       []string
	Status       domain.IntegrationStatus // as stored: active or refresh_failed
}

var sealedColumns = []string{"id", "user_id", "provider", "access_token_encrypted", "refresh_token_encrypted", "key_id", "token_expires_at", "scopes", "status"}

var sealedCols = cols("", sealedColumns)

func scanSealed(row pgx.CollectableRow) (*SealedIntegration, error) {
	var i SealedIntegration
	var scopes string
	err := row.Scan(&i.ID, &i.UserID, &i.Provider, &i.AccessToken, &i.RefreshToken, &i.KeyID, &i.ExpiresAt, &scopes, &i.Status)
	i.Scopes = strings.Fields(scopes)
	return &i, err
}

// IntegrationNotConnected is the NOT_FOUND message for a user with no
// connection to a provider.
const IntegrationNotConnected = "integration not connected"

// SealedIntegration reads user's connection to provider with its sealed
// tokens, as the service role; NOT_FOUND when there is none.
func (s *Store) SealedIntegration(ctx context.Context, user uuid.UUID, provider string) (*SealedIntegration, error) {
	var out *SealedIntegration
	b := &pgx.Batch{}
	one(b, &out, scanSealed, IntegrationNotConnected, `select `+sealedCols+` from user_integrations
		where user_id = $1 and provider = $2`, user, provider)
	return out, s.runService(ctx, b)
}

// Renewal is what a refresh decided, written under the row's lock.
type Renewal struct {
	// Tokens are the renewed tokens, sealed; nil when the refresh was refused.
	Tokens *RenewedTokens
	// Refused is the provider's error code when it refused: the row becomes
	// refresh_failed and FeedType/FeedMessage go to the user's feed.
	Refused               string
	FeedType, FeedMessage string
}

// RenewedTokens are sealed tokens from a refresh.
type RenewedTokens struct {
	AccessToken  string  // sealed
	RefreshToken *string // sealed
	KeyID        string
	ExpiresAt    *time.Time
}

// RenewIntegration locks user's connection to provider (FOR UPDATE) and
// calls decide with the locked row; what decide returns is written before
// the lock is released: renewed tokens, or refresh_failed with a feed event
// (published on commit). A nil Renewal writes nothing (another caller renewed
// the tokens while this one waited for the lock). NOT_FOUND when there is no
// such connection.
//
// The lock is what makes concurrent refreshes of one row happen once: a
// second caller waits here and then sees the renewed row. decide may call
// the provider while the lock is held, so the transaction is not retried
// (unlike serviceTx): a provider that rotates refresh tokens has already
// invalidated the old one, and a second call would be refused. Statements
// after the lock touch this row and insert one feed event with no agent, so
// they meet no lock cycle (retry.go).
func (s *Store) RenewIntegration(ctx context.Context, user uuid.UUID, provider string,
	decide func(*SealedIntegration) (*Renewal, error)) error {
	return translate(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, setServiceSQL); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `select `+sealedCols+` from user_integrations
			where user_id = $1 and provider = $2 for update`, user, provider)
		if err != nil {
			return err
		}
		row, err := pgx.CollectExactlyOneRow(rows, scanSealed)
		if err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return apperr.NotFoundf("%s", IntegrationNotConnected)
			}
			return err
		}
		r, err := decide(row)
		if err != nil || r == nil {
			return err
		}
		b := &pgx.Batch{}
		if t := r.Tokens; t != nil {
			b.Queue(`update user_integrations set access_token_encrypted = $2, refresh_token_encrypted = $3, key_id = $4,
				token_expires_at = $5, status = 'active', refreshed_at = now(), refresh_error = null where id = $1`,
				row.ID, t.AccessToken, t.RefreshToken, t.KeyID, t.ExpiresAt)
		} else {
			b.Queue(`update user_integrations set status = 'refresh_failed', refresh_error = left($2, 200) where id = $1`,
				row.ID, r.Refused)
			id := uuid.New()
			b.Queue(`insert into feed_events (id, user_id, type, message) values ($1, $2, $3, $4)`,
				id, user, r.FeedType, r.FeedMessage)
			if err := pubsub.Notify(b, pubsub.Event{Kind: pubsub.KindFeed, UserID: user, ID: id.String()}); err != nil {
				return err
			}
		}
		return tx.SendBatch(ctx, b).Close()
	}))
}

// Reseal is one row's tokens sealed again under the newest key.
type Reseal struct {
	ID           uuid.UUID
	AccessToken  string
	RefreshToken *string
	KeyID        string
}

// ResealIntegrations locks up to limit rows after id `after` (in id order)
// whose tokens are not under key `current`, hands them to reseal and writes
// what it returns, in one transaction as the service role. It returns the
// last id seen (the next call's after) and how many rows it saw; 0 means
// none is left after `after`. Rows are locked FOR UPDATE in id order, the
// way a refresh locks its one row, so a reseal waits for a refresh in
// progress and then sees what it wrote (Postgres re-checks the key_id
// condition on the updated row): it never overwrites a renewed token with an
// older one. Each batch commits on its own, so an interrupted run loses at
// most its current batch and the next run carries on.
func (s *Store) ResealIntegrations(ctx context.Context, after uuid.UUID, limit int, current string,
	reseal func([]*SealedIntegration) ([]Reseal, error)) (last uuid.UUID, n int, err error) {
	err = s.serviceTx(ctx, func(tx pgx.Tx) error {
		last, n = after, 0
		rows, err := tx.Query(ctx, `select `+sealedCols+` from user_integrations
			where id > $1 and key_id is distinct from $2 order by id limit $3 for update`, after, current, limit)
		if err != nil {
			return err
		}
		found, err := pgx.CollectRows(rows, scanSealed)
		if err != nil || len(found) == 0 {
			return err
		}
		last, n = found[len(found)-1].ID, len(found)
		out, err := reseal(found)
		if err != nil || len(out) == 0 {
			return err
		}
		ids := make([]uuid.UUID, len(out))
		access := make([]string, len(out))
		refresh := make([]*string, len(out))
		keys := make([]string, len(out))
		for i, r := range out {
			ids[i], access[i], refresh[i], keys[i] = r.ID, r.AccessToken, r.RefreshToken, r.KeyID
		}
		_, err = tx.Exec(ctx, `update user_integrations u set access_token_encrypted = r.access,
			refresh_token_encrypted = r.refresh, key_id = r.key_id
			from unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) as r(id, access, refresh, key_id)
			where u.id = r.id`, ids, access, refresh, keys)
		if err != nil {
			return fmt.Errorf("reseal: %w", err)
		}
		return nil
	})
	return last, n, err
}
