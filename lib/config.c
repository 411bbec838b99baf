/* SPDX-License-Identifier: MIT */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>

#include "log.h"
#include "ports.h"
#include "config.h"
#include "targets.h"
#include "util.h"

/* ------------------------------------------------------------ diagnostics */

void pw_diag_done(struct pw_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	*d = (struct pw_diag)PW_DIAG_INIT;
}

static int diag_addv(struct pw_diag *d, const char *fmt, va_list ap)
{
	char *m;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		char **v = realloc(d->msgs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->msgs = v;
		d->cap = cap;
	}
	if (vasprintf(&m, fmt, ap) < 0)
		return -ENOMEM;
	d->msgs[d->n++] = m;
	return 0;
}

int pw_diag_add(struct pw_diag *d, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = diag_addv(d, fmt, ap);
	va_end(ap);
	return r;
}

/* ------------------------------------------------------------ alert events */

static const char *const alert_event_names[_PW_ALERT_EVENT_MAX] = {
	[PW_ALERT_OPENED] = "opened",
	[PW_ALERT_CLOSED] = "closed",
	[PW_ALERT_FILTERED] = "filtered",
	[PW_ALERT_UNEXPECTED_OPEN] = "unexpected-open",
	[PW_ALERT_EXPECTED_CLOSED] = "expected-closed",
	[PW_ALERT_FLAPPING] = "flapping",
	[PW_ALERT_ACCEPTS_EVERYTHING] = "accepts-everything",
	[PW_ALERT_RUN_FAILED] = "run-failed",
	[PW_ALERT_UNREACHABLE] = "unreachable",
};

const char *pw_alert_event_to_string(enum pw_alert_event e)
{
	if ((unsigned)e >= _PW_ALERT_EVENT_MAX)
		return NULL;
	return alert_event_names[e];
}

int pw_alert_event_from_string(const char *s)
{
	return pw_table_lookup(alert_event_names, PW_ELEMENTSOF(alert_event_names), s);
}

/* ------------------------------------------------------------ key tables */

/*
 * The per-job tunables, also allowed in the "defaults" group: one table
 * drives parsing, range checks, the "defaults" inheritance and the
 * "did you mean" suggestions.
 */
struct tunables {
	struct pw_scan_timing t;
	uint64_t interval, jitter;
	double accept_all;
};

enum vtype {
	V_DURATION, /* uint64_t usec */
	V_UINT,     /* unsigned */
	V_SHARE,    /* double in [0, 1] */
	V_STRING,   /* char *, owned */
	V_LOGLEVEL, /* int */
};

struct key {
	const char *name;
	enum vtype type;
	size_t offset;
	uint64_t min, max;
};

#define SEC USEC_PER_SEC
#define MSEC USEC_PER_MSEC
#define DAY (24 * 3600 * SEC)
#define TUN(f) offsetof(struct tunables, f)

static const struct key tunable_keys[] = {
	{ "interval", V_DURATION, TUN(interval), 100 * MSEC, 365 * DAY },
	{ "jitter", V_DURATION, TUN(jitter), 0, 365 * DAY },
	{ "timeout", V_DURATION, TUN(t.initial_timeout_usec), 1 * MSEC, 60 * SEC },
	{ "min_rtt_timeout", V_DURATION, TUN(t.min_timeout_usec), 1 * MSEC, 60 * SEC },
	{ "max_rtt_timeout", V_DURATION, TUN(t.max_timeout_usec), 1 * MSEC, 300 * SEC },
	{ "retries", V_UINT, TUN(t.retries), 0, 10 },
	{ "rate", V_UINT, TUN(t.rate), 0, 10000000 },
	{ "concurrency", V_UINT, TUN(t.concurrency), 0, 1000000 },
	{ "host_concurrency", V_UINT, TUN(t.host_concurrency), 0, 65535 },
	{ "confirm", V_UINT, TUN(t.confirm_count), 0, 10 },
	{ "confirm_spacing", V_DURATION, TUN(t.confirm_spacing_usec), 0, 3600 * SEC },
	{ "accept_all_threshold", V_SHARE, TUN(accept_all), 0, 0 },
};

#define CFG(f) offsetof(struct pw_config, f)

/* Global scalars; "defaults", "alert" and "jobs" are groups, handled apart. */
static const struct key global_keys[] = {
	{ "database", V_STRING, CFG(database), 0, 0 },
	/* max: an AF_UNIX address holds 107 bytes of path (unix(7)) */
	{ "control_socket", V_STRING, CFG(control_socket), 0, 107 },
	{ "include_dir", V_STRING, CFG(include_dir), 0, 0 },
	{ "log_level", V_LOGLEVEL, CFG(log_level), 0, 0 },
	{ "max_inflight", V_UINT, CFG(max_inflight), 0, 1000000 },
	{ "max_rate", V_UINT, CFG(max_rate), 0, 10000000 },
	{ "workers", V_UINT, CFG(workers), 0, 256 },
	{ "retention", V_DURATION, CFG(retention_usec), 0, 36500 * DAY },
};

static const char *const global_groups[] = { "defaults", "alert", "jobs" };
static const char *const job_only_keys[] = {
	"name",  "enabled",       "targets",     "exclude",
	"ports", "exclude_ports", "expect_open", "never_open",
};
static const char *const alert_keys[] = { "command", "events", "timeout" };

static const struct tunables tunables_default = {
	.t = {
		.initial_timeout_usec = 1 * SEC,
		.min_timeout_usec = 50 * MSEC,
		.max_timeout_usec = 10 * SEC,
		.retries = 1,
		.rate = 0,
		.concurrency = 0,
		.host_concurrency = 0,
		.confirm_count = 1,
		.confirm_spacing_usec = 1 * SEC,
	},
	.interval = 15 * 60 * SEC,
	.jitter = 0,
	.accept_all = 0.9,
};

#define ALERT_TIMEOUT_DEFAULT (30 * SEC)
#define ALERT_TIMEOUT_MIN (1 * SEC)
#define ALERT_TIMEOUT_MAX (3600 * SEC)

/* ------------------------------------------------------------ context */

struct seen_job {
	char *name, *file;
	int line;
};

struct ctx {
	struct pw_config *cfg;
	struct seen_job *seen; /* every named job, valid or not, for duplicates */
	size_t n_seen;
	struct pw_diag *diag;
	const char *file;
	char label[PW_CONFIG_MAX_NAME + 32]; /* "job "x": alert: " while in one */
	unsigned errors;
	bool oom;
	bool defaults_ok;
	const char *text; /* the file being parsed, for refine_line() */
	dev_t main_dev;   /* an include_dir of "." must not read the main file twice */
	ino_t main_ino;
};

static bool is_int(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT ||
	       config_setting_type(s) == CONFIG_TYPE_INT64;
}

static bool is_list(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_LIST ||
	       config_setting_type(s) == CONFIG_TYPE_ARRAY;
}

static int setting_line(const config_setting_t *s)
{
	for (; s; s = config_setting_parent(s))
		if (config_setting_source_line(s) > 0)
			return config_setting_source_line(s);
	return 0;
}

