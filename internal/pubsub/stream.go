package pubsub

import (
	"context"
	"fmt"
	"time"
)

// A stream chunk costs a NOTIFY commit when it is published on its own:
// Postgres serializes those commits (one global lock), and at a few thousand
// chunks per second they are most of a chunk's latency and CPU. Stream
// delivers to this instance's subscribers at once, without Postgres, and
// batches the NOTIFYs that other instances need.

// sendTimeout bounds one batch of NOTIFYs.
const sendTimeout = 5 * time.Second

// maxOutgoing bounds the events waiting for the sender: about 5 s of 20
// concurrent replies' chunks; maxOutgoingBytes bounds their payloads, which
// long deltas make large.
const (
	maxOutgoing      = 20000
	maxOutgoingBytes = 32 << 20
)

// maxStatementBytes bounds the payloads one NOTIFY statement sends: a long
// backlog goes out as several transactions rather than one that holds
// Postgres's NOTIFY lock and the sender's memory for all of it. A split
// event's parts always go in one statement, whatever their size.
const maxStatementBytes = 1 << 20

// streamSQL NOTIFYs a batch in one statement, hence one round trip and one
// commit; unnest yields the payloads in order, and notifications of one
// transaction are delivered in the order they were raised.
const streamSQL = `select pg_notify($1, p) from unnest($2::text[]) as p`

// outgoing is a queued event's NOTIFY (its payload, or its parts), or a
// Flush waiting for what was queued before it (flushed set).
type outgoing struct {
	payload string
	parts   []string
	flushed chan struct{}
}

// size is the bytes of o's payloads.
func (o *outgoing) size() int {
	n := len(o.payload)
	for _, p := range o.parts {
		n += len(p)
	}
	return n
}

// Stream publishes an ephemeral event, one that announces no row (a stream
// chunk): it is dispatched to this hub's subscribers before Stream returns,
// and sent to the other instances through NOTIFY in the background, batched
// with whatever else is waiting, in order. This hub skips its own
// notification when it comes back. An event of one publisher reaches every
// subscriber in the order published. It is not transactional: there is no
// write to wait for. Use Flush before publishing, transactionally, an event
// that must arrive after these on other instances too.
func (h *Hub) Stream(ev Event) error {
	select {
	case <-h.done:
		// No subscribers here any more, and no sender: other instances
		// may still have some.
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		defer cancel()
		return Publish(ctx, h.pool, ev)
	default:
	}
	ev.Origin = h.instance
	payload, parts, err := encodeParts(&ev)
	if err != nil {
		return err
	}
	h.dispatch(&ev)
	h.senderOnce.Do(func() { go h.send() })
	o := outgoing{payload: payload, parts: parts}
	size := o.size()
	h.outMu.Lock()
	if len(h.out) >= maxOutgoing || h.outBytes+size > maxOutgoingBytes {
		// Postgres is not taking them (each batch may wait sendTimeout):
		// other instances miss these chunks rather than this one growing.
		h.outMu.Unlock()
		h.streamDropped.Add(1)
		return nil
	}
	h.out = append(h.out, o)
	h.outBytes += size
	h.outMu.Unlock()
	select {
	case h.outWake <- struct{}{}:
	default:
	}
	return nil
}

// Flush waits until every event Stream took before the call has been sent
// to Postgres (or dropped after a failure, which is logged), or ctx ends.
func (h *Hub) Flush(ctx context.Context) error {
	h.outMu.Lock()
	if len(h.out) == 0 && !h.sending {
		h.outMu.Unlock()
		return nil
	}
	done := make(chan struct{})
	h.out = append(h.out, outgoing{flushed: done})
	h.outMu.Unlock()
	h.senderOnce.Do(func() { go h.send() })
	select {
	case h.outWake <- struct{}{}:
	default:
	}
	select {
	case <-done:
		return nil
	case <-h.senderDone: // the hub stopped: nothing will be sent
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pubsub: flush: %w", ctx.Err())
	}
}

// send is Stream's sender: one goroutine, so batches go out in order.
func (h *Hub) send() {
	defer close(h.senderDone)
	var payloads []string
	for {
		select {
		case <-h.outWake:
		case <-h.done:
			h.sendQueued(&payloads) // what was published before the stop
			return
		}
		h.sendQueued(&payloads)
	}
}

func (h *Hub) sendQueued(payloads *[]string) {
	for {
		h.outMu.Lock()
		batch := h.out
		h.out = nil
		h.outBytes = 0
		h.sending = len(batch) > 0
		h.outMu.Unlock()
		if len(batch) == 0 {
			return
		}
		for rest := batch; len(rest) > 0; {
			var n int
			*payloads, n = statement((*payloads)[:0], rest, maxStatementBytes)
			rest = rest[n:]
			if len(*payloads) == 0 {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
			_, err := h.pool.Exec(ctx, streamSQL, Channel, *payloads)
			cancel()
			if err != nil {
				// Subscribers here have the events; other instances' live
				// viewers miss these chunks, and the stored message is the
				// record. The rest of the batch is not tried: Postgres
				// would most likely fail it too, a timeout each.
				skipped := 0
				for _, o := range rest {
					if o.flushed == nil {
						skipped++
					}
				}
				h.log.Warn("pubsub: notify streamed events", "payloads", len(*payloads), "events_skipped", skipped, "err", err)
				break
			}
		}
		for _, o := range batch {
			if o.flushed != nil {
				close(o.flushed)
			}
		}
		h.outMu.Lock()
		h.sending = false
		h.outMu.Unlock()
	}
}

// statement appends to payloads those of the first events of batch that
// one statement sends: up to limit bytes, or one event's parts if they are
// more. It returns how many of batch it took (Flush marks included).
func statement(payloads []string, batch []outgoing, limit int) ([]string, int) {
	size := 0
	for i, o := range batch {
		n := o.size()
		if size > 0 && size+n > limit {
			return payloads, i
		}
		size += n
		if o.parts != nil {
			payloads = append(payloads, o.parts...)
		} else if o.flushed == nil {
			payloads = append(payloads, o.payload)
		}
	}
	return payloads, len(batch)
}
