package page_test

import (
	"testing"
	"time"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/page"
)

// FuzzDecode: any string a client sends as a cursor decodes to a cursor
// that encodes back to the same string, or fails as BAD_USER_INPUT; it
// never panics.
func FuzzDecode(f *testing.F) {
	f.Add(page.Cursor{At: time.UnixMicro(1700000000000000), ID: "6f1c2a4e-8b1d-4c3e-9f2a-0d5e7b9c1a23"}.Encode())
	f.Add("")
	f.Add("YzE6")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := page.Decode("after", s)
		if err != nil {
			if !apperr.Is(err, apperr.BadUserInput) {
				t.Fatalf("error %v is not BAD_USER_INPUT", err)
			}
			return
		}
		back, err := page.Decode("after", c.Encode())
		if err != nil || !back.At.Equal(c.At) || back.ID != c.ID {
			t.Fatalf("%q decodes to %+v, which does not round-trip: %+v, %v", s, c, back, err)
		}
	})
}

// FuzzDecodeText is FuzzDecode for thread cursors (text ids), read as a
// threads list reads them.
func FuzzDecodeText(f *testing.F) {
	f.Add(page.Cursor{At: time.UnixMicro(1700000000000000), ID: "agent:direct"}.Encode())
	f.Add("dDE6")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := page.ForwardText(nil, &s)
		if err != nil {
			if !apperr.Is(err, apperr.BadUserInput) {
				t.Fatalf("error %v is not BAD_USER_INPUT", err)
			}
			return
		}
		c := *a.After
		back, err := page.Decode("after", c.Encode())
		if err != nil || !back.At.Equal(c.At) || back.ID != c.ID {
			t.Fatalf("%q decodes to %+v, which does not round-trip: %+v, %v", s, c, back, err)
		}
	})
}
