/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The query verbs of portwatch(1): status, open, changes, history and runs.
 * Each reads the daemon's database through a read-only store connection
 * (PW_STORE_READONLY) inside one read transaction, so one invocation sees
 * one consistent snapshot while the daemon keeps writing (WAL).
 *
 * Options every query verb takes (also before the verb, see
 * pw_query_hoist_verb()):
 *   --db PATH       the database (default: "database" of the config file)
 *   --config FILE   the daemon's config (default PW_DEFAULT_CONFIG); when
 *                   the default file does not exist, the built-in
 *                   database path is used
 *   --json, --csv   output for scripts (see cli.h for the formats)
 *   --no-header     text and CSV without their header lines
 *
 * Exit status (PW_CLI_EXIT_*): 0 ok, 1 error (no database, locked,
 * not a portwatch database, newer schema, unknown job, SQL failure,
 * output failure), 2 usage.
 *
 * These are CLI functions: they print results to env->out and errors,
 * each once and naming the file, to env->err, and return an exit status.
 */

#include <stdint.h>
#include <stdio.h>

enum pw_query_verb {
	PW_QUERY_STATUS,
	PW_QUERY_OPEN,
	PW_QUERY_CHANGES,
	PW_QUERY_HISTORY,
	PW_QUERY_RUNS,
	_PW_QUERY_VERB_MAX,
};

struct pw_query_env {
	FILE *out, *err;
	uint64_t now_usec;          /* CLOCK_REALTIME: ages and --since 1h */
	const char *default_config; /* used when --config is not given */
};

/*
 * Run a verb: argv[0] is the verb's name, the options follow. Returns the
 * exit status.
 */
int pw_query_run(enum pw_query_verb verb, int argc, char **argv, const struct pw_query_env *env);

/* For the verb table: stdout, stderr, the real clock, PW_DEFAULT_CONFIG. */
int pw_query_cmd_status(int argc, char **argv);
int pw_query_cmd_open(int argc, char **argv);
int pw_query_cmd_changes(int argc, char **argv);
int pw_query_cmd_history(int argc, char **argv);
int pw_query_cmd_runs(int argc, char **argv);

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
