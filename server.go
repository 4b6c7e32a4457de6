// Command agentgraph serves the agentgraph GraphQL API.
//
//	go run .                               migrate the database, then serve
//	go run . migrate                       migrate the database and exit
//	go run . seed [--user <uuid>]          give a user (dev mode: the demo user) demo data
//	go run . token --user <uuid> [--ttl 1h] print an access token signed with the configured secret
//	go run . reseal                        seal every integration token again under the newest key
//
// Settings come from the environment: see runtime.md and README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"

	"github.com/agentgraph/agentgraph/graph"
	"github.com/agentgraph/agentgraph/internal/agents"
	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/cache"
	"github.com/agentgraph/agentgraph/internal/chat"
	"github.com/agentgraph/agentgraph/internal/config"
	"github.com/agentgraph/agentgraph/internal/devmode"
	"github.com/agentgraph/agentgraph/internal/feed"
	"github.com/agentgraph/agentgraph/internal/gqlws"
	"github.com/agentgraph/agentgraph/internal/httpx"
	"github.com/agentgraph/agentgraph/internal/integrations"
	"github.com/agentgraph/agentgraph/internal/jobs"
	"github.com/agentgraph/agentgraph/internal/knowledge"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/migrate"
	"github.com/agentgraph/agentgraph/internal/playground"
	"github.com/agentgraph/agentgraph/internal/profile"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/ratelimit"
	"github.com/agentgraph/agentgraph/internal/requestid"
	"github.com/agentgraph/agentgraph/internal/spend"
	"github.com/agentgraph/agentgraph/internal/store"
)

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv); err != nil {
		// One line, no stack: a misconfigured server should say what to fix.
		fmt.Fprintln(os.Stderr, "agentgraph:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	tuneGC(ctx, getenv)
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg)
	case "migrate":
		return migrateWithRetry(ctx, cfg.DatabaseURL)
	case "token":
		return mintToken(cfg, args, os.Stdout)
	case "seed":
		return seedDemo(ctx, cfg, args)
	case "reseal":
		return reseal(ctx, cfg)
	}
	return fmt.Errorf("unknown command %q (commands: serve, migrate, seed, token, reseal)", cmd)
}

