/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "check-main.h"
#include "control.h"
#include "util.h"

static char dir[] = "/tmp/pw-test-control.XXXXXX";
static char path[256];
static sd_event *ev;
static unsigned n_handled;

static void setup(void)
{
	strcpy(dir, "/tmp/pw-test-control.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pw.sock", dir);
	ck_assert_int_ge(sd_event_new(&ev), 0);
	n_handled = 0;
}

static void teardown(void)
{
	ev = sd_event_unref(ev);
	unlink(path);
	rmdir(dir);
}

/* "ok\n" and numbered lines, len bytes in all: a loss anywhere shows. */
static char *big_reply(size_t len)
{
	char *b = malloc(len + 1);
	size_t at = 3;

	if (!b)
		return NULL;
	memcpy(b, "ok\n", 3);
	for (unsigned i = 0; at < len; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "line %u\n", i);
		size_t k = len - at < (size_t)n ? len - at : (size_t)n;

		memcpy(b + at, line, k);
		at += k;
	}
	b[len] = '\0';
	return b;
}

static int handler(void *userdata, const char *request, char **ret_reply)
{
	n_handled++;
	if (strncmp(request, "run ", 4) == 0)
		return asprintf(ret_reply, "ok\nran [%s]", request + 4) < 0 ? -ENOMEM : 0;
	if (strcmp(request, "escape") == 0)
		return (*ret_reply = strdup("ok\n\x1b]0;owned\x07\r\t\x7f end\n")) ? 0 : -ENOMEM;
	if (strncmp(request, "big ", 4) == 0)
		return (*ret_reply = big_reply(strtoul(request + 4, NULL, 10))) ? 0 : -ENOMEM;
	return -ENOENT;
}

struct call {
	const char *request;
	int r;
	char *reply;
	bool done;
};

