/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Port specs, as the configuration writes them, normalised into an
 * interval set over 1..65535 (see iset.h). One spec is one of:
 *   "22"            a port
 *   "8000-8100"     an inclusive range (low <= high)
 *   "all"           1-65535
 *   "well-known"    1-1023
 *   "common"        the curated list in daemon/common-ports.def
 *   "ssh", "https"  a service name: the curated list first, then the
 *                   "tcp" entries of /etc/services (getservbyname(3))
 * Port 0 is not a port you can connect to and is rejected. A spec holds no
 * whitespace and no commas: splitting lists is the caller's business.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iset.h"

#define PW_PORT_MIN 1
#define PW_PORT_MAX 65535
/* Longer specs are rejected before any parsing. */
#define PW_PORT_SPEC_MAX 64

/*
 * Add the ports of one spec to set. Returns 0, -EINVAL (malformed or
 * unknown name), -ERANGE (port 0, above 65535, reversed range) or -ENOMEM.
 * On failure, *reason (if reason is not NULL) points to a static
 * description of what is wrong, and set is unchanged.
 */
int pw_ports_parse(const char *spec, struct pw_iset *set, const char **reason);

/* The curated "common" set, as a new set. Returns 0 or -ENOMEM. */
int pw_ports_common(struct pw_iset *ret);

/* The curated name of a common port, or NULL. */
const char *pw_ports_common_name(uint16_t port);
