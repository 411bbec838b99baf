/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "report.h"
#include "util.h"

/* ------------------------------------------------------------ the decision */

/* The event a change reports by itself, before the policy has its say. */
static enum pw_event_type plain_event(const struct pw_change *c)
{
	switch (c->kind) {
	case PW_CHANGE_OPENED:
	case PW_CHANGE_CLOSED:
	case PW_CHANGE_FILTERED:
	case PW_CHANGE_UNREACHABLE:
		return pw_event_type_for_state(c->new_state);
	case PW_CHANGE_FLAP:
		return PW_EVENT_PORT_FLAPPING;
	case PW_CHANGE_NONE:
	case PW_CHANGE_BASELINE:    /* summed up once per run: baseline-recorded */
	case PW_CHANGE_NEW:         /* a first sighting of a port that is not open: noise */
	case PW_CHANGE_ACCEPTS_ALL: /* about an address: never a port's change */
	case PW_CHANGE_ACCEPTS_ALL_ENDED:
	case _PW_CHANGE_MAX:
		break;
	}
	return _PW_EVENT_MAX;
}

int pw_report_decide(const struct pw_store_prior *prior, enum pw_state observed, bool unconfirmed,
		     enum pw_policy_expect expect, struct pw_report_decision *ret)
{
	struct pw_report_decision d = { .event = _PW_EVENT_MAX };
	int r;

	if ((unsigned)expect >= _PW_EXPECT_MAX)
		return -EINVAL;
	r = pw_change_detect(prior->has_baseline, prior->known, prior->state, observed,
			     unconfirmed ? PW_OBS_UNCONFIRMED : 0, &d.change);
	if (r < 0)
		return r;
	d.verdict = pw_policy_apply(expect, prior->has_baseline, &d.change);
	d.plain = plain_event(&d.change);
	/* One entry per change: a violation replaces the plain change event. */
	if (d.verdict == PW_VERDICT_UNEXPECTED_OPEN)
		d.event = PW_EVENT_UNEXPECTED_OPEN;
	else if (d.verdict == PW_VERDICT_EXPECTED_CLOSED)
		d.event = PW_EVENT_EXPECTED_CLOSED;
	else
		d.event = d.plain;
	d.priority = d.verdict == PW_VERDICT_EXPECTED ? LOG_NOTICE : pw_event_priority(d.event);
	d.counts_as_change = d.plain != _PW_EVENT_MAX && d.change.kind != PW_CHANGE_FLAP;
	*ret = d;
	return 0;
}

enum pw_change_kind pw_report_decide_address(bool was, bool found, bool refuted)
{
	if (found)
		return was ? PW_CHANGE_NONE : PW_CHANGE_ACCEPTS_ALL;
	/* silence is no evidence: only a port that refused or dropped says it
	 * stopped (a run without news of the address rounds no canaries) */
	return was && refuted ? PW_CHANGE_ACCEPTS_ALL_ENDED : PW_CHANGE_NONE;
}

enum pw_alert_event pw_report_alert_event(const struct pw_report_decision *d,
					  const struct pw_alert *cfg)
{
	enum pw_alert_event e = pw_event_alert(d->event);

	if (pw_alert_wants(cfg, e))
		return e;
	e = pw_event_alert(d->plain);
	return pw_alert_wants(cfg, e) ? e : _PW_ALERT_EVENT_MAX;
}

/* ------------------------------------------------------------ alerts */

static void submit(struct pw_reporter *rep, const struct pw_alert *cfg, enum pw_alert_event e,
		   const struct pw_event *ev)
{
	int r;

	if (!rep->alerter || !pw_alert_wants(cfg, e))
		return;
	r = pw_alerter_submit(rep->alerter, cfg, e, ev);
	if (r == -ENOBUFS) {
		/* Alerts are notifications; the event itself is in the database. */
		if (rep->alerts_dropped++ == 0)
			pw_log_warning(
				"Alert queue full (%u hooks running, %zu queued): dropping alerts until it drains",
				pw_alerter_running(rep->alerter), pw_alerter_queued(rep->alerter));
	} else if (r < 0) {
		pw_log_error("Alert for %s: %s", pw_alert_event_to_string(e), strerror(-r));
	}
}

void pw_report_job_alert(struct pw_reporter *rep, const struct pw_job *job, enum pw_alert_event e,
			 int64_t run_id, const pw_u128 *addr, const char *reason)
{
	struct pw_event ev = {
		.job = job->name,
		.run_id = run_id,
		.has_address = addr != NULL,
		.address = addr ? *addr : 0,
		.time_usec = pw_now_usec(CLOCK_REALTIME),
		.reason = reason,
	};

	submit(rep, &job->alert, e, &ev);
}

