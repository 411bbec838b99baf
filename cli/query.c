/* SPDX-License-Identifier: MIT */
/*
 * portwatch status, open, changes, history, runs: the store's typed rows,
 * read through a read-only connection, one typed table per verb (output.h
 * prints it as text, CSV or JSON).
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
#include <unistd.h>
#include <sys/stat.h>

#include "addr.h"
#include "json.h"
#include "output.h"
#include "control.h"
#include "iset.h"
#include "ports.h"
#include "config.h"
#include "query.h"
#include "services.h"
#include "store.h"
#include "targets.h"
#include "util.h"

#ifndef PW_DEFAULT_CONFIG
#define PW_DEFAULT_CONFIG "/etc/portwatch/portwatchd.conf"
#endif

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

enum {
	O_DB = 0x100,
	O_CONFIG,
	O_JSON,
	O_CSV,
	O_NO_HEADER,
	O_JOB,
	O_HOST,
	O_SINCE,
	O_LIMIT,
	O_ALL,
	O_SOCKET,
	O_HELP,
};

#define OPT(o) (1u << ((o)-O_DB))
#define OPTS_GLOBAL \
	(OPT(O_DB) | OPT(O_CONFIG) | OPT(O_JSON) | OPT(O_CSV) | OPT(O_NO_HEADER) | OPT(O_HELP))

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

struct verb_info {
	const char *name;
	unsigned opts;
	int min_args, max_args;
	const char *usage;
	const char *help;
};

static const struct verb_info verb_info[_PW_QUERY_VERB_MAX] = {
	[PW_QUERY_STATUS] = {
		"status", OPTS_GLOBAL | OPT(O_SOCKET), 0, 0, " [--socket PATH]",
		"Show the daemon's state and, per job: schedule, last run and its result,\n"
		"when the next run is due, and how many ports are open.\n"
		"\n"
		"      --socket PATH    the daemon's control socket (default: the config\n"
		"                       file's \"control_socket\")\n",
	},
	[PW_QUERY_OPEN] = {
		"open", OPTS_GLOBAL | OPT(O_JOB), 0, 1, " [--job JOB] [HOST]",
		"List the ports open now, with their service names and since when.\n"
		"HOST is an address, CIDR prefix, range or host name.\n"
		"\n"
		"      --job JOB        only this job's ports\n",
	},
	[PW_QUERY_CHANGES] = {
		"changes", OPTS_GLOBAL | OPT(O_JOB) | OPT(O_HOST) | OPT(O_SINCE) | OPT(O_LIMIT) | OPT(O_ALL),
		0, 0, " [--since WHEN] [--job JOB] [--host HOST]",
		"List state changes, newest first.\n"
		"\n"
		"      --since WHEN     only changes since WHEN: a duration back from now\n"
		"                       (1h, 2d, 1h30m) or a UTC date and time (2026-11-20,\n"
		"                       \"2026-11-20 13:00\", 2026-11-20T13:00:00Z)\n"
		"      --job JOB        only this job's changes\n"
		"      --host HOST      only changes of this address (CIDR, range, name)\n"
		"      --limit N        at most N changes (default all)\n"
		"      --all            also baseline records and unconfirmed flaps\n",
	},
	[PW_QUERY_HISTORY] = {
		"history", OPTS_GLOBAL | OPT(O_JOB), 1, 1, " [--job JOB] HOST[:PORT]",
		"Show the timeline of one address, or of one port of it, oldest first:\n"
		"every recorded event, baseline and flaps included.\n"
		"HOST[:PORT] is 127.0.0.1, 127.0.0.1:22, [::1]:22, ::1, localhost:ssh;\n"
		"HOST may be a CIDR prefix or range, PORT a range (8000-8100).\n"
		"\n"
		"      --job JOB        only this job's events\n",
	},
	[PW_QUERY_RUNS] = {
		"runs", OPTS_GLOBAL | OPT(O_JOB) | OPT(O_LIMIT), 0, 0, " [--job JOB] [--limit N]",
		"List recent runs, newest first, with durations and counts.\n"
		"\n"
		"      --job JOB        only this job's runs\n"
		"      --limit N        at most N runs (default 20, 0 = all)\n",
	},
};

static void verb_help(enum pw_query_verb v, FILE *f)
{
	const struct verb_info *vi = &verb_info[v];

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

struct opts {
	const char *db, *config, *job, *host, *since, *socket;
	enum pw_cli_format format;
	bool no_header, all, format_set;
	uint64_t limit;
	const char *arg; /* HOST or HOST[:PORT] */
};

struct q {
	enum pw_query_verb verb;
	const struct pw_query_env *env;
	struct opts o;
	struct pw_config *config; /* NULL: none read */
	const char *config_path;
	char *config_note; /* why there is no config, for status */
	const char *db_path;
	struct pw_store *store;
	bool row_failed; /* a row callback failed and said so */
	/* address and port filters; an empty set means no filter */
	struct pw_iset addrs, ports;
	uint64_t since_usec;
	struct pw_services services; /* read at the first port name shown */
	bool services_loaded;
};

