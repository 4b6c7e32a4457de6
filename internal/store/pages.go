package store

import (
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/page"
)

// lateralPages loads a page of children for each of several parents (the
// messages of each thread of a list, the entries of each collection …) in
// one round trip: keys that ask for the same page (group: its size, cursor
// and filters) of different parents share one query, which queue adds to b,
// typically `unnest(parents) cross join lateral (… limit n+1)`. Once b has
// run, the returned function cuts each key's page out of its group's rows,
// matched to their parent by parentOf (never by row order).
func lateralPages[K, G, P comparable, T any](b *pgx.Batch, keys []K,
	split func(K) (group G, parent P),
	queue func(b *pgx.Batch, group G, parents []P, dst *[]T),
	parentOf func(T) P,
	cut func(group G, rows []T) page.Page[T],
) func() map[K]page.Page[T] {
	parents := make(map[G][]P)
	for _, k := range keys {
		g, p := split(k)
		parents[g] = append(parents[g], p)
	}
	rows := make(map[G]*[]T, len(parents))
	for g, ps := range parents {
		dst := new([]T)
		rows[g] = dst
		queue(b, g, ps, dst)
	}
	return func() map[K]page.Page[T] {
		byParent := make(map[G]map[P][]T, len(rows))
		for g, r := range rows {
			byParent[g] = groupBy(*r, parentOf)
		}
		out := make(map[K]page.Page[T], len(keys))
		for _, k := range keys {
			g, p := split(k)
			out[k] = cut(g, byParent[g][p])
		}
		return out
	}
}
