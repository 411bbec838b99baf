/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check-main.h"
#include "scan.h"
#include "store-observe.h"
#include "store.h"
#include "util.h"

/* 2026-11-25 13:00:00 UTC */
#define T0 (UINT64_C(1795611600) * USEC_PER_SEC)
#define SEC(n) (T0 + (uint64_t)(n)*USEC_PER_SEC)

static char dir[] = "/tmp/pw-test-store.XXXXXX";
static char db_path[256];

static void setup(void)
{
	strcpy(dir, "/tmp/pw-test-store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db_path, sizeof(db_path), "%s/portwatch.db", dir);
}

static void teardown(void)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[300];

	for (size_t i = 0; i < PW_ELEMENTSOF(sfx); i++) {
		snprintf(p, sizeof(p), "%s%s", db_path, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
}

static struct pw_store *open_store(unsigned flags)
{
	struct pw_store *s = NULL;
	char *err = NULL;
	int r = pw_store_open(db_path, flags, &s, &err);

	ck_assert_msg(r == 0, "open: %d %s", r, err ? err : "");
	free(err);
	return s;
}

static pw_u128 v4(const char *s)
{
	pw_u128 a;

	ck_assert_int_eq(pw_addr_parse(s, &a), 0);
	return a;
}

static int observe(struct pw_store *s, int64_t run, const char *addr, uint16_t port,
		   enum pw_state st, unsigned flags, uint64_t t, struct pw_change *c)
{
	struct pw_store_obs o = {
		.addr = v4(addr),
		.port = port,
		.state = st,
		.rtt_usec = st == PW_STATE_OPEN ? 250 : 0,
		.time_usec = t,
	};

	return pw_test_observe(s, run, &o, flags, PW_EXPECT_NONE, c);
}

/* Observe and check the change kind and importance. */
static void expect(struct pw_store *s, int64_t run, const char *addr, uint16_t port,
		   enum pw_state st, unsigned flags, uint64_t t, enum pw_change_kind kind,
		   bool major)
{
	struct pw_change c;
	int r = observe(s, run, addr, port, st, flags, t, &c);

	ck_assert_msg(r == 0, "observe %s:%u: %d %s", addr, port, r, pw_store_last_error(s));
	ck_assert_msg(c.kind == kind, "%s:%u: kind %s, want %s", addr, port,
		      pw_change_kind_to_string(c.kind) ?: "none",
		      pw_change_kind_to_string(kind) ?: "none");
	ck_assert_msg(c.major == major, "%s:%u: major %d", addr, port, c.major);
}

/* A space of addrs (first-last) x ports (first-last). */
static void space_of(struct pw_scan_space *sp, const char *a0, const char *a1, uint16_t p0,
		     uint16_t p1)
{
	*sp = (struct pw_scan_space){ .addrs = PW_ISET_INIT, .ports = PW_ISET_INIT };
	ck_assert_int_eq(pw_iset_add(&sp->addrs, v4(a0), v4(a1)), 0);
	ck_assert_int_eq(pw_iset_add(&sp->ports, p0, p1), 0);
}

static void run_space(struct pw_store *s, int64_t run, const char *a0, const char *a1, uint16_t p0,
		      uint16_t p1)
{
	struct pw_scan_space sp;

	space_of(&sp, a0, a1, p0, p1);
	ck_assert_int_eq(pw_store_run_space(s, run, &sp), 0);
	pw_iset_done(&sp.addrs);
	pw_iset_done(&sp.ports);
}

/* A run over 127.0.0.1 x all ports, as the daemon tells the store. */
static int64_t begin(struct pw_store *s, const char *job, uint64_t t)
{
	int64_t run = 0;
	int r = pw_store_run_begin(s, job, t, &run);

	ck_assert_msg(r == 0, "run_begin: %d %s", r, pw_store_last_error(s));
	ck_assert_int_gt(run, 0);
	run_space(s, run, "127.0.0.1", "127.0.0.1", 1, 65535);
	return run;
}

static void end(struct pw_store *s, int64_t run, enum pw_run_status st, uint64_t t)
{
	int r = pw_store_run_end(s, run, st, t);

	ck_assert_msg(r == 0, "run_end: %d %s", r, pw_store_last_error(s));
}

/* A second, independent connection: what sqlite3 would see. */
static sqlite3 *raw_open(void)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					 NULL),
			 SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err);
}

static int64_t raw_int(const char *sql)
{
	sqlite3 *db = raw_open();
	sqlite3_stmt *st;
	int64_t v = -1;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* First column of the first row as text, "" if NULL, "<none>" if no row. */
static char *raw_text(const char *sql)
{
	sqlite3 *db = raw_open();
	sqlite3_stmt *st;
	char *v;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = strdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0)
						      : "");
	else
		v = strdup("<none>");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

#define assert_sql_int(sql, want) ck_assert_int_eq(raw_int(sql), (want))
#define assert_sql_str(sql, want)                        \
	do {                                             \
		_cleanup_free_ char *_v = raw_text(sql); \
		ck_assert_str_eq(_v, (want));            \
	} while (0)

/* A job with a completed baseline run: 127.0.0.1:22,80 open (baseline
 * events), 443 closed, 8080 filtered (rows only). Returns the store. */
static struct pw_store *with_baseline(void)
{
	struct pw_store *s = open_store(0);
	int64_t run = begin(s, "web", SEC(0));

	expect(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(1), PW_CHANGE_BASELINE, false);
	expect(s, run, "127.0.0.1", 80, PW_STATE_OPEN, 0, SEC(1), PW_CHANGE_BASELINE, false);
	expect(s, run, "127.0.0.1", 443, PW_STATE_CLOSED, 0, SEC(2), PW_CHANGE_NEW, false);
	expect(s, run, "127.0.0.1", 8080, PW_STATE_FILTERED, 0, SEC(3), PW_CHANGE_NEW, false);
	end(s, run, PW_RUN_COMPLETED, SEC(4));
	return s;
}

START_TEST(open_creates_schema)
{
	struct pw_store *s = open_store(0);

	ck_assert_uint_eq(pw_store_db_version(s), pw_store_schema_version());
	ck_assert_uint_ge(pw_store_schema_version(), 2);
	for (unsigned i = 0; i < pw_store_n_migrations; i++)
		ck_assert_uint_eq(pw_store_migrations[i].version, i + 1);
	assert_sql_int("PRAGMA user_version", (int64_t)pw_store_schema_version());
	assert_sql_str("PRAGMA journal_mode", "wal");
	assert_sql_int("SELECT count(*) FROM sqlite_master WHERE type = 'view'"
		       " AND name IN ('open_ports', 'recent_changes', 'port_timeline',"
		       " 'run_summary', 'event_log', 'port_states', 'flaps', 'job_status',"
		       " 'major_changes')",
		       9);
	pw_store_close(s);
	/* reopening an up-to-date database changes nothing */
	s = open_store(0);
	ck_assert_uint_eq(pw_store_db_version(s), pw_store_schema_version());
	pw_store_close(s);
}
END_TEST

START_TEST(baseline_first_completed_run)
{
	struct pw_store *s = with_baseline();

	assert_sql_int("SELECT count(*) FROM events WHERE kind = 'baseline'", 2);
	assert_sql_int("SELECT count(*) FROM events WHERE kind != 'baseline'", 0);
	/* 443, closed and never anything else, has no row: closed by default */
	assert_sql_int("SELECT count(*) FROM ports", 3);
	assert_sql_int("SELECT count(*) FROM ports WHERE port = 443", 0);
	assert_sql_str("SELECT state || ' ' || first_seen FROM port_states WHERE port = 8080",
		       "filtered 2026-11-25 13:00:03");
	assert_sql_int("SELECT baseline_run_id FROM jobs WHERE name = 'web'", 1);
	assert_sql_str("SELECT status FROM runs WHERE id = 1", "completed");
	assert_sql_int("SELECT probes FROM runs WHERE id = 1", 4);
	assert_sql_int("SELECT n_open FROM runs WHERE id = 1", 2);
	assert_sql_int("SELECT n_changes FROM runs WHERE id = 1", 0);
	assert_sql_str("SELECT baseline FROM run_summary WHERE run_id = 1", "yes");
	assert_sql_str("SELECT group_concat(address || ':' || port, ' ') FROM open_ports",
		       "127.0.0.1:22 127.0.0.1:80");
	assert_sql_str("SELECT open_since FROM open_ports WHERE port = 22", "2026-11-25 13:00:01");
	pw_store_close(s);
}
END_TEST

START_TEST(aborted_first_run_is_no_baseline)
{
	struct pw_store *s = open_store(0);
	int64_t run = begin(s, "web", SEC(0));

	expect(s, run, "127.0.0.1", 22, PW_STATE_CLOSED, 0, SEC(1), PW_CHANGE_NEW, false);
	expect(s, run, "127.0.0.1", 23, PW_STATE_OPEN, 0, SEC(1), PW_CHANGE_BASELINE, false);
	end(s, run, PW_RUN_ABORTED, SEC(2));
	assert_sql_int("SELECT baseline_run_id IS NULL FROM jobs", 1);

	/* still no baseline: a difference is not "opened" */
	run = begin(s, "web", SEC(10));
	expect(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(11), PW_CHANGE_BASELINE, false);
	expect(s, run, "127.0.0.1", 23, PW_STATE_CLOSED, 0, SEC(11), PW_CHANGE_BASELINE, false);
	end(s, run, PW_RUN_COMPLETED, SEC(12));
	assert_sql_int("SELECT baseline_run_id FROM jobs", run);
	assert_sql_int("SELECT count(*) FROM events WHERE kind = 'opened'", 0);
	assert_sql_int("SELECT count(*) FROM events WHERE kind = 'baseline'", 3);

	/* now it has one */
	run = begin(s, "web", SEC(20));
	expect(s, run, "127.0.0.1", 22, PW_STATE_CLOSED, 0, SEC(21), PW_CHANGE_CLOSED, true);
	end(s, run, PW_RUN_COMPLETED, SEC(22));
	/* a second job has its own baseline */
	run = begin(s, "db", SEC(30));
	expect(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(31), PW_CHANGE_BASELINE, false);
	end(s, run, PW_RUN_COMPLETED, SEC(32));
	pw_store_close(s);
}
END_TEST

