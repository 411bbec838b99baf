/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <systemd/sd-event.h>

#include "alert.h"
#include "control.h"
#include "engine.h"
#include "events.h"
#include "log.h"
#include "manager.h"
#include "notify.h"
#include "policy.h"
#include "ratelimit.h"
#include "resolve.h"
#include "scheduler.h"
#include "services.h"
#include "store.h"
#include "targets.h"
#include "util.h"

/* New and overdue jobs start within this window after (re)start. */
#define START_SPREAD_USEC (30 * USEC_PER_SEC)
/* How often queued writes are retried while the database refuses them. */
#define FLUSH_RETRY_USEC (5 * USEC_PER_SEC)
/* Retention: rows deleted per step, and how often a step runs. */
#define PRUNE_BATCH 1000
#define PRUNE_PERIOD_USEC (60 * USEC_PER_SEC)

struct job_run {
	struct pw_manager *m;
	char *name;
	const struct pw_job *job; /* in m->config; repointed on reload */
	struct pw_engine *engine; /* NULL while host names resolve */
	sd_event_source *io, *timer;
	struct pw_resolve *resolve; /* the job's host names, off the loop */
	sd_event_source *resolve_io;
	int64_t run_id;
	bool baseline; /* the job had no completed run before */
	uint64_t start_mono, start_real;
	struct pw_event_counts counts;
	uint64_t store_refused; /* observations refused at the memory bound */
	struct job_run *next;
};

struct pw_manager {
	sd_event *event;
	char *config_path;
	char *database_override;
	char *control_socket;   /* the --control-socket override, else NULL */
	int log_level_override; /* -1: the config's log_level rules */
	struct pw_config *config;
	struct pw_store *store;
	struct pw_scheduler *sched;
	sd_event_source *sched_timer, *flush_timer, *prune_timer;
	struct job_run *runs; /* runs in progress */
	unsigned n_runs;
	/* Worker threads of an engine ask the store for previous states while
	 * this thread records results: one lock around every store call made
	 * while a run is active. */
	pthread_mutex_t store_lock;
	struct pw_notify notify;
	int db_lock_fd; /* flock()ed while the store is open: see lock_database() */
	/* max_rate over all jobs: one bucket every engine draws from */
	struct pw_ratelimit global_rate;
	bool store_failing; /* a write failed; log again only on recovery */
	unsigned inflight_budget;
	struct pw_alerter *alerter;
	uint64_t alerts_dropped;     /* since the queue was last full */
	struct pw_control *control;  /* NULL: no control socket */
	struct pw_services services; /* port names for events and hooks */
};

static uint64_t now_real(void)
{
	return pw_now_usec(CLOCK_REALTIME);
}

static uint64_t now_mono(void)
{
	return pw_now_usec(CLOCK_MONOTONIC);
}

/* ------------------------------------------------------------ store */

/*
 * What a failed store call returned: the store's own message when the
 * error came from the database (it names the file and SQLite's text), the
 * errno text when it did not (bad arguments, no memory): the store's
 * message would be an older failure's then.
 */
static const char *store_strerror(struct pw_manager *m, int r)
{
	switch (-r) {
	case ENOMEM:
	case EINVAL:
	case ESRCH:
	case EROFS:
		return strerror(-r);
	default:
		return pw_store_last_error(m->store)[0] ? pw_store_last_error(m->store)
							: strerror(-r);
	}
}

static void store_report(struct pw_manager *m, int r, const char *what)
{
	if (r >= 0 && r != PW_STORE_DEFERRED) {
		if (m->store_failing && pw_store_pending(m->store) == 0) {
			pw_log_notice("Database writes succeed again; queued history written");
			m->store_failing = false;
		}
		return;
	}
	if (!m->store_failing)
		pw_log_error(
			"%s: %s; keeping %zu pending writes in memory and retrying every %llus",
			what, pw_store_last_error(m->store), pw_store_pending(m->store),
			(unsigned long long)(FLUSH_RETRY_USEC / USEC_PER_SEC));
	m->store_failing = true;
}

static int on_flush_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct pw_manager *m = userdata;
	int r;

	if (pw_store_needs_flush(m->store)) {
		pthread_mutex_lock(&m->store_lock);
		r = pw_store_flush(m->store);
		pthread_mutex_unlock(&m->store_lock);
		store_report(m, r, "Writing history");
	}
	return sd_event_source_set_time(s, usec + FLUSH_RETRY_USEC);
}

static int on_prune_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct pw_manager *m = userdata;
	uint64_t keep = m->config->retention_usec, now = now_real();

	/* One small batch per tick: retention never holds up a scan. */
	if (keep > 0 && now > keep) {
		int r;

		pthread_mutex_lock(&m->store_lock);
		r = pw_store_prune(m->store, now - keep, PRUNE_BATCH);
		pthread_mutex_unlock(&m->store_lock);
		if (r < 0)
			pw_log_warning("Pruning history older than retention: %s",
				       pw_store_last_error(m->store));
		else if (r > 0)
			pw_log_debug("Pruned %d rows older than retention", r);
		if (r == PRUNE_BATCH)
			return sd_event_source_set_time(s, usec + USEC_PER_SEC);
	}
	return sd_event_source_set_time(s, usec + PRUNE_PERIOD_USEC);
}

/* ------------------------------------------------------------ runs */

