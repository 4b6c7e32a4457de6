// Package validate checks user input against the API's documented limits
// (README.md, "Input limits") and reports the first fault as BAD_USER_INPUT
// naming the field.
package validate

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/apperr"
)

// Checker collects the first validation error of a series of checks, so a
// service can validate a whole input in a flat list.
type Checker struct{ err error }

// Err is the first error found, or nil.
func (c *Checker) Err() error { return c.err }

func (c *Checker) fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = apperr.Invalid(field, format, args...)
	}
}

// Required checks a required text: not blank, at most max characters.
func (c *Checker) Required(field, v string, max int) {
	if strings.TrimSpace(v) == "" {
		c.fail(field, "must not be empty")
		return
	}
	c.length(field, v, max)
}

// Optional checks an optional text: nil or at most max characters. An empty
// string is allowed (in updates it clears the value).
func (c *Checker) Optional(field string, v *string, max int) {
	if v != nil {
		c.length(field, *v, max)
	}
}

// NotBlank checks that an optional text, when given, is not blank: for fields
// that may be left out of an update but never cleared.
func (c *Checker) NotBlank(field string, v *string, max int) {
	if v != nil {
		c.Required(field, *v, max)
	}
}

func (c *Checker) length(field, v string, max int) {
	if !utf8.ValidString(v) {
		c.fail(field, "must be valid UTF-8")
	} else if n := utf8.RuneCountInString(v); n > max {
		c.fail(field, "must be at most %d characters (got %d)", max, n)
	} else if strings.ContainsRune(v, 0) {
		c.fail(field, "must not contain NUL characters")
	}
}

// IntRange checks an optional integer.
func (c *Checker) IntRange(field string, v *int, min, max int) {
	if v != nil && (*v < min || *v > max) {
		c.fail(field, "must be between %d and %d", min, max)
	}
}

// FloatRange checks an optional number.
func (c *Checker) FloatRange(field string, v *float64, min, max float64) {
	if v != nil && !(*v >= min && *v <= max) { // also rejects NaN
		c.fail(field, "must be between %g and %g", min, max)
	}
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Slug checks a machine identifier such as a skill slug.
func (c *Checker) Slug(field, v string) {
	if !slugRE.MatchString(v) {
		c.fail(field, "must be 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
}

// Email checks an optional bare e-mail address; "" is allowed (it clears).
func (c *Checker) Email(field string, v *string) {
	if v == nil || *v == "" {
		return
	}
	c.length(field, *v, 254)
	a, err := mail.ParseAddress(*v)
	if err != nil || a.Address != *v {
		c.fail(field, "must be a plain e-mail address like name@example.com")
	}
}

// ID parses an object id. A malformed id is a client bug, not a missing
// object, so it is BAD_USER_INPUT rather than NOT_FOUND.
func ID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return uuid.Nil, apperr.Invalid(field, "must be an id (a UUID)")
	}
	return id, nil
}

var threadRE = regexp.MustCompile(`^[A-Za-z0-9:._-]{1,200}$`)

// ThreadID checks a thread id: 1 to 200 letters, digits, ':', '.', '_' or '-'
// (the default "<agentId>:direct" fits).
func (c *Checker) ThreadID(field, v string) {
	if !threadRE.MatchString(v) {
		c.fail(field, "must be 1 to 200 letters, digits, ':', '.', '_' or '-'")
	}
}

var feedTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// FeedType checks a feed event type such as task_completed.
func (c *Checker) FeedType(field, v, hint string) {
	if !feedTypeRE.MatchString(v) {
		c.fail(field, "%s", hint)
	}
}

// Fail records a fault found by the caller's own check.
func (c *Checker) Fail(field, format string, args ...any) { c.fail(field, format, args...) }