START_TEST(open_to_closed_and_back)
{
	struct pw_store *s = with_baseline();
	int64_t run = begin(s, "web", SEC(100));
	enum pw_state st;

	expect(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(101), PW_CHANGE_NONE, false);
	expect(s, run, "127.0.0.1", 80, PW_STATE_CLOSED, 0, SEC(102), PW_CHANGE_CLOSED, true);
	expect(s, run, "127.0.0.1", 443, PW_STATE_OPEN, 0, SEC(103), PW_CHANGE_OPENED, true);
	ck_assert_int_eq(pw_store_get_state(s, run, v4("127.0.0.1"), 80, &st), 0);
	ck_assert_int_eq(st, PW_STATE_CLOSED);
	/* a port without a row is closed, once the job has a baseline */
	ck_assert_int_eq(pw_store_get_state(s, run, v4("127.0.0.1"), 81, &st), 0);
	ck_assert_int_eq(st, PW_STATE_CLOSED);
	end(s, run, PW_RUN_COMPLETED, SEC(104));

	assert_sql_str("SELECT old_state || '>' || new_state || ' ' || major FROM events"
		       " WHERE kind = 'closed'",
		       "open>closed 1");
	assert_sql_str("SELECT old_state || '>' || new_state FROM events WHERE kind = 'opened'",
		       "closed>open");
	assert_sql_str("SELECT state FROM ports WHERE port = 80", "closed");
	assert_sql_int("SELECT last_change_usec FROM ports WHERE port = 80", (int64_t)SEC(102));
	/* unchanged: last_change stays; last_seen is written lazily */
	assert_sql_int("SELECT last_change_usec FROM ports WHERE port = 22", (int64_t)SEC(1));
	assert_sql_int("SELECT last_seen_usec FROM ports WHERE port = 22", (int64_t)SEC(1));
	assert_sql_int("SELECT last_seen_usec FROM ports WHERE port = 80", (int64_t)SEC(102));
	assert_sql_int("SELECT n_changes FROM runs WHERE id = 2", 2);
	assert_sql_int("SELECT count(*) FROM recent_changes", 2);
	assert_sql_str("SELECT kind || ' ' || time FROM recent_changes LIMIT 1",
		       "opened 2026-11-25 13:01:43");
	assert_sql_str("SELECT group_concat(port, ' ') FROM open_ports", "22 443");
	pw_store_close(s);
	/* a clean close writes it exactly */
	assert_sql_int("SELECT last_seen_usec FROM ports WHERE port = 22", (int64_t)SEC(101));
	assert_sql_int("SELECT last_change_usec FROM ports WHERE port = 22", (int64_t)SEC(1));
}
END_TEST

START_TEST(filtered_only_when_confirmed)
{
	struct pw_store *s = with_baseline();
	int64_t run = begin(s, "web", SEC(100));
	enum pw_state st;

	/* timeout that the re-probes did not confirm: a flap, state stays open */
	expect(s, run, "127.0.0.1", 22, PW_STATE_FILTERED, PW_OBS_UNCONFIRMED, SEC(101),
	       PW_CHANGE_FLAP, false);
	ck_assert_int_eq(pw_store_get_state(s, run, v4("127.0.0.1"), 22, &st), 0);
	ck_assert_int_eq(st, PW_STATE_OPEN);
	/* minor change among not-open states */
	expect(s, run, "127.0.0.1", 443, PW_STATE_FILTERED, 0, SEC(102), PW_CHANGE_FILTERED, false);
	expect(s, run, "127.0.0.1", 8080, PW_STATE_CLOSED, 0, SEC(102), PW_CHANGE_CLOSED, false);
	end(s, run, PW_RUN_COMPLETED, SEC(103));
	assert_sql_str("SELECT state FROM ports WHERE port = 22", "open");
	assert_sql_int("SELECT last_change_usec FROM ports WHERE port = 22", (int64_t)SEC(1));
	assert_sql_str("SELECT state || '>' || seen FROM flaps", "open>filtered");
	assert_sql_int("SELECT n_flaps FROM runs WHERE id = 2", 1);
	assert_sql_int("SELECT count(*) FROM recent_changes WHERE importance = 'minor'", 2);
	assert_sql_int("SELECT count(*) FROM major_changes", 0);

	/* confirmed the next time: a major "filtered" change */
	run = begin(s, "web", SEC(200));
	expect(s, run, "127.0.0.1", 22, PW_STATE_FILTERED, 0, SEC(201), PW_CHANGE_FILTERED, true);
	end(s, run, PW_RUN_COMPLETED, SEC(202));
	assert_sql_str("SELECT state FROM ports WHERE port = 22", "filtered");
	assert_sql_str("SELECT kind || ' ' || old_state || '>' || new_state FROM major_changes",
		       "filtered open>filtered");
	assert_sql_str("SELECT group_concat(kind, ',') FROM port_timeline WHERE port = 22",
		       "baseline,flap,filtered");
	pw_store_close(s);
}
END_TEST

START_TEST(aborted_run_closes_nothing)
{
	struct pw_store *s = with_baseline();
	int64_t run = begin(s, "web", SEC(100));
	struct pw_store_run_info last, done;

	expect(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(101), PW_CHANGE_NONE, false);
	end(s, run, PW_RUN_ABORTED, SEC(102));
	assert_sql_int("SELECT count(*) FROM events WHERE run_id = 2", 0);
	assert_sql_str("SELECT group_concat(port, ' ') FROM open_ports", "22 80");
	assert_sql_str("SELECT status || ' ' || probes FROM runs WHERE id = 2", "aborted 1");
	/* port 80 not probed: last seen in run 1 (22 is, once written) */
	assert_sql_int("SELECT last_run_id FROM ports WHERE port = 80", 1);
	assert_sql_int("SELECT last_run_id FROM ports WHERE port = 22", 1);

	ck_assert_int_eq(pw_store_last_run(s, "web", &last, &done), 0);
	ck_assert_int_eq(last.run_id, 2);
	ck_assert_int_eq(last.status, PW_RUN_ABORTED);
	ck_assert_uint_eq(last.started_usec, SEC(100));
	ck_assert_uint_eq(last.ended_usec, SEC(102));
	ck_assert_int_eq(done.run_id, 1);
	ck_assert_uint_eq(done.ended_usec, SEC(4));
	ck_assert_int_eq(pw_store_last_run(s, "nope", &last, NULL), -ENOENT);
	pw_store_close(s);
	assert_sql_int("SELECT last_run_id FROM ports WHERE port = 80", 1);
	assert_sql_int("SELECT last_run_id FROM ports WHERE port = 22", 2);
}
END_TEST

START_TEST(new_ports_after_baseline)
{
	struct pw_store *s = with_baseline();
	int64_t run = begin(s, "web", SEC(100));

	/* after the baseline, a port without a row in the space it covered
	 * is closed: no change and no row, or a change from closed; ::1 was
	 * not covered: a first sighting */
	expect(s, run, "::1", 22, PW_STATE_OPEN, 0, SEC(101), PW_CHANGE_OPENED, true);
	expect(s, run, "127.0.0.1", 9000, PW_STATE_CLOSED, 0, SEC(101), PW_CHANGE_NONE, false);
	expect(s, run, "127.0.0.1", 9001, PW_STATE_FILTERED, 0, SEC(101), PW_CHANGE_FILTERED,
	       false);
	end(s, run, PW_RUN_COMPLETED, SEC(102));
	assert_sql_int("SELECT count(*) FROM events WHERE port = 9000", 0);
	assert_sql_int("SELECT count(*) FROM ports WHERE port = 9000", 0);
	assert_sql_str("SELECT state FROM ports WHERE port = 9001", "filtered");
	assert_sql_int("SELECT n_changes FROM runs WHERE id = 2", 2);
	assert_sql_str("SELECT coalesce(old_state, 'NULL') || '>' || new_state FROM events"
		       " WHERE kind = 'opened'",
		       "NULL>open");
	assert_sql_str("SELECT address FROM ports WHERE port = 22 ORDER BY addr LIMIT 1", "::1");
	/* sorted numerically by the blob: ::1 before ::ffff:127.0.0.1 */
	assert_sql_str("SELECT group_concat(address, ' ') FROM open_ports",
		       "::1 127.0.0.1 127.0.0.1");
	assert_sql_int("SELECT length(addr) FROM ports WHERE address = '::1'", 16);
	pw_store_close(s);
}
END_TEST

static int count_cb(const struct pw_store_port *p, void *userdata)
{
	unsigned *n = userdata;

	if (p->port == 80) {
		ck_assert_int_eq(p->state, PW_STATE_OPEN);
		ck_assert_uint_eq(p->first_seen_usec, SEC(1));
		ck_assert(p->addr == v4("127.0.0.1"));
	}
	(*n)++;
	return 0;
}

static int stop_cb(const struct pw_store_port *p, void *userdata)
{
	return -ECANCELED;
}

