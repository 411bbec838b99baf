/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One address type for both families: a 128-bit integer where IPv4 lives
 * in the IPv4-mapped range ::ffff:0:0/96 (RFC 4291 2.5.5.2). Interval sets,
 * the permutation and the store then handle IPv4 and IPv6 alike.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <arpa/inet.h>

typedef unsigned __int128 pw_u128;

#define PW_ADDR_STRLEN INET6_ADDRSTRLEN
#define PW_ADDR_V4_BASE (((pw_u128)0xffff) << 32)

static inline pw_u128 pw_addr_from_v4(uint32_t host_order)
{
	return PW_ADDR_V4_BASE | host_order;
}

static inline bool pw_addr_is_v4(pw_u128 a)
{
	return (a >> 32) == 0xffff;
}

static inline uint32_t pw_addr_v4(pw_u128 a)
{
	return (uint32_t)a;
}

/* Parse a numeric IPv4 or IPv6 address. Returns 0 or -EINVAL. */
int pw_addr_parse(const char *s, pw_u128 *ret);

/* Format as dotted quad for IPv4, RFC 5952 text for IPv6. */
const char *pw_addr_format(pw_u128 a, char buf[static PW_ADDR_STRLEN]);

/* Fill a sockaddr for connect(); returns its length. */
socklen_t pw_addr_to_sockaddr(pw_u128 a, uint16_t port, struct sockaddr_storage *ret);

/* Read a sockaddr (AF_INET or AF_INET6); returns 0 or -EAFNOSUPPORT. */
int pw_addr_from_sockaddr(const struct sockaddr *sa, pw_u128 *ret_addr, uint16_t *ret_port);
