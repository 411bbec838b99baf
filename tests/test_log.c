/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "check-main.h"
#include "log.h"
#include "util.h"

static void emit_levels(void)
{
	pw_log_open("pwtest", PW_LOG_STDERR, LOG_NOTICE);
	pw_log_debug("hidden debug");
	pw_log_info("hidden info");
	pw_log_notice("shown %d", 42);
	pw_log_error("broken: %s", "disk");
}

START_TEST(stderr_lines_and_filtering)
{
	const char *out = pw_test_capture_stderr(emit_levels);

	ck_assert_str_eq(out, "pwtest[notice]: shown 42\npwtest[err]: broken: disk\n");
}
END_TEST

static void emit_fields(void)
{
	static const char *const fields[] = { "PW_JOB=web", "PW_PORT=443", NULL };

	pw_log_open("pwtest", PW_LOG_STDERR, LOG_DEBUG);
	pw_log_full(LOG_WARNING, "0123456789abcdef0123456789abcdef", fields, "port %d opened", 443);
}

START_TEST(stderr_shows_fields)
{
	const char *out = pw_test_capture_stderr(emit_fields);

	ck_assert_str_eq(out, "pwtest[warning]: port 443 opened [PW_JOB=web PW_PORT=443]\n");
}
END_TEST

static void emit_long(void)
{
	char big[10000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pw_log_open("pwtest", PW_LOG_STDERR, LOG_DEBUG);
	pw_log_info("%s", big);
}

START_TEST(overlong_line_is_truncated_not_overflowed)
{
	const char *out = pw_test_capture_stderr(emit_long);
	size_t l = strlen(out);

	ck_assert_uint_eq(l, 4095);
	ck_assert_int_eq(out[l - 1], '\n');
}
END_TEST

START_TEST(level_names)
{
	ck_assert_int_eq(pw_log_level_from_string("debug"), LOG_DEBUG);
	ck_assert_int_eq(pw_log_level_from_string("warning"), LOG_WARNING);
	ck_assert_int_eq(pw_log_level_from_string("error"), LOG_ERR);
	ck_assert_int_eq(pw_log_level_from_string("err"), LOG_ERR);
	ck_assert_int_eq(pw_log_level_from_string("loud"), -EINVAL);
	ck_assert_int_eq(pw_log_level_from_string(NULL), -EINVAL);
	ck_assert_str_eq(pw_log_level_to_string(LOG_INFO), "info");
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("stderr");

	tcase_add_test(tc, stderr_lines_and_filtering);
	tcase_add_test(tc, stderr_shows_fields);
	tcase_add_test(tc, overlong_line_is_truncated_not_overflowed);
	tcase_add_test(tc, level_names);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(log_suite)
