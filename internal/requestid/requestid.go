// Package requestid tags every request with an id that is logged with its
// errors and returned to the client, so a user's report can be matched to the
// server's log without the client ever seeing internals.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
)

type ctxKey struct{}

// Header carries the id: taken from a proxy when it sends a sane one, and
// always echoed in the response.
const Header = "X-Request-Id"

var sane = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// From returns the request id in ctx, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// New returns a fresh random id.
func New() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Middleware assigns the id.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(Header)
		if !sane.MatchString(id) {
			id = New()
		}
		w.Header().Set(Header, id)
		next.ServeHTTP(w, r.WithContext(With(r.Context(), id)))
	})
}
