/* SPDX-License-Identifier: MIT */
/*
 * The query verbs against a database written through the store API with a
 * fake clock, compared byte for byte with tests/golden/ (regenerate with
 * PW_UPDATE_GOLDEN=1 and review the diff); JSON outputs also go through
 * the validating parser in json-check.h. Then bad arguments and broken
 * databases: exit status and message.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <sqlite3.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-event.h>

#include "check-main.h"
#include "scan.h"
#include "json.h"
#include "output.h"
#include "control.h"
#include "json-check.h"
#include "config.h"
#include "query.h"
#include "verbs.h"
#include "store.h"
#include "store-observe.h"
#include "util.h"

/* 2026-11-25 13:00:00 UTC */
#define T0 UINT64_C(1795611600)
#define AT(secs) ((T0 + (uint64_t)(secs)) * USEC_PER_SEC)
#define NOW AT(7200) /* 15:00:00 */

static char tmpdir[] = "/tmp/pw-test-query.XXXXXX";

/* ------------------------------------------------------------------ the database */

static struct pw_store *store;

/* A run over 127.0.0.0/8 and ::1, all ports, as the daemon tells the store. */
static int64_t begin(const char *job, uint64_t t)
{
	struct pw_scan_space sp = { .addrs = PW_ISET_INIT, .ports = PW_ISET_INIT };
	pw_u128 lo, hi, v6;
	int64_t run;

	ck_assert_int_eq(pw_store_run_begin(store, job, t, &run), 0);
	ck_assert_int_eq(pw_addr_parse("127.0.0.0", &lo), 0);
	ck_assert_int_eq(pw_addr_parse("127.255.255.255", &hi), 0);
	ck_assert_int_eq(pw_addr_parse("::1", &v6), 0);
	ck_assert_int_eq(pw_iset_add(&sp.addrs, lo, hi), 0);
	ck_assert_int_eq(pw_iset_add(&sp.addrs, v6, v6), 0);
	ck_assert_int_eq(pw_iset_add(&sp.ports, 1, 65535), 0);
	ck_assert_int_eq(pw_store_run_space(store, run, &sp), 0);
	pw_iset_done(&sp.addrs);
	pw_iset_done(&sp.ports);
	return run;
}

/* Observe, and check the store saw the change the dataset means. */
static void obs(int64_t run, const char *addr, uint16_t port, enum pw_state st, uint64_t t,
		unsigned flags, enum pw_policy_expect expect, enum pw_change_kind want)
{
	struct pw_store_obs o = {
		.port = port,
		.state = st,
		.time_usec = t,
	};
	struct pw_change c;

	ck_assert_int_eq(pw_addr_parse(addr, &o.addr), 0);
	ck_assert_int_eq(pw_test_observe(store, run, &o, flags, expect, &c), 0);
	ck_assert_msg(c.kind == want, "%s:%u: change %d, want %d", addr, port, c.kind, want);
}

static int64_t event_id(const char *path, int port, const char *kind)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t id;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT id FROM events WHERE port = ?1 AND kind = ?2",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_int(st, 1, port);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return id;
}

/*
 * Two jobs in the config ("lo", "web") with history, one removed from it
 * ("old"), one configured but never run ("fresh"), one disabled ("spare").
 * The runs: baselines, an open port that is not allowed (acknowledged), a
 * close, a filtered port, a flap, an aborted run and one still running;
 * three of them measured their loss, the others did not.
 */
