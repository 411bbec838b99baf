/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "addr.h"
#include "check-main.h"
#include "util.h"

START_TEST(parse_format_round_trip)
{
	static const char *const ok[] = {
		"127.0.0.1",
		"0.0.0.0",
		"255.255.255.255",
		"::1",
		"::",
		"2001:db8::1",
		"fe80::1:2:3:4",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	char buf[PW_ADDR_STRLEN];

	for (size_t i = 0; i < PW_ELEMENTSOF(ok); i++) {
		pw_u128 a;

		ck_assert_int_eq(pw_addr_parse(ok[i], &a), 0);
		ck_assert_str_eq(pw_addr_format(a, buf), ok[i]);
	}
}
END_TEST

START_TEST(parse_rejects_garbage)
{
	static const char *const bad[] = {
		"",           "127.1", "256.0.0.1", "1.2.3.4.5",         " 127.0.0.1",
		"127.0.0.1 ", "::g",   "localhost", "1:2:3:4:5:6:7:8:9", "127.0.0.1/8",
	};

	for (size_t i = 0; i < PW_ELEMENTSOF(bad); i++) {
		pw_u128 a = 42;

		ck_assert_msg(pw_addr_parse(bad[i], &a) == -EINVAL, "accepted \"%s\"", bad[i]);
		ck_assert(a == 42);
	}
	ck_assert_int_eq(pw_addr_parse(NULL, &(pw_u128){ 0 }), -EINVAL);
}
END_TEST

START_TEST(v4_is_mapped)
{
	pw_u128 a;

	ck_assert_int_eq(pw_addr_parse("127.0.0.1", &a), 0);
	ck_assert(pw_addr_is_v4(a));
	ck_assert_uint_eq(pw_addr_v4(a), 0x7f000001u);
	ck_assert_int_eq(pw_addr_parse("::1", &a), 0);
	ck_assert(!pw_addr_is_v4(a));
	ck_assert(a == 1);
}
END_TEST

START_TEST(sockaddr_round_trip)
{
	struct sockaddr_storage ss;
	pw_u128 a, back;
	uint16_t port;

	ck_assert_int_eq(pw_addr_parse("127.0.0.42", &a), 0);
	ck_assert_uint_eq(pw_addr_to_sockaddr(a, 8080, &ss), sizeof(struct sockaddr_in));
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_int_eq(pw_addr_from_sockaddr((struct sockaddr *)&ss, &back, &port), 0);
	ck_assert(back == a);
	ck_assert_uint_eq(port, 8080);

	ck_assert_int_eq(pw_addr_parse("::1", &a), 0);
	ck_assert_uint_eq(pw_addr_to_sockaddr(a, 65535, &ss), sizeof(struct sockaddr_in6));
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_int_eq(pw_addr_from_sockaddr((struct sockaddr *)&ss, &back, &port), 0);
	ck_assert(back == a);
	ck_assert_uint_eq(port, 65535);

	ss.ss_family = AF_UNIX;
	ck_assert_int_eq(pw_addr_from_sockaddr((struct sockaddr *)&ss, &back, &port),
			 -EAFNOSUPPORT);
}
END_TEST

static Suite *addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("addr");

	tcase_add_test(tc, parse_format_round_trip);
	tcase_add_test(tc, parse_rejects_garbage);
	tcase_add_test(tc, v4_is_mapped);
	tcase_add_test(tc, sockaddr_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(addr_suite)