static void errorf(struct q *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errorf(struct q *q, const char *fmt, ...)
{
	va_list ap;

	fprintf(q->env->err, "portwatch %s: ", verb_info[q->verb].name);
	va_start(ap, fmt);
	vfprintf(q->env->err, fmt, ap);
	va_end(ap);
	fputc('\n', q->env->err);
}

static int usage_error(struct q *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(struct q *q, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(q->env->err, "portwatch %s: ", verb_info[q->verb].name);
		va_start(ap, fmt);
		vfprintf(q->env->err, fmt, ap);
		va_end(ap);
		fputc('\n', q->env->err);
	}
	fprintf(q->env->err, "Try 'portwatch %s --help'.\n", verb_info[q->verb].name);
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

/* Returns -1 to go on, else the exit status. */
static int parse_options(struct q *q, int argc, char **argv)
{
	const struct verb_info *vi = &verb_info[q->verb];
	bool conflict = false;
	int c;

	q->o.limit = q->verb == PW_QUERY_RUNS ? 20 : 0;
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
		if (c < O_DB || c > O_HELP || !(vi->opts & OPT(c)))
			return usage_error(q, "--%s does not apply to this verb", option_name(c));
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
			set_format(q, PW_CLI_JSON, &conflict);
			break;
		case O_CSV:
			set_format(q, PW_CLI_CSV, &conflict);
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
			verb_help(q->verb, q->env->out);
			return PW_CLI_EXIT_OK;
		}
	}
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
			errorf(q, "cannot resolve \"%s\": %s", spec,
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
static int parse_filters(struct q *q)
{
	_cleanup_free_ char *host = NULL, *port = NULL;
	const char *spec = q->verb == PW_QUERY_CHANGES ? q->o.host : q->o.arg;
	int r;

	if (!spec)
		return -1;
	if (q->verb == PW_QUERY_HISTORY) {
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
	errorf(q, "out of memory");
	return PW_CLI_EXIT_FAILURE;
}

/* ------------------------------------------------------------------ opening */

/* Readers never wait for portwatchd (WAL): someone else holds a lock. */
#define BUSY_HINT " (another process holds an exclusive lock; gave up after 5 s)"

static void print_diag(struct q *q, const struct pw_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(q->env->err, "%s\n", d->msgs[i]);
}

/*
 * The config names the database and, for status, the schedules. Without
 * --db and --config, a missing default file means the built-in defaults.
 */
static int load_config(struct q *q)
{
	struct pw_diag diag = PW_DIAG_INIT;
	bool explicit = q->o.config != NULL;
	bool need = !q->o.db || explicit;
	int r;

	q->config_path = q->o.config ?: q->env->default_config;
	if (!need && q->verb != PW_QUERY_STATUS)
		return 0;
	if (!explicit && access(q->config_path, F_OK) < 0 && errno == ENOENT) {
		if (asprintf(&q->config_note, "%s: not found", q->config_path) < 0)
			q->config_note = NULL;
		return 0;
	}
	r = pw_config_load(q->config_path, &q->config, &diag);
	if (r >= 0) {
		pw_diag_done(&diag);
		return 0;
	}
	if (!need) {
		/* status --db: the schedules are a bonus, the database is named */
		if (asprintf(&q->config_note, "%s: %s", q->config_path,
			     diag.n ? diag.msgs[0] : strerror(-r)) < 0)
			q->config_note = NULL;
		pw_diag_done(&diag);
		return 0;
	}
	print_diag(q, &diag);
	if (diag.n == 0)
		errorf(q, "%s: cannot load: %s", q->config_path, strerror(-r));
	errorf(q, "cannot read the configuration %s%s", q->config_path,
	       explicit ? "" : " for the database path: name the database with --db PATH");
	pw_diag_done(&diag);
	return r;
}

/*
 * SQLite reads a WAL database only through its -shm file, which it must be
 * able to create when the daemon is not running (sqlite.org/wal.html,
 * "Read-Only Databases"): a user who cannot write the directory gets
 * "attempt to write a readonly database" for a read.
 */
static const char *readonly_hint(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;

	if (!dir)
		return "";
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (access(slash ? dir : ".", W_OK) == 0)
		return "";
	return " (reading it needs write access to its directory while portwatchd is stopped, "
	       "for SQLite's -shm file: run as root or as the daemon's user)";
}

static int open_store(struct q *q)
{
	_cleanup_free_ char *msg = NULL;
	struct stat st;
	int r;

	q->db_path = q->o.db ?: q->config ? q->config->database : PW_DEFAULT_DATABASE;
	/* SQLite reports a missing file as "unable to open": say what it is */
	if (stat(q->db_path, &st) < 0 && errno == ENOENT) {
		errorf(q,
		       "%s: no such database (portwatchd creates it when it first starts; "
		       "--db PATH names another)",
		       q->db_path);
		return -ENOENT;
	}
	if (S_ISDIR(st.st_mode)) {
		errorf(q, "%s: is a directory, not a database", q->db_path);
		return -EISDIR;
	}
	r = pw_store_open(q->db_path, PW_STORE_READONLY, &q->store, &msg);
	if (r < 0) {
		if (msg && strncmp(msg, q->db_path, strlen(q->db_path)) == 0)
			errorf(q, "%s%s", msg,
			       r == -EBUSY   ? BUSY_HINT
			       : r == -EROFS ? readonly_hint(q->db_path)
					     : "");
		else
			errorf(q, "%s: %s", q->db_path, msg ?: strerror(-r));
		return r;
	}
	return 0;
}

/* ------------------------------------------------------------------ reading */

/* A failed read: the store's error, unless a row callback already said why. */
static int read_error(struct q *q, int r)
{
	if (r < 0 && !q->row_failed)
		errorf(q, "%s%s", pw_store_last_error(q->store), r == -EBUSY ? BUSY_HINT : "");
	return r;
}

/* The hull of the filters; the exact test is row_wanted(). */
static struct pw_store_read_filter read_filter(const struct q *q)
{
	struct pw_store_read_filter f = {
		.job = q->o.job,
		.addr_hi = PW_U128_MAX,
		.port_hi = 65535,
		.since_usec = q->since_usec,
		.all = q->o.all,
	};

	if (q->addrs.n) {
		f.addr_lo = q->addrs.ranges[0].lo;
		f.addr_hi = q->addrs.ranges[q->addrs.n - 1].hi;
	}
	if (q->ports.n) {
		f.port_lo = (uint16_t)q->ports.ranges[0].lo;
		f.port_hi = (uint16_t)q->ports.ranges[q->ports.n - 1].hi;
	}
	return f;
}

static bool row_wanted(const struct q *q, pw_u128 addr, unsigned port)
{
	return (q->addrs.n == 0 || pw_iset_contains(&q->addrs, addr)) &&
	       (q->ports.n == 0 || pw_iset_contains(&q->ports, port));
}

/* The address as the store keyed it; the text column if the key is odd. */
static const char *row_address(bool valid, pw_u128 addr, const char *text,
			       char buf[static PW_ADDR_STRLEN])
{
	return valid ? pw_addr_format(addr, buf) : text;
}

static const char *service_name(struct q *q, uint16_t port)
{
	/* Names are decoration: without memory for the table, the curated
	 * ones still show. */
	if (!q->services_loaded)
		(void)pw_services_load(&q->services, NULL);
	q->services_loaded = true;
	return pw_services_name(&q->services, port);
}

struct job_match {
	const char *want;
	char *best;
	size_t best_d;
};

static int job_name(const char *name, void *userdata)
{
	struct job_match *m = userdata;
	size_t d;

	if (strcmp(name, m->want) == 0)
		return 1;
	d = pw_edit_distance(name, m->want);
	if (d < m->best_d) {
		m->best_d = d;
		free(m->best);
		m->best = strdup(name);
	}
	return 0;
}

/* Unknown job names are errors, with a suggestion; configured ones are fine. */
static int check_job(struct q *q)
{
	struct job_match m = { .want = q->o.job, .best_d = SIZE_MAX };
	int r;

	if (!q->o.job || (q->config && pw_config_find_job(q->config, q->o.job)))
		return 0;
	r = pw_store_read_jobs(q->store, job_name, &m);
	if (r != 0) {
		free(m.best);
		return r > 0 ? 0 : read_error(q, r);
	}
	if (m.best && m.best_d <= 2)
		errorf(q, "%s: no job \"%s\"; did you mean \"%s\"?", q->db_path, q->o.job, m.best);
	else
		errorf(q, "%s: no job \"%s\"", q->db_path, q->o.job);
	free(m.best);
	return -ENOENT;
}

/* ------------------------------------------------------------------ output */

/* How long ago, in whole seconds: an age needs no microseconds. */
static int64_t age(const struct q *q, int64_t then_usec)
{
	int64_t now = (int64_t)q->env->now_usec;

	return now > then_usec ? (now - then_usec) / (int64_t)USEC_PER_SEC * (int64_t)USEC_PER_SEC
			       : 0;
}

static int add_row(struct q *q, struct pw_cli_table *t)
{
	if (pw_cli_table_add_row(t) < 0) {
		errorf(q, "out of memory");
		q->row_failed = true;
		return -ENOMEM;
	}
	return 0;
}

static int set_text(struct q *q, struct pw_cli_table *t, size_t col, const char *s)
{
	if (pw_cli_table_set_text(t, col, s) < 0) {
		errorf(q, "out of memory");
		q->row_failed = true;
		return -ENOMEM;
	}
	return 0;
}

/*
 * A verb's rows, streamed so that memory does not grow with them: CSV and
 * JSON in one pass; text in two over the same snapshot, the first only
 * measuring the columns.
 */
static int stream_rows(struct q *q, struct pw_cli_table *t,
		       int (*fill)(struct q *q, struct pw_cli_table *t), const char *none)
{
	FILE *f = q->env->out;
	int r;

	if (q->o.format == PW_CLI_TEXT) {
		pw_cli_table_stream(t, PW_CLI_MEASURE, PW_CLI_TEXT, q->o.no_header, 0, f);
		r = fill(q, t);
		if (r < 0)
			return r;
		if (pw_cli_table_end(t) == 0) {
			if (!q->o.no_header)
				fprintf(f, "%s\n", none);
			return 0;
		}
	}
	pw_cli_table_stream(t, PW_CLI_EMIT, q->o.format, q->o.no_header, 2, f);
	r = fill(q, t);
	if (r < 0)
		return r;
	pw_cli_table_end(t);
	return 0;
}

/* {"key": [rows]} for JSON; just the rows otherwise. */
static int verb_rows(struct q *q, struct pw_cli_table *t,
		     int (*fill)(struct q *q, struct pw_cli_table *t), const char *key,
		     const char *none)
{
	int r;

	if (q->o.format == PW_CLI_JSON) {
		fprintf(q->env->out, "{\n  ");
		pw_json_string(q->env->out, key);
		fprintf(q->env->out, ": ");
	}
	r = stream_rows(q, t, fill, none);
	if (r == 0 && q->o.format == PW_CLI_JSON)
		fprintf(q->env->out, "\n}\n");
	return r;
}

/* ------------------------------------------------------------------ open */

enum { OP_JOB, OP_ADDRESS, OP_PORT, OP_SERVICE, OP_SINCE, OP_FOR, OP_LAST_SEEN, _OP_MAX };

static const struct pw_cli_column open_cols[_OP_MAX] = {
	[OP_JOB] = { "job", "JOB", PW_CLI_COL_TEXT },
	[OP_ADDRESS] = { "address", "ADDRESS", PW_CLI_COL_TEXT },
	[OP_PORT] = { "port", "PORT", PW_CLI_COL_INT },
	[OP_SERVICE] = { "service", "SERVICE", PW_CLI_COL_TEXT },
	[OP_SINCE] = { "open_since", "OPEN SINCE", PW_CLI_COL_TIME },
	[OP_FOR] = { "open_for_s", "FOR", PW_CLI_COL_SPAN },
	[OP_LAST_SEEN] = { "last_seen", "LAST SEEN", PW_CLI_COL_TIME },
};

/* What a row callback writes to. */
struct rows {
	struct q *q;
	struct pw_cli_table *t;
	uint64_t n; /* rows shown */
};

static int open_row(const struct pw_store_open_row *row, void *userdata)
{
	struct rows *rs = userdata;
	struct q *q = rs->q;
	struct pw_cli_table *t = rs->t;
	char abuf[PW_ADDR_STRLEN];
	const char *a = row_address(row->addr_valid, row->addr, row->address, abuf);
	int r;

	if (!row_wanted(q, row->addr, row->port))
		return 0;
	r = add_row(q, t);
	if (r == 0)
		r = set_text(q, t, OP_JOB, row->job);
	if (r == 0)
		r = set_text(q, t, OP_ADDRESS, a);
	if (r == 0)
		r = set_text(q, t, OP_SERVICE, service_name(q, row->port));
	if (r < 0)
		return r;
	pw_cli_table_set_int(t, OP_PORT, row->port);
	pw_cli_table_set_int(t, OP_SINCE, row->since_usec);
	pw_cli_table_set_int(t, OP_FOR, age(q, row->since_usec));
	pw_cli_table_set_int(t, OP_LAST_SEEN, row->last_seen_usec);
	return 0;
}

static int fill_open(struct q *q, struct pw_cli_table *t)
{
	struct pw_store_read_filter f = read_filter(q);
	struct rows rs = { q, t, 0 };

	return read_error(q, pw_store_read_open(q->store, &f, open_row, &rs));
}

static int verb_open(struct q *q, struct pw_cli_table *t)
{
	return verb_rows(q, t, fill_open, "open", "No open ports.");
}

/* ------------------------------------------------------------------ changes, history */

enum {
	EV_ID,
	EV_TIME,
	EV_JOB,
	EV_ADDRESS,
	EV_PORT,
	EV_SERVICE,
	EV_EVENT,
	EV_OLD,
	EV_NEW,
	EV_POLICY,
	EV_ACKED,
	EV_RUN,
	_EV_MAX
};

static const struct pw_cli_column event_cols[_EV_MAX] = {
	[EV_ID] = { "id", "ID", PW_CLI_COL_INT },
	[EV_TIME] = { "time", "TIME", PW_CLI_COL_TIME },
	[EV_JOB] = { "job", "JOB", PW_CLI_COL_TEXT },
	[EV_ADDRESS] = { "address", "ADDRESS", PW_CLI_COL_TEXT },
	[EV_PORT] = { "port", "PORT", PW_CLI_COL_INT },
	[EV_SERVICE] = { "service", "SERVICE", PW_CLI_COL_TEXT },
	[EV_EVENT] = { "event", "EVENT", PW_CLI_COL_TEXT },
	[EV_OLD] = { "old_state", "OLD", PW_CLI_COL_TEXT },
	[EV_NEW] = { "new_state", "NEW", PW_CLI_COL_TEXT },
	[EV_POLICY] = { "policy", "POLICY", PW_CLI_COL_TEXT },
	[EV_ACKED] = { "acked", "ACKED", PW_CLI_COL_TIME },
	[EV_RUN] = { "run", "RUN", PW_CLI_COL_INT },
};

static int event_row(const struct pw_store_event_row *row, void *userdata)
{
	struct rows *rs = userdata;
	struct q *q = rs->q;
	struct pw_cli_table *t = rs->t;
	char abuf[PW_ADDR_STRLEN];
	const char *a = row_address(row->addr_valid, row->addr, row->address, abuf);
	int r;

	if (!row_wanted(q, row->addr, row->port))
		return 0;
	r = add_row(q, t);
	if (r == 0)
		r = set_text(q, t, EV_JOB, row->job);
	if (r == 0)
		r = set_text(q, t, EV_ADDRESS, a);
	if (r == 0)
		r = set_text(q, t, EV_SERVICE, service_name(q, row->port));
	if (r == 0)
		r = set_text(q, t, EV_EVENT, row->kind);
	if (r == 0)
		r = set_text(q, t, EV_OLD, row->old_state);
	if (r == 0)
		r = set_text(q, t, EV_NEW, row->new_state);
	if (r == 0 && row->policy)
		r = set_text(q, t, EV_POLICY, row->policy);
	if (r < 0)
		return r;
	if (row->has_id)
		pw_cli_table_set_int(t, EV_ID, row->id);
	pw_cli_table_set_int(t, EV_TIME, row->time_usec);
	pw_cli_table_set_int(t, EV_PORT, row->port);
	if (row->has_run)
		pw_cli_table_set_int(t, EV_RUN, row->run_id);
	if (row->acked)
		pw_cli_table_set_int(t, EV_ACKED, row->acked_usec);
	/* the limit counts rows shown, after the exact address test */
	return q->o.limit && ++rs->n == q->o.limit ? 1 : 0;
}

static int fill_changes(struct q *q, struct pw_cli_table *t)
{
	struct pw_store_read_filter f = read_filter(q);
	struct rows rs = { q, t, 0 };
	int r = pw_store_read_changes(q->store, &f, event_row, &rs);

	return r > 0 ? 0 : read_error(q, r);
}

static int verb_changes(struct q *q, struct pw_cli_table *t)
{
	char buf[PW_CLI_TIME_STRLEN];
	FILE *f = q->env->out;
	int r;

	if (q->o.format != PW_CLI_JSON)
		return stream_rows(q, t, fill_changes, "No changes.");
	fprintf(f, "{\n  \"since\": ");
	if (q->o.since)
		fprintf(f, "\"%s\"", pw_cli_format_time(q->since_usec, true, buf));
	else
		fprintf(f, "null");
	fprintf(f, ",\n  \"changes\": ");
	r = stream_rows(q, t, fill_changes, NULL);
	if (r == 0)
		fprintf(f, "\n}\n");
	return r;
}

static int fill_history(struct q *q, struct pw_cli_table *t)
{
	struct pw_store_read_filter f = read_filter(q);
	struct rows rs = { q, t, 0 };
	int r = pw_store_read_history(q->store, &f, event_row, &rs);

	return r > 0 ? 0 : read_error(q, r);
}

static int verb_history(struct q *q, struct pw_cli_table *t)
{
	FILE *f = q->env->out;
	int r;

	if (q->o.format != PW_CLI_JSON)
		return stream_rows(q, t, fill_history, "No events.");
	fprintf(f, "{\n  \"host\": ");
	pw_json_string(f, q->o.arg);
	fprintf(f, ",\n  \"events\": ");
	r = stream_rows(q, t, fill_history, NULL);
	if (r == 0)
		fprintf(f, "\n}\n");
	return r;
}

/* ------------------------------------------------------------------ runs */

enum {
	RU_ID,
	RU_JOB,
	RU_STATUS,
	RU_STARTED,
	RU_DURATION,
	RU_PROBES,
	RU_OPEN,
	RU_CLOSED,
	RU_FILTERED,
	RU_UNREACHABLE,
	RU_CHANGES,
	RU_FLAPS,
	RU_BASELINE,
	_RU_MAX
};

static const struct pw_cli_column run_cols[_RU_MAX] = {
	[RU_ID] = { "run", "RUN", PW_CLI_COL_INT },
	[RU_JOB] = { "job", "JOB", PW_CLI_COL_TEXT },
	[RU_STATUS] = { "status", "STATUS", PW_CLI_COL_TEXT },
	[RU_STARTED] = { "started", "STARTED", PW_CLI_COL_TIME },
	[RU_DURATION] = { "duration_s", "DURATION", PW_CLI_COL_SPAN },
	[RU_PROBES] = { "probes", "PROBES", PW_CLI_COL_INT },
	[RU_OPEN] = { "open", "OPEN", PW_CLI_COL_INT },
	[RU_CLOSED] = { "closed", "CLOSED", PW_CLI_COL_INT },
	[RU_FILTERED] = { "filtered", "FILTERED", PW_CLI_COL_INT },
	[RU_UNREACHABLE] = { "unreachable", "UNREACH", PW_CLI_COL_INT },
	[RU_CHANGES] = { "changes", "CHANGES", PW_CLI_COL_INT },
	[RU_FLAPS] = { "flaps", "FLAPS", PW_CLI_COL_INT },
	[RU_BASELINE] = { "baseline", "BASELINE", PW_CLI_COL_BOOL },
};

static int run_row(const struct pw_store_run_row *row, void *userdata)
{
	struct rows *rs = userdata;
	struct q *q = rs->q;
	struct pw_cli_table *t = rs->t;
	int r;

	r = add_row(q, t);
	if (r == 0)
		r = set_text(q, t, RU_JOB, row->job);
	if (r == 0)
		r = set_text(q, t, RU_STATUS, row->status);
	if (r < 0)
		return r;
	pw_cli_table_set_int(t, RU_BASELINE, row->baseline);
	pw_cli_table_set_int(t, RU_ID, row->run_id);
	pw_cli_table_set_int(t, RU_STARTED, row->started_usec);
	if (row->ended)
		pw_cli_table_set_int(t, RU_DURATION, row->ended_usec - row->started_usec);
	pw_cli_table_set_int(t, RU_PROBES, row->probes);
	pw_cli_table_set_int(t, RU_OPEN, row->open);
	pw_cli_table_set_int(t, RU_CLOSED, row->closed);
	pw_cli_table_set_int(t, RU_FILTERED, row->filtered);
	pw_cli_table_set_int(t, RU_UNREACHABLE, row->unreachable);
	pw_cli_table_set_int(t, RU_CHANGES, row->changes);
	pw_cli_table_set_int(t, RU_FLAPS, row->flaps);
	return 0;
}

static int fill_runs(struct q *q, struct pw_cli_table *t)
{
	struct pw_store_read_filter f = read_filter(q);
	struct rows rs = { q, t, 0 };

	return read_error(q, pw_store_read_runs(q->store, &f, q->o.limit, run_row, &rs));
}

static int verb_runs(struct q *q, struct pw_cli_table *t)
{
	return verb_rows(q, t, fill_runs, "runs", "No runs.");
}

/* ------------------------------------------------------------------ status */

enum {
	SU_JOB,
	SU_SCHEDULE,
	SU_RUN,
	SU_LAST_RUN,
	SU_AGO,
	SU_RESULT,
	SU_DURATION,
	SU_NEXT,
	SU_OPEN,
	SU_KNOWN,
	_SU_MAX
};

static const struct pw_cli_column status_cols[_SU_MAX] = {
	[SU_JOB] = { "job", "JOB", PW_CLI_COL_TEXT },
	[SU_SCHEDULE] = { "schedule", "SCHEDULE", PW_CLI_COL_TEXT },
	[SU_RUN] = { "last_run", "RUN", PW_CLI_COL_INT },
	[SU_LAST_RUN] = { "last_started", "LAST RUN", PW_CLI_COL_TIME },
	[SU_AGO] = { "last_started_ago_s", "AGO", PW_CLI_COL_SPAN },
	[SU_RESULT] = { "last_status", "RESULT", PW_CLI_COL_TEXT },
	[SU_DURATION] = { "last_duration_s", "DURATION", PW_CLI_COL_SPAN },
	[SU_NEXT] = { "next_due", "NEXT DUE", PW_CLI_COL_TIME },
	[SU_OPEN] = { "open", "OPEN", PW_CLI_COL_INT },
	[SU_KNOWN] = { "ports_known", "KNOWN", PW_CLI_COL_INT },
};

enum daemon_state {
	DAEMON_UNKNOWN,
	DAEMON_RUNNING,
	DAEMON_STOPPED,
};

static const char *const daemon_state_names[] = {
	[DAEMON_UNKNOWN] = "unknown",
	[DAEMON_RUNNING] = "running",
	[DAEMON_STOPPED] = "stopped",
};

/* What the daemon's control socket says (control.h, request "status"). */
struct progress {
	char *job;
	uint64_t run, done, total;
	bool resolving; /* no probe yet: the job's host names are being looked up */
};

struct daemon_info {
	enum daemon_state state;
	const char *socket;
	char *why; /* unknown: what went wrong */
	uint64_t pid;
	struct progress *runs; /* runs in progress */
	size_t n_runs;
};

/* "ok\nrunning JOB RUN DONE TOTAL\n...pid PID\n"; lines it does not know are skipped. */
static int parse_status_reply(struct daemon_info *d, char *reply)
{
	char *save = NULL, *line;

	line = strtok_r(reply, "\n", &save);
	if (!line || strcmp(line, "ok") != 0) {
		d->why = strdup(line ? line : "empty reply");
		return -EBADMSG;
	}
	while ((line = strtok_r(NULL, "\n", &save))) {
		struct progress p, *a;
		char *w[6], *s2 = NULL;
		int n = 0;

		for (char *t = strtok_r(line, " ", &s2); t && n < 6; t = strtok_r(NULL, " ", &s2))
			w[n++] = t;
		if (n == 2 && strcmp(w[0], "pid") == 0) {
			(void)pw_parse_u64(w[1], 1, INT32_MAX, &d->pid);
			continue;
		}
		if (n < 5 || strcmp(w[0], "running") != 0 ||
		    pw_parse_u64(w[2], 1, INT64_MAX, &p.run) < 0 ||
		    pw_parse_u64(w[3], 0, INT64_MAX, &p.done) < 0 ||
		    pw_parse_u64(w[4], 0, INT64_MAX, &p.total) < 0)
			continue;
		a = reallocarray(d->runs, d->n_runs + 1, sizeof(*a));
		if (!a)
			return -ENOMEM;
		d->runs = a;
		p.resolving = n == 6 && strcmp(w[5], "resolving") == 0;
		p.job = strdup(w[1]);
		if (!p.job)
			return -ENOMEM;
		d->runs[d->n_runs++] = p;
	}
	return 0;
}

/*
 * The daemon answers on its control socket while it runs: an answer means
 * running; no socket file, or one nobody listens on, means stopped.
 * Anything else (EACCES for a user who may not ask, a timeout) is unknown.
 */
static int probe_daemon(struct q *q, struct daemon_info *d)
{
	_cleanup_free_ char *reply = NULL;
	int r;

	d->socket = q->o.socket
			    ?: q->config ? q->config->control_socket
					 : PW_DEFAULT_CONTROL_SOCKET;
	r = pw_control_request(d->socket, "status", 2 * USEC_PER_SEC, &reply);
	switch (r) {
	case 0:
		r = parse_status_reply(d, reply);
		if (r == -ENOMEM)
			return r;
		d->state = r == 0 ? DAEMON_RUNNING : DAEMON_UNKNOWN;
		return 0;
	case -ENOENT:
	case -ECONNREFUSED:
		d->state = DAEMON_STOPPED;
		return 0;
	case -ENOMEM:
		return r;
	}
	d->state = DAEMON_UNKNOWN;
	if (asprintf(&d->why, "%s: %s", d->socket,
		     r == -EACCES || r == -EPERM
			     ? "permission denied (root or the daemon's user may ask)"
			     : strerror(-r)) < 0)
		d->why = NULL;
	return 0;
}

static void daemon_info_done(struct daemon_info *d)
{
	free(d->why);
	for (size_t i = 0; i < d->n_runs; i++)
		free(d->runs[i].job);
	free(d->runs);
}

static int status_row_config(struct q *q, struct pw_cli_table *t, const struct pw_job *j, bool ran,
			     int64_t started)
{
	char buf[64], iv[32];
	int64_t next;

	if (!q->config)
		return 0;
	if (!j)
		return set_text(q, t, SU_SCHEDULE, "not in config");
	if (!j->enabled)
		return set_text(q, t, SU_SCHEDULE, "disabled");
	snprintf(buf, sizeof(buf), "every %s",
		 pw_format_duration(iv, sizeof(iv), j->interval_usec));
	if (ran) {
		next = started + (int64_t)j->interval_usec;
		pw_cli_table_set_int(t, SU_NEXT, next);
	}
	return set_text(q, t, SU_SCHEDULE, buf);
}

struct status_rows {
	struct rows rs;
	bool *seen; /* per configured job: it has a row */
};

static int status_row(const struct pw_store_job_row *row, void *userdata)
{
	struct status_rows *sr = userdata;
	struct q *q = sr->rs.q;
	struct pw_cli_table *t = sr->rs.t;
	const struct pw_job *j = q->config && row->job ? pw_config_find_job(q->config, row->job)
						       : NULL;
	int r;

	if (j)
		sr->seen[j - q->config->jobs] = true;
	r = add_row(q, t);
	if (r == 0)
		r = set_text(q, t, SU_JOB, row->job);
	if (r == 0)
		r = set_text(q, t, SU_RESULT, row->last_status);
	if (r == 0)
		r = status_row_config(q, t, j, row->ran, row->started_usec);
	if (r < 0)
		return r;
	if (row->ran) {
		pw_cli_table_set_int(t, SU_RUN, row->last_run_id);
		pw_cli_table_set_int(t, SU_LAST_RUN, row->started_usec);
		pw_cli_table_set_int(t, SU_AGO, age(q, row->started_usec));
		if (row->ended)
			pw_cli_table_set_int(t, SU_DURATION, row->ended_usec - row->started_usec);
	}
	pw_cli_table_set_int(t, SU_OPEN, row->open_now);
	pw_cli_table_set_int(t, SU_KNOWN, row->ports_known);
	return 0;
}

/* Configured jobs that never ran. */
static int status_unseen_rows(struct q *q, struct pw_cli_table *t, const bool *seen)
{
	int r = 0;

	for (size_t i = 0; r == 0 && q->config && i < q->config->n_jobs; i++) {
		if (seen[i])
			continue;
		r = add_row(q, t);
		if (r == 0)
			r = set_text(q, t, SU_JOB, q->config->jobs[i].name);
		if (r == 0)
			r = status_row_config(q, t, &q->config->jobs[i], false, 0);
		if (r < 0)
			break;
		pw_cli_table_set_int(t, SU_OPEN, 0);
		pw_cli_table_set_int(t, SU_KNOWN, 0);
	}
	return r;
}

static int status_rows(struct q *q, struct pw_cli_table *t)
{
	_cleanup_free_ bool *seen = NULL;
	struct status_rows sr = { { q, t, 0 }, NULL };
	int r;

	if (q->config && q->config->n_jobs) {
		seen = calloc(q->config->n_jobs, sizeof(*seen));
		if (!seen) {
			errorf(q, "out of memory");
			return -ENOMEM;
		}
	}
	sr.seen = seen;
	r = read_error(q, pw_store_read_job_status(q->store, status_row, &sr));
	if (r == 0)
		r = status_unseen_rows(q, t, seen);
	return r;
}

static void json_opt_string(FILE *f, const char *s)
{
	if (s)
		pw_json_string(f, s);
	else
		fputs("null", f);
}

static void status_text(struct q *q, const struct daemon_info *d, FILE *f)
{
	fprintf(f, "Daemon:   %s", daemon_state_names[d->state]);
	if (d->state == DAEMON_RUNNING && d->pid)
		fprintf(f, " (pid %llu, control socket %s)", (unsigned long long)d->pid, d->socket);
	else if (d->why)
		fprintf(f, " (%s)", d->why);
	else
		fprintf(f, " (control socket %s)", d->socket);
	fputc('\n', f);
	for (size_t i = 0; i < d->n_runs; i++) {
		fprintf(f, "%s%s, run %llu: ", i ? "          " : "Running:  ", d->runs[i].job,
			(unsigned long long)d->runs[i].run);
		if (d->runs[i].resolving)
			fprintf(f, "resolving host names\n");
		else
			fprintf(f, "%llu of %llu probes done\n",
				(unsigned long long)d->runs[i].done,
				(unsigned long long)d->runs[i].total);
	}
	fprintf(f, "Database: %s\nConfig:   ", q->db_path);
	if (q->config)
		fprintf(f, "%s (%zu job%s)\n", q->config_path, q->config->n_jobs,
			q->config->n_jobs == 1 ? "" : "s");
	else
		fprintf(f, "%s\n", q->config_note ?: "not read");
	fputc('\n', f);
}

static int verb_status(struct q *q, struct pw_cli_table *t)
{
	struct daemon_info d = { .state = DAEMON_UNKNOWN };
	FILE *f = q->env->out;
	int r;

	r = probe_daemon(q, &d);
	if (r == 0)
		r = status_rows(q, t);
	if (r < 0) {
		if (r == -ENOMEM)
			errorf(q, "out of memory");
		daemon_info_done(&d);
		return r;
	}
	switch (q->o.format) {
	case PW_CLI_TEXT:
		if (!q->o.no_header)
			status_text(q, &d, f);
		if (pw_cli_table_rows(t) == 0 && !q->o.no_header)
			fprintf(f, "No jobs.\n");
		pw_cli_table_print_text(t, q->o.no_header, f);
		break;
	case PW_CLI_CSV:
		pw_cli_table_print_csv(t, q->o.no_header, f);
		break;
	case PW_CLI_JSON:
		fprintf(f, "{\n  \"daemon\": \"%s\",\n  \"daemon_pid\": ",
			daemon_state_names[d.state]);
		if (d.state == DAEMON_RUNNING && d.pid)
			fprintf(f, "%llu", (unsigned long long)d.pid);
		else
			fputs("null", f);
		fprintf(f, ",\n  \"control_socket\": ");
		pw_json_string(f, d.socket);
		fprintf(f, ",\n  \"in_progress\": [");
		for (size_t i = 0; i < d.n_runs; i++) {
			fprintf(f, "%s{\"job\": ", i ? ", " : "");
			pw_json_string(f, d.runs[i].job);
			fprintf(f,
				", \"run\": %llu, \"resolving\": %s, \"probes_done\": %llu, \"probes_total\": %llu}",
				(unsigned long long)d.runs[i].run,
				d.runs[i].resolving ? "true" : "false",
				(unsigned long long)d.runs[i].done,
				(unsigned long long)d.runs[i].total);
		}
		fputc(']', f);
		fprintf(f, ",\n  \"database\": ");
		pw_json_string(f, q->db_path);
		fprintf(f, ",\n  \"config\": ");
		json_opt_string(f, q->config ? q->config_path : NULL);
		fprintf(f, ",\n  \"jobs\": ");
		pw_cli_table_print_json(t, 2, f);
		fprintf(f, "\n}\n");
		break;
	}
	daemon_info_done(&d);
	return 0;
}

/* ------------------------------------------------------------------ main */

static const struct {
	int (*fn)(struct q *q, struct pw_cli_table *t);
	const struct pw_cli_column *cols;
	size_t n_cols;
} verbs[_PW_QUERY_VERB_MAX] = {
	[PW_QUERY_STATUS] = { verb_status, status_cols, _SU_MAX },
	[PW_QUERY_OPEN] = { verb_open, open_cols, _OP_MAX },
	[PW_QUERY_CHANGES] = { verb_changes, event_cols, _EV_MAX },
	[PW_QUERY_HISTORY] = { verb_history, event_cols, _EV_MAX },
	[PW_QUERY_RUNS] = { verb_runs, run_cols, _RU_MAX },
};

static int query(struct q *q)
{
	struct pw_cli_table *t = NULL;
	int r;

	if (load_config(q) < 0 || open_store(q) < 0)
		return PW_CLI_EXIT_FAILURE;
	/* one snapshot for every statement of the verb */
	r = read_error(q, pw_store_read_begin(q->store));
	if (r == 0)
		r = check_job(q);
	if (r == 0) {
		t = pw_cli_table_new(verbs[q->verb].cols, verbs[q->verb].n_cols);
		if (!t) {
			errorf(q, "out of memory");
			r = -ENOMEM;
		}
	}
	if (r == 0)
		r = verbs[q->verb].fn(q, t);
	pw_cli_table_free(t);
	pw_store_read_end(q->store);
	if (r < 0)
		return PW_CLI_EXIT_FAILURE;
	if (fflush(q->env->out) != 0 || ferror(q->env->out)) {
		errorf(q, "writing the output failed");
		return PW_CLI_EXIT_FAILURE;
	}
	return PW_CLI_EXIT_OK;
}

int pw_query_run(enum pw_query_verb verb, int argc, char **argv, const struct pw_query_env *env)
{
	struct q q = { .verb = verb, .env = env, .addrs = PW_ISET_INIT, .ports = PW_ISET_INIT };
	int ret;

	ret = parse_options(&q, argc, argv);
	if (ret < 0)
		ret = parse_filters(&q);
	if (ret < 0)
		ret = query(&q);
	pw_store_close(q.store);
	pw_config_free(q.config);
	free(q.config_note);
	pw_iset_done(&q.addrs);
	pw_iset_done(&q.ports);
	pw_services_done(&q.services);
	return ret;
}

static int run_default(enum pw_query_verb verb, int argc, char **argv)
{
	struct pw_query_env env = {
		.out = stdout,
		.err = stderr,
		.now_usec = pw_now_usec(CLOCK_REALTIME),
		.default_config = PW_DEFAULT_CONFIG,
	};

	return pw_query_run(verb, argc, argv, &env);
}

int pw_query_cmd_status(int argc, char **argv)
{
	return run_default(PW_QUERY_STATUS, argc, argv);
}

int pw_query_cmd_open(int argc, char **argv)
{
	return run_default(PW_QUERY_OPEN, argc, argv);
}

int pw_query_cmd_changes(int argc, char **argv)
{
	return run_default(PW_QUERY_CHANGES, argc, argv);
}

int pw_query_cmd_history(int argc, char **argv)
{
	return run_default(PW_QUERY_HISTORY, argc, argv);
}

int pw_query_cmd_runs(int argc, char **argv)
{
	return run_default(PW_QUERY_RUNS, argc, argv);
}

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
