package graph

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"
)

// Direct execution writes scalars as gqlgen's marshalers do, byte for byte:
// any string (control characters, quotes, invalid UTF-8), any uuid, any time.
func FuzzDirectScalars(f *testing.F) {
	f.Add("plain", []byte("0123456789abcdef"), int64(0), int64(0), 0.5)
	f.Add("quote \" backslash \\ newline \n tab \t cr \r bell \a nul \x00 unit \x1f del \x7f", []byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), int64(1767225600), int64(123456789), 1e21)
	f.Add("é 😀 <script>&amp; \u2028 \xff\xfe broken \xc3", []byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"), int64(-62135596800), int64(1), 1e-7)
	f.Add("", []byte{}, int64(-1), int64(-1), math.Inf(-1))
	f.Fuzz(func(t *testing.T, s string, id []byte, sec, nsec int64, x float64) {
		if got, want := appendQuoted(nil, s), marshal(graphql.MarshalString(s)); !bytes.Equal(got, want) {
			t.Fatalf("string %q: wrote %s, gqlgen %s", s, got, want)
		}
		var u uuid.UUID
		copy(u[:], id)
		got, ok := appendID(nil, u)
		if want := marshal(graphql.MarshalUUID(u)); !ok && string(want) != "null" || ok && !bytes.Equal(got, want) {
			t.Fatalf("uuid %v: wrote %s (%v), gqlgen %s", u, got, ok, want)
		}
		for _, loc := range []*time.Location{time.UTC, time.FixedZone("x", -(5*3600 + 30*60))} {
			tm := time.Unix(sec%(1<<40), nsec%1e9).In(loc)
			got, ok := appendTime(nil, tm)
			if want := marshal(graphql.MarshalTime(tm)); !ok && string(want) != "null" || ok && !bytes.Equal(got, want) {
				t.Fatalf("time %v: wrote %s (%v), gqlgen %s", tm, got, ok, want)
			}
		}
		var want bytes.Buffer
		err := graphql.MarshalFloatContext(x).MarshalGQLContext(context.Background(), &want)
		if got, ok := appendFloat(nil, x); ok != (err == nil) || ok && !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("float %v: wrote %s (%v), gqlgen %s (%v)", x, got, ok, want.Bytes(), err)
		}
	})
}

func marshal(m graphql.Marshaler) []byte {
	var b bytes.Buffer
	m.MarshalGQL(&b)
	return b.Bytes()
}
