/* SPDX-License-Identifier: MIT */
/*
 * portwatchd: the port-monitoring daemon. main() only parses options and
 * runs the event loop; everything else lives in modules.
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manager.h"
#include "config.h"
#include "estimate.h"
#include "util.h"

#ifndef PW_DEFAULT_CONFIG
#define PW_DEFAULT_CONFIG "/etc/portwatch/portwatchd.conf"
#endif

/* Documented in portwatchd(8) and the README; scripts depend on them. */
enum {
	PW_EXIT_OK = 0,
	PW_EXIT_FAILURE = 1, /* runtime failure */
	PW_EXIT_USAGE = 2,   /* bad option or bad configuration */
};

struct options {
	const char *config_path;
	const char *database;
	const char *control_socket;
	bool check_config;
	bool foreground;
	int log_level;
	bool log_level_set;
	int log_target; /* enum pw_log_target; -1: from --foreground */
};

static void help(FILE *out)
{
	fprintf(out,
		"Usage: portwatchd [OPTION]...\n"
		"Monitor TCP ports on a schedule and record every state change.\n"
		"\n"
		"  -c, --config FILE      main configuration file (default %s)\n"
		"  -d, --database PATH    override the configured database path\n"
		"  -s, --control-socket PATH  override the configured control socket\n"
		"  -t, --check-config     validate the configuration, print the jobs, exit\n"
		"  -f, --foreground       log readable lines to stderr, not to the journal\n"
		"  -l, --log-level LEVEL  debug, info, notice, warning or err (default info)\n"
		"      --log-target T     auto, journal or stderr (default auto, stderr with -f)\n"
		"  -h, --help             show this help and exit\n"
		"  -V, --version          show the version and exit\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n"
		"See portwatchd(8).\n",
		PW_DEFAULT_CONFIG);
}

/* Long options without a short form. */
enum {
	ARG_LOG_TARGET = 0x100,
};

/* "journal" lets tests and wrappers force journal logging without systemd. */
static int log_target_from_string(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return PW_LOG_AUTO;
	if (strcmp(s, "journal") == 0)
		return PW_LOG_JOURNAL;
	if (strcmp(s, "stderr") == 0)
		return PW_LOG_STDERR;
	return -EINVAL;
}

static const struct option longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "database", required_argument, NULL, 'd' },
	{ "control-socket", required_argument, NULL, 's' },
	{ "check-config", no_argument, NULL, 't' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "log-target", required_argument, NULL, ARG_LOG_TARGET },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{},
};

/* The logging options: their values are checked here, not at first use. */
static int parse_log_option(int c, const char *arg, struct options *o)
{
	if (c == 'l') {
		o->log_level = pw_log_level_from_string(arg);
		o->log_level_set = true;
		if (o->log_level < 0) {
			fprintf(stderr, "portwatchd: --log-level: unknown level \"%s\"\n", arg);
			return -EINVAL;
		}
		return 0;
	}
	o->log_target = log_target_from_string(arg);
	if (o->log_target < 0) {
		fprintf(stderr,
			"portwatchd: --log-target: unknown target \"%s\" (auto, journal or stderr)\n",
			arg);
		return -EINVAL;
	}
	return 0;
}

