// Package httpx holds the HTTP middleware around the API: CORS and metrics.
package httpx

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// CORS allows the listed origins (ALLOWED_ORIGINS) to call the API from a
// browser with credentials. No list means no cross-origin browser access.
func CORS(allowed []string, next http.Handler) http.Handler {
	// Origins compare as the WebSocket origin check compares them
	// (normalizeOrigin): scheme://host[:port] without case.
	set := make(map[string]bool, len(allowed))
	for _, o := range normalizeOrigins(allowed) {
		set[o] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Always, allowed or not: a cache must not serve one origin's
		// answer (with or without CORS headers) to another.
		w.Header().Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if n, ok := normalizeOrigin(origin); ok && set[n] {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Apollo-Require-Preflight, X-Request-Id")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Deadlines bounds how long a plain HTTP request may take to send its body
// (read) and to be answered (write). It is per request instead of
// http.Server's ReadTimeout/WriteTimeout, which would also cut WebSocket
// connections, hours long, at the same moment: upgrades get no deadline.
func Deadlines(read, write time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		rd, wd := time.Now().Add(read), time.Now().Add(write)
		if isUpgrade(r) {
			// Clear what an earlier request on this keep-alive connection set.
			rd, wd = time.Time{}, time.Time{}
		}
		// Errors mean the writer cannot set deadlines (a test recorder);
		// the request then runs without one.
		_ = rc.SetReadDeadline(rd)
		_ = rc.SetWriteDeadline(wd)
		next.ServeHTTP(w, r)
	})
}

func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

var requestDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "agentgraph_http_request_duration_seconds",
	Help:    "HTTP request duration by route and status.",
	Buckets: prometheus.DefBuckets,
}, []string{"route", "status"})

// Metrics serves mux, recording every request's duration by route pattern
// (never by raw path, which would let clients grow the label set) and status.
func Metrics(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		_, route := mux.Handler(r)
		mux.ServeHTTP(rec, r)
		if route == "" {
			route = "unmatched"
		}
		requestDuration.WithLabelValues(route, strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Hijack hands the connection to a WebSocket upgrade: gorilla/websocket
// asserts http.Hijacker on the writer itself and does not follow Unwrap.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.status = http.StatusSwitchingProtocols
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// Flush passes flushes through, for streaming responses.
func (s *statusRecorder) Flush() { _ = http.NewResponseController(s.ResponseWriter).Flush() }

// HubStats are the live-event counters /metrics exports.
type HubStats interface {
	Subscribers() int64
	Delivered() int64
	Dropped() int64
	Reconnections() int64
	StreamDropped() int64
	ResolveDropped() int64
}

// RegisterHub exports the event hub's counters: subscriptions open, events
// delivered, subscriptions ended for being slow, listener reconnections,
// streamed chunks not sent to other instances, events whose rows could not
// be loaded.
func RegisterHub(h HubStats) {
	promauto.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentgraph_subscriptions",
		Help: "Live subscriptions open on this instance."}, func() float64 { return float64(h.Subscribers()) })
	promauto.NewCounterFunc(prometheus.CounterOpts{Name: "agentgraph_events_delivered_total",
		Help: "Events handed to subscriptions."}, func() float64 { return float64(h.Delivered()) })
	promauto.NewCounterFunc(prometheus.CounterOpts{Name: "agentgraph_subscriptions_dropped_total",
		Help: "Subscriptions ended because their buffer was full."}, func() float64 { return float64(h.Dropped()) })
	promauto.NewCounterFunc(prometheus.CounterOpts{Name: "agentgraph_listener_reconnects_total",
		Help: "Reconnections of the LISTEN connection."}, func() float64 { return float64(h.Reconnections()) })
	promauto.NewCounterFunc(prometheus.CounterOpts{Name: "agentgraph_stream_notify_dropped_total",
		Help: "Streamed chunks not sent to other instances because Postgres fell behind."},
		func() float64 { return float64(h.StreamDropped()) })
	promauto.NewCounterFunc(prometheus.CounterOpts{Name: "agentgraph_events_unloaded_dropped_total",
		Help: "Events not delivered because their rows could not be loaded, after retries."},
		func() float64 { return float64(h.ResolveDropped()) })
}

// RegisterSockets exports how many WebSocket connections are open (open
// reports it: gqlws.Transport.Open).
func RegisterSockets(open func() int) {
	promauto.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentgraph_websockets",
		Help: "WebSocket connections open on this instance."}, func() float64 { return float64(open()) })
}

// RegisterStore exports how many transactions were run again after a
// deadlock or serialization failure (retries reports it: store.Retries).
func RegisterStore(retries func() int64) {
	promauto.NewCounterFunc(prometheus.CounterOpts{Name: "agentgraph_tx_retries_total",
		Help: "Transactions run again after a deadlock or serialization failure."},
		func() float64 { return float64(retries()) })
}
