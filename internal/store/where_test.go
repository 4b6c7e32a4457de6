package store

import (
	"testing"
	"time"

	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/page"
)

// Each combination of conditions is its own statement text, its arguments
// numbered in order, the limit last.
func TestAgentPageStatements(t *testing.T) {
	t.Parallel()
	status, typ := domain.AgentStatusActive, domain.AgentTypeCode
	at := time.UnixMicro(1)
	for _, c := range []struct {
		f    AgentFilter
		a    page.Args
		sql  string
		args int
	}{
		{AgentFilter{}, page.Args{Size: 10}, `select id from agents where status <> 'destroyed' order by created_at, id limit $1`, 1},
		{AgentFilter{Status: &status, Type: &typ}, page.Args{Size: 10, After: &page.Cursor{At: at, ID: "x"}},
			`select id from agents where status = $1 and agent_type = $2 and (created_at, id) > ($3, $4::uuid) order by created_at, id limit $5`, 5},
	} {
		sql, args := agentPage("id", c.f, c.a, c.a.Size)
		if sql != c.sql || len(args) != c.args || args[len(args)-1] != c.a.Size {
			t.Errorf("%+v: %s %v, want %s", c.f, sql, args, c.sql)
		}
	}
}