START_TEST(state_survives_restart)
{
	struct pw_store *s = with_baseline();
	unsigned n = 0;
	int64_t run;

	pw_store_close(s);
	s = open_store(0);
	ck_assert_int_eq(pw_store_load_states(s, "web", count_cb, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(pw_store_load_states(s, "web", stop_cb, NULL), -ECANCELED);
	n = 0;
	ck_assert_int_eq(pw_store_load_states(s, "unknown", count_cb, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* the new run ids continue, the baseline is remembered */
	run = begin(s, "web", SEC(100));
	ck_assert_int_eq(run, 2);
	expect(s, run, "127.0.0.1", 80, PW_STATE_CLOSED, 0, SEC(101), PW_CHANGE_CLOSED, true);
	expect(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(101), PW_CHANGE_NONE, false);
	end(s, run, PW_RUN_COMPLETED, SEC(102));
	pw_store_close(s);
	assert_sql_int("SELECT count(*) FROM ports", 3);
	assert_sql_int("SELECT count(*) FROM events", 3);
}
END_TEST

/*
 * A job whose table of known ports is exactly full (256 entries, the first
 * capacity) grows it on the next observation, even of a known port: the
 * entry found before growing must not be used after (it was, and wrote
 * into freed memory: ASan in daemon-scan). Both ways a table gets full: by
 * a run, and by loading the job from the database at a run's start.
 */
START_TEST(full_table_keeps_the_entry_it_changes)
{
	struct pw_store *s = open_store(0);
	int64_t run = begin(s, "full", SEC(1));

	for (uint16_t p = 1; p <= 256; p++)
		expect(s, run, "127.0.0.1", p, PW_STATE_OPEN, 0, SEC(2), PW_CHANGE_BASELINE, false);
	end(s, run, PW_RUN_COMPLETED, SEC(3));

	run = begin(s, "full", SEC(10));
	expect(s, run, "127.0.0.1", 7, PW_STATE_CLOSED, 0, SEC(11), PW_CHANGE_CLOSED, true);
	expect(s, run, "127.0.0.1", 8, PW_STATE_OPEN, 0, SEC(11), PW_CHANGE_NONE, false);
	end(s, run, PW_RUN_COMPLETED, SEC(12));
	pw_store_close(s);
	assert_sql_str(
		"SELECT group_concat(x, ' ') FROM (SELECT port || '=' || state AS x FROM ports"
		" WHERE port IN (7, 8) ORDER BY port)",
		"7=closed 8=open");

	s = open_store(0);
	run = begin(s, "full", SEC(20));
	expect(s, run, "127.0.0.1", 8, PW_STATE_CLOSED, 0, SEC(21), PW_CHANGE_CLOSED, true);
	expect(s, run, "127.0.0.1", 7, PW_STATE_OPEN, 0, SEC(21), PW_CHANGE_OPENED, true);
	end(s, run, PW_RUN_COMPLETED, SEC(22));
	pw_store_close(s);
	assert_sql_str(
		"SELECT group_concat(x, ' ') FROM (SELECT port || '=' || state AS x FROM ports"
		" WHERE port IN (7, 8) ORDER BY port)",
		"7=open 8=closed");
	assert_sql_int("SELECT count(*) FROM ports", 256);
	assert_sql_int("SELECT count(*) FROM events WHERE kind <> 'baseline'", 3);
}
END_TEST

START_TEST(migrates_from_previous_version)
{
	unsigned n = pw_store_n_migrations;
	sqlite3 *db = raw_open();
	struct pw_store *s;
	char sql[64];
	int64_t run;

	/* a database as the previous release left it, with history */
	for (unsigned i = 0; i + 1 < n; i++) {
		raw_exec(db, pw_store_migrations[i].sql);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %u", i + 1);
		raw_exec(db, sql);
	}
	raw_exec(
		db,
		"INSERT INTO jobs VALUES (1, 'web', 1, 0);"
		"INSERT INTO runs (id, job_id, status, started_usec, ended_usec, updated_usec)"
		" VALUES (1, 1, 'completed', 1795611600000000, 1795611601000000, 0);"
		"INSERT INTO ports (job_id, addr, port, address, state, first_seen_usec,"
		" last_seen_usec, last_change_usec, last_run_id, rtt_usec) VALUES (1, x'00000000000000000000ffff7f000001', 22,"
		" '127.0.0.1', 'open', 1795611600000000, 1795611600000000,"
		" 1795611600000000, 1, NULL);");
	sqlite3_close(db);

	s = open_store(0);
	ck_assert_uint_eq(pw_store_db_version(s), n);
	run = begin(s, "web", SEC(10));
	ck_assert_int_eq(run, 2);
	expect(s, run, "127.0.0.1", 22, PW_STATE_CLOSED, 0, SEC(11), PW_CHANGE_CLOSED, true);
	end(s, run, PW_RUN_COMPLETED, SEC(12));
	pw_store_close(s);
	assert_sql_int("PRAGMA user_version", n);
	assert_sql_str("SELECT kind FROM recent_changes", "closed");
	assert_sql_int("SELECT count(*) FROM run_summary", 2);
}
END_TEST

START_TEST(refuses_newer_schema)
{
	struct pw_store *s = open_store(0), *s2 = NULL;
	char sql[64], *err = NULL;
	sqlite3 *db;

	pw_store_close(s);
	db = raw_open();
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %u", pw_store_schema_version() + 1);
	raw_exec(db, sql);
	sqlite3_close(db);
	ck_assert_int_eq(pw_store_open(db_path, 0, &s2, &err), -EPROTONOSUPPORT);
	ck_assert_ptr_null(s2);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, db_path) && strstr(err, "newer than this portwatch"), "%s", err);
	free(err);
	err = NULL;
	ck_assert_int_eq(pw_store_open(db_path, PW_STORE_READONLY, &s2, &err), -EPROTONOSUPPORT);
	free(err);
	/* untouched */
	assert_sql_int("PRAGMA user_version", pw_store_schema_version() + 1);
}
END_TEST

START_TEST(readonly_open)
{
	struct pw_store *s = with_baseline(), *ro;
	int64_t run = 0;
	unsigned n = 0;
	struct pw_store_run_info last;
	char *err = NULL;
	sqlite3 *db;

	ro = open_store(PW_STORE_READONLY);
	ck_assert_int_eq(pw_store_run_begin(ro, "web", SEC(50), &run), -EROFS);
	ck_assert_int_eq(run, 0);
	ck_assert_int_eq(pw_store_prune(ro, SEC(50), 10), -EROFS);
	ck_assert_int_eq(pw_store_load_states(ro, "web", count_cb, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(pw_store_last_run(ro, "web", &last, NULL), 0);
	ck_assert_int_eq(last.run_id, 1);
	/* the reader sees what the writer commits, while both are open */
	run = begin(s, "web", SEC(100));
	expect(s, run, "127.0.0.1", 80, PW_STATE_CLOSED, 0, SEC(101), PW_CHANGE_CLOSED, true);
	ck_assert_int_eq(pw_store_flush(s), 0);
	ck_assert_int_eq(pw_store_last_run(ro, "web", &last, NULL), 0);
	ck_assert_int_eq(last.run_id, 2);
	ck_assert_int_eq(last.status, PW_RUN_RUNNING);
	pw_store_close(ro);
	pw_store_close(s);

	/* read-only cannot upgrade: an old schema is refused */
	db = raw_open();
	raw_exec(db, "PRAGMA user_version = 1");
	sqlite3_close(db);
	ck_assert_int_eq(pw_store_open(db_path, PW_STORE_READONLY, &ro, &err), -ESTALE);
	ck_assert_msg(strstr(err, "older than this portwatch"), "%s", err);
	free(err);
	err = NULL;
	/* and a missing file is not created */
	teardown();
	setup();
	ck_assert_int_lt(pw_store_open(db_path, PW_STORE_READONLY, &ro, &err), 0);
	ck_assert_msg(strstr(err, db_path), "%s", err);
	free(err);
	ck_assert_int_eq(access(db_path, F_OK), -1);
}
END_TEST

START_TEST(garbage_file)
{
	struct pw_store *s = NULL;
	char *err = NULL;
	FILE *f = fopen(db_path, "we");

	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database, it is a text file\n", f);
	fclose(f);
	ck_assert_int_eq(pw_store_open(db_path, 0, &s, &err), -EBADMSG);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, db_path) && strstr(err, "not a database"), "%s", err);
	free(err);
	err = NULL;
	ck_assert_int_eq(pw_store_open(db_path, PW_STORE_READONLY, &s, &err), -EBADMSG);
	free(err);
}
END_TEST

START_TEST(foreign_database)
{
	sqlite3 *db = raw_open();
	struct pw_store *s = NULL;
	char *err = NULL;

	raw_exec(db, "CREATE TABLE photos (id INTEGER PRIMARY KEY)");
	sqlite3_close(db);
	ck_assert_int_eq(pw_store_open(db_path, 0, &s, &err), -EBADMSG);
	ck_assert_msg(strstr(err, "not a portwatch database"), "%s", err);
	free(err);
	assert_sql_int("SELECT count(*) FROM sqlite_master", 1);
}
END_TEST

/*
 * A file that is not ours is refused before anything is written to it:
 * its journal mode stays as it was and no -wal file appears.
 */
static void assert_refused_untouched(const char *setup_sql)
{
	sqlite3 *db = raw_open();
	struct pw_store *s = NULL;
	char *err = NULL, wal[300];

	raw_exec(db, setup_sql);
	sqlite3_close(db);
	ck_assert_int_eq(pw_store_open(db_path, 0, &s, &err), -EBADMSG);
	ck_assert_ptr_null(s);
	ck_assert_msg(err && strstr(err, db_path) && strstr(err, ": not a portwatch database"),
		      "%s: %s", setup_sql, err);
	free(err);
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	ck_assert_msg(access(wal, F_OK) < 0, "%s: a -wal file appeared", setup_sql);
	assert_sql_str("PRAGMA journal_mode", "delete");
	teardown();
	setup();
}

START_TEST(foreign_version_or_id_untouched)
{
	assert_refused_untouched("CREATE TABLE photos (id INTEGER PRIMARY KEY);"
				 " PRAGMA user_version = -1");
	assert_refused_untouched("PRAGMA user_version = -1");
	assert_refused_untouched("CREATE TABLE photos (id INTEGER PRIMARY KEY);"
				 " PRAGMA application_id = 12345; PRAGMA user_version = 3");
	assert_refused_untouched("PRAGMA application_id = 12345");
}
END_TEST

START_TEST(memory_database)
{
	struct pw_store *s = NULL;
	int64_t run = 0;

	ck_assert_int_eq(pw_store_open(":memory:", 0, &s, NULL), 0);
	ck_assert_int_eq(pw_store_run_begin(s, "m", SEC(0), &run), 0);
	expect(s, run, "127.0.0.1", 1, PW_STATE_OPEN, 0, SEC(1), PW_CHANGE_BASELINE, false);
	expect(s, run, "127.0.0.1", 1, PW_STATE_OPEN, 0, SEC(2), PW_CHANGE_NONE, false);
	end(s, run, PW_RUN_COMPLETED, SEC(2));
	ck_assert_uint_eq(pw_store_pending(s), 0);
	pw_store_close(s);
}
END_TEST

START_TEST(batches_not_per_probe)
{
	struct pw_store *s = with_baseline();
	int64_t run;

	pw_store_set_batch(s, 4, 0);
	pw_store_set_seen_interval(s, 0);
	run = begin(s, "web", SEC(100));
	expect(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(101), PW_CHANGE_NONE, false);
	expect(s, run, "127.0.0.1", 80, PW_STATE_CLOSED, 0, SEC(101), PW_CHANGE_CLOSED, true);
	expect(s, run, "127.0.0.1", 443, PW_STATE_CLOSED, 0, SEC(101), PW_CHANGE_NONE, false);
	/* nothing written yet: not even the run */
	assert_sql_int("SELECT count(*) FROM runs", 1);
	assert_sql_int("SELECT count(*) FROM events", 2);
	/* one event, the rows of 22 and 80 (443 has none: closed by
	 * default) and the run's counters */
	ck_assert_uint_eq(pw_store_pending(s), 4);
	/* the fourth observation fills the batch */
	expect(s, run, "127.0.0.1", 8080, PW_STATE_FILTERED, 0, SEC(102), PW_CHANGE_NONE, false);
	ck_assert_uint_eq(pw_store_pending(s), 0);
	assert_sql_int("SELECT count(*) FROM events", 3);
	assert_sql_str("SELECT status || ' ' || probes || ' ' || n_changes FROM runs WHERE id = 2",
		       "running 4 1");
	assert_sql_int("SELECT last_seen_usec FROM ports WHERE port = 8080", (int64_t)SEC(102));
	assert_sql_str("SELECT started FROM run_summary WHERE run_id = 2", "2026-11-25 13:01:40");
	end(s, run, PW_RUN_COMPLETED, SEC(103));
	pw_store_close(s);
}
END_TEST

/* A file renamed over, removed or overwritten while open takes no batch. */
START_TEST(replaced_or_overwritten_file_is_kept)
{
	struct pw_store *s = with_baseline();
	char moved[300];
	int64_t run = begin(s, "web", SEC(100));
	int fd;

	expect(s, run, "127.0.0.1", 80, PW_STATE_CLOSED, 0, SEC(101), PW_CHANGE_CLOSED, true);
	fd = open(db_path, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "garbage garbage!", 16, 0), 16);
	ck_assert_int_eq(pw_store_flush(s), -EBADMSG);
	ck_assert_msg(strstr(pw_store_last_error(s), db_path) &&
			      strstr(pw_store_last_error(s), "overwritten"),
		      "%s", pw_store_last_error(s));
	ck_assert_uint_gt(pw_store_pending(s), 0);
	/* the header back: the kept batch is written */
	ck_assert_int_eq(pwrite(fd, "SQLite format 3", 16, 0), 16);
	close(fd);
	ck_assert_int_eq(pw_store_flush(s), 0);
	ck_assert_uint_eq(pw_store_pending(s), 0);

	snprintf(moved, sizeof(moved), "%s.moved", db_path);
	ck_assert_int_eq(rename(db_path, moved), 0);
	fd = open(db_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	expect(s, run, "127.0.0.1", 80, PW_STATE_OPEN, 0, SEC(102), PW_CHANGE_OPENED, true);
	ck_assert_int_eq(pw_store_flush(s), -ESTALE);
	ck_assert_msg(strstr(pw_store_last_error(s), "replaced"), "%s", pw_store_last_error(s));
	ck_assert_int_eq(unlink(db_path), 0);
	ck_assert_int_eq(pw_store_flush(s), -ESTALE);
	ck_assert_msg(strstr(pw_store_last_error(s), "removed"), "%s", pw_store_last_error(s));
	ck_assert_uint_gt(pw_store_pending(s), 0);
	/* the same file back in place */
	ck_assert_int_eq(rename(moved, db_path), 0);
	end(s, run, PW_RUN_COMPLETED, SEC(103));
	ck_assert_uint_eq(pw_store_pending(s), 0);
	assert_sql_str(
		"SELECT group_concat(kind) FROM (SELECT kind FROM events WHERE port = 80 AND kind <> 'baseline' ORDER BY id)",
		"closed,opened");
	pw_store_close(s);
}
END_TEST

START_TEST(failed_write_is_kept_and_retried)
{
	struct pw_store *s = with_baseline();
	sqlite3 *locker = raw_open();
	int64_t run;

	pw_store_set_busy_timeout(s, 50);
	pw_store_set_batch(s, 2, 0);
	run = begin(s, "web", SEC(100));
	raw_exec(locker, "BEGIN IMMEDIATE");
	expect(s, run, "127.0.0.1", 80, PW_STATE_CLOSED, 0, SEC(101), PW_CHANGE_CLOSED, true);
	/* the automatic flush fails: the observation is kept */
	ck_assert_int_eq(observe(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(101), NULL),
			 PW_STORE_DEFERRED);
	ck_assert_int_eq(pw_store_flush(s), -EBUSY);
	ck_assert_msg(strstr(pw_store_last_error(s), db_path) &&
			      strstr(pw_store_last_error(s), "locked"),
		      "%s", pw_store_last_error(s));
	ck_assert_int_eq(pw_store_run_end(s, run, PW_RUN_COMPLETED, SEC(102)), -EBUSY);
	/* the event, the port row, and the run (counters and its end) */
	ck_assert_uint_eq(pw_store_pending(s), 3);
	/* ended in memory: a second end is refused, observations too */
	ck_assert_int_eq(pw_store_run_end(s, run, PW_RUN_COMPLETED, SEC(102)), -ESRCH);
	ck_assert_int_eq(observe(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(103), NULL),
			 -ESRCH);
	raw_exec(locker, "COMMIT");
	sqlite3_close(locker);
	ck_assert_int_eq(pw_store_flush(s), 0);
	ck_assert_uint_eq(pw_store_pending(s), 0);
	assert_sql_str("SELECT kind FROM recent_changes", "closed");
	assert_sql_str("SELECT status || ' ' || probes FROM runs WHERE id = 2", "completed 2");
	pw_store_close(s);
}
END_TEST

START_TEST(memory_bound_delays_changes)
{
	struct pw_store *s = with_baseline();
	sqlite3 *locker = raw_open();
	struct pw_change c = { .kind = PW_CHANGE_FLAP };
	enum pw_state st;
	int64_t run;

	pw_store_set_busy_timeout(s, 20);
	pw_store_set_batch(s, 1000, 1);
	run = begin(s, "web", SEC(100));
	raw_exec(locker, "BEGIN IMMEDIATE");
	expect(s, run, "127.0.0.1", 80, PW_STATE_CLOSED, 0, SEC(101), PW_CHANGE_CLOSED, true);
	ck_assert_int_eq(pw_store_flush(s), -EBUSY);
	/* at the bound: a second change is refused and not applied */
	ck_assert_int_eq(observe(s, run, "127.0.0.1", 22, PW_STATE_CLOSED, 0, SEC(102), &c),
			 -ENOBUFS);
	ck_assert_int_eq(c.kind, PW_CHANGE_FLAP); /* untouched */
	ck_assert_int_eq(pw_store_get_state(s, run, v4("127.0.0.1"), 22, &st), 0);
	ck_assert_int_eq(st, PW_STATE_OPEN);
	/* unchanged observations are still taken */
	expect(s, run, "127.0.0.1", 443, PW_STATE_CLOSED, 0, SEC(102), PW_CHANGE_NONE, false);
	raw_exec(locker, "COMMIT");
	sqlite3_close(locker);
	ck_assert_int_eq(pw_store_flush(s), 0);
	/* the refused change is detected again once there is room */
	expect(s, run, "127.0.0.1", 22, PW_STATE_CLOSED, 0, SEC(103), PW_CHANGE_CLOSED, true);
	end(s, run, PW_RUN_COMPLETED, SEC(104));
	assert_sql_int("SELECT count(*) FROM events WHERE kind = 'closed'", 2);
	assert_sql_int("SELECT probes FROM runs WHERE id = 2", 3);
	pw_store_close(s);
}
END_TEST

/* issue 14.3: a first run that could not keep an observation is no
 * baseline, or the next run reports the missing port as opened */
START_TEST(refused_observation_keeps_the_baseline_open)
{
	struct pw_store *s = open_store(0);
	sqlite3 *locker = raw_open();
	struct pw_store_prior prior;
	int64_t run;

	pw_store_set_busy_timeout(s, 20);
	pw_store_set_batch(s, 1000, 1);
	run = begin(s, "web", SEC(0));
	raw_exec(locker, "BEGIN IMMEDIATE");
	expect(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(1), PW_CHANGE_BASELINE, false);
	ck_assert_int_eq(pw_store_flush(s), -EBUSY);
	ck_assert_int_eq(observe(s, run, "127.0.0.1", 80, PW_STATE_OPEN, 0, SEC(1), NULL),
			 -ENOBUFS);
	raw_exec(locker, "COMMIT");
	sqlite3_close(locker);
	end(s, run, PW_RUN_COMPLETED, SEC(2));
	assert_sql_str("SELECT status FROM runs WHERE id = 1", "completed");
	assert_sql_int("SELECT count(*) FROM jobs WHERE baseline_run_id IS NULL", 1);

	run = begin(s, "web", SEC(10));
	ck_assert_int_eq(pw_store_prior(s, run, v4("127.0.0.1"), 80, &prior), 0);
	ck_assert(!prior.has_baseline);
	expect(s, run, "127.0.0.1", 80, PW_STATE_OPEN, 0, SEC(11), PW_CHANGE_BASELINE, false);
	expect(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(11), PW_CHANGE_NONE, false);
	end(s, run, PW_RUN_COMPLETED, SEC(12));
	assert_sql_int("SELECT baseline_run_id FROM jobs", run);
	assert_sql_int("SELECT count(*) FROM events WHERE kind = 'opened'", 0);
	pw_store_close(s);
}
END_TEST

START_TEST(recover_crashed_runs)
{
	struct pw_store *s = with_baseline();
	int64_t run = begin(s, "web", SEC(100));

	expect(s, run, "127.0.0.1", 80, PW_STATE_CLOSED, 0, SEC(105), PW_CHANGE_CLOSED, true);
	ck_assert_int_eq(pw_store_flush(s), 0);
	/* a kill -9 here: simulate by dropping the store's memory without end */
	ck_assert_int_eq(pw_store_recover_runs(s), 0); /* our own run is not touched */
	pw_store_close(s);
	assert_sql_str("SELECT status FROM runs WHERE id = 2", "running");
	s = open_store(0);
	ck_assert_int_eq(pw_store_recover_runs(s), 1);
	assert_sql_str("SELECT status || ' ' || ended FROM run_summary WHERE run_id = 2",
		       "aborted 2026-11-25 13:01:45");
	ck_assert_int_eq(pw_store_recover_runs(s), 0);
	pw_store_close(s);
}
END_TEST

/* Issue 12.5: runs whose rows never reached the database (it was locked,
 * then the daemon was killed) keep their ids to themselves: the next
 * daemon starts above every id that may have been named in the journal. */
START_TEST(run_ids_never_reused)
{
	struct pw_store *s = open_store(0);
	sqlite3 *locker = raw_open();
	int64_t first, last = 0, next;

	pw_store_set_busy_timeout(s, 20);
	first = begin(s, "web", SEC(0));
	ck_assert_int_eq(pw_store_flush(s), 0);
	raw_exec(locker, "BEGIN IMMEDIATE");
	for (int i = 0; i < 20; i++) {
		last = begin(s, "web", SEC(1 + i));
		ck_assert_int_eq(pw_store_run_end(s, last, PW_RUN_COMPLETED, SEC(1 + i)), -EBUSY);
	}
	ck_assert_int_eq(last, first + 20);
	/* the kill: the queued rows are lost with the process */
	pw_store_close(s);
	raw_exec(locker, "ROLLBACK");
	sqlite3_close(locker);
	ck_assert_int_eq(raw_int("SELECT max(id) FROM runs"), first);

	s = open_store(0);
	next = begin(s, "web", SEC(100));
	ck_assert_int_gt(next, last);
	ck_assert_int_eq(pw_store_flush(s), 0);
	/* a daemon that found nothing to fear continues without gaps */
	ck_assert_int_eq(begin(s, "web", SEC(101)), next + 1);
	pw_store_close(s);
}
END_TEST

static void count_commit(void *userdata)
{
	(*(unsigned *)userdata)++;
}

/* The daemon tells a change once the transaction recording it commits. */
START_TEST(commit_callback_after_each_commit)
{
	struct pw_store *s = with_baseline();
	sqlite3 *locker = raw_open();
	unsigned commits = 0;
	int64_t run;

	pw_store_set_commit_cb(s, count_commit, &commits);
	pw_store_set_busy_timeout(s, 20);
	run = begin(s, "web", SEC(100));
	ck_assert_int_eq(pw_store_flush(s), 0);
	ck_assert_uint_eq(commits, 1);
	ck_assert_int_eq(pw_store_flush(s), 0); /* nothing queued: no transaction */
	ck_assert_uint_eq(commits, 1);
	expect(s, run, "127.0.0.1", 80, PW_STATE_CLOSED, 0, SEC(101), PW_CHANGE_CLOSED, true);
	raw_exec(locker, "BEGIN IMMEDIATE");
	ck_assert_int_eq(pw_store_flush(s), -EBUSY);
	ck_assert_uint_eq(commits, 1);
	raw_exec(locker, "COMMIT");
	sqlite3_close(locker);
	ck_assert_int_eq(pw_store_run_end(s, run, PW_RUN_COMPLETED, SEC(102)), 0);
	ck_assert_uint_eq(commits, 2);
	pw_store_set_commit_cb(s, NULL, NULL);
	pw_store_close(s);
	ck_assert_uint_eq(commits, 2);
}
END_TEST

/*
 * Issue 14.4: closed ports that were never anything else have no rows,
 * and "closed" for a port without one holds only inside the space the
 * job's completed runs covered: a port new to the job is a first sighting.
 */
static int64_t begin_over(struct pw_store *s, const char *a0, const char *a1, uint16_t p0,
			  uint16_t p1, uint64_t t)
{
	int64_t run = 0;

	ck_assert_int_eq(pw_store_run_begin(s, "web", t, &run), 0);
	run_space(s, run, a0, a1, p0, p1);
	return run;
}

START_TEST(coverage_decides_closed_by_default)
{
	struct pw_store *s = open_store(0);
	int64_t run = begin_over(s, "127.0.0.1", "127.0.0.1", 1, 100, SEC(0));

	expect(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(1), PW_CHANGE_BASELINE, false);
	expect(s, run, "127.0.0.1", 50, PW_STATE_CLOSED, 0, SEC(1), PW_CHANGE_NEW, false);
	end(s, run, PW_RUN_COMPLETED, SEC(2));
	assert_sql_int("SELECT count(*) FROM ports", 1);

	/* the ports grew: 150 is new to the job, 50 is closed as before */
	run = begin_over(s, "127.0.0.1", "127.0.0.1", 1, 200, SEC(10));
	expect(s, run, "127.0.0.1", 50, PW_STATE_CLOSED, 0, SEC(11), PW_CHANGE_NONE, false);
	expect(s, run, "127.0.0.1", 150, PW_STATE_FILTERED, 0, SEC(11), PW_CHANGE_NEW, false);
	expect(s, run, "127.0.0.1", 160, PW_STATE_CLOSED, 0, SEC(11), PW_CHANGE_NEW, false);
	end(s, run, PW_RUN_COMPLETED, SEC(12));
	/* 1-200 covers 1-100: one space */
	assert_sql_str("SELECT run_id || ' ' || address_ranges || ' ' || port_ranges"
		       " FROM covered_spaces",
		       "2 1 1");
	pw_store_close(s);

	/* read back: 160 is closed now, a change from it is reported */
	s = open_store(0);
	run = begin_over(s, "127.0.0.2", "127.0.0.2", 1, 200, SEC(20));
	expect(s, run, "127.0.0.1", 160, PW_STATE_OPEN, 0, SEC(21), PW_CHANGE_OPENED, true);
	/* 127.0.0.2 was never covered, and an aborted run covers nothing */
	expect(s, run, "127.0.0.2", 80, PW_STATE_FILTERED, 0, SEC(21), PW_CHANGE_NEW, false);
	end(s, run, PW_RUN_ABORTED, SEC(22));
	assert_sql_str("SELECT old_state || '>' || new_state FROM events WHERE port = 160",
		       "closed>open");
	run = begin_over(s, "127.0.0.2", "127.0.0.2", 1, 200, SEC(30));
	expect(s, run, "127.0.0.2", 81, PW_STATE_FILTERED, 0, SEC(31), PW_CHANGE_NEW, false);
	end(s, run, PW_RUN_COMPLETED, SEC(32));
	assert_sql_int("SELECT count(*) FROM covered_spaces", 2);

	/* at most 16 spaces per job: the oldest goes, its ports are unknown */
	for (int i = 0; i < 16; i++) {
		char a[32];

		snprintf(a, sizeof(a), "127.0.1.%d", i);
		run = begin_over(s, a, a, 1, 10, SEC(40 + i));
		end(s, run, PW_RUN_COMPLETED, SEC(40 + i));
	}
	assert_sql_int("SELECT count(*) FROM covered_spaces", 16);
	run = begin(s, "web", SEC(100));
	expect(s, run, "127.0.0.1", 50, PW_STATE_FILTERED, 0, SEC(101), PW_CHANGE_NEW, false);
	end(s, run, PW_RUN_ABORTED, SEC(102));
	pw_store_close(s);
}
END_TEST

/* A /16 x all ports of closed ports leaves no rows and no entries. */
START_TEST(closed_ports_cost_nothing)
{
	struct pw_store *s = open_store(0);
	int64_t run = begin_over(s, "127.0.0.0", "127.0.255.255", 1, 65535, SEC(0));
	struct pw_store_obs o = { .state = PW_STATE_CLOSED, .time_usec = SEC(1) };

	for (unsigned i = 0; i < 200000; i++) {
		o.addr = v4("127.0.0.0") + i / 1000;
		o.port = (uint16_t)(1 + i % 1000);
		ck_assert_int_eq(pw_test_observe(s, run, &o, 0, PW_EXPECT_NONE, NULL), 0);
	}
	end(s, run, PW_RUN_COMPLETED, SEC(2));
	assert_sql_int("SELECT count(*) FROM ports", 0);
	assert_sql_int("SELECT probes FROM runs", 200000);
	assert_sql_int("SELECT n_closed FROM runs", 200000);
	pw_store_close(s);
}
END_TEST

START_TEST(retention_prunes_in_batches)
{
	struct pw_store *s = with_baseline(); /* run 1, 2 events at SEC(1) */
	struct pw_store_run_info last;
	int64_t run;
	int n;

	for (int i = 1; i <= 3; i++) {
		run = begin(s, "web", SEC(1000 * i));
		expect(s, run, "127.0.0.1", 80, i % 2 ? PW_STATE_CLOSED : PW_STATE_OPEN, 0,
		       SEC(1000 * i + 1), i % 2 ? PW_CHANGE_CLOSED : PW_CHANGE_OPENED, true);
		end(s, run, PW_RUN_COMPLETED, SEC(1000 * i + 2));
	}
	/* older than SEC(1500): run 1's 2 events, run 2's 1, then runs 1 and 2 */
	n = pw_store_prune(s, SEC(1500), 2);
	ck_assert_int_eq(n, 2);
	assert_sql_int("SELECT count(*) FROM events", 3);
	n = pw_store_prune(s, SEC(1500), 2);
	ck_assert_int_eq(n, 2); /* 1 event + run 1 */
	n = pw_store_prune(s, SEC(1500), 2);
	ck_assert_int_eq(n, 1); /* run 2 */
	ck_assert_int_eq(pw_store_prune(s, SEC(1500), 2), 0);
	assert_sql_str("SELECT group_concat(id, ' ') FROM runs", "3 4");
	assert_sql_int("SELECT count(*) FROM events", 2);
	/* current states are kept, the baseline is still known */
	assert_sql_int("SELECT count(*) FROM ports", 3);
	assert_sql_int("SELECT baseline_run_id FROM jobs", 1);
	/* everything old: the latest run of the job stays */
	ck_assert_int_eq(pw_store_prune(s, SEC(10000), 100), 3);
	assert_sql_str("SELECT group_concat(id, ' ') FROM runs", "4");
	ck_assert_int_eq(pw_store_last_run(s, "web", &last, NULL), 0);
	ck_assert_int_eq(last.run_id, 4);
	ck_assert_int_eq(pw_store_prune(s, SEC(10000), 0), -EINVAL);
	/* and a new run does not re-baseline */
	run = begin(s, "web", SEC(20000));
	expect(s, run, "127.0.0.1", 80, PW_STATE_OPEN, 0, SEC(20001), PW_CHANGE_OPENED, true);
	end(s, run, PW_RUN_COMPLETED, SEC(20002));
	pw_store_close(s);
}
END_TEST

static int rtt_cb(const struct pw_store_rtt *r, void *userdata)
{
	uint64_t *sum = userdata;

	*sum += r->srtt_usec * 10 + r->rttvar_usec + (r->addr == v4("::1") ? 1000000 : 0);
	return 0;
}

START_TEST(rtt_round_trip)
{
	struct pw_store *s = open_store(0);
	struct pw_store_rtt v[] = {
		{ .addr = v4("127.0.0.1"), .srtt_usec = 100, .rttvar_usec = 5 },
		{ .addr = v4("::1"), .srtt_usec = 200, .rttvar_usec = 7 },
	};
	uint64_t sum = 0;

	ck_assert_int_eq(pw_store_load_rtt(s, "web", rtt_cb, &sum), 0);
	ck_assert_uint_eq(sum, 0);
	ck_assert_int_eq(pw_store_save_rtt(s, "web", v, 2, SEC(1)), 0);
	v[0].srtt_usec = 300;
	ck_assert_int_eq(pw_store_save_rtt(s, "web", v, 1, SEC(2)), 0);
	pw_store_close(s);
	s = open_store(0);
	ck_assert_int_eq(pw_store_load_rtt(s, "web", rtt_cb, &sum), 0);
	ck_assert_uint_eq(sum, 3000 + 5 + 2000 + 7 + 1000000);
	assert_sql_str("SELECT group_concat(address, ' ') FROM rtt ORDER BY addr", "::1 127.0.0.1");
	pw_store_close(s);
}
END_TEST

START_TEST(bad_arguments)
{
	struct pw_store *s = with_baseline();
	struct pw_store_obs o = { .addr = v4("127.0.0.1"), .port = 1, .state = _PW_STATE_MAX };
	struct pw_store_prior prior;
	int64_t run;

	ck_assert_int_eq(pw_store_record(s, 99, &o), -ESRCH);
	ck_assert_int_eq(pw_store_prior(s, 99, o.addr, o.port, &prior), -ESRCH);
	ck_assert_int_eq(pw_store_run_end(s, 99, PW_RUN_COMPLETED, 0), -ESRCH);
	ck_assert_int_eq(pw_store_run_begin(s, "", 0, &run), -EINVAL);
	run = begin(s, "web", SEC(10));
	ck_assert_int_eq(pw_store_record(s, run, &o), -EINVAL);
	/* the store records what it is told, but only what can be stored */
	o.state = PW_STATE_OPEN;
	o.change.kind = _PW_CHANGE_MAX;
	ck_assert_int_eq(pw_store_record(s, run, &o), -EINVAL);
	o.change.kind = PW_CHANGE_OPENED;
	o.verdict = _PW_VERDICT_MAX;
	ck_assert_int_eq(pw_store_record(s, run, &o), -EINVAL);
	ck_assert_int_eq(pw_store_prior(s, run, o.addr, o.port, &prior), 0);
	ck_assert(prior.has_baseline);
	ck_assert(prior.known && prior.state == PW_STATE_CLOSED); /* covered, no row */
	ck_assert_int_eq(pw_store_run_end(s, run, PW_RUN_RUNNING, 0), -EINVAL);
	ck_assert_str_eq(pw_run_status_to_string(PW_RUN_ABORTED), "aborted");
	ck_assert_int_eq(pw_run_status_from_string("failed"), PW_RUN_FAILED);
	ck_assert_int_eq(pw_run_status_from_string("done"), -EINVAL);
	end(s, run, PW_RUN_FAILED, SEC(11));
	assert_sql_str("SELECT status FROM runs WHERE id = 2", "failed");
	pw_store_close(s);
	ck_assert_ptr_null(pw_store_close(NULL));
}
END_TEST

START_TEST(skipped_run_recorded)
{
	struct pw_store *s = with_baseline();
	struct pw_store_run_info last, done;
	int64_t running, skipped;

	running = begin(s, "web", SEC(100));
	ck_assert_int_eq(pw_store_run_skipped(s, "web", SEC(160), &skipped), 0);
	ck_assert_int_gt(skipped, running);
	ck_assert(pw_store_needs_flush(s));
	/* ended at once: no observation can land in it */
	ck_assert_int_eq(observe(s, skipped, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(161), NULL),
			 -ESRCH);
	ck_assert_int_eq(pw_store_last_run(s, "web", &last, &done), 0);
	ck_assert_int_eq(last.run_id, skipped);
	ck_assert_int_eq(last.status, PW_RUN_SKIPPED);
	ck_assert_uint_eq(last.started_usec, SEC(160));
	ck_assert_int_ne(done.run_id, skipped);
	ck_assert_int_eq(pw_store_flush(s), 0);
	ck_assert(!pw_store_needs_flush(s) || pw_store_pending(s) == 0);
	pw_store_close(s);

	s = open_store(0);
	assert_sql_str("SELECT status || ' ' || (ended_usec = started_usec) FROM runs"
		       " WHERE status = 'skipped'",
		       "skipped 1");
	/* read back from the table, the skipped run is the job's last */
	ck_assert_int_eq(pw_store_last_run(s, "web", &last, NULL), 0);
	ck_assert_int_eq(last.status, PW_RUN_SKIPPED);
	ck_assert_int_eq(last.run_id, skipped);
	pw_store_close(s);
}
END_TEST

START_TEST(last_seen_written_lazily)
{
	struct pw_store *s = with_baseline();
	int64_t run;

	pw_store_set_seen_interval(s, 60 * USEC_PER_SEC);
	run = begin(s, "web", SEC(30));
	/* 29 s after the last write: memory only (only the run's counters wait) */
	expect(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(30), PW_CHANGE_NONE, false);
	ck_assert_uint_eq(pw_store_pending(s), 1);
	/* 60 s: queued for the next batch */
	expect(s, run, "127.0.0.1", 80, PW_STATE_OPEN, 0, SEC(61), PW_CHANGE_NONE, false);
	ck_assert_uint_eq(pw_store_pending(s), 2);
	ck_assert_int_eq(pw_store_flush(s), 0);
	assert_sql_int("SELECT last_seen_usec FROM ports WHERE port = 80", (int64_t)SEC(61));
	assert_sql_int("SELECT last_seen_usec FROM ports WHERE port = 22", (int64_t)SEC(1));
	/* the next write of 80 is due 60 s after SEC(61), not after SEC(1) */
	expect(s, run, "127.0.0.1", 80, PW_STATE_OPEN, 0, SEC(100), PW_CHANGE_NONE, false);
	ck_assert_uint_eq(pw_store_pending(s), 1); /* the run's counters */
	end(s, run, PW_RUN_COMPLETED, SEC(101));
	pw_store_close(s);
	assert_sql_int("SELECT last_seen_usec FROM ports WHERE port = 22", (int64_t)SEC(30));
	assert_sql_int("SELECT last_seen_usec FROM ports WHERE port = 80", (int64_t)SEC(100));
	assert_sql_int("SELECT count(*) FROM ports WHERE port = 443", 0);
}
END_TEST

static off_t file_size_of(const char *path, const char *suffix)
{
	char p[300];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", path, suffix);
	return stat(p, &st) == 0 ? st.st_size : 0;
}

START_TEST(io_error_is_kept_and_retried)
{
	struct pw_store *s = with_baseline();
	struct rlimit small, big;
	int64_t run;
	int r;

	/* A file size limit makes every write past it fail with EFBIG, as a
	 * full disk would (SIGXFSZ ignored so write() returns the error). */
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &big), 0);
	small = big;
	/* room for the check framework's messages, not for the batch */
	small.rlim_cur = (rlim_t)(file_size_of(db_path, "") > file_size_of(db_path, "-wal")
					  ? file_size_of(db_path, "")
					  : file_size_of(db_path, "-wal")) +
			 65536;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	pw_store_set_batch(s, SIZE_MAX, 0);
	run = begin(s, "web", SEC(100));
	/* No ck_assert in the loop: each one writes to check's message file,
	 * which the file size limit would cut short. */
	{
		struct pw_store_obs o = { .addr = v4("127.0.0.1"),
					  .state = PW_STATE_OPEN,
					  .rtt_usec = 250,
					  .time_usec = SEC(101) };
		unsigned wrong = 0;

		for (unsigned p = 1000; p < 11000; p++) {
			struct pw_change c;

			o.port = (uint16_t)p;
			if (pw_test_observe(s, run, &o, 0, PW_EXPECT_NONE, &c) != 0 ||
			    c.kind != PW_CHANGE_OPENED || !c.major)
				wrong++;
		}
		ck_assert_uint_eq(wrong, 0);
	}
	r = pw_store_flush(s);
	ck_assert_msg(r == -EFBIG || r == -ENOSPC || r == -EIO, "flush: %d %s", r,
		      pw_store_last_error(s));
	ck_assert_msg(strstr(pw_store_last_error(s), db_path), "%s", pw_store_last_error(s));
	ck_assert_uint_eq(pw_store_pending(s), 20000 + 1); /* and the run */
	ck_assert_int_lt(pw_store_run_end(s, run, PW_RUN_COMPLETED, SEC(102)), 0);
	/* space again: the next flush writes everything */
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &big), 0);
	ck_assert_int_eq(pw_store_flush(s), 0);
	assert_sql_int("SELECT count(*) FROM events WHERE kind = 'opened'", 10000);
	assert_sql_str("SELECT status || ' ' || probes || ' ' || changes FROM run_summary"
		       " WHERE run_id = 2",
		       "completed 10000 10000");
	assert_sql_str("PRAGMA integrity_check", "ok");
	pw_store_close(s);
}
END_TEST

