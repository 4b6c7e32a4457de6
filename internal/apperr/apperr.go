// Package apperr defines the errors the API shows to clients. Every error a
// client may act on carries one of the codes of runtime.md; anything else is an
// internal error and is logged, never shown.
package apperr

import (
	"errors"
	"fmt"
)

// Code is the value of a GraphQL error's extensions.code.
type Code string

// The codes of runtime.md.
const (
	Unauthenticated   Code = "UNAUTHENTICATED"
	Forbidden         Code = "FORBIDDEN"
	NotFound          Code = "NOT_FOUND"
	BadUserInput      Code = "BAD_USER_INPUT"
	RateLimited       Code = "RATE_LIMITED"
	LLMUnavailable    Code = "LLM_UNAVAILABLE"
	BudgetExceeded    Code = "BUDGET_EXCEEDED"
	NotImplemented    Code = "NOT_IMPLEMENTED"
	InternalError     Code = "INTERNAL_SERVER_ERROR"
	ComplexityLimit   Code = "COMPLEXITY_LIMIT_EXCEEDED"
	ParseFailed       Code = "GRAPHQL_PARSE_FAILED"
	ValidationFailure Code = "GRAPHQL_VALIDATION_FAILED"
	DepthLimit        Code = "DEPTH_LIMIT_EXCEEDED"
	PayloadTooLarge   Code = "PAYLOAD_TOO_LARGE"
	// Timeout: the request ran past its deadline (TIMEOUT); retrying the
	// same request is unlikely to help, a smaller one may.
	Timeout Code = "TIMEOUT"
)

// IntegrationsDisabled: no token encryption key is configured, so no
// integration can be connected (and nothing is ever stored in the clear).
const IntegrationsDisabled Code = "INTEGRATIONS_DISABLED"

// Error is an error that is safe to show to the client as it is.
type Error struct {
	Code    Code
	Message string
	// Field names the input field at fault, for BAD_USER_INPUT (e.g. "input.name").
	Field string
}

func (e *Error) Error() string { return e.Message }

// New returns an error with the given code and message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports bad input in the named field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: BadUserInput, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// NotFoundf reports that an object does not exist — or belongs to someone else,
// which callers must not be able to tell apart.
func NotFoundf(format string, args ...any) *Error {
	return &Error{Code: NotFound, Message: fmt.Sprintf(format, args...)}
}

// Unauth reports a missing or unusable credential.
func Unauth(format string, args ...any) *Error {
	return &Error{Code: Unauthenticated, Message: fmt.Sprintf(format, args...)}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool {
	e, ok := As(err)
	return ok && e.Code == code
}
