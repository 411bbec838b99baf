/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "alert.h"
#include "check-main.h"
#include "util.h"

/* 2026-11-25 13:00:00 UTC */
#define T0 (UINT64_C(1795611600) * USEC_PER_SEC)

static sd_event *ev;
static struct pw_alerter *al;

#define MAX_RESULTS 16
static struct saved {
	char event[32], program[64], output[PW_ALERT_OUTPUT_MAX + 1];
	struct pw_alert_result r;
} results[MAX_RESULTS];
static unsigned n_results, max_seen_running;

static void on_done(void *userdata, const struct pw_alert_result *r)
{
	struct saved *s;

	ck_assert_uint_lt(n_results, MAX_RESULTS);
	s = &results[n_results++];
	s->r = *r;
	snprintf(s->event, sizeof(s->event), "%s", r->event);
	snprintf(s->program, sizeof(s->program), "%s", r->program);
	ck_assert_uint_le(r->output_len, PW_ALERT_OUTPUT_MAX);
	ck_assert_uint_eq(strlen(r->output), r->output_len);
	memcpy(s->output, r->output, r->output_len + 1);
	s->r.output = s->output;
	if (pw_alerter_running(al) > max_seen_running)
		max_seen_running = pw_alerter_running(al);
}

static void setup_loop(unsigned max_running, size_t max_queued)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGCHLD);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &m, NULL), 0);
	ck_assert_int_ge(sd_event_new(&ev), 0);
	ck_assert_int_eq(pw_alerter_new(ev, max_running, max_queued, on_done, NULL, &al), 0);
	n_results = max_seen_running = 0;
}