/* Does line number l of text contain needle (a number: not inside a longer one)? */
static bool line_has(const char *text, int l, const char *needle, bool number)
{
	const char *p = text, *end;
	size_t n = strlen(needle);

	for (int i = 1; i < l && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		return false;
	end = strchrnul(p, '\n');
	for (const char *q = p; q + n <= end; q++)
		if (memcmp(q, needle, n) == 0 &&
		    (!number || ((q == p || !isdigit((unsigned char)q[-1])) &&
				 (q + n == end || !isdigit((unsigned char)q[n])))))
			return true;
	return false;
}

/*
 * libconfig 1.5 numbers a list element from its parser's lookahead, so the
 * last element of a list whose ']' or ')' is on a later line gets that
 * later line. Look back, as far as the previous element, for the line that
 * holds the value.
 */
static int refine_line(const struct ctx *c, const config_setting_t *s, int line)
{
	const config_setting_t *parent = s ? config_setting_parent(s) : NULL;
	char needle[256];
	bool number = false;
	int idx, lo;

	if (!c->text || !parent || !is_list(parent) || config_setting_source_file(s))
		return line;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(s);

		if (strpbrk(v, "\"\\") || strlen(v) + 3 > sizeof(needle))
			return line;
		snprintf(needle, sizeof(needle), "\"%s\"", v);
	} else if (is_int(s)) {
		snprintf(needle, sizeof(needle), "%lld", config_setting_get_int64(s));
		number = true;
	} else
		return line;
	idx = config_setting_index(s);
	lo = idx > 0 ? setting_line(config_setting_get_elem(parent, (unsigned)idx - 1))
		     : setting_line(parent);
	for (int l = line; l >= lo && l > 0; l--)
		if (line_has(c->text, l, needle, number))
			return l;
	return line;
}

static void error_at(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void error_at(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	const char *file = (s ? config_setting_source_file(s) : NULL) ?: c->file;
	int line = refine_line(c, s, setting_line(s));
	char *text = NULL;
	va_list ap;
	int r;

	c->errors++;
	va_start(ap, fmt);
	r = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (r < 0) {
		c->oom = true;
		return;
	}
	if (line > 0)
		r = pw_diag_add(c->diag, "%s:%d: %s%s", file, line, c->label, text);
	else
		r = pw_diag_add(c->diag, "%s: %s%s", file, c->label, text);
	if (r < 0)
		c->oom = true;
	free(text);
}

static char *xstrdup(struct ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		c->oom = true;
	return d;
}

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "nothing";
}

/* ------------------------------------------------------------ unknown keys */

enum scope {
	SCOPE_GLOBAL,
	SCOPE_DROPIN,
	SCOPE_DEFAULTS,
	SCOPE_JOB,
	SCOPE_ALERT,
};

static bool in_table(const struct key *t, size_t n, const char *k)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, k) == 0)
			return true;
	return false;
}

static bool in_list(const char *const *l, size_t n, const char *k)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i], k) == 0)
			return true;
	return false;
}

static void consider(const char *key, const char *cand, const char **best, size_t *best_d)
{
	size_t d = pw_edit_distance(key, cand);

	if (d < *best_d) {
		*best_d = d;
		*best = cand;
	}
}

static const char *closest_key(enum scope scope, const char *key)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, len = strlen(key);

#define CONSIDER_TABLE(t)                                   \
	for (size_t i = 0; i < PW_ELEMENTSOF(t); i++) {     \
		consider(key, (t)[i].name, &best, &best_d); \
	}
#define CONSIDER_LIST(l)                                \
	for (size_t i = 0; i < PW_ELEMENTSOF(l); i++) { \
		consider(key, (l)[i], &best, &best_d);  \
	}

	switch (scope) {
	case SCOPE_GLOBAL:
		CONSIDER_TABLE(global_keys);
		CONSIDER_LIST(global_groups);
		/* then unknown_key() of the suggestion says where it belongs */
		CONSIDER_TABLE(tunable_keys);
		CONSIDER_LIST(job_only_keys);
		break;
	case SCOPE_DROPIN:
		consider(key, "jobs", &best, &best_d);
		break;
	case SCOPE_DEFAULTS:
		CONSIDER_TABLE(tunable_keys);
		break;
	case SCOPE_JOB:
		CONSIDER_LIST(job_only_keys);
		CONSIDER_TABLE(tunable_keys);
		consider(key, "alert", &best, &best_d);
		break;
	case SCOPE_ALERT:
		CONSIDER_LIST(alert_keys);
		break;
	}
#undef CONSIDER_TABLE
#undef CONSIDER_LIST
	/* a suggestion must be closer than a rewrite of the whole key */
	if (best && (best_d <= 2 || best_d * 3 <= len) && best_d < len)
		return best;
	return NULL;
}

static void unknown_key(struct ctx *c, const config_setting_t *s, enum scope scope)
{
	const char *key = config_setting_name(s) ?: "";
	bool global = in_table(global_keys, PW_ELEMENTSOF(global_keys), key) ||
		      in_list(global_groups, PW_ELEMENTSOF(global_groups), key);
	bool tunable = in_table(tunable_keys, PW_ELEMENTSOF(tunable_keys), key);
	bool job_only = in_list(job_only_keys, PW_ELEMENTSOF(job_only_keys), key);
	const char *sugg;

	/* a known key in the wrong place deserves a better word than "unknown" */
	switch (scope) {
	case SCOPE_GLOBAL:
		if (tunable)
			return error_at(
				c, s,
				"\"%s\" is a per-job setting: set it in a job or in the \"defaults\" group",
				key);
		if (job_only)
			return error_at(
				c, s,
				"\"%s\" belongs in a job: jobs = ( { name = \"...\"; %s = ...; } );",
				key, key);
		break;
	case SCOPE_DROPIN:
		if (global || tunable)
			return error_at(
				c, s,
				"\"%s\" cannot be set in a drop-in file: drop-ins hold only \"jobs\"; global settings and \"defaults\" belong in the main file",
				key);
		if (job_only)
			return error_at(
				c, s,
				"\"%s\" belongs in a job: jobs = ( { name = \"...\"; %s = ...; } );",
				key, key);
		break;
	case SCOPE_DEFAULTS:
		if (job_only)
			return error_at(c, s, "\"%s\" has no default: set it in each job", key);
		if (global)
			return error_at(
				c, s,
				"\"%s\" is a global setting: set it at the top of the main file, outside \"defaults\"",
				key);
		break;
	case SCOPE_JOB:
		if (global)
			return error_at(c, s,
					"\"%s\" is a global setting and cannot be set in a job",
					key);
		break;
	case SCOPE_ALERT:
		break;
	}
	sugg = closest_key(scope, key);
	if (sugg)
		error_at(c, s, "unknown key \"%.80s\" (did you mean \"%s\"?)", key, sugg);
	else
		error_at(c, s, "unknown key \"%.80s\"", key);
}

/* ------------------------------------------------------------ scalar values */

/*
 * libconfig 1.5 reads an integer written without the L suffix into 32
 * bits: 4294967297 silently becomes 1, 99999999999999999999 becomes -1.
 * Accept the value only when the file really says it (on the setting's
 * line or next to it: libconfig's line numbers can be one off).
 */
static bool int_truncated(const struct ctx *c, const config_setting_t *s)
{
	char needle[32];
	int line;

	if (!c->text || config_setting_source_file(s) ||
	    config_setting_get_format(s) == CONFIG_FORMAT_HEX)
		return false;
	line = refine_line(c, s, setting_line(s));
	if (line <= 0)
		return false;
	snprintf(needle, sizeof(needle), "%lld", config_setting_get_int64(s));
	for (int l = line > 1 ? line - 1 : 1; l <= line + 1; l++)
		if (line_has(c->text, l, needle, true))
			return false;
	return true;
}

