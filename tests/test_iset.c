/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "check-main.h"
#include "iset.h"
#include "util.h"

#define UNIVERSE 200

/* The reference model: one bool per element of a small universe. */
static void check_against_model(const struct pw_iset *s, const bool *model)
{
	pw_u128 count = 0;

	for (int v = 0; v < UNIVERSE; v++) {
		ck_assert_msg(pw_iset_contains(s, (pw_u128)v) == model[v], "element %d", v);
		if (model[v]) {
			ck_assert_msg(pw_iset_pick(s, count) == (pw_u128)v, "pick(%d)", (int)count);
			ck_assert_msg(pw_iset_rank(s, (pw_u128)v) == count, "rank(%d)", v);
			count++;
		}
	}
	ck_assert(pw_iset_count(s) == count);
	/* normal form: sorted, disjoint and not even touching */
	for (size_t i = 0; i < s->n; i++) {
		ck_assert(s->ranges[i].lo <= s->ranges[i].hi);
		if (i > 0)
			ck_assert(s->ranges[i - 1].hi + 1 < s->ranges[i].lo);
	}
}

START_TEST(random_ops_match_model)
{
	unsigned seed = 12345;

	for (int round = 0; round < 200; round++) {
		struct pw_iset s = PW_ISET_INIT, ex = PW_ISET_INIT;
		bool model[UNIVERSE] = { false }, exm[UNIVERSE] = { false };

		for (int k = 0; k < 12; k++) {
			unsigned lo = (unsigned)rand_r(&seed) % UNIVERSE;
			unsigned hi = lo + (unsigned)rand_r(&seed) % 20;

			if (hi >= UNIVERSE)
				hi = UNIVERSE - 1;
			ck_assert_int_eq(pw_iset_add(&s, lo, hi), 0);
			for (unsigned v = lo; v <= hi; v++)
				model[v] = true;
			check_against_model(&s, model);
		}
		for (int k = 0; k < 4; k++) {
			unsigned lo = (unsigned)rand_r(&seed) % UNIVERSE;
			unsigned hi = lo + (unsigned)rand_r(&seed) % 30;

			if (hi >= UNIVERSE)
				hi = UNIVERSE - 1;
			ck_assert_int_eq(pw_iset_add(&ex, lo, hi), 0);
			for (unsigned v = lo; v <= hi; v++)
				exm[v] = true;
		}
		ck_assert_int_eq(pw_iset_subtract(&s, &ex), 0);
		for (int v = 0; v < UNIVERSE; v++)
			model[v] = model[v] && !exm[v];
		check_against_model(&s, model);
		pw_iset_done(&s);
		pw_iset_done(&ex);
	}
}
END_TEST

START_TEST(covers)
{
	struct pw_iset a = PW_ISET_INIT, b = PW_ISET_INIT;

	ck_assert(pw_iset_covers(&a, &b)); /* the empty set is in every set */
	ck_assert_int_eq(pw_iset_add(&a, 10, 20), 0);
	ck_assert_int_eq(pw_iset_add(&a, 30, 40), 0);
	ck_assert(pw_iset_covers(&a, &b));
	ck_assert_int_eq(pw_iset_add(&b, 12, 18), 0);
	ck_assert_int_eq(pw_iset_add(&b, 30, 30), 0);
	ck_assert(pw_iset_covers(&a, &b));
	ck_assert(!pw_iset_covers(&b, &a));
	ck_assert_int_eq(pw_iset_add(&b, 19, 21), 0); /* sticks out of 10-20 */
	ck_assert(!pw_iset_covers(&a, &b));
	pw_iset_done(&b);
	ck_assert_int_eq(pw_iset_add(&b, 25, 25), 0); /* in the gap */
	ck_assert(!pw_iset_covers(&a, &b));
	pw_iset_done(&b);
	ck_assert_int_eq(pw_iset_add(&b, 41, 41), 0); /* past the end */
	ck_assert(!pw_iset_covers(&a, &b));
	ck_assert(pw_iset_covers(&a, &a));
	pw_iset_done(&a);
	pw_iset_done(&b);
}
END_TEST

