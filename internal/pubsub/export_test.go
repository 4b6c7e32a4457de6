package pubsub

import (
	"context"

	"github.com/jackc/pgx/v5/pgconn"
)

// Dispatch and HandlePayload let tests and benchmarks drive fan-out without Postgres.
func (h *Hub) Dispatch(ev Event) { h.dispatch(&ev) }

func (h *Hub) HandlePayload(payload string) {
	h.handle(context.Background(), &pgconn.Notification{Channel: Channel, Payload: payload})
}
