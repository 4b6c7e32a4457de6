package testdb_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentgraph/agentgraph/internal/testdb"
)

// allTables are the eleven tables of the seed schema.
var allTables = []string{
	"agents", "agent_training_data", "agent_skills", "agent_knowledge_access",
	"knowledge_collections", "knowledge_entries", "chat_messages", "feed_events",
	"user_integrations", "user_personalization", "usage_logs",
}

// setClaims is the first statement of every user request (DESIGN.md, decision 1): both
// settings are local to the batch's implicit transaction.
const setClaims = `select set_config('role','authenticated',true), set_config('request.jwt.claims',$1,true)`

// user is one seeded user and the ids of the rows seeded for them, per table.
type user struct {
	id     uuid.UUID
	claims string
	rows   map[string][]uuid.UUID
	head   uuid.UUID // head agent
	agent  uuid.UUID // a second agent
	coll   uuid.UUID // default collection
	coll2  uuid.UUID
}

func newUser() *user {
	id := uuid.New()
	return &user{
		id:     id,
		claims: fmt.Sprintf(`{"sub":%q,"role":"authenticated","aud":"authenticated"}`, id),
		rows:   map[string][]uuid.UUID{},
	}
}

// insert runs an INSERT ... RETURNING id as the superuser (like the service role: no RLS) and
// records the row as u's.
func (u *user) insert(t *testing.T, pool *pgxpool.Pool, table, cols string, args ...any) uuid.UUID {
	t.Helper()
	params := ""
	for i := range args {
		if i > 0 {
			params += ", "
		}
		params += fmt.Sprintf("$%d", i+1)
	}
	var id uuid.UUID
	q := fmt.Sprintf("insert into %s (%s) values (%s) returning id", table, cols, params)
	if err := pool.QueryRow(context.Background(), q, args...).Scan(&id); err != nil {
		t.Fatalf("seed %s: %v", table, err)
	}
	u.rows[table] = append(u.rows[table], id)
	return id
}

// seed gives u rows in every one of the eleven tables.
func seed(t *testing.T, pool *pgxpool.Pool, u *user, tag string) {
	t.Helper()
	u.head = u.insert(t, pool, "agents", "user_id, name, agent_type, personality_model, is_head, email_address",
		u.id, tag+" head", "custom", "claude-sonnet-4-20250514", true, tag+"@agents.example")
	u.agent = u.insert(t, pool, "agents", "user_id, name, agent_type, personality_model, objective",
		u.id, tag+" researcher", "research", "gpt-4o", "find things")
	u.coll = u.insert(t, pool, "knowledge_collections", "user_id, name, is_default", u.id, "General", true)
	u.coll2 = u.insert(t, pool, "knowledge_collections", "user_id, name, description", u.id, "Work", "work notes")

	u.insert(t, pool, "agent_skills", "agent_id, skill_slug, skill_name, skill_category", u.agent, "web_search", "Web search", "research")
	u.insert(t, pool, "agent_skills", "agent_id, skill_slug, skill_name", u.head, "email", "Email")
	u.insert(t, pool, "agent_training_data", "agent_id, type, title, content", u.agent, "instruction", "Tone", "Be brief.")
	u.insert(t, pool, "agent_training_data", "agent_id, type, title, content, enabled", u.head, "example", "Ex", "Q/A", false)
	u.insert(t, pool, "agent_knowledge_access", "agent_id, collection_id", u.agent, u.coll)
	u.insert(t, pool, "agent_knowledge_access", "agent_id, collection_id, access_level", u.head, u.coll2, "read_write")
	u.insert(t, pool, "knowledge_entries", "user_id, collection_id, content, type", u.id, u.coll, tag+" likes tea", "preference")
	u.insert(t, pool, "knowledge_entries", "user_id, collection_id, content, type, importance, source", u.id, u.coll2, "Q3 plan", "note", 0.9, "agent:"+u.agent.String())
	thread := u.agent.String() + ":direct"
	u.insert(t, pool, "chat_messages", "user_id, thread_id, role, content", u.id, thread, "user", "hi")
	u.insert(t, pool, "chat_messages", "user_id, thread_id, role, content, agent_id, agent_name", u.id, thread, "assistant", "hello", u.agent, tag+" researcher")
	u.insert(t, pool, "feed_events", "user_id, agent_id, type, message", u.id, u.agent, "task_completed", "done")
	u.insert(t, pool, "feed_events", "user_id, type, message", u.id, "info", "welcome")
	u.insert(t, pool, "user_integrations", "user_id, provider, access_token_encrypted, scopes, metadata", u.id, "github", "k1:sealed", "repo read:user", `{"login":"x"}`)
	u.insert(t, pool, "user_personalization", "user_id, bio, about_me", u.id, "bio of "+tag, "about")
	u.insert(t, pool, "usage_logs", "user_id, agent_id, model, provider, operation, input_tokens, output_tokens, cost_cents", u.id, u.agent, "gpt-4o", "openai", "chat", 10, 20, 0.3)
	u.insert(t, pool, "usage_logs", "user_id, model, provider, operation, input_tokens", u.id, "text-embedding-3-small", "openai", "embedding", 5)
}

