package pubsub

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// listen opens the listening connection and LISTENs on it. It uses its own connection, made
// from a copy of the pool's configuration, rather than hijacking a pooled one: a listener lives
// for the whole process and should neither wait for a free pool slot when reconnecting under
// load nor inherit a pooled connection's age. The pool's BeforeConnect and AfterConnect hooks
// are not run on it.
func (h *Hub) listen(ctx context.Context) (*pgx.Conn, error) {
	// Connecting and LISTEN are bounded even if the configuration sets no connect timeout, so
	// that a server that accepts TCP but never answers cannot stall reconnection forever.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cfg := h.pool.Config().ConnConfig // a copy
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = ApplicationName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "listen "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		closeConn(ctx, conn)
		return nil, fmt.Errorf("listen: %w", err)
	}
	return conn, nil
}

// closeConn closes the listening connection politely (Terminate) if that is quick, and
// abruptly otherwise; ctx may already be done, the close happens regardless.
func closeConn(ctx context.Context, conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = conn.Close(ctx) // the connection is abandoned either way: nothing to do with an error
}

// serve reads notifications from conn and dispatches each before reading the next, until
// the connection fails or ctx ends. Dispatching never blocks, so reading inline keeps NOTIFY
// order without a queue in between.
func (h *Hub) serve(ctx context.Context, conn *pgx.Conn) error {
	for {
		// One timer per quiet period rather than one per notification: a round lasts
		// PingInterval, and the connection is pinged only if the round brought nothing.
		round, cancel := context.WithTimeout(ctx, h.opts.PingInterval)
		heard := false
		var err error
		for {
			var n *pgconn.Notification
			n, err = conn.WaitForNotification(round)
			if n != nil {
				heard = true
				h.handle(n)
			}
			if err != nil {
				break
			}
		}
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case round.Err() == nil || conn.IsClosed():
			// Not the round's deadline: the connection broke.
			return fmt.Errorf("wait for notification: %w", err)
		}
		// The round's deadline interrupted the wait; pgx leaves the connection usable
		// after a deadline (its default context watcher sets a read deadline, which a
		// later call clears).
		if !heard {
			pingCtx, cancel := context.WithTimeout(ctx, h.opts.PingInterval)
			perr := conn.Ping(pingCtx)
			cancel()
			if perr != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("ping: %w", perr)
			}
		}
	}
}

// handle decodes one notification and dispatches it. A payload that is not an Event (another
// program NOTIFYing on our channel, a version skew) is logged without its content, which may
// be message text, and skipped.
func (h *Hub) handle(n *pgconn.Notification) {
	if ev := h.decode(n); ev != nil {
		h.inbox <- inboxItem{ev: ev}
	}
}

// decode returns the event a notification carries, or nil for one to skip.
func (h *Hub) decode(n *pgconn.Notification) *Event {
	if n.Channel != Channel {
		return nil
	}
	if strings.HasSuffix(n.Payload, h.originTag) {
		return nil // Stream delivered it here already; skip decoding it
	}
	var ev Event
	err := json.Unmarshal([]byte(n.Payload), &ev)
	if err == nil && ev.UserID == uuid.Nil {
		err = ErrNoUser
	}
	if err != nil {
		h.malformed.Add(1)
		h.log.Warn("pubsub: skipping malformed event", "err", err, "bytes", len(n.Payload), "sender_pid", n.PID)
		return nil
	}
	if ev.Origin == h.instance {
		return nil // Stream delivered it here already
	}
	if ev.Kind == kindPart {
		return h.assemble(&ev, n.PID)
	}
	return &ev
}
