/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check-main.h"
#include "perm.h"
#include "util.h"

/* Every N in a small range, several keys: shuffle hits each value once. */
START_TEST(bijection_exhaustive_small)
{
	static const uint64_t keys[] = { 0, 1, 42, UINT64_C(0xdeadbeefcafe) };
	uint8_t *seen = malloc(3000);

	ck_assert_ptr_nonnull(seen);
	for (unsigned n = 1; n <= 3000; n += (n < 300 ? 1 : 97)) {
		for (size_t k = 0; k < PW_ELEMENTSOF(keys); k++) {
			struct pw_perm p;

			ck_assert_int_eq(pw_perm_init(&p, n, keys[k]), 0);
			memset(seen, 0, n);
			for (unsigned i = 0; i < n; i++) {
				pw_u128 v = pw_perm_shuffle(&p, i);

				ck_assert_msg(v < n, "n=%u i=%u out of range", n, i);
				ck_assert_msg(!seen[v], "n=%u: value %u twice", n, (unsigned)v);
				seen[v] = 1;
				ck_assert(pw_perm_unshuffle(&p, v) == i);
			}
		}
	}
	free(seen);
}
END_TEST

/* A full 65535-port space, as the CLI's default scan uses it. */
START_TEST(bijection_ports)
{
	const unsigned n = 65535;
	uint8_t *seen = calloc(n, 1);
	struct pw_perm p;

	ck_assert_ptr_nonnull(seen);
	ck_assert_int_eq(pw_perm_init(&p, n, 7), 0);
	for (unsigned i = 0; i < n; i++) {
		pw_u128 v = pw_perm_shuffle(&p, i);

		ck_assert(v < n);
		ck_assert(!seen[v]);
		seen[v] = 1;
	}
	free(seen);
}
END_TEST

START_TEST(deterministic_per_key)
{
	struct pw_perm a, b, c;
	unsigned differ = 0;

	ck_assert_int_eq(pw_perm_init(&a, 100000, 1234), 0);
	ck_assert_int_eq(pw_perm_init(&b, 100000, 1234), 0);
	ck_assert_int_eq(pw_perm_init(&c, 100000, 1235), 0);
	for (unsigned i = 0; i < 1000; i++) {
		ck_assert(pw_perm_shuffle(&a, i) == pw_perm_shuffle(&b, i));
		differ += pw_perm_shuffle(&a, i) != pw_perm_shuffle(&c, i);
	}
	/* another key gives another order (not merely a shifted one) */
	ck_assert_uint_gt(differ, 990);
}
END_TEST

/* Consecutive indices must not walk one host's ports in order. */
START_TEST(spreads_neighbours)
{
	struct pw_perm p;
	unsigned adjacent = 0;

	ck_assert_int_eq(pw_perm_init(&p, 65536 * 10, 99), 0);
	for (unsigned i = 0; i < 10000; i++) {
		pw_u128 x = pw_perm_shuffle(&p, i), y = pw_perm_shuffle(&p, i + 1);
		pw_u128 d = x > y ? x - y : y - x;

		adjacent += d < 10;
	}
	ck_assert_uint_lt(adjacent, 20);
}
END_TEST

/* Huge domains: values stay in range and invert; no overflow in a * b. */
START_TEST(large_ranges)
{
	static const pw_u128 ranges[] = {
		(pw_u128)65536 * 65535, (pw_u128)UINT64_MAX,   ((pw_u128)1 << 64) + 12345,
		PW_PERM_MAX_RANGE,      PW_PERM_MAX_RANGE - 1,
	};

	for (size_t k = 0; k < PW_ELEMENTSOF(ranges); k++) {
		struct pw_perm p;

		ck_assert_int_eq(pw_perm_init(&p, ranges[k], k), 0);
		ck_assert((pw_u128)p.a * p.b >= ranges[k]);
		for (pw_u128 i = 0; i < 2000; i++) {
			pw_u128 idx = i * (ranges[k] / 2000);
			pw_u128 v = pw_perm_shuffle(&p, idx);

			ck_assert(v < ranges[k]);
			ck_assert(pw_perm_unshuffle(&p, v) == idx);
		}
	}
}
END_TEST

START_TEST(rejects_bad_ranges)
{
	struct pw_perm p;

	ck_assert_int_eq(pw_perm_init(&p, 0, 1), -ERANGE);
	ck_assert_int_eq(pw_perm_init(&p, PW_PERM_MAX_RANGE + 1, 1), -ERANGE);
}
END_TEST

static Suite *perm_suite(void)
{
	Suite *s = suite_create("perm");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, bijection_exhaustive_small);
	tcase_add_test(tc, bijection_ports);
	tcase_add_test(tc, deterministic_per_key);
	tcase_add_test(tc, spreads_neighbours);
	tcase_add_test(tc, large_ranges);
	tcase_add_test(tc, rejects_bad_ranges);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(perm_suite)
