/* SPDX-License-Identifier: MIT */
/*
 * The command line of the query verbs: options, the --since and HOST[:PORT]
 * forms, the address and port filters, and the global options that may come
 * before the verb.
 */

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ports.h"
#include "query-internal.h"
#include "query.h"
#include "targets.h"
#include "util.h"

/* ------------------------------------------------------------------ parsing */

/* Exactly n digits at s, as a number. */
static bool digits(const char *s, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

/* "YYYY-MM-DD[( |T)HH:MM[:SS]][Z]", UTC. */
static int parse_utc(const char *s, uint64_t *ret_usec)
{
	struct tm tm = { 0 }, back;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	size_t len = strlen(s);
	time_t t;

	if (len > 0 && s[len - 1] == 'Z')
		len--;
	if (len < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d))
		return -EINVAL;
	if (len > 10) {
		if ((s[10] != ' ' && s[10] != 'T') || len < 16 || !digits(s + 11, 2, &h) ||
		    s[13] != ':' || !digits(s + 14, 2, &mi))
			return -EINVAL;
		if (len > 16 && (len != 19 || s[16] != ':' || !digits(s + 17, 2, &sec)))
			return -EINVAL;
	} else if (len != strlen(s)) {
		return -EINVAL; /* "2026-11-20Z" */
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm() normalises 2026-02-30 to March: refuse what moved */
	if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_year != y - 1900 ||
	    back.tm_mon != mo - 1 || back.tm_mday != d || back.tm_hour != h || back.tm_min != mi ||
	    back.tm_sec != sec)
		return -ERANGE;
	if (t < 0)
		return -ERANGE;
	*ret_usec = (uint64_t)t * USEC_PER_SEC;
	return 0;
}

int pw_query_parse_since(const char *s, uint64_t now_usec, uint64_t *ret_usec)
{
	uint64_t d;
	int r;

	if (!s || !*s)
		return -EINVAL;
	/* a date starts with four digits and a dash; a duration never has one */
	if (strlen(s) > 4 && s[4] == '-')
		return parse_utc(s, ret_usec);
	r = pw_parse_duration(s, &d);
	if (r < 0)
		return r;
	*ret_usec = d < now_usec ? now_usec - d : 0;
	return 0;
}

int pw_query_split_host_port(const char *s, char **ret_host, char **ret_port)
{
	const char *colon, *end, *port = NULL;
	char *h, *p = NULL;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || end == s + 1)
			return -EINVAL;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -EINVAL;
		h = strndup(s + 1, (size_t)(end - s - 1));
	} else {
		colon = strchr(s, ':');
		if (colon && !strchr(colon + 1, ':')) {
			if (colon == s)
				return -EINVAL;
			port = colon + 1;
			h = strndup(s, (size_t)(colon - s));
		} else {
			h = strdup(s); /* no colon, or an IPv6 address */
		}
	}
	if (!h)
		return -ENOMEM;
	if (port) {
		if (!*port) {
			free(h);
			return -EINVAL;
		}
		p = strdup(port);
		if (!p) {
			free(h);
			return -ENOMEM;
		}
	}
	*ret_host = h;
	*ret_port = p;
	return 0;
}

/* ------------------------------------------------------------------ options */

static const struct option longopts[] = {
	{ "db", required_argument, NULL, O_DB },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "json", no_argument, NULL, O_JSON },
	{ "csv", no_argument, NULL, O_CSV },
	{ "no-header", no_argument, NULL, O_NO_HEADER },
	{ "job", required_argument, NULL, O_JOB },
	{ "host", required_argument, NULL, O_HOST },
	{ "since", required_argument, NULL, O_SINCE },
	{ "limit", required_argument, NULL, O_LIMIT },
	{ "all", no_argument, NULL, O_ALL },
	{ "socket", required_argument, NULL, O_SOCKET },
	{ "help", no_argument, NULL, O_HELP },
	{},
};

static void verb_help(const struct pw_query_verb_info *vi, FILE *f)
{
	fprintf(f,
		"Usage: portwatch %s [OPTION]...%s\n"
		"%s"
		"\n"
		"      --db PATH        the database (default: the config file's \"database\")\n"
		"      --config FILE    portwatchd's config file (default %s)\n"
		"  -j, --json           one JSON document\n"
		"      --csv            CSV (RFC 4180) with a header line\n"
		"      --no-header      no header lines in text and CSV output\n"
		"  -h, --help           show this help\n"
		"\n"
		"Times are UTC. Exit status: 0 ok, 1 error, 2 usage. See portwatch(1).\n",
		vi->name, vi->usage, vi->help, PW_DEFAULT_CONFIG);
}

