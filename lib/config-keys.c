/* SPDX-License-Identifier: MIT */

/*
 * The key tables, and what they answer: which key a name is, and, for a
 * name that is none, the message that says where it belongs or what was
 * meant. The suggestions come from the tables the parsers use, so a new
 * key is never left out of them.
 */

#include <string.h>

#include "config-internal.h"

/* ------------------------------------------------------------ key tables */

#define TUN(f) offsetof(struct tunables, f)

static const struct key tunable_keys[] = {
	{ "interval", V_DURATION, TUN(interval), 100 * MSEC, 365 * DAY },
	{ "jitter", V_DURATION, TUN(jitter), 0, 365 * DAY },
	{ "timeout", V_DURATION, TUN(t.initial_timeout_usec), 1 * MSEC, 60 * SEC },
	{ "min_rtt_timeout", V_DURATION, TUN(t.min_timeout_usec), 1 * MSEC, 60 * SEC },
	{ "max_rtt_timeout", V_DURATION, TUN(t.max_timeout_usec), 1 * MSEC, 300 * SEC },
	{ "retries", V_UINT, TUN(t.retries), 0, 10 },
	{ "max_retries", V_UINT, TUN(t.max_retries), 0, PW_SCAN_MAX_RETRIES },
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
	{ "max_memory", V_SIZE, CFG(max_memory), 1 << 20, UINT64_MAX },
	{ "max_database_growth", V_SIZE, CFG(max_database_growth), 1 << 20, UINT64_MAX },
};

static const char *const global_groups[] = { "defaults", "alert", "jobs" };
static const char *const job_only_keys[] = {
	"name",  "enabled",       "targets",     "exclude",
	"ports", "exclude_ports", "expect_open", "never_open",
};
static const char *const alert_keys[] = { "command", "events", "timeout" };

static const struct key *find_key(const struct key *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

const struct key *pw_config_tunable_key(const char *name)
{
	return find_key(tunable_keys, PW_ELEMENTSOF(tunable_keys), name);
}

const struct key *pw_config_global_key(const char *name)
{
	return find_key(global_keys, PW_ELEMENTSOF(global_keys), name);
}

/* ------------------------------------------------------------ unknown keys */

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

void pw_config_consider(const char *key, const char *cand, const char **best, size_t *best_d)
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

#define CONSIDER_TABLE(t)                                             \
	for (size_t i = 0; i < PW_ELEMENTSOF(t); i++) {               \
		pw_config_consider(key, (t)[i].name, &best, &best_d); \
	}
#define CONSIDER_LIST(l)                                         \
	for (size_t i = 0; i < PW_ELEMENTSOF(l); i++) {          \
		pw_config_consider(key, (l)[i], &best, &best_d); \
	}

	switch (scope) {
	case SCOPE_GLOBAL:
		CONSIDER_TABLE(global_keys);
		CONSIDER_LIST(global_groups);
		/* then pw_config_unknown_key() of the suggestion says where it belongs */
		CONSIDER_TABLE(tunable_keys);
		CONSIDER_LIST(job_only_keys);
		break;
	case SCOPE_DROPIN:
		pw_config_consider(key, "jobs", &best, &best_d);
		break;
	case SCOPE_DEFAULTS:
		CONSIDER_TABLE(tunable_keys);
		break;
	case SCOPE_JOB:
		CONSIDER_LIST(job_only_keys);
		CONSIDER_TABLE(tunable_keys);
		pw_config_consider(key, "alert", &best, &best_d);
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

void pw_config_unknown_key(struct ctx *c, const config_setting_t *s, enum scope scope)
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
			return pw_config_error_at(
				c, s,
				"\"%s\" is a per-job setting: set it in a job or in the \"defaults\" group",
				key);
		if (job_only)
			return pw_config_error_at(
				c, s,
				"\"%s\" belongs in a job: jobs = ( { name = \"...\"; %s = ...; } );",
				key, key);
		break;
	case SCOPE_DROPIN:
		if (global || tunable)
			return pw_config_error_at(
				c, s,
				"\"%s\" cannot be set in a drop-in file: drop-ins hold only \"jobs\"; global settings and \"defaults\" belong in the main file",
				key);
		if (job_only)
			return pw_config_error_at(
				c, s,
				"\"%s\" belongs in a job: jobs = ( { name = \"...\"; %s = ...; } );",
				key, key);
		break;
	case SCOPE_DEFAULTS:
		if (job_only)
			return pw_config_error_at(c, s, "\"%s\" has no default: set it in each job",
						  key);
		if (global)
			return pw_config_error_at(
				c, s,
				"\"%s\" is a global setting: set it at the top of the main file, outside \"defaults\"",
				key);
		break;
	case SCOPE_JOB:
		if (global)
			return pw_config_error_at(
				c, s, "\"%s\" is a global setting and cannot be set in a job", key);
		break;
	case SCOPE_ALERT:
		break;
	}
	sugg = closest_key(scope, key);
	if (sugg)
		pw_config_error_at(c, s, "unknown key \"%.80s\" (did you mean \"%s\"?)", key, sugg);
	else
		pw_config_error_at(c, s, "unknown key \"%.80s\"", key);
}
