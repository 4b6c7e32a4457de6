package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// EventRows loads the rows of a mixed batch in order, each only for its
// event's own user: an event naming another user's row, a row that does not
// exist or a malformed id is Skip; a chunk names no row.
func TestEventRows(t *testing.T) {
	t.Parallel()
	st := store.New(testdb.Pool(t))
	alice, bob := uuid.New(), uuid.New()
	as := func(u uuid.UUID) context.Context {
		return auth.WithUser(context.Background(), auth.User{ID: u, Role: "authenticated"})
	}
	feed, err := st.AddFeedEvent(as(alice), store.NewFeedEvent{ID: uuid.New(), Type: "note", Message: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := st.AddUserMessage(as(alice), store.NewMessage{ID: uuid.New(), ThreadID: "notes", Content: "hi"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bobsFeed, err := st.AddFeedEvent(as(bob), store.NewFeedEvent{ID: uuid.New(), Type: "note", Message: "bob's"})
	if err != nil {
		t.Fatal(err)
	}

	evs := []*pubsub.Event{
		{Kind: pubsub.KindFeed, UserID: alice, ID: feed.ID.String()},
		{Kind: pubsub.KindChunk, UserID: alice, Topic: "notes", ID: msg.ID.String(), Seq: 1},
		{Kind: pubsub.KindMessage, UserID: alice, Topic: "notes", ID: msg.ID.String()},
		{Kind: pubsub.KindFeed, UserID: alice, ID: bobsFeed.ID.String()}, // forged owner
		{Kind: pubsub.KindMessage, UserID: bob, ID: msg.ID.String()},     // forged owner
		{Kind: pubsub.KindFeed, UserID: alice, ID: uuid.NewString()},     // no such row
		{Kind: pubsub.KindMessage, UserID: alice, ID: "not-a-uuid"},
		{Kind: pubsub.KindFeed, UserID: bob, ID: bobsFeed.ID.String()},
	}
	rows, err := st.EventRows(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(evs) {
		t.Fatalf("%d rows for %d events", len(rows), len(evs))
	}
	if f, ok := rows[0].(*domain.FeedEvent); !ok || f.ID != feed.ID || f.Message != "hello" {
		t.Errorf("row 0 = %#v, want alice's feed event", rows[0])
	}
	if rows[1] != nil {
		t.Errorf("row 1 (chunk) = %#v, want nil", rows[1])
	}
	if m, ok := rows[2].(*domain.Message); !ok || m.ID != msg.ID || m.Content != "hi" {
		t.Errorf("row 2 = %#v, want alice's message", rows[2])
	}
	for i := 3; i <= 6; i++ {
		if rows[i] != pubsub.Skip {
			t.Errorf("row %d = %#v, want Skip", i, rows[i])
		}
	}
	if f, ok := rows[7].(*domain.FeedEvent); !ok || f.ID != bobsFeed.ID || f.UserID != bob {
		t.Errorf("row 7 = %#v, want bob's feed event", rows[7])
	}
}