static void build_db(const char *path)
{
	int64_t r;

	ck_assert_int_eq(pw_store_open(path, 0, &store, NULL), 0);
	r = begin("lo", AT(0));
	obs(r, "127.0.0.1", 22, PW_STATE_OPEN, AT(1), 0, PW_EXPECT_OPEN, PW_CHANGE_BASELINE);
	obs(r, "127.0.0.1", 80, PW_STATE_CLOSED, AT(1), 0, PW_EXPECT_CLOSED, PW_CHANGE_NEW);
	obs(r, "::1", 443, PW_STATE_OPEN, AT(2), 0, PW_EXPECT_NONE, PW_CHANGE_BASELINE);
	obs(r, "127.0.0.1", 61000, PW_STATE_OPEN, AT(2), 0, PW_EXPECT_NONE, PW_CHANGE_BASELINE);
	ck_assert_int_eq(pw_store_run_loss(store, r, 0), 0);
	ck_assert_int_eq(pw_store_run_end(store, r, PW_RUN_COMPLETED, AT(5)), 0);

	r = begin("web", AT(60));
	obs(r, "127.0.0.2", 80, PW_STATE_OPEN, AT(61), 0, PW_EXPECT_NONE, PW_CHANGE_BASELINE);
	obs(r, "127.0.0.2", 443, PW_STATE_FILTERED, AT(62), 0, PW_EXPECT_NONE, PW_CHANGE_NEW);
	obs(r, "127.0.0.2", 8080, PW_STATE_OPEN, AT(62), 0, PW_EXPECT_NONE, PW_CHANGE_BASELINE);
	ck_assert_int_eq(pw_store_run_end(store, r, PW_RUN_COMPLETED, AT(62) + 500000), 0);

	r = begin("old", AT(100));
	obs(r, "127.0.0.3", 23, PW_STATE_OPEN, AT(100), 0, PW_EXPECT_NONE, PW_CHANGE_BASELINE);
	ck_assert_int_eq(pw_store_run_end(store, r, PW_RUN_COMPLETED, AT(100) + 42000), 0);

	r = begin("lo", AT(900));
	obs(r, "127.0.0.1", 22, PW_STATE_FILTERED, AT(901), PW_OBS_UNCONFIRMED, PW_EXPECT_OPEN,
	    PW_CHANGE_FLAP);
	obs(r, "127.0.0.1", 80, PW_STATE_OPEN, AT(901), 0, PW_EXPECT_CLOSED, PW_CHANGE_OPENED);
	obs(r, "::1", 443, PW_STATE_CLOSED, AT(902), 0, PW_EXPECT_NONE, PW_CHANGE_CLOSED);
	obs(r, "127.0.0.1", 61000, PW_STATE_FILTERED, AT(902), 0, PW_EXPECT_NONE,
	    PW_CHANGE_FILTERED);
	ck_assert_int_eq(pw_store_run_loss(store, r, 19.274), 0);
	ck_assert_int_eq(pw_store_run_end(store, r, PW_RUN_COMPLETED, AT(903)), 0);

	r = begin("web", AT(3660));
	obs(r, "127.0.0.2", 8080, PW_STATE_CLOSED, AT(3661), 0, PW_EXPECT_NONE, PW_CHANGE_CLOSED);
	ck_assert_int_eq(pw_store_run_loss(store, r, 3.5), 0);
	ck_assert_int_eq(pw_store_run_end(store, r, PW_RUN_ABORTED, AT(3661)), 0);

	r = begin("lo", AT(6300));
	obs(r, "127.0.0.1", 22, PW_STATE_OPEN, AT(6301), 0, PW_EXPECT_OPEN, PW_CHANGE_NONE);
	ck_assert_int_eq(pw_store_flush(store), 0);
	/* run r stays "running": the store is closed without ending it */
	pw_store_close(store);
	store = NULL;

	ck_assert_int_eq(pw_store_open(path, 0, &store, NULL), 0);
	ck_assert_int_eq(pw_store_ack(store, event_id(path, 80, "opened"), AT(1000), "alice"), 0);
	pw_store_close(store);
	store = NULL;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static const char config_text[] =
	"database = \"pw.db\";\n"
	"control_socket = \"ctl.sock\";\n"
	"jobs = (\n"
	"  { name = \"lo\"; targets = [ \"127.0.0.1\", \"::1\" ];\n"
	"    ports = [ \"22\", \"80\", \"443\", \"61000\" ]; interval = \"15m\";\n"
	"    expect_open = [ \"22\" ]; never_open = [ \"80\" ]; },\n"
	"  { name = \"web\"; targets = [ \"127.0.0.2\" ]; ports = [ \"80\", \"443\", \"8080\" ];\n"
	"    interval = \"1h\"; },\n"
	"  { name = \"fresh\"; targets = [ \"127.0.0.5\" ]; ports = [ \"22\" ]; interval = \"5m\"; },\n"
	"  { name = \"spare\"; enabled = false; targets = [ \"127.0.0.4\" ]; ports = [ \"22\" ]; }\n"
	");\n";

/* Once per test case, in the parent: the forked tests share the files. */
static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(chdir(tmpdir), 0);
	build_db("pw.db");
	write_file("pw.conf", config_text);
	write_file("broken.conf", "database = ;\n");
	write_file("live.conf", "database = \"pw.db\";\ncontrol_socket = \"live.sock\";\n");
	write_file("dead.conf", "database = \"pw.db\";\ncontrol_socket = \"dead.sock\";\n");
	write_file("garbage.db", "this is not an SQLite database, it is a text file\n");
}

static void teardown(void)
{
	static const char *const files[] = {
		"pw.db",        "pw.db-wal",    "pw.db-shm",  "pw.conf",
		"live.conf",    "dead.conf",    "live.sock",  "dead.sock",
		"hostile.db",   "broken.conf",  "garbage.db", "newer.db",
		"newer.db-wal", "newer.db-shm", "locked.db",  "locked.db-journal"
	};

	for (size_t i = 0; i < PW_ELEMENTSOF(files); i++)
		unlink(files[i]);
	ck_assert_int_eq(chdir("/"), 0);
	rmdir(tmpdir);
}

/* ------------------------------------------------------------------ running a verb */

struct result {
	int rc;
	char *out, *err;
	size_t out_len, err_len;
};

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

enum pw_query_verb {
	PW_QUERY_STATUS,
	PW_QUERY_OPEN,
	PW_QUERY_CHANGES,
	PW_QUERY_HISTORY,
	PW_QUERY_RUNS,
	_PW_QUERY_VERB_MAX,
};

static const char *const verb_names[] = {
	[PW_QUERY_STATUS] = "status",   [PW_QUERY_OPEN] = "open", [PW_QUERY_CHANGES] = "changes",
	[PW_QUERY_HISTORY] = "history", [PW_QUERY_RUNS] = "runs",
};

static const pw_cli_verb_fn_t verb_fns[] = {
	[PW_QUERY_STATUS] = pw_cli_verb_status,   [PW_QUERY_OPEN] = pw_cli_verb_open,
	[PW_QUERY_CHANGES] = pw_cli_verb_changes, [PW_QUERY_HISTORY] = pw_cli_verb_history,
	[PW_QUERY_RUNS] = pw_cli_verb_runs,
};

/* Run verb with the NULL-terminated arguments; default config as given. */
static struct result run_v(const char *default_config, enum pw_query_verb verb, va_list ap)
{
	struct result res = { 0 };
	char *argv[32];
	int argc = 0;
	FILE *out = open_memstream(&res.out, &res.out_len);
	FILE *err = open_memstream(&res.err, &res.err_len);
	struct pw_cli_env env = { out, err, NOW, default_config };
	const char *a;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	argv[argc++] = (char *)verb_names[verb];
	while ((a = va_arg(ap, const char *)) && argc < 31)
		argv[argc++] = (char *)a;
	argv[argc] = NULL;
	res.rc = verb_fns[verb](argc, argv, &env);
	fclose(out);
	fclose(err);
	return res;
}

static struct result run(enum pw_query_verb verb, ...)
{
	struct result r;
	va_list ap;

	va_start(ap, verb);
	r = run_v("pw.conf", verb, ap);
	va_end(ap);
	return r;
}

static struct result run_cfg(const char *default_config, enum pw_query_verb verb, ...)
{
	struct result r;
	va_list ap;

	va_start(ap, verb);
	r = run_v(default_config, verb, ap);
	va_end(ap);
	return r;
}