START_TEST(add_rejects_reversed)
{
	struct pw_iset s = PW_ISET_INIT;

	ck_assert_int_eq(pw_iset_add(&s, 5, 4), -EINVAL);
	ck_assert_uint_eq(s.n, 0);
	ck_assert(pw_iset_count(&s) == 0);
	pw_iset_done(&s);
}
END_TEST

START_TEST(extremes_do_not_overflow)
{
	struct pw_iset s = PW_ISET_INIT, t = PW_ISET_INIT;

	/* the whole 128-bit space saturates instead of wrapping to 0 */
	ck_assert_int_eq(pw_iset_add(&s, 0, PW_U128_MAX), 0);
	ck_assert(pw_iset_count(&s) == PW_U128_MAX);
	ck_assert(pw_iset_contains(&s, PW_U128_MAX));
	ck_assert(pw_iset_pick(&s, 5) == 5);

	/* adjacent at the top merges */
	ck_assert_int_eq(pw_iset_add(&t, PW_U128_MAX, PW_U128_MAX), 0);
	ck_assert_int_eq(pw_iset_add(&t, PW_U128_MAX - 10, PW_U128_MAX - 1), 0);
	ck_assert_uint_eq(t.n, 1);
	ck_assert(pw_iset_count(&t) == 11);

	/* subtracting everything leaves nothing */
	ck_assert_int_eq(pw_iset_subtract(&t, &s), 0);
	ck_assert_uint_eq(t.n, 0);
	pw_iset_done(&s);
	pw_iset_done(&t);
}
END_TEST

START_TEST(ports_and_copy)
{
	struct pw_iset p = PW_ISET_INIT, q = PW_ISET_INIT, ex = PW_ISET_INIT;

	ck_assert_int_eq(pw_iset_add(&p, 1, 65535), 0);
	ck_assert_int_eq(pw_iset_add(&ex, 22, 22), 0);
	ck_assert_int_eq(pw_iset_add(&ex, 1000, 1999), 0);
	ck_assert_int_eq(pw_iset_subtract(&p, &ex), 0);
	ck_assert(pw_iset_count(&p) == 65535 - 1 - 1000);
	ck_assert(pw_iset_pick(&p, 21) == 23);
	ck_assert(pw_iset_pick(&p, 997) == 999);
	ck_assert(pw_iset_pick(&p, 998) == 2000);
	ck_assert_int_eq(pw_iset_copy(&q, &p), 0);
	ck_assert(pw_iset_equal(&p, &q));
	ck_assert_int_eq(pw_iset_add_set(&q, &ex), 0);
	ck_assert(!pw_iset_equal(&p, &q));
	ck_assert(pw_iset_count(&q) == 65535);
	pw_iset_done(&p);
	pw_iset_done(&q);
	pw_iset_done(&ex);
}
END_TEST

/* A batch gives what adding its ranges one by one gives, on top of a set. */
START_TEST(batch_matches_model)
{
	unsigned seed = 777;

	for (int round = 0; round < 200; round++) {
		struct pw_iset s = PW_ISET_INIT, one = PW_ISET_INIT;
		struct pw_iset_batch b = PW_ISET_BATCH_INIT;
		bool model[UNIVERSE] = { false };

		for (int k = 0; k < 20; k++) {
			unsigned lo = (unsigned)rand_r(&seed) % UNIVERSE;
			unsigned hi = lo + (unsigned)rand_r(&seed) % 8;

			if (hi >= UNIVERSE)
				hi = UNIVERSE - 1;
			/* some already in the set, the rest in the batch */
			if (k % 3 == 0)
				ck_assert_int_eq(pw_iset_add(&s, lo, hi), 0);
			else
				ck_assert_int_eq(pw_iset_batch_add(&b, lo, hi), 0);
			ck_assert_int_eq(pw_iset_add(&one, lo, hi), 0);
			for (unsigned v = lo; v <= hi; v++)
				model[v] = true;
		}
		ck_assert_int_eq(pw_iset_batch_add(&b, 9, 8), -EINVAL);
		ck_assert_int_eq(pw_iset_batch_apply(&b, &s), 0);
		ck_assert_uint_eq(b.n, 0);
		check_against_model(&s, model);
		check_against_model(&one, model);
		ck_assert(pw_iset_equal(&s, &one));
		ck_assert_int_eq(pw_iset_batch_apply(&b, &s), 0); /* empty: a no-op */
		ck_assert(pw_iset_equal(&s, &one));
		pw_iset_done(&s);
		pw_iset_done(&one);
		pw_iset_batch_done(&b);
	}
}
END_TEST

