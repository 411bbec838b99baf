/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <arpa/inet.h>

#include "check-main.h"
#include "iset.h"
#include "ports.h"
#include "util.h"

/* One spec, the set it must give as "lo-hi" ranges, or the error. */
static const struct {
	const char *spec;
	int err;
	const char *ranges; /* "1-1,5-9" */
} cases[] = {
	{ "22", 0, "22-22" },
	{ "1", 0, "1-1" },
	{ "65535", 0, "65535-65535" },
	{ "8000-8100", 0, "8000-8100" },
	{ "1-65535", 0, "1-65535" },
	{ "5-5", 0, "5-5" },
	{ "all", 0, "1-65535" },
	{ "well-known", 0, "1-1023" },
	{ "ssh", 0, "22-22" },
	{ "https", 0, "443-443" },
	{ "http-alt", 0, "8080-8080" },
	{ "postgresql", 0, "5432-5432" },
	{ "0", -ERANGE, NULL },
	{ "65536", -ERANGE, NULL },
	{ "99999999999999999999999", -ERANGE, NULL },
	{ "0-10", -ERANGE, NULL },
	{ "1-65536", -ERANGE, NULL },
	{ "100-10", -ERANGE, NULL },
	{ "-5", -ERANGE, NULL },
	{ "+5", -ERANGE, NULL },
	{ "", -EINVAL, NULL },
	{ " 22", -EINVAL, NULL },
	{ "22 ", -EINVAL, NULL },
	{ "2 2", -EINVAL, NULL },
	{ "22\t", -EINVAL, NULL },
	{ "22,80", -EINVAL, NULL },
	{ "22-", -EINVAL, NULL },
	{ "1-2-3", -EINVAL, NULL },
	{ "22x", -EINVAL, NULL },
	{ "0x16", -EINVAL, NULL },
	{ "no-such-service-xyz", -EINVAL, NULL },
	{ "ssh!", -EINVAL, NULL },
	{ "ALL", -EINVAL, NULL },
	{ "ssh-https", -EINVAL, NULL },
	{ "\xff\xfe", -EINVAL, NULL },
};

static void expect_ranges(const struct pw_iset *s, const char *want, const char *spec)
{
	char got[512] = "";
	size_t used = 0;

	for (size_t i = 0; i < s->n; i++)
		used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%u-%u", i ? "," : "",
					 (unsigned)s->ranges[i].lo, (unsigned)s->ranges[i].hi);
	ck_assert_msg(strcmp(got, want) == 0, "\"%s\": got %s, want %s", spec, got, want);
}

START_TEST(table)
{
	for (size_t i = 0; i < PW_ELEMENTSOF(cases); i++) {
		struct pw_iset s = PW_ISET_INIT;
		const char *why = NULL;
		int r = pw_ports_parse(cases[i].spec, &s, &why);

		ck_assert_msg(r == cases[i].err, "\"%s\": got %d, want %d", cases[i].spec, r,
			      cases[i].err);
		if (r == 0)
			expect_ranges(&s, cases[i].ranges, cases[i].spec);
		else {
			ck_assert_msg(why && *why, "\"%s\": no reason", cases[i].spec);
			ck_assert_uint_eq(s.n, 0);
		}
		pw_iset_done(&s);
	}
}
END_TEST

START_TEST(reasons_are_specific)
{
	struct pw_iset s = PW_ISET_INIT;
	const char *why;

	ck_assert_int_eq(pw_ports_parse("65536", &s, &why), -ERANGE);
	ck_assert_str_eq(why, "port out of range (1-65535)");
	ck_assert_int_eq(pw_ports_parse("100-10", &s, &why), -ERANGE);
	ck_assert_str_eq(why, "reversed port range (low end above high end)");
	ck_assert_int_eq(pw_ports_parse("sshh", &s, &why), -EINVAL);
	ck_assert_str_eq(why, "unknown service name (not in the common list or /etc/services)");
	ck_assert_int_eq(pw_ports_parse(" 22", &s, &why), -EINVAL);
	ck_assert_str_eq(why, "whitespace in port spec");
	/* NULL reason is allowed */
	ck_assert_int_eq(pw_ports_parse("0", &s, NULL), -ERANGE);
	pw_iset_done(&s);
}
END_TEST

