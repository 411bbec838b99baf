/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * When each job runs. Pure logic on CLOCK_REALTIME microseconds passed in
 * by the caller (realtime, because due times are derived from run start
 * times the store keeps across restarts); the manager arms one sd-event
 * timer at pw_scheduler_next_deadline() and calls pw_scheduler_poll().
 *
 * Rules:
 * - A job runs every interval on a fixed cadence (anchor + k * interval)
 *   plus a fresh random delay in [0, jitter] each time, so jobs with the
 *   same interval drift apart instead of firing together.
 * - A job never overlaps itself: a due time that passes while the job is
 *   still running yields one PW_SCHED_SKIP action and the cadence moves on.
 * - After a stall (suspend, long overrun) missed runs are not made up: the
 *   next run is one interval from now.
 * - On start, a job that ran before is due one interval after its last
 *   start; a job that is overdue, or new, runs within the start spread
 *   (randomly placed), so a restart never rescans everything at once.
 */

#include <stdbool.h>
#include <stdint.h>

struct pw_scheduler;

enum pw_sched_kind {
	PW_SCHED_RUN,  /* start the job now */
	PW_SCHED_SKIP, /* a due time passed while the job was still running */
};

struct pw_sched_action {
	enum pw_sched_kind kind;
	const char *job; /* valid until the job is removed */
	/* SKIP: the job's skips since it last started, this one included;
	 * a job that keeps skipping is behind its schedule */
	unsigned skips_in_row;
};

/* spread_usec bounds the random start delay of new and overdue jobs. */
int pw_scheduler_new(uint64_t seed, uint64_t spread_usec, struct pw_scheduler **ret);
struct pw_scheduler *pw_scheduler_free(struct pw_scheduler *s);

/*
 * Add a job; last_start is the realtime start of its previous run from the
 * store, or 0 if it never ran. Returns -EEXIST for a duplicate name,
 * -EINVAL for a zero interval.
 */
int pw_scheduler_add(struct pw_scheduler *s, const char *job, uint64_t interval_usec,
		     uint64_t jitter_usec, uint64_t last_start, uint64_t now);
int pw_scheduler_remove(struct pw_scheduler *s, const char *job);

/* Next action due at or before now: 1 and *ret filled, or 0 if none. */
int pw_scheduler_poll(struct pw_scheduler *s, uint64_t now, struct pw_sched_action *ret);

/* Earliest due time over all jobs (running ones too: their due time
 * yields a skip); UINT64_MAX if none. */
uint64_t pw_scheduler_next_deadline(const struct pw_scheduler *s);

/* The job's run ended (completed, failed or aborted). */
int pw_scheduler_finished(struct pw_scheduler *s, const char *job);

/* Run a job now (SIGUSR1, `portwatch run`): -EBUSY if it is running. */
int pw_scheduler_run_now(struct pw_scheduler *s, const char *job, uint64_t now);

/* Introspection for STATUS= and `portwatch status`. */
int pw_scheduler_job_due(const struct pw_scheduler *s, const char *job, uint64_t *ret_due);
bool pw_scheduler_job_running(const struct pw_scheduler *s, const char *job);
