/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "addr.h"
#include "check-main.h"
#include "iset.h"
#include "targets.h"
#include "util.h"

/* One spec: the error, or the kind and the [lo, hi] it must add. */
static const struct {
	const char *spec;
	int err;
	enum pw_target_kind kind;
	const char *lo, *hi; /* addresses; NULL for hostnames and errors */
} cases[] = {
	{ "127.0.0.1", 0, PW_TARGET_ADDRESSES, "127.0.0.1", "127.0.0.1" },
	{ "127.0.0.1/32", 0, PW_TARGET_ADDRESSES, "127.0.0.1", "127.0.0.1" },
	{ "127.0.0.0/24", 0, PW_TARGET_ADDRESSES, "127.0.0.0", "127.0.0.255" },
	{ "127.0.0.0/31", 0, PW_TARGET_ADDRESSES, "127.0.0.0", "127.0.0.1" },
	{ "127.0.0.0/8", 0, PW_TARGET_ADDRESSES, "127.0.0.0", "127.255.255.255" },
	{ "127.0.0.1-127.0.0.40", 0, PW_TARGET_ADDRESSES, "127.0.0.1", "127.0.0.40" },
	{ "127.0.0.1-40", 0, PW_TARGET_ADDRESSES, "127.0.0.1", "127.0.0.40" },
	{ "127.0.0.1-1", 0, PW_TARGET_ADDRESSES, "127.0.0.1", "127.0.0.1" },
	{ "127.0.0.250-255", 0, PW_TARGET_ADDRESSES, "127.0.0.250", "127.0.0.255" },
	{ "127.0.0.255-127.0.1.3", 0, PW_TARGET_ADDRESSES, "127.0.0.255", "127.0.1.3" },
	{ "::1", 0, PW_TARGET_ADDRESSES, "::1", "::1" },
	{ "::1/128", 0, PW_TARGET_ADDRESSES, "::1", "::1" },
	{ "fd00::/120", 0, PW_TARGET_ADDRESSES, "fd00::", "fd00::ff" },
	{ "fd00::/104", 0, PW_TARGET_ADDRESSES, "fd00::", "fd00::ff:ffff" },
	{ "::1-::9", 0, PW_TARGET_ADDRESSES, "::1", "::9" },
	{ "::ffff:127.0.0.1", 0, PW_TARGET_ADDRESSES, "127.0.0.1", "127.0.0.1" },
	{ "0.0.0.1", 0, PW_TARGET_ADDRESSES, "0.0.0.1", "0.0.0.1" },
	{ "255.255.255.254", 0, PW_TARGET_ADDRESSES, "255.255.255.254", "255.255.255.254" },
	{ "0.0.0.0-2", 0, PW_TARGET_ADDRESSES, "0.0.0.0", "0.0.0.2" },
	{ "localhost", 0, PW_TARGET_HOSTNAME, NULL, NULL },
	{ "db-1.example.", 0, PW_TARGET_HOSTNAME, NULL, NULL },
	{ "a", 0, PW_TARGET_HOSTNAME, NULL, NULL },
	{ "host-127-0-0-1.lan", 0, PW_TARGET_HOSTNAME, NULL, NULL },
	{ "host-127.0.0.1", -EINVAL, 0, NULL, NULL }, /* numeric last label */
	{ "1host.lan", 0, PW_TARGET_HOSTNAME, NULL, NULL },
	/* edges and errors */
	{ "0.0.0.0", -ERANGE, 0, NULL, NULL },
	{ "255.255.255.255", -ERANGE, 0, NULL, NULL },
	{ "::", -ERANGE, 0, NULL, NULL },
	{ "0.0.0.0/32", -ERANGE, 0, NULL, NULL },
	{ "0.0.0.0/0", -ERANGE, 0, NULL, NULL },
	{ "10.0.0.0/7", -ERANGE, 0, NULL, NULL },
	{ "::/0", -ERANGE, 0, NULL, NULL },
	{ "fd00::/103", -ERANGE, 0, NULL, NULL },
	{ "fd00::/64", -ERANGE, 0, NULL, NULL },
	{ "127.0.0.0/33", -ERANGE, 0, NULL, NULL },
	{ "::1/129", -ERANGE, 0, NULL, NULL },
	{ "127.0.0.1/24", -EINVAL, 0, NULL, NULL },
	{ "127.0.0.0/", -EINVAL, 0, NULL, NULL },
	{ "127.0.0.0/x", -EINVAL, 0, NULL, NULL },
	{ "127.0.0.0/-1", -EINVAL, 0, NULL, NULL },
	{ "/24", -EINVAL, 0, NULL, NULL },
	{ "127.0.0.40-127.0.0.1", -ERANGE, 0, NULL, NULL },
	{ "127.0.0.40-1", -ERANGE, 0, NULL, NULL },
	{ "127.0.0.1-256", -ERANGE, 0, NULL, NULL },
	{ "::9-::1", -ERANGE, 0, NULL, NULL },
	{ "127.0.0.1-::1", -EINVAL, 0, NULL, NULL },
	{ "::1-127.0.0.1", -EINVAL, 0, NULL, NULL },
	{ "127.0.0.1-", -EINVAL, 0, NULL, NULL },
	{ "0.0.0.0-255.255.255.255", -ERANGE, 0, NULL, NULL },
	{ "127.0.0.256", -EINVAL, 0, NULL, NULL },
	{ "127.1", -EINVAL, 0, NULL, NULL },
	{ "1.2.3.4.5", -EINVAL, 0, NULL, NULL },
	{ "fe80::1%lo", -EINVAL, 0, NULL, NULL },
	{ ":::1", -EINVAL, 0, NULL, NULL },
	{ "", -EINVAL, 0, NULL, NULL },
	{ " 127.0.0.1", -EINVAL, 0, NULL, NULL },
	{ "127.0.0.1 ", -EINVAL, 0, NULL, NULL },
	{ "127.0.0.1 - 127.0.0.2", -EINVAL, 0, NULL, NULL },
	{ "127.0.0.1,127.0.0.2", -EINVAL, 0, NULL, NULL },
	{ "-host", -EINVAL, 0, NULL, NULL },
	{ "host-", -EINVAL, 0, NULL, NULL },
	{ "a..b", -EINVAL, 0, NULL, NULL },
	{ "under_score.lan", -EINVAL, 0, NULL, NULL },
	{ "host.123", -EINVAL, 0, NULL, NULL },
	{ ".", -EINVAL, 0, NULL, NULL },
	{ "\x01garbage", -EINVAL, 0, NULL, NULL },
};

