/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "addr.h"

static pw_u128 u128_from_bytes(const uint8_t b[16])
{
	pw_u128 v = 0;

	for (int i = 0; i < 16; i++)
		v = (v << 8) | b[i];
	return v;
}

static void u128_to_bytes(pw_u128 v, uint8_t b[16])
{
	for (int i = 15; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
}

int pw_addr_parse(const char *s, pw_u128 *ret)
{
	struct in_addr in4;
	struct in6_addr in6;

	if (!s)
		return -EINVAL;
	/* inet_pton() takes only the strict dotted-quad form: no "127.1". */
	if (inet_pton(AF_INET, s, &in4) == 1) {
		*ret = pw_addr_from_v4(ntohl(in4.s_addr));
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6) == 1) {
		*ret = u128_from_bytes(in6.s6_addr);
		return 0;
	}
	return -EINVAL;
}

const char *pw_addr_format(pw_u128 a, char buf[static PW_ADDR_STRLEN])
{
	if (pw_addr_is_v4(a)) {
		struct in_addr in4 = { .s_addr = htonl(pw_addr_v4(a)) };

		inet_ntop(AF_INET, &in4, buf, PW_ADDR_STRLEN);
	} else {
		struct in6_addr in6;

		u128_to_bytes(a, in6.s6_addr);
		inet_ntop(AF_INET6, &in6, buf, PW_ADDR_STRLEN);
	}
	return buf;
}

socklen_t pw_addr_to_sockaddr(pw_u128 a, uint16_t port, struct sockaddr_storage *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (pw_addr_is_v4(a)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ret;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(pw_addr_v4(a));
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ret;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		u128_to_bytes(a, sin6->sin6_addr.s6_addr);
		return sizeof(*sin6);
	}
}

int pw_addr_from_sockaddr(const struct sockaddr *sa, pw_u128 *ret_addr, uint16_t *ret_port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		*ret_addr = pw_addr_from_v4(ntohl(sin->sin_addr.s_addr));
		*ret_port = ntohs(sin->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		*ret_addr = u128_from_bytes(sin6->sin6_addr.s6_addr);
		*ret_port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}