static bool int_ok(struct ctx *c, const config_setting_t *s, const char *key)
{
	if (!int_truncated(c, s))
		return true;
	error_at(c, s, "\"%s\": integer out of range (libconfig reads it as %lld)", key,
		 config_setting_get_int64(s));
	return false;
}

static bool get_uint(struct ctx *c, const config_setting_t *s, const char *key, uint64_t min,
		     uint64_t max, uint64_t *ret)
{
	long long v;

	if (!is_int(s)) {
		error_at(c, s, "\"%s\" must be an integer, not %s", key,
			 type_name(config_setting_type(s)));
		return false;
	}
	if (!int_ok(c, s, key))
		return false;
	v = config_setting_get_int64(s);
	if (v < 0 || (unsigned long long)v < min || (unsigned long long)v > max) {
		error_at(c, s, "\"%s\" must be between %llu and %llu, got %lld", key,
			 (unsigned long long)min, (unsigned long long)max, v);
		return false;
	}
	*ret = (uint64_t)v;
	return true;
}

static bool get_duration(struct ctx *c, const config_setting_t *s, const char *key, uint64_t min,
			 uint64_t max, uint64_t *ret)
{
	char a[64], b[64], g[64];
	uint64_t v;

	if (is_int(s)) {
		long long n = config_setting_get_int64(s);

		if (!int_ok(c, s, key))
			return false;
		if (n < 0) {
			error_at(c, s, "\"%s\" must not be negative, got %lld", key, n);
			return false;
		}
		if ((unsigned long long)n > UINT64_MAX / USEC_PER_SEC) {
			error_at(c, s, "\"%s\" is far too long: %lld seconds", key, n);
			return false;
		}
		v = (uint64_t)n * USEC_PER_SEC;
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *str = config_setting_get_string(s);
		int r = pw_parse_duration(str, &v);

		if (r == -ERANGE) {
			error_at(c, s, "\"%s\" is far too long: \"%.40s\"", key, str);
			return false;
		}
		if (r < 0) {
			error_at(
				c, s,
				"\"%s\": \"%.40s\" is not a duration (write e.g. \"90s\", \"15m\", \"1h30m\", \"250ms\")",
				key, str);
			return false;
		}
	} else {
		error_at(
			c, s,
			"\"%s\" must be a duration string such as \"15m\" or a number of seconds, not %s",
			key, type_name(config_setting_type(s)));
		return false;
	}
	if (v < min || v > max) {
		error_at(c, s, "\"%s\" must be between %s and %s, got %s", key,
			 pw_format_duration(a, sizeof(a), min),
			 pw_format_duration(b, sizeof(b), max),
			 pw_format_duration(g, sizeof(g), v));
		return false;
	}
	*ret = v;
	return true;
}

/* A share: a float in [0, 1], the integers 0 and 1, or a string "80%". */
static bool get_share(struct ctx *c, const config_setting_t *s, const char *key, double *ret)
{
	double v;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		if (!int_ok(c, s, key))
			return false;
		v = (double)config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_STRING: {
		const char *str = config_setting_get_string(s);
		size_t len = strlen(str);
		char *end;

		if (len < 2 || str[len - 1] != '%' || !isdigit((unsigned char)str[0])) {
			error_at(c, s, "\"%s\": \"%.40s\" is not a share (write 0.8 or \"80%%\")",
				 key, str);
			return false;
		}
		errno = 0;
		v = strtod(str, &end);
		if (errno || end != str + len - 1) {
			error_at(c, s, "\"%s\": \"%.40s\" is not a share (write 0.8 or \"80%%\")",
				 key, str);
			return false;
		}
		if (!(v >= 0.0 && v <= 100.0)) {
			error_at(c, s, "\"%s\" must be between 0%% and 100%%, got \"%.40s\"", key,
				 str);
			return false;
		}
		*ret = v / 100.0;
		return true;
	}
	default:
		error_at(c, s,
			 "\"%s\" must be a number between 0 and 1 or a percentage string, not %s",
			 key, type_name(config_setting_type(s)));
		return false;
	}
	if (!(v >= 0.0 && v <= 1.0)) {
		error_at(c, s, "\"%s\" must be between 0 and 1 (or \"0%%\" to \"100%%\"), got %g",
			 key, v);
		return false;
	}
	*ret = v;
	return true;
}

static const char *get_string(struct ctx *c, const config_setting_t *s, const char *key)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		error_at(c, s, "\"%s\" must be a string, not %s", key,
			 type_name(config_setting_type(s)));
		return NULL;
	}
	return config_setting_get_string(s);
}

/* Parse s as k into base + k->offset. */
static void parse_keyed(struct ctx *c, const config_setting_t *s, const struct key *k, void *base)
{
	char *dst = (char *)base + k->offset;
	uint64_t u;
	double d;
	const char *str;

	switch (k->type) {
	case V_DURATION:
		if (get_duration(c, s, k->name, k->min, k->max, &u))
			memcpy(dst, &u, sizeof(u));
		break;
	case V_UINT:
		if (get_uint(c, s, k->name, k->min, k->max, &u)) {
			unsigned v = (unsigned)u;

			memcpy(dst, &v, sizeof(v));
		}
		break;
	case V_SHARE:
		if (get_share(c, s, k->name, &d))
			memcpy(dst, &d, sizeof(d));
		break;
	case V_STRING:
		str = get_string(c, s, k->name);
		if (str && !*str)
			error_at(c, s, "\"%s\" must not be empty", k->name);
		else if (str && strlen(str) >= PATH_MAX)
			/* every string key is a path: say so here, not at open() */
			error_at(c, s, "\"%s\" is %zu bytes long, longer than a path may be (%d)",
				 k->name, strlen(str), PATH_MAX - 1);
		else if (str && k->max && strlen(str) > k->max)
			error_at(
				c, s,
				"\"%s\" is %zu bytes long, longer than a socket path may be (%llu)",
				k->name, strlen(str), (unsigned long long)k->max);
		else if (str) {
			char *old, *n = xstrdup(c, str);

			memcpy(&old, dst, sizeof(old));
			free(old);
			memcpy(dst, &n, sizeof(n));
		}
		break;
	case V_LOGLEVEL:
		str = get_string(c, s, k->name);
		if (str) {
			int lvl = pw_log_level_from_string(str);

			if (lvl < 0)
				error_at(
					c, s,
					"\"%s\": unknown level \"%.40s\" (use debug, info, notice, warning or err)",
					k->name, str);
			else
				memcpy(dst, &lvl, sizeof(lvl));
		}
		break;
	}
}

