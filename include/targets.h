/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Target specs, as the configuration writes them. Numeric forms become
 * address intervals (addr.h: IPv4 lives in ::ffff:0:0/96), so IPv4 and IPv6
 * share one set; hostnames stay names and are resolved at each run:
 *   "127.0.0.1"                 one IPv4 address
 *   "127.0.0.0/24"              IPv4 CIDR (no host bits set)
 *   "127.0.0.1-127.0.0.40"      inclusive IPv4 range
 *   "127.0.0.1-40"              same, last octet shorthand
 *   "::1", "fd00::/120"         IPv6 address and CIDR
 *   "::1-::9"                   inclusive IPv6 range
 *   "localhost", "db1.lan."     hostname (RFC 1123 syntax; A and AAAA)
 * A spec holds no whitespace and no commas.
 */

#include <stdbool.h>
#include <stddef.h>

#include "iset.h"

/*
 * Size cap for one spec (and, in the config, for one job's address set):
 * 2^24 addresses, an IPv4 /8. For IPv6 that is a /104, so any shorter
 * IPv6 prefix is refused outright.
 */
#define PW_TARGETS_MAX_ADDRS ((pw_u128)1 << 24)
#define PW_TARGETS_MIN_V6_PREFIX 104
/* A hostname is at most 253 characters (RFC 1035 2.3.4, minus the dots). */
#define PW_TARGET_SPEC_MAX 256

enum pw_target_kind {
	PW_TARGET_ADDRESSES, /* added to the set */
	PW_TARGET_HOSTNAME,  /* the spec is a name; the set is unchanged */
};

/*
 * Parse one target spec. Address forms are added to addrs. Returns 0 and
 * the kind, or -EINVAL (malformed), -ERANGE (reversed range, prefix out of
 * range, above PW_TARGETS_MAX_ADDRS, or a lone unspecified/broadcast
 * address), -ENOMEM. On failure *reason (if reason is not NULL) points to a
 * static description and addrs is unchanged.
 */
int pw_target_parse(const char *spec, struct pw_iset *addrs, enum pw_target_kind *ret_kind,
		    const char **reason);

/*
 * Resolve hostnames (getaddrinfo(3), A and AAAA, no AI_ADDRCONFIG so a
 * host without IPv6 routes still sees ::1 for "localhost") into a new set,
 * minus exclude (may be NULL). gai_errors, if not NULL, has n_names
 * entries and receives 0 or the EAI_* code per name. Returns how many names
 * failed to resolve (>= 0; the set holds what did resolve) or -ENOMEM.
 */
int pw_targets_resolve(char *const *names, size_t n_names, const struct pw_iset *exclude,
		       struct pw_iset *ret_addrs, int *gai_errors);
