/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "check-main.h"
#include "resolve.h"

static pw_u128 A(const char *s)
{
	pw_u128 a;

	ck_assert_int_eq(pw_addr_parse(s, &a), 0);
	return a;
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

/*
 * A stand-in for getaddrinfo that blocks until the test writes a byte to
 * gate[1], as a lookup waiting on a dead name server does. "bad*" names
 * fail; any other name N resolves to 127.0.0.N's last octet = its length.
 */
static int gate[2] = { -1, -1 };
static atomic_int calls;

static int gated_resolve(char *const *names, size_t n, const struct pw_iset *exclude,
			 struct pw_iset *ret, int *gai)
{
	char c;
	pw_u128 a;

	(void)exclude;
	(void)gai;
	ck_assert_uint_eq(n, 1);
	atomic_fetch_add(&calls, 1);
	if (gate[0] >= 0 && read(gate[0], &c, 1) != 1)
		return -EIO;
	*ret = (struct pw_iset)PW_ISET_INIT;
	if (strncmp(names[0], "bad", 3) == 0)
		return 1;
	a = A("127.0.0.0") + strlen(names[0]);
	return pw_iset_add(ret, a, a);
}

static void gate_open(bool blocking)
{
	ck_assert_int_eq(pipe(gate), 0);
	atomic_store(&calls, 0);
	if (!blocking) {
		close(gate[0]);
		gate[0] = -1;
	}
}

START_TEST(localhost_resolves_off_the_loop)
{
	/* localhost only: it comes from /etc/hosts, no query leaves the host */
	char *names[] = { "localhost" };
	struct pw_resolve *r;
	struct pw_iset got;
	unsigned failed = 99;

	ck_assert_int_eq(pw_resolve_start(names, 1, NULL, NULL, &r), 0);
	ck_assert(readable(pw_resolve_fd(r), 10000));
	ck_assert_int_eq(pw_resolve_result(r, &got, &failed), 0);
	ck_assert_uint_eq(failed, 0);
	ck_assert(pw_iset_contains(&got, A("127.0.0.1")));
	ck_assert_int_eq(pw_resolve_result(r, &got, &failed), -EALREADY);
	pw_iset_done(&got);
	pw_resolve_free(r);
}
END_TEST

START_TEST(pending_until_the_lookup_returns)
{
	char *names[] = { "abc", "bad.example", "abcdef" };
	struct pw_resolve *r;
	struct pw_iset got, ex = PW_ISET_INIT;
	unsigned failed = 99;

	gate_open(true);
	/* the exclusion is copied: changing ours later must not matter */
	ck_assert_int_eq(pw_iset_add(&ex, A("127.0.0.6"), A("127.0.0.6")), 0);
	ck_assert_int_eq(pw_resolve_start(names, 3, &ex, gated_resolve, &r), 0);
	pw_iset_done(&ex);

	ck_assert(!readable(pw_resolve_fd(r), 100));
	ck_assert_int_eq(pw_resolve_result(r, &got, &failed), -EAGAIN);
	ck_assert_int_eq(write(gate[1], "xxx", 3), 3);
	ck_assert(readable(pw_resolve_fd(r), 10000));
	ck_assert_int_eq(pw_resolve_result(r, &got, &failed), 0);
	ck_assert_int_eq(atomic_load(&calls), 3);
	ck_assert_uint_eq(failed, 1);
	ck_assert_uint_eq(got.n, 1);
	ck_assert(pw_iset_contains(&got, A("127.0.0.3")));
	ck_assert(!pw_iset_contains(&got, A("127.0.0.6")));
	pw_iset_done(&got);
	pw_resolve_free(r);
	close(gate[0]);
	close(gate[1]);
}
END_TEST

START_TEST(dropped_request_stops_after_its_current_name)
{
	char *names[] = { "first", "second", "third" };
	struct pw_resolve *r;

	gate_open(true);
	ck_assert_int_eq(pw_resolve_start(names, 3, NULL, gated_resolve, &r), 0);
	while (atomic_load(&calls) == 0)
		usleep(1000);
	/* the owner goes away while the thread sits in a lookup */
	pw_resolve_free(r);
	ck_assert_int_eq(write(gate[1], "xxx", 3), 3);
	usleep(300 * 1000);
	ck_assert_int_eq(atomic_load(&calls), 1);
	close(gate[1]);
	close(gate[0]);
}
END_TEST

static int failing_resolve(char *const *names, size_t n, const struct pw_iset *exclude,
			   struct pw_iset *ret, int *gai)
{
	(void)names;
	(void)n;
	(void)exclude;
	(void)ret;
	(void)gai;
	atomic_fetch_add(&calls, 1);
	return -ENOMEM;
}

START_TEST(an_error_stops_and_is_reported)
{
	char *names[] = { "a", "b" };
	struct pw_resolve *r;
	struct pw_iset got = PW_ISET_INIT;
	unsigned failed = 99;

	atomic_store(&calls, 0);
	ck_assert_int_eq(pw_resolve_start(names, 2, NULL, failing_resolve, &r), 0);
	ck_assert(readable(pw_resolve_fd(r), 10000));
	ck_assert_int_eq(pw_resolve_result(r, &got, &failed), -ENOMEM);
	ck_assert_int_eq(atomic_load(&calls), 1);
	ck_assert_uint_eq(failed, 99); /* outputs untouched on failure */
	ck_assert_int_eq(pw_resolve_result(r, &got, &failed), -EALREADY);
	pw_resolve_free(r);
}
END_TEST

START_TEST(no_names_is_an_empty_result)
{
	struct pw_resolve *r;
	struct pw_iset got;
	unsigned failed = 99;

	gate_open(false);
	ck_assert_int_eq(pw_resolve_start(NULL, 0, NULL, gated_resolve, &r), 0);
	ck_assert(readable(pw_resolve_fd(r), 10000));
	ck_assert_int_eq(pw_resolve_result(r, &got, &failed), 0);
	ck_assert_uint_eq(got.n, 0);
	ck_assert_uint_eq(failed, 0);
	ck_assert_int_eq(atomic_load(&calls), 0);
	pw_iset_done(&got);
	pw_resolve_free(r);
	close(gate[1]);
}
END_TEST

static Suite *resolve_suite(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, localhost_resolves_off_the_loop);
	tcase_add_test(tc, pending_until_the_lookup_returns);
	tcase_add_test(tc, dropped_request_stops_after_its_current_name);
	tcase_add_test(tc, an_error_stops_and_is_reported);
	tcase_add_test(tc, no_names_is_an_empty_result);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(resolve_suite)
