package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/domain"
)

var personalizationColumns = []string{"bio", "occupation", "company", "goals", "interests", "about_me", "twitter", "linkedin", "github", "instagram"}

var personalizationCols = cols("", personalizationColumns)

func scanPersonalization(row pgx.CollectableRow) (*domain.Personalization, error) {
	var p domain.Personalization
	return &p, row.Scan(&p.Bio, &p.Occupation, &p.Company, &p.Goals, &p.Interests, &p.AboutMe,
		&p.Twitter, &p.Linkedin, &p.Github, &p.Instagram)
}

// Personalization returns the caller's profile, or nil before the first update.
func (s *Store) Personalization(ctx context.Context) (*domain.Personalization, error) {
	var rows []*domain.Personalization
	b := &pgx.Batch{}
	all(b, &rows, scanPersonalization, `select `+personalizationCols+` from user_personalization`)
	if err := s.run(ctx, b); err != nil || len(rows) == 0 {
		return nil, err
	}
	return rows[0], nil
}

// UpdatePersonalization merges p into the caller's profile, creating it on
// first use: nil keeps a value, an empty string clears it.
func (s *Store) UpdatePersonalization(ctx context.Context, p domain.Personalization) (*domain.Personalization, error) {
	uid, err := userID(ctx)
	if err != nil {
		return nil, err
	}
	var out *domain.Personalization
	b := &pgx.Batch{}
	one(b, &out, scanPersonalization, "personalization not found", `insert into user_personalization as p
		(user_id, `+personalizationCols+`) values ($1, nullif($2, ''), nullif($3, ''), nullif($4, ''), nullif($5, ''),
		nullif($6, ''), nullif($7, ''), nullif($8, ''), nullif($9, ''), nullif($10, ''), nullif($11, ''))
		on conflict (user_id) do update set
		bio = case when $2::text is null then p.bio else excluded.bio end,
		occupation = case when $3::text is null then p.occupation else excluded.occupation end,
		company = case when $4::text is null then p.company else excluded.company end,
		goals = case when $5::text is null then p.goals else excluded.goals end,
		interests = case when $6::text is null then p.interests else excluded.interests end,
		about_me = case when $7::text is null then p.about_me else excluded.about_me end,
		twitter = case when $8::text is null then p.twitter else excluded.twitter end,
		linkedin = case when $9::text is null then p.linkedin else excluded.linkedin end,
		github = case when $10::text is null then p.github else excluded.github end,
		instagram = case when $11::text is null then p.instagram else excluded.instagram end
		returning `+personalizationCols,
		uid, p.Bio, p.Occupation, p.Company, p.Goals, p.Interests, p.AboutMe, p.Twitter, p.Linkedin, p.Github, p.Instagram)
	return out, s.run(ctx, b)
}
