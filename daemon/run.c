/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "events.h"
#include "log.h"
#include "manager-internal.h"
#include "targets.h"

/* The engine's results go to reporting, which decides what each means. */
static void on_result(void *userdata, const struct pw_probe_result *r)
{
	struct job_run *run = userdata;

	pw_report_result(&run->m->rep, &run->rr, r);
}

struct job_run *run_find(struct pw_manager *m, const char *name)
{
	for (struct job_run *r = m->runs; r; r = r->next)
		if (strcmp(r->rr.name, name) == 0)
			return r;
	return NULL;
}

/* A run still resolving its host names has probed nothing yet. */
void run_stats(const struct job_run *run, struct pw_engine_stats *ret)
{
	if (run->engine)
		pw_engine_get_stats(run->engine, ret);
	else
		*ret = (struct pw_engine_stats){ 0 };
}

static int prev_state(void *userdata, pw_u128 addr, uint16_t port)
{
	struct job_run *run = userdata;
	enum pw_state s;
	int r;

	r = pw_store_get_state(run->m->store, run->rr.run_id, addr, port, &s);
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

	(void)pw_store_load_rtt(run->m->store, run->rr.name, find_job_rtt, &saved);
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
	r = pw_store_save_rtt(m->store, run->rr.name,
			      &(struct pw_store_rtt){
				      .addr = 0, .srtt_usec = srtt, .rttvar_usec = rttvar },
			      1, now_real());
	if (r < 0)
		pw_log_debug("Job %s: saving the RTT estimate: %s", run->rr.name,
			     pw_store_last_error(m->store));
}

void run_free(struct pw_manager *m, struct job_run *run)
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
	pw_report_run_done(&run->rr);
	free(run->rr.name);
	free(run);
}

/* The loss the run measured, for its row and its journal entry. */
static void record_loss(struct pw_manager *m, struct job_run *run)
{
	struct pw_engine_stats st;
	int r;

	run_stats(run, &st);
	if (!pw_engine_loss_pct(&st, &run->rr.counts.loss_pct))
		return;
	run->rr.counts.has_loss = true;
	r = pw_store_run_loss(m->store, run->rr.run_id, run->rr.counts.loss_pct);
	if (r < 0)
		pw_log_debug("Job %s: recording the loss of run %lld: %s", run->rr.name,
			     (long long)run->rr.run_id, pw_report_store_strerror(&m->rep, r));
}

/*
 * Once per run, as soon as an address's loss raised its retries: silence
 * there costs more attempts, and counts only once it is conclusive.
 */
static void notice_loss(struct job_run *run)
{
	struct pw_engine_stats st;
	double pct;

	if (run->loss_noticed)
		return;
	pw_engine_get_stats(run->engine, &st);
	if (st.lossy_hosts == 0 || !pw_engine_loss_pct(&st, &pct))
		return;
	run->loss_noticed = true;
	pw_log_notice("Job %s: run %lld: packets are being lost (%.1f%% of connection attempts so "
		      "far); unanswered probes to lossy addresses are retried up to %u times "
		      "before their silence counts",
		      run->rr.name, (long long)run->rr.run_id, pct,
		      run->rr.job->timing.max_retries);
}

