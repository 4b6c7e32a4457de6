package httpx

import (
	"net/http/httptest"
	"testing"
)

// The upgrade's origin policy: no Origin (not a browser), the server's own
// host, or a listed scheme://host[:port] without case; nothing else, and
// entries that are not origins ("*", a bare host) match nothing.
func TestOriginChecker(t *testing.T) {
	t.Parallel()
	check := OriginChecker([]string{"https://app.example.com", "http://localhost:5173/", "http://[::1]:3000", "*", "example.org"})
	for _, tc := range []struct {
		name, origin string
		ok           bool
	}{
		{"absent", "", true},
		{"same host", "http://api.internal:8080", true},
		{"listed", "https://app.example.com", true},
		{"listed, other case", "HTTPS://App.Example.COM", true},
		{"listed with trailing slash", "http://localhost:5173", true},
		{"listed IPv6", "http://[::1]:3000", true},
		{"other host", "https://evil.example.com", false},
		{"other scheme", "http://app.example.com", false},
		{"other port", "https://app.example.com:8443", false},
		{"suffix trick", "https://app.example.com.evil.net", false},
		{"bare host entry", "https://example.org", false},
		{"wildcard entry", "https://anything.example", false},
		{"null", "null", false},
	} {
		r := httptest.NewRequest("GET", "http://api.internal:8080/query", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := check(r); got != tc.ok {
			t.Errorf("%s (%q): allowed %v, want %v", tc.name, tc.origin, got, tc.ok)
		}
	}
}
