package pubsub

import (
	"context"

	"github.com/google/uuid"
)

// inboxItem is a decoded event, or (ev nil) the moment the listening
// connection was re-established, for OnReconnect to run in order.
type inboxItem struct {
	ev *Event
}

// dispatchLoop takes what the listening goroutine decoded, in order, and
// handles whatever has queued up together: while it loads one batch's rows,
// the next batch gathers.
func (h *Hub) dispatchLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	batch := make([]inboxItem, 0, maxBatch)
	for it := range h.inbox {
		batch = append(batch[:0], it)
	gather:
		for len(batch) < maxBatch {
			select {
			case it, ok := <-h.inbox:
				if !ok {
					break gather
				}
				batch = append(batch, it)
			default:
				break gather
			}
		}
		h.process(ctx, batch)
		clear(batch)
	}
}

// process resolves and dispatches a batch, running OnReconnect where a
// reconnection happened.
func (h *Hub) process(ctx context.Context, batch []inboxItem) {
	evs := make([]*Event, 0, len(batch))
	for _, it := range batch {
		if it.ev != nil {
			evs = append(evs, it.ev)
			continue
		}
		h.resolveAndDispatch(ctx, evs)
		evs = evs[:0]
		if h.opts.OnReconnect != nil {
			h.opts.OnReconnect()
		}
	}
	h.resolveAndDispatch(ctx, evs)
}

// resolveAndDispatch loads the rows of evs whose users have subscribers
// here, in one Resolve call, then dispatches them in order.
func (h *Hub) resolveAndDispatch(ctx context.Context, evs []*Event) {
	if h.opts.Resolve == nil {
		for _, ev := range evs {
			h.dispatch(ev)
		}
		return
	}
	// Events of users without subscribers here would reach nobody: they are
	// neither loaded nor dispatched.
	var need []*Event
	for _, ev := range evs {
		if h.hasSubscribers(ev.UserID) {
			need = append(need, ev)
		}
	}
	if len(need) == 0 {
		return
	}
	rows, err := h.resolve(ctx, need)
	if err != nil {
		if ctx.Err() != nil {
			return // the hub is stopping: its subscriptions end
		}
		h.resolveDropped.Add(int64(len(need)))
		h.log.Warn("pubsub: dropping events whose rows could not be loaded", "events", len(need), "err", err)
		return
	}
	for i, ev := range need {
		if rows[i] == Skip {
			h.log.Warn("pubsub: skipping event whose row is gone", "kind", ev.Kind, "id", ev.ID)
			continue
		}
		ev.Row = rows[i]
		h.dispatch(ev)
	}
}

// hasSubscribers reports whether user has subscriptions on this instance.
func (h *Hub) hasSubscribers(user uuid.UUID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.users[user]) > 0
}

// dispatch offers ev to each matching subscription of its user, without ever waiting.
func (h *Hub) dispatch(ev *Event) {
	if ev.local == nil {
		ev.local = &locals{}
	}
	h.mu.Lock()
	subs := h.users[ev.UserID]
	h.mu.Unlock()

	var delivered int64
	for _, s := range subs {
		if s.match != nil && !s.match(ev) {
			continue
		}
		sent, ended := s.offer(ev)
		if sent {
			delivered++
		}
		if ended {
			h.dropped.Add(1)
			h.remove(s)
			h.log.Warn("pubsub: ending slow subscription", "user", ev.UserID, "kind", ev.Kind)
		}
	}
	h.delivered.Add(delivered)
}
