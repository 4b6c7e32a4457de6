// Package wsbench holds the WebSocket load benchmarks of agentgraph: drivers
// that build the server binary, start it as a separate process on a fresh
// database and measure it from the outside over loopback, the way clients see
// it. It has no non-test code; the drivers are tests that skip unless
// AGENTGRAPH_LOADTEST=1, so `go test ./...` stays fast:
//
//   - TestFanoutLoad: 10,000 graphql-transport-ws sockets (100 users × 100)
//     subscribed to feedEventAdded, on our transport (and gqlgen's on gorilla
//     and coder when AGENTGRAPH_LOADTEST_COMPARE_SERVER names a binary of a
//     revision that had them, such as df55e4d):
//     server memory per idle connection, and delivery latency from the commit
//     of a feed event to its frame at each client.
//   - TestStreamingLoad: the latency a streamed reply adds per token, from the
//     upstream (OpenAI-compatible) chunk leaving a stand-in provider to its
//     messageStream frame at the client, for 1 and 20 concurrent streams.
//
// Run them with
//
//	AGENTGRAPH_LOADTEST=1 go test -count=1 -run 'FanoutLoad|StreamingLoad' -v -timeout 20m ./internal/wsbench
//
// AGENTGRAPH_LOADTEST_SERVER=/path/to/binary benchmarks a prebuilt server
// instead of building this tree. BENCHMARKS.md has the numbers. Linux only
// (server memory and CPU are read from /proc); they need Postgres at
// 127.0.0.1:5432 (or TEST_DATABASE_URL) and a file descriptor limit of at
// least the number of sockets plus 1,000.
package wsbench
