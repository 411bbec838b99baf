/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for portwatch(1)'s argument parsing: the input is an
 * argument vector (arguments separated by NUL bytes) given to the real
 * main() of cli/portwatch.c, which is compiled into this file with
 * main renamed, as is the scan verb (cli/scan-verb.c). Everything a verb
 * does with its arguments runs for real, except what would leave the
 * process:
 *   - host names never reach DNS: getaddrinfo() is defined here and
 *     answers EAI_NONAME;
 *   - `portwatch scan` stops before probing: pw_engine_new() is replaced by
 *     one that refuses, after every option and spec was parsed;
 *   - exit() (from --help) returns to the harness;
 *   - the query verbs read a small database made here (the built-in
 *     database path is relative: the harness runs in its own directory)
 *     and a configuration path that does not exist.
 * stdout and stderr are closed by libFuzzer (-close_fd_mask=3 in
 * run-fuzz.sh), so every message is still formatted and written.
 */

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "engine.h"
#include "iset.h"
#include "../store-observe.h"
#include "store.h"
#include "targets.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

static jmp_buf exit_jb;
static int exit_status;

static _Noreturn void fuzz_exit(int status)
{
	exit_status = status;
	longjmp(exit_jb, 1);
}

static int fuzz_engine_new(const struct pw_engine_params *p, struct pw_engine **ret)
{
	/* the scan's space was built from the arguments: it must be sane */
	assert(pw_iset_count(&p->space->ports) > 0);
	return -ECANCELED;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	return EAI_NONAME;
}

/* the real code, with exit and the engine redirected as described above */
#define exit(s) fuzz_exit(s)
#define pw_engine_new fuzz_engine_new
#define main pw_fuzz_portwatch_main
int pw_fuzz_portwatch_main(int argc, char **argv);
#include "../../cli/portwatch.c"
#include "../../cli/scan-verb.c"
#undef main
#undef pw_engine_new
#undef exit

static char workdir[256];

static void cleanup(void)
{
	char p[320];

	snprintf(p, sizeof(p), "%s/%s", workdir, PW_DEFAULT_DATABASE);
	unlink(p);
	rmdir(workdir);
}

/* A database with two jobs, a few ports and changes, for the query verbs. */
static void make_db(void)
{
	static const struct {
		const char *job, *addr;
		uint16_t port;
		enum pw_state a, b;
	} rows[] = {
		{ "web", "127.0.0.1", 22, PW_STATE_OPEN, PW_STATE_OPEN },
		{ "web", "127.0.0.1", 80, PW_STATE_CLOSED, PW_STATE_OPEN },
		{ "web", "::1", 443, PW_STATE_OPEN, PW_STATE_CLOSED },
		{ "db", "127.0.0.2", 5432, PW_STATE_FILTERED, PW_STATE_OPEN },
	};
	struct pw_store *s = NULL;
	char *err = NULL;
	uint64_t t = UINT64_C(1700000000000000);

	if (pw_store_open(PW_DEFAULT_DATABASE, 0, &s, &err) < 0) {
		fprintf(stderr, "fuzz-cli: %s\n", err ? err : "cannot create the database");
		abort();
	}
	for (int pass = 0; pass < 2; pass++) {
		for (const char *job = "web"; job; job = strcmp(job, "web") == 0 ? "db" : NULL) {
			int64_t run;

			assert(pw_store_run_begin(s, job, t, &run) >= 0);
			for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
				struct pw_store_obs o = { .port = rows[i].port, .time_usec = t };

				if (strcmp(rows[i].job, job) != 0)
					continue;
				assert(pw_addr_parse(rows[i].addr, &o.addr) >= 0);
				o.state = pass ? rows[i].b : rows[i].a;
				assert(pw_test_observe(s, run, &o, 0, PW_EXPECT_NONE, NULL) >= 0);
			}
			assert(pw_store_run_end(s, run, PW_RUN_COMPLETED, t + 1000) >= 0);
		}
		t += UINT64_C(3600000000);
	}
	assert(pw_store_flush(s) >= 0);
	pw_store_close(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(workdir, sizeof(workdir), "%s/pw-fuzz-cli.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(workdir) || chdir(workdir) < 0) {
		perror(workdir);
		abort();
	}
	atexit(cleanup);
	make_db();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2];
	char *copy[MAX_ARGS + 2];
	char *buf;
	int argc = 1, r;
	static char *reset_argv[] = { "x", NULL };

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "portwatch";
	for (size_t i = 0; i <= size && argc <= MAX_ARGS;) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	memcpy(copy, argv, sizeof(argv));

	/* a fresh getopt for every input, as in a new process */
	optind = 0;
	opterr = 0;
	while (getopt(1, reset_argv, "") != -1)
		;
	opterr = 1;

	exit_status = -1;
	if (setjmp(exit_jb) == 0) {
		r = pw_fuzz_portwatch_main(argc, argv);
		assert(r == PW_CLI_EXIT_OK || r == PW_CLI_EXIT_FAILURE || r == PW_CLI_EXIT_USAGE);
	} else {
		/* only --help exits, successfully */
		assert(exit_status == PW_CLI_EXIT_OK);
	}
	/* hoisting options may reorder argv, never lose or invent one */
	for (int i = 1; i < argc; i++) {
		bool found = false;

		for (int j = 1; j < argc && !found; j++)
			found = argv[i] == copy[j];
		assert(found);
	}
	free(buf);
	return 0;
}
