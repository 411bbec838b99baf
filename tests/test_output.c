/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check-main.h"
#include "json.h"
#include "output.h"

static char *json(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	pw_json_string(f, s);
	fclose(f);
	return buf;
}

START_TEST(json_quoting)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "ssh", "\"ssh\"" },
		{ "", "\"\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "tab\there\nnl", "\"tab\\there\\nnl\"" },
		{ "\x01\x1f", "\"\\u0001\\u001f\"" },
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" }, /* UTF-8 passes through */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *got = json(t[i].in);

		ck_assert_str_eq(got, t[i].out);
		free(got);
	}
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, json_quoting);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(cli_suite)