START_TEST(batch_merges_at_the_top)
{
	struct pw_iset s = PW_ISET_INIT;
	struct pw_iset_batch b = PW_ISET_BATCH_INIT;

	ck_assert_int_eq(pw_iset_batch_add(&b, PW_U128_MAX, PW_U128_MAX), 0);
	ck_assert_int_eq(pw_iset_batch_add(&b, 0, PW_U128_MAX - 1), 0);
	ck_assert_int_eq(pw_iset_batch_add(&b, 7, 9), 0);
	ck_assert_int_eq(pw_iset_batch_apply(&b, &s), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert(pw_iset_count(&s) == PW_U128_MAX);
	pw_iset_done(&s);
	pw_iset_batch_done(&b);
}
END_TEST

/*
 * 400k scattered single addresses: a batch sorts once. One by one, each
 * insert moved and reindexed the ranges after it (minutes, not seconds);
 * in ascending order pw_iset_add() itself must stay cheap too.
 */
START_TEST(many_scattered_ranges)
{
	enum { N = 400000 };
	struct pw_iset s = PW_ISET_INIT, t = PW_ISET_INIT, u = PW_ISET_INIT;
	struct pw_iset_batch b = PW_ISET_BATCH_INIT;

	for (unsigned i = 0; i < N; i++) {
		/* a permutation of the even numbers below 2N: nothing touches */
		pw_u128 v = 2 * (pw_u128)((i * 7919u) % N);

		ck_assert_int_eq(pw_iset_batch_add(&b, v, v), 0);
		ck_assert_int_eq(pw_iset_add(&t, 2 * (pw_u128)i, 2 * (pw_u128)i), 0);
	}
	ck_assert_int_eq(pw_iset_batch_apply(&b, &s), 0);
	ck_assert_uint_eq(s.n, N);
	ck_assert(pw_iset_equal(&s, &t));
	ck_assert(pw_iset_pick(&s, N - 1) == 2 * (pw_u128)(N - 1));
	ck_assert(pw_iset_rank(&s, 2 * 1234) == 1234);
	ck_assert_int_eq(pw_iset_add_set(&u, &s), 0); /* a merge, not N inserts */
	ck_assert_int_eq(pw_iset_add_set(&u, &t), 0);
	ck_assert(pw_iset_equal(&u, &s));
	pw_iset_done(&s);
	pw_iset_done(&t);
	pw_iset_done(&u);
	pw_iset_batch_done(&b);
}
END_TEST

static Suite *iset_suite(void)
{
	Suite *s = suite_create("iset");
	TCase *tc = tcase_create("iset");

	tcase_add_test(tc, random_ops_match_model);
	tcase_add_test(tc, add_rejects_reversed);
	tcase_add_test(tc, covers);
	tcase_add_test(tc, extremes_do_not_overflow);
	tcase_add_test(tc, ports_and_copy);
	tcase_add_test(tc, batch_matches_model);
	tcase_add_test(tc, batch_merges_at_the_top);
	tcase_add_test(tc, many_scattered_ranges);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(iset_suite)