static pw_u128 A(const char *s)
{
	pw_u128 a = 0;

	ck_assert_msg(pw_addr_parse(s, &a) == 0, "bad test address %s", s);
	return a;
}

START_TEST(table)
{
	for (size_t i = 0; i < PW_ELEMENTSOF(cases); i++) {
		struct pw_iset s = PW_ISET_INIT;
		enum pw_target_kind kind = 99;
		const char *why = NULL;
		int r = pw_target_parse(cases[i].spec, &s, &kind, &why);

		ck_assert_msg(r == cases[i].err, "\"%s\": got %d (%s), want %d", cases[i].spec, r,
			      why ?: "", cases[i].err);
		if (r < 0) {
			ck_assert_msg(why && *why, "\"%s\": no reason", cases[i].spec);
			ck_assert_uint_eq(s.n, 0);
			ck_assert_int_eq(kind, 99);
		} else if (cases[i].kind == PW_TARGET_HOSTNAME) {
			ck_assert_msg(kind == PW_TARGET_HOSTNAME, "\"%s\" is not a hostname",
				      cases[i].spec);
			ck_assert_uint_eq(s.n, 0);
		} else {
			ck_assert_msg(kind == PW_TARGET_ADDRESSES, "\"%s\" kind", cases[i].spec);
			ck_assert_msg(s.n == 1 && s.ranges[0].lo == A(cases[i].lo) &&
					      s.ranges[0].hi == A(cases[i].hi),
				      "\"%s\": wrong range", cases[i].spec);
		}
		pw_iset_done(&s);
	}
}
END_TEST

