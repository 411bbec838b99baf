/* SPDX-License-Identifier: MIT */
#include "check-main.h"
#include "ratelimit.h"
#include "util.h"

#define T0 UINT64_C(1000000000)

START_TEST(unlimited_grants_everything)
{
	struct pw_ratelimit rl;

	pw_ratelimit_init(&rl, 0, 0);
	ck_assert_uint_eq(pw_ratelimit_take(&rl, T0, 123456), 123456);
	ck_assert_uint_eq(pw_ratelimit_next(&rl, T0), T0);
}
END_TEST

/* Driven by a fake clock in 1 ms steps for 10 s: the rate is exact. */
START_TEST(steady_rate)
{
	struct pw_ratelimit rl;
	uint64_t got = 0;

	pw_ratelimit_init(&rl, 1000, 10);
	for (uint64_t t = T0; t < T0 + 10 * USEC_PER_SEC; t += USEC_PER_MSEC)
		got += pw_ratelimit_take(&rl, t, 1000);
	/* 10 s at 1000/s, plus the initial bucket of 10 */
	ck_assert_uint_ge(got, 10000);
	ck_assert_uint_le(got, 10010);
}
END_TEST

START_TEST(next_says_when)
{
	struct pw_ratelimit rl;
	uint64_t n;

	pw_ratelimit_init(&rl, 100, 1); /* one token per 10 ms */
	ck_assert_uint_eq(pw_ratelimit_take(&rl, T0, 5), 1);
	ck_assert_uint_eq(pw_ratelimit_take(&rl, T0, 5), 0);
	n = pw_ratelimit_next(&rl, T0);
	ck_assert_uint_eq(n, T0 + 10 * USEC_PER_MSEC);
	ck_assert_uint_eq(pw_ratelimit_take(&rl, n - 1, 1), 0);
	ck_assert_uint_eq(pw_ratelimit_take(&rl, n, 1), 1);
	ck_assert_uint_eq(pw_ratelimit_next(&rl, n + 10 * USEC_PER_MSEC), n + 10 * USEC_PER_MSEC);
}
END_TEST

/* A one-hour stall yields one burst, not an hour's worth of probes. */
START_TEST(no_catch_up_after_stall)
{
	struct pw_ratelimit rl;

	pw_ratelimit_init(&rl, 10000, 50);
	ck_assert_uint_eq(pw_ratelimit_take(&rl, T0, 1000000), 50);
	ck_assert_uint_eq(pw_ratelimit_take(&rl, T0 + 3600 * USEC_PER_SEC, 1000000), 50);
	ck_assert_uint_eq(pw_ratelimit_take(&rl, T0 + 3600 * USEC_PER_SEC, 1000000), 0);
	/* and then the plain rate again: 1 ms = 10 tokens */
	ck_assert_uint_eq(pw_ratelimit_take(&rl, T0 + 3600 * USEC_PER_SEC + 1000, 1000000), 10);
}
END_TEST

START_TEST(default_burst_and_clock_going_back)
{
	struct pw_ratelimit rl;

	pw_ratelimit_init(&rl, 5000, 0);
	ck_assert_uint_eq(rl.burst, 50);
	ck_assert_uint_eq(pw_ratelimit_take(&rl, T0, 100), 50);
	/* an older timestamp grants nothing and does not corrupt the state */
	ck_assert_uint_eq(pw_ratelimit_take(&rl, T0 - 5000, 100), 0);
	ck_assert_uint_eq(pw_ratelimit_take(&rl, T0 + 2000, 100), 10);
	pw_ratelimit_init(&rl, 3, 0);
	ck_assert_uint_eq(rl.burst, 1);
}
END_TEST

START_TEST(give_back)
{
	struct pw_ratelimit rl;

	pw_ratelimit_init(&rl, 1000, 5);
	ck_assert_uint_eq(pw_ratelimit_take(&rl, T0, 5), 5);
	pw_ratelimit_give_back(&rl, 2);
	ck_assert_uint_eq(pw_ratelimit_take(&rl, T0, 5), 2);
	pw_ratelimit_give_back(&rl, 100); /* capped at the burst */
	ck_assert_uint_eq(pw_ratelimit_take(&rl, T0, 100), 5);
}
END_TEST

static Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, unlimited_grants_everything);
	tcase_add_test(tc, steady_rate);
	tcase_add_test(tc, next_says_when);
	tcase_add_test(tc, no_catch_up_after_stall);
	tcase_add_test(tc, default_burst_and_clock_going_back);
	tcase_add_test(tc, give_back);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(ratelimit_suite)
