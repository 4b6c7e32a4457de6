package wsbench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// fanoutConfig sizes TestFanoutLoad.
type fanoutConfig struct {
	conns, users int
	phases       []phase
	// idle is how long the sockets sit subscribed before memory is read.
	idle time.Duration
	// openers is how many sockets are being opened at a time.
	openers int
	// distinctOps gives every socket an operation of its own name, so that
	// no two sockets share an event's execution (the server executes an
	// event once per operation and user): the cost of a user with one
	// socket, times 10,000.
	distinctOps bool
}

// phase is a way of publishing events. A round is one event per user, users
// in turn.
type phase struct {
	name   string
	rounds int
	// gap is the time between two events' publish starts (0: back to back).
	gap time.Duration
	// waitEach waits for every frame of an event before publishing the next.
	waitEach bool
	// waitRound waits for every frame of a round, then pauses.
	waitRound bool
	pause     time.Duration
}

const feedSubscription = `subscription { feedEventAdded { id type } }`

// TestFanoutLoad measures one server instance holding 10,000 feedEventAdded
// subscriptions (AGENTGRAPH_LOADTEST_CONNS) of 100 users
// (AGENTGRAPH_LOADTEST_USERS), one socket per subscription, with each
// WebSocket library (subtests gorilla and coder, each a fresh process on a
// fresh database):
//
//   - memory: server RSS (and Go heap, stacks, goroutines from /metrics)
//     before the sockets and after they have been subscribed and idle for 5s,
//     per socket;
//   - latency: events are inserted into feed_events and published with
//     pubsub.Notify in one batch (one implicit transaction) by a superuser
//     connection of this process. Latency is the time a client read the
//     event's frame minus the time the commit returned to the publisher, for
//     every socket and event; every socket must get every event of its user
//     exactly once. An event reaches the 100 sockets of its user. Phases:
//     "single", one event at a time (each waits for its frames: latency
//     without queueing); "paced N/s", N events per second, users in turn
//     (at 100/s every socket gets an event a second: 10,000 frames/s);
//     "burst", rounds of one event per user committed back to back (10,000
//     frames at once), each round waiting for its frames, then 250ms of
//     pause (AGENTGRAPH_LOADTEST_ROUNDS rounds, 50).
//
// AGENTGRAPH_LOADTEST_PAUSE (a duration) holds the idle sockets that long
// before publishing, to look at the server from outside.
// AGENTGRAPH_LOADTEST_DISTINCT_OPS=1 gives each socket an operation of its
// own name, so that the server executes every frame (it executes an event
// once per user and operation, and here a user has 100 sockets).
//
// Clients and server share the machine's cores: the latencies include the
// clients' own reading.
func TestFanoutLoad(t *testing.T) {
	requireLoadTest(t)
	cfg := fanoutConfig{
		conns: envInt(t, "AGENTGRAPH_LOADTEST_CONNS", 10000),
		users: envInt(t, "AGENTGRAPH_LOADTEST_USERS", 100),
		phases: []phase{
			{name: "single", rounds: 2, gap: 20 * time.Millisecond, waitEach: true},
			{name: "paced 10/s", rounds: 1, gap: 100 * time.Millisecond},
			{name: "paced 25/s", rounds: 2, gap: 40 * time.Millisecond},
			{name: "paced 50/s", rounds: 4, gap: 20 * time.Millisecond},
			// Every socket gets an event a second, then one and a half.
			{name: "paced 100/s", rounds: 10, gap: 10 * time.Millisecond},
			{name: "paced 150/s", rounds: 12, gap: time.Second / 150},
			{name: "burst", rounds: envInt(t, "AGENTGRAPH_LOADTEST_ROUNDS", 50), waitRound: true, pause: 250 * time.Millisecond},
		},
		idle:        5 * time.Second,
		openers:     200,
		distinctOps: os.Getenv("AGENTGRAPH_LOADTEST_DISTINCT_OPS") == "1",
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if need := uint64(cfg.conns + 1000); rl.Cur < need {
		t.Fatalf("open file limit %d (hard %d) is too low for %d sockets: need %d", rl.Cur, rl.Max, cfg.conns, need)
	}
	t.Logf("%d sockets, %d users; %d CPUs, GOMAXPROCS %d (server: its default)",
		cfg.conns, cfg.users, runtime.NumCPU(), runtime.GOMAXPROCS(0))

	var results []*fanoutResult
	for _, impl := range transports() {
		t.Run(impl, func(t *testing.T) {
			results = append(results, runFanout(t, impl, cfg))
		})
	}
	if len(results) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("\n| | " + strings.Join(implNames(results), " | ") + " |\n|---|" + strings.Repeat("---|", len(results)) + "\n")
	row := func(name string, f func(r *fanoutResult) string) {
		b.WriteString("| " + name + " |")
		for _, r := range results {
			b.WriteString(" " + f(r) + " |")
		}
		b.WriteString("\n")
	}
	row(fmt.Sprintf("open %d sockets", cfg.conns), func(r *fanoutResult) string { return r.openDur.Round(time.Millisecond).String() })
	row("RSS before → idle", func(r *fanoutResult) string { return mib(r.rssBefore) + " → " + mib(r.rssIdle) })
	row("RSS per idle socket", func(r *fanoutResult) string { return kib(r.perConn(r.rssIdle - r.rssBefore)) })
	row("Go heap in use per socket", func(r *fanoutResult) string { return kib(r.perConn(r.heapIdle - r.heapBefore)) })
	row("goroutine stacks per socket", func(r *fanoutResult) string { return kib(r.perConn(r.stackIdle - r.stackBefore)) })
	row("goroutines per socket", func(r *fanoutResult) string {
		return fmt.Sprintf("%.2f", float64(r.goroutinesIdle-r.goroutinesBefore)/float64(r.conns))
	})
	for i, ph := range cfg.phases {
		row(ph.name+": p50 / p99 / max", func(r *fanoutResult) string { return triple(r.phases[i].lat) })
	}
	for i, ph := range cfg.phases {
		row(ph.name+": CPU per frame, server / clients", func(r *fanoutResult) string {
			return fmt.Sprintf("%.0f / %.0f µs", r.phases[i].cpuPerFrame, r.phases[i].clientCPUPerFrame)
		})
	}
	row("burst: round (first commit → last frame), median", func(r *fanoutResult) string { return ms(r.roundMedian) })
	row("commit of insert+notify p50 / p99", func(r *fanoutResult) string { return ms(r.commit.p50) + " / " + ms(r.commit.p99) })
	row("RSS after load", func(r *fanoutResult) string { return mib(r.rssAfter) })
	row("missing / duplicate frames", func(r *fanoutResult) string { return fmt.Sprintf("%d / %d", r.missing, r.dups) })
	t.Logf("summary:%s", b.String())
}

func implNames(rs []*fanoutResult) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.impl)
	}
	return out
}

