package graph_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/loaders"
)

// BenchmarkThreadsAtMillionMessages lists a user's threads, with each
// thread's last message and last three messages, in a database holding a
// million messages (1,000 threads of 1,000 messages, half of them another
// user's). The threads table keeps listing independent of message count.
// Setup takes about a minute.
//
//	go test -run '^$' -bench ThreadsAtMillionMessages -benchtime 200x ./graph
func BenchmarkThreadsAtMillionMessages(b *testing.B) {
	e := newEnvWait(b, loaders.DefaultWait)
	user, other := uuid.New(), uuid.New()
	ctx := context.Background()
	// Seeded in bulk: the trigger is switched off for the load and the
	// threads rows are built from the messages in one statement, as the
	// trigger would have left them (a million trigger runs take minutes).
	for _, sql := range []string{
		`alter table chat_messages disable trigger touch_thread`,
		`insert into chat_messages (user_id, thread_id, role, content, created_at)
			select u, 'thread-' || (i % 500), 'user', 'message ' || i, now() - interval '1 second' * (500000 - i)
			from unnest(array['` + user.String() + `', '` + other.String() + `']::uuid[]) as u,
				generate_series(1, 500000) as i`,
		`insert into threads (user_id, id, last_message_id, message_count, created_at, updated_at)
			select distinct on (user_id, thread_id) user_id, thread_id, id,
				count(*) over w, min(created_at) over w, created_at
			from chat_messages window w as (partition by user_id, thread_id)
			order by user_id, thread_id, created_at desc, id desc`,
		`alter table chat_messages enable trigger touch_thread`,
		`analyze`,
	} {
		if _, err := e.pool.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	const q = `{ threads(first: 20) { totalCount edges { node { id updatedAt lastMessage { content }
		messages(last: 3) { edges { node { content } } } } } } }`
	e.must(b, user, q, nil)
	e.queries.reset()
	b.ResetTimer()
	for b.Loop() {
		e.must(b, user, q, nil)
	}
	b.StopTimer()
	b.ReportMetric(float64(e.queries.n.Load())/float64(b.N), "roundtrips/op")
}