static const struct key *find_key(const struct key *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

/* Relations between tunables; where names where they were set. */
static void check_tunables(struct ctx *c, const config_setting_t *where, const struct tunables *t)
{
	char a[64], b[64], x[64];

	if (t->t.min_timeout_usec > t->t.max_timeout_usec)
		error_at(c, where, "\"min_rtt_timeout\" (%s) is above \"max_rtt_timeout\" (%s)",
			 pw_format_duration(a, sizeof(a), t->t.min_timeout_usec),
			 pw_format_duration(b, sizeof(b), t->t.max_timeout_usec));
	else if (t->t.initial_timeout_usec < t->t.min_timeout_usec ||
		 t->t.initial_timeout_usec > t->t.max_timeout_usec)
		error_at(
			c, where,
			"\"timeout\" (%s) must lie between \"min_rtt_timeout\" (%s) and \"max_rtt_timeout\" (%s)",
			pw_format_duration(x, sizeof(x), t->t.initial_timeout_usec),
			pw_format_duration(a, sizeof(a), t->t.min_timeout_usec),
			pw_format_duration(b, sizeof(b), t->t.max_timeout_usec));
	if (t->jitter > t->interval)
		error_at(c, where, "\"jitter\" (%s) is longer than \"interval\" (%s)",
			 pw_format_duration(a, sizeof(a), t->jitter),
			 pw_format_duration(b, sizeof(b), t->interval));
	/* A changed port waits confirm x confirm_spacing: longer than the
	 * interval, every run would overrun into the next and be skipped. */
	else if ((uint64_t)t->t.confirm_count * t->t.confirm_spacing_usec >= t->interval)
		error_at(
			c, where,
			"\"confirm\" x \"confirm_spacing\" (%u x %s) is not shorter than \"interval\" (%s)",
			t->t.confirm_count,
			pw_format_duration(a, sizeof(a), t->t.confirm_spacing_usec),
			pw_format_duration(b, sizeof(b), t->interval));
}

/* ------------------------------------------------------------ spec lists */

struct strv {
	char **v;
	size_t n;
};

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool strv_push(struct ctx *c, struct strv *sv, const char *s)
{
	char **v;

	for (size_t i = 0; i < sv->n; i++)
		if (strcasecmp(sv->v[i], s) == 0)
			return true; /* DNS names are case-insensitive: keep one */
	v = realloc(sv->v, (sv->n + 2) * sizeof(*v));
	if (!v) {
		c->oom = true;
		return false;
	}
	sv->v = v;
	v[sv->n] = xstrdup(c, s);
	if (!v[sv->n])
		return false;
	v[++sv->n] = NULL;
	return true;
}

enum spec_kind {
	SPEC_TARGETS, /* addresses and hostnames */
	SPEC_EXCLUDE, /* addresses only */
	SPEC_PORTS,
};

struct spec_out {
	struct pw_iset *set;
	struct strv *names; /* SPEC_TARGETS only */
};

static void one_spec(struct ctx *c, const config_setting_t *s, const char *key, enum spec_kind kind,
		     const char *spec, struct spec_out *out)
{
	const char *why = NULL;
	enum pw_target_kind tk;
	int r;

	switch (kind) {
	case SPEC_PORTS:
		r = pw_ports_parse(spec, out->set, &why);
		break;
	case SPEC_TARGETS:
	case SPEC_EXCLUDE:
		r = pw_target_parse(spec, out->set, &tk, &why);
		if (r >= 0 && tk == PW_TARGET_HOSTNAME) {
			if (kind == SPEC_EXCLUDE) {
				error_at(
					c, s,
					"%s \"%.80s\": hostnames cannot be excluded, only addresses",
					key, spec);
				return;
			}
			if (out->names->n >= PW_CONFIG_MAX_HOSTNAMES_PER_JOB) {
				error_at(c, s, "%s: more than %d hostnames", key,
					 PW_CONFIG_MAX_HOSTNAMES_PER_JOB);
				return;
			}
			strv_push(c, out->names, spec);
		}
		break;
	}
	if (r == -ENOMEM)
		c->oom = true;
	else if (r < 0)
		error_at(c, s, "%s \"%.80s%s\": %s", key, spec, strlen(spec) > 80 ? "..." : "",
			 why);
}

/* One string element: a spec, or several separated by commas. */
static void string_specs(struct ctx *c, const config_setting_t *s, const char *key,
			 enum spec_kind kind, const char *str, struct spec_out *out)
{
	char *copy = xstrdup(c, str), *p, *next;

	if (!copy)
		return;
	for (p = copy; p; p = next) {
		char *end;

		next = strchr(p, ',');
		if (next)
			*next++ = '\0';
		while (isspace((unsigned char)*p))
			p++;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*p) {
			error_at(c, s, "%s: empty element in \"%.80s\"", key, str);
			continue;
		}
		one_spec(c, s, key, kind, p, out);
	}
	free(copy);
}

/*
 * A spec setting: one string, or a list/array of strings (and of integers
 * for ports). Returns the number of specs seen.
 */
static size_t parse_specs(struct ctx *c, const config_setting_t *s, const char *key,
			  enum spec_kind kind, struct spec_out *out)
{
	const char *what = kind == SPEC_PORTS ? "port specs" : "target specs";
	int n;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		string_specs(c, s, key, kind, config_setting_get_string(s), out);
		return 1;
	}
	if (kind == SPEC_PORTS && is_int(s)) {
		char buf[32];

		if (!int_ok(c, s, key))
			return 0;
		snprintf(buf, sizeof(buf), "%lld", config_setting_get_int64(s));
		one_spec(c, s, key, kind, buf, out);
		return 1;
	}
	if (!is_list(s)) {
		error_at(c, s, "\"%s\" must be a list of %s, not %s", key, what,
			 type_name(config_setting_type(s)));
		return 0;
	}
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) == CONFIG_TYPE_STRING)
			string_specs(c, e, key, kind, config_setting_get_string(e), out);
		else if (kind == SPEC_PORTS && is_int(e)) {
			char buf[32];

			if (!int_ok(c, e, key))
				continue;
			snprintf(buf, sizeof(buf), "%lld", config_setting_get_int64(e));
			one_spec(c, e, key, kind, buf, out);
		} else
			error_at(c, e, "\"%s\": element %d must be a string%s, not %s", key, i + 1,
				 kind == SPEC_PORTS ? " or a port number" : "",
				 type_name(config_setting_type(e)));
	}
	return (size_t)n;
}

/* ------------------------------------------------------------ alerts */

static void alert_done(struct pw_alert *a)
{
	strv_free(a->argv, a->argc);
	a->argv = NULL;
	a->argc = 0;
}

static int alert_copy(struct pw_alert *dst, const struct pw_alert *src)
{
	struct pw_alert a = *src;

	a.argv = NULL;
	if (src->argv) {
		a.argv = calloc(src->argc + 1, sizeof(char *));
		if (!a.argv)
			return -ENOMEM;
		for (size_t i = 0; i < src->argc; i++) {
			a.argv[i] = strdup(src->argv[i]);
			if (!a.argv[i]) {
				strv_free(a.argv, i);
				return -ENOMEM;
			}
		}
	}
	*dst = a;
	return 0;
}

