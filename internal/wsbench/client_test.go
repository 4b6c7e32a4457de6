package wsbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsMessage is a graphql-transport-ws message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialer opens client sockets with small buffers: 10,000 of them share the
// test process with everything else.
var dialer = websocket.Dialer{
	Subprotocols:     []string{"graphql-transport-ws"},
	HandshakeTimeout: 15 * time.Second,
	ReadBufferSize:   512,
	WriteBufferSize:  512,
}

// setupTimeout bounds the handshake of one socket (connect, init, ack).
const setupTimeout = 15 * time.Second

// openSubscription dials url, authenticates with bearer in connection_init,
// waits for connection_ack and subscribes (operation id "1") to query.
// Nothing reads the socket afterwards until the caller does (readLoop).
func openSubscription(ctx context.Context, url, bearer, query string, vars map[string]any) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	c, res, err := dialer.DialContext(ctx, url, nil)
	if err != nil {
		if res != nil {
			body, _ := io.ReadAll(io.LimitReader(res.Body, 200))
			_ = res.Body.Close()
			return nil, fmt.Errorf("dial: %w (HTTP %d %q)", err, res.StatusCode, bytes.TrimSpace(body))
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	fail := func(err error) (*websocket.Conn, error) {
		_ = c.Close()
		return nil, err
	}
	if c.Subprotocol() != "graphql-transport-ws" {
		return fail(fmt.Errorf("subprotocol %q", c.Subprotocol()))
	}
	deadline, _ := ctx.Deadline()
	_ = c.SetWriteDeadline(deadline)
	_ = c.SetReadDeadline(deadline)
	init, _ := json.Marshal(map[string]any{"Authorization": "Bearer " + bearer})
	if err := c.WriteJSON(wsMessage{Type: "connection_init", Payload: init}); err != nil {
		return fail(fmt.Errorf("connection_init: %w", err))
	}
	for {
		var m wsMessage
		if err := c.ReadJSON(&m); err != nil {
			return fail(fmt.Errorf("waiting for connection_ack: %w", err))
		}
		if m.Type == "connection_ack" {
			break
		}
		if m.Type == "ping" {
			if err := c.WriteJSON(wsMessage{Type: "pong"}); err != nil {
				return fail(err)
			}
			continue
		}
		return fail(fmt.Errorf("waiting for connection_ack, got %s %s", m.Type, m.Payload))
	}
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err := c.WriteJSON(wsMessage{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
		return fail(fmt.Errorf("subscribe: %w", err))
	}
	_ = c.SetWriteDeadline(time.Time{})
	_ = c.SetReadDeadline(time.Time{})
	return c, nil
}

// readLoop reads c until it fails or is closed, answering pings, and passes
// the payload of every "next" to onNext with the time the frame was read
// (taken before any decoding). An "error" or "complete" for the operation is
// returned as an error: a benchmark subscription never ends on its own. A
// socket closed by the client (closeAll) ends the loop with nil.
func readLoop(c *websocket.Conn, onNext func(payload json.RawMessage, at time.Time)) error {
	for {
		_, data, err := c.ReadMessage()
		at := time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		var m wsMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("bad frame %q: %w", data, err)
		}
		switch m.Type {
		case "next":
			onNext(m.Payload, at)
		case "ping":
			_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.WriteJSON(wsMessage{Type: "pong"}); err != nil {
				if errors.Is(err, net.ErrClosed) {
					return nil
				}
				return err
			}
		case "pong":
		default:
			return fmt.Errorf("unexpected %s: %s", m.Type, m.Payload)
		}
	}
}

// closeAll closes the sockets in parallel (a close frame is not waited for:
// the client just goes away, as a closed browser tab does).
func closeAll(conns []*websocket.Conn) {
	var wg sync.WaitGroup
	const workers = 16
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(conns); i += workers {
				if conns[i] != nil {
					_ = conns[i].Close()
				}
			}
		})
	}
	wg.Wait()
}