static char *read_golden(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int c;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(m);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

static void check_golden(const char *name, const char *got)
{
	char path[512];
	_cleanup_free_ char *want = NULL;

	snprintf(path, sizeof(path), "%s/tests/golden/%s", PW_SRCDIR, name);
	if (getenv("PW_UPDATE_GOLDEN")) {
		write_file(path, got);
		return;
	}
	want = read_golden(path);
	ck_assert_msg(want != NULL, "%s: missing (PW_UPDATE_GOLDEN=1 writes it)", path);
	ck_assert_msg(strcmp(want, got) == 0, "%s differs\n--- want:\n%s--- got:\n%s", name, want,
		      got);
}

static void check_json(const char *name, const struct result *r)
{
	const char *why = NULL;
	size_t off = 0;

	ck_assert_msg(json_check(r->out, r->out_len, &why, &off), "%s: invalid JSON at %zu: %s\n%s",
		      name, off, why, r->out);
}

/* ------------------------------------------------------------------ goldens */

static const struct golden {
	const char *name;
	enum pw_query_verb verb;
	const char *args[6];
} goldens[] = {
	{ "status.txt", PW_QUERY_STATUS, { NULL } },
	{ "status.json", PW_QUERY_STATUS, { "--json" } },
	{ "status.csv", PW_QUERY_STATUS, { "--csv" } },
	{ "status-no-header.txt", PW_QUERY_STATUS, { "--no-header" } },
	{ "open.txt", PW_QUERY_OPEN, { NULL } },
	{ "open.json", PW_QUERY_OPEN, { "--json" } },
	{ "open.csv", PW_QUERY_OPEN, { "--csv" } },
	{ "open-job.txt", PW_QUERY_OPEN, { "--job", "web" } },
	{ "open-range.csv", PW_QUERY_OPEN, { "127.0.0.2-3", "--csv", "--no-header" } },
	{ "open-cidr.txt", PW_QUERY_OPEN, { "127.0.0.0/31" } },
	{ "open-none.txt", PW_QUERY_OPEN, { "::1" } },
	{ "open-none.json", PW_QUERY_OPEN, { "::1", "--json" } },
	{ "changes.txt", PW_QUERY_CHANGES, { NULL } },
	{ "changes.json", PW_QUERY_CHANGES, { "--json" } },
	{ "changes.csv", PW_QUERY_CHANGES, { "--csv" } },
	{ "changes-all.txt", PW_QUERY_CHANGES, { "--all" } },
	{ "changes-since.json", PW_QUERY_CHANGES, { "--since", "2026-11-25 13:15:02", "--json" } },
	{ "changes-host.csv", PW_QUERY_CHANGES, { "--host", "::1", "--all", "--csv" } },
	{ "changes-limit.txt", PW_QUERY_CHANGES, { "--limit", "2", "--no-header" } },
	{ "history-port.txt", PW_QUERY_HISTORY, { "127.0.0.1:80" } },
	{ "history-port.json", PW_QUERY_HISTORY, { "127.0.0.1:80", "--json" } },
	{ "history-port.csv", PW_QUERY_HISTORY, { "127.0.0.1:80", "--csv" } },
	{ "history-host.txt", PW_QUERY_HISTORY, { "127.0.0.1" } },
	{ "history-v6.json", PW_QUERY_HISTORY, { "[::1]:443", "--json" } },
	{ "history-quiet.txt", PW_QUERY_HISTORY, { "127.0.0.2:443" } },
	{ "history-quiet-host.txt", PW_QUERY_HISTORY, { "127.0.0.2" } },
	{ "runs.txt", PW_QUERY_RUNS, { NULL } },
	{ "runs.json", PW_QUERY_RUNS, { "--json" } },
	{ "runs.csv", PW_QUERY_RUNS, { "--csv" } },
	{ "runs-job.txt", PW_QUERY_RUNS, { "--job", "lo", "--limit", "2" } },
};

START_TEST(golden_output)
{
	const struct golden *g = &goldens[_i];
	struct result r = run(g->verb, g->args[0], g->args[1], g->args[2], g->args[3], g->args[4],
			      g->args[5], NULL);

	ck_assert_msg(r.rc == 0, "%s: exit %d: %s", g->name, r.rc, r.err);
	ck_assert_msg(r.err_len == 0, "%s: stderr: %s", g->name, r.err);
	if (strstr(g->name, ".json"))
		check_json(g->name, &r);
	check_golden(g->name, r.out);
	result_free(&r);
}
END_TEST

/* The same instant as a duration back from now, a date-time, RFC 3339. */
START_TEST(since_forms_agree)
{
	static const char *const forms[] = { "1h44m58s", "2026-11-25T13:15:02Z",
					     "2026-11-25 13:15:02" };
	struct result want = run(PW_QUERY_CHANGES, "--since", "2026-11-25 13:15:02", NULL);

	ck_assert_int_eq(want.rc, 0);
	for (size_t i = 0; i < PW_ELEMENTSOF(forms); i++) {
		struct result r = run(PW_QUERY_CHANGES, "--since", forms[i], NULL);

		ck_assert_int_eq(r.rc, 0);
		ck_assert_str_eq(r.out, want.out);
		result_free(&r);
	}
	/* one second later drops the two changes at 13:15:02 */
	{
		struct result r = run(PW_QUERY_CHANGES, "--since", "2026-11-25 13:15:03",
				      "--no-header", NULL);

		ck_assert_int_eq(r.rc, 0);
		ck_assert_ptr_null(strstr(r.out, "13:15:02"));
		ck_assert_ptr_nonnull(strstr(r.out, "14:01:01"));
		result_free(&r);
	}
	result_free(&want);
}
END_TEST

/* --db wins over the config; without a config the status has no schedule. */
START_TEST(db_option_and_configs)
{
	struct result r = run_cfg("no-such.conf", PW_QUERY_STATUS, "--db", "pw.db", NULL);

	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "Config:   no-such.conf: not found\n"));
	ck_assert_ptr_null(strstr(r.out, "every"));
	ck_assert_ptr_null(strstr(r.out, "fresh")); /* only in the config */
	ck_assert_ptr_nonnull(strstr(r.out, "\nold "));
	result_free(&r);

	/* global options before the verb, as main() hoists them */
	{
		char *argv[] = { "portwatch", "--db",    "pw.db", "--json",
				 "runs",      "--limit", "1",     NULL };
		char *want[] = { "portwatch", "runs", "--db", "pw.db", "--json", "--limit", "1" };

		ck_assert_int_eq(pw_query_hoist_verb(7, argv), 0);
		for (int i = 0; i < 7; i++)
			ck_assert_str_eq(argv[i], want[i]);
	}
	{
		char *argv[] = { "portwatch", "--bogus", "runs", NULL };
		char *argv2[] = { "portwatch", "--db", NULL };
		char *argv3[] = { "portwatch", "--db=pw.db", "-j", "open", NULL };

		ck_assert_int_eq(pw_query_hoist_verb(3, argv), -EINVAL);
		ck_assert_str_eq(argv[1], "--bogus");
		ck_assert_int_eq(pw_query_hoist_verb(2, argv2), -EINVAL);
		ck_assert_int_eq(pw_query_hoist_verb(4, argv3), 0);
		ck_assert_str_eq(argv3[1], "open");
		ck_assert_str_eq(argv3[2], "--db=pw.db");
	}
}
END_TEST

