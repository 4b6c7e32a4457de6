package pubsub

import (
	"sync"

	"github.com/google/uuid"
)

// Subscribe returns a subscription to user's events for which match returns true (all of
// them if match is nil). The hub delivers only user's events, whatever match says. match runs
// on the hub's dispatching goroutine for each of user's events: it must be quick, must not
// block, and must not modify the event.
func (h *Hub) Subscribe(user uuid.UUID, match func(*Event) bool) *Subscription {
	s := &Subscription{hub: h, user: user, match: match}
	h.subscribers.Add(1)
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		s.ch = make(chan *Event)
		s.end(ErrHubStopped)
		return s
	}
	s.ch = make(chan *Event, h.opts.Buffer)
	old := h.users[user]
	subs := make([]*Subscription, len(old), len(old)+1)
	copy(subs, old)
	h.users[user] = append(subs, s)
	h.mu.Unlock()
	return s
}

// SubscribeFunc is Subscribe for a subscriber that takes events on the hub's
// goroutine instead of from C: deliver must not block, and returns false when
// it cannot take the event (its own buffer is full), which ends the
// subscription with ErrSlowSubscriber. ended is called once, when the
// subscription ends, with Err's value. It saves a subscriber the goroutine
// that would relay C into its own channel.
func (h *Hub) SubscribeFunc(user uuid.UUID, match func(*Event) bool, deliver func(*Event) bool, ended func(error)) *Subscription {
	s := &Subscription{hub: h, user: user, match: match, deliver: deliver, onEnd: ended}
	h.subscribers.Add(1)
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		s.end(ErrHubStopped)
		return s
	}
	old := h.users[user]
	subs := make([]*Subscription, len(old), len(old)+1)
	copy(subs, old)
	h.users[user] = append(subs, s)
	h.mu.Unlock()
	return s
}

// remove takes s out of the dispatch map. It is a no-op if s is not there (already removed,
// or the hub stopped).
func (h *Hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.users[s.user]
	for i, x := range old {
		if x != s {
			continue
		}
		if len(old) == 1 {
			delete(h.users, s.user)
			return
		}
		subs := make([]*Subscription, 0, len(old)-1)
		subs = append(subs, old[:i]...)
		h.users[s.user] = append(subs, old[i+1:]...)
		return
	}
}

// stop ends every subscription and refuses new ones; Run calls it on its way out.
func (h *Hub) stop() {
	h.mu.Lock()
	if !h.stopped {
		close(h.done)
	}
	h.stopped = true
	users := h.users
	h.users = nil
	h.mu.Unlock()
	for _, subs := range users {
		for _, s := range subs {
			s.end(ErrHubStopped)
		}
	}
}

// Subscription is one subscriber's view of its user's events.
type Subscription struct {
	hub   *Hub
	user  uuid.UUID
	match func(*Event) bool
	ch    chan *Event // nil for SubscribeFunc

	deliver func(*Event) bool // SubscribeFunc's
	onEnd   func(error)

	// mu orders sends on ch against closing it: every send and the close happen under mu,
	// so a send never meets a closed channel and the close happens once.
	mu    sync.Mutex
	ended bool
	err   error
}

// C delivers the events, in commit order. An event is shared by every
// subscription it reaches (a pointer keeps each buffer slot at 8 bytes: 10,000
// idle subscriptions would otherwise hold 250 MB of empty slots): never
// modify it. It is closed when the subscription ends; Err then
// says why.
func (s *Subscription) C() <-chan *Event { return s.ch }

// Err is nil while the subscription is open and after Close, ErrSlowSubscriber if it was
// ended for falling behind, and ErrHubStopped if the hub stopped.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription and closes C. It may be called more than once, from any
// goroutine, and after the subscription ended for another reason (which Err keeps).
func (s *Subscription) Close() {
	if s.end(nil) {
		s.hub.remove(s)
	}
}

// offer places ev in the buffer without waiting. If the buffer is full it ends the
// subscription instead (ended reports that this call did).
func (s *Subscription) offer(ev *Event) (sent, ended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false, false
	}
	if s.deliver != nil {
		if s.deliver(ev) {
			return true, false
		}
		s.endLocked(ErrSlowSubscriber)
		return false, true
	}
	select {
	case s.ch <- ev:
		return true, false
	default:
		s.endLocked(ErrSlowSubscriber)
		return false, true
	}
}

// end ends the subscription with err unless it has ended already; it reports whether it did.
func (s *Subscription) end(err error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	s.endLocked(err)
	return true
}

func (s *Subscription) endLocked(err error) {
	s.ended = true
	s.err = err
	if s.ch != nil {
		close(s.ch)
	}
	if s.onEnd != nil {
		s.onEnd(err)
	}
	s.hub.subscribers.Add(-1)
}
