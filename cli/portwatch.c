/* SPDX-License-Identifier: MIT */
/*
 * portwatch: the command-line tool. main() dispatches on the verb table;
 * each verb parses its own options. Adding a verb is one table row and one
 * function (verbs.h).
 */

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "query.h"
#include "util.h"
#include "verbs.h"

struct verb {
	const char *name;
	pw_cli_verb_fn_t run;
	const char *summary;
};

/* ------------------------------------------------------------------ main */

static const struct verb verbs[] = {
	{ "scan", pw_cli_verb_scan, "probe TCP ports once and print the results" },
	{ "status", pw_cli_verb_status, "jobs, their last and next runs, the daemon's state" },
	{ "open", pw_cli_verb_open, "ports open now, with service names and since when" },
	{ "changes", pw_cli_verb_changes, "state changes, newest first" },
	{ "history", pw_cli_verb_history, "timeline of one address or port" },
	{ "runs", pw_cli_verb_runs, "recent runs with durations and counts" },
	{ "run", pw_cli_verb_run, "ask the running daemon to run a job (or --all) now" },
	{ "reload", pw_cli_verb_reload, "ask the running daemon to reload its configuration" },
	{ "ack", pw_cli_verb_ack, "acknowledge policy violations (the only write)" },
};

static void help(FILE *out)
{
	fprintf(out,
		"Usage: portwatch [--help] [--version] VERB [ARG]...\n"
		"       portwatch [--db PATH] [--config FILE] [--json|--csv] [--no-header] VERB ...\n"
		"Query portwatchd's port history, or scan ports once.\n"
		"\n"
		"Verbs:\n");
	for (size_t i = 0; i < PW_ELEMENTSOF(verbs); i++)
		fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(out,
		"\n"
		"'portwatch VERB --help' describes a verb. See portwatch(1).\n"
		"Exit status: 0 ok, 1 failure, 2 usage, 3 open port found (scan --fail-open).\n");
}

static const struct verb *find_verb(const char *name)
{
	const struct verb *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < PW_ELEMENTSOF(verbs); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	for (size_t i = 0; i < PW_ELEMENTSOF(verbs); i++) {
		size_t d = pw_edit_distance(verbs[i].name, name);

		if (d < best_d) {
			best_d = d;
			best = &verbs[i];
		}
	}
	if (best && best_d <= 2)
		fprintf(stderr, "portwatch: unknown verb \"%s\"; did you mean \"%s\"?\n", name,
			best->name);
	else
		fprintf(stderr, "portwatch: unknown verb \"%s\"\nTry 'portwatch --help'.\n", name);
	return NULL;
}

int main(int argc, char **argv)
{
	const struct pw_cli_env env = {
		.out = stdout,
		.err = stderr,
		.now_usec = pw_now_usec(CLOCK_REALTIME),
		.default_config = PW_DEFAULT_CONFIG,
	};
	const struct verb *v;

	if (argc < 2) {
		help(stderr);
		return PW_CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		help(stdout);
		return PW_CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("portwatch %s\n", PACKAGE_VERSION);
		return PW_CLI_EXIT_OK;
	}
	/* "portwatch --db X status": global options may come before the verb */
	if (argv[1][0] == '-' && pw_query_hoist_verb(argc, argv) < 0) {
		fprintf(stderr, "portwatch: unknown option \"%s\"\nTry 'portwatch --help'.\n",
			argv[1]);
		return PW_CLI_EXIT_USAGE;
	}
	v = find_verb(argv[1]);
	if (!v)
		return PW_CLI_EXIT_USAGE;
	/* the verb sees itself as argv[0], like a program of its own */
	optind = 1;
	return v->run(argc - 1, argv + 1, &env);
}
