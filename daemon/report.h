/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Reporting: the one place that decides what a probe result means, and
 * hands that decision to the store (which records it), the journal (which
 * logs it) and the alerter (which runs a hook for it). Each is called at
 * most once per result; none of them judges again.
 *
 *   engine --result--> report: the port's recorded state (pw_store_prior),
 *                      change detection (change.h) and the job's policy
 *                      (policy.h), once each
 *                  --> store  pw_store_record: the change and its verdict
 *                  --> events pw_event_log: one entry, at its priority
 *                  --> alert  pw_alerter_submit: at most one hook
 *
 * The last two wait for the store's commit (see pw_report_settle()).
 *
 * pw_report_decide() is that decision as a pure function (no store, no
 * journal), so tests/test_report.c drives its whole table.
 */

#include <stdbool.h>
#include <stdint.h>

#include "addrset.h"
#include "alert.h"
#include "change.h"
#include "config.h"
#include "engine.h"
#include "events.h"
#include "policy.h"
#include "services.h"
#include "store.h"

/* What one observation means, for every consumer. */
struct pw_report_decision {
	struct pw_change change;        /* what the store records */
	enum pw_policy_verdict verdict; /* stored with an event */
	enum pw_event_type event;       /* the journal entry; _PW_EVENT_MAX: none */
	/* The same change without its verdict (port-opened for an
	 * unexpected-open): the hook event for an alert that does not take
	 * the verdict's. _PW_EVENT_MAX: none (baselines, first sightings). */
	enum pw_event_type plain;
	int priority;          /* of the journal entry: a change the policy expects is a notice */
	bool counts_as_change; /* a confirmed change after the baseline */
};

/*
 * Decide: prior is what the store knows of the port, observed what the
 * engine saw (with unconfirmed: re-probes did not agree, a flap), expect
 * what the job's policy says of the port. Returns 0 or -EINVAL.
 */
int pw_report_decide(const struct pw_store_prior *prior, enum pw_state observed, bool unconfirmed,
		     enum pw_policy_expect expect, struct pw_report_decision *ret);

/*
 * The hook event for a decision under an alert configuration: the
 * verdict's event if the alert takes it, else the plain change's, else
 * none (_PW_ALERT_EVENT_MAX). At most one hook per change.
 */
enum pw_alert_event pw_report_alert_event(const struct pw_report_decision *d,
					  const struct pw_alert *cfg);

/*
 * An address's accepts-all state (store.h): was is the stored state, found
 * whether this run found it accepting every port, refuted whether it saw
 * one of its ports not open. Returns PW_CHANGE_ACCEPTS_ALL when it begins,
 * PW_CHANGE_ACCEPTS_ALL_ENDED when it ends (only after a complete run:
 * the caller asks then), else PW_CHANGE_NONE: one event per episode, not
 * one per run.
 */
enum pw_change_kind pw_report_decide_address(bool was, bool found, bool refuted);

struct pw_report_tell;

/* What the daemon reports through, owned by the manager. */
struct pw_reporter {
	struct pw_store *store;
	struct pw_alerter *alerter; /* NULL: no hooks configured anywhere */
	const struct pw_services *services;
	uint64_t alerts_dropped; /* since the alert queue was last full */
	bool store_failing;      /* a write failed; say so again only on recovery */
	uint64_t flush_retry_usec;
	/* the loop's wait for another writer's lock; while writes fail, none:
	 * the retry timer tries again, the loop does not wait again and
	 * again (0: leave the store's setting alone) */
	unsigned busy_timeout_ms;
	/* changes recorded but not committed yet: told at the commit */
	struct pw_report_tell *held;
	size_t n_held, cap_held;
};

/* One run as reporting sees it. */
struct pw_report_run {
	const struct pw_job *job; /* expect_open, never_open, alert */
	char *name;               /* the job's, owned by whoever owns the run */
	int64_t run_id;
	struct pw_event_counts counts;
	uint64_t store_refused; /* observations refused at the store's memory bound */
	/* addresses: found accepting everything in this run; accepting it when
	 * the run began (loaded at its first result); of those, seen with a
	 * port not open. Free with pw_report_run_done(). */
	struct pw_addrset wild, suspects, refuted;
	bool suspects_loaded;
};

/*
 * Changes are told (journal, hook) when the batch that records them
 * commits, never before: pw_report_committed() is the store's commit
 * callback (userdata the reporter), pw_report_settle() commits what the
 * results since the last call held (call it after each batch of results,
 * and whenever a run ends), and pw_report_tell_held() tells what waits
 * without a commit (before the configuration or the services table it
 * points into changes, and at stop). pw_report_done() tells the rest and
 * frees.
 */
void pw_report_committed(void *userdata);
void pw_report_settle(struct pw_reporter *rep);
void pw_report_tell_held(struct pw_reporter *rep);
void pw_report_done(struct pw_reporter *rep);

/* Decide and hand one probe result to the store, the journal and the alerter. */
void pw_report_result(struct pw_reporter *rep, struct pw_report_run *run,
		      const struct pw_probe_result *r);

/*
 * A run completed: every address that accepted everything when it began
 * and that it saw refuse a port without finding it accepting everything
 * ends that state (an event, a hook). Call before the store ends the run.
 */
void pw_report_run_completed(struct pw_reporter *rep, struct pw_report_run *run);

/* Free what the run's reporting holds (not the run). */
void pw_report_run_done(struct pw_report_run *run);

/* A run-level event for the job's hook (run-failed); addr may be NULL. */
void pw_report_job_alert(struct pw_reporter *rep, const struct pw_job *job, enum pw_alert_event e,
			 int64_t run_id, const pw_u128 *addr, const char *reason);

/*
 * The outcome r of a store write (what: "Writing history"): a failure is
 * logged once until writes succeed again, and that recovery once.
 */
void pw_report_store(struct pw_reporter *rep, int r, const char *what);

/* The text for a failed store call: the store's message when the database said it. */
const char *pw_report_store_strerror(const struct pw_reporter *rep, int r);

/* pw_alert_done_cb_t for the alerter, userdata the reporter: logs how a hook ended. */
void pw_report_alert_done(void *userdata, const struct pw_alert_result *res);
