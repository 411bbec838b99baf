/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check-main.h"
#include "ports.h"
#include "services.h"

static char path[64];

static void write_file(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/pw-services-XXXXXX");
	fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(parses_services_syntax)
{
	struct pw_services s = PW_SERVICES_INIT;

	write_file("# comment line\n"
		   "\n"
		   "echo\t\t7/tcp\n"
		   "echo\t\t7/udp\n"
		   "discard\t\t9/tcp\t\tsink null\t# aliases and a comment\n"
		   "first   4001/tcp\n"
		   "second  4001/tcp  # a later name for the same port loses\n"
		   "udponly 4002/udp\n"
		   "zero    0/tcp\n"
		   "big     65536/tcp\n"
		   "neg     -1/tcp\n"
		   "noproto 4003\n"
		   "junk    4004/tcpx\n"
		   "hex     0x10/tcp\n"
		   "thisnameislongerthanthirtytwocharacters 4005/tcp\n"
		   "ctl\x01name 4006/tcp\n"
		   "high    65535/tcp\n"
		   "nonl    4007/tcp");
	ck_assert_int_eq(pw_services_load(&s, path), 0);
	unlink(path);
	ck_assert_str_eq(pw_services_name(&s, 7), "echo");
	ck_assert_str_eq(pw_services_name(&s, 9), "discard");
	ck_assert_str_eq(pw_services_name(&s, 4001), "first");
	ck_assert_ptr_null(pw_services_name(&s, 4002));
	ck_assert_ptr_null(pw_services_name(&s, 0));
	ck_assert_ptr_null(pw_services_name(&s, 4003));
	ck_assert_ptr_null(pw_services_name(&s, 4004));
	ck_assert_ptr_null(pw_services_name(&s, 16));
	ck_assert_ptr_null(pw_services_name(&s, 4005));
	ck_assert_ptr_null(pw_services_name(&s, 4006));
	ck_assert_str_eq(pw_services_name(&s, 65535), "high");
	ck_assert_str_eq(pw_services_name(&s, 4007), "nonl");
	ck_assert_uint_eq(s.n, 5); /* echo, discard, first, high, nonl */
	for (size_t i = 1; i < s.n; i++)
		ck_assert_uint_lt(s.v[i - 1].port, s.v[i].port);
	pw_services_done(&s);
	ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(curated_names_come_first)
{
	struct pw_services s = PW_SERVICES_INIT;

	write_file("secure-shell 22/tcp\nmywww 8080/tcp\nother 4001/tcp\n");
	ck_assert_int_eq(pw_services_load(&s, path), 0);
	unlink(path);
	ck_assert_str_eq(pw_services_name(&s, 22), "ssh");
	ck_assert_str_eq(pw_services_name(&s, 8080), pw_ports_common_name(8080));
	ck_assert_str_eq(pw_services_name(&s, 4001), "other");
	pw_services_done(&s);
}
END_TEST

START_TEST(missing_file_leaves_curated_names)
{
	struct pw_services s = PW_SERVICES_INIT;

	write_file("other 4001/tcp\n");
	ck_assert_int_eq(pw_services_load(&s, path), 0);
	ck_assert_str_eq(pw_services_name(&s, 4001), "other");
	/* loading again replaces the table */
	unlink(path);
	ck_assert_int_eq(pw_services_load(&s, path), 0);
	ck_assert_ptr_null(pw_services_name(&s, 4001));
	ck_assert_str_eq(pw_services_name(&s, 443), "https");
	pw_services_done(&s);
	pw_services_done(&s); /* twice is fine */
}
END_TEST

/* Against libc's own reading of the system file: the first "tcp" name of
 * every port, where the curated list has none. */
START_TEST(agrees_with_getservent)
{
	struct pw_services s = PW_SERVICES_INIT;
	char **want = calloc(65536, sizeof(*want));
	struct servent *se;
	unsigned compared = 0;

	/* netbase is among the build dependencies (bootstrap.sh) */
	ck_assert_msg(access(PW_SERVICES_FILE, R_OK) == 0,
		      "%s: no such file (Debian package netbase)", PW_SERVICES_FILE);
	ck_assert_ptr_nonnull(want);
	ck_assert_int_eq(pw_services_load(&s, NULL), 0);
	setservent(0);
	while ((se = getservent())) {
		uint16_t port = ntohs((uint16_t)se->s_port);

		if (strcmp(se->s_proto, "tcp") == 0 && !want[port])
			want[port] = strdup(se->s_name);
	}
	endservent();
	for (unsigned p = 1; p < 65536; p++) {
		const char *got = pw_services_name(&s, (uint16_t)p);

		if (!pw_ports_common_name((uint16_t)p)) {
			if (want[p])
				ck_assert_msg(got && strcmp(got, want[p]) == 0,
					      "port %u: got %s, want %s", p, got ?: "(none)",
					      want[p]);
			else
				ck_assert_msg(!got, "port %u: got %s, want none", p, got);
			compared += want[p] != NULL;
		}
		free(want[p]);
	}
	free(want);
	ck_assert_uint_gt(compared, 10);
	pw_services_done(&s);
}
END_TEST

static Suite *services_suite(void)
{
	Suite *s = suite_create("services");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parses_services_syntax);
	tcase_add_test(tc, curated_names_come_first);
	tcase_add_test(tc, missing_file_leaves_curated_names);
	tcase_add_test(tc, agrees_with_getservent);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(services_suite)
