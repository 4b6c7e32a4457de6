package httpx

import (
	"net/http"
	"net/url"
	"strings"
)

// OriginChecker returns the WebSocket upgrade's origin check (gorilla's
// Upgrader.CheckOrigin, as internal/gqlws uses it): it allows
//   - requests without an Origin header: browsers always send one on a
//     WebSocket handshake, so its absence means a non-browser client, which
//     cross-site request forgery cannot drive;
//   - an Origin whose host[:port] is the request's Host (same host);
//   - an Origin equal to one of allowed, compared as scheme://host[:port]
//     without case (e.g. "https://app.example.com", "http://localhost:5173";
//     a trailing "/" is ignored).
//
// Everything else is refused, which makes the upgrade fail with HTTP 403.
// Entries that are not scheme://host[:port] (such as "*" or a bare host) match
// nothing: cross-origin WebSockets carry the user's cookies, so a wildcard
// would be a CSRF hole.
func OriginChecker(allowed []string) func(r *http.Request) bool {
	set := make(map[string]struct{}, len(allowed))
	for _, o := range normalizeOrigins(allowed) {
		set[o] = struct{}{}
	}
	return func(r *http.Request) bool {
		header := r.Header.Get("Origin")
		if header == "" {
			return true
		}
		u, err := url.Parse(header)
		if err != nil || u.Host == "" {
			return false // e.g. "null" from a sandboxed frame or file:// page
		}
		if strings.EqualFold(u.Host, r.Host) {
			return true
		}
		// Browsers send a bare scheme://host[:port]; anything after it is
		// ignored, as coder/websocket does.
		_, ok := set[strings.ToLower(u.Scheme+"://"+u.Host)]
		return ok
	}
}

func normalizeOrigins(origins []string) []string {
	var out []string
	for _, o := range origins {
		if n, ok := normalizeOrigin(o); ok {
			out = append(out, n)
		}
	}
	return out
}

// normalizeOrigin returns "scheme://host[:port]" in lower case, or false when
// s is not an origin of that form (no path beyond "/", query, fragment or user
// info).
func normalizeOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host), true
}