START_TEST(reasons_are_specific)
{
	struct pw_iset s = PW_ISET_INIT;
	enum pw_target_kind k;
	const char *why;

	ck_assert_int_eq(pw_target_parse("127.0.0.256", &s, &k, &why), -EINVAL);
	ck_assert_str_eq(why, "invalid IPv4 address");
	ck_assert_int_eq(pw_target_parse("::g", &s, &k, &why), -EINVAL);
	ck_assert_str_eq(why, "invalid IPv6 address");
	ck_assert_int_eq(pw_target_parse("127.0.0.9-1", &s, &k, &why), -ERANGE);
	ck_assert_str_eq(why, "reversed address range (low end above high end)");
	ck_assert_int_eq(pw_target_parse("fd00::/64", &s, &k, &why), -ERANGE);
	ck_assert_str_eq(why, "IPv6 prefix too large (the cap is /104, 2^24 addresses)");
	ck_assert_int_eq(pw_target_parse("0.0.0.0/0", &s, &k, &why), -ERANGE);
	ck_assert_str_eq(why, "too many addresses (the cap is 2^24, an IPv4 /8)");
	ck_assert_int_eq(pw_target_parse("0.0.0.0", &s, &k, &why), -ERANGE);
	ck_assert_str_eq(why, "not a host address (unspecified or broadcast)");
	ck_assert_int_eq(pw_target_parse("127.0.0.1/24", &s, &k, &why), -EINVAL);
	ck_assert_str_eq(why, "address has bits set beyond the prefix length");
	ck_assert_int_eq(pw_target_parse("x y", &s, &k, NULL), -EINVAL);
}
END_TEST