/* ------------------------------------------------------------ telling */

/*
 * A change is told (journal entry, hook) only once it is recorded: told
 * first, a crash before its batch committed would have it found, and
 * told, again after the restart. The store calls pw_report_committed()
 * after each commit, and pw_report_settle() commits after each batch of
 * results that held a change, so the wait is one commit. While the
 * database refuses writes, changes are told at once: the journal must not
 * wait for it (a crash then may repeat them; said in the README).
 */
struct pw_report_tell {
	struct pw_event ev; /* job and service point into the configuration */
	const struct pw_alert *cfg;
	enum pw_alert_event alert;
	int priority;
};

static void tell(struct pw_reporter *rep, const struct pw_report_tell *t)
{
	(void)pw_event_log_priority(&t->ev, t->priority);
	submit(rep, t->cfg, t->alert, &t->ev);
}

static void tell_when_recorded(struct pw_reporter *rep, const struct pw_report_tell *t)
{
	/* told at once from now on: what waits goes first, in order */
	if (rep->store_failing && rep->n_held)
		pw_report_tell_held(rep);
	if (!rep->store_failing && rep->n_held == rep->cap_held) {
		size_t n = rep->cap_held ? rep->cap_held * 2 : 64;
		struct pw_report_tell *h = reallocarray(rep->held, n, sizeof(*h));

		if (h) {
			rep->held = h;
			rep->cap_held = n;
		}
	}
	if (rep->store_failing || rep->n_held == rep->cap_held)
		tell(rep, t);
	else
		rep->held[rep->n_held++] = *t;
}

void pw_report_tell_held(struct pw_reporter *rep)
{
	/* a hook's completion may come back here: take the list first */
	size_t n = rep->n_held;

	rep->n_held = 0;
	for (size_t i = 0; i < n; i++)
		tell(rep, &rep->held[i]);
}

void pw_report_committed(void *userdata)
{
	pw_report_tell_held(userdata);
}

void pw_report_settle(struct pw_reporter *rep)
{
	if (rep->n_held == 0)
		return;
	if (!rep->store_failing)
		pw_report_store(rep, pw_store_flush(rep->store), "Writing history");
	/* not committed: the database refuses, tell them anyway */
	pw_report_tell_held(rep);
}

void pw_report_done(struct pw_reporter *rep)
{
	pw_report_tell_held(rep);
	free(rep->held);
	rep->held = NULL;
	rep->cap_held = 0;
}

/* Print hook output on one log line: control characters become spaces. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

void pw_report_alert_done(void *userdata, const struct pw_alert_result *res)
{
	struct pw_reporter *rep = userdata;
	_cleanup_free_ char *out = NULL;
	char dur[32];

	if (asprintf(&out, "%.*s%s", (int)res->output_len, res->output,
		     res->output_truncated ? "..." : "") < 0)
		out = NULL;
	else
		one_line(out);
	if (res->exited && res->exit_status == 0 && !res->timed_out && !res->spawn_error) {
		pw_format_duration(dur, sizeof(dur), res->duration_usec);
		pw_log_info("Alert hook %s for %s%s%s exited with status 0 after %s%s%s",
			    res->program, res->event, res->job ? " of job " : "", res->job ?: "",
			    dur, out && *out ? "; output: " : "", out ?: "");
	} else {
		/* a journal event of its own, so it can be filtered and alerted on */
		(void)pw_event_log(&(struct pw_event){
			.type = PW_EVENT_ALERT_FAILED,
			.job = res->job,
			.hook = &(struct pw_event_hook){ .event = res->event,
							 .program = res->program,
							 .spawn_error = res->spawn_error,
							 .exited = res->exited,
							 .exit_status = res->exit_status,
							 .term_signal = res->term_signal,
							 .timed_out = res->timed_out,
							 .duration_usec = res->duration_usec,
							 .output = out },
		});
	}
	if (rep->alerts_dropped && pw_alerter_queued(rep->alerter) == 0) {
		pw_log_warning("Alert queue drained; %llu alert(s) were dropped while it was full",
			       (unsigned long long)rep->alerts_dropped);
		rep->alerts_dropped = 0;
	}
}

/* ------------------------------------------------------------ the store */