START_TEST(readonly_file)
{
	struct pw_store *s;
	char *err = NULL;

	if (geteuid() == 0)
		return; /* root writes to read-only files: nothing to test */
	s = with_baseline();
	pw_store_close(s);
	s = NULL;
	ck_assert_int_eq(chmod(db_path, 0444), 0);
	ck_assert_int_eq(pw_store_open(db_path, 0, &s, &err), -EROFS);
	ck_assert_msg(strstr(err, db_path) && strstr(err, "readonly"), "%s", err);
	free(err);
	/* reading still works */
	s = open_store(PW_STORE_READONLY);
	pw_store_close(s);
}
END_TEST

START_TEST(job_unload)
{
	struct pw_store *s = with_baseline();
	int64_t run = begin(s, "web", SEC(100));
	unsigned n = 0;

	expect(s, run, "127.0.0.1", 22, PW_STATE_OPEN, 0, SEC(101), PW_CHANGE_NONE, false);
	ck_assert_int_eq(pw_store_job_unload(s, "web"), -EBUSY);
	end(s, run, PW_RUN_COMPLETED, SEC(102));
	ck_assert_int_eq(pw_store_job_unload(s, "web"), 0);
	/* the unchanged port's last_seen was written on the way out */
	assert_sql_int("SELECT last_seen_usec FROM ports WHERE port = 22", (int64_t)SEC(101));
	ck_assert_int_eq(pw_store_job_unload(s, "web"), 0);
	ck_assert_int_eq(pw_store_job_unload(s, "never"), 0);
	/* read back from the table, then loaded again by the next run */
	ck_assert_int_eq(pw_store_load_states(s, "web", count_cb, &n), 0);
	ck_assert_uint_eq(n, 3);
	run = begin(s, "web", SEC(200));
	expect(s, run, "127.0.0.1", 22, PW_STATE_CLOSED, 0, SEC(201), PW_CHANGE_CLOSED, true);
	expect(s, run, "127.0.0.1", 443, PW_STATE_CLOSED, 0, SEC(201), PW_CHANGE_NONE, false);
	end(s, run, PW_RUN_COMPLETED, SEC(202));
	pw_store_close(s);
	assert_sql_int("SELECT count(*) FROM ports", 3);
}
END_TEST

