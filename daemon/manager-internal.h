/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the manager's files share: the manager itself (manager.c: life
 * cycle, signals, reload, schedule, control socket, store timers) and the
 * runs in progress (run.c: start, resolve, drive the engine, finish).
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "alert.h"
#include "config.h"
#include "control.h"
#include "engine.h"
#include "manager.h"
#include "notify.h"
#include "ratelimit.h"
#include "report.h"
#include "resolve.h"
#include "scheduler.h"
#include "services.h"
#include "store.h"
#include "util.h"

/* How often queued writes are retried while the database refuses them. */
#define FLUSH_RETRY_USEC (5 * USEC_PER_SEC)

struct job_run {
	struct pw_manager *m;
	/* job (repointed on reload), name (owned), run id and counters */
	struct pw_report_run rr;
	struct pw_engine *engine; /* NULL while host names resolve */
	sd_event_source *io, *timer;
	struct pw_resolve *resolve; /* the job's host names, off the loop */
	sd_event_source *resolve_io;
	bool baseline; /* the job had no completed run before */
	char why[192]; /* why the run could not start, when that needs words */
	uint64_t start_mono, start_real;
	/* "packets are being lost" was logged for this run (run.c) */
	bool loss_noticed;
	struct job_run *next;
};

struct pw_manager {
	sd_event *event;
	char *config_path;
	char *database_override;
	char *control_socket;   /* the --control-socket override, else NULL */
	int log_level_override; /* -1: the config's log_level rules */
	struct pw_config *config;
	struct pw_store *store; /* locks itself: engine workers read it */
	struct pw_scheduler *sched;
	sd_event_source *sched_timer, *flush_timer, *prune_timer;
	struct job_run *runs; /* runs in progress */
	unsigned n_runs;
	struct pw_notify notify;
	int db_lock_fd; /* flock()ed while the store is open: see lock_database() */
	char *db_path;  /* the database with its links resolved: what SQLite opens */
	/* max_rate over all jobs: one bucket every engine draws from */
	struct pw_ratelimit global_rate;
	unsigned inflight_budget;
	struct pw_alerter *alerter;
	struct pw_reporter rep;      /* store, alerter and services, for results */
	struct pw_control *control;  /* NULL: no control socket */
	struct pw_services services; /* port names for events and hooks */
};

static inline uint64_t now_real(void)
{
	return pw_now_usec(CLOCK_REALTIME);
}

static inline uint64_t now_mono(void)
{
	return pw_now_usec(CLOCK_MONOTONIC);
}

/* run.c */
struct job_run *run_find(struct pw_manager *m, const char *name);
void run_stats(const struct job_run *run, struct pw_engine_stats *ret);
int run_start(struct pw_manager *m, const struct pw_job *job);
void run_abort(struct pw_manager *m, struct job_run *run, const char *reason);
void run_free(struct pw_manager *m, struct job_run *run);
void runs_stop_all(struct pw_manager *m, const char *reason);

/* manager.c */
void manager_update_status(struct pw_manager *m, bool force);
void manager_rearm_sched_timer(struct pw_manager *m);
/* Load the configuration again: 0, or -EINVAL when it was rejected (the
 * old one stays; *ret_error, if asked, gets the first error, to free). */
int manager_reload(struct pw_manager *m, char **ret_error);

/* requests.c: what SIGUSR1 and the control socket ask */
void manager_run_all(struct pw_manager *m, unsigned *ret_started, unsigned *ret_running);
int manager_on_control(void *userdata, const char *request, char **ret_reply);
