package wsbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/testauth"
)

// loadTestEnv must be "1" for the load drivers to run.
const loadTestEnv = "AGENTGRAPH_LOADTEST"

// jwtSecret is the HS256 secret the benchmarked server verifies tokens with.
const jwtSecret = "wsbench-secret-wsbench-secret-wsbench!"

// requireLoadTest skips t unless the load drivers were asked for, or on a
// system without /proc.
func requireLoadTest(t *testing.T) {
	t.Helper()
	if os.Getenv(loadTestEnv) != "1" {
		t.Skipf("load test: set %s=1 to run it (minutes, 10,000 sockets)", loadTestEnv)
	}
	if runtime.GOOS != "linux" {
		t.Skip("load test: Linux only (reads /proc)")
	}
}

// envInt reads a positive integer setting, def when unset.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s must be a positive integer, got %q", name, v)
	}
	return n
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// logsEnv names a directory to keep each server's log in (its stderr: with
// GODEBUG=gctrace=1 in the environment, the server's GC cycles).
const logsEnv = "AGENTGRAPH_LOADTEST_LOGS"

// serverEnv names a prebuilt server binary to benchmark instead of building
// this tree (another revision, a build with other flags).
const serverEnv = "AGENTGRAPH_LOADTEST_SERVER"

// compareEnv names a server binary built from a revision that still had
// gqlgen's own WebSocket transport (WEBSOCKET_IMPL gorilla or coder; the last
// is commit df55e4d), to measure it next to this tree's transport. Production
// has one transport (internal/gqlws); the comparison lives here only.
const compareEnv = "AGENTGRAPH_LOADTEST_COMPARE_SERVER"

// transports lists the transports a load test measures: this tree's, and
// gqlgen's on gorilla and on coder when compareEnv names a binary with them.
func transports() []string {
	if os.Getenv(compareEnv) == "" {
		return []string{"gqlws"}
	}
	return []string{"gqlws", "gorilla", "coder"}
}

// transportEnv is the server environment that selects transport impl.
func transportEnv(impl string) map[string]string {
	if impl == "gqlws" {
		return nil
	}
	return map[string]string{"WEBSOCKET_IMPL": impl}
}

// serverBinary builds the server once per test process, into a temporary
// directory removed by TestMain, unless serverEnv names a binary.
func serverBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(serverEnv); p != "" {
		return p
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "wsbench-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "agentgraph")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/agentgraph/agentgraph")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// server is one agentgraph process under test.
type server struct {
	t       *testing.T
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	ws      string // ws://127.0.0.1:port/query
	logPath string
	started time.Time     // when the process was started (GODEBUG=gctrace=1 times count from about then)
	done    chan struct{} // closed once the process has exited
	waitErr error
}

// startServer starts the server binary on databaseURL with env added to the
// environment (PORT, DATABASE_URL and SUPABASE_JWT_SECRET are set here), and
// waits for /readyz. The process is stopped (SIGTERM, then SIGKILL after 20s)
// when t ends, and killed by the kernel if the test process dies first.
func startServer(t *testing.T, databaseURL string, env map[string]string) *server {
	t.Helper()
	port := freePort(t)
	set := map[string]string{
		"PORT":                strconv.Itoa(port),
		"DATABASE_URL":        databaseURL,
		"SUPABASE_JWT_SECRET": jwtSecret,
	}
	for k, v := range env {
		set[k] = v
	}
	// Settings the benchmark does not choose must not leak in from the shell.
	drop := []string{"PORT", "DATABASE_URL", "SUPABASE_", "WEBSOCKET_IMPL", "OPENAI_", "ANTHROPIC_", "GEMINI_",
		"ALLOWED_ORIGINS", "LOADER_WAIT", "LLM_", "DEFAULT_MODEL"}
	var environ []string
next:
	for _, kv := range os.Environ() {
		for _, p := range drop {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		environ = append(environ, kv)
	}
	for k, v := range set {
		environ = append(environ, k+"="+v)
	}

	logPath := filepath.Join(t.TempDir(), "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	bin := serverBinary(t)
	if env["WEBSOCKET_IMPL"] != "" {
		bin = os.Getenv(compareEnv) // only that revision has gqlgen's transports
	}
	cmd := exec.Command(bin)
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = logFile, logFile
	killWithParent(cmd)
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatalf("start server: %v", err)
	}
	s := &server{
		t: t, cmd: cmd, logPath: logPath, started: time.Now(), done: make(chan struct{}),
		base: fmt.Sprintf("http://127.0.0.1:%d", port),
		ws:   fmt.Sprintf("ws://127.0.0.1:%d/query", port),
	}
	go func() {
		s.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(s.done)
	}()
	t.Cleanup(s.stop)

	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("server exited before it was ready: %v\n%s", s.waitErr, s.logTail(30))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 30s\n%s", s.logTail(30))
		}
	}
}

// stop ends the process: SIGTERM, and SIGKILL if it is still there after 20s
// (the server's own shutdown timeout is 15s).
func (s *server) stop() {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			s.t.Logf("server did not stop 20s after SIGTERM: killing it")
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	if s.t.Failed() {
		s.t.Logf("server exit: %v; log tail:\n%s", s.waitErr, s.logTail(40))
	}
	if dir := os.Getenv(logsEnv); dir != "" {
		name := filepath.Join(dir, strings.ReplaceAll(s.t.Name(), "/", "-")+".log")
		if b, err := os.ReadFile(s.logPath); err != nil {
			s.t.Log(err)
		} else if err := os.WriteFile(name, b, 0o644); err != nil {
			s.t.Log(err)
		} else {
			s.t.Logf("server log: %s", name)
		}
	}
}

// logTail returns the last n lines of the server's log.
func (s *server) logTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// countLog counts the server log lines containing sub.
func (s *server) countLog(sub string) int {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return -1
	}
	return bytes.Count(b, []byte(sub))
}

// rss is the server's resident set size in bytes (VmRSS).
func (s *server) rss() int64 {
	s.t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				s.t.Fatal(err)
			}
			return kb << 10
		}
	}
	s.t.Fatal("no VmRSS in /proc status")
	return 0
}

// cpu is the server's user + system CPU time so far.
func (s *server) cpu() time.Duration {
	s.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		s.t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// selfCPU is this process's user + system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// metrics reads the server's Prometheus gauges and counters without labels.
func (s *server) metrics() map[string]float64 {
	s.t.Helper()
	res, err := http.Get(s.base + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.Contains(line, "{") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// token signs an access token for user, as Supabase would, valid for hours.
func token(user uuid.UUID) string {
	return testauth.Token(jwtSecret, user, time.Now().Add(3*time.Hour))
}

// graphQL posts a query over HTTP as the holder of bearer and decodes data
// into out; a GraphQL error is an error.
func graphQL(ctx context.Context, base, bearer, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/query", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return fmt.Errorf("status %d: %w", res.StatusCode, err)
	}
	if len(r.Errors) > 0 {
		return errors.New(r.Errors[0].Message)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(r.Data, out)
}
