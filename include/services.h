/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The name of a TCP port, one answer wherever a port is shown: journal
 * entries, hook environments, CLI tables, `portwatch scan`. The project's
 * curated list (ports.h, the "common" set) names a port first, the same on
 * every machine and what port specs accept; then the "tcp" entries of
 * services(5).
 *
 * The file is read once into a table its owner keeps (the daemon's
 * manager, one CLI command): getservbyport(3) would reread the whole file
 * on every call, through libc's static state.
 */

#include <stddef.h>
#include <stdint.h>

struct pw_service {
	uint16_t port;
	char *name;
};

struct pw_services {
	struct pw_service *v; /* sorted by port, one entry per port */
	size_t n;
};

/* A braced initializer on one line; clang-format would spread it. */
/* clang-format off */
#define PW_SERVICES_INIT { NULL, 0 }
/* clang-format on */
#define PW_SERVICES_FILE "/etc/services"

/* Longest name kept; longer ones (none in netbase) are skipped. */
#define PW_SERVICE_NAME_MAX 32

/*
 * Read path (services(5) syntax; NULL: PW_SERVICES_FILE) into s, replacing
 * what s held. The first "tcp" name of a port wins, as with getservbyport.
 * Lines that do not parse and names with bytes other than printable ASCII
 * are skipped. A file that cannot be read leaves the curated names only
 * and is not an error: the names are decoration. Returns 0 or -ENOMEM (s
 * unchanged).
 */
int pw_services_load(struct pw_services *s, const char *path);

/* The port's name, or NULL (also for port 0). */
const char *pw_services_name(const struct pw_services *s, uint16_t port);

void pw_services_done(struct pw_services *s);