static void teardown_loop(void)
{
	al = pw_alerter_free(al);
	ev = sd_event_unref(ev);
	/* every child was reaped */
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

/* Run the loop until n results came in; fail after max_sec. */
static void run_until(unsigned n, unsigned max_sec)
{
	uint64_t end = pw_now_usec(CLOCK_MONOTONIC) + max_sec * USEC_PER_SEC;

	while (n_results < n) {
		ck_assert_msg(pw_now_usec(CLOCK_MONOTONIC) < end, "only %u of %u hooks finished",
			      n_results, n);
		ck_assert_int_ge(sd_event_run(ev, 100 * USEC_PER_MSEC), 0);
	}
}

static const struct pw_event port_info = {
	.type = PW_EVENT_UNEXPECTED_OPEN,
	.job = "web \"prod\"",
	.run_id = 42,
	.has_address = true,
	.address = ((pw_u128)0xffff << 32) | 0x7f000001,
	.port = 22,
	.service = "ssh",
	.has_old_state = true,
	.old_state = PW_STATE_CLOSED,
	.has_new_state = true,
	.new_state = PW_STATE_OPEN,
	.time_usec = T0 + 123456,
};

/* /bin/sh -c SCRIPT; argv is the caller's storage for 4 pointers. */
static struct pw_alert sh_alert_in(char **argv, const char *script, uint64_t timeout_usec)
{
	argv[0] = (char *)"/bin/sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)script;
	argv[3] = NULL;
	return (struct pw_alert){
		.argv = argv, .argc = 3, .events = PW_ALERT_EVENTS_ALL, .timeout_usec = timeout_usec
	};
}

/* A compound literal per use: its storage lives as long as the test's block. */
#define sh_alert(script, timeout) sh_alert_in((char *[4]){ NULL }, (script), (timeout))

START_TEST(json_and_env)
{
	static const char *const want_env[] = {
		"PATH=" PW_ALERT_PATH,
		"PORTWATCH_EVENT=unexpected-open",
		"PORTWATCH_JOB=web \"prod\"",
		"PORTWATCH_RUN_ID=42",
		"PORTWATCH_ADDRESS=127.0.0.1",
		"PORTWATCH_PORT=22",
		"PORTWATCH_SERVICE=ssh",
		"PORTWATCH_OLD_STATE=closed",
		"PORTWATCH_NEW_STATE=open",
		"PORTWATCH_TIME=2026-11-25T13:00:00Z",
		NULL,
	};
	struct pw_event run_failed = {
		.type = PW_EVENT_RUN_FAILED,
		.job = "j",
		.time_usec = T0,
		.reason = "no\nsockets",
	};
	_cleanup_free_ char *json = NULL, *json2 = NULL;
	char **env = NULL;
	size_t i;

	ck_assert_int_eq(pw_alert_format_json(PW_ALERT_UNEXPECTED_OPEN, &port_info, &json), 0);
	ck_assert_str_eq(
		json, "{\"event\":\"unexpected-open\",\"job\":\"web \\\"prod\\\"\",\"run_id\":42,"
		      "\"address\":\"127.0.0.1\",\"port\":22,\"service\":\"ssh\","
		      "\"old_state\":\"closed\",\"new_state\":\"open\","
		      "\"time\":\"2026-11-25T13:00:00Z\",\"time_usec\":1795611600123456}");
	ck_assert_int_eq(pw_alert_format_env(PW_ALERT_UNEXPECTED_OPEN, &port_info, &env), 0);
	for (i = 0; want_env[i]; i++) {
		ck_assert_ptr_nonnull(env[i]);
		ck_assert_str_eq(env[i], want_env[i]);
	}
	ck_assert_ptr_null(env[i]);
	for (i = 0; env[i]; i++)
		free(env[i]);
	free(env);

	ck_assert_int_eq(pw_alert_format_json(PW_ALERT_RUN_FAILED, &run_failed, &json2), 0);
	ck_assert_str_eq(
		json2, "{\"event\":\"run-failed\",\"job\":\"j\",\"time\":\"2026-11-25T13:00:00Z\","
		       "\"time_usec\":1795611600000000,\"reason\":\"no\\nsockets\"}");
	ck_assert_int_eq(pw_alert_format_json(_PW_ALERT_EVENT_MAX, &run_failed, &json), -EINVAL);
}
END_TEST

START_TEST(wants)
{
	struct pw_alert a = sh_alert("true", USEC_PER_SEC);

	a.events = 1u << PW_ALERT_OPENED;
	ck_assert(pw_alert_wants(&a, PW_ALERT_OPENED));
	ck_assert(!pw_alert_wants(&a, PW_ALERT_CLOSED));
	ck_assert(!pw_alert_wants(&a, _PW_ALERT_EVENT_MAX));
	a.argv = NULL;
	a.argc = 0;
	ck_assert(!pw_alert_wants(&a, PW_ALERT_OPENED));
	ck_assert(!pw_alert_wants(NULL, PW_ALERT_OPENED));
}
END_TEST

/* The hook gets exactly the documented environment, the JSON on stdin,
 * fds 0-2 only; its output and exit status come back. ls lists its own
 * fds: 0-2 and the directory it reads, which is 3 only when nothing else
 * leaked in (the shell's $$ would race its pipes). Signals: below. */
START_TEST(hook_sees_event)
{
	struct pw_alert a = sh_alert("env | sort; echo; cat; echo; ls /proc/self/fd | tr '\\n' ' ';"
				     " echo oops >&2; exit 3",
				     10 * USEC_PER_SEC);
	_cleanup_free_ char *json = NULL, *want = NULL;
	const struct saved *s;

	setup_loop(0, 0);
	ck_assert_int_eq(setenv("PW_TEST_LEAK", "1", 1), 0);
	ck_assert_int_eq(pw_alerter_submit(al, &a, PW_ALERT_UNEXPECTED_OPEN, &port_info), 0);
	ck_assert_uint_eq(pw_alerter_running(al), 1);
	run_until(1, 10);
	s = &results[0];
	ck_assert_str_eq(s->event, "unexpected-open");
	ck_assert_str_eq(s->program, "/bin/sh");
	ck_assert_int_gt(s->r.pid, 0);
	ck_assert_int_eq(s->r.spawn_error, 0);
	ck_assert(s->r.exited);
	ck_assert_int_eq(s->r.exit_status, 3);
	ck_assert(!s->r.timed_out);
	ck_assert(!s->r.output_truncated);
	ck_assert_int_eq(pw_alert_format_json(PW_ALERT_UNEXPECTED_OPEN, &port_info, &json), 0);
	ck_assert_int_gt(asprintf(&want,
				  "PATH=" PW_ALERT_PATH "\n"
				  "PORTWATCH_ADDRESS=127.0.0.1\n"
				  "PORTWATCH_EVENT=unexpected-open\n"
				  "PORTWATCH_JOB=web \"prod\"\n"
				  "PORTWATCH_NEW_STATE=open\n"
				  "PORTWATCH_OLD_STATE=closed\n"
				  "PORTWATCH_PORT=22\n"
				  "PORTWATCH_RUN_ID=42\n"
				  "PORTWATCH_SERVICE=ssh\n"
				  "PORTWATCH_TIME=2026-11-25T13:00:00Z\n"
				  "PWD=/\n"
				  "\n%s\n0 1 2 3 oops\n",
				  json),
			 0);
	ck_assert_str_eq(s->output, want);
	ck_assert_uint_eq(pw_alerter_running(al), 0);
	teardown_loop();
}
END_TEST

/*
 * Default signals as the hook's program starts, read by that program
 * itself: a shell's /proc/$$/status says nothing (dash clears its mask at
 * its first fork, and blocks everything around each fork until the child
 * has exec'd, which a reader can catch). The low bits of SigIgn are
 * compared: the ones above 31 (glibc's internal signals) are inherited.
 */
START_TEST(hook_starts_with_default_signals)
{
	struct pw_alert a = sh_alert(
		"exec awk '/^Sig(Blk|Ign)/ { print $1, substr($2, 10) }' /proc/self/status",
		10 * USEC_PER_SEC);
	sigset_t usr1, old;

	/* blocked here, as the daemon blocks its loop's signals: not in the
	 * hook. SIGHUP and SIGUSR1 keep what the parent has (the daemon
	 * ignores them; see hook_survives_the_daemons_signals): default here,
	 * also when the test runs under nohup. */
	signal(SIGHUP, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &usr1, &old), 0);
	setup_loop(0, 0);
	ck_assert_int_eq(pw_alerter_submit(al, &a, PW_ALERT_UNEXPECTED_OPEN, &port_info), 0);
	run_until(1, 10);
	ck_assert_str_eq(results[0].output, "SigBlk: 0000000\nSigIgn: 0000000\n");
	teardown_loop();
	ck_assert_int_eq(sigprocmask(SIG_SETMASK, &old, NULL), 0);
}
END_TEST