/* End a run: record it, log it, hand the job back to the scheduler. */
static void run_finish(struct pw_manager *m, struct job_run *run, enum pw_run_status status,
		       const char *reason, int error)
{
	enum pw_event_type type = PW_EVENT_RUN_COMPLETED;
	int r;

	run->rr.counts.duration_usec = now_mono() - run->start_mono;
	if (status == PW_RUN_COMPLETED) {
		save_rtt(m, run);
		pw_report_run_completed(&m->rep, &run->rr);
	}
	record_loss(m, run);
	r = pw_store_run_end(m->store, run->rr.run_id, status, now_real());
	pw_report_store(&m->rep, r, "Recording the end of a run");
	pw_report_settle(&m->rep);

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
	if (status == PW_RUN_COMPLETED && run->baseline && run->rr.store_refused > 0)
		pw_log_warning(
			"Job %s: run %lld completed, but %llu observation(s) could not be recorded; it is not the baseline, the next complete run will be",
			run->rr.name, (long long)run->rr.run_id,
			(unsigned long long)run->rr.store_refused);
	else if (status == PW_RUN_COMPLETED && run->baseline)
		(void)pw_event_log(&(struct pw_event){ .type = PW_EVENT_BASELINE_RECORDED,
						       .job = run->rr.name,
						       .run_id = run->rr.run_id,
						       .counts = &run->rr.counts });
	(void)pw_event_log(&(struct pw_event){ .type = type,
					       .job = run->rr.name,
					       .run_id = run->rr.run_id,
					       .counts = &run->rr.counts,
					       .reason = reason,
					       .error = error });
	if (status == PW_RUN_FAILED)
		pw_report_job_alert(&m->rep, run->rr.job, PW_ALERT_RUN_FAILED, run->rr.run_id, NULL,
				    reason);
	(void)pw_scheduler_finished(m->sched, run->rr.name);
	run_free(m, run);
	/* A run's probe tables are large and short-lived; hand them back so an
	 * idle daemon stays small instead of keeping its peak. */
	if (!m->runs)
		malloc_trim(0);
}

static int run_step(struct job_run *run)
{
	struct pw_manager *m = run->m;
	uint64_t deadline;
	int r;

	r = pw_engine_process(run->engine, now_mono());
	pw_report_settle(&m->rep);
	if (r == 0) {
		run_finish(m, run, PW_RUN_COMPLETED, NULL, 0);
		manager_update_status(m, true);
		manager_rearm_sched_timer(m);
		return 0;
	}
	if (r < 0) {
		run_finish(m, run, PW_RUN_FAILED, "the scan engine failed", -r);
		manager_update_status(m, true);
		manager_rearm_sched_timer(m);
		return 0;
	}
	notice_loss(run);
	deadline = pw_engine_next_deadline(run->engine);
	if (deadline == UINT64_MAX)
		r = sd_event_source_set_enabled(run->timer, SD_EVENT_OFF);
	else {
		r = sd_event_source_set_time(run->timer, deadline);
		if (r >= 0)
			r = sd_event_source_set_enabled(run->timer, SD_EVENT_ONESHOT);
	}
	manager_update_status(m, false);
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
	const struct pw_job *job = run->rr.job;
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

static const char *launch_failure(const struct job_run *run, int r)
{
	if (r == -E2BIG)
		return run->why;
	return r == -EHOSTUNREACH ? "no target resolved" : "could not start the scan";
}

/*
 * The configuration's caps once host names are resolved: --check-config
 * counted each name as one address, and one name may stand for thousands.
 */
static int check_caps(struct job_run *run, const struct pw_scan_space *space)
{
	pw_u128 addrs = pw_iset_count(&space->addrs), ports = pw_iset_count(&space->ports);

	if (addrs > PW_CONFIG_MAX_ADDRS_PER_JOB)
		snprintf(run->why, sizeof(run->why),
			 "the host names resolved to %llu addresses, above the cap of %llu per job",
			 (unsigned long long)addrs,
			 (unsigned long long)PW_CONFIG_MAX_ADDRS_PER_JOB);
	else if (addrs * ports > PW_CONFIG_MAX_PROBES_PER_RUN)
		snprintf(
			run->why, sizeof(run->why),
			"the host names resolved to %llu addresses: x %llu ports = %llu probes per run, above the cap of %llu",
			(unsigned long long)addrs, (unsigned long long)ports,
			(unsigned long long)(addrs * ports),
			(unsigned long long)PW_CONFIG_MAX_PROBES_PER_RUN);
	else
		return 0;
	return -E2BIG;
}

/* Probe what the job names: its numeric targets plus resolved (may be NULL). */
static int run_launch(struct job_run *run, const struct pw_iset *resolved)
{
	struct pw_manager *m = run->m;
	struct pw_scan_space space;
	pw_u128 planned;
	int r;

	r = build_space(run->rr.job, resolved, &space);
	if (r < 0)
		return r;
	planned = pw_iset_count(&space.addrs) * pw_iset_count(&space.ports);
	r = check_caps(run, &space);
	if (r >= 0)
		run->rr.counts.probes_planned = (uint64_t)planned;
	/* Only names that all failed to resolve leave nothing to probe. */
	if (r >= 0)
		r = planned == 0 ? -EHOSTUNREACH : run_engine_new(run, &space);
	/* what the run covers, so that its closed ports need no rows; without
	 * it (no memory) they are kept as unknown, which costs nothing true */
	if (r >= 0)
		(void)pw_store_run_space(m->store, run->rr.run_id, &space);
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
					       .job = run->rr.name,
					       .run_id = run->rr.run_id,
					       .counts = &run->rr.counts });
	pw_log_debug("Job %s: run %lld uses %u probes in flight, %u thread(s)", run->rr.name,
		     (long long)run->rr.run_id, pw_engine_concurrency(run->engine),
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
			       run->rr.name, unresolved, run->rr.job->n_hostnames);
	r = run_launch(run, &resolved);
	if (r < 0) /* over the caps is no system error: the reason says it all */
		run_finish(m, run, PW_RUN_FAILED, launch_failure(run, r), r == -E2BIG ? 0 : -r);