static void parse_alert_command(struct ctx *c, const config_setting_t *s, struct pw_alert *a)
{
	int n;
	char **argv;

	if (!is_list(s)) {
		error_at(c, s,
			 "\"command\" must be a list of strings (program and arguments), not %s",
			 type_name(config_setting_type(s)));
		return;
	}
	n = config_setting_length(s);
	if (n > PW_CONFIG_MAX_ALERT_ARGS) {
		error_at(c, s, "\"command\" has %d elements, more than %d", n,
			 PW_CONFIG_MAX_ALERT_ARGS);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			error_at(c, e, "\"command\": element %d must be a string, not %s", i + 1,
				 type_name(config_setting_type(e)));
			return;
		}
		/* execve(2) would refuse it (E2BIG) at every alert */
		if (strlen(config_setting_get_string(e)) >= PW_CONFIG_MAX_ALERT_ARG_LEN) {
			error_at(
				c, e,
				"\"command\": element %d is %zu bytes long, more than a program may be given (%d)",
				i + 1, strlen(config_setting_get_string(e)),
				PW_CONFIG_MAX_ALERT_ARG_LEN - 1);
			return;
		}
	}
	if (n > 0 && config_setting_get_string_elem(s, 0)[0] != '/') {
		error_at(c, s, "\"command\": the program must be an absolute path, not \"%.80s\"",
			 config_setting_get_string_elem(s, 0));
		return;
	}
	alert_done(a);
	if (n == 0)
		return; /* command = []: no alerts, even if the global one has some */
	argv = calloc((size_t)n + 1, sizeof(char *));
	if (!argv) {
		c->oom = true;
		return;
	}
	for (int i = 0; i < n; i++) {
		argv[i] = xstrdup(c, config_setting_get_string_elem(s, (unsigned)i));
		if (!argv[i]) {
			strv_free(argv, (size_t)i);
			return;
		}
	}
	a->argv = argv;
	a->argc = (size_t)n;
}

static void parse_alert_events(struct ctx *c, const config_setting_t *s, struct pw_alert *a)
{
	unsigned events = 0;
	bool ok = true;
	int n;

	if (!is_list(s)) {
		error_at(c, s, "\"events\" must be a list of event names, not %s",
			 type_name(config_setting_type(s)));
		return;
	}
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *name;
		int ev;

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			error_at(c, e, "\"events\": element %d must be a string, not %s", i + 1,
				 type_name(config_setting_type(e)));
			ok = false;
			continue;
		}
		name = config_setting_get_string(e);
		ev = pw_alert_event_from_string(name);
		if (ev < 0) {
			const char *best = NULL;
			size_t best_d = SIZE_MAX;

			for (int k = 0; k < _PW_ALERT_EVENT_MAX; k++)
				consider(name, alert_event_names[k], &best, &best_d);
			if (best_d <= 3)
				error_at(
					c, e,
					"\"events\": unknown event \"%.40s\" (did you mean \"%s\"?)",
					name, best);
			else {
				/* listed from the table, so a new event is never left out */
				char known[256] = "";

				for (int k = 0; k < _PW_ALERT_EVENT_MAX; k++) {
					if (k > 0)
						strncat(known, ", ",
							sizeof(known) - strlen(known) - 1);
					strncat(known, alert_event_names[k],
						sizeof(known) - strlen(known) - 1);
				}
				error_at(c, e, "\"events\": unknown event \"%.40s\" (known: %s)",
					 name, known);
			}
			ok = false;
			continue;
		}
		events |= 1u << ev;
	}
	if (ok)
		a->events = events;
}

static void parse_alert(struct ctx *c, const config_setting_t *g, struct pw_alert *a)
{
	size_t label_len = strlen(c->label);
	int n;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		error_at(c, g,
			 "\"alert\" must be a group { command = [...]; events = [...]; }, not %s",
			 type_name(config_setting_type(g)));
		return;
	}
	/* every message from inside the group says where it is */
	snprintf(c->label + label_len, sizeof(c->label) - label_len, "alert: ");
	n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(m);

		if (strcmp(key, "command") == 0)
			parse_alert_command(c, m, a);
		else if (strcmp(key, "events") == 0)
			parse_alert_events(c, m, a);
		else if (strcmp(key, "timeout") == 0)
			get_duration(c, m, "timeout", ALERT_TIMEOUT_MIN, ALERT_TIMEOUT_MAX,
				     &a->timeout_usec);
		else
			unknown_key(c, m, SCOPE_ALERT);
	}
	c->label[label_len] = '\0';
}

/* ------------------------------------------------------------ jobs */

static void job_done(struct pw_job *j)
{
	free(j->name);
	free(j->file);
	pw_iset_done(&j->space.addrs);
	pw_iset_done(&j->space.ports);
	strv_free(j->hostnames, j->n_hostnames);
	pw_iset_done(&j->exclude_addrs);
	pw_iset_done(&j->expect_open);
	pw_iset_done(&j->never_open);
	alert_done(&j->alert);
	memset(j, 0, sizeof(*j));
}

static bool valid_job_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > PW_CONFIG_MAX_NAME || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

/* Remember a job name; false (and an error) if it was seen before. */
static void note_job_name(struct ctx *c, const config_setting_t *s, const char *name, int line)
{
	struct seen_job *v;

	for (size_t i = 0; i < c->n_seen; i++)
		if (strcmp(c->seen[i].name, name) == 0) {
			error_at(c, s, "duplicate job name (first defined at %s:%d)",
				 c->seen[i].file, c->seen[i].line);
			return;
		}
	v = realloc(c->seen, (c->n_seen + 1) * sizeof(*v));
	if (!v) {
		c->oom = true;
		return;
	}
	c->seen = v;
	v[c->n_seen].name = xstrdup(c, name);
	v[c->n_seen].file = xstrdup(c, c->file);
	v[c->n_seen].line = line;
	c->n_seen++;
}

static const struct pw_job *find_job(const struct pw_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_jobs; i++)
		if (strcmp(cfg->jobs[i].name, name) == 0)
			return &cfg->jobs[i];
	return NULL;
}

static void parse_job_name(struct ctx *c, const config_setting_t *g, struct pw_job *j, int index)
{
	const config_setting_t *s = config_setting_get_member(g, "name");
	const char *name;

	snprintf(c->label, sizeof(c->label), "job #%d: ", index);
	if (!s) {
		error_at(c, g, "missing \"name\"");
		return;
	}
	name = get_string(c, s, "name");
	if (!name)
		return;
	if (!valid_job_name(name)) {
		error_at(
			c, s,
			"invalid job name \"%.80s\": use 1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit",
			name, PW_CONFIG_MAX_NAME);
		return;
	}
	snprintf(c->label, sizeof(c->label), "job \"%s\": ", name);
	j->name = xstrdup(c, name);
	note_job_name(c, s, name, setting_line(g));
}

struct job_parts {
	struct pw_iset targets, exclude, ports, exclude_ports;
	struct strv names;
	const config_setting_t *targets_s, *ports_s, *expect_s, *never_s;
	size_t n_targets, n_ports;
};

static void job_member(struct ctx *c, const config_setting_t *m, struct pw_job *j,
		       struct job_parts *p, struct tunables *tun)
{
	const char *key = config_setting_name(m);
	const struct key *k;
	struct spec_out out = { NULL, NULL };