static struct job_run *find_run(struct pw_manager *m, const char *name)
{
	for (struct job_run *r = m->runs; r; r = r->next)
		if (strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

/* A run still resolving its host names has probed nothing yet. */
static void run_stats(const struct job_run *run, struct pw_engine_stats *ret)
{
	if (run->engine)
		pw_engine_get_stats(run->engine, ret);
	else
		*ret = (struct pw_engine_stats){ 0 };
}

static void update_status(struct pw_manager *m, bool force)
{
	char buf[256] = "";
	size_t used = 0;
	unsigned shown = 0;

	if (!m->runs) {
		uint64_t next = pw_scheduler_next_deadline(m->sched);
		char dur[32];

		if (next == UINT64_MAX)
			(void)pw_notify_status(&m->notify, now_mono(), force,
					       "Idle, no enabled jobs");
		else
			(void)pw_notify_status(&m->notify, now_mono(), force,
					       "Idle, next run in %s",
					       pw_format_duration(dur, sizeof(dur),
								  next > now_real()
									  ? (next - now_real()) /
										    USEC_PER_SEC *
										    USEC_PER_SEC
									  : 0));
		return;
	}
	for (struct job_run *r = m->runs; r && shown < 4; r = r->next, shown++) {
		struct pw_engine_stats st;
		char progress[24] = "resolving";
		int n;

		run_stats(r, &st);
		if (r->engine)
			snprintf(progress, sizeof(progress), "%llu%%",
				 st.total ? (unsigned long long)(st.done * 100 / st.total) : 0ULL);
		n = snprintf(buf + used, sizeof(buf) - used, "%s%s %s", shown ? ", " : "", r->name,
			     progress);
		if (n < 0 || (size_t)n >= sizeof(buf) - used)
			break;
		used += (size_t)n;
	}
	(void)pw_notify_status(&m->notify, now_mono(), force, "Scanning: %s%s", buf,
			       m->n_runs > shown ? ", ..." : "");
}

/* ------------------------------------------------------------ alerts */

/* Print hook output on one log line: control characters become spaces. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static void on_alert_done(void *userdata, const struct pw_alert_result *res)
{
	struct pw_manager *m = userdata;
	_cleanup_free_ char *out = strndup(res->output, res->output_len);
	char dur[32], what[192];
	const char *sep = out && *out ? "; output: " : "";

	if (out)
		one_line(out);
	snprintf(what, sizeof(what), "Alert hook %s for %s%s%s", res->program, res->event,
		 res->job ? " of job " : "", res->job ?: "");
	pw_format_duration(dur, sizeof(dur), res->duration_usec);
	if (res->spawn_error)
		pw_log_error("%s could not start: %s", what, strerror(res->spawn_error));
	else if (res->timed_out)
		pw_log_warning("%s timed out and was killed (signal %d)%s%s%s", what,
			       res->exited ? 0 : res->term_signal, sep, out ?: "",
			       res->output_truncated ? "..." : "");
	else if (!res->exited)
		pw_log_warning("%s was killed by signal %d after %s%s%s%s", what, res->term_signal,
			       dur, sep, out ?: "", res->output_truncated ? "..." : "");
	else
		pw_log(res->exit_status ? LOG_WARNING : LOG_INFO,
		       "%s exited with status %d after %s%s%s%s", what, res->exit_status, dur, sep,
		       out ?: "", res->output_truncated ? "..." : "");
	if (m->alerts_dropped && pw_alerter_queued(m->alerter) == 0) {
		pw_log_warning("Alert queue drained; %llu alert(s) were dropped while it was full",
			       (unsigned long long)m->alerts_dropped);
		m->alerts_dropped = 0;
	}
}

static void alert_submit(struct pw_manager *m, const struct pw_alert *cfg,
			 const struct pw_alert_info *info)
{
	int r;

	if (!m->alerter || !pw_alert_wants(cfg, info->event))
		return;
	r = pw_alerter_submit(m->alerter, cfg, info);
	if (r == -ENOBUFS) {
		/* Alerts are notifications; the event itself is in the database. */
		if (m->alerts_dropped++ == 0)
			pw_log_warning(
				"Alert queue full (%u hooks running, %zu queued): dropping alerts until it drains",
				pw_alerter_running(m->alerter), pw_alerter_queued(m->alerter));
	} else if (r < 0) {
		pw_log_error("Alert for %s: %s", pw_alert_event_to_string(info->event),
			     strerror(-r));
	}
}

/* At most one hook per change: the policy's event if subscribed, else the
 * plain change. */
static void alert_change(struct job_run *run, const struct pw_probe_result *r,
			 const struct pw_change *c, enum pw_policy_verdict v)
{
	const struct pw_alert *cfg = &run->job->alert;
	struct pw_alert_info info = {
		.event = _PW_ALERT_EVENT_MAX,
		.job = run->name,
		.run_id = run->run_id,
		.has_address = true,
		.address = r->addr,
		.port = r->port,
		.has_old_state = c->has_old,
		.old_state = c->old_state,
		.has_new_state = true,
		.new_state = c->new_state,
		.time_usec = now_real(),
	};

	if (v == PW_VERDICT_UNEXPECTED_OPEN && pw_alert_wants(cfg, PW_ALERT_UNEXPECTED_OPEN))
		info.event = PW_ALERT_UNEXPECTED_OPEN;
	else if (v == PW_VERDICT_EXPECTED_CLOSED && pw_alert_wants(cfg, PW_ALERT_EXPECTED_CLOSED))
		info.event = PW_ALERT_EXPECTED_CLOSED;
	else
		switch (c->kind) {
		case PW_CHANGE_OPENED:
			info.event = PW_ALERT_OPENED;
			break;
		case PW_CHANGE_CLOSED:
			info.event = PW_ALERT_CLOSED;
			break;
		case PW_CHANGE_FILTERED:
			info.event = PW_ALERT_FILTERED;
			break;
		case PW_CHANGE_FLAP:
			info.event = PW_ALERT_FLAPPING;
			break;
		case PW_CHANGE_UNREACHABLE:
			info.event = PW_ALERT_UNREACHABLE;
			break;
		case PW_CHANGE_NONE:
		case PW_CHANGE_BASELINE:
		case PW_CHANGE_NEW:
		case _PW_CHANGE_MAX:
			return;
		}
	if (!pw_alert_wants(cfg, info.event))
		return;
	info.service = pw_services_name(&run->m->services, r->port);
	alert_submit(run->m, cfg, &info);
}

static void alert_job_event(struct pw_manager *m, const struct pw_job *job, enum pw_alert_event e,
			    int64_t run_id, const pw_u128 *addr, const char *reason)
{
	struct pw_alert_info info = {
		.event = e,
		.job = job->name,
		.run_id = run_id,
		.has_address = addr != NULL,
		.address = addr ? *addr : 0,
		.time_usec = now_real(),
		.reason = reason,
	};

	alert_submit(m, &job->alert, &info);
}

