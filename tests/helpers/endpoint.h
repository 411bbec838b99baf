/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * "ADDR:PORT" as the test helpers take it on their command line (IPv6 as
 * [::1]:PORT), into a sockaddr, with the project's own address parser.
 */
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "util.h"

static inline int pw_test_endpoint(const char *s, uint16_t min_port, struct sockaddr_storage *ss,
				   socklen_t *len)
{
	char host[PW_ADDR_STRLEN];
	const char *colon;
	uint64_t port;
	pw_u128 a;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	if (pw_parse_u64(colon + 1, min_port, 65535, &port) < 0 || pw_addr_parse(host, &a) < 0)
		return -EINVAL;
	*len = pw_addr_to_sockaddr(a, (uint16_t)port, ss);
	return 0;
}
