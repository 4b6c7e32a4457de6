// Package page implements Relay cursor pagination over a keyset order of
// (created_at, id) (or (updated_at, id) for threads): stable under inserts,
// and index-backed, unlike OFFSET. One cursor type serves every list.
package page

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/apperr"
)

// The page sizes: first defaults to DefaultSize and may not exceed MaxSize.
const (
	DefaultSize = 20
	MaxSize     = 100
)

// Cursor is a position in a keyset order of (time, id): (created_at, id) for
// most lists, (updated_at, id) for threads. IDs are UUIDs, or text where the
// rows have text ids (threads); the list says which when it decodes one.
type Cursor struct {
	At time.Time
	ID string
}

// cursorPrefix versions the opaque format so it can change without breaking
// clients silently: an old cursor fails to decode with a clear error.
// legacyTextPrefix marked thread cursors when they had a type of their own;
// those still decode.
const (
	cursorPrefix     = "c1:"
	legacyTextPrefix = "t1:"
)

// Encode returns the opaque form of c.
func (c Cursor) Encode() string {
	raw := cursorPrefix + strconv.FormatInt(c.At.UnixMicro(), 10) + ":" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// Decode parses an opaque cursor; field names the argument for the error.
func Decode(field, s string) (Cursor, error) {
	bad := apperr.Invalid(field, "not a cursor this API issued")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		if rest, ok = strings.CutPrefix(string(raw), legacyTextPrefix); !ok {
			return Cursor{}, bad
		}
	}
	at, id, ok := strings.Cut(rest, ":")
	micros, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return Cursor{}, bad
	}
	return Cursor{At: time.UnixMicro(micros), ID: id}, nil
}

// decodeIn decodes a cursor of a list whose ids are UUIDs (uuids) or text.
func decodeIn(field, s string, uuids bool) (*Cursor, error) {
	c, err := Decode(field, s)
	if err != nil {
		return nil, err
	}
	if _, perr := uuid.Parse(c.ID); uuids && perr != nil {
		return nil, apperr.Invalid(field, "not a cursor of this list")
	}
	return &c, nil
}

// Args is a validated forward page request.
type Args struct {
	Size  int
	After *Cursor
}

// Forward validates first/after for a list whose ids are UUIDs.
func Forward(first *int, after *string) (Args, error) { return forward(first, after, true) }

// ForwardText validates first/after for a list whose ids are text (threads).
func ForwardText(first *int, after *string) (Args, error) { return forward(first, after, false) }

func forward(first *int, after *string, uuids bool) (Args, error) {
	a := Args{Size: DefaultSize}
	if first != nil {
		if *first < 0 || *first > MaxSize {
			return Args{}, apperr.Invalid("first", "must be between 0 and %d", MaxSize)
		}
		a.Size = *first
	}
	if after != nil {
		c, err := decodeIn("after", *after, uuids)
		if err != nil {
			return Args{}, err
		}
		a.After = c
	}
	return a, nil
}

// Key is the comparable form of Args (and of Backward), for dataloader keys
// of nested pages: the page size and its cursor, if any.
type Key struct {
	Size  int
	After Cursor
	Has   bool
}

// Key returns a's comparable form.
func (a Args) Key() Key {
	if a.After == nil {
		return Key{Size: a.Size}
	}
	return Key{Size: a.Size, After: *a.After, Has: true}
}

// Args returns the Args k was made from.
func (k Key) Args() Args {
	a := Args{Size: k.Size}
	if k.Has {
		c := k.After
		a.After = &c
	}
	return a
}

// SQL arguments for `($n::timestamptz is null or (created_at, id) > ($n, $n+1))`.
func (a Args) AfterAt() *time.Time {
	if a.After == nil {
		return nil
	}
	return &a.After.At
}

// AfterID is the id half of the after cursor, for SQL (Postgres reads it as
// the id column's type).
func (a Args) AfterID() *string {
	if a.After == nil {
		return nil
	}
	return &a.After.ID
}

// Limit is what to ask SQL for: one more than the page, to learn whether
// there is a next page without a second query.
func (a Args) Limit() int { return a.Size + 1 }

// Page is one page of items in order.
type Page[T any] struct {
	Items   []T
	HasNext bool
	// HasPrev is true when the page starts after a cursor: at least the row the
	// cursor came from lies before it.
	HasPrev bool
}

// Cut turns the Limit() rows a query returned into a page.
func Cut[T any](a Args, rows []T) Page[T] {
	p := Page[T]{Items: rows, HasPrev: a.After != nil}
	if len(rows) > a.Size {
		p.Items, p.HasNext = rows[:a.Size], true
	}
	return p
}

// Backward is a validated backward page request (last/before), for lists
// read newest first and shown oldest first, like chat history.
type Backward struct {
	Size   int
	Before *Cursor
}

// Back validates last/before (lists read backwards have UUID ids).
func Back(last *int, before *string) (Backward, error) {
	a := Backward{Size: DefaultSize}
	if last != nil {
		if *last < 0 || *last > MaxSize {
			return Backward{}, apperr.Invalid("last", "must be between 0 and %d", MaxSize)
		}
		a.Size = *last
	}
	if before != nil {
		c, err := decodeIn("before", *before, true)
		if err != nil {
			return Backward{}, err
		}
		a.Before = c
	}
	return a, nil
}

// BeforeAt and BeforeID are the halves of the before cursor, for SQL.
func (a Backward) BeforeAt() *time.Time {
	if a.Before == nil {
		return nil
	}
	return &a.Before.At
}

// BeforeID is the id half of the before cursor.
func (a Backward) BeforeID() *string {
	if a.Before == nil {
		return nil
	}
	return &a.Before.ID
}

// CutBack turns the Size+1 rows a newest-first query returned into a page in
// oldest-first order. HasPrev tells of older rows, HasNext of newer ones.
func CutBack[T any](a Backward, newestFirst []T) Page[T] {
	p := Page[T]{HasNext: a.Before != nil}
	if len(newestFirst) > a.Size {
		newestFirst, p.HasPrev = newestFirst[:a.Size], true
	}
	p.Items = make([]T, len(newestFirst))
	for i, x := range newestFirst {
		p.Items[len(newestFirst)-1-i] = x
	}
	return p
}

// Key (above) is the comparable form of Backward too, for dataloader keys.

// Key returns a's comparable form.
func (a Backward) Key() Key {
	if a.Before == nil {
		return Key{Size: a.Size}
	}
	return Key{Size: a.Size, After: *a.Before, Has: true}
}

// Backward returns the Backward k was made from (its cursor is the page's
// before).
func (k Key) Backward() Backward {
	a := Backward{Size: k.Size}
	if k.Has {
		c := k.After
		a.Before = &c
	}
	return a
}