// queryAs runs sql as u the way the app does: one batch, claims first. It returns the ids of
// the rows it saw.
func queryAs(ctx context.Context, conn interface {
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
}, claims, sql string, args ...any) ([]uuid.UUID, error) {
	b := &pgx.Batch{}
	b.Queue(setClaims, claims)
	b.Queue(sql, args...)
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	maps, err := pgx.CollectRows(rows, pgx.RowToMap)
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, 0, len(maps))
	for _, m := range maps {
		raw, ok := m["id"].([16]byte)
		if !ok {
			return nil, fmt.Errorf("id column is %T", m["id"])
		}
		ids = append(ids, uuid.UUID(raw))
	}
	return ids, br.Close()
}

// execAs runs one statement as u, in a batch behind the claims.
func execAs(ctx context.Context, conn interface {
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
}, claims, sql string, args ...any) (pgconn.CommandTag, error) {
	b := &pgx.Batch{}
	b.Queue(setClaims, claims)
	b.Queue(sql, args...)
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if err != nil {
		return tag, err
	}
	return tag, br.Close()
}

func sqlState(err error) (code, constraint string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, pgErr.ConstraintName
	}
	return "", ""
}

func sortedIDs(ids []uuid.UUID) []uuid.UUID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return out
}

func TestRLS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	a, b := newUser(), newUser()
	seed(t, pool, a, "alice")
	seed(t, pool, b, "bob")

	// Everything below goes through one pooled connection, so that the test can also check
	// what the settings left behind on it.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()

	assertClean := func(t *testing.T) {
		t.Helper()
		var role, claims string
		var uid *uuid.UUID
		err := conn.QueryRow(ctx,
			`select current_user::text, coalesce(current_setting('request.jwt.claims', true), ''), auth.uid()`,
		).Scan(&role, &claims, &uid)
		if err != nil {
			t.Fatal(err)
		}
		if role != "postgres" || claims != "" || uid != nil {
			t.Errorf("after the batch: role %q, claims %q, auth.uid() %v; want postgres and nothing", role, claims, uid)
		}
	}

	t.Run("each user sees exactly their own rows in every table", func(t *testing.T) {
		for _, table := range allTables {
			for _, tc := range []struct {
				name      string
				me, other *user
			}{{"A", a, b}, {"B", b, a}} {
				// id, not *: users may not read user_integrations' token columns (00009).
				seen, err := queryAs(ctx, conn, tc.me.claims, "select id from "+table)
				if err != nil {
					t.Fatalf("%s as %s: %v", table, tc.name, err)
				}
				want := tc.me.rows[table]
				if len(want) == 0 {
					t.Fatalf("%s: nothing seeded", table)
				}
				if !slices.Equal(sortedIDs(seen), sortedIDs(want)) {
					t.Errorf("%s as %s: saw %d rows %v, want own %d rows %v", table, tc.name, len(seen), seen, len(want), want)
				}
				for _, id := range seen {
					if slices.Contains(tc.other.rows[table], id) {
						t.Errorf("%s as %s: saw the other user's row %s", table, tc.name, id)
					}
				}
				assertClean(t)
			}
		}
	})

	t.Run("service role sees everyone", func(t *testing.T) {
		for _, table := range allTables {
			batch := &pgx.Batch{}
			batch.Queue(`select set_config('role','service_role',true)`)
			batch.Queue("select count(*) from " + table)
			br := conn.SendBatch(ctx, batch)
			if _, err := br.Exec(); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := br.QueryRow().Scan(&n); err != nil {
				t.Fatal(err)
			}
			if err := br.Close(); err != nil {
				t.Fatal(err)
			}
			if want := len(a.rows[table]) + len(b.rows[table]); n != want {
				t.Errorf("%s as service_role: %d rows, want %d", table, n, want)
			}
		}
		assertClean(t)
	})

	t.Run("B cannot write onto A's rows", func(t *testing.T) {
		denied := []struct {
			name string
			sql  string
			args []any
		}{
			{"skill on A's agent",
				`insert into agent_skills (agent_id, skill_slug, skill_name) values ($1, 'hack', 'Hack')`, []any{a.agent}},
			{"training data on A's agent",
				`insert into agent_training_data (agent_id, type, title, content) values ($1, 'instruction', 't', 'c')`, []any{a.agent}},
			{"access joining B's agent to A's collection",
				`insert into agent_knowledge_access (agent_id, collection_id) values ($1, $2)`, []any{b.agent, a.coll}},
			{"access joining A's agent to B's collection",
				`insert into agent_knowledge_access (agent_id, collection_id) values ($1, $2)`, []any{a.agent, b.coll}},
			{"knowledge entry in A's collection",
				`insert into knowledge_entries (user_id, collection_id, content, type) values ($1, $2, 'x', 'fact')`, []any{b.id, a.coll}},
			{"moving B's own entry into A's collection",
				`update knowledge_entries set collection_id = $1 where user_id = $2`, []any{a.coll, b.id}},
			{"an agent owned by A",
				`insert into agents (user_id, name, agent_type, personality_model) values ($1, 'x', 'custom', 'm')`, []any{a.id}},
			{"giving B's agent to A",
				`update agents set user_id = $1 where id = $2`, []any{a.id, b.agent}},
			{"a message naming A's agent",
				`insert into chat_messages (user_id, thread_id, role, content, agent_id) values ($1, 't', 'user', 'x', $2)`, []any{b.id, a.agent}},
			{"a feed event naming A's agent",
				`insert into feed_events (user_id, agent_id, type, message) values ($1, $2, 'info', 'x')`, []any{b.id, a.agent}},
			{"usage logs, even B's own (written by the service role only)",
				`insert into usage_logs (user_id, model, provider, operation) values ($1, 'm', 'openai', 'chat')`, []any{b.id}},
			{"updating a chat message (history is append-only)",
				`update chat_messages set content = 'x' where user_id = $1`, []any{b.id}},
			// No user deletes an agent or updates an integration, own or not (00009).
			{"deleting A's agent", `delete from agents where id = $1`, []any{a.agent}},
			{"updating A's integration", `update user_integrations set scopes = '' where user_id = $1`, []any{a.id}},
		}
		for _, d := range denied {
			_, err := execAs(ctx, conn, b.claims, d.sql, d.args...)
			// 42501 is both "new row violates row-level security policy" and "permission
			// denied for table".
			if code, _ := sqlState(err); code != "42501" {
				t.Errorf("B: %s: got %v, want SQLSTATE 42501", d.name, err)
			}
			assertClean(t)
		}

		noop := []struct {
			name string
			sql  string
			args []any
		}{
			{"update A's agent", `update agents set name = 'pwned' where id = $1`, []any{a.head}},
			{"update A's skills", `update agent_skills set level = 99 where agent_id = $1`, []any{a.agent}},
			{"delete A's access rows", `delete from agent_knowledge_access where agent_id = $1`, []any{a.agent}},
			{"delete A's entries", `delete from knowledge_entries where user_id = $1`, []any{a.id}},
			{"delete A's messages", `delete from chat_messages where user_id = $1`, []any{a.id}},
			{"delete A's integration", `delete from user_integrations where user_id = $1`, []any{a.id}},
		}
		for _, n := range noop {
			tag, err := execAs(ctx, conn, b.claims, n.sql, n.args...)
			if err != nil {
				t.Errorf("B: %s: %v", n.name, err)
			} else if tag.RowsAffected() != 0 {
				t.Errorf("B: %s: %d rows affected, want 0", n.name, tag.RowsAffected())
			}
			assertClean(t)
		}

		// A's data is untouched.
		var name string
		var agents int
		if err := conn.QueryRow(ctx, `select (select name from agents where id = $1), (select count(*) from agents where user_id = $2)`,
			a.head, a.id).Scan(&name, &agents); err != nil {
			t.Fatal(err)
		}
		if name != "alice head" || agents != 2 {
			t.Errorf("A's agents changed: head named %q, %d agents", name, agents)
		}
	})

	t.Run("B can write its own rows", func(t *testing.T) {
		// The same statements that were denied above succeed on B's own rows, so the denials
		// are the policies at work, not some other error.
		allowed := []struct {
			sql  string
			args []any
		}{
			{`insert into agent_skills (agent_id, skill_slug, skill_name) values ($1, 'calendar', 'Calendar')`, []any{b.agent}},
			{`insert into agent_training_data (agent_id, type, title, content) values ($1, 'knowledge', 't', 'c')`, []any{b.agent}},
			{`insert into agent_knowledge_access (agent_id, collection_id) values ($1, $2)`, []any{b.agent, b.coll2}},
			{`insert into knowledge_entries (user_id, collection_id, content, type) values ($1, $2, 'x', 'fact')`, []any{b.id, b.coll}},
			{`insert into chat_messages (user_id, thread_id, role, content, agent_id) values ($1, 't', 'user', 'x', $2)`, []any{b.id, b.agent}},
			{`insert into feed_events (user_id, agent_id, type, message) values ($1, $2, 'info', 'x')`, []any{b.id, b.agent}},
			{`update agents set name = 'renamed' where id = $1`, []any{b.agent}},
			{`delete from feed_events where user_id = $1 and type = 'info'`, []any{b.id}},
		}
		for _, s := range allowed {
			tag, err := execAs(ctx, conn, b.claims, s.sql, s.args...)
			if err != nil || tag.RowsAffected() == 0 {
				t.Errorf("B: %q: %v (%d rows)", s.sql, err, tag.RowsAffected())
			}
			assertClean(t)
		}
	})
}

