package main

// Process-level tests of the first ten minutes (README "Quick start"): dev
// mode's banner, token and stable secret, the `token` command, the
// GraphQL over HTTP audit, and the embedded playground in headless
// Chromium. Node scripts under e2e/ do the client side.

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/devmode"
	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

var bannerToken = regexp.MustCompile(`token \(24h\)\s+(\S+)`)

// Dev mode: no auth settings, and the server prints a token of the demo
// user that works; restarted, it keeps its secret, so the token still
// works; `token` mints others with the same secret.
func TestDevMode(t *testing.T) {
	t.Parallel()
	llm := llmtest.NewServer(t)
	devFile := filepath.Join(t.TempDir(), devmode.DefaultFile)
	db := testdb.URL(t)
	cfg := serverConfig{dbURL: db, llmURL: llm.URL(), devFile: devFile}

	first := startServer(t, cfg)
	m := bannerToken.FindStringSubmatch(first.logs.String())
	if m == nil {
		t.Fatalf("no token in the dev banner:\n%s", first.logs.String())
	}
	tok := m[1]
	id, err := devmode.Load(devFile)
	if err != nil {
		t.Fatal(err)
	}
	viewer := func(s *server, tok string) string {
		t.Helper()
		r := s.must(t, tok, `{ viewer { id } }`, nil)
		return decode[struct{ Viewer struct{ ID string } }](t, r.Data).Viewer.ID
	}
	if got := viewer(first, tok); got != id.User.String() {
		t.Fatalf("the banner's token is user %s, want the demo user %s", got, id.User)
	}
	// The first start seeded the demo user: a fresh clone shows something.
	r := first.must(t, tok, `{ viewer { headAgent { name } } agents(first: 20) { totalCount } }`, nil)
	seeded := decode[struct {
		Viewer struct{ HeadAgent *struct{ Name string } }
		Agents struct{ TotalCount int }
	}](t, r.Data)
	if seeded.Viewer.HeadAgent == nil || seeded.Agents.TotalCount < 5 {
		t.Fatalf("the demo user was not seeded on the first start: %s", r.Data)
	}
	page := getBody(t, first.base+"/")
	if !strings.Contains(page, "&#34;token&#34;") {
		t.Errorf("the playground page carries no dev token:\n%s", page)
	}
	first.stop(t)

	second := startServer(t, cfg)
	if got := viewer(second, tok); got != id.User.String() {
		t.Fatalf("after a restart the first token is user %s, want %s", got, id.User)
	}
	other := uuid.New()
	code, stdout, stderr, _ := runBinary(t, 20*time.Second, []string{"AGENTGRAPH_DEV_FILE=" + devFile},
		"token", "--user", other.String(), "--ttl", "10m")
	if code != 0 {
		t.Fatalf("token exited %d: %s", code, stderr)
	}
	if got := viewer(second, strings.TrimSpace(stdout)); got != other.String() {
		t.Fatalf("a minted token is user %s, want %s", got, other)
	}
}

// Outside dev mode the playground page carries no token.
func TestPlaygroundWithoutDevToken(t *testing.T) {
	t.Parallel()
	llm := llmtest.NewServer(t)
	srv := startServer(t, serverConfig{dbURL: testdb.URL(t), llmURL: llm.URL()})
	page := getBody(t, srv.base+"/")
	if strings.Contains(page, "&#34;token&#34;") || !strings.Contains(page, "/playground/assets/") {
		t.Fatalf("page:\n%s", page)
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	res, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The graphql-http audit (every MUST and SHOULD) against the real server.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	t.Parallel()
	llm := llmtest.NewServer(t)
	srv := startServer(t, serverConfig{dbURL: testdb.URL(t), llmURL: llm.URL()})
	runNode(t, 60*time.Second, "audit.test.mjs", "SERVER_URL="+srv.base, "TOKEN="+hourToken(uuid.New()))
}

// The playground in headless Chromium: a query, then a subscription that
// receives an event; the screenshot is kept for a person to look at.
func TestPlaygroundInBrowser(t *testing.T) {
	t.Parallel()
	requireChromium(t)
	llm := llmtest.NewServer(t)
	devFile := filepath.Join(t.TempDir(), devmode.DefaultFile)
	srv := startServer(t, serverConfig{dbURL: testdb.URL(t), llmURL: llm.URL(), devFile: devFile})
	id, err := devmode.Load(devFile)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := devmode.Token(id.Secret, id.User, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	shot := screenshotPath(t, "playground.png")
	runNode(t, 120*time.Second, "playground.test.mjs", "SERVER_URL="+srv.base, "TOKEN="+tok, "SCREENSHOT="+shot)
	t.Logf("screenshot: %s", shot)
}

// requireChromium fails with the way to get Debian's Chromium (.ci/test.sh
// installs it).
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath()); err != nil {
		t.Fatalf("browser tests need Debian's chromium at %s (apt-get install -y chromium; .ci/test.sh does): %v",
			chromiumPath(), err)
	}
}

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// screenshotPath is where a browser test leaves its screenshot:
// SCREENSHOT_DIR, or agentgraph-screenshots under the temp dir.
func screenshotPath(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "agentgraph-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// runNode runs `node --test e2e/<script>` with env, bounded by within; the
// script's browser is its child and goes with it (WaitDelay).
func runNode(t *testing.T, within time.Duration, script string, env ...string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("%s needs Node.js 20+ on PATH: %v", script, err)
	}
	ensureNodeModules(t)
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", filepath.Join("e2e", script))
	cmd.Env = append(append(os.Environ(), "CHROMIUM_PATH="+chromiumPath()), env...)
	// Its own process group, killed whole on timeout: a browser it
	// started cannot outlive the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := streamToLog(t, cmd, "node"); err != nil {
		if ctx.Err() != nil {
			t.Fatalf("node --test e2e/%s did not finish within %v", script, within)
		}
		t.Fatalf("node --test e2e/%s failed: %v (its output is above)", script, err)
	}
}
