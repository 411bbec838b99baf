/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "check-main.h"
#include "util.h"

START_TEST(parse_u64_accepts_and_rejects)
{
	static const struct {
		const char *in;
		uint64_t min, max;
		int ret;
		uint64_t val;
	} t[] = {
		{ "0", 0, 10, 0, 0 },
		{ "10", 0, 10, 0, 10 },
		{ "11", 0, 10, -ERANGE, 0 },
		{ "0", 1, 10, -ERANGE, 0 },
		{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", 0, UINT64_MAX, -ERANGE, 0 },
		{ "", 0, 10, -EINVAL, 0 },
		{ " 1", 0, 10, -EINVAL, 0 },
		{ "1 ", 0, 10, -EINVAL, 0 },
		{ "-1", 0, 10, -EINVAL, 0 },
		{ "+1", 0, 10, -EINVAL, 0 },
		{ "1x", 0, 10, -EINVAL, 0 },
		{ "0x10", 0, 100, -EINVAL, 0 },
	};

	for (size_t i = 0; i < PW_ELEMENTSOF(t); i++) {
		uint64_t v = 12345;
		int r = pw_parse_u64(t[i].in, t[i].min, t[i].max, &v);

		ck_assert_msg(r == t[i].ret, "\"%s\": got %d want %d", t[i].in, r, t[i].ret);
		if (r == 0)
			ck_assert_uint_eq(v, t[i].val);
		else
			ck_assert_uint_eq(v, 12345); /* untouched on failure */
	}
	ck_assert_int_eq(pw_parse_u64(NULL, 0, 1, &(uint64_t){ 0 }), -EINVAL);
}
END_TEST

START_TEST(sizes)
{
	char b[32];
	uint64_t v;

	ck_assert_int_eq(pw_parse_size("4G", &v), 0);
	ck_assert_uint_eq(v, UINT64_C(4) << 30);
	ck_assert_int_eq(pw_parse_size("512MiB", &v), 0);
	ck_assert_uint_eq(v, UINT64_C(512) << 20);
	ck_assert_int_eq(pw_parse_size("1048576", &v), 0);
	ck_assert_uint_eq(v, 1048576);
	ck_assert_int_eq(pw_parse_size("2T", &v), 0);
	ck_assert_uint_eq(v, UINT64_C(2) << 40);
	ck_assert_int_eq(pw_parse_size("4g", &v), -EINVAL);
	ck_assert_int_eq(pw_parse_size("4GB", &v), -EINVAL);
	ck_assert_int_eq(pw_parse_size("G", &v), -EINVAL);
	ck_assert_int_eq(pw_parse_size("-1", &v), -EINVAL);
	ck_assert_int_eq(pw_parse_size("16777216T", &v), -ERANGE);
	ck_assert_int_eq(pw_parse_size("99999999999999999999", &v), -ERANGE);
	ck_assert_str_eq(pw_format_size(b, sizeof(b), 512), "512 B");
	ck_assert_str_eq(pw_format_size(b, sizeof(b), 1536), "1.5 KiB");
	ck_assert_str_eq(pw_format_size(b, sizeof(b), UINT64_C(2) << 30), "2.0 GiB");
	ck_assert_str_eq(pw_format_size(b, sizeof(b), UINT64_MAX), "16.0 EiB");
}
END_TEST

START_TEST(parse_duration_forms)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t usec;
	} t[] = {
		{ "90s", 0, 90 * USEC_PER_SEC },
		{ "15m", 0, 15 * 60 * USEC_PER_SEC },
		{ "1h30m", 0, 90 * 60 * USEC_PER_SEC },
		{ "250ms", 0, 250 * USEC_PER_MSEC },
		{ "2d", 0, 2 * 86400 * USEC_PER_SEC },
		{ "1m30s500ms", 0, 90 * USEC_PER_SEC + 500 * USEC_PER_MSEC },
		{ "45", 0, 45 * USEC_PER_SEC },
		{ "0", 0, 0 },
		{ "10us", 0, 10 },
		{ "", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ "1x", -EINVAL, 0 },
		{ "1h 30m", -EINVAL, 0 },
		{ "-5s", -EINVAL, 0 },
		{ "1h30", -EINVAL, 0 },
		{ "99999999999999999999s", -ERANGE, 0 },
		{ "999999999999d", -ERANGE, 0 },
	};

	for (size_t i = 0; i < PW_ELEMENTSOF(t); i++) {
		uint64_t v = 7;
		int r = pw_parse_duration(t[i].in, &v);

		ck_assert_msg(r == t[i].ret, "\"%s\": got %d want %d", t[i].in, r, t[i].ret);
		if (r == 0)
			ck_assert_uint_eq(v, t[i].usec);
	}
}
END_TEST

START_TEST(format_duration_round_trips)
{
	static const uint64_t t[] = {
		0,
		1,
		USEC_PER_MSEC,
		USEC_PER_SEC,
		90 * USEC_PER_SEC,
		5400 * USEC_PER_SEC,
		86400 * USEC_PER_SEC + 1,
		123456789012ULL,
	};
	char buf[64];

	ck_assert_str_eq(pw_format_duration(buf, sizeof(buf), 90 * 60 * USEC_PER_SEC), "1h30m");
	ck_assert_str_eq(pw_format_duration(buf, sizeof(buf), 0), "0s");
	for (size_t i = 0; i < PW_ELEMENTSOF(t); i++) {
		uint64_t back;

		pw_format_duration(buf, sizeof(buf), t[i]);
		ck_assert_int_eq(pw_parse_duration(buf, &back), 0);
		ck_assert_uint_eq(back, t[i]);
	}
}
END_TEST

START_TEST(table_lookup)
{
	static const char *const t[] = { "zero", NULL, "two" };

	ck_assert_int_eq(pw_table_lookup(t, PW_ELEMENTSOF(t), "zero"), 0);
	ck_assert_int_eq(pw_table_lookup(t, PW_ELEMENTSOF(t), "two"), 2);
	ck_assert_int_eq(pw_table_lookup(t, PW_ELEMENTSOF(t), "one"), -EINVAL);
	ck_assert_int_eq(pw_table_lookup(t, PW_ELEMENTSOF(t), ""), -EINVAL);
	ck_assert_int_eq(pw_table_lookup(t, PW_ELEMENTSOF(t), NULL), -EINVAL);
	ck_assert_int_eq(pw_table_lookup(t, 2, "two"), -EINVAL);
}
END_TEST

START_TEST(edit_distance_suggests)
{
	ck_assert_uint_eq(pw_edit_distance("timeout", "timeout"), 0);
	ck_assert_uint_eq(pw_edit_distance("timout", "timeout"), 1);
	ck_assert_uint_eq(pw_edit_distance("intreval", "interval"), 2);
	ck_assert_uint_eq(pw_edit_distance("", "abc"), 3);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parse_u64_accepts_and_rejects);
	tcase_add_test(tc, parse_duration_forms);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, format_duration_round_trips);
	tcase_add_test(tc, edit_distance_suggests);
	tcase_add_test(tc, table_lookup);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(util_suite)