// anon, the role of an unauthenticated Supabase request, gets nothing at all.
func TestAnonHasNoAccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	for _, table := range allTables {
		var anon, rls bool
		err := pool.QueryRow(ctx, `select has_table_privilege('anon', $1::regclass, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'),
			(select relrowsecurity from pg_class where oid = $1::regclass)`, "public."+table).Scan(&anon, &rls)
		if err != nil {
			t.Fatal(err)
		}
		if anon {
			t.Errorf("anon has privileges on %s", table)
		}
		if !rls {
			t.Errorf("row level security is off on %s", table)
		}
	}
	b := &pgx.Batch{}
	b.Queue(`select set_config('role','anon',true)`)
	b.Queue(`select * from agents`)
	err := pool.SendBatch(ctx, b).Close()
	if code, _ := sqlState(err); code != "42501" {
		t.Errorf("anon select: got %v, want permission denied", err)
	}
}

func TestAuthUID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	id := uuid.New()
	for _, tc := range []struct {
		claims string
		want   *uuid.UUID
	}{
		{fmt.Sprintf(`{"sub":"%s","role":"authenticated"}`, id), &id},
		{``, nil},
		{`{"role":"anon"}`, nil},
	} {
		b := &pgx.Batch{}
		b.Queue(setClaims, tc.claims)
		b.Queue(`select auth.uid()`)
		br := pool.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			t.Fatal(err)
		}
		var got *uuid.UUID
		if err := br.QueryRow().Scan(&got); err != nil {
			t.Fatal(err)
		}
		if err := br.Close(); err != nil {
			t.Fatal(err)
		}
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("claims %q: auth.uid() = %v, want %v", tc.claims, got, tc.want)
		}
	}
}