	if (strcmp(key, "name") == 0)
		return; /* done first, for the messages */
	if (strcmp(key, "enabled") == 0) {
		if (config_setting_type(m) != CONFIG_TYPE_BOOL)
			error_at(c, m, "\"enabled\" must be true or false, not %s",
				 type_name(config_setting_type(m)));
		else
			j->enabled = config_setting_get_bool(m);
	} else if (strcmp(key, "targets") == 0) {
		out = (struct spec_out){ &p->targets, &p->names };
		p->targets_s = m;
		p->n_targets = parse_specs(c, m, key, SPEC_TARGETS, &out);
	} else if (strcmp(key, "exclude") == 0) {
		out = (struct spec_out){ &p->exclude, NULL };
		parse_specs(c, m, key, SPEC_EXCLUDE, &out);
	} else if (strcmp(key, "ports") == 0) {
		out = (struct spec_out){ &p->ports, NULL };
		p->ports_s = m;
		p->n_ports = parse_specs(c, m, key, SPEC_PORTS, &out);
	} else if (strcmp(key, "exclude_ports") == 0) {
		out = (struct spec_out){ &p->exclude_ports, NULL };
		parse_specs(c, m, key, SPEC_PORTS, &out);
	} else if (strcmp(key, "expect_open") == 0) {
		out = (struct spec_out){ &j->expect_open, NULL };
		p->expect_s = m;
		parse_specs(c, m, key, SPEC_PORTS, &out);
	} else if (strcmp(key, "never_open") == 0) {
		out = (struct spec_out){ &j->never_open, NULL };
		p->never_s = m;
		parse_specs(c, m, key, SPEC_PORTS, &out);
	} else if (strcmp(key, "alert") == 0) {
		parse_alert(c, m, &j->alert);
	} else if ((k = find_key(tunable_keys, PW_ELEMENTSOF(tunable_keys), key))) {
		parse_keyed(c, m, k, tun);
	} else
		unknown_key(c, m, SCOPE_JOB);
}

static void u128_str(pw_u128 v, char buf[static 48])
{
	char tmp[48];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
}

/* Subtract exclusions, then enforce emptiness rules and the caps. */
static void job_space(struct ctx *c, const config_setting_t *g, struct pw_job *j,
		      struct job_parts *p)
{
	pw_u128 n_addrs, n_ports, probes;
	char a[48], b[48], x[48];
	int r;

	r = pw_iset_copy(&j->space.addrs, &p->targets);
	if (r >= 0)
		r = pw_iset_subtract(&j->space.addrs, &p->exclude);
	if (r >= 0)
		r = pw_iset_copy(&j->space.ports, &p->ports);
	if (r >= 0)
		r = pw_iset_subtract(&j->space.ports, &p->exclude_ports);
	if (r >= 0)
		r = pw_iset_copy(&j->exclude_addrs, &p->exclude);
	if (r < 0) {
		c->oom = true;
		return;
	}
	j->hostnames = TAKE_PTR(p->names.v);
	j->n_hostnames = p->names.n;
	p->names.n = 0;

	if (p->n_targets == 0)
		error_at(c, p->targets_s, "\"targets\" is empty");
	else if (j->space.addrs.n == 0 && j->n_hostnames == 0 && p->targets.n > 0)
		error_at(c, p->targets_s, "every target address is excluded: nothing left to scan");
	if (p->n_ports == 0)
		error_at(c, p->ports_s, "\"ports\" is empty");
	else if (j->space.ports.n == 0 && p->ports.n > 0)
		error_at(c, p->ports_s, "every port is excluded: nothing left to scan");

	n_addrs = pw_iset_count(&j->space.addrs);
	n_ports = pw_iset_count(&j->space.ports);
	if (n_addrs > PW_CONFIG_MAX_ADDRS_PER_JOB) {
		u128_str(n_addrs, a);
		u128_str(PW_CONFIG_MAX_ADDRS_PER_JOB, b);
		error_at(c, p->targets_s,
			 "%s target addresses, above the cap of %s per job (an IPv4 /8)", a, b);
		return;
	}
	/* a hostname counts as one address here; it may resolve to more */
	probes = (n_addrs + j->n_hostnames) * n_ports;
	if (probes > PW_CONFIG_MAX_PROBES_PER_RUN) {
		u128_str(n_addrs + j->n_hostnames, a);
		u128_str(n_ports, b);
		u128_str(probes, x);
		error_at(
			c, g,
			"%s addresses x %s ports = %s probes per run, above the cap of 4294967296 (2^32): narrow the targets or ports, or split the job",
			a, b, x);
	}
}

static void job_expectations(struct ctx *c, struct pw_job *j, struct job_parts *p)
{
	static const struct {
		const char *key;
		size_t off;
	} lists[] = {
		{ "expect_open", offsetof(struct pw_job, expect_open) },
		{ "never_open", offsetof(struct pw_job, never_open) },
	};
	const config_setting_t *where[] = { p->expect_s, p->never_s };
	struct pw_iset tmp = PW_ISET_INIT;

	for (size_t i = 0; i < PW_ELEMENTSOF(lists); i++) {
		const struct pw_iset *set = (const struct pw_iset *)((const char *)j +
								     lists[i].off);

		if (pw_iset_copy(&tmp, set) < 0 || pw_iset_subtract(&tmp, &j->space.ports) < 0) {
			c->oom = true;
			break;
		}
		if (tmp.n > 0)
			error_at(c, where[i], "%s: port %u is not among the ports this job scans",
				 lists[i].key, (unsigned)tmp.ranges[0].lo);
		pw_iset_done(&tmp);
	}
	pw_iset_done(&tmp);
	for (size_t i = 0; i < j->expect_open.n; i++)
		for (size_t k = 0; k < j->never_open.n; k++) {
			pw_u128 lo = j->expect_open.ranges[i].lo > j->never_open.ranges[k].lo
					     ? j->expect_open.ranges[i].lo
					     : j->never_open.ranges[k].lo;
			pw_u128 hi = j->expect_open.ranges[i].hi < j->never_open.ranges[k].hi
					     ? j->expect_open.ranges[i].hi
					     : j->never_open.ranges[k].hi;

			if (lo <= hi) {
				error_at(c, p->never_s,
					 "port %u is in both \"expect_open\" and \"never_open\"",
					 (unsigned)lo);
				return;
			}
		}
}

static bool push_job(struct ctx *c, struct pw_job *j)
{
	struct pw_job *v = realloc(c->cfg->jobs, (c->cfg->n_jobs + 1) * sizeof(*v));

	if (!v) {
		c->oom = true;
		return false;
	}
	c->cfg->jobs = v;
	v[c->cfg->n_jobs++] = *j;
	return true;
}

/* What a job starts from: the "defaults" group as loaded so far. */
static struct tunables defaults_of(const struct pw_config *cfg)
{
	return (struct tunables){
		.t = cfg->defaults,
		.interval = cfg->default_interval_usec,
		.jitter = cfg->default_jitter_usec,
		.accept_all = cfg->default_accept_all_threshold,
	};
}

static void parse_job(struct ctx *c, const config_setting_t *g, int index)
{
	struct pw_config *cfg = c->cfg;
	struct pw_job j = { .enabled = true };
	struct job_parts p = { .targets = PW_ISET_INIT };
	struct tunables tun = defaults_of(cfg);
	unsigned errors = c->errors;
	int n;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		error_at(c, g,
			 "each element of \"jobs\" must be a group { name = ...; ... }, not %s",
			 type_name(config_setting_type(g)));
		return;
	}
	parse_job_name(c, g, &j, index);
	j.file = xstrdup(c, config_setting_source_file(g) ?: c->file);
	j.line = setting_line(g);
	if (alert_copy(&j.alert, &cfg->alert) < 0)
		c->oom = true;

	n = config_setting_length(g);
	for (int i = 0; i < n; i++)
		job_member(c, config_setting_get_elem(g, (unsigned)i), &j, &p, &tun);
	if (!p.targets_s)
		error_at(c, g, "missing \"targets\"");
	if (!p.ports_s)
		error_at(c, g, "missing \"ports\"");
	if (c->errors == errors && !c->oom) {
		job_space(c, g, &j, &p);
		job_expectations(c, &j, &p);
		if (c->defaults_ok)
			check_tunables(c, g, &tun);
	}
	if (cfg->n_jobs >= PW_CONFIG_MAX_JOBS && c->errors == errors)
		error_at(c, g, "more than %d jobs", PW_CONFIG_MAX_JOBS);

	j.timing = tun.t;
	j.interval_usec = tun.interval;
	j.jitter_usec = tun.jitter;
	j.accept_all_threshold = tun.accept_all;
	if (c->errors != errors || c->oom || !push_job(c, &j))
		job_done(&j);
	pw_iset_done(&p.targets);
	pw_iset_done(&p.exclude);
	pw_iset_done(&p.ports);
	pw_iset_done(&p.exclude_ports);
	strv_free(p.names.v, p.names.n);
	c->label[0] = '\0';
}

