/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The verbs of portwatch(1), each one function that cli/portwatch.c's verb
 * table dispatches to: argv[0] is the verb's name, its options and
 * arguments follow. A verb prints its results to env->out and its errors,
 * each once, to env->err, and returns the exit status (PW_CLI_EXIT_*,
 * output.h).
 */

#include <stdint.h>
#include <stdio.h>

struct pw_cli_env {
	FILE *out, *err;
	uint64_t now_usec;          /* CLOCK_REALTIME: ages and --since 1h */
	const char *default_config; /* used when --config is not given */
};

typedef int (*pw_cli_verb_fn_t)(int argc, char **argv, const struct pw_cli_env *env);

/* cli/scan-verb.c: probe ports once */
int pw_cli_verb_scan(int argc, char **argv, const struct pw_cli_env *env);

/* the daemon's database (query.h) */
int pw_cli_verb_status(int argc, char **argv, const struct pw_cli_env *env);  /* cli/status.c */
int pw_cli_verb_open(int argc, char **argv, const struct pw_cli_env *env);    /* query-open.c */
int pw_cli_verb_changes(int argc, char **argv, const struct pw_cli_env *env); /* query-events.c */
int pw_cli_verb_history(int argc, char **argv, const struct pw_cli_env *env); /* query-events.c */
int pw_cli_verb_runs(int argc, char **argv, const struct pw_cli_env *env);    /* query-runs.c */

/* cli/admin.c: ask the daemon to run jobs or reload; acknowledge events */
int pw_cli_verb_run(int argc, char **argv, const struct pw_cli_env *env);
int pw_cli_verb_reload(int argc, char **argv, const struct pw_cli_env *env);
int pw_cli_verb_ack(int argc, char **argv, const struct pw_cli_env *env);
