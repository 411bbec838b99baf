/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>

#include "addrset.h"
#include "check-main.h"
#include "util.h"

#define UNIVERSE 600

/* Addresses that collide often: a small table sees long probe runs. */
static pw_u128 addr_of(unsigned i)
{
	return i % 3 == 0 ? pw_addr_from_v4(0x7f000000 + i) : ((pw_u128)i << 64) | i;
}

static void check_against_model(const struct pw_addrset *s, const bool *model)
{
	size_t n = 0, cursor = 0, walked = 0;
	pw_u128 a;

	for (unsigned i = 0; i < UNIVERSE; i++) {
		ck_assert_msg(pw_addrset_contains(s, addr_of(i)) == model[i], "element %u", i);
		n += model[i];
	}
	ck_assert_uint_eq(pw_addrset_count(s), n);
	while (pw_addrset_next(s, &cursor, &a))
		walked++;
	ck_assert_uint_eq(walked, n);
}

START_TEST(random_ops_match_model)
{
	struct pw_addrset s;
	bool model[UNIVERSE] = { false };
	unsigned seed = 4242;

	pw_addrset_init(&s, 0);
	check_against_model(&s, model);
	for (int step = 0; step < 20000; step++) {
		unsigned i, op;

		seed = seed * 1103515245 + 12345;
		i = (seed >> 8) % UNIVERSE;
		op = (seed >> 24) % 3;
		if (op < 2) {
			ck_assert_int_eq(pw_addrset_add(&s, addr_of(i)), model[i] ? 0 : 1);
			model[i] = true;
		} else {
			ck_assert_int_eq(pw_addrset_remove(&s, addr_of(i)), model[i] ? 1 : 0);
			model[i] = false;
		}
		if (step % 500 == 0)
			check_against_model(&s, model);
	}
	check_against_model(&s, model);
	pw_addrset_done(&s);
	ck_assert_uint_eq(pw_addrset_count(&s), 0);
	ck_assert(!pw_addrset_contains(&s, addr_of(1)));
}
END_TEST

START_TEST(bounded)
{
	struct pw_addrset s;

	pw_addrset_init(&s, 3);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(pw_addrset_add(&s, addr_of(i)), 1);
	ck_assert_int_eq(pw_addrset_add(&s, addr_of(1)), 0); /* present: no room needed */
	ck_assert_int_eq(pw_addrset_add(&s, addr_of(7)), -ENOSPC);
	ck_assert(!pw_addrset_contains(&s, addr_of(7)));
	ck_assert_int_eq(pw_addrset_remove(&s, addr_of(0)), 1);
	ck_assert_int_eq(pw_addrset_add(&s, addr_of(7)), 1);
	pw_addrset_done(&s);
	ck_assert_int_eq(pw_addrset_add(&s, addr_of(7)), 1); /* the bound stays */
	pw_addrset_done(&s);
}
END_TEST

/* The zero address is an address like any other. */
START_TEST(zero_is_a_key)
{
	struct pw_addrset s = PW_ADDRSET_INIT;

	ck_assert(!pw_addrset_contains(&s, 0));
	ck_assert_int_eq(pw_addrset_remove(&s, 0), 0);
	ck_assert_int_eq(pw_addrset_add(&s, 0), 1);
	ck_assert(pw_addrset_contains(&s, 0));
	ck_assert_int_eq(pw_addrset_remove(&s, 0), 1);
	ck_assert(!pw_addrset_contains(&s, 0));
	pw_addrset_done(&s);
}
END_TEST

static Suite *addrset_suite(void)
{
	Suite *s = suite_create("addrset");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, random_ops_match_model);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, zero_is_a_key);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(addrset_suite)
