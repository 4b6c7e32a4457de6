package main

import (
	"encoding/json"
	"fmt"
)

// A workload is one page of the app, written once per server in its own
// naming. Both sides select the same columns and the same rows: ids are
// counted in every response (idKey) against want, so a server that answers
// less, or errors, is counted as failing, not as fast.
type workload struct {
	name string
	// body returns the request body for the n-th request; user is the
	// user whose token it carries.
	body  func(n int) (body []byte, user int)
	idKey string // "id" for us; PostGraphile calls the column rowId (id is its node id)
	want  int    // ids in a complete response
}

// pick rotates over every user first, then over agents 0..8 (agent 9's
// thread takes W4's writes, so W2 reads the same rows in every run).
func pick(n int) (user, agent int) { return n % nUsers, (n / nUsers) % w4Agent }

func gqlBody(query string, vars map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		panic(err)
	}
	return b
}

// Ours, as the app asks (agentgraph's schema.graphqls).
const (
	oursW1 = `query W1 { agents(first: 10) { edges { node { id name type status level xp
  skills { id slug name level } trainingData { id type title enabled }
  knowledgeAccess { accessLevel collection { id name } } } } } }`
	oursW2 = `query W2($id: ID!) { thread(id: $id) { id updatedAt
  messages(last: 50) { edges { node { id role content createdAt agent { id name } } } } } }`
	oursW3 = `query W3 { feed(first: 20) { edges { node { id type message createdAt agent { id name } } } } }`
)

// PostGraphile's amber preset names (found by introspection): tables as
// allX, relations as xByY, the id column as rowId. Top-level lists are
// ordered as ours are (agents oldest first, messages and the feed newest
// first; nested lists in primary key order, as the amber preset only orders
// by indexed columns) and filtered by
// the user's id, which also lets Postgres use the same indexes; with RLS the
// policies filter again, as ours do.
const (
	peerW1 = `query W1($u: UUID!) { allAgents(condition: {userId: $u}, orderBy: [CREATED_AT_ASC, ROW_ID_ASC], first: 10) {
  nodes { rowId name agentType status level xp
    agentSkillsByAgentId { nodes { rowId skillSlug skillName level } }
    agentTrainingDataByAgentId { nodes { rowId type title enabled } }
    agentKnowledgeAccessesByAgentId { nodes { accessLevel
      knowledgeCollectionByCollectionId { rowId name } } } } } }`
	peerW2 = `query W2($u: UUID!, $t: String!) { threadByUserIdAndRowId(userId: $u, rowId: $t) { rowId updatedAt }
  allChatMessages(condition: {userId: $u, threadId: $t}, orderBy: [CREATED_AT_DESC, ROW_ID_DESC], first: 50) {
    nodes { rowId role content createdAt agentByAgentId { rowId name } } } }`
	peerW3 = `query W3($u: UUID!) { allFeedEvents(condition: {userId: $u}, orderBy: [CREATED_AT_DESC, ROW_ID_DESC], first: 20) {
  nodes { rowId type message createdAt agentByAgentId { rowId name } } } }`
)

// wantIDs: W1 10 agents × (1 + 5 skills + 5 training rows + 2 collections);
// W2 the thread, its messages (≤ 50) and each message's agent; W3 20 events
// and their agents.
func wantIDs(messages int) [3]int {
	m := min(messages, 50)
	return [3]int{10 * (1 + nSkills + nTraining + nGrants), 1 + 2*m, 2 * 20}
}

func oursWorkloads(messages int) []workload {
	want := wantIDs(messages)
	return []workload{
		{name: "W1", idKey: "id", want: want[0], body: func(n int) ([]byte, int) {
			u, _ := pick(n)
			return gqlBody(oursW1, nil), u
		}},
		{name: "W2", idKey: "id", want: want[1], body: func(n int) ([]byte, int) {
			u, a := pick(n)
			return gqlBody(oursW2, map[string]any{"id": threadID(u, a)}), u
		}},
		{name: "W3", idKey: "id", want: want[2], body: func(n int) ([]byte, int) {
			u, _ := pick(n)
			return gqlBody(oursW3, nil), u
		}},
	}
}

func peerWorkloads(messages int) []workload {
	want := wantIDs(messages)
	return []workload{
		{name: "W1", idKey: "rowId", want: want[0], body: func(n int) ([]byte, int) {
			u, _ := pick(n)
			return gqlBody(peerW1, map[string]any{"u": userID(u)}), u
		}},
		{name: "W2", idKey: "rowId", want: want[1], body: func(n int) ([]byte, int) {
			u, a := pick(n)
			return gqlBody(peerW2, map[string]any{"u": userID(u), "t": threadID(u, a)}), u
		}},
		{name: "W3", idKey: "rowId", want: want[2], body: func(n int) ([]byte, int) {
			u, _ := pick(n)
			return gqlBody(peerW3, map[string]any{"u": userID(u)}), u
		}},
	}
}

// checkResponse is the per-response check: no errors and every id there.
func checkResponse(body []byte, idKey string, want int) error {
	if n := countKey(body, idKey); n != want {
		if len(body) > 300 {
			body = body[:300]
		}
		return fmt.Errorf("%d %q keys, want %d: %s", n, idKey, want, body)
	}
	return nil
}
