/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Output helpers shared by the verbs of the portwatch CLI: service names
 * for ports, JSON string quoting, and duration text for humans.
 */

#include <stdint.h>
#include <stdio.h>

/* Documented in portwatch(1); scripts depend on them. */
enum {
	PW_CLI_EXIT_OK = 0,
	PW_CLI_EXIT_FAILURE = 1,
	PW_CLI_EXIT_USAGE = 2,
	PW_CLI_EXIT_OPEN = 3, /* scan --fail-open: at least one port is open */
};

/*
 * The first "tcp" name of port in the services database (services(5),
 * read once with getservent(3)), or NULL. Not thread-safe.
 */
const char *pw_cli_service_name(uint16_t port);

/* Free what pw_cli_service_name() loaded. */
void pw_cli_services_free(void);

/* Write s as a JSON string literal, quotes included (RFC 8259 section 7). */
void pw_cli_json_string(FILE *f, const char *s);