/* ------------------------------------------------------------------ the daemon's state */

static int fake_daemon_handler(void *userdata, const char *request, char **ret_reply)
{
	if (strcmp(request, "status") != 0)
		return -EINVAL;
	*ret_reply = strdup(
		"ok\nrunning lo 6 120 1024\nrunning web 7 0 0 resolving\nfuture line\npid 4242\n");
	return *ret_reply ? 0 : -ENOMEM;
}

/* A child process answering on live.sock the way portwatchd does. */
static pid_t fake_daemon(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		sd_event *e = NULL;
		struct pw_control *c = NULL;

		if (sd_event_new(&e) < 0 ||
		    pw_control_new(e, "live.sock", fake_daemon_handler, NULL, &c) < 0)
			_exit(1);
		sd_event_loop(e);
		_exit(0);
	}
	for (int i = 0; i < 200 && access("live.sock", F_OK) < 0; i++)
		usleep(10000);
	ck_assert_int_eq(access("live.sock", F_OK), 0);
	return pid;
}

START_TEST(daemon_running)
{
	pid_t pid = fake_daemon();
	struct result r = run(PW_QUERY_STATUS, "--config", "live.conf", NULL);
	struct result j = run(PW_QUERY_STATUS, "--config", "live.conf", "--json", NULL);

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink("live.sock");
	ck_assert_msg(r.rc == 0, "%s", r.err);
	check_golden("status-running.txt", r.out);
	ck_assert_int_eq(j.rc, 0);
	check_json("status-running.json", &j);
	check_golden("status-running.json", j.out);
	result_free(&r);
	result_free(&j);
}
END_TEST

/* A socket file that nobody listens on is a daemon that is not running. */
START_TEST(daemon_stopped)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "dead.sock" };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct result r;

	ck_assert_int_ge(fd, 0);
	unlink("dead.sock");
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	r = run(PW_QUERY_STATUS, "--config", "dead.conf", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "Daemon:   stopped (control socket dead.sock)\n"));
	result_free(&r);
	close(fd);
	unlink("dead.sock");
}
END_TEST

/* ------------------------------------------------------------------ errors */

static void expect_error(struct result r, int rc, const char *msg)
{
	ck_assert_msg(r.rc == rc, "exit %d, want %d; stderr: %s", r.rc, rc, r.err);
	ck_assert_msg(strstr(r.err, msg), "stderr lacks \"%s\": %s", msg, r.err);
	if (rc != 0)
		ck_assert_msg(r.out_len == 0, "stdout on error: %s", r.out);
	result_free(&r);
}

START_TEST(bad_arguments)
{
	expect_error(run(PW_QUERY_OPEN, "--bogus", NULL), 2, "unknown option \"--bogus\"");
	expect_error(run(PW_QUERY_OPEN, "-jx", NULL), 2, "unknown option \"-x\"");
	expect_error(run(PW_QUERY_OPEN, "--json", "--csv", NULL), 2, "--json and --csv exclude");
	expect_error(run(PW_QUERY_OPEN, "--since", "1h", NULL), 2, "--since does not apply");
	expect_error(run(PW_QUERY_STATUS, "--job", "lo", NULL), 2, "--job does not apply");
	expect_error(run(PW_QUERY_STATUS, "extra", NULL), 2, "unexpected argument \"extra\"");
	expect_error(run(PW_QUERY_OPEN, "127.0.0.1", "::1", NULL), 2,
		     "unexpected argument \"::1\"");
	expect_error(run(PW_QUERY_OPEN, "not an address!", NULL), 2, "is not an address");
	expect_error(run(PW_QUERY_RUNS, "--limit", "many", NULL), 2, "--limit: \"many\"");
	expect_error(run(PW_QUERY_RUNS, "--limit", "-1", NULL), 2, "--limit: \"-1\"");
	expect_error(run(PW_QUERY_RUNS, "--limit", NULL), 2, "needs a value");
	expect_error(run(PW_QUERY_RUNS, "--db", "", NULL), 2, "--db: empty path");
	expect_error(run(PW_QUERY_CHANGES, "--since", "yesterday", NULL), 2,
		     "--since: \"yesterday\" is neither");
	expect_error(run(PW_QUERY_CHANGES, "--since", "2026-02-30", NULL), 2,
		     "\"2026-02-30\" is not a valid date");
	expect_error(run(PW_QUERY_CHANGES, "--host", "", NULL), 2, "is not an address");
	expect_error(run(PW_QUERY_HISTORY, NULL), 2, "missing argument");
	expect_error(run(PW_QUERY_HISTORY, "[::1", NULL), 2, "is not HOST[:PORT]");
	expect_error(run(PW_QUERY_HISTORY, "127.0.0.1:", NULL), 2, "is not HOST[:PORT]");
	expect_error(run(PW_QUERY_HISTORY, "127.0.0.1:70000", NULL), 2, "\"70000\" is not a port");
	expect_error(run(PW_QUERY_HISTORY, "127.0.0.1:22", "--limit", "3", NULL), 2,
		     "--limit does not apply");
	/* --help is not an error */
	{
		struct result r = run(PW_QUERY_CHANGES, "--help", NULL);

		ck_assert_int_eq(r.rc, 0);
		ck_assert_ptr_nonnull(strstr(r.out, "Usage: portwatch changes"));
		result_free(&r);
	}
}
END_TEST

