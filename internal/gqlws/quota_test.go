package gqlws_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/agentgraph/agentgraph/internal/gqlws"
)

// quotaFrames are what an operation past a quota gets: an error (and, on
// the legacy protocol, its complete), and nothing runs.
func quotaFrames(legacy bool, id, what string, limit int) []string {
	f := []string{errorFrame(id, fmt.Sprintf(`[{"message":"too many %s (limit %d)","extensions":{"code":"RATE_LIMITED","retryAfter":1}}]`, what, limit))}
	if legacy {
		f = append(f, completeFrame(id))
	}
	return f
}

// A flood of operations on one socket stops at MaxOperations in flight:
// the one past it gets an error, the others and the socket go on, and a
// slot frees when an operation completes.
func TestOperationQuota(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{MaxOperations: 3, MaxSubscriptions: 10})
		c := f.dial(proto)
		c.init()
		for _, tag := range []string{"a", "b", "c"} {
			c.subscribe(tag, fmt.Sprintf(`subscription { events(tag: %q) }`, tag))
			f.sub(tag)
		}
		c.subscribe("d", `subscription { events(tag: "d") }`)
		c.expect(quotaFrames(legacy, "d", "operations in flight on one socket", 3)...)
		f.noSub("d")
		c.complete("a")
		c.barrier("q") // a query fits again
		c.subscribe("e", `subscription { events(tag: "e") }`)
		s := f.sub("e")
		s.send("still open")
		c.expect(eventFrame(legacy, "e", "events", "still open"))
	})
}

// Subscriptions have a quota of their own, below the operations'.
func TestSubscriptionQuota(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{MaxOperations: 10, MaxSubscriptions: 2})
		c := f.dial(proto)
		c.init()
		c.subscribe("a", `subscription { events(tag: "a") }`)
		f.sub("a")
		c.subscribe("b", `subscription { plain(tag: "b") }`)
		f.sub("b")
		c.subscribe("c", `subscription { events(tag: "c") }`)
		c.expect(quotaFrames(legacy, "c", "subscriptions on one socket", 2)...)
		f.noSub("c")
		c.barrier("q") // queries still run
		c.complete("b")
		c.subscribe("d", `subscription { events(tag: "d") }`)
		f.sub("d")
	})
}

// One user may hold MaxSocketsPerKey initialised sockets on the transport;
// the next closes with 1013 (graphql-ws clients retry it with backoff),
// other users are not affected, and a closed socket frees its place.
func TestSocketsPerUser(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto string, legacy bool) {
		f := newFixture(t, gqlws.Config{
			Init: func(ctx context.Context, p map[string]any) (context.Context, time.Time, error) {
				u, _ := p["user"].(string)
				return context.WithValue(ctx, userKey{}, u), time.Time{}, nil
			},
			SocketKey:        func(ctx context.Context) string { u, _ := ctx.Value(userKey{}).(string); return u },
			MaxSocketsPerKey: 2,
		})
		initAs := func(user string) *client {
			c := f.dial(proto)
			c.sendRaw(`{"type":"connection_init","payload":{"user":"` + user + `"}}`)
			return c
		}
		ack := func(c *client) {
			t.Helper()
			c.expectRaw(`{"type":"connection_ack"}`)
		}
		first := initAs("ada")
		ack(first)
		ack(initAs("ada"))
		initAs("ada").expectClose(1013, "Too many sockets for this user")
		ack(initAs("bob"))

		_ = first.ws.Close()
		deadline := time.Now().Add(ioTimeout)
		for {
			c := initAs("ada")
			// Until the server has torn the closed socket down, this one
			// is refused (a close, which ReadMessage returns as an error).
			_ = c.ws.SetReadDeadline(time.Now().Add(ioTimeout))
			if _, frame, err := c.ws.ReadMessage(); err == nil && sameJSON(string(frame), `{"type":"connection_ack"}`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a closed socket did not free its place")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