static void observe_policy(struct pw_store *s, int64_t run, uint16_t port, enum pw_state st,
			   enum pw_policy_expect e, uint64_t t, enum pw_change_kind kind)
{
	struct pw_store_obs o = {
		.addr = v4("127.0.0.1"),
		.port = port,
		.state = st,
		.time_usec = t,
	};
	struct pw_change c;
	int r = pw_test_observe(s, run, &o, 0, e, &c);

	ck_assert_msg(r == 0, "observe %u: %d %s", port, r, pw_store_last_error(s));
	ck_assert_msg(c.kind == kind, "%u: kind %s, want %s", port,
		      pw_change_kind_to_string(c.kind) ?: "none",
		      pw_change_kind_to_string(kind) ?: "none");
}

START_TEST(policy_verdicts_and_ack)
{
	struct pw_store *s = open_store(0);
	int64_t run = begin(s, "pol", SEC(0)), id;

	/* baseline: each case of include/policy.h */
	observe_policy(s, run, 22, PW_STATE_OPEN, PW_EXPECT_OPEN, SEC(1), PW_CHANGE_BASELINE);
	observe_policy(s, run, 23, PW_STATE_OPEN, PW_EXPECT_CLOSED, SEC(1), PW_CHANGE_BASELINE);
	observe_policy(s, run, 80, PW_STATE_CLOSED, PW_EXPECT_OPEN, SEC(1), PW_CHANGE_BASELINE);
	observe_policy(s, run, 443, PW_STATE_CLOSED, PW_EXPECT_CLOSED, SEC(1), PW_CHANGE_NEW);
	observe_policy(s, run, 8443, PW_STATE_CLOSED, PW_EXPECT_NONE, SEC(1), PW_CHANGE_NEW);
	end(s, run, PW_RUN_COMPLETED, SEC(2));
	assert_sql_int("SELECT count(*) FROM events", 3);
	assert_sql_str("SELECT group_concat(port || '=' || coalesce(policy, '-'), ' ') FROM"
		       " (SELECT port, policy FROM events ORDER BY port)",
		       "22=- 23=unexpected-open 80=expected-closed");
	assert_sql_str(
		"SELECT group_concat(port || ':' || policy || ':' || state || ':' || acked, ' ')"
		" FROM (SELECT * FROM violations ORDER BY port)",
		"23:unexpected-open:open:no 80:expected-closed:closed:no");

	/* both put right; an expected port first seen after the baseline, filtered */
	run = begin(s, "pol", SEC(10));
	observe_policy(s, run, 23, PW_STATE_CLOSED, PW_EXPECT_CLOSED, SEC(11), PW_CHANGE_CLOSED);
	observe_policy(s, run, 80, PW_STATE_OPEN, PW_EXPECT_OPEN, SEC(11), PW_CHANGE_OPENED);
	observe_policy(s, run, 8080, PW_STATE_FILTERED, PW_EXPECT_OPEN, SEC(11),
		       PW_CHANGE_FILTERED);
	end(s, run, PW_RUN_COMPLETED, SEC(13));
	assert_sql_int("SELECT count(*) FROM events WHERE port IN (23, 80) AND policy IS NULL"
		       " AND kind IN ('closed', 'opened')",
		       2);
	assert_sql_str("SELECT port || ':' || policy FROM violations", "8080:expected-closed");
	id = raw_int("SELECT event_id FROM violations");
	ck_assert_int_gt(id, 0);

	ck_assert_int_eq(pw_store_ack(s, id, SEC(20), "root"), 0);
	assert_sql_str("SELECT acked || ' ' || acked_at || ' ' || acked_by FROM violations",
		       "yes 2026-11-25 13:00:20 root");
	assert_sql_str("SELECT acked FROM event_log WHERE event_id = (SELECT max(id) FROM events)",
		       "yes");
	/* the first acknowledgement stays */
	ck_assert_int_eq(pw_store_ack(s, id, SEC(30), "other"), 1);
	assert_sql_int("SELECT acked_usec FROM events WHERE acked_by = 'root'", (int64_t)SEC(20));
	ck_assert_int_eq(pw_store_ack(s, 9999, SEC(30), NULL), -ENOENT);
	ck_assert_ptr_nonnull(strstr(pw_store_last_error(s), "no event 9999"));
	ck_assert_int_eq(pw_store_ack(s, 0, SEC(30), NULL), -EINVAL);
	pw_store_close(s);

	s = open_store(PW_STORE_READONLY);
	ck_assert_int_eq(pw_store_ack(s, id, SEC(40), NULL), -EROFS);
	pw_store_close(s);
}
END_TEST