func triple(s summary) string { return ms(s.p50) + " / " + ms(s.p99) + " / " + ms(s.max) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

// fanoutResult is what one run measured.
type fanoutResult struct {
	impl  string
	conns int

	openDur                          time.Duration
	rssBefore, rssIdle, rssAfter     int64
	heapBefore, heapIdle             int64
	stackBefore, stackIdle           int64
	goroutinesBefore, goroutinesIdle int64
	goroutinesClosed                 int64
	phases                           []phaseResult
	commit                           summary
	roundMedian                      time.Duration
	missing, dups, unknown, slow     int64
}

type phaseResult struct {
	lat               summary
	cpuPerFrame       float64       // µs of server CPU per frame delivered
	clientCPUPerFrame float64       // µs of this process's CPU (clients, publisher) per frame
	start, wall       time.Duration // start: since the server process started
	events            int
}

func (r *fanoutResult) perConn(bytes int64) float64 { return float64(bytes) / float64(r.conns) }

// fanClient is one socket and what it received: recv[round] is when the
// round's event arrived, in ns since the run's base time (0: not yet).
type fanClient struct {
	conn *websocket.Conn
	user int
	recv []int64
}

func runFanout(t *testing.T, impl string, cfg fanoutConfig) *fanoutResult {
	res := &fanoutResult{impl: impl, conns: cfg.conns, phases: make([]phaseResult, len(cfg.phases))}
	ctx := t.Context()
	dbURL := testdb.URL(t)
	// 100 tabs a user, all subscribing at once: the quota and the rate of new
	// subscriptions are the benchmark's to set, not the defaults' to refuse.
	env := map[string]string{"SOCKETS_PER_USER": strconv.Itoa(cfg.conns/cfg.users + 1), "RATE_SUBSCRIPTIONS": "0"}
	for k, v := range transportEnv(impl) {
		env[k] = v
	}
	srv := startServer(t, dbURL, env)

	users := make([]uuid.UUID, cfg.users)
	tokens := make([]string, cfg.users)
	perUser := make([]int64, cfg.users) // sockets of each user
	for i := range users {
		users[i] = uuid.New()
		tokens[i] = token(users[i])
	}
	for i := range cfg.conns {
		perUser[i%cfg.users]++
	}
	// Round 0 is a warm-up that proves every socket is subscribed; phase p
	// has rounds [firstRound[p], firstRound[p+1]).
	firstRound := []int{1}
	for _, ph := range cfg.phases {
		firstRound = append(firstRound, firstRound[len(firstRound)-1]+ph.rounds)
	}
	rounds := firstRound[len(firstRound)-1]
	ids := make([][]uuid.UUID, rounds)
	roundOf := make(map[string]int32, rounds*cfg.users)
	for r := range ids {
		ids[r] = make([]uuid.UUID, cfg.users)
		for u := range ids[r] {
			ids[r][u] = uuid.New()
			roundOf[ids[r][u].String()] = int32(r)
		}
	}
	base := time.Now()
	since := func() int64 { return int64(time.Since(base)) }

	time.Sleep(time.Second) // let the fresh process settle
	m := srv.metrics()
	res.rssBefore = srv.rss()
	res.heapBefore, res.stackBefore = int64(m["go_memstats_heap_inuse_bytes"]), int64(m["go_memstats_stack_inuse_bytes"])
	res.goroutinesBefore = int64(m["go_goroutines"])

	// Open the sockets, cfg.openers at a time.
	clients := make([]*fanClient, cfg.conns)
	conns := make([]*websocket.Conn, cfg.conns)
	var (
		delivered, dups, unknown atomic.Int64
		errMu                    sync.Mutex
		firstErr                 error
		errCount                 atomic.Int64
		readers                  sync.WaitGroup
	)
	fail := func(err error) {
		errCount.Add(1)
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
	}
	// Runs before the server is stopped (cleanups run last-in first-out), also
	// when the test fails half-way.
	t.Cleanup(func() {
		closeAll(conns)
		readers.Wait()
	})

	start := time.Now()
	jobs := make(chan int)
	var openers sync.WaitGroup
	var connsMu sync.Mutex
	for range cfg.openers {
		openers.Go(func() {
			for i := range jobs {
				c := &fanClient{user: i % cfg.users, recv: make([]int64, rounds)}
				query := feedSubscription
				if cfg.distinctOps {
					query = fmt.Sprintf(`subscription S%d { feedEventAdded { id type } }`, i)
				}
				conn, err := openSubscription(ctx, srv.ws, tokens[c.user], query, nil)
				if err != nil {
					fail(fmt.Errorf("socket %d: %w", i, err))
					continue
				}
				c.conn = conn
				connsMu.Lock()
				clients[i], conns[i] = c, conn
				connsMu.Unlock()
				readers.Go(func() {
					err := readLoop(conn, func(p json.RawMessage, at time.Time) {
						var msg struct {
							Data struct {
								FeedEventAdded struct{ ID string } `json:"feedEventAdded"`
							} `json:"data"`
							Errors json.RawMessage `json:"errors"`
						}
						if err := json.Unmarshal(p, &msg); err != nil || len(msg.Errors) > 0 {
							fail(fmt.Errorf("bad next %s (%v)", p, err))
							return
						}
						r, ok := roundOf[msg.Data.FeedEventAdded.ID]
						switch {
						case !ok:
							unknown.Add(1)
						case c.recv[r] != 0:
							dups.Add(1)
						default:
							c.recv[r] = int64(at.Sub(base))
						}
						delivered.Add(1)
					})
					if err != nil {
						fail(fmt.Errorf("socket %d: %w", i, err))
					}
				})
			}
		})
	}
	for i := range cfg.conns {
		if errCount.Load() > 0 {
			break
		}
		jobs <- i
	}
	close(jobs)
	openers.Wait()
	res.openDur = time.Since(start)
	if firstErr != nil {
		t.Fatalf("opening sockets: %d errors, first: %v", errCount.Load(), firstErr)
	}
	t.Logf("%s: %d sockets open and subscribed in %s", impl, cfg.conns, res.openDur.Round(time.Millisecond))

	time.Sleep(cfg.idle)
	m = srv.metrics()
	res.rssIdle = srv.rss()
	res.heapIdle, res.stackIdle = int64(m["go_memstats_heap_inuse_bytes"]), int64(m["go_memstats_stack_inuse_bytes"])
	res.goroutinesIdle = int64(m["go_goroutines"])
	t.Logf("%s idle: RSS %s → %s (%s per socket); Go heap in use %s → %s; stacks %s → %s; goroutines %d → %d",
		impl, mib(res.rssBefore), mib(res.rssIdle), kib(res.perConn(res.rssIdle-res.rssBefore)),
		mib(res.heapBefore), mib(res.heapIdle), mib(res.stackBefore), mib(res.stackIdle),
		res.goroutinesBefore, res.goroutinesIdle)
	if os.Getenv("AGENTGRAPH_LOADTEST_PAUSE") != "" {
		t.Logf("pausing %s for inspection (server pid %d)", os.Getenv("AGENTGRAPH_LOADTEST_PAUSE"), srv.cmd.Process.Pid)
		d, _ := time.ParseDuration(os.Getenv("AGENTGRAPH_LOADTEST_PAUSE"))
		time.Sleep(d)
	}

	// The publisher: a superuser connection, as the server's own writes are.
	pub, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(context.WithoutCancel(ctx))
	commits := make([][]int64, rounds) // [round][user], ns since base
	sent := make([]int64, rounds)      // when the round's first publish started
	for r := range commits {
		commits[r] = make([]int64, cfg.users)
	}
	var commitDur []time.Duration
	var expected int64 // frames due so far
	publish := func(r, u int) {
		b := &pgx.Batch{}
		b.Queue(`insert into feed_events (id, user_id, type, message) values ($1, $2, 'bench', 'load test event')`,
			ids[r][u], users[u])
		if err := pubsub.Notify(b, pubsub.Event{Kind: pubsub.KindFeed, UserID: users[u], ID: ids[r][u].String()}); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if u == 0 {
			sent[r] = since()
		}
		if err := pub.SendBatch(ctx, b).Close(); err != nil {
			t.Fatalf("publish: %v", err)
		}
		commits[r][u] = since()
		commitDur = append(commitDur, time.Since(t0))
		expected += perUser[u]
	}
	// waitAll waits until every frame due has arrived.
	waitAll := func(what string) {
		deadline := time.Now().Add(30 * time.Second)
		for delivered.Load() < expected {
			if time.Now().After(deadline) || errCount.Load() > 0 {
				t.Fatalf("%s: %d of %d frames arrived (%d client errors, first: %v)",
					what, delivered.Load(), expected, errCount.Load(), firstErr)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}

	// Warm-up: every socket must get its user's event.
	for u := range users {
		publish(0, u)
	}
	waitAll("warm-up")
	commitDur = commitDur[:0]
	time.Sleep(500 * time.Millisecond)

	var roundDurs []time.Duration
	for p, ph := range cfg.phases {
		cpu0, self0, t0 := srv.cpu(), selfCPU(), time.Now()
		k := 0
		for r := firstRound[p]; r < firstRound[p+1]; r++ {
			for u := range users {
				if ph.gap > 0 {
					if d := time.Until(t0.Add(time.Duration(k) * ph.gap)); d > 0 {
						time.Sleep(d)
					}
				}
				k++
				publish(r, u)
				if ph.waitEach {
					waitAll(ph.name)
				}
			}
			if ph.waitRound {
				waitAll(ph.name)
				roundDurs = append(roundDurs, time.Duration(since()-sent[r]))
				time.Sleep(ph.pause)
			}
		}
		waitAll(ph.name)
		pr := &res.phases[p]
		pr.start = t0.Sub(srv.started)
		pr.wall = time.Since(t0)
		pr.events = k
		frames := int64(ph.rounds) * int64(cfg.conns)
		pr.cpuPerFrame = float64(srv.cpu()-cpu0) / 1e3 / float64(frames)
		pr.clientCPUPerFrame = float64(selfCPU()-self0) / 1e3 / float64(frames)
		time.Sleep(500 * time.Millisecond)
	}
	res.rssAfter = srv.rss()

	// Clients leave; the server must let go of every socket.
	closeAll(conns)
	readers.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res.goroutinesClosed = int64(srv.metrics()["go_goroutines"])
		if res.goroutinesClosed <= res.goroutinesBefore+20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res.goroutinesClosed > res.goroutinesBefore+20 {
		t.Errorf("%s: %d server goroutines 15s after the clients left (%d before they came)",
			impl, res.goroutinesClosed, res.goroutinesBefore)
	}
	res.slow = int64(srv.countLog("ending slow subscription"))

	// Latencies. The readers wrote recv before readers.Wait returned.
	for p, ph := range cfg.phases {
		var lat []time.Duration
		for r := firstRound[p]; r < firstRound[p+1]; r++ {
			for _, c := range clients {
				if at := c.recv[r]; at == 0 {
					res.missing++
				} else {
					lat = append(lat, time.Duration(at-commits[r][c.user]))
				}
			}
		}
		pr := &res.phases[p]
		pr.lat = summarize(lat)
		t.Logf("%s %s (from %.1fs of server time): %d events in %s (%.0f events/s, %.0f frames/s); latency %v; CPU per frame: server %.1f µs, clients %.1f µs",
			impl, ph.name, pr.start.Seconds(), pr.events, pr.wall.Round(time.Millisecond), float64(pr.events)/pr.wall.Seconds(),
			float64(pr.events)*float64(cfg.conns)/float64(cfg.users)/pr.wall.Seconds(), pr.lat, pr.cpuPerFrame, pr.clientCPUPerFrame)
	}
	res.dups, res.unknown = dups.Load(), unknown.Load()
	res.commit = summarize(commitDur)
	if len(roundDurs) > 0 {
		slices.Sort(roundDurs)
		res.roundMedian = roundDurs[len(roundDurs)/2]
		t.Logf("%s burst rounds (first publish → last frame): median %s, max %s", impl, ms(res.roundMedian), ms(roundDurs[len(roundDurs)-1]))
	}
	t.Logf("%s commit of insert+notify: %v; RSS after load %s; goroutines after the clients left %d",
		impl, res.commit, mib(res.rssAfter), res.goroutinesClosed)
	if res.missing > 0 || res.dups > 0 || res.unknown > 0 || res.slow > 0 || errCount.Load() > 0 {
		t.Errorf("%s: missing %d, duplicate %d, unknown %d frames; %d slow subscriptions ended; %d client errors (first: %v)",
			impl, res.missing, res.dups, res.unknown, res.slow, errCount.Load(), firstErr)
	}
	return res
}
