package llm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	openai "github.com/sashabaranov/go-openai"

	"github.com/agentgraph/agentgraph/internal/apperr"
)

// Ways a call can fail on our side of the wire. Errors from Stream, Recv and
// Embed wrap them, so the chat layer can pick a message status with errors.Is.
var (
	// ErrStalled: no data from the provider for Config.IdleTimeout.
	ErrStalled = errors.New("provider stopped sending data")
	// ErrTimeout: the whole call took longer than Config.Timeout.
	ErrTimeout = errors.New("call timed out")
	// ErrIncomplete: the stream ended (connection closed or reset) before the
	// provider said it was done.
	ErrIncomplete = errors.New("stream ended before completion")
)

// errClosed is the cancellation cause when the caller closes a Stream early;
// it is not a provider failure.
var errClosed = errors.New("stream closed")

// upstreamError is a failed call with its context (provider, model) and, when
// the failure is the provider's and the client should hear about it, a safe
// LLM_UNAVAILABLE error. Both are reachable with errors.As/Is: the full cause
// is for logs, the apperr (found by apperr.As) is what the client sees — it
// never repeats the provider's message, which may echo part of a key.
type upstreamError struct {
	provider Provider
	model    string
	err      error
	public   *apperr.Error
}

func (e *upstreamError) Error() string {
	return fmt.Sprintf("llm: %s %s: %v", e.provider, e.model, e.err)
}

func (e *upstreamError) Unwrap() []error {
	if e.public == nil {
		return []error{e.err}
	}
	return []error{e.err, e.public}
}

// IsUnavailable reports whether err means the provider cannot serve the
// request right now — no key, rejected key, rate limit, server error, model
// not found, unreachable, stalled, timed out or cut off — which the client
// should see as LLM_UNAVAILABLE. It is false for the caller's own
// cancellation and for request errors (HTTP 400), which are our bugs.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if apperr.Is(err, apperr.LLMUnavailable) {
		return true
	}
	// Raw go-openai errors that did not pass through classify.
	if status, ok := httpStatus(err); ok {
		return unavailableStatus(status)
	}
	return errors.Is(err, ErrStalled) || errors.Is(err, ErrTimeout) || errors.Is(err, ErrIncomplete)
}

// httpStatus digs the provider's HTTP status out of a go-openai error.
// An *openai.APIError with status 0 is an error event inside a 200 stream.
func httpStatus(err error) (int, bool) {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode, true
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return reqErr.HTTPStatusCode, true
	}
	return 0, false
}

func unavailableStatus(status int) bool {
	switch {
	case status == 0: // error event mid-stream, e.g. Anthropic's overloaded_error
		return true
	case status == http.StatusUnauthorized, status == http.StatusForbidden,
		status == http.StatusNotFound, status == http.StatusRequestTimeout,
		status == http.StatusTooManyRequests, status >= 500:
		return true
	}
	return false
}

// classify wraps err from a call on ctx (the call's own context, whose cause
// tells our timeouts from the caller's cancellation) with its context and,
// for provider failures, the client-facing LLM_UNAVAILABLE error.
func (c *Client) classify(ctx context.Context, p Provider, model string, err error) error {
	ue := &upstreamError{provider: p, model: model, err: err}
	unavailable := func(format string, args ...any) *apperr.Error {
		return apperr.New(apperr.LLMUnavailable, format, args...)
	}
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, ErrStalled):
		ue.err = explain(err, ErrStalled, fmt.Sprintf("nothing for %s", c.cfg.IdleTimeout))
		ue.public = unavailable("the %s model provider stopped responding", p)
	case errors.Is(cause, ErrTimeout):
		ue.err = explain(err, ErrTimeout, fmt.Sprintf("limit %s", c.cfg.Timeout))
		ue.public = unavailable("the %s model provider took too long to answer", p)
	case cause != nil:
		// The caller cancelled (or closed the stream): report it as such.
		ue.err = explain(err, cause, "")
	default:
		if status, ok := httpStatus(err); ok {
			if unavailableStatus(status) {
				ue.public = unavailable("%s", statusMessage(p, model, status))
			}
			break
		}
		if errors.Is(err, ErrIncomplete) {
			ue.public = unavailable("the %s model provider closed the stream early", p)
			break
		}
		var netErr net.Error
		var opErr *net.OpError
		if errors.As(err, &opErr) || errors.As(err, &netErr) {
			ue.public = unavailable("cannot reach the %s model provider", p)
		}
	}
	return ue
}

// explain makes sure err says why the call ended (cause) without saying it
// twice: net/http already returns the context's cause on a cancelled read.
func explain(err, cause error, detail string) error {
	if detail != "" {
		detail = " (" + detail + ")"
	}
	if errors.Is(err, cause) {
		return fmt.Errorf("%w%s", err, detail)
	}
	return fmt.Errorf("%w%s: %w", cause, detail, err)
}

func statusMessage(p Provider, model string, status int) string {
	switch {
	case status == 0:
		return fmt.Sprintf("the %s model provider reported an error while answering", p)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Sprintf("the %s model provider rejected the configured API key (HTTP %d)", p, status)
	case status == http.StatusNotFound:
		return fmt.Sprintf("model %q is not available from provider %s", model, p)
	case status == http.StatusTooManyRequests:
		return fmt.Sprintf("the %s model provider is rate limiting requests; try again shortly", p)
	default:
		return fmt.Sprintf("the %s model provider failed (HTTP %d); try again shortly", p, status)
	}
}

// IsRequestError reports whether the provider refused the request itself
// (HTTP 400, 413 or 422: input too long or invalid), which no retry fixes.
func IsRequestError(err error) bool {
	status, ok := httpStatus(err)
	return ok && (status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge ||
		status == http.StatusUnprocessableEntity)
}
