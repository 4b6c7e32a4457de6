package pubsub

import (
	"context"

	"github.com/jackc/pgx/v5/pgconn"
)

// Dispatch and HandlePayload let tests and benchmarks drive fan-out without Postgres.
func (h *Hub) Dispatch(ev Event) { h.dispatch(&ev) }

func (h *Hub) HandlePayload(payload string) {
	if ev := h.decode(&pgconn.Notification{Channel: Channel, Payload: payload}); ev != nil {
		h.resolveAndDispatch(context.Background(), []*Event{ev})
	}
}

// Statements returns how sendQueued groups queued events into statements of
// at most limit bytes: each event is its payloads (several for a split one).
func Statements(events [][]string, limit int) [][]string {
	batch := make([]outgoing, len(events))
	for i, ps := range events {
		if len(ps) == 1 {
			batch[i].payload = ps[0]
		} else {
			batch[i].parts = ps
		}
	}
	var out [][]string
	for len(batch) > 0 {
		payloads, n := statement(nil, batch, limit)
		out = append(out, payloads)
		batch = batch[n:]
	}
	return out
}