static void log_port_change(struct job_run *run, const struct pw_probe_result *r,
			    const struct pw_change *c, enum pw_policy_verdict v)
{
	struct pw_event ev = {
		.job = run->name,
		.run_id = run->run_id,
		.has_address = true,
		.address = r->addr,
		.port = r->port,
		.service = pw_services_name(&run->m->services, r->port),
		.has_old_state = c->has_old,
		.old_state = c->old_state,
		.has_new_state = true,
		.new_state = c->new_state,
		.has_rtt = r->rtt_usec > 0,
		.rtt_usec = r->rtt_usec,
	};

	switch (c->kind) {
	case PW_CHANGE_OPENED:
	case PW_CHANGE_CLOSED:
	case PW_CHANGE_FILTERED:
	case PW_CHANGE_UNREACHABLE:
		ev.type = pw_event_type_for_state(c->new_state);
		break;
	case PW_CHANGE_FLAP:
		ev.type = PW_EVENT_PORT_FLAPPING;
		break;
	case PW_CHANGE_NONE:
	case PW_CHANGE_BASELINE:
	case PW_CHANGE_NEW:
	case _PW_CHANGE_MAX:
		/* Baselines are summed up once per run; a new closed port is
		 * noise; a violation at baseline is logged below. */
		ev.type = _PW_EVENT_MAX;
		break;
	}
	/* One entry per change: a violation replaces the plain change event. */
	switch (v) {
	case PW_VERDICT_UNEXPECTED_OPEN:
		ev.type = PW_EVENT_UNEXPECTED_OPEN;
		break;
	case PW_VERDICT_EXPECTED_CLOSED:
		ev.type = PW_EVENT_EXPECTED_CLOSED;
		break;
	case PW_VERDICT_EXPECTED:
		if (ev.type != _PW_EVENT_MAX)
			(void)pw_event_log_priority(&ev, LOG_NOTICE);
		return;
	case PW_VERDICT_NONE:
	case _PW_VERDICT_MAX:
		break;
	}
	if (ev.type != _PW_EVENT_MAX)
		(void)pw_event_log(&ev);
}

static void count_state(struct pw_event_counts *c, enum pw_state s)
{
	switch (s) {
	case PW_STATE_OPEN:
		c->open++;
		break;
	case PW_STATE_CLOSED:
		c->closed++;
		break;
	case PW_STATE_FILTERED:
		c->filtered++;
		break;
	case PW_STATE_UNREACHABLE:
		c->unreachable++;
		break;
	case _PW_STATE_MAX:
		break;
	}
}

static void on_result(void *userdata, const struct pw_probe_result *r)
{
	struct job_run *run = userdata;
	struct pw_manager *m = run->m;
	struct pw_change change = { .kind = PW_CHANGE_NONE };
	enum pw_policy_verdict verdict;
	struct pw_store_obs obs;
	int k;

	if (r->flags & PW_RESULT_ACCEPTS_ALL) {
		(void)pw_event_log(&(struct pw_event){
			.type = PW_EVENT_ADDRESS_ACCEPTS_ALL,
			.job = run->name,
			.run_id = run->run_id,
			.has_address = true,
			.address = r->addr,
		});
		alert_job_event(m, run->job, PW_ALERT_ACCEPTS_EVERYTHING, run->run_id, &r->addr,
				NULL);
		return;
	}
	run->counts.probes_done++;
	count_state(&run->counts, r->state);

	obs = (struct pw_store_obs){
		.addr = r->addr,
		.port = r->port,
		/* an unconfirmed flap is recorded as what was seen, flagged */
		.state = (r->flags & PW_RESULT_UNCONFIRMED) ? r->observed : r->state,
		.flags = (r->flags & PW_RESULT_UNCONFIRMED) ? PW_OBS_UNCONFIRMED : 0,
		.rtt_usec = r->rtt_usec,
		.time_usec = now_real(),
		.expect = pw_policy_expect(&run->job->expect_open, &run->job->never_open, r->port),
	};
	pthread_mutex_lock(&m->store_lock);
	k = pw_store_observe(m->store, run->run_id, &obs, &change);
	pthread_mutex_unlock(&m->store_lock);
	if (k == -ENOBUFS) {
		/* The change is detected again at the next observation once writes succeed. */
		if (run->store_refused++ == 0)
			pw_log_error(
				"Job %s: database write queue full (%s); changes are held back until writes succeed",
				run->name, pw_store_last_error(m->store));
		return;
	}
	if (k < 0) {
		char a[PW_ADDR_STRLEN];

		pw_log_error("Job %s: cannot record %s port %u: %s", run->name,
			     pw_addr_format(r->addr, a), r->port, store_strerror(m, k));
		return;
	}
	store_report(m, k, "Writing history");
	if (change.kind != PW_CHANGE_NONE && change.kind != PW_CHANGE_BASELINE &&
	    change.kind != PW_CHANGE_NEW && change.kind != PW_CHANGE_FLAP)
		run->counts.changes++;
	verdict = pw_policy_classify(obs.expect, &change);
	log_port_change(run, r, &change, verdict);
	alert_change(run, r, &change, verdict);
}

static int prev_state(void *userdata, pw_u128 addr, uint16_t port)
{
	struct job_run *run = userdata;
	enum pw_state s;
	int r;

	pthread_mutex_lock(&run->m->store_lock);
	r = pw_store_get_state(run->m->store, run->run_id, addr, port, &s);
	pthread_mutex_unlock(&run->m->store_lock);
	return r < 0 ? r : (int)s;
}

/* The address "::" holds a job's run-wide RTT estimate in the store's rtt table. */
static int find_job_rtt(const struct pw_store_rtt *r, void *userdata)
{
	struct pw_store_rtt *out = userdata;

	if (r->addr == 0)
		*out = *r;
	return 0;
}