out:
	pw_iset_done(&resolved);
	manager_update_status(m, true);
	manager_rearm_sched_timer(m);
	return 0;
}

/*
 * Start a run of job. The run is recorded and listed at once; a job with
 * host names first resolves them in a thread (resolve.h), and its probes
 * start when they are in. Returns < 0 only when no run was recorded; a run
 * that fails later ends through run_finish() like any other.
 */
int run_start(struct pw_manager *m, const struct pw_job *job)
{
	_cleanup_free_ struct job_run *run = NULL;
	struct pw_store_run_info last, completed;
	struct job_run *started;
	int r;

	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	run->m = m;
	run->rr.job = job;
	run->rr.name = strdup(job->name);
	if (!run->rr.name)
		return -ENOMEM;

	r = pw_store_last_run(m->store, job->name, &last, &completed);
	run->baseline = r == -ENOENT || (r >= 0 && completed.run_id == 0);
	r = pw_store_run_begin(m->store, job->name, now_real(), &run->rr.run_id);
	if (r < 0) {
		pw_log_error("Job %s: cannot start a run: %s", job->name,
			     pw_report_store_strerror(&m->rep, r));
		free(run->rr.name);
		return r;
	}
	/* The run's row now, not with its first batch: a crash in the next
	 * seconds must leave it in the history (closed as aborted at the
	 * restart), and its id must not be handed out again. A database that
	 * refuses the write does not stop the run; the row follows later. */
	pw_report_store(&m->rep, pw_store_flush(m->store), "Recording the start of a run");
	run->start_mono = now_mono();
	run->start_real = now_real();
	started = TAKE_PTR(run);
	started->next = m->runs;
	m->runs = started;
	m->n_runs++;

	if (job->n_hostnames == 0) {
		r = run_launch(started, NULL);
		if (r < 0)
			run_finish(m, started, PW_RUN_FAILED, launch_failure(started, r), -r);
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

void run_abort(struct pw_manager *m, struct job_run *run, const char *reason)
{
	if (run->engine)
		pw_engine_abort(run->engine);
	run_finish(m, run, PW_RUN_ABORTED, reason, 0);
}

void runs_stop_all(struct pw_manager *m, const char *reason)
{
	while (m->runs)
		run_abort(m, m->runs, reason);
}
