package knowledge

import (
	"context"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/vectors"
)

// weight is the ranking formula (README.md, "Knowledge and search"): a hit's
// score is its similarity weighted by the entry's importance, so an entry of
// importance 0 keeps half its similarity and one of importance 1 all of it.
func weight(similarity, importance float64) float64 { return similarity * (0.5 + 0.5*importance) }

// search ranks sc's entries for query, best first, at most limit: by vector
// similarity for indexed entries and by full text for the others (just
// added or edited, or failed), so nothing a user added is missed while it
// waits for its job. Without embeddings, and whenever the embedding call
// fails, by full text alone. st runs the statements: the request's store for
// a user's search (RLS applies), the background store for an agent's.
//
// textQuery is the full-text query (websearch_to_tsquery syntax); query is
// what is embedded.
func (e *Engine) search(ctx context.Context, st *store.Store, sc store.Scope, query, textQuery string, limit int, agent *uuid.UUID) ([]store.Hit, error) {
	if len(sc.Collections) == 0 {
		return []store.Hit{}, nil
	}
	if e.mode == ModeText {
		return st.TextHits(ctx, sc, textQuery, limit, false)
	}
	if over, err := e.overBudget(ctx, sc.User); err != nil || over {
		if err != nil {
			return nil, err
		}
		return st.TextHits(ctx, sc, textQuery, limit, false) // no paid call past the budget
	}
	vecs, usage, err := e.embed(ctx, []string{query})
	if err != nil {
		e.log.Warn("search: embedding the query failed; searching by full text", "err", err)
		return st.TextHits(ctx, sc, textQuery, limit, false)
	}
	if u := e.usageRow(sc.User, agent, usage); u != nil {
		if err := e.bg.LogUsage(ctx, *u); err != nil {
			return nil, err
		}
	}
	q := vecs[0]
	var matches []vectors.Scored
	if e.pinecone != nil {
		// Ask for more than limit: hits whose entries changed since they were
		// indexed are dropped below.
		if matches, err = e.pinecone.Query(ctx, sc.User, q, sc.Collections, 2*limit); err != nil {
			e.log.Warn("search: Pinecone query failed; searching by full text", "err", err)
			return st.TextHits(ctx, sc, textQuery, limit, false)
		}
	}
	// The vector pass reads indexed entries and the full-text pass the
	// others: both in one snapshot, or an entry indexed (or edited) between
	// them would be in neither.
	var hits, text []store.Hit
	err = st.Snapshot(ctx, func(ctx context.Context) error {
		var err error
		switch {
		case e.pinecone != nil:
			hits, err = pineconeHits(ctx, st, sc, matches)
		case e.pgvector != nil:
			hits, err = st.VectorHits(ctx, sc, e.pgvector, q, limit)
		default:
			hits, err = e.exactHits(ctx, st, sc, q, limit)
		}
		if err != nil {
			return err
		}
		if e.betweenPasses != nil {
			e.betweenPasses()
		}
		text, err = st.TextHits(ctx, sc, textQuery, limit, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return merge(hits, text, limit), nil
}

// pineconeHits keeps the matches whose entries are still indexed in sc (an
// entry deleted, moved or edited since it was upserted is not), weighted by
// their importance.
func pineconeHits(ctx context.Context, st *store.Store, sc store.Scope, matches []vectors.Scored) ([]store.Hit, error) {
	ids := make([]uuid.UUID, len(matches))
	for i, m := range matches {
		ids[i] = m.ID
	}
	imp, err := st.IndexedEntries(ctx, sc, ids)
	if err != nil {
		return nil, err
	}
	var hits []store.Hit
	for _, m := range matches {
		if w, ok := imp[m.ID]; ok {
			hits = append(hits, store.Hit{ID: m.ID, Score: weight(m.Score, w)})
		}
	}
	return hits, nil
}

// merge ranks two lists of hits together, best first, at most limit.
func merge(a, b []store.Hit, limit int) []store.Hit {
	out := append(append(make([]store.Hit, 0, len(a)+len(b)), a...), b...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Recall returns the entries of the collections agent may read now that are
// most relevant to query, best first, at most limit. The query's embedding
// is logged in usage_logs (operation embedding) under the agent.
func (e *Engine) Recall(ctx context.Context, user, agent uuid.UUID, query string, limit int) ([]store.Recalled, error) {
	sc, err := e.bg.RecallScope(ctx, user, agent)
	if err != nil || len(sc.Collections) == 0 {
		return nil, err
	}
	hits, err := e.search(ctx, e.bg, sc, query, anyWords(query), limit, &agent)
	if err != nil || len(hits) == 0 {
		return nil, err
	}
	ids := make([]uuid.UUID, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	entries, err := e.bg.UserEntries(ctx, user, ids)
	if err != nil {
		return nil, err
	}
	score := make(map[uuid.UUID]float64, len(hits))
	for _, h := range hits {
		score[h.ID] = h.Score
	}
	out := make([]store.Recalled, len(entries))
	for i, en := range entries {
		out[i] = store.Recalled{Entry: en, Collection: sc.Names[en.CollectionID], Score: score[en.ID]}
	}
	return out, nil
}

// anyWords turns a chat message into a full-text query matching entries
// with any of its first words (websearch_to_tsquery's "or"): a message is a
// sentence, not a search, and requiring all its words would find nothing.
func anyWords(msg string) string {
	words := strings.Fields(msg)
	if len(words) > maxRecallWords {
		words = words[:maxRecallWords]
	}
	return strings.Join(words, " or ")
}

// maxRecallWords bounds the full-text query built from a message.
const maxRecallWords = 64