static void load_rtt(struct job_run *run, struct pw_engine_params *p)
{
	struct pw_store_rtt saved = { 0 };

	pthread_mutex_lock(&run->m->store_lock);
	(void)pw_store_load_rtt(run->m->store, run->name, find_job_rtt, &saved);
	pthread_mutex_unlock(&run->m->store_lock);
	if (saved.srtt_usec > 0 && saved.srtt_usec <= UINT32_MAX &&
	    saved.rttvar_usec <= UINT32_MAX) {
		p->saved_srtt_usec = (uint32_t)saved.srtt_usec;
		p->saved_rttvar_usec = (uint32_t)saved.rttvar_usec;
	}
}

static void save_rtt(struct pw_manager *m, struct job_run *run)
{
	uint32_t srtt, rttvar;
	int r;

	if (!pw_engine_rtt(run->engine, &srtt, &rttvar))
		return;
	pthread_mutex_lock(&m->store_lock);
	r = pw_store_save_rtt(m->store, run->name,
			      &(struct pw_store_rtt){
				      .addr = 0, .srtt_usec = srtt, .rttvar_usec = rttvar },
			      1, now_real());
	pthread_mutex_unlock(&m->store_lock);
	if (r < 0)
		pw_log_debug("Job %s: saving the RTT estimate: %s", run->name,
			     pw_store_last_error(m->store));
}

static void run_free(struct pw_manager *m, struct job_run *run)
{
	struct job_run **p;

	for (p = &m->runs; *p; p = &(*p)->next)
		if (*p == run) {
			*p = run->next;
			m->n_runs--;
			break;
		}
	sd_event_source_disable_unref(run->io);
	sd_event_source_disable_unref(run->timer);
	sd_event_source_disable_unref(run->resolve_io);
	pw_resolve_free(run->resolve);
	pw_engine_free(run->engine);
	free(run->name);
	free(run);
}

/* End a run: record it, log it, hand the job back to the scheduler. */
static void run_finish(struct pw_manager *m, struct job_run *run, enum pw_run_status status,
		       const char *reason, int error)
{
	enum pw_event_type type = PW_EVENT_RUN_COMPLETED;
	int r;

	run->counts.duration_usec = now_mono() - run->start_mono;
	if (status == PW_RUN_COMPLETED)
		save_rtt(m, run);
	pthread_mutex_lock(&m->store_lock);
	r = pw_store_run_end(m->store, run->run_id, status, now_real());
	pthread_mutex_unlock(&m->store_lock);
	store_report(m, r, "Recording the end of a run");

	switch (status) {
	case PW_RUN_COMPLETED:
		type = PW_EVENT_RUN_COMPLETED;
		break;
	case PW_RUN_ABORTED:
		type = PW_EVENT_RUN_ABORTED;
		break;
	case PW_RUN_FAILED:
		type = PW_EVENT_RUN_FAILED;
		break;
	case PW_RUN_RUNNING:
	case PW_RUN_SKIPPED:
	case _PW_RUN_STATUS_MAX:
		break;
	}
	if (status == PW_RUN_COMPLETED && run->baseline)
		(void)pw_event_log(&(struct pw_event){ .type = PW_EVENT_BASELINE_RECORDED,
						       .job = run->name,
						       .run_id = run->run_id,
						       .counts = &run->counts });
	(void)pw_event_log(&(struct pw_event){ .type = type,
					       .job = run->name,
					       .run_id = run->run_id,
					       .counts = &run->counts,
					       .reason = reason,
					       .error = error });
	if (status == PW_RUN_FAILED)
		alert_job_event(m, run->job, PW_ALERT_RUN_FAILED, run->run_id, NULL, reason);
	(void)pw_scheduler_finished(m->sched, run->name);
	run_free(m, run);
	/* A run's probe tables are large and short-lived; hand them back so an
	 * idle daemon stays small instead of keeping its peak. */
	if (!m->runs)
		malloc_trim(0);
}

static void rearm_sched_timer(struct pw_manager *m);

static int run_step(struct job_run *run)
{
	struct pw_manager *m = run->m;
	uint64_t deadline;
	int r;

	r = pw_engine_process(run->engine, now_mono());
	if (r == 0) {
		run_finish(m, run, PW_RUN_COMPLETED, NULL, 0);
		update_status(m, true);
		rearm_sched_timer(m);
		return 0;
	}
	if (r < 0) {
		run_finish(m, run, PW_RUN_FAILED, "the scan engine failed", -r);
		update_status(m, true);
		rearm_sched_timer(m);
		return 0;
	}
	deadline = pw_engine_next_deadline(run->engine);
	if (deadline == UINT64_MAX)
		r = sd_event_source_set_enabled(run->timer, SD_EVENT_OFF);
	else {
		r = sd_event_source_set_time(run->timer, deadline);
		if (r >= 0)
			r = sd_event_source_set_enabled(run->timer, SD_EVENT_ONESHOT);
	}
	update_status(m, false);
	return r;
}

static int on_engine_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	return run_step(userdata);
}

static int on_engine_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	return run_step(userdata);
}

/* The probe space of one run: numeric targets plus the resolved names. */
static int build_space(const struct pw_job *job, const struct pw_iset *resolved,
		       struct pw_scan_space *space)
{
	int r;

	*space = (struct pw_scan_space){ PW_ISET_INIT, PW_ISET_INIT };
	r = pw_iset_copy(&space->addrs, &job->space.addrs);
	if (r >= 0)
		r = pw_iset_copy(&space->ports, &job->space.ports);
	if (r >= 0 && resolved)
		r = pw_iset_add_set(&space->addrs, resolved);
	if (r < 0) {
		pw_iset_done(&space->addrs);
		pw_iset_done(&space->ports);
	}
	return r;
}

static unsigned enabled_jobs(const struct pw_config *c)
{
	unsigned n = 0;

	for (size_t i = 0; i < c->n_jobs; i++)
		n += c->jobs[i].enabled;
	return n;
}

/*
 * One job's part of a global cap: the cap split over every job that may
 * run at once, so running jobs never add up to more than the cap (the
 * sockets are file descriptors, and the unit's LimitNOFILE is fixed). A
 * job's own lower setting wins. total 0 = no global cap.
 */
