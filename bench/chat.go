package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// W4: sendMessage over HTTP, the reply watched over graphql-transport-ws:
// the time to its first streamed token (messageStream) and to the stored
// reply (messageAdded). Each user has one socket subscribed to both on the
// direct thread of its agent 9; worker w sends for users w, w+conc, …, one
// message at a time, so a user never has two replies in flight.

type frame struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

type chatSocket struct {
	conn   *websocket.Conn
	wmu    sync.Mutex
	frames chan frame
}

func (c *chatSocket) write(f frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.conn.WriteJSON(f)
}

func (c *chatSocket) readLoop() {
	defer close(c.frames)
	for {
		var f frame
		if err := c.conn.ReadJSON(&f); err != nil {
			return
		}
		if f.Type == "ping" {
			_ = c.write(frame{Type: "pong"})
			continue
		}
		c.frames <- f
	}
}

func openChatSocket(ctx context.Context, httpURL, tok, thread string) (*chatSocket, error) {
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.DialContext(ctx, "ws"+strings.TrimPrefix(httpURL, "http"), nil)
	if err != nil {
		return nil, err
	}
	c := &chatSocket{conn: conn, frames: make(chan frame, 256)}
	go c.readLoop()
	init, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + tok})
	if err := c.write(frame{Type: "connection_init", Payload: init}); err != nil {
		return nil, err
	}
	select {
	case f := <-c.frames:
		if f.Type != "connection_ack" {
			return nil, fmt.Errorf("want connection_ack, got %s %s", f.Type, f.Payload)
		}
	case <-time.After(5 * time.Second):
		return nil, fmt.Errorf("no connection_ack")
	}
	for id, q := range map[string]string{
		"stream": `subscription($t: ID!) { messageStream(threadId: $t) { messageId delta done } }`,
		"added":  `subscription($t: ID!) { messageAdded(threadId: $t) { id role } }`,
	} {
		p, _ := json.Marshal(map[string]any{"query": q, "variables": map[string]string{"t": thread}})
		if err := c.write(frame{Type: "subscribe", ID: id, Payload: p}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// chatOnce sends one message for user u and waits for its stored reply.
func chatOnce(ctx context.Context, client *http.Client, url, tok string, u int, s *chatSocket) (send, first, stored time.Duration, err error) {
	// Frames left over from an earlier message that timed out.
	for len(s.frames) > 0 {
		<-s.frames
	}
	body := gqlBody(`mutation($in: SendMessageInput!) { sendMessage(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"agentId": agentID(u, w4Agent), "content": "How are things going today?"}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	t0 := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	send = time.Since(t0)
	if res.StatusCode != http.StatusOK || countKey(b, "id") != 1 || bytes.Contains(b, []byte(`"errors"`)) {
		return 0, 0, 0, fmt.Errorf("sendMessage: HTTP %d %.300s", res.StatusCode, b)
	}
	timeout := time.After(15 * time.Second)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				return 0, 0, 0, fmt.Errorf("socket closed")
			}
			switch {
			case f.Type != "next":
				return 0, 0, 0, fmt.Errorf("frame %s %s", f.Type, f.Payload)
			case f.ID == "stream" && first == 0 && bytes.Contains(f.Payload, []byte(`"delta":"`)) &&
				!bytes.Contains(f.Payload, []byte(`"delta":""`)):
				first = time.Since(t0)
			case f.ID == "added" && bytes.Contains(f.Payload, []byte(`"ASSISTANT"`)):
				return send, first, time.Since(t0), nil
			}
		case <-timeout:
			return 0, 0, 0, fmt.Errorf("no stored reply in 15s")
		case <-ctx.Done():
			return 0, 0, 0, ctx.Err()
		}
	}
}

// driveChat runs W4 like drive runs the others; lat is sendMessage's own
// latency.
func driveChat(ctx context.Context, client *http.Client, p *proc, db *dbCPU, toks []string, conc int, warmup, dur time.Duration) (result, error) {
	socks := make([]*chatSocket, nUsers)
	for u := range socks {
		s, err := openChatSocket(ctx, p.url, toks[u], threadID(u, w4Agent))
		if err != nil {
			return result{}, fmt.Errorf("W4 socket of user %d: %w", u, err)
		}
		defer s.conn.Close()
		socks[u] = s
	}
	phase := func(d time.Duration) result {
		var mu sync.Mutex
		var r result
		var wg sync.WaitGroup
		end := time.Now().Add(d)
		db0 := db.sample(ctx)
		cpu0, t0 := p.cpu(), time.Now()
		for w := range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []int // users w, w+conc, …: no user is driven by two workers
				for u := w; u < nUsers; u += conc {
					mine = append(mine, u)
				}
				for i := 0; len(mine) > 0 && time.Now().Before(end) && ctx.Err() == nil; i++ {
					u := mine[i%len(mine)]
					send, first, stored, err := chatOnce(ctx, client, p.url, toks[u], u, socks[u])
					mu.Lock()
					if err != nil {
						r.failed++
						if r.firstErr == nil {
							r.firstErr = err
						}
					} else {
						r.lat = append(r.lat, send)
						r.firstToken = append(r.firstToken, first)
						r.stored = append(r.stored, stored)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		r.elapsed, r.cpu, r.ok = time.Since(t0), p.cpu()-cpu0, len(r.lat)
		r.dbCPU = since(db0, db.sample(ctx))
		return r
	}
	if warmup > 0 {
		phase(warmup)
	}
	return phase(dur), nil
}
