package pubsub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/google/uuid"
)

// An event whose JSON does not fit one NOTIFY (a stream chunk carrying a
// long delta: a model may send one, and JSON escaping grows it) travels as
// parts: its payload cut into pieces that each fit, sent in order in one
// statement, hence one transaction. Postgres delivers the notifications of
// one transaction together and in order, so a receiving hub gets a split
// event's parts one after the other and puts the payload back together
// before decoding it: its subscribers see the very event that was
// published, at the place of its last part. Splitting the payload rather
// than the delta keeps messageStream's chunks as the model sent them (one
// message id, one Seq per delta, the same on every instance) and works for
// any event. Storing big events in a table instead would have cost a
// migration, a write per event and a cleanup.

// kindPart is the Kind of a part. A part's ID names its split event (one id
// for all its parts), Seq is its place (1, 2 …), Data a partBody.
const kindPart = "part"

// MaxEvent bounds an event's JSON: far more than any delta a model streams,
// and what a receiving hub holds while it puts a split event back together.
const MaxEvent = 1 << 20

// partBody is a part's Data: the number of parts and its piece of the split
// event's payload.
type partBody struct {
	N int    `json:"n"`
	P string `json:"p"`
}

// partOverhead is the length of a part's payload around its piece, with
// the largest part numbers and origin a split can produce.
var partOverhead = func() int {
	most := int64(MaxEvent) // more parts than a split of MaxEvent can make
	p, err := marshal(&Event{Kind: kindPart, UserID: uuid.Max, ID: uuid.Max.String(), Seq: most,
		Data: mustMarshal(partBody{N: int(most)}), Origin: "123456789012345678"})
	if err != nil {
		panic(err)
	}
	return len(p)
}()

// pieceMax is how long, escaped, a piece of a split payload may be.
var pieceMax = MaxPayload - partOverhead

// split cuts payload, ev's encoded JSON, into part payloads that each fit a
// NOTIFY. Pieces end on UTF-8 character boundaries, so that each is a valid
// JSON string, and are measured as encoded: a piece of quotes and
// backslashes doubles.
func split(ev *Event, payload []byte) ([]string, error) {
	if !utf8.Valid(payload) {
		// Postgres would refuse it whole too; a piece would come back with
		// U+FFFD in place of the bad bytes.
		return nil, fmt.Errorf("pubsub: encode event: payload is not valid UTF-8")
	}
	var pieces []string
	start, size := 0, 0
	for i := 0; i < len(payload); {
		r, n := utf8.DecodeRune(payload[i:])
		w := escapedLen(r, n)
		if size+w > pieceMax {
			pieces = append(pieces, string(payload[start:i]))
			start, size = i, 0
		}
		size += w
		i += n
	}
	pieces = append(pieces, string(payload[start:]))

	id := uuid.NewString()
	parts := make([]string, len(pieces))
	for i, piece := range pieces {
		body, err := marshal(partBody{N: len(pieces), P: piece})
		if err != nil {
			return nil, err
		}
		p, err := marshal(&Event{Kind: kindPart, UserID: ev.UserID, ID: id, Seq: int64(i + 1), Data: body, Origin: ev.Origin})
		if err != nil {
			return nil, err
		}
		if len(p) > MaxPayload { // escapedLen and encoding/json disagree: a bug
			return nil, fmt.Errorf("%w: part of %d bytes", ErrPayloadTooLarge, len(p))
		}
		parts[i] = string(p)
	}
	return parts, nil
}

// escapedLen is how many bytes encoding/json (HTML escaping off) writes for
// the character r, n bytes long, inside a string; at least that.
func escapedLen(r rune, n int) int {
	switch {
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t':
		return 2
	case r < 0x20, r == utf8.RuneError && n == 1, r == '\u2028', r == '\u2029':
		return 6 // \u00XX, \ufffd, \u2028, \u2029
	}
	return n
}

// marshal is json.Marshal without HTML escaping: payloads count against
// MaxPayload, and nobody renders them as HTML.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("pubsub: encode event: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func mustMarshal(v any) []byte {
	b, err := marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// assembler puts split events back together on the listening goroutine,
// which alone uses it. Since a split event's parts arrive together, one
// event is normally in progress; the bound on what it holds only matters
// for parts that never complete (a lost listening connection, which resets
// it, or a foreign sender).
type assembler struct {
	events map[string]*assembly
	held   int // bytes held in events
}

type assembly struct {
	buf  []byte
	next int64 // Seq of the part expected next
	n    int
}

// maxHeld bounds the bytes of split events held before they are complete.
const maxHeld = 2 * MaxEvent

// add takes a part; it returns the split event's payload when part was its
// last, and an error for a part out of order or too large, which drops the
// event it belongs to.
func (a *assembler) add(part *Event) ([]byte, error) {
	var body partBody
	if err := json.Unmarshal(part.Data, &body); err != nil {
		return nil, fmt.Errorf("part: %w", err)
	}
	e := a.events[part.ID]
	if e == nil {
		if part.Seq != 1 {
			return nil, fmt.Errorf("part %d of %d of an event whose first part was missed", part.Seq, body.N)
		}
		if body.N < 1 || body.N > MaxEvent { // a piece holds a byte at least
			return nil, fmt.Errorf("part of an event of %d parts", body.N)
		}
		if a.events == nil {
			a.events = make(map[string]*assembly)
		}
		e = &assembly{next: 1, n: body.N}
		a.events[part.ID] = e
	}
	if part.Seq != e.next || body.N != e.n || len(e.buf)+len(body.P) > MaxEvent {
		a.drop(part.ID)
		return nil, fmt.Errorf("part %d of %d does not follow part %d of %d, or the event is too large", part.Seq, body.N, e.next-1, e.n)
	}
	if a.held+len(body.P) > maxHeld {
		// Older events left incomplete are all that can hold this much.
		for id := range a.events {
			if id != part.ID {
				a.drop(id)
			}
		}
	}
	e.buf = append(e.buf, body.P...)
	a.held += len(body.P)
	e.next++
	if int(part.Seq) < e.n {
		return nil, nil
	}
	a.drop(part.ID)
	return e.buf, nil
}

func (a *assembler) drop(id string) {
	if e := a.events[id]; e != nil {
		a.held -= len(e.buf)
		delete(a.events, id)
	}
}

// reset forgets the events in progress: after a lost connection their
// remaining parts will not come.
func (a *assembler) reset() {
	clear(a.events)
	a.held = 0
}

// assemble takes a part on the listening goroutine and returns its split
// event once its last part is in, nil before (and for a bad part, counted
// as malformed).
func (h *Hub) assemble(part *Event, pid uint32) *Event {
	payload, err := h.parts.add(part)
	if payload == nil && err == nil {
		return nil
	}
	var ev Event
	if err == nil {
		err = json.Unmarshal(payload, &ev)
	}
	if err == nil && (ev.UserID == uuid.Nil || ev.Kind == kindPart) {
		err = fmt.Errorf("split event of kind %q, user %v", ev.Kind, ev.UserID)
	}
	if err != nil {
		h.malformed.Add(1)
		h.log.Warn("pubsub: skipping split event", "err", err, "sender_pid", pid)
		return nil
	}
	return &ev
}