/* One option from getopt_long(); --help and --version exit here. */
static int apply_option(int c, const char *arg, struct options *o)
{
	switch (c) {
	case 'c':
		o->config_path = arg;
		return 0;
	case 'd':
		o->database = arg;
		return 0;
	case 's':
		o->control_socket = arg;
		return 0;
	case 't':
		o->check_config = true;
		return 0;
	case 'f':
		o->foreground = true;
		return 0;
	case 'l':
	case ARG_LOG_TARGET:
		return parse_log_option(c, arg, o);
	case 'h':
		help(stdout);
		exit(PW_EXIT_OK);
	case 'V':
		printf("portwatchd %s\n", PACKAGE_VERSION);
		exit(PW_EXIT_OK);
	default:
		fprintf(stderr, "Try 'portwatchd --help'.\n");
		return -EINVAL;
	}
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "c:d:s:tfl:hV", longopts, NULL)) != -1)
		if (apply_option(c, optarg, o) < 0)
			return -EINVAL;
	if (optind < argc) {
		fprintf(stderr,
			"portwatchd: unexpected argument \"%s\"\nTry 'portwatchd --help'.\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static const char *u128_to_string(pw_u128 v, char buf[static 40])
{
	char *p = buf + 39;

	*p = '\0';
	do {
		*--p = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v > 0);
	return p;
}

static void print_errors(const struct pw_diag *diag)
{
	for (size_t i = 0; i < diag->n; i++)
		fprintf(stderr, "%s\n", diag->msgs[i]);
}

/* A job's cost (estimate.h), from all ports closed to none closed. */
static void print_estimate(const struct pw_job *j, struct pw_estimate *total)
{
	struct pw_estimate e;
	char a[32], b[32], d0[32], d1[32];

	pw_estimate_job(j, &e);
	printf("  memory %s to %s, database %s to %s per run (all ports closed to none closed)\n",
	       pw_format_size(a, sizeof(a), e.mem_least), pw_format_size(b, sizeof(b), e.mem_most),
	       pw_format_size(d0, sizeof(d0), e.disk_least),
	       pw_format_size(d1, sizeof(d1), e.disk_most));
	if (!j->enabled)
		return;
	total->mem_least = pw_estimate_add(total->mem_least, e.mem_least);
	total->mem_most = pw_estimate_add(total->mem_most, e.mem_most);
	total->disk_least = pw_estimate_add(total->disk_least, e.disk_least);
	total->disk_most = pw_estimate_add(total->disk_most, e.disk_most);
}

static void print_totals(const struct pw_config *c, const struct pw_estimate *t)
{
	char a[32], b[32], m[32], d0[32], d1[32], g[32];

	printf("enabled jobs together: memory %s to %s (max_memory %s), database %s to %s per round of runs (max_database_growth %s)\n",
	       pw_format_size(a, sizeof(a), t->mem_least),
	       pw_format_size(b, sizeof(b), t->mem_most),
	       pw_format_size(m, sizeof(m), c->max_memory),
	       pw_format_size(d0, sizeof(d0), t->disk_least),
	       pw_format_size(d1, sizeof(d1), t->disk_most),
	       pw_format_size(g, sizeof(g), c->max_database_growth));
}

/* --check-config: what each job would do per run, or every error found. */
static int check_config(const struct options *o)
{
	struct pw_diag diag = PW_DIAG_INIT;
	struct pw_estimate total = { 0 };
	struct pw_config *c = NULL;
	int r;

	r = pw_config_load(o->config_path, &c, &diag);
	if (r >= 0 && o->database)
		r = pw_config_set_database(c, o->database);
	if (r < 0) {
		print_errors(&diag);
		if (diag.n == 0)
			fprintf(stderr, "%s: cannot load: %s\n", o->config_path, strerror(-r));
		pw_diag_done(&diag);
		return PW_EXIT_USAGE;
	}
	printf("%s: OK, %zu job(s), database %s\n", o->config_path, c->n_jobs, c->database);
	for (size_t i = 0; i < c->n_jobs; i++) {
		const struct pw_job *j = &c->jobs[i];
		char a[40], p[40], n[40], iv[32], jt[32];

		printf("job \"%s\" (%s:%d)%s: %s address(es) x %s port(s) = %s probes per run",
		       j->name, j->file, j->line, j->enabled ? "" : " [disabled]",
		       u128_to_string(pw_iset_count(&j->space.addrs), a),
		       u128_to_string(pw_iset_count(&j->space.ports), p),
		       u128_to_string(pw_job_probe_count(j), n));
		if (j->n_hostnames)
			printf(", plus %zu host name(s) resolved at each run", j->n_hostnames);
		printf(", every %s (jitter %s)\n",
		       pw_format_duration(iv, sizeof(iv), j->interval_usec),
		       pw_format_duration(jt, sizeof(jt), j->jitter_usec));
		print_estimate(j, &total);
	}
	print_totals(c, &total);
	pw_diag_done(&diag);
	pw_config_free(c);
	return PW_EXIT_OK;
}

static int run(const struct options *o)
{
	struct pw_diag diag = PW_DIAG_INIT;
	struct pw_manager *m = NULL;
	int r;

	r = pw_manager_new(&(struct pw_manager_options){ .config_path = o->config_path,
							 .database = o->database,
							 .control_socket = o->control_socket,
							 .log_level = o->log_level_set
									      ? o->log_level
									      : -1 },
			   &diag, &m);
	if (r == -EINVAL && diag.n > 0) {
		print_errors(&diag);
		pw_diag_done(&diag);
		return PW_EXIT_USAGE;
	}
	pw_diag_done(&diag);
	if (r < 0) {
		/* the manager logged what failed */
		return PW_EXIT_FAILURE;
	}
	r = pw_manager_run(m);
	pw_manager_free(m);
	return r < 0 ? PW_EXIT_FAILURE : PW_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct options o = {
		.config_path = PW_DEFAULT_CONFIG,
		.log_level = LOG_INFO,
		.log_target = -1,
	};

	if (parse_options(argc, argv, &o) < 0)
		return PW_EXIT_USAGE;
	pw_log_open("portwatchd",
		    o.log_target >= 0 ? (enum pw_log_target)o.log_target
		    : o.foreground    ? PW_LOG_STDERR
				      : PW_LOG_AUTO,
		    o.log_level);

	if (o.check_config)
		return check_config(&o);
	return run(&o);
}