/*
 * What a failed store call returned: the store's own message when the
 * error came from the database (it names the file and SQLite's text), the
 * errno text when it did not (bad arguments, no memory): the store's
 * message would be an older failure's then.
 */
const char *pw_report_store_strerror(const struct pw_reporter *rep, int r)
{
	switch (-r) {
	case ENOMEM:
	case EINVAL:
	case ESRCH:
	case EROFS:
		return strerror(-r);
	default:
		return pw_store_last_error(rep->store)[0] ? pw_store_last_error(rep->store)
							  : strerror(-r);
	}
}

void pw_report_store(struct pw_reporter *rep, int r, const char *what)
{
	if (r >= 0 && r != PW_STORE_DEFERRED) {
		if (rep->store_failing && pw_store_pending(rep->store) == 0) {
			pw_log_notice("Database writes succeed again; queued history written");
			rep->store_failing = false;
			if (rep->busy_timeout_ms)
				pw_store_set_busy_timeout(rep->store, rep->busy_timeout_ms);
		}
		return;
	}
	if (rep->busy_timeout_ms)
		pw_store_set_busy_timeout(rep->store, 0);
	if (!rep->store_failing)
		pw_log_error(
			"%s: %s; keeping %zu pending writes in memory and retrying every %llus",
			what, pw_store_last_error(rep->store), pw_store_pending(rep->store),
			(unsigned long long)(rep->flush_retry_usec / USEC_PER_SEC));
	rep->store_failing = true;
}

/* ------------------------------------------------------------ counts and failures */

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

/* The store refused or failed: say so; the change is seen again next time. */
static void record_failed(struct pw_reporter *rep, struct pw_report_run *run,
			  const struct pw_probe_result *r, int k)
{
	char a[PW_ADDR_STRLEN];

	bool first = run->store_refused++ == 0;

	/* The change is detected again at the next observation once writes
	 * succeed; the count keeps the run from being a baseline with holes
	 * (pw_store_run_end()). */
	if (k == -ENOBUFS) {
		if (first)
			pw_log_error(
				"Job %s: database write queue full (%s); changes are held back until writes succeed",
				run->name, pw_store_last_error(rep->store));
		return;
	}
	pw_log_error("Job %s: cannot record %s port %u: %s", run->name, pw_addr_format(r->addr, a),
		     r->port, pw_report_store_strerror(rep, k));
}

/* ------------------------------------------------------------ addresses */

static int add_suspect(pw_u128 addr, void *userdata)
{
	int r = pw_addrset_add(userdata, addr);

	return r < 0 ? r : 0;
}

/* Which addresses accepted everything when the run began: those a closed
 * port can show to have stopped. */
static void load_suspects(struct pw_reporter *rep, struct pw_report_run *run)
{
	int r = pw_store_each_accepts_all(rep->store, run->run_id, add_suspect, &run->suspects);

	run->suspects_loaded = true;
	if (r < 0) {
		/* without them no episode ends in this run; the next one retries */
		pw_log_error("Job %s: reading the addresses that accept every port: %s", run->name,
			     pw_report_store_strerror(rep, r));
		pw_addrset_done(&run->suspects);
	}
}

/* An address began or ceased accepting every port: record, log, alert. */
static void address_changed(struct pw_reporter *rep, struct pw_report_run *run, pw_u128 addr,
			    enum pw_change_kind kind, uint64_t now)
{
	struct pw_event ev = {
		.type = kind == PW_CHANGE_ACCEPTS_ALL ? PW_EVENT_ADDRESS_ACCEPTS_ALL
						      : PW_EVENT_ADDRESS_ACCEPTS_ALL_ENDED,
		.time_usec = now,
		.job = run->job->name, /* told maybe after the run: the configuration's */
		.run_id = run->run_id,
		.has_address = true,
		.address = addr,
	};
	char a[PW_ADDR_STRLEN];
	int k = pw_store_record_accepts_all(rep->store, run->run_id, addr, kind, now);

	if (k < 0) {
		/* not recorded: the next run finds the same and tries again */
		run->store_refused++;
		pw_log_error("Job %s: cannot record that %s %s every port: %s", run->name,
			     pw_addr_format(addr, a),
			     kind == PW_CHANGE_ACCEPTS_ALL ? "accepts" : "no longer accepts",
			     pw_report_store_strerror(rep, k));
		return;
	}
	pw_report_store(rep, k, "Writing history");
	run->counts.changes++;
	tell_when_recorded(rep, &(struct pw_report_tell){
					.ev = ev,
					.cfg = &run->job->alert,
					.alert = pw_event_alert(ev.type),
					.priority = pw_event_priority(ev.type),
				});
}