/* ------------------------------------------------------------------ accepts-all */

static void record_wild(struct pw_store *s, int64_t run, const char *addr, enum pw_change_kind kind,
			uint64_t t)
{
	int r = pw_store_record_accepts_all(s, run, v4(addr), kind, t);

	ck_assert_msg(r == 0, "record %s: %d %s", addr, r, pw_store_last_error(s));
}

static bool is_wild(struct pw_store *s, int64_t run, const char *addr)
{
	bool w = false;

	ck_assert_int_eq(pw_store_accepts_all(s, run, v4(addr), &w), 0);
	return w;
}

static int count_addr(pw_u128 a, void *userdata)
{
	(*(unsigned *)userdata)++;
	return 0;
}

/*
 * Issue 12.4: an address accepting every port is a state with history:
 * one event when it begins (a violation, acknowledged with ack), none while
 * it holds, one when it ends; read back after a restart.
 */
START_TEST(accepts_all_is_a_state)
{
	struct pw_store *s = with_baseline();
	int64_t run = begin(s, "web", SEC(10)), id;
	int64_t nports = raw_int("SELECT count(*) FROM ports");
	unsigned n = 0;

	ck_assert(!is_wild(s, run, "127.0.0.9"));
	record_wild(s, run, "127.0.0.9", PW_CHANGE_ACCEPTS_ALL, SEC(11));
	ck_assert(is_wild(s, run, "127.0.0.9"));
	/* no change, or not an address kind: refused */
	ck_assert_int_eq(pw_store_record_accepts_all(s, run, v4("127.0.0.9"), PW_CHANGE_ACCEPTS_ALL,
						     SEC(12)),
			 -EINVAL);
	ck_assert_int_eq(pw_store_record_accepts_all(s, run, v4("127.0.0.8"),
						     PW_CHANGE_ACCEPTS_ALL_ENDED, SEC(12)),
			 -EINVAL);
	ck_assert_int_eq(pw_store_record_accepts_all(s, run, v4("127.0.0.8"), PW_CHANGE_OPENED,
						     SEC(12)),
			 -EINVAL);
	end(s, run, PW_RUN_COMPLETED, SEC(13));
	assert_sql_str("SELECT kind || ' ' || port || ' ' || coalesce(old_state, '-') || ' ' ||"
		       " new_state || ' ' || major || ' ' || policy || ' ' || address"
		       " FROM events WHERE run_id = 2",
		       "accepts-all 0 - open 1 accepts-all 127.0.0.9");
	assert_sql_int("SELECT n_changes FROM runs WHERE id = 2", 1);
	assert_sql_str("SELECT job || ' ' || address FROM accepts_all", "web 127.0.0.9");
	assert_sql_str(
		"SELECT port || ' ' || policy || ' ' || state || ' ' || acked FROM violations",
		"0 accepts-all accepts-all no");
	assert_sql_str("SELECT kind FROM recent_changes", "accepts-all");
	assert_sql_str("SELECT kind FROM major_changes", "accepts-all");
	id = raw_int("SELECT event_id FROM violations");
	ck_assert_int_eq(pw_store_ack(s, id, SEC(14), "root"), 0);
	assert_sql_str("SELECT acked FROM violations", "yes");
	assert_sql_str("SELECT acked FROM accepts_all", "yes");
	pw_store_close(s);

	/* read back with the job's map; it ends */
	s = open_store(0);
	run = begin(s, "web", SEC(20));
	ck_assert(is_wild(s, run, "127.0.0.9"));
	ck_assert(!is_wild(s, run, "127.0.0.1"));
	ck_assert_int_eq(pw_store_each_accepts_all(s, run, count_addr, &n), 0);
	ck_assert_uint_eq(n, 1);
	record_wild(s, run, "127.0.0.9", PW_CHANGE_ACCEPTS_ALL_ENDED, SEC(21));
	ck_assert(!is_wild(s, run, "127.0.0.9"));
	end(s, run, PW_RUN_COMPLETED, SEC(22));
	assert_sql_str("SELECT kind || ' ' || old_state || ' ' || coalesce(new_state, 'NULL') ||"
		       " ' ' || coalesce(policy, '-') FROM events WHERE run_id = 3",
		       "accepts-all-ended open NULL -");
	assert_sql_int("SELECT count(*) FROM accepts_all", 0);
	assert_sql_int("SELECT count(*) FROM violations", 0);
	assert_sql_int("SELECT count(*) FROM recent_changes", 2);
	/* the ports were never touched */
	assert_sql_int("SELECT count(*) FROM ports", nports);
	assert_sql_int("SELECT count(*) FROM ports WHERE port = 0", 0);
	pw_store_close(s);
	s = open_store(0);
	run = begin(s, "web", SEC(30));
	ck_assert(!is_wild(s, run, "127.0.0.9"));
	end(s, run, PW_RUN_COMPLETED, SEC(31));
	/* a port observation cannot carry the address kinds */
	run = begin(s, "web", SEC(40));
	ck_assert_int_eq(pw_store_record(s, run,
					 &(struct pw_store_obs){
						 .addr = v4("127.0.0.1"),
						 .port = 22,
						 .state = PW_STATE_OPEN,
						 .change = { .kind = PW_CHANGE_ACCEPTS_ALL },
					 }),
			 -EINVAL);
	end(s, run, PW_RUN_COMPLETED, SEC(41));
	pw_store_close(s);
}
END_TEST

