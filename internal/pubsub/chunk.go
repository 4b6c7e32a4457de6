package pubsub

import (
	"encoding/json"

	"github.com/google/uuid"
)

// Chunk is a piece of a streamed reply, as it travels in a KindChunk event's Data and as
// messageStream delivers it. It is defined once, here, for the worker that streams, the
// store that publishes the last chunk with the stored reply, and the GraphQL layer.
type Chunk struct {
	Delta string `json:"delta"`
	// Done marks the last chunk, sent just before the stored reply.
	Done bool `json:"done"`
	// Restart marks the first chunk of a reply generated again after its first
	// attempt was cut (an instance crashed or shut down mid-reply): clients
	// drop what they showed for the message so far.
	Restart bool `json:"restart,omitempty"`
}

// ChunkEvent is the event carrying c, the seq-th chunk of message id in a thread of user.
func ChunkEvent(user uuid.UUID, thread string, id uuid.UUID, seq int64, c Chunk) Event {
	data, _ := json.Marshal(c) // a struct of strings and bools always encodes
	return Event{Kind: KindChunk, UserID: user, Topic: thread, ID: id.String(), Seq: seq, Data: data}
}

// DecodeChunk reads a KindChunk event's Data.
func DecodeChunk(ev *Event) (Chunk, bool) {
	var c Chunk
	return c, json.Unmarshal(ev.Data, &c) == nil
}

// interruptData marks a KindMessage event whose message interrupts the reply running in
// its thread (sendMessage with interrupt: true): the instance streaming that reply cuts it.
var interruptData = json.RawMessage(`{"interrupt":true}`)

// MessageEvent is the event announcing a stored message; interrupt marks a user message
// that cuts the reply in progress in its thread.
func MessageEvent(user uuid.UUID, thread string, id uuid.UUID, interrupt bool) Event {
	ev := Event{Kind: KindMessage, UserID: user, Topic: thread, ID: id.String()}
	if interrupt {
		ev.Data = interruptData
	}
	return ev
}

// Interrupts reports whether ev announces a message that interrupts the reply in progress.
func Interrupts(ev *Event) bool {
	return ev.Kind == KindMessage && string(ev.Data) == string(interruptData)
}