// The constraints reject bad rows with the names the app maps to input fields.
func TestConstraints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	u := newUser()
	seed(t, pool, u, "carol")

	for _, tc := range []struct {
		name, sql  string
		args       []any
		code, cons string
	}{
		{"second head agent",
			`insert into agents (user_id, name, agent_type, personality_model, is_head) values ($1, 'h2', 'custom', 'm', true)`,
			[]any{u.id}, "23505", "agents_one_head_per_user"},
		{"importance above 1",
			`insert into knowledge_entries (user_id, collection_id, content, type, importance) values ($1, $2, 'x', 'fact', 1.5)`,
			[]any{u.id, u.coll}, "23514", "knowledge_entries_importance_check"},
		{"importance NaN",
			`insert into knowledge_entries (user_id, collection_id, content, type, importance) values ($1, $2, 'x', 'fact', 'NaN')`,
			[]any{u.id, u.coll}, "23514", "knowledge_entries_importance_check"},
		{"destroying the head agent",
			`update agents set status = 'destroyed' where id = $1`,
			[]any{u.head}, "23514", "agents_destroyed_not_head_check"},
		{"email address taken (case-insensitive)",
			`insert into agents (user_id, name, agent_type, personality_model, email_address) values ($1, 'x', 'custom', 'm', 'CAROL@agents.example')`,
			[]any{uuid.New()}, "23505", "agents_email_address_key"},
		{"unknown agent type",
			`insert into agents (user_id, name, agent_type, personality_model) values ($1, 'x', 'robot', 'm')`,
			[]any{u.id}, "23514", "agents_agent_type_check"},
		{"second default collection",
			`insert into knowledge_collections (user_id, name, is_default) values ($1, 'x', true)`,
			[]any{u.id}, "23505", "knowledge_collections_one_default_per_user"},
		{"skill installed twice",
			`insert into agent_skills (agent_id, skill_slug, skill_name) values ($1, 'web_search', 'again')`,
			[]any{u.agent}, "23505", "agent_skills_agent_id_skill_slug_key"},
		{"access granted twice",
			`insert into agent_knowledge_access (agent_id, collection_id) values ($1, $2)`,
			[]any{u.agent, u.coll}, "23505", "agent_knowledge_access_agent_id_collection_id_key"},
		{"skill on a missing agent",
			`insert into agent_skills (agent_id, skill_slug, skill_name) values ($1, 'x', 'x')`,
			[]any{uuid.New()}, "23503", "agent_skills_agent_id_fkey"},
		{"feed type not snake_case",
			`insert into feed_events (user_id, type, message) values ($1, 'Task Done', 'x')`,
			[]any{u.id}, "23514", "feed_events_type_check"},
		{"integration connected twice",
			`insert into user_integrations (user_id, provider, access_token_encrypted) values ($1, 'github', 'x')`,
			[]any{u.id}, "23505", "user_integrations_user_id_provider_key"},
		{"second personalization",
			`insert into user_personalization (user_id) values ($1)`,
			[]any{u.id}, "23505", "user_personalization_user_id_key"},
		{"negative cost",
			`insert into usage_logs (user_id, model, provider, operation, cost_cents) values ($1, 'm', 'openai', 'chat', -1)`,
			[]any{u.id}, "23514", "usage_logs_cost_cents_check"},
		{"missing name",
			`insert into agents (user_id, agent_type, personality_model) values ($1, 'custom', 'm')`,
			[]any{u.id}, "23502", ""},
	} {
		_, err := pool.Exec(ctx, tc.sql, tc.args...)
		code, cons := sqlState(err)
		if code != tc.code || cons != tc.cons {
			t.Errorf("%s: got %v (code %q, constraint %q), want code %s constraint %q", tc.name, err, code, cons, tc.code, tc.cons)
		}
	}

	// A non-head agent may be destroyed; a head agent may stop being head and then be.
	if _, err := pool.Exec(ctx, `update agents set status = 'destroyed' where id = $1`, u.agent); err != nil {
		t.Errorf("destroying a non-head agent: %v", err)
	}
	if _, err := pool.Exec(ctx, `update agents set status = 'destroyed', is_head = false where id = $1`, u.head); err != nil {
		t.Errorf("destroying a former head agent: %v", err)
	}

	// Deleting an agent cascades to its skills, training data and access rows, and keeps
	// chat history, feed and usage with agent_id cleared.
	if _, err := pool.Exec(ctx, `delete from agents where id = $1`, u.agent); err != nil {
		t.Fatal(err)
	}
	var children, kept int
	if err := pool.QueryRow(ctx, `select
		(select count(*) from agent_skills where agent_id = $1) + (select count(*) from agent_training_data where agent_id = $1)
		  + (select count(*) from agent_knowledge_access where agent_id = $1),
		(select count(*) from chat_messages where user_id = $2 and agent_name is not null and agent_id is null)
		  + (select count(*) from feed_events where user_id = $2 and type = 'task_completed' and agent_id is null)
		  + (select count(*) from usage_logs where user_id = $2 and operation = 'chat' and agent_id is null)`,
		u.agent, u.id).Scan(&children, &kept); err != nil {
		t.Fatal(err)
	}
	if children != 0 || kept != 3 {
		t.Errorf("after deleting an agent: %d child rows left (want 0), %d history rows kept (want 3)", children, kept)
	}
}