/* The engine says it once per run; the store's state makes it once per episode. */
static void report_accepts_all(struct pw_reporter *rep, struct pw_report_run *run, pw_u128 addr,
			       uint64_t now)
{
	char a[PW_ADDR_STRLEN];
	bool was = false;
	int k;

	if (pw_addrset_add(&run->wild, addr) == 0)
		return;
	k = pw_store_accepts_all(rep->store, run->run_id, addr, &was);
	if (k < 0) {
		pw_log_error("Job %s: %s accepts every port, but its state cannot be read: %s",
			     run->name, pw_addr_format(addr, a), pw_report_store_strerror(rep, k));
		return;
	}
	if (pw_report_decide_address(was, true, false) == PW_CHANGE_ACCEPTS_ALL)
		address_changed(rep, run, addr, PW_CHANGE_ACCEPTS_ALL, now);
	else
		pw_log_debug("Job %s: %s still accepts every port", run->name,
			     pw_addr_format(addr, a));
}

/* Its change is not told if it waits for its commit still. */
static void untell(struct pw_reporter *rep, const struct pw_report_run *run,
		   const struct pw_probe_result *r)
{
	size_t n = 0;

	for (size_t i = 0; i < rep->n_held; i++) {
		const struct pw_event *ev = &rep->held[i].ev;

		if (ev->run_id == run->run_id && ev->port == r->port && ev->has_address &&
		    ev->address == r->addr)
			continue;
		rep->held[n++] = rep->held[i];
	}
	rep->n_held = n;
}

/* A port's change, told (journal, hook) once its batch commits. */
static void tell_port_change(struct pw_reporter *rep, const struct pw_report_run *run,
			     const struct pw_probe_result *r, enum pw_event_type type,
			     const struct pw_change *c, uint32_t rtt_usec,
			     enum pw_alert_event alert, int priority, uint64_t now)
{
	tell_when_recorded(rep, &(struct pw_report_tell){
					.ev = { .type = type,
						.time_usec = now,
						.job = run->job->name,
						.run_id = run->run_id,
						.has_address = true,
						.address = r->addr,
						.port = r->port,
						.service = pw_services_name(rep->services, r->port),
						.has_old_state = c->has_old,
						.old_state = c->old_state,
						.has_new_state = true,
						.new_state = c->new_state,
						.has_rtt = rtt_usec > 0,
						.rtt_usec = rtt_usec },
					.cfg = &run->job->alert,
					.alert = alert,
					.priority = priority,
				});
}

/* A withdrawn open that was already told: its change back (port-closed,
 * say), logged and hooked like any change, so that what was told is
 * taken back. */
static void tell_change_back(struct pw_reporter *rep, struct pw_report_run *run,
			     const struct pw_probe_result *r, uint64_t now)
{
	enum pw_event_type type = pw_event_type_for_state(r->state);
	enum pw_alert_event e = pw_event_alert(type);
	struct pw_change back = { .has_old = true,
				  .old_state = PW_STATE_OPEN,
				  .new_state = r->state };

	run->counts.changes++;
	tell_port_change(rep, run, r, type, &back, 0,
			 pw_alert_wants(&run->job->alert, e) ? e : _PW_ALERT_EVENT_MAX,
			 pw_event_priority(type), now);
}

/* An open port reported earlier in this run belonged to an address that
 * accepts everything: its state goes back (rare: news is held). */
static void report_retracted(struct pw_reporter *rep, struct pw_report_run *run,
			     const struct pw_probe_result *r, uint64_t now)
{
	char a[PW_ADDR_STRLEN];
	int k = pw_store_retract(rep->store, run->run_id, r->addr, r->port, r->state, now);

	pw_addr_format(r->addr, a);
	if (k < 0) {
		/* the open stays recorded, so it stays told */
		pw_log_error("Job %s: cannot withdraw %s port %u: %s", run->name, a, r->port,
			     pw_report_store_strerror(rep, k));
		return;
	}
	if (k == 0)
		return;
	if (k == PW_RETRACT_CHANGED_BACK)
		/* already told as open: the change back is told the same way */
		tell_change_back(rep, run, r, now);
	else
		untell(rep, run, r);
	if (k == PW_RETRACT_DROPPED_CHANGE && run->counts.changes > 0)
		run->counts.changes--;
	if (run->counts.open > 0) {
		run->counts.open--;
		count_state(&run->counts, r->state);
	}
	pw_log_notice("Job %s: %s port %u was reported open, but its address accepts every "
		      "port: it is %s again",
		      run->name, a, r->port, pw_state_to_string(r->state));
}

