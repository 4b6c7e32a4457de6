package page

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/apperr"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	c := Cursor{At: time.UnixMicro(1795635966703140), ID: uuid.NewString()}
	got, err := Decode("after", c.Encode())
	if err != nil || !got.At.Equal(c.At) || got.ID != c.ID {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	tc := Cursor{At: c.At, ID: "agent:direct"}
	gotText, err := Decode("after", tc.Encode())
	if err != nil || !gotText.At.Equal(tc.At) || gotText.ID != tc.ID {
		t.Fatalf("text round trip: %+v %v", gotText, err)
	}
	// Thread cursors issued before cursors were one type still decode.
	legacy := base64.RawURLEncoding.EncodeToString([]byte("t1:1795635966703140:agent:direct"))
	if a, err := ForwardText(nil, &legacy); err != nil || a.After.ID != "agent:direct" || !a.After.At.Equal(c.At) {
		t.Fatalf("legacy thread cursor: %+v %v", a, err)
	}
}

func TestBadCursors(t *testing.T) {
	t.Parallel()
	text := Cursor{At: time.Now(), ID: "x"}.Encode()
	for _, s := range []string{"", "nope", "!!!", "YzE6", text} { // a text id is no row of a UUID list
		_, err := Forward(nil, &s)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.BadUserInput || e.Field != "after" {
			t.Errorf("Forward(after %q) = %v, want BAD_USER_INPUT on after", s, err)
		}
	}
}

func TestArgsAndCut(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, MaxSize + 1} {
		if _, err := Forward(&n, nil); !apperr.Is(err, apperr.BadUserInput) {
			t.Errorf("first %d: %v", n, err)
		}
		if _, err := Back(&n, nil); !apperr.Is(err, apperr.BadUserInput) {
			t.Errorf("last %d: %v", n, err)
		}
	}
	a, err := Forward(nil, nil)
	if err != nil || a.Size != DefaultSize || a.Limit() != DefaultSize+1 {
		t.Fatalf("defaults %+v %v", a, err)
	}
	two := 2
	a, _ = Forward(&two, nil)
	p := Cut(a, []int{1, 2, 3})
	if len(p.Items) != 2 || !p.HasNext || p.HasPrev {
		t.Fatalf("cut %+v", p)
	}
	b, _ := Back(&two, nil)
	pb := CutBack(b, []int{5, 4, 3})
	if len(pb.Items) != 2 || pb.Items[0] != 4 || pb.Items[1] != 5 || !pb.HasPrev || pb.HasNext {
		t.Fatalf("cut back %+v", pb)
	}
}