/* An open port withdrawn by the engine: its queued change disappears; a
 * change already written is followed by the change back. */
START_TEST(retract_withdraws_an_open)
{
	struct pw_store *s = with_baseline(); /* 443 closed */
	int64_t run = begin(s, "web", SEC(10));

	expect(s, run, "127.0.0.1", 443, PW_STATE_OPEN, 0, SEC(11), PW_CHANGE_OPENED, true);
	ck_assert_int_eq(pw_store_retract(s, run, v4("127.0.0.1"), 443, PW_STATE_CLOSED, SEC(12)),
			 PW_RETRACT_DROPPED_CHANGE);
	/* not opened by this run: nothing to do */
	ck_assert_int_eq(pw_store_retract(s, run, v4("127.0.0.1"), 22, PW_STATE_CLOSED, SEC(12)),
			 0);
	ck_assert_int_eq(pw_store_retract(s, run, v4("127.0.0.1"), 443, PW_STATE_OPEN, SEC(12)),
			 -EINVAL);
	end(s, run, PW_RUN_COMPLETED, SEC(13));
	assert_sql_int("SELECT count(*) FROM events WHERE run_id = 2", 0);
	assert_sql_int("SELECT n_changes FROM runs WHERE id = 2", 0);
	assert_sql_str("SELECT state FROM ports WHERE port = 443", "closed");
	assert_sql_str("SELECT state FROM ports WHERE port = 22", "open");

	run = begin(s, "web", SEC(20));
	expect(s, run, "127.0.0.1", 443, PW_STATE_OPEN, 0, SEC(21), PW_CHANGE_OPENED, true);
	ck_assert_int_eq(pw_store_flush(s), 0);
	ck_assert_int_eq(pw_store_retract(s, run, v4("127.0.0.1"), 443, PW_STATE_CLOSED, SEC(22)),
			 PW_RETRACT_CHANGED_BACK);
	end(s, run, PW_RUN_COMPLETED, SEC(23));
	assert_sql_str("SELECT group_concat(kind, ' ') FROM (SELECT kind FROM events"
		       " WHERE run_id = 3 ORDER BY id)",
		       "opened closed");
	assert_sql_str("SELECT state FROM ports WHERE port = 443", "closed");

	/* withdrawn when the table of dirty entries is exactly full: it grows
	 * first (it wrote past its end: ASan) */
	run = begin(s, "web", SEC(30));
	expect(s, run, "127.0.0.1", 443, PW_STATE_OPEN, 0, SEC(31), PW_CHANGE_OPENED, true);
	ck_assert_int_eq(pw_store_flush(s), 0);
	for (uint16_t p = 20000; p < 20000 + 256; p++)
		expect(s, run, "127.0.0.1", p, PW_STATE_FILTERED, 0, SEC(32), PW_CHANGE_FILTERED,
		       false);
	ck_assert_int_eq(pw_store_retract(s, run, v4("127.0.0.1"), 443, PW_STATE_CLOSED, SEC(33)),
			 PW_RETRACT_CHANGED_BACK);
	end(s, run, PW_RUN_COMPLETED, SEC(34));
	assert_sql_str("SELECT state FROM ports WHERE port = 443", "closed");
	pw_store_close(s);
}
END_TEST

/* Retention keeps the event that is an address's current state. */
START_TEST(prune_keeps_current_accepts_all)
{
	struct pw_store *s = with_baseline();
	int64_t run = begin(s, "web", SEC(10));

	record_wild(s, run, "127.0.0.9", PW_CHANGE_ACCEPTS_ALL, SEC(11));
	record_wild(s, run, "127.0.0.8", PW_CHANGE_ACCEPTS_ALL, SEC(11));
	end(s, run, PW_RUN_COMPLETED, SEC(12));
	run = begin(s, "web", SEC(20));
	record_wild(s, run, "127.0.0.8", PW_CHANGE_ACCEPTS_ALL_ENDED, SEC(21));
	end(s, run, PW_RUN_COMPLETED, SEC(22));
	ck_assert_int_eq(pw_store_prune(s, SEC(1000), 100), 5); /* 4 events, run 1 */
	assert_sql_str("SELECT address || ' ' || kind FROM events", "127.0.0.9 accepts-all");
	assert_sql_str("SELECT address FROM accepts_all", "127.0.0.9");
	pw_store_close(s);
}
END_TEST

