package main

import (
	"crypto/md5"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/agentgraph/agentgraph/internal/testauth"
)

// The ids the seed gives (seedsql.go): md5 of a name, read as a uuid, which
// is what Postgres' md5(text)::uuid does.
func md5ID(format string, args ...any) uuid.UUID {
	return uuid.UUID(md5.Sum(fmt.Appendf(nil, format, args...)))
}

func userID(u int) uuid.UUID     { return md5ID("user:%d", u) }
func agentID(u, a int) uuid.UUID { return md5ID("agent:%d:%d", u, a) }
func threadID(u, a int) string   { return agentID(u, a).String() + ":direct" }

// benchSecret signs the tokens of the run; both servers verify with it.
const benchSecret = "agentgraph-bench-secret-at-least-32-bytes"

// tokens mints one access token per user, valid long enough for any run.
func tokens() []string {
	out := make([]string, nUsers)
	exp := time.Now().Add(6 * time.Hour)
	for u := range out {
		out[u] = testauth.Token(benchSecret, userID(u), exp)
	}
	return out
}
