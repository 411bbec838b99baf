/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "check-main.h"
#include "timerq.h"
#include "util.h"

struct item {
	int id;
	struct pw_timer timer;
};

START_TEST(pops_in_order)
{
	struct pw_timerq q = PW_TIMERQ_INIT;
	struct item it[500];
	unsigned seed = 1;
	uint64_t last = 0;
	size_t n = 0;
	struct pw_timer *t;

	ck_assert_int_eq(pw_timerq_reserve(&q, PW_ELEMENTSOF(it)), 0);
	for (size_t i = 0; i < PW_ELEMENTSOF(it); i++) {
		it[i] = (struct item){ .id = (int)i };
		ck_assert_int_eq(pw_timerq_add(&q, &it[i].timer, (uint64_t)rand_r(&seed) % 1000),
				 0);
	}
	ck_assert_uint_eq(pw_timerq_size(&q), 500);
	while ((t = pw_timerq_pop_expired(&q, 1000))) {
		struct item *owner = pw_container_of(t, struct item, timer);

		ck_assert_ptr_eq(&owner->timer, t);
		ck_assert_uint_ge(t->when, last);
		ck_assert(!pw_timer_armed(t));
		last = t->when;
		n++;
	}
	ck_assert_uint_eq(n, 500);
	ck_assert_uint_eq(pw_timerq_next(&q), UINT64_MAX);
	pw_timerq_done(&q);
}
END_TEST

START_TEST(expiry_respects_now)
{
	struct pw_timerq q = PW_TIMERQ_INIT;
	struct item a = { 0 }, b = { 0 };

	ck_assert_int_eq(pw_timerq_add(&q, &a.timer, 100), 0);
	ck_assert_int_eq(pw_timerq_add(&q, &b.timer, 200), 0);
	ck_assert_uint_eq(pw_timerq_next(&q), 100);
	ck_assert_ptr_null(pw_timerq_pop_expired(&q, 99));
	ck_assert_ptr_eq(pw_timerq_pop_expired(&q, 150), &a.timer);
	ck_assert_ptr_null(pw_timerq_pop_expired(&q, 150));
	ck_assert_ptr_eq(pw_timerq_pop_expired(&q, 200), &b.timer);
	pw_timerq_done(&q);
}
END_TEST

/* Random add/move/remove against a brute-force model of armed deadlines. */
START_TEST(random_ops_match_model)
{
	enum { N = 64 };
	struct pw_timerq q = PW_TIMERQ_INIT;
	struct item it[N] = { 0 };
	uint64_t model[N];
	unsigned seed = 7;

	for (size_t i = 0; i < N; i++)
		model[i] = UINT64_MAX;
	for (int step = 0; step < 20000; step++) {
		size_t i = (size_t)rand_r(&seed) % N;
		uint64_t min = UINT64_MAX;

		switch (rand_r(&seed) % 3) {
		case 0:
		case 1:
			model[i] = (uint64_t)rand_r(&seed) % 10000;
			ck_assert_int_eq(pw_timerq_add(&q, &it[i].timer, model[i]), 0);
			break;
		case 2:
			model[i] = UINT64_MAX;
			pw_timerq_remove(&q, &it[i].timer);
			break;
		}
		for (size_t k = 0; k < N; k++) {
			if (model[k] < min)
				min = model[k];
			ck_assert(pw_timer_armed(&it[k].timer) == (model[k] != UINT64_MAX));
		}
		ck_assert_uint_eq(pw_timerq_next(&q), min);
	}
	pw_timerq_done(&q);
	for (size_t k = 0; k < N; k++)
		ck_assert(!pw_timer_armed(&it[k].timer));
}
END_TEST

static Suite *timerq_suite(void)
{
	Suite *s = suite_create("timerq");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, pops_in_order);
	tcase_add_test(tc, expiry_respects_now);
	tcase_add_test(tc, random_ops_match_model);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(timerq_suite)