static int usage_error(struct q *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(struct q *q, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(q->env->err, "portwatch %s: ", q->vi->name);
		va_start(ap, fmt);
		vfprintf(q->env->err, fmt, ap);
		va_end(ap);
		fputc('\n', q->env->err);
	}
	fprintf(q->env->err, "Try 'portwatch %s --help'.\n", q->vi->name);
	return PW_CLI_EXIT_USAGE;
}

static const char *option_name(int c)
{
	for (const struct option *o = longopts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

static void set_format(struct q *q, enum pw_cli_format f, bool *conflict)
{
	if (q->o.format_set && q->o.format != f)
		*conflict = true;
	q->o.format = f;
	q->o.format_set = true;
}

/* One option of the verb's: -1 to go on, else the exit status. */
static int apply_option(struct q *q, int c, bool *conflict)
{
	switch (c) {
	case O_DB:
		q->o.db = optarg;
		break;
	case O_SOCKET:
		q->o.socket = optarg;
		break;
	case O_CONFIG:
		q->o.config = optarg;
		break;
	case O_JSON:
		set_format(q, PW_CLI_JSON, conflict);
		break;
	case O_CSV:
		set_format(q, PW_CLI_CSV, conflict);
		break;
	case O_NO_HEADER:
		q->o.no_header = true;
		break;
	case O_JOB:
		q->o.job = optarg;
		break;
	case O_HOST:
		q->o.host = optarg;
		break;
	case O_SINCE:
		q->o.since = optarg;
		break;
	case O_LIMIT:
		if (pw_parse_u64(optarg, 0, INT64_MAX, &q->o.limit) < 0)
			return usage_error(q, "--limit: \"%s\" is not a number", optarg);
		break;
	case O_ALL:
		q->o.all = true;
		break;
	case O_HELP:
		verb_help(q->vi, q->env->out);
		return PW_CLI_EXIT_OK;
	}
	return -1;
}

/* What the options say together, and the arguments: -1 to go on, else the exit status. */
static int check_options(struct q *q, int argc, char **argv, bool conflict)
{
	const struct pw_query_verb_info *vi = q->vi;

	if (conflict)
		return usage_error(q, "--json and --csv exclude each other");
	if (q->o.db && !*q->o.db)
		return usage_error(q, "--db: empty path");
	if (q->o.config && !*q->o.config)
		return usage_error(q, "--config: empty path");
	if (q->o.job && !*q->o.job)
		return usage_error(q, "--job: empty name");
	if (argc - optind < vi->min_args)
		return usage_error(q, "missing argument: portwatch %s%s", vi->name, vi->usage);
	if (argc - optind > vi->max_args)
		return usage_error(q, "unexpected argument \"%s\"", argv[optind + vi->max_args]);
	if (argc - optind == 1)
		q->o.arg = argv[optind];
	if (q->o.since) {
		int r = pw_query_parse_since(q->o.since, q->env->now_usec, &q->since_usec);

		if (r == -ERANGE)
			return usage_error(q, "--since: \"%s\" is not a valid date", q->o.since);
		if (r < 0)
			return usage_error(
				q,
				"--since: \"%s\" is neither a duration (1h, 2d) nor a UTC time "
				"(2026-11-20, \"2026-11-20 13:00\")",
				q->o.since);
	}
	return -1;
}

int pw_query_parse_options(struct q *q, int argc, char **argv)
{
	bool conflict = false;
	int c, ret;

	q->o.limit = q->vi->default_limit;
	/* glibc: 0 re-initialises getopt, so each call parses afresh */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hj", longopts, NULL)) != -1) {
		if (c == 'h')
			c = O_HELP;
		if (c == 'j')
			c = O_JSON;
		if (c == '?' && optopt)
			return usage_error(q, "unknown option \"-%c\"", optopt);
		if (c == '?')
			return usage_error(q, "unknown option \"%s\"", argv[optind - 1]);
		if (c == ':')
			return usage_error(q, "option \"%s\" needs a value", argv[optind - 1]);
		if (c < O_DB || c > O_HELP || !(q->vi->opts & OPT(c)))
			return usage_error(q, "--%s does not apply to this verb", option_name(c));
		ret = apply_option(q, c, &conflict);
		if (ret >= 0)
			return ret;
	}
	return check_options(q, argc, argv, conflict);
}
/* An address spec (what pw_target_parse() takes, or a host name) into q->addrs. */
static int parse_addr_filter(struct q *q, const char *spec)
{
	enum pw_target_kind kind;
	const char *why = NULL;
	int gai = 0, r;
	char *name;

	r = pw_target_parse(spec, &q->addrs, &kind, &why);
	if (r < 0) {
		if (r == -ENOMEM)
			return r;
		return usage_error(q, "\"%s\" is not an address: %s", spec, why ?: strerror(-r)),
		       -EINVAL;
	}
	switch (kind) {
	case PW_TARGET_ADDRESSES:
		return 0;
	case PW_TARGET_HOSTNAME:
		name = (char *)spec;
		r = pw_targets_resolve(&name, 1, NULL, &q->addrs, &gai);
		if (r < 0)
			return r;
		if (r > 0 || pw_iset_count(&q->addrs) == 0) {
			pw_query_errorf(q, "cannot resolve \"%s\": %s", spec,
					gai ? gai_strerror(gai) : "no address");
			return -ENOENT;
		}
		return 0;
	}
	return -EINVAL;
}

static int parse_port_filter(struct q *q, const char *spec)
{
	const char *why = NULL;
	int r = pw_ports_parse(spec, &q->ports, &why);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return usage_error(q, "\"%s\" is not a port: %s", spec, why ?: strerror(-r)),
		       -EINVAL;
	return 0;
}

/* Returns -1 to go on, else the exit status. */
int pw_query_parse_filters(struct q *q)
{
	_cleanup_free_ char *host = NULL, *port = NULL;
	const char *spec = q->vi->filter == PW_QUERY_FILTER_HOST ? q->o.host : q->o.arg;
	int r;

	if (!spec)
		return -1;
	if (q->vi->filter == PW_QUERY_FILTER_HOST_PORT) {
		r = pw_query_split_host_port(spec, &host, &port);
		if (r == -ENOMEM)
			goto oom;
		if (r < 0)
			return usage_error(q,
					   "\"%s\" is not HOST[:PORT] (IPv6 with a port: [::1]:22)",
					   spec);
		spec = host;
		if (port) {
			r = parse_port_filter(q, port);
			if (r == -ENOMEM)
				goto oom;
			if (r < 0)
				return PW_CLI_EXIT_USAGE;
		}
	}
	r = parse_addr_filter(q, spec);
	if (r == -ENOMEM)
		goto oom;
	if (r == -EINVAL)
		return PW_CLI_EXIT_USAGE;
	if (r < 0)
		return PW_CLI_EXIT_FAILURE;
	return -1;
oom:
	pw_query_errorf(q, "out of memory");
	return PW_CLI_EXIT_FAILURE;
}

/* ------------------------------------------------------------------ before the verb */

/* Global options and whether they take a value. */
static int global_option(const char *arg)
{
	static const struct {
		const char *name;
		bool value;
	} g[] = {
		{ "--db", true },   { "--config", true },     { "--json", false },
		{ "--csv", false }, { "--no-header", false }, { "-j", false },
	};

	for (size_t i = 0; i < PW_ELEMENTSOF(g); i++) {
		size_t l = strlen(g[i].name);

		if (strncmp(arg, g[i].name, l) != 0)
			continue;
		if (arg[l] == '\0')
			return g[i].value ? 2 : 1;
		if (arg[l] == '=' && g[i].value)
			return 1;
	}
	return 0;
}

int pw_query_hoist_verb(int argc, char **argv)
{
	int i = 1, n;
	char *verb;

	while (i < argc && argv[i][0] == '-') {
		n = global_option(argv[i]);
		if (n == 0 || i + n > argc)
			return -EINVAL;
		i += n;
	}
	if (i >= argc || i == 1)
		return i == 1 ? 0 : -EINVAL;
	/* rotate argv[1..i] right by one: the verb first, its options after */
	verb = argv[i];
	memmove(&argv[2], &argv[1], (size_t)(i - 1) * sizeof(*argv));
	argv[1] = verb;
	return 0;
}
