/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check-main.h"
#include "notify.h"
#include "util.h"

static int sock = -1;
static char sock_path[64];

static void setup(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(sock_path, sizeof(sock_path), "/tmp/pw-notify-test-%d", (int)getpid());
	strcpy(sun.sun_path, sock_path);
	unlink(sock_path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(bind(sock, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setenv("NOTIFY_SOCKET", sock_path, 1);
}

static void teardown(void)
{
	close(sock);
	unlink(sock_path);
	unsetenv("NOTIFY_SOCKET");
}

/* The next datagram, or "" if none arrives within 200 ms. */
static const char *next_msg(void)
{
	static char buf[1024];
	struct pollfd p = { .fd = sock, .events = POLLIN };
	ssize_t n;

	buf[0] = '\0';
	if (poll(&p, 1, 200) != 1)
		return buf;
	n = recv(sock, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	return buf;
}

START_TEST(ready_reloading_stopping)
{
	ck_assert_int_gt(pw_notify_ready("Idle, 3 jobs"), 0);
	ck_assert_str_eq(next_msg(), "READY=1\nSTATUS=Idle, 3 jobs");
	ck_assert_int_gt(pw_notify_reloading(123456), 0);
	ck_assert_str_eq(next_msg(),
			 "RELOADING=1\nSTATUS=Reloading configuration\nMONOTONIC_USEC=123456");
	ck_assert_int_gt(pw_notify_stopping(), 0);
	ck_assert_str_eq(next_msg(), "STOPPING=1\nSTATUS=Stopping");
}
END_TEST

START_TEST(status_is_throttled)
{
	struct pw_notify n = PW_NOTIFY_INIT;

	ck_assert_int_eq(pw_notify_status(&n, 10 * USEC_PER_SEC, 0, "run %d%%", 1), 1);
	ck_assert_str_eq(next_msg(), "STATUS=run 1%");
	/* 0.5 s later: dropped */
	ck_assert_int_eq(pw_notify_status(&n, 10 * USEC_PER_SEC + 500000, 0, "run %d%%", 2), 0);
	ck_assert_str_eq(next_msg(), "");
	/* forced: sent anyway */
	ck_assert_int_eq(pw_notify_status(&n, 10 * USEC_PER_SEC + 600000, 1, "Idle"), 1);
	ck_assert_str_eq(next_msg(), "STATUS=Idle");
	/* a full interval after the forced one: sent */
	ck_assert_int_eq(pw_notify_status(&n, 11 * USEC_PER_SEC + 600000, 0, "run %d%%", 3), 1);
	ck_assert_str_eq(next_msg(), "STATUS=run 3%");
}
END_TEST

START_TEST(no_socket_is_a_noop)
{
	struct pw_notify n = PW_NOTIFY_INIT;

	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(pw_notify_ready(NULL), 0);
	ck_assert_int_eq(pw_notify_status(&n, 1, 1, "x"), 0);
	ck_assert_uint_eq(n.last_status_usec, 0);
}
END_TEST

static Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ready_reloading_stopping);
	tcase_add_test(tc, status_is_throttled);
	tcase_add_test(tc, no_socket_is_a_noop);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(notify_suite)