static unsigned fair_share(unsigned total, unsigned want, unsigned sharers)
{
	unsigned share = total / (sharers ? sharers : 1);

	if (total == 0)
		return want;
	if (share == 0)
		share = 1;
	return want && want < share ? want : share;
}

static int run_engine_new(struct job_run *run, const struct pw_scan_space *space)
{
	struct pw_manager *m = run->m;
	const struct pw_job *job = run->job;
	struct pw_engine_params p = {
		.space = space,
		.timing = job->timing,
		.threads = m->config->workers ? m->config->workers : 1,
		.canaries = job->accept_all_threshold > 0 ? PW_ENGINE_DEFAULT_CANARIES : 0,
		.accept_share_pct = (unsigned)(job->accept_all_threshold * 100 + 0.5),
		.on_result = on_result,
		.prev_state = prev_state,
		.userdata = run,
	};

	/* Jobs share the global caps instead of the first taking all. */
	p.timing.concurrency = fair_share(m->inflight_budget, job->timing.concurrency,
					  enabled_jobs(m->config));
	if (m->config->max_rate && p.threads <= 1)
		p.shared_rate = &m->global_rate;
	else if (m->config->max_rate)
		p.timing.rate = fair_share(m->config->max_rate, job->timing.rate,
					   enabled_jobs(m->config));
	load_rtt(run, &p);
	if (getrandom(&p.key, sizeof(p.key), 0) != sizeof(p.key))
		p.key = now_mono();
	return pw_engine_new(&p, &run->engine);
}

static const char *launch_failure(int r)
{
	return r == -EHOSTUNREACH ? "no target resolved" : "could not start the scan";
}

/* Probe what the job names: its numeric targets plus resolved (may be NULL). */
static int run_launch(struct job_run *run, const struct pw_iset *resolved)
{
	struct pw_manager *m = run->m;
	struct pw_scan_space space;
	pw_u128 planned;
	int r;

	r = build_space(run->job, resolved, &space);
	if (r < 0)
		return r;
	planned = pw_iset_count(&space.addrs) * pw_iset_count(&space.ports);
	run->counts.probes_planned = (uint64_t)planned;
	/* Only names that all failed to resolve leave nothing to probe. */
	r = planned == 0 ? -EHOSTUNREACH : run_engine_new(run, &space);
	pw_iset_done(&space.addrs);
	pw_iset_done(&space.ports);
	if (r < 0)
		return r;

	r = sd_event_add_io(m->event, &run->io, pw_engine_get_fd(run->engine), EPOLLIN,
			    on_engine_io, run);
	if (r >= 0)
		/* accuracy 1 us: sd-event's default (250 ms) would hold every probe
		 * timeout and rate step back by up to a quarter second */
		r = sd_event_add_time(m->event, &run->timer, CLOCK_MONOTONIC, 0, 1, on_engine_timer,
				      run);
	if (r < 0)
		return r;
	/* Logged once the probe count is known, names resolved. */
	(void)pw_event_log(&(struct pw_event){ .type = PW_EVENT_RUN_STARTED,
					       .job = run->name,
					       .run_id = run->run_id,
					       .counts = &run->counts });
	pw_log_debug("Job %s: run %lld uses %u probes in flight, %u thread(s)", run->name,
		     (long long)run->run_id, pw_engine_concurrency(run->engine),
		     pw_engine_threads(run->engine));
	return 0;
}

static int on_resolved(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct job_run *run = userdata;
	struct pw_manager *m = run->m;
	struct pw_iset resolved = PW_ISET_INIT;
	unsigned unresolved = 0;
	int r;

	r = pw_resolve_result(run->resolve, &resolved, &unresolved);
	if (r == -EAGAIN)
		return 0;
	run->resolve_io = sd_event_source_disable_unref(run->resolve_io);
	pw_resolve_free(run->resolve);
	run->resolve = NULL;
	if (r < 0) {
		run_finish(m, run, PW_RUN_FAILED, "could not resolve the host names", -r);
		goto out;
	}
	if (unresolved > 0)
		pw_log_warning("Job %s: %u of %zu host names did not resolve; scanning the rest",
			       run->name, unresolved, run->job->n_hostnames);
	r = run_launch(run, &resolved);
	if (r < 0)
		run_finish(m, run, PW_RUN_FAILED, launch_failure(r), -r);
out:
	pw_iset_done(&resolved);
	update_status(m, true);
	rearm_sched_timer(m);
	return 0;
}

/*
 * Start a run of job. The run is recorded and listed at once; a job with
 * host names first resolves them in a thread (resolve.h), and its probes
 * start when they are in. Returns < 0 only when no run was recorded; a run
 * that fails later ends through run_finish() like any other.
 */
static int run_start(struct pw_manager *m, const struct pw_job *job)
{
	_cleanup_free_ struct job_run *run = NULL;
	struct pw_store_run_info last, completed;
	struct job_run *started;
	int r;

	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	run->m = m;
	run->job = job;
	run->name = strdup(job->name);
	if (!run->name)
		return -ENOMEM;

	pthread_mutex_lock(&m->store_lock);
	r = pw_store_last_run(m->store, job->name, &last, &completed);
	run->baseline = r == -ENOENT || (r >= 0 && completed.run_id == 0);
	r = pw_store_run_begin(m->store, job->name, now_real(), &run->run_id);
	pthread_mutex_unlock(&m->store_lock);
	if (r < 0) {
		pw_log_error("Job %s: cannot start a run: %s", job->name, store_strerror(m, r));
		free(run->name);
		return r;
	}
	run->start_mono = now_mono();
	run->start_real = now_real();
	started = TAKE_PTR(run);
	started->next = m->runs;
	m->runs = started;
	m->n_runs++;

	if (job->n_hostnames == 0) {
		r = run_launch(started, NULL);
		if (r < 0)
			run_finish(m, started, PW_RUN_FAILED, launch_failure(r), -r);
		return 0;
	}
	r = pw_resolve_start(job->hostnames, job->n_hostnames, &job->exclude_addrs, NULL,
			     &started->resolve);
	if (r >= 0)
		r = sd_event_add_io(m->event, &started->resolve_io, pw_resolve_fd(started->resolve),
				    EPOLLIN, on_resolved, started);
	if (r < 0)
		run_finish(m, started, PW_RUN_FAILED, "could not start resolving the host names",
			   -r);
	return 0;
}

