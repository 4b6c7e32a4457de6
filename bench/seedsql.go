package main

import (
	"fmt"
	"strings"
)

// Deterministic ids: md5 of a name like 'agent:<u>:<a>' read as a uuid. The
// driver derives the same ids in Go (ids.go) to build tokens and thread ids.
//
// Timestamps are fixed too (t0 plus offsets), increasing with the index
// inside each list, so every ordering the API pages by is stable.
const t0 = `timestamptz '2026-01-01 00:00:00+00'`

// seedSQL is the seed, statement by statement. It runs as the superuser with
// session_replication_role = replica: triggers (the one keeping threads, the
// foreign key checks) stay off while bulk-inserting rows that are consistent
// by construction, and threads are written directly instead.
func seedSQL(messages int) []string {
	r := strings.NewReplacer(
		"$USERS", fmt.Sprint(nUsers-1), "$AGENTS", fmt.Sprint(nAgents-1),
		"$SKILLS", fmt.Sprint(nSkills-1), "$TRAINING", fmt.Sprint(nTraining-1),
		"$GRANTS", fmt.Sprint(nGrants-1), "$COLLS", fmt.Sprint(nCollections-1), "$NCOLLS", fmt.Sprint(nCollections),
		"$ENTRIES", fmt.Sprint(nEntries-1), "$FEED", fmt.Sprint(nFeed-1),
		"$MSGS", fmt.Sprint(messages-1), "$NMSGS", fmt.Sprint(messages),
		"$T0", t0,
		"$UID", `md5('user:' || u)::uuid`,
		"$AID", `md5('agent:' || u || ':' || a)::uuid`,
	)
	stmts := []string{
		`set session_replication_role = replica`,
		`insert into agents (id, user_id, name, agent_type, personality_model, objective, is_head, created_at, updated_at)
		 select $AID, $UID, 'Agent ' || u || '-' || a,
		        (array['email','calendar','research','code','custom'])[1 + a % 5], 'gpt-4o-mini',
		        'Help user ' || u || ' with ' || a, a = 0,
		        $T0 + make_interval(secs => a), $T0 + make_interval(secs => a)
		 from generate_series(0, $USERS) u, generate_series(0, $AGENTS) a`,
		`insert into agent_skills (id, agent_id, skill_slug, skill_name, skill_category, level, created_at, updated_at)
		 select md5('skill:' || u || ':' || a || ':' || s)::uuid, $AID, 'skill-' || s, 'Skill ' || s, 'general', 1 + s,
		        $T0 + make_interval(secs => s), $T0 + make_interval(secs => s)
		 from generate_series(0, $USERS) u, generate_series(0, $AGENTS) a, generate_series(0, $SKILLS) s`,
		`insert into agent_training_data (id, agent_id, type, title, content, created_at, updated_at)
		 select md5('training:' || u || ':' || a || ':' || k)::uuid, $AID,
		        (array['knowledge','instruction','example'])[1 + k % 3], 'Training ' || k,
		        repeat('Training content ' || k || '. ', 10),
		        $T0 + make_interval(secs => k), $T0 + make_interval(secs => k)
		 from generate_series(0, $USERS) u, generate_series(0, $AGENTS) a, generate_series(0, $TRAINING) k`,
		`insert into knowledge_collections (id, user_id, name, description, is_default, created_at, updated_at)
		 select md5('collection:' || u || ':' || c)::uuid, $UID, 'Collection ' || c, 'About ' || c, c = 0,
		        $T0 + make_interval(secs => c), $T0 + make_interval(secs => c)
		 from generate_series(0, $USERS) u, generate_series(0, $COLLS) c`,
		`insert into knowledge_entries (id, user_id, collection_id, content, type, created_at, updated_at)
		 select md5('entry:' || u || ':' || c || ':' || e)::uuid, $UID, md5('collection:' || u || ':' || c)::uuid,
		        'Entry ' || e || ' of collection ' || c, 'fact',
		        $T0 + make_interval(secs => e), $T0 + make_interval(secs => e)
		 from generate_series(0, $USERS) u, generate_series(0, $COLLS) c, generate_series(0, $ENTRIES) e`,
		`insert into agent_knowledge_access (id, agent_id, collection_id, access_level, created_at, updated_at)
		 select md5('access:' || u || ':' || a || ':' || g)::uuid, $AID,
		        md5('collection:' || u || ':' || ((a + g) % $NCOLLS))::uuid, (array['read','read_write'])[1 + g % 2],
		        $T0 + make_interval(secs => g), $T0 + make_interval(secs => g)
		 from generate_series(0, $USERS) u, generate_series(0, $AGENTS) a, generate_series(0, $GRANTS) g`,
		// Each agent's direct thread: user and assistant messages in turn,
		// one a minute.
		`insert into chat_messages (id, user_id, thread_id, role, content, agent_id, agent_name, created_at, updated_at)
		 select md5('message:' || u || ':' || a || ':' || m)::uuid, $UID, $AID::text || ':direct',
		        (array['user','assistant'])[1 + m % 2],
		        'Message ' || m || ' in the thread of agent ' || a || ': ' || repeat('words ', 12),
		        $AID, 'Agent ' || u || '-' || a,
		        $T0 + interval '1 day' + make_interval(mins => m), $T0 + interval '1 day' + make_interval(mins => m)
		 from generate_series(0, $USERS) u, generate_series(0, $AGENTS) a, generate_series(0, $MSGS) m`,
		// What the touch_thread trigger would have kept.
		`insert into threads (user_id, id, agent_id, last_message_id, message_count, created_at, updated_at)
		 select $UID, $AID::text || ':direct', $AID, md5('message:' || u || ':' || a || ':' || $MSGS)::uuid, $NMSGS,
		        $T0 + interval '1 day', $T0 + interval '1 day' + make_interval(mins => $MSGS)
		 from generate_series(0, $USERS) u, generate_series(0, $AGENTS) a`,
		`insert into feed_events (id, user_id, agent_id, type, message, created_at, updated_at)
		 select md5('feed:' || u || ':' || e)::uuid, $UID, md5('agent:' || u || ':' || (e % 10))::uuid,
		        (array['task_completed','reply_done','info'])[1 + e % 3], 'Event ' || e || ' of user ' || u,
		        $T0 + interval '2 days' + make_interval(mins => e), $T0 + interval '2 days' + make_interval(mins => e)
		 from generate_series(0, $USERS) u, generate_series(0, $FEED) e`,
		`reset session_replication_role`,
		// Statistics and the visibility map, as a database in service has them.
		`vacuum analyze`,
	}
	for i, s := range stmts {
		stmts[i] = r.Replace(s)
	}
	return stmts
}
