package validate_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agentgraph/agentgraph/internal/apperr"
	"github.com/agentgraph/agentgraph/internal/validate"
)

// wantInvalid fails unless err is BAD_USER_INPUT naming field.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.BadUserInput || e.Field != field {
		t.Fatalf("error %v, want BAD_USER_INPUT on %s", err, field)
	}
}

// FuzzThreadID: a thread id is accepted only when it is 1–200 of
// A-Z a-z 0-9 : . _ - (it is stored, logged and put in NOTIFY payloads).
func FuzzThreadID(f *testing.F) {
	for _, s := range []string{"6f1c2a4e-8b1d-4c3e-9f2a-0d5e7b9c1a23:direct", "", "a\n", "ä", strings.Repeat("a", 201)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var c validate.Checker
		c.ThreadID("input.threadId", s)
		ok := len(s) >= 1 && len(s) <= 200 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:._-") == ""
		if err := c.Err(); ok != (err == nil) {
			t.Fatalf("ThreadID(%q): error %v, want ok=%v", s, err, ok)
		} else if err != nil {
			wantInvalid(t, err, "input.threadId")
		}
	})
}

// FuzzRequired: a required text is accepted only when valid UTF-8, not
// blank, at most max characters and free of NUL (Postgres refuses NUL in
// text, which would otherwise be an internal error).
func FuzzRequired(f *testing.F) {
	for _, s := range []string{"hello", "", "  ", "a\x00b", "\xff", strings.Repeat("é", 11)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		const max = 10
		var c validate.Checker
		c.Required("input.name", s, max)
		err := c.Err()
		if err != nil {
			wantInvalid(t, err, "input.name")
			return
		}
		if !utf8.ValidString(s) || strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > max || strings.ContainsRune(s, 0) {
			t.Fatalf("Required accepted %q", s)
		}
	})
}

// FuzzID: an id is accepted only in the canonical UUID spelling, so one
// object has one id.
func FuzzID(f *testing.F) {
	for _, s := range []string{"6f1c2a4e-8b1d-4c3e-9f2a-0d5e7b9c1a23", "{6f1c2a4e-8b1d-4c3e-9f2a-0d5e7b9c1a23}", "", "urn:uuid:6f1c2a4e-8b1d-4c3e-9f2a-0d5e7b9c1a23"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := validate.ID("id", s)
		if err != nil {
			wantInvalid(t, err, "id")
			return
		}
		if !strings.EqualFold(id.String(), s) {
			t.Fatalf("ID accepted %q as %s", s, id)
		}
	})
}