static void run_abort(struct pw_manager *m, struct job_run *run, const char *reason)
{
	if (run->engine)
		pw_engine_abort(run->engine);
	run_finish(m, run, PW_RUN_ABORTED, reason, 0);
}

/* ------------------------------------------------------------ schedule */

static int on_sched_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct pw_manager *m = userdata;
	struct pw_sched_action a;

	while (pw_scheduler_poll(m->sched, now_real(), &a) > 0) {
		const struct pw_job *job = pw_config_find_job(m->config, a.job);

		if (!job)
			continue;
		switch (a.kind) {
		case PW_SCHED_SKIP: {
			int64_t id = 0;
			int r;

			pthread_mutex_lock(&m->store_lock);
			r = pw_store_run_skipped(m->store, job->name, now_real(), &id);
			pthread_mutex_unlock(&m->store_lock);
			if (r < 0)
				pw_log_error("Job %s: recording a skipped run: %s", job->name,
					     pw_store_last_error(m->store));
			(void)pw_event_log(&(struct pw_event){
				.type = PW_EVENT_RUN_SKIPPED,
				.job = job->name,
				.run_id = id,
				.reason = "the previous run is still going",
			});
			break;
		}
		case PW_SCHED_RUN:
			if (run_start(m, job) < 0)
				(void)pw_scheduler_finished(m->sched, job->name);
			break;
		}
	}
	update_status(m, true);
	rearm_sched_timer(m);
	return 0;
}

static void rearm_sched_timer(struct pw_manager *m)
{
	uint64_t next = pw_scheduler_next_deadline(m->sched);

	if (next == UINT64_MAX) {
		(void)sd_event_source_set_enabled(m->sched_timer, SD_EVENT_OFF);
		return;
	}
	(void)sd_event_source_set_time(m->sched_timer, next);
	(void)sd_event_source_set_enabled(m->sched_timer, SD_EVENT_ONESHOT);
}

static int schedule_job(struct pw_manager *m, const struct pw_job *job)
{
	struct pw_store_run_info last, completed;
	uint64_t last_start = 0;
	int r;

	if (!job->enabled)
		return 0;
	/* The cadence follows the last run that finished: one that was aborted
	 * (restart, reload) or failed leaves the job overdue, so it runs again
	 * soon instead of an interval later. */
	pthread_mutex_lock(&m->store_lock);
	r = pw_store_last_run(m->store, job->name, &last, &completed);
	pthread_mutex_unlock(&m->store_lock);
	if (r >= 0 && completed.run_id > 0)
		last_start = completed.started_usec;
	r = pw_scheduler_add(m->sched, job->name, job->interval_usec, job->jitter_usec, last_start,
			     now_real());
	if (r < 0)
		pw_log_error("Job %s: cannot schedule: %s", job->name, strerror(-r));
	return r;
}

/* ------------------------------------------------------------ signals */

static void stop_all(struct pw_manager *m, const char *reason)
{
	while (m->runs)
		run_abort(m, m->runs, reason);
}

static int on_stop(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct pw_manager *m = userdata;

	(void)pw_notify_stopping();
	stop_all(m, "the daemon is stopping");
	return sd_event_exit(m->event, 0);
}

static unsigned inflight_budget(const struct pw_config *c)
{
	struct rlimit rl;
	rlim_t usable;

	if (c->max_inflight)
		return c->max_inflight;
	/* Sockets are fds: leave room for the database, journal and hooks. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max == RLIM_INFINITY)
		return 1024;
	usable = rl.rlim_max > 256 ? rl.rlim_max - 256 : rl.rlim_max / 2;
	return (unsigned)(usable * 3 / 4);
}

static void log_rejected(struct pw_manager *m, const struct pw_diag *diag)
{
	for (size_t i = 0; i < diag->n; i++)
		pw_log_error("%s", diag->msgs[i]);
	(void)pw_event_log(&(struct pw_event){
		.type = PW_EVENT_CONFIG_REJECTED,
		.config_path = m->config_path,
		.reason = diag->n ? diag->msgs[0] : "cannot load the configuration",
	});
}

static int reload(struct pw_manager *m)
{
	struct pw_diag diag = PW_DIAG_INIT;
	struct pw_config *nc = NULL, *old = m->config;
	struct pw_event_jobs counts = { 0 };
	int r;

	(void)pw_notify_reloading(now_mono());
	/* netbase may have been upgraded; on ENOMEM the old names stay */
	(void)pw_services_load(&m->services, NULL);
	r = pw_config_load(m->config_path, &nc, &diag);
	if (r >= 0 && m->database_override)
		r = pw_config_set_database(nc, m->database_override);
	if (r < 0) {
		log_rejected(m, &diag);
		pw_diag_done(&diag);
		pw_config_free(nc);
		(void)pw_notify_ready("Configuration rejected, old one kept");
		return 0;
	}
	pw_diag_done(&diag);
	if (strcmp(nc->database, old->database) != 0)
		pw_log_warning(
			"Database path changed to %s; it takes effect at restart, still using %s",
			nc->database, old->database);
	if (!m->control_socket && strcmp(nc->control_socket, old->control_socket) != 0)
		pw_log_warning(
			"Control socket path changed to %s; it takes effect at restart, still using %s",
			nc->control_socket, old->control_socket);

	/* Jobs that disappeared or whose scan changed stop; the others keep
	 * running, with new expectations and alerts from now on. */
	for (size_t i = 0; i < old->n_jobs; i++) {
		const struct pw_job *oj = &old->jobs[i];
		const struct pw_job *nj = pw_config_find_job(nc, oj->name);
		struct job_run *run = find_run(m, oj->name);

		if (nj && pw_job_scan_equal(oj, nj)) {
			if (run)
				run->job = nj;
			if (!pw_job_equal(oj, nj))
				counts.changed++;
			continue;
		}
		if (nj)
			counts.changed++;
		else
			counts.removed++;
		if (run)
			run_abort(m, run, nj ? "its configuration changed" : "it was removed");
		(void)pw_scheduler_remove(m->sched, oj->name);
	}
	m->config = nc;
	for (size_t i = 0; i < nc->n_jobs; i++) {
		const struct pw_job *nj = &nc->jobs[i];
		const struct pw_job *oj = pw_config_find_job(old, nj->name);

		if (!oj)
			counts.added++;
		if (oj && pw_job_scan_equal(oj, nj))
			continue;
		(void)schedule_job(m, nj);
	}
	counts.total = (unsigned)nc->n_jobs;
	if (nc->max_rate != old->max_rate)
		pw_ratelimit_init(&m->global_rate, nc->max_rate, 0);
	m->inflight_budget = inflight_budget(nc);
	if (m->log_level_override < 0)
		pw_log_set_max_priority(nc->log_level);
	pw_config_free(old);
	(void)pw_event_log(&(struct pw_event){
		.type = PW_EVENT_CONFIG_RELOADED, .config_path = m->config_path, .jobs = &counts });
	rearm_sched_timer(m);
	(void)pw_notify_ready("Configuration reloaded");
	update_status(m, true);
	return 0;
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	return reload(userdata);
}