START_TEST(overlong)
{
	char buf[PW_TARGET_SPEC_MAX + 2];
	char label[70];
	struct pw_iset s = PW_ISET_INIT;
	enum pw_target_kind k;
	const char *why;

	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	ck_assert_int_eq(pw_target_parse(buf, &s, &k, &why), -EINVAL);
	ck_assert_str_eq(why, "target too long");
	/* a 64-character label is one too many (RFC 1035 2.3.4) */
	memset(label, 'a', 64);
	label[64] = '\0';
	ck_assert_int_eq(pw_target_parse(label, &s, &k, &why), -EINVAL);
	label[63] = '\0';
	ck_assert_int_eq(pw_target_parse(label, &s, &k, &why), 0);
	ck_assert_int_eq(k, PW_TARGET_HOSTNAME);
	/* 254 characters of labels and dots is above the 253 limit */
	for (int i = 0; i < 254; i++)
		buf[i] = i % 2 ? '.' : 'a';
	buf[254] = '\0';
	buf[253] = 'a';
	ck_assert_int_eq(pw_target_parse(buf, &s, &k, &why), -EINVAL);
	ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(specs_accumulate_and_exclusions_subtract)
{
	struct pw_iset s = PW_ISET_INIT, ex = PW_ISET_INIT;
	enum pw_target_kind k;

	ck_assert_int_eq(pw_target_parse("127.0.0.0/24", &s, &k, NULL), 0);
	ck_assert_int_eq(pw_target_parse("127.0.1.0-127.0.1.9", &s, &k, NULL), 0);
	ck_assert_int_eq(pw_target_parse("::1", &s, &k, NULL), 0);
	ck_assert_uint_eq(s.n, 2); /* the two IPv4 ranges touch and merge */
	ck_assert(pw_iset_count(&s) == 256 + 10 + 1);
	ck_assert_int_eq(pw_target_parse("127.0.0.10-20", &ex, &k, NULL), 0);
	ck_assert_int_eq(pw_target_parse("127.0.1.0/29", &ex, &k, NULL), 0);
	ck_assert_int_eq(pw_iset_subtract(&s, &ex), 0);
	ck_assert(pw_iset_count(&s) == 256 + 10 + 1 - 11 - 8);
	ck_assert(!pw_iset_contains(&s, A("127.0.0.15")));
	ck_assert(pw_iset_contains(&s, A("127.0.0.21")));
	ck_assert(pw_iset_contains(&s, A("127.0.1.9")));
	ck_assert(pw_iset_contains(&s, A("::1")));
	/* one ordered set for both families: ::1 sorts before ::ffff:0:0/96 */
	ck_assert(pw_iset_pick(&s, 0) == A("::1"));
	ck_assert(pw_iset_pick(&s, 1) == A("127.0.0.0"));
	pw_iset_done(&s);
	pw_iset_done(&ex);
}
END_TEST

START_TEST(resolve_localhost)
{
	char *names[] = { "localhost", NULL };
	struct pw_iset got = PW_ISET_INIT, ex = PW_ISET_INIT;
	int gai[1] = { -1 };
	int r;

	r = pw_targets_resolve(names, 1, NULL, &got, gai);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(gai[0], 0);
	ck_assert(got.n >= 1);
	ck_assert(pw_iset_contains(&got, A("127.0.0.1")));
	/* localhost is loopback only: every address is 127/8 or ::1 (the only
	 * name these tests resolve: no query may leave the host) */
	for (size_t i = 0; i < got.n; i++)
		ck_assert((got.ranges[i].lo >= A("127.0.0.0") &&
			   got.ranges[i].hi <= A("127.255.255.255")) ||
			  (got.ranges[i].lo == A("::1") && got.ranges[i].hi == A("::1")));
	pw_iset_done(&got);

	/* exclusions apply to resolved addresses */
	ck_assert_int_eq(pw_iset_add(&ex, A("127.0.0.0"), A("127.255.255.255")), 0);
	ck_assert_int_eq(pw_iset_add(&ex, A("::1"), A("::1")), 0);
	r = pw_targets_resolve(names, 1, &ex, &got, NULL);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(got.n, 0);
	pw_iset_done(&got);
	pw_iset_done(&ex);
}
END_TEST

/*
 * Round trip against a model: random specs over 127.0.0.0/24 written in
 * every form (address, range, short range, CIDR), with exclusions; the set
 * must hold exactly the model's addresses, count them, pick them in order,
 * and format back into specs that parse to the same set.
 */
START_TEST(roundtrip_against_model)
{
	unsigned seed = 4242;

	for (int round = 0; round < 300; round++) {
		struct pw_iset s = PW_ISET_INIT, ex = PW_ISET_INIT, again = PW_ISET_INIT;
		bool model[256] = { false }, exm[256] = { false };
		enum pw_target_kind k;
		pw_u128 count = 0;

		for (int n = 0; n < 6; n++) {
			unsigned lo = (unsigned)rand_r(&seed) % 256,
				 hi = lo + (unsigned)rand_r(&seed) % 40;
			unsigned form = (unsigned)rand_r(&seed) % 4;
			char spec[64];

			if (hi > 255)
				hi = 255;
			if (form == 0)
				hi = lo;
			if (form == 3) { /* the CIDR block around lo */
				unsigned bits = 24 + (unsigned)rand_r(&seed) % 9;

				lo &= ~((1u << (32 - bits)) - 1) & 0xff;
				hi = lo | (((1u << (32 - bits)) - 1) & 0xff);
				snprintf(spec, sizeof(spec), "127.0.0.%u/%u", lo, bits);
			} else if (form == 1)
				snprintf(spec, sizeof(spec), "127.0.0.%u-127.0.0.%u", lo, hi);
			else
				snprintf(spec, sizeof(spec), "127.0.0.%u-%u", lo, hi);
			if (form == 0)
				snprintf(spec, sizeof(spec), "127.0.0.%u", lo);
			ck_assert_msg(pw_target_parse(spec, n < 4 ? &s : &ex, &k, NULL) == 0, "%s",
				      spec);
			for (unsigned v = lo; v <= hi; v++)
				(n < 4 ? model : exm)[v] = true;
		}
		ck_assert_int_eq(pw_iset_subtract(&s, &ex), 0);
		for (unsigned v = 0; v < 256; v++) {
			pw_u128 a = pw_addr_from_v4(0x7f000000u | v);
			bool want = model[v] && !exm[v];

			ck_assert_msg(pw_iset_contains(&s, a) == want, "round %d, .%u", round, v);
			if (want)
				ck_assert(pw_iset_pick(&s, count++) == a);
		}
		ck_assert(pw_iset_count(&s) == count);
		for (size_t i = 0; i < s.n; i++) {
			char lo[PW_ADDR_STRLEN], hi[PW_ADDR_STRLEN], spec[2 * PW_ADDR_STRLEN + 2];

			snprintf(spec, sizeof(spec), "%s-%s", pw_addr_format(s.ranges[i].lo, lo),
				 pw_addr_format(s.ranges[i].hi, hi));
			ck_assert_msg(pw_target_parse(spec, &again, &k, NULL) == 0, "%s", spec);
		}
		ck_assert(pw_iset_equal(&s, &again));
		pw_iset_done(&s);
		pw_iset_done(&ex);
		pw_iset_done(&again);
	}
}
END_TEST

static Suite *targets_suite(void)
{
	Suite *s = suite_create("targets");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, table);
	tcase_add_test(tc, reasons_are_specific);
	tcase_add_test(tc, overlong);
	tcase_add_test(tc, specs_accumulate_and_exclusions_subtract);
	tcase_add_test(tc, roundtrip_against_model);
	tcase_add_test(tc, resolve_localhost);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(targets_suite)
