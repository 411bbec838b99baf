/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The configuration: one main file (global settings, defaults, maybe jobs)
 * plus every *.conf in the drop-in directory, in name order (libconfig 1.5
 * has no @include_dir, so the loader reads them). Keys are documented in
 * portwatchd.conf(5). Loading is all or nothing: on any error the caller
 * gets no config at all, and every error found (not only the first) is in
 * the pw_diag as "file:line: job "x": what is wrong".
 *
 * (This header is not called config.h: that name is autoconf's.)
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iset.h"
#include "scan.h"

/* Caps, documented in portwatchd.conf(5). */
#define PW_CONFIG_MAX_PROBES_PER_RUN ((pw_u128)1 << 32) /* a /16 x all ports fits */
#define PW_CONFIG_MAX_ADDRS_PER_JOB ((pw_u128)1 << 24)  /* = PW_TARGETS_MAX_ADDRS */
#define PW_CONFIG_MAX_HOSTNAMES_PER_JOB 256
#define PW_CONFIG_MAX_JOBS 4096
#define PW_CONFIG_MAX_NAME 64 /* job names: [A-Za-z0-9._-], first alphanumeric */
#define PW_CONFIG_MAX_ALERT_ARGS 64
#define PW_CONFIG_MAX_ALERT_ARG_LEN 131072  /* MAX_ARG_STRLEN: execve(2) refuses more */
#define PW_CONFIG_MAX_FILE_SIZE (16u << 20) /* bytes per configuration file */
#define PW_CONFIG_DEFAULT_MAX_MEMORY (UINT64_C(2) << 30)
#define PW_CONFIG_DEFAULT_MAX_DATABASE_GROWTH (UINT64_C(8) << 30)

#ifndef PW_DEFAULT_DATABASE
#define PW_DEFAULT_DATABASE "/var/lib/portwatch/portwatch.db"
#endif
#define PW_DEFAULT_INCLUDE_DIR "conf.d"
#ifndef PW_DEFAULT_CONTROL_SOCKET
#define PW_DEFAULT_CONTROL_SOCKET "/run/portwatch/portwatchd.sock"
#endif

/*
 * The messages of one load, in order; each ends without a newline. After
 * PW_DIAG_MAX the rest are only counted (a 15 MB list of empty elements is
 * millions of errors), and the load ends with "... and N more errors".
 */
#define PW_DIAG_MAX 100
struct pw_diag {
	char **msgs;
	size_t n, cap;
	size_t dropped; /* messages counted, not kept */
};

/* A braced initializer on one line; clang-format would spread it. */
/* clang-format off */
#define PW_DIAG_INIT { NULL, 0, 0, 0 }
/* clang-format on */

void pw_diag_done(struct pw_diag *d);
/* Past PW_DIAG_MAX messages, counts it in d->dropped instead. */
int pw_diag_add(struct pw_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The "... and N more errors" line, if any were dropped (pw_config_load()'s last step). */
int pw_diag_finish(struct pw_diag *d);

/* Event types an alert can subscribe to; the names are config values. */
enum pw_alert_event {
	PW_ALERT_OPENED,
	PW_ALERT_CLOSED,
	PW_ALERT_FILTERED,
	PW_ALERT_UNEXPECTED_OPEN,
	PW_ALERT_EXPECTED_CLOSED,
	PW_ALERT_FLAPPING,
	PW_ALERT_ACCEPTS_EVERYTHING,
	PW_ALERT_RUN_FAILED,
	PW_ALERT_UNREACHABLE, /* an open port's host stopped answering (ICMP unreachable) */
	PW_ALERT_ACCEPTS_EVERYTHING_ENDED, /* an address stopped accepting every port */
	_PW_ALERT_EVENT_MAX,
};

#define PW_ALERT_EVENTS_ALL ((1u << _PW_ALERT_EVENT_MAX) - 1)

const char *pw_alert_event_to_string(enum pw_alert_event e);
/* Returns the event, or -EINVAL. */
int pw_alert_event_from_string(const char *s);

struct pw_alert {
	char **argv; /* NULL-terminated; NULL = no alert command */
	size_t argc;
	unsigned events;       /* bit (1u << enum pw_alert_event) */
	uint64_t timeout_usec; /* the command is killed after this */
};

struct pw_job {
	char *name;
	char *file; /* where it was defined, for messages */
	int line;
	bool enabled;

	/* addresses (exclusions subtracted) x ports (exclusions subtracted) */
	struct pw_scan_space space;
	char **hostnames; /* resolved at each run: see pw_targets_resolve() */
	size_t n_hostnames;
	struct pw_iset exclude_addrs; /* also to subtract from resolved names */

	uint64_t interval_usec;
	uint64_t jitter_usec; /* each run starts up to this much late */
	struct pw_scan_timing timing;
	double accept_all_threshold; /* open share that flags "accepts everything"; 0 = off */

	struct pw_iset expect_open; /* ports; subsets of space.ports, disjoint */
	struct pw_iset never_open;
	struct pw_alert alert; /* global alert settings with this job's overrides */
};

struct pw_config {
	char *main_file;
	char *database;
	char *control_socket;    /* `portwatch run` talks to the daemon here */
	char *include_dir;       /* as resolved: relative to the main file's directory */
	int log_level;           /* LOG_* from syslog.h */
	unsigned max_inflight;   /* probes in flight, all jobs; 0 = from RLIMIT_NOFILE */
	unsigned max_rate;       /* probes per second, all jobs; 0 = unlimited */
	unsigned workers;        /* engine threads per run; 0 and 1 both mean one */
	uint64_t retention_usec; /* history kept; 0 = forever */
	/* ceilings on what the jobs together may cost if none of their ports
	 * is closed (estimate.h): memory, and database growth of first runs */
	uint64_t max_memory, max_database_growth;

	/* the "defaults" group, which every job starts from */
	struct pw_scan_timing defaults;
	uint64_t default_interval_usec;
	uint64_t default_jitter_usec;
	double default_accept_all_threshold;
	struct pw_alert alert;

	struct pw_job *jobs; /* in file order: main file, then drop-ins by name */
	size_t n_jobs;
};

/*
 * Load main_path and its drop-ins. Returns 0 and a config, -EINVAL when
 * the files have errors (all of them added to diag), or -ENOMEM. Nothing
 * is returned unless everything loaded.
 */
int pw_config_load(const char *main_path, struct pw_config **ret, struct pw_diag *diag);

struct pw_config *pw_config_free(struct pw_config *c);

/* Replace the database path (the --database option). Returns 0 or -ENOMEM. */
int pw_config_set_database(struct pw_config *c, const char *path);

const struct pw_job *pw_config_find_job(const struct pw_config *c, const char *name);

/*
 * Same scan, schedule, expectations and alerts? Where a job is written
 * (file, line) does not count, so moving a job leaves it running.
 */
bool pw_job_equal(const struct pw_job *a, const struct pw_job *b);

/*
 * Same scan and schedule (targets, ports, timing, interval)? Jobs that
 * differ only in expectations or alerts keep their run going on reload.
 */
bool pw_job_scan_equal(const struct pw_job *a, const struct pw_job *b);

/*
 * Probes per run for the numeric addresses: addresses x ports (each
 * hostname adds its resolved addresses x ports at run time).
 */
pw_u128 pw_job_probe_count(const struct pw_job *j);