/* Version 3 -> 6: the events table is rebuilt with every row, id,
 * acknowledgement and index; the views work on it. */
START_TEST(migrates_v3_events_to_accepts_all)
{
	sqlite3 *db = raw_open();
	struct pw_store *s;

	for (unsigned i = 0; i < 3; i++)
		raw_exec(db, pw_store_migrations[i].sql);
	raw_exec(db, "PRAGMA user_version = 3;"
		     "INSERT INTO jobs VALUES (1, 'web', 1, 0);"
		     "INSERT INTO runs (id, job_id, status, started_usec, ended_usec, updated_usec)"
		     " VALUES (1, 1, 'completed', 1795611600000000, 1795611601000000, 0);"
		     "INSERT INTO ports (job_id, addr, port, address, state, first_seen_usec,"
		     " last_seen_usec, last_change_usec, last_run_id) VALUES (1,"
		     " x'00000000000000000000ffff7f000001', 23, '127.0.0.1', 'open',"
		     " 1795611600000000, 1795611600000000, 1795611600000000, 1);"
		     "INSERT INTO events (id, run_id, job_id, addr, port, address, kind, major,"
		     " new_state, time_usec, policy, acked_usec, acked_by) VALUES (7, 1, 1,"
		     " x'00000000000000000000ffff7f000001', 23, '127.0.0.1', 'baseline', 0, 'open',"
		     " 1795611600000000, 'unexpected-open', 1795611600000001, 'root'),"
		     " (9, 1, 1, x'00000000000000000000ffff7f000001', 24, '127.0.0.1', 'flap', 0,"
		     " 'open', 1795611600000000, NULL, NULL, NULL);");
	sqlite3_close(db);

	s = open_store(0);
	ck_assert_uint_eq(pw_store_db_version(s), pw_store_schema_version());
	pw_store_close(s);
	assert_sql_str(
		"SELECT group_concat(id || ':' || kind || ':' || coalesce(acked_by, '-'), ' ')"
		" FROM (SELECT * FROM events ORDER BY id)",
		"7:baseline:root 9:flap:-");
	assert_sql_str("SELECT event_id || ' ' || acked FROM violations", "7 yes");
	assert_sql_int("SELECT count(*) FROM flaps", 1);
	assert_sql_int("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN"
		       " ('events_by_port', 'events_by_time', 'events_by_run', 'events_violating',"
		       " 'events_by_address')",
		       5);
	assert_sql_int("SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name IN"
		       " ('event_log', 'recent_changes', 'major_changes', 'flaps', 'port_timeline',"
		       " 'violations', 'accepts_all')",
		       7);
	assert_sql_int("SELECT count(*) FROM pragma_foreign_key_check", 0);
	assert_sql_str("PRAGMA integrity_check", "ok");
}
END_TEST

/* Version 2 -> 3: history kept, old events have no verdict and can be acked. */
START_TEST(migrates_v2_events_to_policy)
{
	sqlite3 *db = raw_open();
	struct pw_store *s;

	ck_assert_uint_ge(pw_store_n_migrations, 3);
	ck_assert_str_eq(pw_store_migrations[2].name, "003-policy.sql");
	for (unsigned i = 0; i < 2; i++)
		raw_exec(db, pw_store_migrations[i].sql);
	raw_exec(db,
		 "PRAGMA user_version = 2;"
		 "INSERT INTO jobs VALUES (1, 'web', 1, 0);"
		 "INSERT INTO runs (id, job_id, status, started_usec, ended_usec, updated_usec)"
		 " VALUES (1, 1, 'completed', 1795611600000000, 1795611601000000, 0);"
		 "INSERT INTO ports (job_id, addr, port, address, state, first_seen_usec,"
		 " last_seen_usec, last_change_usec, last_run_id) VALUES (1,"
		 " x'00000000000000000000ffff7f000001', 22, '127.0.0.1', 'open',"
		 " 1795611600000000, 1795611600000000, 1795611600000000, 1);"
		 "INSERT INTO events (id, run_id, job_id, addr, port, address, kind, major,"
		 " new_state, time_usec) VALUES (7, 1, 1, x'00000000000000000000ffff7f000001', 22,"
		 " '127.0.0.1', 'baseline', 0, 'open', 1795611600000000);");
	sqlite3_close(db);

	s = open_store(0);
	ck_assert_uint_ge(pw_store_db_version(s), 3);
	assert_sql_str("SELECT event_id || ' ' || kind || ' ' || coalesce(policy, '-') || ' '"
		       " || coalesce(acked, '-') FROM event_log",
		       "7 baseline - -");
	assert_sql_int("SELECT count(*) FROM violations", 0);
	assert_sql_int("SELECT count(*) FROM port_states", 1);
	ck_assert_int_eq(pw_store_ack(s, 7, SEC(5), NULL), 0);
	assert_sql_int("SELECT acked_usec FROM events WHERE id = 7", (int64_t)SEC(5));
	assert_sql_str("SELECT coalesce(acked_by, '-') FROM events WHERE id = 7", "-");
	pw_store_close(s);
}
END_TEST

static int loss_row(const struct pw_store_run_row *row, void *userdata)
{
	char *out = userdata;
	size_t n = strlen(out);

	if (row->has_loss)
		snprintf(out + n, 128 - n, "%lld:%.2f ", (long long)row->run_id, row->loss_pct);
	else
		snprintf(out + n, 128 - n, "%lld:- ", (long long)row->run_id);
	return 0;
}

/* A run's measured loss (sql/007-run-loss.sql): set while it runs, NULL if never set. */
START_TEST(run_loss_recorded)
{
	struct pw_store *s = open_store(0);
	struct pw_store_read_filter f = { 0 };
	char out[128] = "";
	int64_t a, b;

	a = begin(s, "web", SEC(0));
	ck_assert_int_eq(pw_store_run_loss(s, a, -0.1), -EINVAL);
	ck_assert_int_eq(pw_store_run_loss(s, a, 100.5), -EINVAL);
	ck_assert_int_eq(pw_store_run_loss(s, a, 0.0 / 0.0), -EINVAL);
	ck_assert_int_eq(pw_store_run_loss(s, a, 12.5), 0);
	ck_assert_int_eq(pw_store_run_loss(s, a, 19.274), 0); /* the last one counts */
	end(s, a, PW_RUN_COMPLETED, SEC(5));
	ck_assert_int_eq(pw_store_run_loss(s, a, 1), -ESRCH);
	ck_assert_int_eq(pw_store_run_loss(s, 99, 1), -ESRCH);
	b = begin(s, "web", SEC(10));
	end(s, b, PW_RUN_ABORTED, SEC(11));
	ck_assert_int_eq(pw_store_read_runs(s, &f, 0, loss_row, out), 0);
	ck_assert_str_eq(out, "2:- 1:19.27 ");
	pw_store_close(s);
	assert_sql_str("SELECT printf('%.3f', loss_pct) FROM runs WHERE id = 1", "19.274");
	assert_sql_int("SELECT loss_pct IS NULL FROM runs WHERE id = 2", 1);
	assert_sql_str("SELECT loss_pct FROM run_summary WHERE run_id = 1", "19.27");
}
END_TEST

/* A version 3 database: its runs have no loss; run_summary gains the column. */
START_TEST(migrates_v3_runs_to_loss)
{
	sqlite3 *db = raw_open();
	struct pw_store *s;

	ck_assert_uint_ge(pw_store_n_migrations, 7);
	ck_assert_str_eq(pw_store_migrations[6].name, "007-run-loss.sql");
	for (unsigned i = 0; i < 3; i++)
		raw_exec(db, pw_store_migrations[i].sql);
	raw_exec(db, "PRAGMA user_version = 3;"
		     "INSERT INTO jobs VALUES (1, 'web', 1, 0);"
		     "INSERT INTO runs (id, job_id, status, started_usec, ended_usec, updated_usec)"
		     " VALUES (1, 1, 'completed', 1795611600000000, 1795611601000000, 0);");
	sqlite3_close(db);

	s = open_store(0);
	ck_assert_uint_ge(pw_store_db_version(s), 7);
	pw_store_close(s);
	assert_sql_str("SELECT run_id || ' ' || baseline || ' ' || coalesce(loss_pct, '-')"
		       " FROM run_summary",
		       "1 yes -");
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, open_creates_schema);
	tcase_add_test(tc, baseline_first_completed_run);
	tcase_add_test(tc, aborted_first_run_is_no_baseline);
	tcase_add_test(tc, open_to_closed_and_back);
	tcase_add_test(tc, filtered_only_when_confirmed);
	tcase_add_test(tc, aborted_run_closes_nothing);
	tcase_add_test(tc, new_ports_after_baseline);
	tcase_add_test(tc, state_survives_restart);
	tcase_add_test(tc, full_table_keeps_the_entry_it_changes);
	tcase_add_test(tc, migrates_from_previous_version);
	tcase_add_test(tc, refuses_newer_schema);
	tcase_add_test(tc, readonly_open);
	tcase_add_test(tc, garbage_file);
	tcase_add_test(tc, foreign_database);
	tcase_add_test(tc, foreign_version_or_id_untouched);
	tcase_add_test(tc, memory_database);
	tcase_add_test(tc, batches_not_per_probe);
	tcase_add_test(tc, failed_write_is_kept_and_retried);
	tcase_add_test(tc, replaced_or_overwritten_file_is_kept);
	tcase_add_test(tc, memory_bound_delays_changes);
	tcase_add_test(tc, refused_observation_keeps_the_baseline_open);
	tcase_add_test(tc, recover_crashed_runs);
	tcase_add_test(tc, retention_prunes_in_batches);
	tcase_add_test(tc, rtt_round_trip);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, last_seen_written_lazily);
	tcase_add_test(tc, io_error_is_kept_and_retried);
	tcase_add_test(tc, readonly_file);
	tcase_add_test(tc, job_unload);
	tcase_add_test(tc, policy_verdicts_and_ack);
	tcase_add_test(tc, migrates_v2_events_to_policy);
	tcase_add_test(tc, accepts_all_is_a_state);
	tcase_add_test(tc, retract_withdraws_an_open);
	tcase_add_test(tc, prune_keeps_current_accepts_all);
	tcase_add_test(tc, migrates_v3_events_to_accepts_all);
	tcase_add_test(tc, skipped_run_recorded);
	tcase_add_test(tc, run_ids_never_reused);
	tcase_add_test(tc, commit_callback_after_each_commit);
	tcase_add_test(tc, coverage_decides_closed_by_default);
	tcase_add_test(tc, closed_ports_cost_nothing);
	tcase_add_test(tc, run_loss_recorded);
	tcase_add_test(tc, migrates_v3_runs_to_loss);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(store_suite)