struct ended {
	pw_u128 *v;
	size_t n;
	const struct pw_report_run *run;
};

static int collect_ended(pw_u128 addr, void *userdata)
{
	struct ended *e = userdata;
	bool found = pw_addrset_contains(&e->run->wild, addr),
	     refuted = pw_addrset_contains(&e->run->refuted, addr);

	if (pw_report_decide_address(true, found, refuted) == PW_CHANGE_ACCEPTS_ALL_ENDED)
		e->v[e->n++] = addr;
	return 0;
}

void pw_report_run_completed(struct pw_reporter *rep, struct pw_report_run *run)
{
	struct ended e = { .run = run };
	uint64_t now = pw_now_usec(CLOCK_REALTIME);

	if (pw_addrset_count(&run->refuted) == 0)
		return;
	/* the ended ones are among the refuted: room for all of those */
	e.v = calloc(pw_addrset_count(&run->refuted), sizeof(*e.v));
	if (!e.v)
		return;
	if (pw_store_each_accepts_all(rep->store, run->run_id, collect_ended, &e) >= 0)
		for (size_t i = 0; i < e.n; i++)
			address_changed(rep, run, e.v[i], PW_CHANGE_ACCEPTS_ALL_ENDED, now);
	free(e.v);
}

void pw_report_run_done(struct pw_report_run *run)
{
	pw_addrset_done(&run->wild);
	pw_addrset_done(&run->suspects);
	pw_addrset_done(&run->refuted);
}

/* ------------------------------------------------------------ one result, recorded */

/* Decide, then record: 0, or < 0 when nothing was recorded (and so nothing is told). */
static int decide_and_record(struct pw_reporter *rep, struct pw_report_run *run,
			     const struct pw_probe_result *r, enum pw_state seen, uint64_t now,
			     struct pw_report_decision *d)
{
	const struct pw_job *job = run->job;
	struct pw_store_prior prior;
	int k;

	k = pw_store_prior(rep->store, run->run_id, r->addr, r->port, &prior);
	if (k >= 0)
		k = pw_report_decide(&prior, seen, r->flags & PW_RESULT_UNCONFIRMED,
				     pw_policy_expect(&job->expect_open, &job->never_open, r->port),
				     d);
	if (k >= 0)
		k = pw_store_record(rep->store, run->run_id,
				    &(struct pw_store_obs){ .addr = r->addr,
							    .port = r->port,
							    .state = seen,
							    .rtt_usec = r->rtt_usec,
							    .time_usec = now,
							    .change = d->change,
							    .verdict = d->verdict });
	if (k < 0) {
		record_failed(rep, run, r, k);
		return k;
	}
	pw_report_store(rep, k, "Writing history");
	return 0;
}

void pw_report_result(struct pw_reporter *rep, struct pw_report_run *run,
		      const struct pw_probe_result *r)
{
	/* an unconfirmed flap is recorded as what was seen, flagged */
	enum pw_state seen = (r->flags & PW_RESULT_UNCONFIRMED) ? r->observed : r->state;
	uint64_t now = pw_now_usec(CLOCK_REALTIME);
	struct pw_report_decision d;

	if (!run->suspects_loaded)
		load_suspects(rep, run);
	if (r->flags & (PW_RESULT_ACCEPTS_ALL | PW_RESULT_RETRACTED)) {
		if (r->flags & PW_RESULT_ACCEPTS_ALL)
			report_accepts_all(rep, run, r->addr, now);
		else
			report_retracted(rep, run, r, now);
		return;
	}
	if (r->observed != PW_STATE_OPEN && pw_addrset_count(&run->suspects) &&
	    pw_addrset_contains(&run->suspects, r->addr))
		(void)pw_addrset_add(&run->refuted, r->addr);
	run->counts.probes_done++;
	count_state(&run->counts, r->state);
	if (decide_and_record(rep, run, r, seen, now, &d) < 0)
		return;
	run->counts.changes += d.counts_as_change;
	if (d.event == _PW_EVENT_MAX)
		return;
	tell_port_change(rep, run, r, d.event, &d.change, r->rtt_usec,
			 pw_report_alert_event(&d, &run->job->alert), d.priority, now);
}
