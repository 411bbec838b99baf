/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The query verbs of portwatch(1): status, open, changes, history and runs
 * (verbs.h). Each reads the daemon's database through a read-only store
 * connection (PW_STORE_READONLY) inside one read transaction, so one
 * invocation sees one consistent snapshot while the daemon keeps writing
 * (WAL).
 *
 * Options every query verb takes (also before the verb, see
 * pw_query_hoist_verb()):
 *   --db PATH       the database (default: "database" of the config file)
 *   --config FILE   the daemon's config (default PW_DEFAULT_CONFIG); when
 *                   the default file does not exist, the built-in
 *                   database path is used
 *   --json, --csv   output for scripts (see output.h for the formats)
 *   --no-header     text and CSV without their header lines
 *
 * Exit status (PW_CLI_EXIT_*): 0 ok, 1 error (no database, locked,
 * not a portwatch database, newer schema, unknown job, SQL failure,
 * output failure), 2 usage.
 */

#include <stdint.h>

/*
 * "portwatch --json --db X open" -> "portwatch open --json --db X": move
 * the global options written before the verb behind it, in place. Returns
 * 0, or -EINVAL when an unknown option or no verb comes first (argv is then
 * unchanged).
 */
int pw_query_hoist_verb(int argc, char **argv);

/*
 * A --since value: a duration back from now ("90s", "1h", "2d", "1h30m"),
 * a UTC date ("2026-11-20", midnight) or a UTC date and time
 * ("2026-11-20 13:00", "2026-11-20 13:00:05", "2026-11-20T13:00:05Z").
 * Returns 0, -EINVAL (malformed) or -ERANGE (no such date, before 1970).
 */
int pw_query_parse_since(const char *s, uint64_t now_usec, uint64_t *ret_usec);

/*
 * Split HOST[:PORT]: "127.0.0.1:22", "[::1]:22", "[::1]", "::1" (an IPv6
 * address without brackets has no port), "localhost:ssh". *ret_port is
 * NULL without a port. Both are malloc()ed. Returns 0, -EINVAL or -ENOMEM.
 */
int pw_query_split_host_port(const char *s, char **ret_host, char **ret_port);