static int on_run_now(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct pw_manager *m = userdata;
	unsigned n = 0;

	for (size_t i = 0; i < m->config->n_jobs; i++)
		if (m->config->jobs[i].enabled &&
		    pw_scheduler_run_now(m->sched, m->config->jobs[i].name, now_real()) >= 0)
			n++;
	pw_log_info("SIGUSR1: running %u job(s) now", n);
	rearm_sched_timer(m);
	return 0;
}

/* ------------------------------------------------------------ control socket */

/* `portwatch run JOB`: the job runs now, as with SIGUSR1 for one job. */
static int run_job_now(struct pw_manager *m, const char *name, const char **ret_error)
{
	const struct pw_job *job = pw_config_find_job(m->config, name);
	int r;

	if (!job) {
		*ret_error = "error: no such job";
		return -ENOENT;
	}
	if (!job->enabled) {
		*ret_error = "error: job is disabled";
		return -EPERM;
	}
	r = pw_scheduler_run_now(m->sched, job->name, now_real());
	if (r == -EBUSY) {
		*ret_error = "error: already running";
		return r;
	}
	if (r < 0) {
		*ret_error = "error: cannot schedule the job";
		return r;
	}
	pw_log_info("Control socket: running job %s now", job->name);
	rearm_sched_timer(m);
	return 0;
}

static int status_reply(struct pw_manager *m, char **ret_reply)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	fputs("ok\n", f);
	for (struct job_run *run = m->runs; run; run = run->next) {
		struct pw_engine_stats st;

		run_stats(run, &st);
		/* a sixth word; older CLIs read five and ignore it */
		fprintf(f, "running %s %lld %llu %llu%s\n", run->name, (long long)run->run_id,
			(unsigned long long)st.done, (unsigned long long)st.total,
			run->engine ? "" : " resolving");
	}
	fprintf(f, "pid %d\n", (int)getpid());
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret_reply = buf;
	return 0;
}

static int on_control(void *userdata, const char *request, char **ret_reply)
{
	struct pw_manager *m = userdata;
	const char *err = NULL;

	if (strncmp(request, "run ", 4) == 0) {
		if (run_job_now(m, request + 4, &err) < 0)
			return (*ret_reply = strdup(err)) ? 0 : -ENOMEM;
		return (*ret_reply = strdup("ok")) ? 0 : -ENOMEM;
	}
	if (strcmp(request, "status") == 0)
		return status_reply(m, ret_reply);
	return (*ret_reply = strdup("error: unknown request")) ? 0 : -ENOMEM;
}

static int setup_hooks(struct pw_manager *m)
{
	int r;

	r = pw_alerter_new(m->event, 0, 0, on_alert_done, m, &m->alerter);
	if (r < 0)
		return r;
	/* Without the socket the daemon still scans; only `portwatch run` fails. */
	r = pw_control_new(m->event, m->control_socket ?: m->config->control_socket, on_control, m,
			   &m->control);
	if (r < 0)
		pw_log_warning("Control socket %s: %s; `portwatch run` will not reach this daemon",
			       m->control_socket ?: m->config->control_socket,
			       r == -EADDRINUSE ? "another daemon answers there" : strerror(-r));
	return 0;
}

/* ------------------------------------------------------------ life cycle */

/*
 * One writer per database: the store hands out row ids from memory, so a
 * second daemon on the same file would overwrite the first one's runs
 * (and close its running run as "aborted" at start). A BSD lock (flock(2))
 * on the file, taken before SQLite opens it and held until after SQLite
 * closes it, keeps a second portwatchd out. BSD locks and SQLite's POSIX
 * locks do not interact, and this descriptor is closed only at the end.
 */