START_TEST(hung_hook_is_killed)
{
	/* one that dies of SIGTERM, one that ignores it and gets SIGKILL; 1 s
	 * lets a loaded machine's sh reach its trap before the SIGTERM */
	struct pw_alert a = sh_alert("sleep 30", USEC_PER_SEC);
	struct pw_alert b = sh_alert("trap '' TERM; echo started; sleep 30; echo never",
				     USEC_PER_SEC);
	uint64_t t0 = pw_now_usec(CLOCK_MONOTONIC);
	const struct saved *term, *killed;

	setup_loop(0, 0);
	ck_assert_int_eq(pw_alerter_submit(al, &a, PW_ALERT_UNEXPECTED_OPEN, &port_info), 0);
	ck_assert_int_eq(pw_alerter_submit(al, &b, PW_ALERT_UNEXPECTED_OPEN, &port_info), 0);
	run_until(2, 15);
	term = &results[0];
	killed = &results[1];
	ck_assert(term->r.timed_out);
	ck_assert(!term->r.exited);
	ck_assert_int_eq(term->r.term_signal, SIGTERM);
	ck_assert_uint_lt(term->r.duration_usec, 3 * USEC_PER_SEC);
	ck_assert(killed->r.timed_out);
	ck_assert_int_eq(killed->r.term_signal, SIGKILL);
	ck_assert_str_eq(killed->output, "started\n");
	ck_assert_uint_ge(killed->r.duration_usec, PW_ALERT_KILL_GRACE_USEC);
	ck_assert_uint_lt(pw_now_usec(CLOCK_MONOTONIC) - t0,
			  PW_ALERT_KILL_GRACE_USEC + 4 * USEC_PER_SEC);
	teardown_loop();
}
END_TEST

/* Whether pid is gone: no such process, or a zombie its new parent has
 * not reaped yet (it was reparented: reaping is not this test's). */
static bool process_gone(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* "PID (COMM) STATE ..." */
	return p && (p[2] == 'Z' || p[2] == 'X');
}

/* The pid a hook wrote to path, once it is there. */
static pid_t read_pid(const char *path)
{
	long pid = 0;
	FILE *f = fopen(path, "re");

	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	ck_assert_int_gt(pid, 1);
	return (pid_t)pid;
}