START_TEST(unknown_job)
{
	struct result r;

	expect_error(run(PW_QUERY_OPEN, "--job", "weg", NULL), 1,
		     "pw.db: no job \"weg\"; did you mean \"web\"?");
	expect_error(run(PW_QUERY_RUNS, "--job", "nothing-like-it", NULL), 1,
		     "no job \"nothing-like-it\"\n");
	/* configured but never run: no error, nothing to show */
	r = run(PW_QUERY_RUNS, "--job", "fresh", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.out, "No runs.\n");
	result_free(&r);
}
END_TEST

START_TEST(bad_databases)
{
	struct pw_store *s;

	expect_error(run(PW_QUERY_OPEN, "--db", "missing.db", NULL), 1,
		     "portwatch open: missing.db: no such database");
	expect_error(run(PW_QUERY_RUNS, "--db", "garbage.db", NULL), 1,
		     "portwatch runs: garbage.db: ");
	expect_error(run(PW_QUERY_RUNS, "--db", "garbage.db", NULL), 1, "not a database");
	expect_error(run(PW_QUERY_STATUS, "--db", ".", NULL), 1, ".: is a directory");

	/* a schema from a newer portwatch */
	ck_assert_int_eq(pw_store_open("newer.db", 0, &s, NULL), 0);
	pw_store_close(s);
	{
		sqlite3 *db;

		ck_assert_int_eq(sqlite3_open("newer.db", &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
	}
	expect_error(run(PW_QUERY_CHANGES, "--db", "newer.db", NULL), 1,
		     "newer.db: database schema version 99 is newer than this portwatch");
	/* ... and one from an older portwatchd that has not migrated it yet */
	{
		sqlite3 *db;

		ck_assert_int_eq(sqlite3_open("newer.db", &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
	}
	expect_error(run(PW_QUERY_CHANGES, "--db", "newer.db", NULL), 1,
		     "newer.db: database schema version 1 is older than this portwatch");

	/* no --db: the default config's database; a broken config is an error */
	expect_error(run_cfg("broken.conf", PW_QUERY_OPEN, NULL), 1,
		     "cannot read the configuration broken.conf for the database path");
	expect_error(run(PW_QUERY_OPEN, "--config", "broken.conf", "--db", "pw.db", NULL), 1,
		     "broken.conf:1:");
	/* ... a missing default config means the built-in database path */
	if (access(PW_DEFAULT_DATABASE, F_OK) < 0)
		expect_error(run_cfg("no-such.conf", PW_QUERY_OPEN, NULL), 1,
			     PW_DEFAULT_DATABASE ": no such database");
}
END_TEST

/* A writer that holds an exclusive lock: the reader gives up after 5 s. */
START_TEST(locked_database)
{
	sqlite3 *db;
	struct pw_store *s;

	ck_assert_int_eq(pw_store_open("locked.db", 0, &s, NULL), 0);
	pw_store_close(s);
	ck_assert_int_eq(sqlite3_open("locked.db", &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	expect_error(run(PW_QUERY_RUNS, "--db", "locked.db", NULL), 1,
		     "portwatch runs: locked.db: ");
	ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	{
		struct result r = run(PW_QUERY_RUNS, "--db", "locked.db", NULL);

		ck_assert_int_eq(r.rc, 0);
		ck_assert_str_eq(r.out, "No runs.\n");
		result_free(&r);
	}
}
END_TEST

/* The CLI never writes: the file's bytes are the same after every verb. */
START_TEST(read_only)
{
	struct stat before, after;
	struct result r;

	ck_assert_int_eq(stat("pw.db", &before), 0);
	for (int v = 0; v < _PW_QUERY_VERB_MAX; v++) {
		r = v == PW_QUERY_HISTORY ? run(v, "127.0.0.1", NULL) : run(v, NULL);
		ck_assert_int_eq(r.rc, 0);
		result_free(&r);
	}
	ck_assert_int_eq(stat("pw.db", &after), 0);
	ck_assert_int_eq(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	ck_assert_int_eq(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	ck_assert_int_eq(before.st_size, after.st_size);
}
END_TEST

/* Fields per CSV record (RFC 4180), or -1 if a quoted field is malformed. */
static int csv_records(const char *s, int *ret_fields)
{
	int records = 0, fields = 1;
	bool quoted = false, at_start = true;

	*ret_fields = -1;
	for (const char *p = s; *p; p++) {
		if (quoted) {
			if (*p == '"' && p[1] == '"')
				p++;
			else if (*p == '"')
				quoted = false;
			continue;
		}
		if (*p == '"') {
			if (!at_start)
				return -1;
			quoted = true;
		} else if (*p == ',') {
			fields++;
			at_start = true;
			continue;
		} else if (*p == '\n') {
			if (*ret_fields >= 0 && fields != *ret_fields)
				return -1;
			*ret_fields = fields;
			fields = 1;
			records++;
			at_start = true;
			continue;
		}
		at_start = false;
	}
	return quoted ? -1 : records;
}

/*
 * A database whose text is hostile: a job name with a terminal escape, a
 * line break, commas, quotes and bytes that are not UTF-8. Every verb in
 * every format stays well-formed: no control character reaches the
 * terminal, CSV keeps its columns, JSON parses.
 */
START_TEST(hostile_text)
{
	static const char evil[] = "ev\x1b]0;pwned\x07il,\"job\"\r\nnext\xff\xc3";
	static const char *const fmts[] = { NULL, "--csv", "--json" };
	sqlite3_stmt *st;

	unlink("hostile.db");
	/* a copy of pw.db through the backup API, then the evil name */
	{
		sqlite3 *src, *dst;
		sqlite3_backup *b;

		ck_assert_int_eq(sqlite3_open_v2("pw.db", &src, SQLITE_OPEN_READONLY, NULL),
				 SQLITE_OK);
		ck_assert_int_eq(sqlite3_open("hostile.db", &dst), SQLITE_OK);
		b = sqlite3_backup_init(dst, "main", src, "main");
		ck_assert_ptr_nonnull(b);
		ck_assert_int_eq(sqlite3_backup_step(b, -1), SQLITE_DONE);
		sqlite3_backup_finish(b);
		sqlite3_close(src);
		ck_assert_int_eq(sqlite3_prepare_v2(dst,
						    "UPDATE jobs SET name = ?1 WHERE name = 'lo'",
						    -1, &st, NULL),
				 SQLITE_OK);
		sqlite3_bind_text(st, 1, evil, -1, SQLITE_STATIC);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		sqlite3_close(dst);
	}
	for (int v = 0; v < _PW_QUERY_VERB_MAX; v++) {
		for (size_t i = 0; i < PW_ELEMENTSOF(fmts); i++) {
			const char *arg = v == PW_QUERY_HISTORY   ? "127.0.0.1"
					  : v == PW_QUERY_CHANGES ? "--all"
								  : NULL;
			struct result r = arg ? run(v, "--db", "hostile.db", arg, fmts[i], NULL)
					      : run(v, "--db", "hostile.db", fmts[i], NULL);
			int fields;

			ck_assert_msg(r.rc == 0, "%s %s: %s", verb_names[v], fmts[i] ?: "", r.err);
			ck_assert_msg(memmem(r.out, r.out_len, "ev", 2) != NULL,
				      "%s: the job is missing", verb_names[v]);
			if (!fmts[i]) {
				for (size_t k = 0; k < r.out_len; k++)
					ck_assert_msg((unsigned char)r.out[k] >= 0x20 ||
							      r.out[k] == '\n',
						      "%s: control byte %#x in text", verb_names[v],
						      (unsigned char)r.out[k]);
			} else if (strcmp(fmts[i], "--csv") == 0) {
				ck_assert_msg(csv_records(r.out, &fields) > 1, "%s: bad CSV:\n%s",
					      verb_names[v], r.out);
			} else {
				check_json(verb_names[v], &r);
				ck_assert_ptr_nonnull(strstr(
					r.out,
					"\\u001b]0;pwned\\u0007il,\\\"job\\\"\\r\\nnext\\ufffd\\ufffd"));
			}
			result_free(&r);
		}
	}
	unlink("hostile.db");
}
END_TEST

/* ------------------------------------------------------------------ parsers */

START_TEST(parse_since)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t want; /* seconds since the epoch */
	} t[] = {
		{ "1h", 0, T0 + 7200 - 3600 },
		{ "90s", 0, T0 + 7200 - 90 },
		{ "1h30m", 0, T0 + 7200 - 5400 },
		{ "2026-11-20", 0, T0 - 5 * 86400 - 13 * 3600 },
		{ "2026-11-25 13:00", 0, T0 },
		{ "2026-11-25 13:00:05", 0, T0 + 5 },
		{ "2026-11-25T13:00:05Z", 0, T0 + 5 },
		{ "2026-11-25T13:00Z", 0, T0 },
		{ "1970-01-01", 0, 0 },
		{ "100000d", 0, 0 }, /* before the epoch: clamped */
		{ "2026-02-29", -ERANGE, 0 },
		{ "2028-02-29", 0, 1835395200 },
		{ "2026-13-01", -ERANGE, 0 },
		{ "2026-11-25 24:00", -ERANGE, 0 },
		{ "2026-11-25 13:60", -ERANGE, 0 },
		{ "2026-11-25Z", -EINVAL, 0 },
		{ "2026-11-25 13", -EINVAL, 0 },
		{ "2026-11-25 13:00:5", -EINVAL, 0 },
		{ "2026-11-25 13:00:05 ", -EINVAL, 0 },
		{ "2026-1-25", -EINVAL, 0 },
		{ "26-11-25", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "soon", -EINVAL, 0 },
		{ "-1h", -EINVAL, 0 },
	};

	for (size_t i = 0; i < PW_ELEMENTSOF(t); i++) {
		uint64_t got = 12345;
		int r = pw_query_parse_since(t[i].in, NOW, &got);

		ck_assert_msg(r == t[i].ret, "\"%s\": %d, want %d", t[i].in, r, t[i].ret);
		if (r == 0)
			ck_assert_msg(got == t[i].want * USEC_PER_SEC, "\"%s\": %llu", t[i].in,
				      (unsigned long long)got);
		else
			ck_assert_msg(got == 12345, "\"%s\": output written on failure", t[i].in);
	}
}
END_TEST

START_TEST(split_host_port)
{
	static const struct {
		const char *in, *host, *port;
		int ret;
	} t[] = {
		{ "127.0.0.1", "127.0.0.1", NULL, 0 },
		{ "127.0.0.1:22", "127.0.0.1", "22", 0 },
		{ "[::1]:22", "::1", "22", 0 },
		{ "[::1]", "::1", NULL, 0 },
		{ "::1", "::1", NULL, 0 },
		{ "fe80::1:22", "fe80::1:22", NULL, 0 }, /* brackets say where the port is */
		{ "localhost:ssh", "localhost", "ssh", 0 },
		{ "127.0.0.0/8:80-90", "127.0.0.0/8", "80-90", 0 },
		{ "[::1]22", NULL, NULL, -EINVAL },
		{ "[::1]:", NULL, NULL, -EINVAL },
		{ "[]:22", NULL, NULL, -EINVAL },
		{ "[::1", NULL, NULL, -EINVAL },
		{ ":22", NULL, NULL, -EINVAL },
		{ "host:", NULL, NULL, -EINVAL },
		{ "", NULL, NULL, -EINVAL },
	};

	for (size_t i = 0; i < PW_ELEMENTSOF(t); i++) {
		char *h = NULL, *p = NULL;
		int r = pw_query_split_host_port(t[i].in, &h, &p);

		ck_assert_msg(r == t[i].ret, "\"%s\": %d", t[i].in, r);
		if (r < 0) {
			ck_assert_ptr_null(h);
			continue;
		}
		ck_assert_str_eq(h, t[i].host);
		if (t[i].port)
			ck_assert_str_eq(p, t[i].port);
		else
			ck_assert_ptr_null(p);
		free(h);
		free(p);
	}
}
END_TEST

/* ------------------------------------------------------------------ cli.c formats */

static char *capture(void (*fn)(const struct pw_cli_table *, bool, FILE *),
		     const struct pw_cli_table *t, bool no_header)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	fn(t, no_header, f);
	fclose(f);
	return buf;
}

static void json_array(const struct pw_cli_table *t, bool unused, FILE *f)
{
	struct pw_json j;

	pw_json_init(&j, f);
	pw_cli_table_print_json(t, &j);
	ck_assert_int_eq(pw_json_done(&j), 0);
}

/* Awkward text in every format: quoting, escaping, terminal safety. */
START_TEST(table_formats)
{
	static const struct pw_cli_column cols[] = {
		{ "name", "NAME", PW_CLI_COL_TEXT },
		{ "n", "N", PW_CLI_COL_INT },
		{ "at", "AT", PW_CLI_COL_TIME },
		{ "took_s", "TOOK", PW_CLI_COL_SPAN },
	};
	struct pw_cli_table *t = pw_cli_table_new(cols, 4);
	_cleanup_free_ char *text = NULL, *csv = NULL, *json = NULL, *bare = NULL, *empty = NULL;
	const char *why = NULL;

	ck_assert_ptr_nonnull(t);
	empty = capture(json_array, t, false);
	ck_assert_str_eq(empty, "[]");
	ck_assert_int_eq(pw_cli_table_add_row(t), 0);
	ck_assert_int_eq(pw_cli_table_set_text(t, 0, "a,b \"q\"\nline2"), 0);
	pw_cli_table_set_int(t, 1, -7);
	pw_cli_table_set_int(t, 2, (int64_t)AT(0) + 999999);
	pw_cli_table_set_int(t, 3, 1500000);
	ck_assert_int_eq(pw_cli_table_add_row(t), 0);
	ck_assert_int_eq(pw_cli_table_set_text(t, 0, "esc\x1b[31m\t"), 0);
	pw_cli_table_set_int(t, 3, 90061 * USEC_PER_SEC);
	ck_assert_int_eq(pw_cli_table_add_row(t), 0); /* all null */

	text = capture(pw_cli_table_print_text, t, false);
	ck_assert_str_eq(text, "NAME            N  AT                   TOOK\n"
			       "a,b \"q\"?line2  -7  2026-11-25 13:00:00  1.5s\n"
			       "esc?[31m?       -  -                    1d1h\n"
			       "-               -  -                       -\n");
	bare = capture(pw_cli_table_print_text, t, true);
	ck_assert_str_eq(bare, "a,b \"q\"?line2  -7  2026-11-25 13:00:00  1.5s\n"
			       "esc?[31m?       -  -                    1d1h\n"
			       "-               -  -                       -\n");
	csv = capture(pw_cli_table_print_csv, t, false);
	ck_assert_str_eq(csv, "name,n,at,took_s\n"
			      "\"a,b \"\"q\"\"\nline2\",-7,2026-11-25 13:00:00,1.5\n"
			      "esc\x1b[31m\t,,,90061\n"
			      ",,,\n");
	json = capture(json_array, t, false);
	ck_assert_str_eq(
		json,
		"[\n"
		"  {\"name\": \"a,b \\\"q\\\"\\nline2\", \"n\": -7, \"at\": \"2026-11-25T13:00:00Z\", \"took_s\": 1.5},\n"
		"  {\"name\": \"esc\\u001b[31m\\t\", \"n\": null, \"at\": null, \"took_s\": 90061},\n"
		"  {\"name\": null, \"n\": null, \"at\": null, \"took_s\": null}\n"
		"]");
	ck_assert_msg(json_check(json, strlen(json), &why, NULL), "%s", why);
	pw_cli_table_free(t);
}
END_TEST

/* Streaming prints what the stored table prints, row for row. */
static void fill_rows(struct pw_cli_table *t, int n)
{
	for (int i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), i % 3 ? "row %d" : "a \"wide\" row, %d", i);
		ck_assert_int_eq(pw_cli_table_add_row(t), 0);
		ck_assert_int_eq(pw_cli_table_set_text(t, 0, name), 0);
		pw_cli_table_set_int(t, 1, i * 1000);
		if (i % 2)
			pw_cli_table_set_int(t, 2, (int64_t)AT(i));
		pw_cli_table_set_int(t, 3, i * 123456);
	}
}

static char *streamed(const struct pw_cli_column *cols, int n, enum pw_cli_format fmt,
		      bool no_header)
{
	struct pw_cli_table *t = pw_cli_table_new(cols, 4);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct pw_json j;

	ck_assert_ptr_nonnull(f);
	pw_json_init(&j, f);
	if (fmt == PW_CLI_TEXT) {
		pw_cli_table_stream(t, PW_CLI_MEASURE, fmt, no_header, NULL, f);
		fill_rows(t, n);
		ck_assert_int_eq(pw_cli_table_end(t), n);
	}
	pw_cli_table_stream(t, PW_CLI_EMIT, fmt, no_header, &j, f);
	fill_rows(t, n);
	ck_assert_int_eq(pw_cli_table_rows(t), n);
	ck_assert_int_eq(pw_cli_table_end(t), n);
	if (fmt == PW_CLI_JSON)
		ck_assert_int_eq(pw_json_done(&j), 0);
	fclose(f);
	pw_cli_table_free(t);
	return buf;
}

START_TEST(streaming_matches_stored)
{
	static const struct pw_cli_column cols[] = {
		{ "name", "NAME", PW_CLI_COL_TEXT },
		{ "n", "N", PW_CLI_COL_INT },
		{ "at", "AT", PW_CLI_COL_TIME },
		{ "took_s", "TOOK", PW_CLI_COL_SPAN },
	};
	static const int counts[] = { 0, 1, 2, 17, 1000 };

	for (size_t c = 0; c < PW_ELEMENTSOF(counts); c++) {
		for (int nh = 0; nh < 2; nh++) {
			struct pw_cli_table *t = pw_cli_table_new(cols, 4);
			_cleanup_free_ char *text = NULL, *csv = NULL, *json = NULL;
			_cleanup_free_ char *s_text = NULL, *s_csv = NULL, *s_json = NULL;

			fill_rows(t, counts[c]);
			text = capture(pw_cli_table_print_text, t, nh);
			csv = capture(pw_cli_table_print_csv, t, nh);
			json = capture(json_array, t, nh);
			s_text = streamed(cols, counts[c], PW_CLI_TEXT, nh);
			s_csv = streamed(cols, counts[c], PW_CLI_CSV, nh);
			s_json = streamed(cols, counts[c], PW_CLI_JSON, nh);
			ck_assert_str_eq(s_text, text);
			ck_assert_str_eq(s_csv, csv);
			ck_assert_str_eq(s_json, json);
			pw_cli_table_free(t);
		}
	}
}
END_TEST

START_TEST(spans)
{
	static const struct {
		uint64_t usec;
		const char *want;
	} t[] = {
		{ 0, "0ms" },
		{ 999, "0ms" },
		{ 350000, "350ms" },
		{ 1000000, "1.0s" },
		{ 59999999, "59.9s" },
		{ 60 * USEC_PER_SEC, "1m0s" },
		{ 3599 * USEC_PER_SEC, "59m59s" },
		{ 3600 * USEC_PER_SEC, "1h0m" },
		{ (86400 + 7200 + 59) * USEC_PER_SEC, "1d2h" },
		{ UINT64_C(400) * 86400 * USEC_PER_SEC, "400d0h" },
	};
	char buf[PW_CLI_SPAN_STRLEN], tb[PW_CLI_TIME_STRLEN];

	for (size_t i = 0; i < PW_ELEMENTSOF(t); i++)
		ck_assert_str_eq(pw_cli_format_span(t[i].usec, buf), t[i].want);
	ck_assert_str_eq(pw_cli_format_time(AT(0), false, tb), "2026-11-25 13:00:00");
	ck_assert_str_eq(pw_cli_format_time(AT(0), true, tb), "2026-11-25T13:00:00Z");
}
END_TEST

/* The checker must reject what is not JSON, or the JSON tests prove nothing. */
START_TEST(json_checker)
{
	static const char *const good[] = {
		"{}",
		"[]",
		"0",
		"-0.5e+3",
		"\"\\u00e9\\ud83d\\ude00\"",
		" {\"a\": [1, null, true]} ",
		"\"caf\xc3\xa9\"",
	};
	static const char *const bad[] = {
		"",    "{",      "[1,]",    "{\"a\" 1}",   "{a: 1}",   "01",
		"1.",  "\"\t\"", "\"\\x\"", "\"\\ud83d\"", "\"\xff\"", "\"\xc0\xaf\"",
		"nul", "{} {}",  "[1] x",   "'a'",         "+1",
	};

	static const struct {
		const char *in, *out;
	} quoted[] = {
		{ "\xff", "\"\\ufffd\"" },
		{ "a\xc3", "\"a\\ufffd\"" },                     /* truncated */
		{ "\xc0\xaf/", "\"\\ufffd\\ufffd/\"" },          /* overlong */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" }, /* surrogate */
		{ "caf\xc3\xa9 \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"" },
	};

	for (size_t i = 0; i < PW_ELEMENTSOF(good); i++)
		ck_assert_msg(json_check(good[i], strlen(good[i]), NULL, NULL), "rejected %s",
			      good[i]);
	/* what pw_json_string() makes of text that is not UTF-8 is JSON */
	for (size_t i = 0; i < PW_ELEMENTSOF(quoted); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		ck_assert_ptr_nonnull(f);
		pw_json_string(f, quoted[i].in);
		fclose(f);
		ck_assert_str_eq(buf, quoted[i].out);
		ck_assert(json_check(buf, len, NULL, NULL));
		free(buf);
	}
	for (size_t i = 0; i < PW_ELEMENTSOF(bad); i++)
		ck_assert_msg(!json_check(bad[i], strlen(bad[i]), NULL, NULL), "accepted %s",
			      bad[i]);
}
END_TEST

static Suite *query_suite(void)
{
	Suite *s = suite_create("query");
	TCase *tc = tcase_create("verbs");
	TCase *tp = tcase_create("parsers");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, golden_output, 0, (int)PW_ELEMENTSOF(goldens));
	tcase_add_test(tc, since_forms_agree);
	tcase_add_test(tc, daemon_running);
	tcase_add_test(tc, daemon_stopped);
	tcase_add_test(tc, db_option_and_configs);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, unknown_job);
	tcase_add_test(tc, bad_databases);
	tcase_add_test(tc, locked_database);
	tcase_add_test(tc, read_only);
	tcase_add_test(tc, hostile_text);
	suite_add_tcase(s, tc);

	tcase_add_test(tp, parse_since);
	tcase_add_test(tp, split_host_port);
	tcase_add_test(tp, table_formats);
	tcase_add_test(tp, streaming_matches_stored);
	tcase_add_test(tp, spans);
	tcase_add_test(tp, json_checker);
	suite_add_tcase(s, tp);
	return s;
}

PW_CHECK_MAIN(query_suite)