static void parse_jobs(struct ctx *c, const config_setting_t *s)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		error_at(
			c, s,
			"\"jobs\" must be a list of groups: jobs = ( { name = \"a\"; ... }, { name = \"b\"; ... } );, not %s",
			type_name(config_setting_type(s)));
		return;
	}
	n = config_setting_length(s);
	for (int i = 0; i < n; i++)
		parse_job(c, config_setting_get_elem(s, (unsigned)i), i + 1);
}

/* ------------------------------------------------------------ files */

static void parse_defaults(struct ctx *c, const config_setting_t *g)
{
	struct pw_config *cfg = c->cfg;
	struct tunables tun = defaults_of(cfg);
	unsigned errors = c->errors;
	int n;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		error_at(c, g, "\"defaults\" must be a group { interval = \"15m\"; ... }, not %s",
			 type_name(config_setting_type(g)));
		c->defaults_ok = false;
		return;
	}
	n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const struct key *k = find_key(tunable_keys, PW_ELEMENTSOF(tunable_keys),
					       config_setting_name(m));

		if (k)
			parse_keyed(c, m, k, &tun);
		else
			unknown_key(c, m, SCOPE_DEFAULTS);
	}
	check_tunables(c, g, &tun);
	/* a bad default would otherwise repeat its error in every job */
	c->defaults_ok = c->errors == errors;
	cfg->defaults = tun.t;
	cfg->default_interval_usec = tun.interval;
	cfg->default_jitter_usec = tun.jitter;
	cfg->default_accept_all_threshold = tun.accept_all;
}

static void parse_main_root(struct ctx *c, const config_setting_t *root)
{
	const config_setting_t *jobs = NULL;
	int n = config_setting_length(root);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(root, (unsigned)i);
		const char *key = config_setting_name(m);
		const struct key *k;

		if (strcmp(key, "jobs") == 0)
			jobs = m; /* after "defaults" and "alert", wherever it is written */
		else if (strcmp(key, "defaults") == 0)
			parse_defaults(c, m);
		else if (strcmp(key, "alert") == 0)
			parse_alert(c, m, &c->cfg->alert);
		else if ((k = find_key(global_keys, PW_ELEMENTSOF(global_keys), key)))
			parse_keyed(c, m, k, c->cfg);
		else
			unknown_key(c, m, SCOPE_GLOBAL);
	}
	if (jobs)
		parse_jobs(c, jobs);
}

static void parse_dropin_root(struct ctx *c, const config_setting_t *root)
{
	int n = config_setting_length(root);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(root, (unsigned)i);

		if (strcmp(config_setting_name(m), "jobs") == 0)
			parse_jobs(c, m);
		else
			unknown_key(c, m, SCOPE_DROPIN);
	}
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* Returns false when the file could not be read or parsed at all. */
/* The whole file, NUL-terminated; NULL and errno on failure. */
static char *read_all(int fd, size_t size_hint)
{
	size_t cap = size_hint + 1, len = 0;
	char *buf = malloc(cap);

	for (;;) {
		ssize_t n;

		if (!buf)
			return NULL;
		if (len + 1 >= cap) {
			char *b;

			if (cap >= PW_CONFIG_MAX_FILE_SIZE) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			b = realloc(buf, cap * 2);
			if (!b)
				free(buf);
			buf = b;
			cap *= 2;
			continue;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		free(buf);
		errno = EBADMSG; /* a NUL byte: not a text file */
		return NULL;
	}
	return buf;
}

/*
 * libconfig opens the files named by "@include" itself (fopen(3), always
 * relative to the including file's directory), past the checks above: a
 * FIFO there would block the load forever, a device or a huge file would
 * be read to the end. Check them, and what they include, the same way
 * first; libconfig reports missing files and nesting itself.
 */
#define MAX_INCLUDES 64

static bool includes_ok(struct ctx *c, const char *dir, const char *text, int depth, unsigned *n)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		_cleanup_free_ char *name = NULL, *path = NULL, *inc = NULL;
		_cleanup_close_ int fd = -1;
		const char *q = p + strspn(p, " \t"), *end;
		struct stat st;

		if (strncmp(q, "@include", 8) != 0 || !strchr(" \t", q[8]))
			continue;
		q += 8 + strspn(q + 8, " \t");
		if (*q != '"' || !(end = strpbrk(q + 1, "\"\n")) || *end != '"')
			continue;
		name = strndup(q + 1, (size_t)(end - q - 1));
		if (!name || asprintf(&path, "%s/%s", dir, name) < 0) {
			path = NULL;
			c->oom = true;
			return false;
		}
		/* a file may include the same one many times over: bound the
		 * walk, not only its depth (libconfig stops at 10 levels) */
		if (++*n > MAX_INCLUDES) {
			error_at(c, NULL, "more than %d @include directives, counting nested ones",
				 MAX_INCLUDES);
			return false;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		if (!S_ISREG(st.st_mode)) {
			error_at(c, NULL, "@include \"%.200s\": not a regular file", name);
			return false;
		}
		if (depth >= 10)
			continue;
		inc = read_all(fd, (size_t)st.st_size);
		if (!inc) {
			if (errno == ENOMEM)
				c->oom = true;
			else
				error_at(c, NULL, "@include \"%.200s\": %s", name,
					 errno == EBADMSG ? "contains a NUL byte, not a text file"
							  : strerror(errno));
			return false;
		}
		if (!includes_ok(c, dir, inc, depth + 1, n))
			return false;
	}
	return true;
}

/* Parse text (the file at path) with libconfig; false on a syntax error. */
static bool parse_text(struct ctx *c, const char *path, const char *dir, const char *text,
		       bool is_main)
{
	config_t lc;
	bool ok = false;

	config_init(&lc);
	if (dir)
		config_set_include_dir(&lc, dir);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			error_at(c, NULL, "cannot read file: %s", config_error_text(&lc));
		else if (pw_diag_add(c->diag, "%s:%d: %s", config_error_file(&lc) ?: path,
				     config_error_line(&lc), config_error_text(&lc)) < 0)
			c->oom = true;
		else
			c->errors++;
	} else {
		c->text = text;
		if (is_main)
			parse_main_root(c, config_root_setting(&lc));
		else
			parse_dropin_root(c, config_root_setting(&lc));
		c->text = NULL;
		ok = true;
	}
	config_destroy(&lc);
	return ok;
}

