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
