package main

// examples/web, the React + Apollo Client app of the README, against the
// real server with the LLM stand-in: built with Vite, served by `vite
// preview` and driven in headless Chromium by e2e/web.test.mjs.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

func TestWebExampleInBrowser(t *testing.T) {
	t.Parallel()
	requireChromium(t)
	buildWebExample(t)

	llm := llmtest.NewServer(t)
	chunks := []string{"Today: ", "a stand-up ", "at ten, ", "then reviews ", "until noon."}
	llm.SetHandler(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Chunks: chunks, Delay: 150 * time.Millisecond}
	})
	srv := startServer(t, serverConfig{dbURL: testdb.URL(t), llmURL: llm.URL()})
	tok := hourToken(uuid.New())
	const name = "Planner"
	agent := srv.createAgent(t, tok, name, "")
	// Six agents: the app shows five, then the sixth on "Load more".
	for i := 1; i <= 5; i++ {
		srv.createAgent(t, tok, fmt.Sprintf("Helper %d", i), "")
	}

	shot := screenshotPath(t, "web-example.png")
	var reply string
	for _, c := range chunks {
		reply += c
	}
	runNode(t, 60*time.Second, "web.test.mjs", "SERVER_URL="+srv.base, "TOKEN="+tok,
		"AGENT_NAME="+name, "AGENT_ID="+agent, "AGENT_COUNT=6", "EXPECTED_REPLY="+reply, "SCREENSHOT="+shot)
	t.Logf("screenshot: %s", shot)
}

// buildWebExample builds examples/web into its dist/, installing its locked
// packages first when they are missing (.ci/test.sh installs them).
func buildWebExample(t *testing.T) {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("examples/web needs npm on PATH: %v", err)
	}
	dir := filepath.Join("examples", "web")
	run := func(within time.Duration, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, args...)
		cmd.Dir = dir
		cmd.WaitDelay = 5 * time.Second
		if err := streamToLog(t, cmd, "npm"); err != nil {
			t.Fatalf("npm %v in %s: %v", args, dir, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "vite", "package.json")); err != nil {
		run(5*time.Minute, "ci", "--no-audit", "--no-fund")
	}
	run(2*time.Minute, "run", "--silent", "build")
}
