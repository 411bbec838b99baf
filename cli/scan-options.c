/* SPDX-License-Identifier: MIT */
/*
 * portwatch scan's command line: the options, their checks, the usage.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan-internal.h"
#include "util.h"

void scan_help(FILE *out)
{
	fprintf(out,
		"Usage: portwatch scan [OPTION]... TARGET...\n"
		"Probe TCP ports once with connect() and print the open ones.\n"
		"\n"
		"TARGET is an address, CIDR prefix, range or hostname (127.0.0.1,\n"
		"127.0.0.0/24, 127.0.0.1-40, ::1, localhost); several may be given, or\n"
		"comma-separated.\n"
		"\n"
		"  -p, --ports LIST         ports: 22,80,8000-8100,ssh, all, well-known or\n"
		"                           common (default 1-1024)\n"
		"  -a, --all                list every probed port with its state\n"
		"  -j, --json               print JSON instead of a table\n"
		"      --fail-open          exit 3 when any port is open\n"
		"  -t, --timeout DURATION   initial probe timeout (default 1s)\n"
		"      --min-timeout DUR    lower clamp of the adaptive timeout (default 100ms)\n"
		"      --max-timeout DUR    upper clamp of the adaptive timeout (default 3s)\n"
		"  -r, --retries N          extra attempts for an unanswered probe (default 2)\n"
		"      --max-retries N      up to N on an address that loses packets (default 10;\n"
		"                           = --retries: no adaptation)\n"
		"  -R, --rate N             at most N connects per second (default unlimited)\n"
		"  -c, --concurrency N      probes in flight (default: from the open-file limit)\n"
		"      --host-concurrency N probes in flight per address (default no cap)\n"
		"  -T, --threads N          worker threads (default one per CPU)\n"
		"      --shard I/N          scan only shard I of N (1-based) of the space\n"
		"      --seed N             key of the probe order (default random)\n"
		"      --no-guard           report every open port even on hosts that accept all\n"
		"      --no-services        do not look up service names\n"
		"  -h, --help               show this help\n"
		"\n"
		"Output: a table \"ADDRESS PORT STATE SERVICE\" (open ports; every port with\n"
		"--all), then one summary line starting with \"Scanned\". Progress goes to\n"
		"stderr when it is a terminal.\n"
		"Exit status: 0 ok, 1 failure or interrupted, 2 usage, 3 open port with --fail-open.\n");
}

enum {
	OPT_FAIL_OPEN = 0x100,
	OPT_MIN_TIMEOUT,
	OPT_MAX_TIMEOUT,
	OPT_MAX_RETRIES,
	OPT_HOST_CONC,
	OPT_SHARD,
	OPT_SEED,
	OPT_NO_GUARD,
	OPT_NO_SERVICES,
};

static int parse_uint_opt(const char *name, const char *arg, uint64_t min, uint64_t max,
			  uint64_t *ret)
{
	int r = pw_parse_u64(arg, min, max, ret);

	if (r < 0)
		fprintf(stderr, "portwatch scan: %s: \"%s\" is not a number in %llu..%llu\n", name,
			arg, (unsigned long long)min, (unsigned long long)max);
	return r;
}

static int parse_dur_opt(const char *name, const char *arg, uint64_t *ret)
{
	int r = pw_parse_duration(arg, ret);

	if (r >= 0 && *ret == 0)
		r = -ERANGE;
	if (r < 0)
		fprintf(stderr, "portwatch scan: %s: \"%s\" is not a duration (e.g. 500ms, 2s)\n",
			name, arg);
	return r;
}

static int parse_shard(const char *arg, uint64_t *ret_i, uint64_t *ret_n)
{
	_cleanup_free_ char *copy = strdup(arg);
	char *slash = copy ? strchr(copy, '/') : NULL;
	uint64_t i, n;

	if (!slash || (*slash = '\0', pw_parse_u64(copy, 1, UINT32_MAX, &i) < 0) ||
	    pw_parse_u64(slash + 1, 1, UINT32_MAX, &n) < 0 || i > n) {
		fprintf(stderr, "portwatch scan: --shard: \"%s\" is not I/N with 1 <= I <= N\n",
			arg);
		return -EINVAL;
	}
	*ret_i = i - 1;
	*ret_n = n;
	return 0;
}

static const struct option scan_longopts[] = {
	{ "ports", required_argument, NULL, 'p' },
	{ "all", no_argument, NULL, 'a' },
	{ "json", no_argument, NULL, 'j' },
	{ "fail-open", no_argument, NULL, OPT_FAIL_OPEN },
	{ "timeout", required_argument, NULL, 't' },
	{ "min-timeout", required_argument, NULL, OPT_MIN_TIMEOUT },
	{ "max-timeout", required_argument, NULL, OPT_MAX_TIMEOUT },
	{ "retries", required_argument, NULL, 'r' },
	{ "max-retries", required_argument, NULL, OPT_MAX_RETRIES },
	{ "rate", required_argument, NULL, 'R' },
	{ "concurrency", required_argument, NULL, 'c' },
	{ "host-concurrency", required_argument, NULL, OPT_HOST_CONC },
	{ "threads", required_argument, NULL, 'T' },
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "no-guard", no_argument, NULL, OPT_NO_GUARD },
	{ "no-services", no_argument, NULL, OPT_NO_SERVICES },
	{ "help", no_argument, NULL, 'h' },
	{},
};

/* A count option into *ret: 0 or -EINVAL (said why). */
static int parse_count_opt(const char *name, const char *arg, uint64_t min, uint64_t max,
			   unsigned *ret)
{
	uint64_t v;

	if (parse_uint_opt(name, arg, min, max, &v) < 0)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/* The options that tune probing: 0, -EINVAL (said why), or -ENOENT for another option. */
static int parse_timing_option(int c, const char *arg, struct scan_opts *so)
{
	struct pw_scan_timing *t = &so->timing;

	switch (c) {
	case 't':
		return parse_dur_opt("--timeout", arg, &t->initial_timeout_usec) < 0 ? -EINVAL : 0;
	case OPT_MIN_TIMEOUT:
		return parse_dur_opt("--min-timeout", arg, &t->min_timeout_usec) < 0 ? -EINVAL : 0;
	case OPT_MAX_TIMEOUT:
		return parse_dur_opt("--max-timeout", arg, &t->max_timeout_usec) < 0 ? -EINVAL : 0;
	case 'r':
		return parse_count_opt("--retries", arg, 0, PW_SCAN_MAX_RETRIES, &t->retries);
	case OPT_MAX_RETRIES:
		return parse_count_opt("--max-retries", arg, 0, PW_SCAN_MAX_RETRIES,
				       &t->max_retries);
	case 'R':
		return parse_count_opt("--rate", arg, 1, 100000000, &t->rate);
	case 'c':
		return parse_count_opt("--concurrency", arg, 1, 1000000, &t->concurrency);
	case OPT_HOST_CONC:
		return parse_count_opt("--host-concurrency", arg, 1, 1000000, &t->host_concurrency);
	case 'T':
		return parse_count_opt("--threads", arg, 1, 256, &so->threads);
	}
	return -ENOENT;
}

/* One option: 0, 1 for --help (printed), or -EINVAL (said why). */
static int parse_scan_option(int c, struct scan_opts *so, const char **ret_ports)
{
	int r;

	switch (c) {
	case 'p':
		*ret_ports = optarg;
		return 0;
	case 'a':
		so->all = true;
		return 0;
	case 'j':
		so->json = true;
		return 0;
	case OPT_FAIL_OPEN:
		so->fail_open = true;
		return 0;
	case OPT_SHARD:
		return parse_shard(optarg, &so->shard_i, &so->shard_n) < 0 ? -EINVAL : 0;
	case OPT_SEED:
		return parse_uint_opt("--seed", optarg, 0, UINT64_MAX, &so->key) < 0 ? -EINVAL : 0;
	case OPT_NO_GUARD:
		so->canaries = 0;
		return 0;
	case OPT_NO_SERVICES:
		so->no_services = true;
		return 0;
	case 'h':
		scan_help(stdout);
		return 1;
	}
	r = parse_timing_option(c, optarg, so);
	if (r != -ENOENT)
		return r;
	fprintf(stderr, "Try 'portwatch scan --help'.\n");
	return -EINVAL;
}

int scan_parse_options(int argc, char **argv, struct scan_opts *so, const char **ret_ports)
{
	int c, r;

	while ((c = getopt_long(argc, argv, "p:ajt:r:R:c:T:h", scan_longopts, NULL)) != -1) {
		r = parse_scan_option(c, so, ret_ports);
		if (r != 0)
			return r;
	}
	if (so->timing.min_timeout_usec > so->timing.max_timeout_usec) {
		fprintf(stderr, "portwatch scan: --min-timeout is above --max-timeout\n");
		return -EINVAL;
	}
	if (so->timing.max_retries < so->timing.retries) {
		fprintf(stderr,
			"portwatch scan: --max-retries %u is below --retries %u (give it %u to turn loss adaptation off)\n",
			so->timing.max_retries, so->timing.retries, so->timing.retries);
		return -EINVAL;
	}
	if (optind >= argc) {
		fprintf(stderr, "portwatch scan: no target given\nTry 'portwatch scan --help'.\n");
		return -EINVAL;
	}
	return 0;
}
