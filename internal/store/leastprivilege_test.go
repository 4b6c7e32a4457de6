package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/agentgraph/agentgraph/internal/auth"
	"github.com/agentgraph/agentgraph/internal/chat"
	"github.com/agentgraph/agentgraph/internal/domain"
	"github.com/agentgraph/agentgraph/internal/jobs"
	"github.com/agentgraph/agentgraph/internal/llm"
	"github.com/agentgraph/agentgraph/internal/llm/llmtest"
	"github.com/agentgraph/agentgraph/internal/migrate"
	"github.com/agentgraph/agentgraph/internal/pubsub"
	"github.com/agentgraph/agentgraph/internal/store"
	"github.com/agentgraph/agentgraph/internal/testdb"
)

// The deployment README's "Running with least privilege" describes: a non-superuser owner
// role migrates, and the server logs in as a plain role that owns nothing, holds no privilege
// on any table and only switches to authenticated and service_role. Every path of the store
// and the hub works that way: the start check, user requests, the SECURITY DEFINER thread
// trigger under FORCE ROW LEVEL SECURITY, storing a reply, loading a prompt and loading the
// rows of live events. And the owner, under FORCE, sees no rows.
func TestPlainServingRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	owner, server := roleNames(t)
	dbURL := testdb.EmptyURL(t) // after roleNames: its cleanup (drop database) runs first

	super, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close(ctx)
	var dbName string
	if err := super.QueryRow(ctx, `select current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		// The Supabase roles exist on a server where anything was migrated; the non-superuser
		// owner could not create them. Created here if missing, racing like migration 00001.
		`do $$ declare r text; begin
			foreach r in array array['anon', 'authenticated', 'service_role'] loop
				if not exists (select 1 from pg_roles where rolname = r) then
					begin
						execute format('create role %I nologin noinherit', r);
						if r = 'service_role' then alter role service_role bypassrls; end if;
					exception when duplicate_object or unique_violation then null;
					end;
				end if;
			end loop;
		end $$`,
		`create role ` + owner + ` login nosuperuser nocreatedb nocreaterole nobypassrls`,
		`create role ` + server + ` login noinherit nosuperuser nocreatedb nocreaterole nobypassrls`,
		`grant authenticated, service_role to ` + server,
		// The owner may create schemas (auth) in its own database; on Postgres 15 it also
		// owns schema public through pg_database_owner.
		`alter database ` + pgx.Identifier{dbName}.Sanitize() + ` owner to ` + owner,
	} {
		if _, err := super.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	// Migrations are applied by the owner, not a superuser.
	if err := migrate.Up(ctx, as(t, dbURL, owner)); err != nil {
		t.Fatalf("migrating as the owner: %v", err)
	}
	// The server starts: it may not migrate, and finds nothing to migrate.
	serverURL := as(t, dbURL, server)
	if err := migrate.Up(ctx, serverURL); err != nil {
		t.Fatalf("server start check: %v", err)
	}
	// With a migration pending it refuses to start, and says who should migrate.
	for _, sql := range []string{
		`create temp table applied as select * from goose_db_version where version_id = 9`,
		`delete from goose_db_version where version_id = 9`,
	} {
		if _, err := super.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrate.Up(ctx, serverURL); err == nil || !strings.Contains(err.Error(), "run `agentgraph migrate` as the role that owns the schema") {
		t.Errorf("server start check with 00009 pending: %v", err)
	}
	if _, err := super.Exec(ctx, `insert into goose_db_version overriding system value select * from applied`); err != nil {
		t.Fatal(err)
	}

	pool, err := pgxpool.New(ctx, serverURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// As itself, the login role can read nothing.
	if _, err := pool.Exec(ctx, `select count(*) from public.chat_messages`); !isDenied(err) {
		t.Errorf("login role reads chat_messages: %v, want permission denied", err)
	}

	st := store.New(pool)
	hub := pubsub.New(pool, pubsub.Options{Resolve: st.EventRows})
	hubCtx, stopHub := context.WithCancel(ctx)
	hubDone := make(chan error, 1)
	go func() { hubDone <- hub.Run(hubCtx) }()
	defer func() { stopHub(); <-hubDone }()
	select {
	case <-hub.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("hub not listening")
	}

	alice := uuid.New()
	actx := auth.WithUser(ctx, auth.User{ID: alice, Role: "authenticated"})
	agent, err := st.CreateAgent(actx, store.NewAgent{Name: "Ada", Type: domain.AgentTypeCustom,
		TrustTier: domain.TrustTierObserver, Personality: domain.Personality{Model: "gpt-4o-mini"}})
	if err != nil {
		t.Fatalf("create agent as authenticated: %v", err)
	}
	thread := agent.ID.String() + ":direct"
	sub := hub.Subscribe(alice, func(ev *pubsub.Event) bool { return ev.Kind == pubsub.KindMessage })
	defer sub.Close()

	// A user message: its thread is kept by the trigger running as the non-superuser owner.
	name := agent.Name
	// The message and its reply job commit together, the job inserted as
	// service_role into River's tables.
	jc, err := jobs.New(pool, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := st.AddUserMessage(actx, store.NewMessage{ID: uuid.New(), ThreadID: thread, Content: "hi", AgentID: &agent.ID, AgentName: &name},
		func(ctx context.Context, tx pgx.Tx) error {
			_, err := jc.InsertTx(ctx, tx, chat.ReplyArgs{UserID: alice, ThreadID: thread}, nil)
			return err
		})
	if err != nil {
		t.Fatalf("user message: %v", err)
	}
	if next, err := st.NextAwaiting(ctx, alice, thread); err != nil || next == nil || next.Message.ID != msg.ID {
		t.Fatalf("awaiting message as service_role: %+v, %v", next, err)
	}
	// Its live event's row is loaded by the hub through EventRows, as service_role.
	if ev := next(t, sub); ev.Row == nil || ev.Row.(*domain.Message).ID != msg.ID {
		t.Errorf("live event's row: %#v, want the message", ev.Row)
	}

	pc, err := st.LoadPromptContext(ctx, alice, agent.ID, msg, 10)
	if err != nil || len(pc.History) != 1 || pc.History[0].ID != msg.ID {
		t.Fatalf("prompt context as service_role: %v, %+v", err, pc)
	}
	reply := store.Reply{ID: uuid.New(), UserID: alice, Agent: agent, ThreadID: thread, ReplyTo: msg.ID, Content: "hello",
		Status: domain.MessageComplete, Model: "gpt-4o-mini", Provider: "openai", Input: 3, Output: 5, XP: 150,
		FeedType: "reply_done", FeedMessage: "Ada replied"}
	level, up, err := st.SaveReply(ctx, reply)
	if err != nil || level != 2 || !up {
		t.Fatalf("save reply as service_role: level %d, up %v, %v; want level 2", level, up, err)
	}
	if ev := next(t, sub); ev.Row == nil || ev.Row.(*domain.Message).ID != reply.ID {
		t.Errorf("reply's live event row: %#v, want the reply", ev.Row)
	}
	th, err := st.Thread(actx, thread, nil)
	if err != nil || th.MessageCount != 2 || th.LastMessageID == nil || *th.LastMessageID != reply.ID {
		t.Fatalf("thread after two messages: %+v, %v", th, err)
	}

	// Integrations: connecting writes the sealed row as service_role, listing
	// and disconnecting run as the user, a renewal locks the row and posts a
	// feed event, a reseal batch rewrites it.
	if _, err := st.ConnectIntegration(actx, store.NewIntegration{Provider: "github", AccessToken: "v1.k1.sealed",
		KeyID: "k1", Scopes: []string{"repo"}, Metadata: []byte(`{}`)}); err != nil {
		t.Fatalf("connect an integration: %v", err)
	}
	if list, err := st.Integrations(actx); err != nil || len(list) != 1 || list[0].Scopes[0] != "repo" {
		t.Fatalf("list integrations as the user: %+v, %v", list, err)
	}
	if err := st.RenewIntegration(ctx, alice, "github", func(r *store.SealedIntegration) (*store.Renewal, error) {
		return &store.Renewal{Refused: "invalid_grant", FeedType: "integration_refresh_failed", FeedMessage: "reconnect"}, nil
	}); err != nil {
		t.Fatalf("mark an integration refresh_failed: %v", err)
	}
	if _, n, err := st.ResealIntegrations(ctx, uuid.Nil, 10, "k2", func(rows []*store.SealedIntegration) ([]store.Reseal, error) {
		return []store.Reseal{{ID: rows[0].ID, AccessToken: "v1.k2.sealed", KeyID: "k2"}}, nil
	}); err != nil || n != 1 {
		t.Fatalf("reseal: %d rows, %v", n, err)
	}
	if gone, err := st.DisconnectIntegration(actx, "github"); err != nil || !gone {
		t.Fatalf("disconnect: %v, %v", gone, err)
	}

	// FORCE ROW LEVEL SECURITY: the owner sees none of these rows and cannot write threads.
	ownerConn, err := pgx.Connect(ctx, as(t, dbURL, owner))
	if err != nil {
		t.Fatal(err)
	}
	defer ownerConn.Close(ctx)
	var messages, threads, agents int
	if err := ownerConn.QueryRow(ctx, `select (select count(*) from chat_messages), (select count(*) from threads),
		(select count(*) from agents)`).Scan(&messages, &threads, &agents); err != nil {
		t.Fatal(err)
	}
	if messages != 0 || threads != 0 || agents != 0 {
		t.Errorf("owner sees %d messages, %d threads, %d agents; want none (FORCE ROW LEVEL SECURITY)", messages, threads, agents)
	}
	if _, err := ownerConn.Exec(ctx, `insert into threads (user_id, id) values ($1, 'x')`, alice); !isDenied(err) {
		t.Errorf("owner writes a thread outside the trigger: %v, want an RLS refusal", err)
	}

	// The reply worker on a background pool acting as service_role, as the
	// server runs it: River fetches and completes jobs, and the next message
	// gets its reply.
	bgCfg, err := pgxpool.ParseConfig(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	bgCfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `set role service_role`)
		return err
	}
	bgPool, err := pgxpool.NewWithConfig(ctx, bgCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bgPool.Close()
	fake := llmtest.NewServer(t)
	fake.SetHandler(func(llmtest.ChatRequest) llmtest.Reply { return llmtest.Reply{Chunks: []string{"hi ", "again"}} })
	bg := store.New(bgPool)
	w := chat.NewWorker(bg, llm.New(llm.Config{OpenAIKey: "sk-test", OpenAIBaseURL: fake.URL()}), hub, slog.Default(), chat.Limits{})
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	worker, err := jobs.New(bgPool, jobs.Config{Workers: workers, Queues: map[string]int{chat.Queue: 2}, RescueAfter: w.RescueAfter()})
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		w.Shutdown(sctx, worker)
	}()
	send := chat.New(st, w, worker)
	if _, _, err := send.Send(actx, domain.SendMessageInput{AgentID: ptr(agent.ID.String()), Content: "again?"}); err != nil {
		t.Fatal(err)
	}
	for ev := next(t, sub); ; ev = next(t, sub) {
		if m, ok := ev.Row.(*domain.Message); ok && m.Role == domain.RoleAssistant {
			if m.Content != "hi again" {
				t.Fatalf("reply %q", m.Content)
			}
			break
		}
	}
}

func ptr[T any](v T) *T { return &v }

func next(t *testing.T, sub *pubsub.Subscription) *pubsub.Event {
	t.Helper()
	select {
	case ev := <-sub.C():
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("no event: %v", sub.Err())
		return nil
	}
}

func isDenied(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42501"
}

// as is dbURL with user instead of the superuser (the test server trusts local logins).
func as(t *testing.T, dbURL, user string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(user)
	return u.String()
}

// roleNames returns fresh role names (roles are cluster-wide and tests run in parallel) and
// drops the roles when the test ends, after its database is gone. A failed test keeps its
// database, and with it the roles, for inspection.
func roleNames(t *testing.T) (owner, server string) {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	owner, server = "ag_owner_"+suffix, "ag_server_"+suffix
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		admin := os.Getenv("TEST_DATABASE_URL")
		if admin == "" {
			admin = testdb.DefaultServerURL
		}
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop roles: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `drop role if exists `+server+`, `+owner); err != nil {
			t.Logf("drop roles: %v", err)
		}
	})
	return owner, server
}