START_TEST(overlong_spec)
{
	char buf[PW_PORT_SPEC_MAX + 2];
	struct pw_iset s = PW_ISET_INIT;
	const char *why;

	memset(buf, '1', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	ck_assert_int_eq(pw_ports_parse(buf, &s, &why), -EINVAL);
	ck_assert_str_eq(why, "port spec too long");
	/* exactly at the limit, all digits: a number far out of range */
	buf[PW_PORT_SPEC_MAX] = '\0';
	ck_assert_int_eq(pw_ports_parse(buf, &s, &why), -ERANGE);
	ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(specs_accumulate_and_merge)
{
	struct pw_iset s = PW_ISET_INIT;

	ck_assert_int_eq(pw_ports_parse("10-20", &s, NULL), 0);
	ck_assert_int_eq(pw_ports_parse("21", &s, NULL), 0);
	ck_assert_int_eq(pw_ports_parse("15-16", &s, NULL), 0);
	ck_assert_int_eq(pw_ports_parse("30-40", &s, NULL), 0);
	expect_ranges(&s, "10-21,30-40", "accumulated");
	ck_assert(pw_iset_count(&s) == 12 + 11);
	/* a failed spec leaves the set as it was */
	ck_assert_int_eq(pw_ports_parse("50-45", &s, NULL), -ERANGE);
	expect_ranges(&s, "10-21,30-40", "after failure");
	pw_iset_done(&s);
}
END_TEST

START_TEST(common_set)
{
	struct pw_iset s = PW_ISET_INIT, c = PW_ISET_INIT;
	pw_u128 n;

	ck_assert_int_eq(pw_ports_parse("common", &s, NULL), 0);
	ck_assert_int_eq(pw_ports_common(&c), 0);
	ck_assert(pw_iset_equal(&s, &c));
	n = pw_iset_count(&s);
	/* a curated list: dozens of ports, not a range */
	ck_assert(n >= 50 && n <= 200);
	for (unsigned p = 1; p <= 65535; p++) {
		bool in = pw_iset_contains(&s, p);

		/* every port in the set has a name, and only those */
		ck_assert_msg(in == (pw_ports_common_name((uint16_t)p) != NULL), "port %u", p);
	}
	ck_assert(pw_iset_contains(&s, 22) && pw_iset_contains(&s, 443) &&
		  pw_iset_contains(&s, 5432) && pw_iset_contains(&s, 3389));
	ck_assert(!pw_iset_contains(&s, 7) && !pw_iset_contains(&s, 65535));
	ck_assert_str_eq(pw_ports_common_name(22), "ssh");
	pw_iset_done(&s);
	pw_iset_done(&c);
}
END_TEST

START_TEST(common_names_resolve_to_their_port)
{
	/* every curated name is a spec for its own port, and no name repeats */
	struct pw_iset c = PW_ISET_INIT;

	ck_assert_int_eq(pw_ports_common(&c), 0);
	for (size_t i = 0; i < c.n; i++)
		for (pw_u128 p = c.ranges[i].lo; p <= c.ranges[i].hi; p++) {
			struct pw_iset s = PW_ISET_INIT;
			const char *name = pw_ports_common_name((uint16_t)p);

			ck_assert_int_eq(pw_ports_parse(name, &s, NULL), 0);
			ck_assert_msg(s.n == 1 && s.ranges[0].lo == p && s.ranges[0].hi == p,
				      "\"%s\" is not port %u", name, (unsigned)p);
			pw_iset_done(&s);
		}
	pw_iset_done(&c);
}
END_TEST

START_TEST(etc_services_fallback)
{
	struct servent *se = getservbyname("gopher", "tcp");
	struct pw_iset s = PW_ISET_INIT;
	int r = pw_ports_parse("gopher", &s, NULL);

	/* not in the curated list: found only through /etc/services */
	ck_assert(pw_ports_common_name(70) == NULL);
	if (se) {
		ck_assert_int_eq(r, 0);
		ck_assert(s.n == 1 && s.ranges[0].lo == ntohs((uint16_t)se->s_port));
	} else
		ck_assert_int_eq(r, -EINVAL);
	pw_iset_done(&s);
}
END_TEST

START_TEST(roundtrip_subtract)
{
	/* (all - well-known) + well-known == all; common - all == empty */
	struct pw_iset all = PW_ISET_INIT, wk = PW_ISET_INIT, x = PW_ISET_INIT;
	struct pw_iset common = PW_ISET_INIT;

	ck_assert_int_eq(pw_ports_parse("all", &all, NULL), 0);
	ck_assert_int_eq(pw_ports_parse("well-known", &wk, NULL), 0);
	ck_assert_int_eq(pw_iset_copy(&x, &all), 0);
	ck_assert_int_eq(pw_iset_subtract(&x, &wk), 0);
	expect_ranges(&x, "1024-65535", "all - well-known");
	ck_assert(pw_iset_count(&x) + pw_iset_count(&wk) == 65535);
	ck_assert_int_eq(pw_iset_add_set(&x, &wk), 0);
	ck_assert(pw_iset_equal(&x, &all));
	ck_assert_int_eq(pw_ports_parse("common", &common, NULL), 0);
	ck_assert_int_eq(pw_iset_subtract(&common, &all), 0);
	ck_assert_uint_eq(common.n, 0);
	pw_iset_done(&all);
	pw_iset_done(&wk);
	pw_iset_done(&x);
	pw_iset_done(&common);
}
END_TEST

static Suite *ports_suite(void)
{
	Suite *s = suite_create("ports");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, table);
	tcase_add_test(tc, reasons_are_specific);
	tcase_add_test(tc, overlong_spec);
	tcase_add_test(tc, specs_accumulate_and_merge);
	tcase_add_test(tc, common_set);
	tcase_add_test(tc, common_names_resolve_to_their_port);
	tcase_add_test(tc, etc_services_fallback);
	tcase_add_test(tc, roundtrip_subtract);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(ports_suite)
