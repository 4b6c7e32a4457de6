// Command bench is issue 11's load benchmark: it seeds a database of its own,
// starts agentgraph (and with -peer postgraphile, PostGraphile 5 in two
// configurations) on it, one server at a time, drives each over loopback at
// fixed concurrency for a bounded time, and prints rps, p50 and p99 per
// workload, medians over rounds that alternate the servers, and our/peer
// ratios.
//
//	go run ./bench                        # agentgraph alone, W1–W4
//	go run ./bench -peer postgraphile     # and PostGraphile, plain and with RLS
//	go run ./bench -large                 # 1,000,000 messages
//	go run ./bench -variant 'gogc400:GOGC=400'   # another configuration of ours, alternated with the default
//
// It is a command, not a test: CI builds and vets it but never runs it.
// See BENCHMARKS.md ("Against PostGraphile") for what it measures and why.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type variants []string

func (v *variants) String() string     { return strings.Join(*v, " ") }
func (v *variants) Set(s string) error { *v = append(*v, s); return nil }

func main() {
	var vs variants
	var (
		adminURL = flag.String("admin-url", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
			"a superuser connection; the bench database is created next to it")
		dbName   = flag.String("db", "", "the bench's own database, dropped and recreated when seeding (default agentgraph_bench, with -large agentgraph_bench_large)")
		large    = flag.Bool("large", false, "seed 500 messages per thread: 1,000,000 messages")
		reseed   = flag.Bool("reseed", false, "seed again even if the database holds this seed")
		peer     = flag.String("peer", "", `"postgraphile": also run PostGraphile 5 (bench/postgraphile), plain and with RLS`)
		conc     = flag.Int("c", 32, "concurrent clients")
		dur      = flag.Duration("duration", 10*time.Second, "measured time per workload")
		warmup   = flag.Duration("warmup", 2*time.Second, "unmeasured time before each workload")
		rounds   = flag.Int("rounds", 3, "rounds; each runs every configuration once, in rotating order")
		only     = flag.String("w", "W1,W2,W3,W4", "workloads to run")
		bin      = flag.String("server", "", "a prebuilt agentgraph binary (default: go build . into a temp dir)")
		profile  = flag.String("profile", "", "directory: save a CPU profile of each of our workloads (needs PPROF_ADDR in a variant, e.g. -variant 'prof:PPROF_ADDR=127.0.0.1:6061')")
		noOurs   = flag.Bool("no-default", false, "leave out our default configuration (run only -variant ones and the peer)")
		llmWords = flag.Int("reply-words", 20, "words of each W4 reply (one streamed chunk per word, no delay)")
	)
	flag.Var(&vs, "variant", "`name:KEY=V;KEY=V`: another configuration of our server (environment settings; BIN=path for another binary); repeatable")
	flag.Parse()
	if *dbName == "" {
		// Apart, so that switching sets does not seed a million messages again.
		*dbName = "agentgraph_bench"
		if *large {
			*dbName += "_large"
		}
	}
	log.SetFlags(log.Ltime)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, options{adminURL: *adminURL, db: *dbName, large: *large, reseed: *reseed, peer: *peer,
		conc: *conc, dur: *dur, warmup: *warmup, rounds: *rounds, only: *only, bin: *bin, profile: *profile,
		noDefault: *noOurs, variants: vs, replyWords: *llmWords}); err != nil {
		log.Fatal(err)
	}
}

type options struct {
	adminURL, db, peer, only, bin, profile string
	large, reseed, noDefault               bool
	conc, rounds, replyWords               int
	dur, warmup                            time.Duration
	variants                               []string
}

func run(ctx context.Context, o options) error {
	dbURL, err := ensureSeeded(ctx, o.adminURL, o.db, o.large, o.reseed)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "agentgraph-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.bin == "" {
		if o.bin, err = buildServer(tmp); err != nil {
			return err
		}
	}
	cfgs, err := configs(o)
	if err != nil {
		return err
	}
	if o.peer != "" {
		if err := installPeer(ctx); err != nil {
			return err
		}
	}
	llm := startLLM(o.replyWords)
	defer llm.Close()
	env := runEnv{dbURL: dbURL, llmURL: llm.URL(), toks: tokens(), messages: messagesPerThread(o.large)}
	var all []measurement
	for r := range o.rounds {
		load, _ := os.ReadFile("/proc/loadavg")
		log.Printf("round %d of %d; load average %s", r+1, o.rounds, strings.TrimSpace(string(load)))
		for i := range cfgs {
			c := cfgs[(i+r)%len(cfgs)] // rotate: no configuration always runs first
			ms, err := measure(ctx, c, env, o)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			for _, m := range ms {
				m.round = r + 1
				all = append(all, m)
				log.Print(m)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	report(os.Stdout, cfgs, all, o)
	return nil
}