static int lock_database(struct pw_manager *m)
{
	const char *path = m->config->database;

	if (strcmp(path, ":memory:") == 0)
		return 0;
	/* flock() needs no write access; a new database is created by SQLite
	 * itself, locked right after. Where the file cannot be opened at all,
	 * the store's open says why, with SQLite's words. */
	m->db_lock_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (m->db_lock_fd < 0 && errno == ENOENT)
		m->db_lock_fd = open(path,
				     O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
				     0600);
	if (m->db_lock_fd < 0)
		return 0;
	if (flock(m->db_lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;

		if (r == -EWOULDBLOCK)
			pw_log_error(
				"The database %s is in use by another portwatchd; one daemon per database",
				path);
		else
			pw_log_error("Cannot lock the database %s: %s", path, strerror(-r));
		return r;
	}
	return 0;
}

static int open_store(struct pw_manager *m)
{
	_cleanup_free_ char *err = NULL;
	int r;

	r = lock_database(m);
	if (r < 0)
		return r;
	r = pw_store_open(m->config->database, 0, &m->store, &err);
	if (r < 0) {
		pw_log_error("Cannot open the database: %s", err ? err : strerror(-r));
		return r;
	}
	r = pw_store_recover_runs(m->store);
	if (r > 0)
		pw_log_notice("Closed %d run(s) left running by an earlier stop as aborted", r);
	else if (r < 0)
		pw_log_warning("Closing runs left by an earlier stop: %s",
			       pw_store_last_error(m->store));
	return 0;
}

static int setup_loop(struct pw_manager *m)
{
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	/* sd_event_add_child() (alert hooks) needs SIGCHLD blocked in every
	 * thread: block it here, before any engine thread exists. */
	sigaddset(&mask, SIGCHLD);
	/* sd-event signal sources need the signals blocked first. */
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = sd_event_new(&m->event);
	if (r >= 0)
		r = sd_event_add_signal(m->event, NULL, SIGTERM, on_stop, m);
	if (r >= 0)
		r = sd_event_add_signal(m->event, NULL, SIGINT, on_stop, m);
	if (r >= 0)
		r = sd_event_add_signal(m->event, NULL, SIGHUP, on_reload, m);
	if (r >= 0)
		r = sd_event_add_signal(m->event, NULL, SIGUSR1, on_run_now, m);
	if (r >= 0)
		r = sd_event_set_watchdog(m->event, true);
	if (r >= 0)
		r = sd_event_add_time(m->event, &m->sched_timer, CLOCK_REALTIME, UINT64_MAX, 0,
				      on_sched_timer, m);
	if (r >= 0)
		r = sd_event_add_time_relative(m->event, &m->flush_timer, CLOCK_MONOTONIC,
					       FLUSH_RETRY_USEC, 0, on_flush_timer, m);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->flush_timer, SD_EVENT_ON);
	if (r >= 0)
		r = sd_event_add_time_relative(m->event, &m->prune_timer, CLOCK_MONOTONIC,
					       10 * USEC_PER_SEC, 0, on_prune_timer, m);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->prune_timer, SD_EVENT_ON);
	return r;
}

int pw_manager_new(const struct pw_manager_options *o, struct pw_diag *diag,
		   struct pw_manager **ret)
{
	struct pw_manager *m;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->store_lock, NULL);
	m->db_lock_fd = -1;
	m->notify = (struct pw_notify)PW_NOTIFY_INIT;
	m->config_path = strdup(o->config_path);
	m->control_socket = o->control_socket ? strdup(o->control_socket) : NULL;
	if (o->control_socket && !m->control_socket) {
		r = -ENOMEM;
		goto fail;
	}
	m->database_override = o->database ? strdup(o->database) : NULL;
	if (!m->config_path || (o->database && !m->database_override)) {
		r = -ENOMEM;
		goto fail;
	}
	r = pw_config_load(o->config_path, &m->config, diag);
	if (r >= 0 && o->database)
		r = pw_config_set_database(m->config, o->database);
	if (r < 0)
		goto fail;
	m->log_level_override = o->log_level;
	if (o->log_level < 0)
		pw_log_set_max_priority(m->config->log_level);
	m->inflight_budget = inflight_budget(m->config);
	pw_ratelimit_init(&m->global_rate, m->config->max_rate, 0);
	/* Once, not per event: getservbyport(3) rereads the file each call. */
	r = pw_services_load(&m->services, NULL);
	if (r < 0)
		goto fail;

	r = open_store(m);
	if (r < 0)
		goto fail;
	r = pw_scheduler_new(now_mono() ^ (uint64_t)getpid(), START_SPREAD_USEC, &m->sched);
	if (r < 0)
		goto fail;
	r = setup_loop(m);
	if (r >= 0)
		r = setup_hooks(m);
	if (r < 0) {
		pw_log_error("Cannot set up the event loop: %s", strerror(-r));
		goto fail;
	}
	for (size_t i = 0; i < m->config->n_jobs; i++)
		(void)schedule_job(m, &m->config->jobs[i]);
	*ret = m;
	return 0;
fail:
	pw_manager_free(m);
	return r;
}

int pw_manager_run(struct pw_manager *m)
{
	unsigned enabled = 0;
	int r;

	for (size_t i = 0; i < m->config->n_jobs; i++)
		enabled += m->config->jobs[i].enabled;
	(void)pw_event_log(&(struct pw_event){
		.type = PW_EVENT_DAEMON_STARTED,
		.config_path = m->config_path,
		.database = m->config->database,
		.jobs = &(struct pw_event_jobs){ .total = (unsigned)m->config->n_jobs },
	});
	pw_log_info("%u of %zu job(s) enabled; up to %u probes in flight in all", enabled,
		    m->config->n_jobs, m->inflight_budget);
	rearm_sched_timer(m);
	(void)pw_notify_ready("Idle");
	update_status(m, true);

	r = sd_event_loop(m->event);
	stop_all(m, "the daemon is stopping");
	pthread_mutex_lock(&m->store_lock);
	if (pw_store_flush(m->store) < 0)
		pw_log_error("Writing the last history at stop: %s", pw_store_last_error(m->store));
	pthread_mutex_unlock(&m->store_lock);
	if (r < 0)
		pw_log_error("Event loop failed: %s", strerror(-r));
	(void)pw_event_log(&(struct pw_event){ .type = PW_EVENT_DAEMON_STOPPED });
	return r < 0 ? r : 0;
}

struct pw_manager *pw_manager_free(struct pw_manager *m)
{
	if (!m)
		return NULL;
	while (m->runs)
		run_free(m, m->runs);
	sd_event_source_disable_unref(m->sched_timer);
	sd_event_source_disable_unref(m->flush_timer);
	sd_event_source_disable_unref(m->prune_timer);
	pw_control_free(m->control);
	pw_alerter_free(m->alerter);
	sd_event_unref(m->event);
	pw_scheduler_free(m->sched);
	pw_store_close(m->store);
	if (m->db_lock_fd >= 0)
		close(m->db_lock_fd); /* after SQLite is done with the file */
	pw_config_free(m->config);
	pw_services_done(&m->services);
	pthread_mutex_destroy(&m->store_lock);
	free(m->config_path);
	free(m->database_override);
	free(m->control_socket);
	free(m);
	return NULL;
}