func TestUpdatedAtTrigger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	u := newUser()
	seed(t, pool, u, "dave")
	for _, table := range allTables {
		id := u.rows[table][0]
		// Even an explicit value is overridden: the trigger stamps now().
		if _, err := pool.Exec(ctx, fmt.Sprintf(`update %s set updated_at = '2000-01-01' where id = $1`, table), id); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		var stamped bool
		if err := pool.QueryRow(ctx, fmt.Sprintf(`select updated_at > now() - interval '1 hour' from %s where id = $1`, table),
			id).Scan(&stamped); err != nil {
			t.Fatal(err)
		}
		if !stamped {
			t.Errorf("%s: updated_at not set by the trigger", table)
		}
	}
}

// The names of constraints and indexes are an API: the app maps them to input fields. This
// pins the full list so that renaming one is a deliberate change.
func TestConstraintAndIndexNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	rows, err := pool.Query(ctx, `
		select conname::text from pg_constraint
		 where conrelid = any ($1::regclass[]) and contype in ('c', 'f', 'u', 'p')
		union
		select indexrelid::regclass::text from pg_index where indrelid = any ($1::regclass[])`,
		append(slices.Clone(allTables), "threads"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{
		"agent_knowledge_access_access_level_check",
		"agent_knowledge_access_agent_id_collection_id_key",
		"agent_knowledge_access_agent_id_fkey",
		"agent_knowledge_access_collection_id_fkey",
		"agent_knowledge_access_collection_id_idx",
		"agent_knowledge_access_pkey",
		"agent_skills_agent_id_fkey",
		"agent_skills_agent_id_skill_slug_key",
		"agent_skills_level_check",
		"agent_skills_pkey",
		"agent_training_data_agent_id_created_at_id_idx",
		"agent_training_data_agent_id_fkey",
		"agent_training_data_pkey",
		"agent_training_data_type_check",
		"agents_agent_type_check",
		"agents_destroyed_not_head_check",
		"agents_email_address_key",
		"agents_level_check",
		"agents_one_head_per_user",
		"agents_personality_max_tokens_check",
		"agents_pkey",
		"agents_status_check",
		"agents_trust_tier_check",
		"agents_user_id_created_at_id_idx",
		"agents_xp_check",
		"chat_messages_agent_id_fkey",
		"chat_messages_agent_id_idx",
		"chat_messages_awaiting_idx",
		"chat_messages_reply_to_key",
		"chat_messages_pkey",
		"chat_messages_role_check",
		"chat_messages_status_check",
		"chat_messages_thread_id_check",
		"chat_messages_user_id_thread_id_created_at_id_idx",
		"feed_events_agent_id_created_at_id_idx",
		"feed_events_agent_id_fkey",
		"feed_events_pkey",
		"feed_events_type_check",
		"feed_events_user_id_created_at_id_idx",
		"knowledge_collections_id_user_id_key",
		"knowledge_collections_one_default_per_user",
		"knowledge_collections_pkey",
		"knowledge_collections_user_id_created_at_id_idx",
		"knowledge_entries_collection_id_created_at_id_idx",
		"knowledge_entries_collection_id_fkey",
		"knowledge_entries_collection_owner_fkey",
		"knowledge_entries_importance_check",
		"knowledge_entries_index_status_check",
		"knowledge_entries_pkey",
		"knowledge_entries_search_idx",
		"knowledge_entries_type_check",
		"knowledge_entries_user_id_idx",
		"knowledge_entries_user_id_pending_idx",
		"knowledge_entries_user_id_unindexed_idx",
		"threads_agent_id_fkey",
		"threads_agent_id_updated_at_id_idx",
		"threads_last_message_id_fkey",
		"threads_pkey",
		"threads_user_id_updated_at_id_idx",
		"usage_logs_agent_id_created_at_idx",
		"usage_logs_agent_id_fkey",
		"usage_logs_cost_cents_check",
		"usage_logs_input_tokens_check",
		"usage_logs_operation_check",
		"usage_logs_output_tokens_check",
		"usage_logs_pkey",
		"usage_logs_provider_check",
		"usage_logs_user_id_created_at_idx",
		"user_integrations_key_id_idx",
		"user_integrations_pkey",
		"user_integrations_provider_check",
		"user_integrations_refresh_error_check",
		"user_integrations_status_check",
		"user_integrations_user_id_provider_key",
		"user_personalization_pkey",
		"user_personalization_user_id_key",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("constraint and index names:\n got  %q\n want %q", got, want)
	}
}

// A user may not award their own agent experience: xp and level are written by
// the system only (column privileges, not just row policies).
func TestUserCannotWriteAgentXP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	user := uuid.New()
	var agent uuid.UUID
	if err := pool.QueryRow(ctx, `insert into agents (user_id, name, agent_type, personality_model)
		values ($1, 'A', 'custom', 'm') returning id`, user).Scan(&agent); err != nil {
		t.Fatal(err)
	}
	claims := `{"sub":"` + user.String() + `","role":"authenticated"}`
	for _, sql := range []string{
		`update agents set xp = 1000000 where id = $1`,
		`update agents set level = 99 where id = $1`,
		`update agents set user_id = gen_random_uuid() where id = $1`,
	} {
		b := &pgx.Batch{}
		b.Queue(`select set_config('role','authenticated',true), set_config('request.jwt.claims',$1,true)`, claims)
		b.Queue(sql, agent)
		err := pool.SendBatch(ctx, b).Close()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s: want permission denied (42501), got %v", sql, err)
		}
	}
	var xp, level int
	if err := pool.QueryRow(ctx, `select xp, level from agents where id = $1`, agent).Scan(&xp, &level); err != nil {
		t.Fatal(err)
	}
	if xp != 0 || level != 1 {
		t.Fatalf("xp/level changed to %d/%d", xp, level)
	}
}
