/* SPDX-License-Identifier: MIT */

/*
 * The configuration object: what it holds before any file is read, how it
 * is freed and queried, and when two jobs are the same. Loading it is
 * config-load.c's job; each group of keys has its own parser file.
 */

#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "config-internal.h"

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
	[PW_ALERT_ACCEPTS_EVERYTHING_ENDED] = "accepts-everything-ended",
};

PW_DEFINE_STRING_TABLE_LOOKUP(pw_alert_event, enum pw_alert_event, alert_event_names)

/* ------------------------------------------------------------ defaults */

static const struct tunables tunables_default = {
	.t = {
		.initial_timeout_usec = 1 * SEC,
		.min_timeout_usec = 50 * MSEC,
		.max_timeout_usec = 10 * SEC,
		.retries = 1,
		.max_retries = PW_SCAN_DEFAULT_MAX_RETRIES,
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

struct pw_config *pw_config_new(const char *main_path)
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
	cfg->max_memory = PW_CONFIG_DEFAULT_MAX_MEMORY;
	cfg->max_database_growth = PW_CONFIG_DEFAULT_MAX_DATABASE_GROWTH;
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

/* ------------------------------------------------------------ the object */

struct pw_config *pw_config_free(struct pw_config *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_jobs; i++)
		pw_config_job_done(&c->jobs[i]);
	free(c->jobs);
	pw_config_alert_done(&c->alert);
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
	for (size_t i = 0; i < c->n_jobs; i++)
		if (strcmp(c->jobs[i].name, name) == 0)
			return &c->jobs[i];
	return NULL;
}

static bool timing_equal(const struct pw_scan_timing *a, const struct pw_scan_timing *b)
{
	return a->initial_timeout_usec == b->initial_timeout_usec &&
	       a->min_timeout_usec == b->min_timeout_usec &&
	       a->max_timeout_usec == b->max_timeout_usec && a->retries == b->retries &&
	       a->max_retries == b->max_retries && a->rate == b->rate &&
	       a->concurrency == b->concurrency && a->host_concurrency == b->host_concurrency &&
	       a->confirm_count == b->confirm_count &&
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