// serve migrates, wires everything and serves until ctx ends.
func serve(ctx context.Context, cfg config.Config) error {
	var dev *devmode.Identity
	if cfg.DevMode() {
		id, err := devmode.Load(cfg.DevFile)
		if err != nil {
			return err
		}
		dev, cfg.JWTSecret = &id, id.Secret
	}
	if err := migrateWithRetry(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	pool, bgPool, err := openPools(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	defer bgPool.Close()

	// Never closed: it lives as long as the process, and closing its token
	// cache while a socket that outlived the shutdown still authenticates
	// would panic in ristretto.
	verifier, err := auth.NewVerifier(ctx, auth.Options{HS256Secret: []byte(cfg.JWTSecret), JWKSURL: cfg.JWKSURL,
		Issuer: cfg.JWTIssuer})
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	apq, err := cache.NewStrings(32 << 20)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	defer apq.Close()

	st := store.New(pool)
	linked := integrations.New(st, integrations.Options{Keys: cfg.TokenKeys, OAuth: cfg.OAuth, Logger: slog.Default()})
	if !linked.Enabled() {
		slog.Warn("no TOKEN_ENCRYPTION_KEY is set: integrations are disabled (connectIntegration answers " +
			"INTEGRATIONS_DISABLED; nothing is stored)")
	}
	bg := store.New(bgPool) // background work: its own connections, as service_role
	hub := pubsub.New(bgPool, pubsub.Options{Logger: slog.Default(), Resolve: bg.EventRows})
	llmClient := llm.New(cfg.LLM)
	budgets := spend.New(bg, cfg.MonthlyBudgetCents) // replies and embeddings stop at the user's budget
	replies := chat.NewWorker(bg, llmClient, hub, slog.Default(), chat.Limits{MaxReplyTokens: cfg.MaxReplyTokens,
		PerUser: cfg.RepliesPerUser, Spend: budgets})
	index, err := knowledge.NewEngine(bg, llmClient, cfg.Knowledge, slog.Default())
	if err != nil {
		return err
	}
	defer index.Close()
	index.SetSpend(budgets)
	replies.SetRetriever(index)
	slog.Info("knowledge search", "mode", index.Mode(), "embedding_model", cfg.Knowledge.EmbeddingModel)
	workers := river.NewWorkers()
	river.AddWorker(workers, replies)
	index.Workers(workers)
	jobClient, err := jobs.New(bgPool, jobs.Config{Workers: workers,
		Queues:      map[string]int{chat.Queue: cfg.ReplyWorkers, knowledge.Queue: knowledgeWorkers},
		RescueAfter: max(replies.RescueAfter(), index.RescueAfter()), Logger: slog.Default()})
	if err != nil {
		return err
	}
	httpx.RegisterHub(hub)
	httpx.RegisterStore(store.Retries)
	// The hub outlives the signal: subscribers here keep receiving while
	// replies in flight finish during the shutdown grace period.
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHub()
	hubDone := make(chan error, 1)
	go func() { hubDone <- hub.Run(hubCtx) }()
	// Jobs too outlive the signal: Stop below lets replies in flight end.
	if err := jobClient.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	resolver := &graph.Resolver{
		Store:     st,
		Agents:    agents.New(st, cfg.DefaultModel, cfg.LLM.Prices),
		Knowledge: knowledge.New(st, index, jobClient),
		Profile:   profile.New(st),
		Chat:      chat.New(st, replies, jobClient),
		Feed:      feed.New(st),
		Spend:     spend.New(st, cfg.MonthlyBudgetCents),
		Hub:       hub,

		Integrations: linked,
	}
	mux := http.NewServeMux()
	rates, err := ratelimit.New(cfg.Rates)
	if err != nil {
		return err
	}
	defer rates.Close()
	opts := graph.Options{Verifier: verifier, LoaderWait: cfg.LoaderWait, APQCache: apq, Limits: &cfg.Limits,
		RateLimiter: rates}
	sockets := graph.Sockets(verifier, httpx.OriginChecker(cfg.AllowedOrigins),
		graph.SocketQuotas{Operations: cfg.SocketOperations, Subscriptions: cfg.SocketSubscriptions, PerUser: cfg.SocketsPerUser})
	httpx.RegisterSockets(sockets.Open)
	opts.Sockets = sockets
	mux.Handle("/query", graph.NewHandler(resolver, opts))
	pg := playground.Options{Endpoint: "/query"}
	if dev != nil {
		// Each page load gets a fresh token of the demo user: dev mode only,
		// where the secret sits in a local file anyway.
		pg.Token = func() (string, error) { return devmode.Token(dev.Secret, dev.User, devmode.DefaultTTL, cfg.JWTIssuer) }
	}
	playground.Register(mux, pg)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := pool.Ping(ctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		select {
		case <-hub.Ready():
		default:
			// Not yet listening: subscribers here would miss events.
			http.Error(w, "event listener not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", promhttp.Handler())
	} else if err := serveMetrics(cfg.MetricsAddr); err != nil {
		return err
	}

	srv := &http.Server{
		Handler: httpx.Deadlines(readTimeout, cfg.Limits.Timeout+writeSlack,
			requestid.Middleware(httpx.CORS(cfg.AllowedOrigins, httpx.Metrics(mux)))),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	if cfg.PprofAddr != "" {
		if err := servePprof(cfg.PprofAddr); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.Port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	slog.Info("serving", "addr", ln.Addr().String(), "graphiql", fmt.Sprintf("http://localhost:%d/", port))
	if dev != nil {
		// A fresh clone shows something at once: the demo user gets the
		// demo data on the first start (when it has no agent yet).
		if err := seedFirstStart(ctx, st, jobClient, cfg, dev.User); err != nil {
			slog.Warn("dev mode: demo data not seeded (go run . seed retries)", "err", err)
		}
		tok, err := devmode.Token(dev.Secret, dev.User, devmode.DefaultTTL, cfg.JWTIssuer)
		if err != nil {
			return err
		}
		devmode.Banner(os.Stdout, port, cfg.DevFile, *dev, tok)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("shutting down")
	err = shutdown(ctx, cfg, srv, replies, jobClient, sockets)
	stopHub()
	<-hubDone
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// shutdown stops taking work, then lets work in flight end, each on its own
// clock: HTTP requests drain within cfg.ShutdownTimeout while, alongside,
// replies in flight get cfg.ReplyDrain to finish (a reply still running then
// is cut and stays a job: the next instance generates it anew). Only then do
// sockets close with 1001, so subscribers receive the replies that finished.
// Mutations sent over a socket meanwhile still commit their jobs; River here
// fetches no new ones, so another instance (or this one's successor) runs them.
func shutdown(ctx context.Context, cfg config.Config, srv *http.Server, replies *chat.Worker, jc *jobs.Client,
	sockets *gqlws.Transport) error {
	httpDone := make(chan error, 1)
	go func() {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		httpDone <- srv.Shutdown(hctx)
	}()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ReplyDrain)
	replies.Shutdown(rctx, jc)
	cancel()
	// Going away (1001), not a completed subscription: clients reconnect
	// and resubscribe, to another instance.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), socketCloseWait)
	sockets.Shutdown(wctx)
	cancel()
	return <-httpDone
}

// openPools opens the pool serving requests and the background pool, whose
// connections act as service_role (set once per connection: background
// work is never a user's).
func openPools(ctx context.Context, cfg config.Config) (api, bg *pgxpool.Pool, err error) {
	apiCfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("database: %w", err)
	}
	apiCfg.MaxConns = cfg.APIConns
	apiCfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		store.RegisterTypes(c.TypeMap())
		return nil
	}
	bgCfg := apiCfg.Copy()
	bgCfg.MaxConns = cfg.BackgroundConns
	bgCfg.MinConns = 0
	bgCfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		store.RegisterTypes(c.TypeMap())
		_, err := c.Exec(ctx, `set role service_role`)
		return err
	}
	if api, err = pgxpool.NewWithConfig(ctx, apiCfg); err != nil {
		return nil, nil, fmt.Errorf("database: %w", err)
	}
	if bg, err = pgxpool.NewWithConfig(ctx, bgCfg); err != nil {
		api.Close()
		return nil, nil, fmt.Errorf("database: %w", err)
	}
	return api, bg, nil
}

// servePprof serves the runtime profiles on addr, apart from the API: a
// profile shows internals, so it is never on the public port.
func servePprof(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("PPROF_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	slog.Info("serving profiles", "addr", ln.Addr().String())
	go func() { _ = http.Serve(ln, mux) }() // lives as long as the process
	return nil
}

// serveMetrics serves /metrics on addr (METRICS_ADDR), apart from the API,
// so that it can stay on a private network.
func serveMetrics(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.Handler())
	slog.Info("serving metrics", "addr", ln.Addr().String())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // lives as long as the process
	return nil
}

// Deadlines of plain HTTP requests (httpx.Deadlines; WebSocket upgrades
// have none): readTimeout to send the body, the request's TIMEOUT plus
// writeSlack to be answered.
const (
	readTimeout = 15 * time.Second
	writeSlack  = 10 * time.Second
)

// knowledgeWorkers is how many index jobs (one per user with pending
// entries, each embedding batches of entries) run at once on one instance.
const knowledgeWorkers = 4

// socketCloseWait bounds the wait for clients to answer the sockets' close
// at shutdown.
const socketCloseWait = 2 * time.Second

// migrateWithRetry applies pending migrations, retrying while the database is
// unreachable (it may still be starting next to us), then gives up with one
// clear error.
func migrateWithRetry(ctx context.Context, url string) error {
	const attempts = 6
	delay := 500 * time.Millisecond
	var err error
	for i := 1; i <= attempts; i++ {
		if err = migrate.Up(ctx, url); err == nil {
			return nil
		}
		if i == attempts || ctx.Err() != nil {
			break
		}
		slog.Warn("database not ready, retrying", "attempt", i, "in", delay, "err", err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
		delay *= 2
	}
	return fmt.Errorf("database unreachable or migration failed after %d attempts: %v", attempts, err)
}

// reseal seals every integration's tokens again under the newest key of
// TOKEN_ENCRYPTION_KEYS, in batches (README, "Rotating the token key"). It is
// safe while servers run and resumable: stopped anywhere, running it again
// finishes the job. Rows that open under no configured key are listed by id
// and make it exit 1, since dropping the old key would lose them.
func reseal(ctx context.Context, cfg config.Config) error {
	if cfg.TokenKeys == nil {
		return errors.New("reseal needs the keys: set TOKEN_ENCRYPTION_KEYS to the new key, then the old ones")
	}
	pool, err := migratedPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc := integrations.New(store.New(pool), integrations.Options{Keys: cfg.TokenKeys, OAuth: cfg.OAuth, Logger: slog.Default()})
	slog.Info("resealing integration tokens", "key_id", cfg.TokenKeys.Current())
	done, err := svc.Reseal(ctx, integrations.DefaultResealBatch, func(p integrations.ResealProgress) {
		slog.Info("resealed", "rows", p.Resealed, "unreadable", len(p.Unreadable))
	})
	if err != nil {
		return fmt.Errorf("reseal stopped after %d rows (run it again to finish): %w", done.Resealed, err)
	}
	if len(done.Unreadable) > 0 {
		return fmt.Errorf("resealed %d rows; %d open under no configured key and were left as they are (ids %v): "+
			"keep their key in TOKEN_ENCRYPTION_KEYS, or have those users reconnect", done.Resealed, len(done.Unreadable), done.Unreadable)
	}
	slog.Info("reseal done", "rows", done.Resealed, "key_id", cfg.TokenKeys.Current())
	return nil
}