static void *client(void *arg)
{
	struct call *c = arg;

	c->r = pw_control_request(path, c->request, 5 * USEC_PER_SEC, &c->reply, NULL);
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Ask from another thread while this one runs the daemon's loop. */
static void call(struct call *c)
{
	pthread_t t;
	uint64_t end = pw_now_usec(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC;

	c->reply = NULL;
	c->done = false;
	ck_assert_int_eq(pthread_create(&t, NULL, client, c), 0);
	while (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE) && pw_now_usec(CLOCK_MONOTONIC) < end)
		ck_assert_int_ge(sd_event_run(ev, 20 * USEC_PER_MSEC), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
}

START_TEST(request_reply)
{
	struct pw_control *c = NULL;
	struct call a = { .request = "run web\n" }, b = { .request = "bogus" };
	struct stat st;

	ck_assert_int_eq(pw_control_new(ev, path, handler, NULL, &c), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0600);

	call(&a);
	ck_assert_int_eq(a.r, 0);
	ck_assert_str_eq(a.reply, "ok\nran [web]");
	free(a.reply);
	call(&b);
	ck_assert_int_eq(b.r, 0);
	ck_assert_str_eq(b.reply, "error: No such file or directory");
	free(b.reply);
	ck_assert_uint_eq(n_handled, 2);

	pw_control_free(c);
	/* gone with the daemon: clients say it is not running */
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(pw_control_request(path, "status", USEC_PER_SEC, &a.reply, NULL), -ENOENT);
}
END_TEST

START_TEST(stale_live_and_bad_paths)
{
	struct pw_control *c = NULL, *c2 = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *reply = NULL, longpath[200];
	int fd;
	FILE *f;

	/* a socket file nobody listens on: refused, then replaced */
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	ck_assert_int_eq(pw_control_request(path, "status", USEC_PER_SEC, &reply, NULL),
			 -ECONNREFUSED);
	ck_assert_int_eq(pw_control_new(ev, path, handler, NULL, &c), 0);
	/* a second daemon does not steal a live socket */
	ck_assert_int_eq(pw_control_new(ev, path, handler, NULL, &c2), -EADDRINUSE);
	pw_control_free(c);

	/* never replaces something that is not a socket */
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(pw_control_new(ev, path, handler, NULL, &c), -EEXIST);
	unlink(path);

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(pw_control_new(ev, longpath, handler, NULL, &c), -ENAMETOOLONG);
	ck_assert_int_eq(pw_control_request(longpath, "status", USEC_PER_SEC, &reply, NULL),
			 -ENAMETOOLONG);
	ck_assert_int_eq(pw_control_new(ev, "/nonexistent-dir/pw.sock", handler, NULL, &c),
			 -ENOENT);
}
END_TEST

/* A reply far over one message (4,096 jobs in a status) comes back whole. */
START_TEST(large_reply)
{
	struct pw_control *c = NULL;
	struct call a = { .request = "big 204800" }, b = { .request = "big 2000000" };
	_cleanup_free_ char *want = big_reply(204800);

	ck_assert_int_eq(pw_control_new(ev, path, handler, NULL, &c), 0);
	call(&a);
	ck_assert_int_eq(a.r, 0);
	ck_assert_uint_eq(strlen(a.reply), 204800);
	ck_assert(strcmp(a.reply, want) == 0);
	free(a.reply);
	/* over the cap: said so, not cut */
	call(&b);
	ck_assert_int_eq(b.r, 0);
	ck_assert_str_eq(b.reply, "error: reply too long");
	free(b.reply);
	pw_control_free(c);
}
END_TEST

/* What the CLI prints of a reply cannot drive the terminal. */
START_TEST(reply_is_sanitized)
{
	struct pw_control *c = NULL;
	struct call a = { .request = "escape" };

	ck_assert_int_eq(pw_control_new(ev, path, handler, NULL, &c), 0);
	call(&a);
	ck_assert_int_eq(a.r, 0);
	ck_assert_str_eq(a.reply, "ok\n?]0;owned???? end\n");
	free(a.reply);
	pw_control_free(c);
}
END_TEST

static int squatter_handler(void *userdata, const char *request, char **ret_reply)
{
	_exit(3); /* the request reached it: the client trusted it */
}

/* A listener of another user (a squatter in a shared directory) is not
 * trusted: the request is not even sent. As root: the squatter is nobody. */
START_TEST(untrusted_server_refused)
{
	char *reply = NULL, *err = NULL, want[400];
	struct stat st;
	pid_t pid;
	int status;

	if (geteuid() != 0)
		return; /* needs root to become another user */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct pw_control *c = NULL;
		sd_event *e = NULL;

		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0 ||
		    sd_event_new(&e) < 0 || pw_control_new(e, path, squatter_handler, NULL, &c) < 0)
			_exit(10);
		for (int i = 0; i < 500; i++)
			(void)sd_event_run(e, 20 * USEC_PER_MSEC);
		_exit(0);
	}
	for (int i = 0; i < 250 && stat(path, &st) < 0; i++)
		usleep(20 * 1000);
	ck_assert_int_eq(pw_control_request(path, "run web", USEC_PER_SEC, &reply, &err), -EPERM);
	ck_assert_ptr_null(reply);
	snprintf(want, sizeof(want),
		 "control socket %s is served by uid 65534, not root: refusing to trust it", path);
	ck_assert_str_eq(err, want);
	free(err);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status), "the squatter exited %d", WEXITSTATUS(status));
}
END_TEST

/* Another uid than root or the daemon's is turned away (SO_PEERCRED). */
START_TEST(other_users_refused)
{
	struct pw_control *c = NULL;
	pid_t pid;
	int status;

	if (geteuid() != 0)
		return; /* needs root to become another user */
	ck_assert_int_eq(pw_control_new(ev, path, handler, NULL, &c), 0);
	/* the socket is 0600; open it up so only the credential check is left */
	ck_assert_int_eq(chmod(path, 0666), 0);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *reply = NULL;
		int r;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		r = pw_control_request(path, "run web", 5 * USEC_PER_SEC, &reply, NULL);
		_exit(r == 0 && strcmp(reply, "error: permission denied") == 0 ? 0 : 11);
	}
	for (int i = 0; i < 250 && waitpid(pid, &status, WNOHANG) == 0; i++)
		ck_assert_int_ge(sd_event_run(ev, 20 * USEC_PER_MSEC), 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_uint_eq(n_handled, 0);
	pw_control_free(c);
}
END_TEST

static Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("control");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, request_reply);
	tcase_add_test(tc, stale_live_and_bad_paths);
	tcase_add_test(tc, large_reply);
	tcase_add_test(tc, reply_is_sanitized);
	tcase_add_test(tc, untrusted_server_refused);
	tcase_add_test(tc, other_users_refused);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(control_suite)
