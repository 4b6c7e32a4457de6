package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is one workload's measurement against one server.
type result struct {
	ok, failed int
	elapsed    time.Duration
	lat        []time.Duration // of the successful requests
	cpu        time.Duration   // server CPU over the measured window
	dbCPU      time.Duration   // its Postgres backends' CPU over the window
	firstErr   error
	// W4 only: time to the first streamed token and to the stored reply.
	firstToken, stored []time.Duration
}

func (r result) rps() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// cpuPerReq is the server's CPU time per successful request.
func (r result) cpuPerReq() time.Duration {
	if r.ok == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.ok)
}

// dbCPUPerReq is Postgres' CPU time per successful request.
func (r result) dbCPUPerReq() time.Duration {
	if r.ok == 0 {
		return 0
	}
	return r.dbCPU / time.Duration(r.ok)
}

func newClient(conc int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 2 * conc, MaxIdleConnsPerHost: 2 * conc,
			IdleConnTimeout: time.Minute, DisableCompression: true},
	}
}

// drive runs conc workers sending w's requests back to back: for warmup
// (not recorded), then for dur. Each request carries its user's token.
func drive(ctx context.Context, client *http.Client, p *proc, db *dbCPU, w workload, toks []string, auth bool,
	conc int, warmup, dur time.Duration) result {
	var n atomic.Int64
	one := func() (time.Duration, error) {
		body, u := w.body(int(n.Add(1)))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth {
			req.Header.Set("Authorization", "Bearer "+toks[u])
		}
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		took := time.Since(start)
		if err != nil {
			return 0, err
		}
		if res.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("HTTP %d: %.300s", res.StatusCode, b)
		}
		return took, checkResponse(b, w.idKey, w.want)
	}
	phase := func(d time.Duration, record bool) result {
		var mu sync.Mutex
		var r result
		var wg sync.WaitGroup
		end := time.Now().Add(d)
		db0 := db.sample(ctx)
		cpu0, t0 := p.cpu(), time.Now()
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var lat []time.Duration
				var failed int
				var firstErr error
				for time.Now().Before(end) && ctx.Err() == nil {
					took, err := one()
					if err != nil {
						failed++
						if firstErr == nil {
							firstErr = err
						}
						continue
					}
					lat = append(lat, took)
				}
				mu.Lock()
				r.lat = append(r.lat, lat...)
				r.failed += failed
				if r.firstErr == nil {
					r.firstErr = firstErr
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		r.elapsed, r.cpu, r.ok = time.Since(t0), p.cpu()-cpu0, len(r.lat)
		r.dbCPU = since(db0, db.sample(ctx))
		return r
	}
	if warmup > 0 {
		phase(warmup, false)
	}
	return phase(dur, true)
}

// countKey counts "key": in a JSON body; keys are never escaped in these
// responses, and values that contain the text are not followed by a colon.
func countKey(body []byte, key string) int {
	return bytes.Count(body, []byte(`"`+key+`":`))
}
