package httpx

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Vary: Origin goes on every response, so a shared cache never hands one
// origin's answer to another.
func TestVaryOriginAlways(t *testing.T) {
	t.Parallel()
	h := CORS([]string{"https://app.example"}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	for _, origin := range []string{"", "https://app.example", "https://evil.example"} {
		r := httptest.NewRequest(http.MethodGet, "/query", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Values("Vary"); len(got) != 1 || got[0] != "Origin" {
			t.Errorf("origin %q: Vary %q", origin, got)
		}
		if allowed := w.Header().Get("Access-Control-Allow-Origin"); (allowed != "") != (origin == "https://app.example") {
			t.Errorf("origin %q: allowed %q", origin, allowed)
		}
	}
}

// A plain request that takes too long is cut at its write deadline; a
// WebSocket upgrade on the same server is not.
func TestDeadlinesSpareUpgrades(t *testing.T) {
	t.Parallel()
	const deadline = 100 * time.Millisecond
	srv := httptest.NewServer(Deadlines(deadline, deadline, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * deadline)
		if r.Header.Get("Upgrade") == "" {
			_, _ = io.WriteString(w, "late")
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = rw.Flush()
		time.Sleep(3 * deadline)
		_, _ = rw.WriteString("still here")
		_ = rw.Flush()
	})))
	t.Cleanup(srv.Close)

	res, err := srv.Client().Get(srv.URL)
	if err == nil {
		body, rerr := io.ReadAll(res.Body)
		res.Body.Close()
		if rerr == nil && string(body) == "late" {
			t.Fatal("a request past its write deadline was answered")
		}
	}

	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err = http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "still here" {
		t.Fatalf("upgraded connection got %q after the deadline", rest)
	}
}
