/* SPDX-License-Identifier: MIT */
#include "check-main.h"
#include "rtt.h"
#include "util.h"

static const struct pw_rtt_limits limits = {
	.initial_usec = 1000 * USEC_PER_MSEC,
	.min_usec = 10 * USEC_PER_MSEC,
	.max_usec = 3000 * USEC_PER_MSEC,
};

START_TEST(initial_timeout_before_samples)
{
	struct pw_rtt r;

	pw_rtt_init(&r, &limits);
	ck_assert(!pw_rtt_has_sample(&r));
	ck_assert_uint_eq(pw_rtt_timeout(&r, &limits, 1), 1000 * USEC_PER_MSEC);
	/* RFC 6298 5.5: back off by doubling, up to the maximum */
	ck_assert_uint_eq(pw_rtt_timeout(&r, &limits, 2), 2000 * USEC_PER_MSEC);
	ck_assert_uint_eq(pw_rtt_timeout(&r, &limits, 3), 3000 * USEC_PER_MSEC);
	ck_assert_uint_eq(pw_rtt_timeout(&r, &limits, 60), 3000 * USEC_PER_MSEC);
}
END_TEST

/* The RFC's arithmetic, checked by hand for a short sequence. */
START_TEST(rfc6298_arithmetic)
{
	struct pw_rtt r;

	pw_rtt_init(&r, &limits);
	pw_rtt_sample(&r, &limits, 40000);
	/* 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR */
	ck_assert_uint_eq(r.srtt, 40000);
	ck_assert_uint_eq(r.rttvar, 20000);
	ck_assert_uint_eq(r.rto, 120000);
	pw_rtt_sample(&r, &limits, 80000);
	/* 2.3: RTTVAR = 3/4 * 20000 + 1/4 * |40000 - 80000| = 25000; SRTT = 7/8 * 40000 + 1/8 * 80000 = 45000 */
	ck_assert_uint_eq(r.rttvar, 25000);
	ck_assert_uint_eq(r.srtt, 45000);
	ck_assert_uint_eq(r.rto, 145000);
}
END_TEST

/* A fake clock: probes "sent" at t and "answered" at t + 20 ms, steadily. */
START_TEST(converges_and_clamps)
{
	struct pw_rtt r;
	uint64_t now = 5 * USEC_PER_SEC;

	pw_rtt_init(&r, &limits);
	for (int i = 0; i < 200; i++) {
		uint64_t sent = now;

		now += 20 * USEC_PER_MSEC;
		pw_rtt_sample(&r, &limits, now - sent);
	}
	ck_assert_uint_eq(r.srtt, 20000);
	/* variance decays to nothing; G keeps the RTO above SRTT */
	ck_assert_uint_eq(r.rto, 20000 + PW_RTT_GRANULARITY_USEC);

	/* loopback-fast answers are clamped to the minimum */
	for (int i = 0; i < 200; i++)
		pw_rtt_sample(&r, &limits, 30);
	ck_assert_uint_eq(pw_rtt_timeout(&r, &limits, 1), limits.min_usec);
	ck_assert_uint_eq(pw_rtt_timeout(&r, &limits, 2), 2 * limits.min_usec);

	/* very slow answers are clamped to the maximum */
	for (int i = 0; i < 50; i++)
		pw_rtt_sample(&r, &limits, 60 * USEC_PER_SEC);
	ck_assert_uint_eq(pw_rtt_timeout(&r, &limits, 1), limits.max_usec);
}
END_TEST

START_TEST(restore_saved_estimate)
{
	struct pw_rtt r;

	pw_rtt_restore(&r, &limits, 50000, 5000);
	ck_assert(pw_rtt_has_sample(&r));
	ck_assert_uint_eq(pw_rtt_timeout(&r, &limits, 1), 70000);
	pw_rtt_restore(&r, &limits, 0, 0);
	ck_assert(!pw_rtt_has_sample(&r));
	ck_assert_uint_eq(pw_rtt_timeout(&r, &limits, 1), limits.initial_usec);
}
END_TEST

static Suite *rtt_suite(void)
{
	Suite *s = suite_create("rtt");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, initial_timeout_before_samples);
	tcase_add_test(tc, rfc6298_arithmetic);
	tcase_add_test(tc, converges_and_clamps);
	tcase_add_test(tc, restore_saved_estimate);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(rtt_suite)