static void assert_gone_soon(pid_t pid, const char *what)
{
	uint64_t end = pw_now_usec(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC;

	while (!process_gone(pid) && pw_now_usec(CLOCK_MONOTONIC) < end)
		usleep(20 * 1000);
	if (!process_gone(pid))
		(void)kill(pid, SIGKILL); /* leave nothing behind, then fail */
	ck_assert_msg(process_gone(pid), "%s: the hook's child %d still runs", what, (int)pid);
}

START_TEST(hook_children_do_not_outlive_it)
{
	/* A grandchild that ignores SIGTERM, left behind by a hook that exits
	 * normally and by one that dies of the timeout's SIGTERM. */
	char dir[] = "/tmp/pw-test-alert.XXXXXX", normal[64], timed[64], s1[160], s2[160];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(normal, sizeof(normal), "%s/normal.pid", dir);
	snprintf(timed, sizeof(timed), "%s/timed.pid", dir);
	snprintf(s1, sizeof(s1), "(trap '' TERM; exec sleep 300) & echo $! >%s; exit 0", normal);
	snprintf(s2, sizeof(s2), "(trap '' TERM; exec sleep 300) & echo $! >%s; sleep 30", timed);
	struct pw_alert a = sh_alert(s1, 10 * USEC_PER_SEC);
	struct pw_alert b = sh_alert(s2, 2 * USEC_PER_SEC);

	setup_loop(0, 0);
	ck_assert_int_eq(pw_alerter_submit(al, &a, PW_ALERT_UNEXPECTED_OPEN, &port_info), 0);
	ck_assert_int_eq(pw_alerter_submit(al, &b, PW_ALERT_UNEXPECTED_OPEN, &port_info), 0);
	run_until(2, 15);
	ck_assert(results[0].r.exited && !results[0].r.timed_out);
	ck_assert(results[1].r.timed_out);
	ck_assert_int_eq(results[1].r.term_signal, SIGTERM);
	assert_gone_soon(read_pid(normal), "normal exit");
	assert_gone_soon(read_pid(timed), "timed out");
	unlink(normal);
	unlink(timed);
	rmdir(dir);
	teardown_loop();
}
END_TEST

/* `systemctl kill -s USR1 portwatchd` reaches the hooks too: it must not
 * kill one (issue 13: the alert was lost). */
START_TEST(hook_survives_the_daemons_signals)
{
	char dir[] = "/tmp/pw-test-alert.XXXXXX", pidf[64], script[256];
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(pidf, sizeof(pidf), "%s/hook.pid", dir);
	snprintf(script, sizeof(script), "echo $$ >%s.tmp; mv %s.tmp %s; sleep 1; echo done", pidf,
		 pidf, pidf);
	struct pw_alert a = sh_alert(script, 10 * USEC_PER_SEC);

	/* as the daemon does (manager.c): blocked for its loop, and ignored */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	setup_loop(0, 0);
	ck_assert_int_eq(pw_alerter_submit(al, &a, PW_ALERT_UNEXPECTED_OPEN, &port_info), 0);
	for (int i = 0; i < 500 && access(pidf, F_OK) < 0; i++)
		ck_assert_int_ge(sd_event_run(ev, 10 * USEC_PER_MSEC), 0);
	pid = read_pid(pidf);
	ck_assert_int_eq(kill(-pid, SIGUSR1), 0);
	ck_assert_int_eq(kill(-pid, SIGHUP), 0);
	run_until(1, 10);
	ck_assert_msg(results[0].r.exited && results[0].r.exit_status == 0,
		      "the hook was killed by signal %d", results[0].r.term_signal);
	ck_assert_str_eq(results[0].output, "done\n");
	teardown_loop();
	signal(SIGUSR1, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	unlink(pidf);
	rmdir(dir);
}
END_TEST

START_TEST(concurrency_and_queue_bound)
{
	struct pw_alert a = sh_alert("sleep 0.2; echo \"$PORTWATCH_PORT\"", 10 * USEC_PER_SEC);
	static const int want[] = { 0, 0, 1, 1, 1, -ENOBUFS, -ENOBUFS };
	struct pw_event info = port_info;

	setup_loop(2, 3);
	for (size_t i = 0; i < PW_ELEMENTSOF(want); i++) {
		info.port = (uint16_t)(1000 + i);
		ck_assert_int_eq(pw_alerter_submit(al, &a, PW_ALERT_UNEXPECTED_OPEN, &info),
				 want[i]);
	}
	ck_assert_uint_eq(pw_alerter_running(al), 2);
	ck_assert_uint_eq(pw_alerter_queued(al), 3);
	run_until(5, 10);
	/* the callback runs before the next starts: never more than 2 */
	ck_assert_uint_le(max_seen_running, 2);
	ck_assert_uint_eq(pw_alerter_queued(al), 0);
	/* the queued ones ran after the first two (FIFO starts, but two run
	 * at once, so they may finish in either order) */
	for (unsigned i = 0; i < 5; i++) {
		unsigned port = 0;

		ck_assert_int_eq(sscanf(results[i].output, "%u", &port), 1);
		ck_assert_msg(i < 2 ? port < 1002 : port >= 1002 && port <= 1004, "result %u: %u",
			      i, port);
	}
	for (unsigned i = 0; i < 5; i++)
		ck_assert(results[i].r.exited && results[i].r.exit_status == 0);
	/* room again */
	ck_assert_int_eq(pw_alerter_submit(al, &a, PW_ALERT_UNEXPECTED_OPEN, &info), 0);
	run_until(6, 10);
	teardown_loop();
}
END_TEST

START_TEST(spawn_failure_reported)
{
	static char *argv[] = { (char *)"/nonexistent/hook", NULL };
	struct pw_alert a = {
		.argv = argv, .argc = 1, .events = PW_ALERT_EVENTS_ALL, .timeout_usec = USEC_PER_SEC
	};
	struct pw_alert none = { .events = PW_ALERT_EVENTS_ALL };

	setup_loop(1, 1);
	ck_assert_int_eq(pw_alerter_submit(al, &a, PW_ALERT_UNEXPECTED_OPEN, &port_info), 0);
	ck_assert_uint_eq(n_results, 1);
	ck_assert_int_eq(results[0].r.spawn_error, ENOENT);
	ck_assert_int_eq(results[0].r.pid, 0);
	ck_assert_uint_eq(pw_alerter_running(al), 0);
	ck_assert_int_eq(pw_alerter_submit(al, &none, PW_ALERT_UNEXPECTED_OPEN, &port_info),
			 -EINVAL);
	teardown_loop();
}
END_TEST

START_TEST(output_is_bounded)
{
	/* 1 MB: the pipe is drained while it runs, only the first 4 KiB kept */
	struct pw_alert a = sh_alert("head -c 1000000 /dev/zero | tr '\\000' x", 10 * USEC_PER_SEC);

	setup_loop(0, 0);
	ck_assert_int_eq(pw_alerter_submit(al, &a, PW_ALERT_UNEXPECTED_OPEN, &port_info), 0);
	run_until(1, 10);
	ck_assert(results[0].r.exited);
	ck_assert_int_eq(results[0].r.exit_status, 0);
	ck_assert(results[0].r.output_truncated);
	ck_assert_uint_eq(results[0].r.output_len, PW_ALERT_OUTPUT_MAX);
	ck_assert_uint_eq(strspn(results[0].output, "x"), PW_ALERT_OUTPUT_MAX);
	teardown_loop();
}
END_TEST

START_TEST(free_kills_running)
{
	struct pw_alert a = sh_alert("sleep 30", 60 * USEC_PER_SEC);
	uint64_t t0 = pw_now_usec(CLOCK_MONOTONIC);

	setup_loop(1, 4);
	ck_assert_int_eq(pw_alerter_submit(al, &a, PW_ALERT_UNEXPECTED_OPEN, &port_info), 0);
	ck_assert_int_eq(pw_alerter_submit(al, &a, PW_ALERT_UNEXPECTED_OPEN, &port_info), 1);
	(void)sd_event_run(ev, 50 * USEC_PER_MSEC);
	teardown_loop(); /* checks nothing is left to reap */
	ck_assert_uint_eq(n_results, 0);
	ck_assert_uint_lt(pw_now_usec(CLOCK_MONOTONIC) - t0, 5 * USEC_PER_SEC);
}
END_TEST

static Suite *alert_suite(void)
{
	Suite *s = suite_create("alert");
	TCase *tc = tcase_create("alert");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, json_and_env);
	tcase_add_test(tc, wants);
	tcase_add_test(tc, hook_sees_event);
	tcase_add_test(tc, hook_starts_with_default_signals);
	tcase_add_test(tc, hook_survives_the_daemons_signals);
	tcase_add_test(tc, hung_hook_is_killed);
	tcase_add_test(tc, hook_children_do_not_outlive_it);
	tcase_add_test(tc, concurrency_and_queue_bound);
	tcase_add_test(tc, spawn_failure_reported);
	tcase_add_test(tc, output_is_bounded);
	tcase_add_test(tc, free_kills_running);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(alert_suite)
