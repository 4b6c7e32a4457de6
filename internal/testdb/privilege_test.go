package testdb_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agentgraph/agentgraph/internal/testdb"
)

// On Supabase, PostgREST lets every signed-in user run SQL-shaped requests as role
// authenticated with their own JWT, so what the API never does must be refused by the
// database itself (migration 00009). Each case here is one such request, sent exactly as
// PostgREST would (role and claims local to the transaction), on the user's OWN rows: the
// refusal is the privilege, not the row policies hiding someone else's row.
func TestUserPrivileges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	a, b := newUser(), newUser()
	seed(t, pool, a, "alice")
	seed(t, pool, b, "bob")
	destroyed := a.insert(t, pool, "agents", "user_id, name, agent_type, personality_model, status",
		a.id, "gone", "custom", "m", "destroyed")
	thread := a.agent.String() + ":direct"
	message := a.rows["chat_messages"][0]
	entry := a.rows["knowledge_entries"][0]

	const (
		denied = "permission denied for table "               // a missing privilege
		policy = "new row violates row-level security policy" // a WITH CHECK
	)
	for _, tc := range []struct {
		name, sql string
		args      []any
		msg       string // the start of the error message; SQLSTATE is always 42501
	}{
		// chat_messages: users write their own 'user' messages, nothing else.
		{"insert an assistant message",
			`insert into chat_messages (user_id, thread_id, role, content, agent_id) values ($1, $2, 'assistant', 'fake reply', $3)`,
			[]any{a.id, thread, a.agent}, policy + ` "chat_messages_insert_user_role"`},
		{"insert a message with a status",
			`insert into chat_messages (user_id, thread_id, role, content, status) values ($1, $2, 'user', 'x', 'failed')`,
			[]any{a.id, thread}, denied + "chat_messages"},
		{"insert a message with its timestamps",
			`insert into chat_messages (user_id, thread_id, role, content, created_at) values ($1, $2, 'user', 'x', '2000-01-01')`,
			[]any{a.id, thread}, denied + "chat_messages"},
		{"alter a message's status",
			`update chat_messages set status = 'complete' where id = $1`, []any{message}, denied + "chat_messages"},
		{"turn a message into the assistant's",
			`update chat_messages set role = 'assistant' where id = $1`, []any{message}, denied + "chat_messages"},
		{"edit a message", `update chat_messages set content = 'edited' where id = $1`, []any{message}, denied + "chat_messages"},

		// agents: no hard delete, no resurrection, no xp or level.
		{"hard-delete an agent", `delete from agents where id = $1`, []any{a.agent}, denied + "agents"},
		{"un-destroy an agent", `update agents set status = 'active' where id = $1`, []any{destroyed},
			"permission denied: a destroyed agent stays destroyed"},
		{"put a destroyed agent to sleep", `update agents set status = 'sleeping', name = 'back' where id = $1`, []any{destroyed},
			"permission denied: a destroyed agent stays destroyed"},
		{"write xp", `update agents set xp = 1000000 where id = $1`, []any{a.agent}, denied + "agents"},
		{"write level", `update agents set level = 99 where id = $1`, []any{a.agent}, denied + "agents"},
		{"create an agent with xp and level",
			`insert into agents (user_id, name, agent_type, personality_model, xp, level) values ($1, 'x', 'custom', 'm', 5000, 8)`,
			[]any{a.id}, denied + "agents"},

		// user_integrations: the sealed tokens are neither readable nor writable.
		{"read the access token", `select access_token_encrypted from user_integrations where user_id = $1`, []any{a.id}, denied + "user_integrations"},
		{"read the refresh token", `select refresh_token_encrypted from user_integrations`, nil, denied + "user_integrations"},
		{"read every column", `select * from user_integrations`, nil, denied + "user_integrations"},
		{"filter on the token", `select id from user_integrations where access_token_encrypted like 'k1:%'`, nil, denied + "user_integrations"},
		{"replace the access token", `update user_integrations set access_token_encrypted = 'mine' where user_id = $1`, []any{a.id}, denied + "user_integrations"},
		{"change scopes", `update user_integrations set scopes = 'admin' where user_id = $1`, []any{a.id}, denied + "user_integrations"},
		{"connect an integration",
			`insert into user_integrations (user_id, provider, access_token_encrypted) values ($1, 'slack', 'plain')`,
			[]any{a.id}, denied + "user_integrations"},

		// usage_logs: written by the service role only.
		{"insert usage", `insert into usage_logs (user_id, model, provider, operation) values ($1, 'm', 'openai', 'chat')`,
			[]any{a.id}, denied + "usage_logs"},
		{"lower a cost", `update usage_logs set cost_cents = 0 where user_id = $1`, []any{a.id}, denied + "usage_logs"},
		{"delete usage", `delete from usage_logs where user_id = $1`, []any{a.id}, denied + "usage_logs"},
		{"truncate usage", `truncate usage_logs`, nil, denied + "usage_logs"},
		// user_budgets: a user sets their budget, not the record that the feed told them.
		{"forge budget notice", `insert into user_budgets (user_id, notified_month) values ($1, '2000-01-01')`,
			[]any{a.id}, denied + "user_budgets"},
		{"delete budget", `delete from user_budgets where user_id = $1`, []any{a.id}, denied + "user_budgets"},
		// Reply bookkeeping on messages is the server's.
		{"mark awaiting", `insert into chat_messages (user_id, thread_id, role, content, awaiting_reply) values ($1, 't', 'user', 'x', true)`,
			[]any{a.id}, denied + "chat_messages"},
		{"claim a reply", `insert into chat_messages (user_id, thread_id, role, content, reply_to) values ($1, 't', 'user', 'x', gen_random_uuid())`,
			[]any{a.id}, denied + "chat_messages"},

		// knowledge_entries: the index columns are the server's record of what the
		// index holds (migration 00010).
		{"mark an entry indexed", `update knowledge_entries set index_status = 'indexed' where id = $1`, []any{entry}, denied + "knowledge_entries"},
		{"write an embedding", `update knowledge_entries set embedding = '\x00000000' where id = $1`, []any{entry}, denied + "knowledge_entries"},
		{"set a pinecone id", `update knowledge_entries set pinecone_id = 'other' where id = $1`, []any{entry}, denied + "knowledge_entries"},
		{"roll back an index version", `update knowledge_entries set index_version = 0 where id = $1`, []any{entry}, denied + "knowledge_entries"},
		{"take an index lease", `update knowledge_entries set index_lease = now() + interval '1 year' where id = $1`, []any{entry}, denied + "knowledge_entries"},
		{"clear an index error", `update knowledge_entries set index_error = null, indexed_at = now() where id = $1`, []any{entry}, denied + "knowledge_entries"},
		{"insert an entry already indexed",
			`insert into knowledge_entries (user_id, collection_id, content, type, index_status, embedding) values ($1, $2, 'x', 'fact', 'indexed', '\x00000000')`,
			[]any{a.id, a.coll}, denied + "knowledge_entries"},

		// threads: kept by the touch_thread trigger only.
		{"insert a thread", `insert into threads (user_id, id) values ($1, 'mine')`, []any{a.id}, denied + "threads"},
		{"update a thread", `update threads set message_count = 0 where user_id = $1`, []any{a.id}, denied + "threads"},
		{"delete a thread", `delete from threads where user_id = $1`, []any{a.id}, denied + "threads"},
	} {
		_, err := execAs(ctx, pool, a.claims, tc.sql, tc.args...)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" || !strings.HasPrefix(pgErr.Message, tc.msg) {
			t.Errorf("%s: got %v, want SQLSTATE 42501 %q", tc.name, err, tc.msg)
		}
	}

	// Nothing above changed anything (checked as the superuser, who sees every row).
	var role, status, agentStatus string
	var xp, level, usage, threads, integrations int
	if err := pool.QueryRow(ctx, `select
		(select role from chat_messages where id = $1), (select status from chat_messages where id = $1),
		(select status from agents where id = $2), (select xp from agents where id = $3), (select level from agents where id = $3),
		(select count(*) from usage_logs where user_id = $4), (select count(*) from threads where user_id = $4),
		(select count(*) from user_integrations where user_id = $4 and access_token_encrypted = 'k1:sealed' and scopes = 'repo read:user')`,
		message, destroyed, a.agent, a.id).Scan(&role, &status, &agentStatus, &xp, &level, &usage, &threads, &integrations); err != nil {
		t.Fatal(err)
	}
	if role != "user" || status != "complete" || agentStatus != "destroyed" || xp != 0 || level != 1 || usage != 2 || threads != 1 || integrations != 1 {
		t.Errorf("after the refusals: message %s/%s, agent %s xp %d level %d, %d usage rows, %d threads, %d integrations",
			role, status, agentStatus, xp, level, usage, threads, integrations)
	}

	t.Run("what the API does still works", func(t *testing.T) {
		// A user message (the store's AddUserMessage columns): the SECURITY DEFINER trigger
		// still keeps the thread, under FORCE ROW LEVEL SECURITY.
		if _, err := execAs(ctx, pool, a.claims, `insert into chat_messages (id, user_id, thread_id, role, content, agent_id, agent_name)
			values (gen_random_uuid(), $1, $2, 'user', 'hello again', $3, 'alice researcher')`, a.id, thread, a.agent); err != nil {
			t.Errorf("user message: %v", err)
		}
		counts, err := queryAs(ctx, pool, a.claims, `select id from chat_messages where thread_id = $1`, thread)
		if err != nil || len(counts) != 3 {
			t.Errorf("a's thread after the insert: %d messages, %v", len(counts), err)
		}
		var n int
		if err := pool.QueryRow(ctx, `select message_count from threads where user_id = $1 and id = $2`, a.id, thread).Scan(&n); err != nil || n != 3 {
			t.Errorf("thread kept by the trigger: message_count %d, %v; want 3", n, err)
		}
		for _, s := range []struct {
			name, sql string
			args      []any
		}{
			{"update an agent", `update agents set name = 'renamed', status = 'sleeping' where id = $1`, []any{a.agent}},
			{"destroy an agent", `update agents set status = 'destroyed', is_head = false where id = $1`, []any{a.agent}},
			{"rename a destroyed agent (status unchanged)", `update agents set name = 'still gone', status = 'destroyed' where id = $1`, []any{destroyed}},
			{"read an integration without its tokens",
				`select id, user_id, provider, token_expires_at, scopes, metadata, created_at, updated_at from user_integrations`, nil},
			{"disconnect an integration", `delete from user_integrations where provider = 'github'`, nil},
			{"add an entry", `insert into knowledge_entries (id, user_id, collection_id, content, type, importance, source)
				values (gen_random_uuid(), $1, $2, 'new', 'fact', 0.5, 'manual')`, []any{a.id, a.coll}},
			{"edit an entry", `update knowledge_entries set content = 'edited', type = 'note', importance = 1, source = 'manual' where id = $1`, []any{entry}},
		} {
			tag, err := execAs(ctx, pool, a.claims, s.sql, s.args...)
			if err != nil || tag.RowsAffected() != 1 {
				t.Errorf("%s: %v (%d rows), want 1 row", s.name, err, tag.RowsAffected())
			}
		}
		// Reading usage and threads: own rows only.
		for _, table := range []string{"usage_logs", "user_integrations"} {
			seen, err := queryAs(ctx, pool, b.claims, `select id from `+table)
			if err != nil || len(seen) != len(b.rows[table]) {
				t.Errorf("b reads %s: %d rows, %v; want own %d", table, len(seen), err, len(b.rows[table]))
			}
		}
		var bThreads int
		if err := pool.QueryRow(ctx, `select count(*) from threads where user_id = $1`, b.id).Scan(&bThreads); err != nil {
			t.Fatal(err)
		}
		seen, err := queryAs(ctx, pool, b.claims, `select gen_random_uuid() as id from threads`)
		if err != nil || len(seen) != bThreads || bThreads != 1 {
			t.Errorf("b reads threads: %d rows, %v; want own %d", len(seen), err, bThreads)
		}
	})

	t.Run("the service role still writes what users may not", func(t *testing.T) {
		batch := &pgx.Batch{}
		batch.Queue(`select set_config('role', 'service_role', true)`)
		batch.Queue(`insert into chat_messages (user_id, thread_id, role, content, status) values ($1, $2, 'assistant', 'a reply', 'interrupted')`, a.id, thread)
		batch.Queue(`update agents set xp = xp + 10, level = 2 where id = $1`, a.head)
		batch.Queue(`insert into usage_logs (user_id, model, provider, operation) values ($1, 'm', 'openai', 'chat')`, a.id)
		batch.Queue(`update agents set status = 'active' where id = $1`, destroyed) // an operator's restore
		batch.Queue(`select access_token_encrypted from user_integrations where user_id = $1`, b.id)
		batch.Queue(`update knowledge_entries set index_status = 'indexed', embedding = '\x0000803f', indexed_at = now() where id = $1`, entry)
		if err := pool.SendBatch(ctx, batch).Close(); err != nil {
			t.Fatal(err)
		}
		// The user's edit above put the entry back to pending with a new version (the
		// reindex trigger); the service role's write, of no indexed column, kept it indexed.
		var status string
		var version int64
		if err := pool.QueryRow(ctx, `select index_status, index_version from knowledge_entries where id = $1`, entry).Scan(&status, &version); err != nil {
			t.Fatal(err)
		}
		if status != "indexed" || version != 2 {
			t.Errorf("entry after the edit and the service role's write: %s, version %d; want indexed, version 2", status, version)
		}
	})
}

// Every user-facing table has FORCE ROW LEVEL SECURITY, so its owner is no way around the
// policies (internal/store's least-privilege test shows it with a non-superuser owner).
func TestForceRowLevelSecurity(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	for _, table := range append(slices.Clone(allTables), "threads") {
		var enabled, forced bool
		if err := pool.QueryRow(context.Background(), `select relrowsecurity, relforcerowsecurity from pg_class where oid = $1::regclass`,
			"public."+table).Scan(&enabled, &forced); err != nil {
			t.Fatal(err)
		}
		if !enabled || !forced {
			t.Errorf("%s: row level security enabled %v, forced %v", table, enabled, forced)
		}
	}
}