/* Returns false when the file could not be read or parsed at all. */
static bool load_file(struct ctx *c, const char *path, bool is_main)
{
	_cleanup_free_ char *dir = dir_of(path);
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;

	c->file = path;
	/* O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer;
	 * anything but a regular file is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		error_at(c, NULL, "cannot read file: %s", strerror(errno));
		return false;
	}
	if (is_main) {
		c->main_dev = st.st_dev;
		c->main_ino = st.st_ino;
	} else if (st.st_dev == c->main_dev && st.st_ino == c->main_ino)
		return true;
	if (!S_ISREG(st.st_mode)) {
		error_at(c, NULL, "cannot read file: %s",
			 S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
		return false;
	}
	text = read_all(fd, (size_t)st.st_size);
	if (!text) {
		if (errno == ENOMEM)
			c->oom = true;
		else if (errno == EBADMSG)
			error_at(c, NULL, "cannot read file: contains a NUL byte, not a text file");
		else
			error_at(c, NULL, "cannot read file: %s", strerror(errno));
		return false;
	}
	if (dir && !includes_ok(c, dir, text, 0, &(unsigned){ 0 }))
		return false;
	return parse_text(c, path, dir, text, is_main);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dropin_name(const char *n)
{
	size_t len = strlen(n);

	/* hidden files are editor and package-manager leftovers */
	return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".conf") == 0;
}

static void load_dropins(struct ctx *c, bool explicit_dir)
{
	const char *dirpath = c->cfg->include_dir;
	struct strv names = { NULL, 0 };
	struct dirent *de;
	DIR *d;

	d = opendir(dirpath);
	if (!d) {
		if (errno == ENOENT && !explicit_dir)
			return; /* the default drop-in directory is optional */
		c->file = dirpath;
		error_at(c, NULL, "cannot open drop-in directory: %s", strerror(errno));
		return;
	}
	while ((de = readdir(d)))
		if (is_dropin_name(de->d_name) && !strv_push(c, &names, de->d_name))
			break;
	closedir(d);
	if (names.n > 1)
		qsort(names.v, names.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < names.n && !c->oom; i++) {
		_cleanup_free_ char *path = NULL;

		if (asprintf(&path, "%s/%s", dirpath, names.v[i]) < 0) {
			path = NULL;
			c->oom = true;
			break;
		}
		load_file(c, path, false);
	}
	c->file = NULL;
	strv_free(names.v, names.n);
}

/* include_dir relative to the main file's directory; the default if unset. */
static int resolve_include_dir(struct pw_config *cfg, const char *main_path, bool *ret_explicit)
{
	const char *rel = cfg->include_dir ?: PW_DEFAULT_INCLUDE_DIR;
	_cleanup_free_ char *dir = NULL;
	char *path;

	*ret_explicit = cfg->include_dir != NULL;
	if (rel[0] == '/')
		path = strdup(rel);
	else {
		dir = dir_of(main_path);
		if (!dir || asprintf(&path, "%s/%s", dir, rel) < 0)
			path = NULL;
	}
	if (!path)
		return -ENOMEM;
	free(cfg->include_dir);
	cfg->include_dir = path;
	return 0;
}

static struct pw_config *config_new(const char *main_path)
{
	struct pw_config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->main_file = strdup(main_path);
	cfg->database = strdup(PW_DEFAULT_DATABASE);
	cfg->control_socket = strdup(PW_DEFAULT_CONTROL_SOCKET);
	cfg->log_level = LOG_INFO;
	cfg->max_inflight = 0;
	cfg->max_rate = 10000;
	cfg->workers = 0;
	cfg->retention_usec = 90 * DAY;
	cfg->defaults = tunables_default.t;
	cfg->default_interval_usec = tunables_default.interval;
	cfg->default_jitter_usec = tunables_default.jitter;
	cfg->default_accept_all_threshold = tunables_default.accept_all;
	cfg->alert.events = PW_ALERT_EVENTS_ALL;
	cfg->alert.timeout_usec = ALERT_TIMEOUT_DEFAULT;
	if (!cfg->main_file || !cfg->database || !cfg->control_socket)
		return pw_config_free(cfg);
	return cfg;
}

int pw_config_load(const char *main_path, struct pw_config **ret, struct pw_diag *diag)
{
	struct pw_config *cfg = config_new(main_path);
	struct ctx c = { .cfg = cfg, .diag = diag, .defaults_ok = true };
	bool explicit_dir;

	if (!cfg)
		return -ENOMEM;
	if (load_file(&c, main_path, true) && !c.oom) {
		if (resolve_include_dir(cfg, main_path, &explicit_dir) < 0)
			c.oom = true;
		else
			load_dropins(&c, explicit_dir);
	}
	for (size_t i = 0; i < c.n_seen; i++) {
		free(c.seen[i].name);
		free(c.seen[i].file);
	}
	free(c.seen);
	if (c.oom || c.errors) {
		pw_config_free(cfg);
		return c.oom ? -ENOMEM : -EINVAL;
	}
	*ret = cfg;
	return 0;
}

struct pw_config *pw_config_free(struct pw_config *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_jobs; i++)
		job_done(&c->jobs[i]);
	free(c->jobs);
	alert_done(&c->alert);
	free(c->main_file);
	free(c->database);
	free(c->control_socket);
	free(c->include_dir);
	free(c);
	return NULL;
}

int pw_config_set_database(struct pw_config *c, const char *path)
{
	char *d = strdup(path);

	if (!d)
		return -ENOMEM;
	free(c->database);
	c->database = d;
	return 0;
}

const struct pw_job *pw_config_find_job(const struct pw_config *c, const char *name)
{
	return find_job(c, name);
}

static bool timing_equal(const struct pw_scan_timing *a, const struct pw_scan_timing *b)
{
	return a->initial_timeout_usec == b->initial_timeout_usec &&
	       a->min_timeout_usec == b->min_timeout_usec &&
	       a->max_timeout_usec == b->max_timeout_usec && a->retries == b->retries &&
	       a->rate == b->rate && a->concurrency == b->concurrency &&
	       a->host_concurrency == b->host_concurrency && a->confirm_count == b->confirm_count &&
	       a->confirm_spacing_usec == b->confirm_spacing_usec;
}

static bool strv_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

bool pw_job_scan_equal(const struct pw_job *a, const struct pw_job *b)
{
	return strcmp(a->name, b->name) == 0 && a->enabled == b->enabled &&
	       pw_iset_equal(&a->space.addrs, &b->space.addrs) &&
	       pw_iset_equal(&a->space.ports, &b->space.ports) &&
	       strv_equal(a->hostnames, a->n_hostnames, b->hostnames, b->n_hostnames) &&
	       pw_iset_equal(&a->exclude_addrs, &b->exclude_addrs) &&
	       a->interval_usec == b->interval_usec && a->jitter_usec == b->jitter_usec &&
	       timing_equal(&a->timing, &b->timing) &&
	       a->accept_all_threshold == b->accept_all_threshold;
}

bool pw_job_equal(const struct pw_job *a, const struct pw_job *b)
{
	return pw_job_scan_equal(a, b) && pw_iset_equal(&a->expect_open, &b->expect_open) &&
	       pw_iset_equal(&a->never_open, &b->never_open) &&
	       strv_equal(a->alert.argv, a->alert.argc, b->alert.argv, b->alert.argc) &&
	       a->alert.events == b->alert.events && a->alert.timeout_usec == b->alert.timeout_usec;
}

pw_u128 pw_job_probe_count(const struct pw_job *j)
{
	/* the caps keep this far from overflow */
	return pw_iset_count(&j->space.addrs) * pw_iset_count(&j->space.ports);
}
