/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "events.h"
#include "log.h"
#include "util.h"

static const char *state_name(bool has, enum pw_state s)
{
	return has ? pw_state_to_string(s) ?: "?" : "?";
}

/* "127.0.0.1:22 (ssh)", "[::1]:8080", or just the address for port 0. */
static void put_target(FILE *f, const struct pw_event *ev, const char *service)
{
	char a[PW_ADDR_STRLEN];

	pw_addr_format(ev->address, a);
	if (ev->port == 0) {
		fputs(a, f);
		return;
	}
	fprintf(f, pw_addr_is_v4(ev->address) ? "%s:%u" : "[%s]:%u", a, ev->port);
	if (service[0])
		fprintf(f, " (%s)", service);
}

/* "Run 7 of job web", "Run of job web", "Run 7". */
static void put_run(FILE *f, const struct pw_event *ev)
{
	fputs("Run", f);
	if (ev->run_id > 0)
		fprintf(f, " %" PRId64, ev->run_id);
	if (ev->job)
		fprintf(f, " of job %s", ev->job);
}

static void put_state_counts(FILE *f, const struct pw_event_counts *c)
{
	fprintf(f,
		"%" PRIu64 " open, %" PRIu64 " closed, %" PRIu64 " filtered, %" PRIu64
		" unreachable",
		c->open, c->closed, c->filtered, c->unreachable);
}

static const char *reason_of(const struct pw_event *ev)
{
	if (ev->reason)
		return ev->reason;
	if (ev->error > 0)
		return strerror(ev->error);
	return NULL;
}

/*
 * Each type's sentence, after the target for port events. A type's row in
 * event_types names its writer, so adding a type is one row and, where no
 * existing sentence fits, one writer.
 */
static enum pw_state implied_state(enum pw_event_type t);

static void put_changed(FILE *f, const struct pw_event *ev)
{
	fprintf(f, " is now %s",
		state_name(true, ev->has_new_state ? ev->new_state : implied_state(ev->type)));
	if (ev->has_old_state)
		fprintf(f, " (was %s)", state_name(true, ev->old_state));
}

static void put_flapping(FILE *f, const struct pw_event *ev)
{
	fprintf(f, " was seen %s but re-probes did not confirm it; still %s",
		state_name(ev->has_new_state, ev->new_state),
		state_name(ev->has_old_state, ev->old_state));
}

static void put_accepts_all(FILE *f, const struct pw_event *ev)
{
	fputs(" accepts connections on every probed port", f);
	if (ev->counts)
		fprintf(f, " (%" PRIu64 " of %" PRIu64 " open)", ev->counts->open,
			ev->counts->probes_done);
	fputs("; its ports are not reported one by one", f);
}

static void put_accepts_all_ended(FILE *f, const struct pw_event *ev)
{
	fputs(" no longer accepts connections on every port; its ports are reported again", f);
}

static void put_unexpected_open(FILE *f, const struct pw_event *ev)
{
	fputs(" is open but the policy does not expect it", f);
}

static void put_expected_closed(FILE *f, const struct pw_event *ev)
{
	fprintf(f, " is %s but the policy expects it open",
		state_name(ev->has_new_state, ev->new_state));
}

static void put_baseline(FILE *f, const struct pw_event *ev)
{
	fputs("Baseline recorded", f);
	if (ev->job)
		fprintf(f, " for job %s", ev->job);
	if (ev->counts) {
		fputs(": ", f);
		put_state_counts(f, ev->counts);
	}
	if (ev->run_id > 0)
		fprintf(f, " (run %" PRId64 ")", ev->run_id);
}

static void put_run_started(FILE *f, const struct pw_event *ev)
{
	put_run(f, ev);
	fputs(" started", f);
	if (ev->counts)
		fprintf(f, ": %" PRIu64 " probes", ev->counts->probes_planned);
}

static void put_run_completed(FILE *f, const struct pw_event *ev)
{
	const struct pw_event_counts *c = ev->counts;
	char d[64];

	put_run(f, ev);
	fputs(" completed", f);
	if (!c)
		return;
	fprintf(f, " in %s: %" PRIu64 " probes, ",
		pw_format_duration(d, sizeof(d), c->duration_usec), c->probes_done);
	put_state_counts(f, c);
	fprintf(f, ", %" PRIu64 " change%s", c->changes, c->changes == 1 ? "" : "s");
	if (c->has_loss)
		fprintf(f, ", %.1f%% of attempts lost", c->loss_pct);
}

static void put_run_skipped(FILE *f, const struct pw_event *ev)
{
	/* run_id is the skipped run's own record, not the one still going */
	put_run(f, ev);
	fprintf(f, " skipped: %s", reason_of(ev) ?: "the previous run is still in progress");
}

static void put_run_failed(FILE *f, const struct pw_event *ev)
{
	put_run(f, ev);
	fprintf(f, " failed: %s", reason_of(ev) ?: "unknown error");
}

static void put_run_aborted(FILE *f, const struct pw_event *ev)
{
	const char *why = reason_of(ev);

	put_run(f, ev);
	fputs(" aborted", f);
	if (ev->counts)
		fprintf(f, " after %" PRIu64 " of %" PRIu64 " probes", ev->counts->probes_done,
			ev->counts->probes_planned);
	if (why)
		fprintf(f, ": %s", why);
}

static void put_jobs(FILE *f, const struct pw_event_jobs *j, bool changes)
{
	fprintf(f, "%u job%s", j->total, j->total == 1 ? "" : "s");
	if (changes)
		fprintf(f, " (%u added, %u changed, %u removed)", j->added, j->changed, j->removed);
}

static void put_config_reloaded(FILE *f, const struct pw_event *ev)
{
	fputs("Configuration reloaded", f);
	if (ev->config_path)
		fprintf(f, " from %s", ev->config_path);
	if (ev->jobs) {
		fputs(": ", f);
		put_jobs(f, ev->jobs, true);
	}
}

static void put_config_rejected(FILE *f, const struct pw_event *ev)
{
	const char *why = reason_of(ev);

	fputs("Configuration", f);
	if (ev->config_path)
		fprintf(f, " %s", ev->config_path);
	fputs(" rejected, the running configuration stays", f);
	if (why)
		fprintf(f, ": %s", why);
}

static void put_daemon_started(FILE *f, const struct pw_event *ev)
{
	const char *sep = " (";

	fputs("portwatchd " PACKAGE_VERSION " started", f);
	if (ev->config_path) {
		fprintf(f, "%sconfig %s", sep, ev->config_path);
		sep = ", ";
	}
	if (ev->database) {
		fprintf(f, "%sdatabase %s", sep, ev->database);
		sep = ", ";
	}
	if (ev->jobs) {
		fputs(sep, f);
		put_jobs(f, ev->jobs, false);
		sep = ", ";
	}
	if (sep[0] == ',')
		fputc(')', f);
}

static void put_daemon_stopped(FILE *f, const struct pw_event *ev)
{
	const char *why = reason_of(ev);

	fputs("portwatchd stopped", f);
	if (why)
		fprintf(f, ": %s", why);
}

static void put_alert_failed(FILE *f, const struct pw_event *ev)
{
	const struct pw_event_hook *h = ev->hook;
	char dur[32];

	if (!h) {
		fputs("An alert hook failed", f);
		return;
	}
	fprintf(f, "Alert hook %s for %s%s%s", h->program, h->event, ev->job ? " of job " : "",
		ev->job ?: "");
	pw_format_duration(dur, sizeof(dur), h->duration_usec);
	if (h->spawn_error)
		fprintf(f, " could not start: %s", strerror(h->spawn_error));
	else if (h->timed_out)
		fprintf(f, " timed out and was killed (signal %d)", h->exited ? 0 : h->term_signal);
	else if (!h->exited)
		fprintf(f, " was killed by signal %d after %s", h->term_signal, dur);
	else
		fprintf(f, " exited with status %d after %s", h->exit_status, dur);
	if (h->output && *h->output)
		fprintf(f, "; output: %s", h->output);
}

/*
 * Every fact of each event type, in one place. The MESSAGE_IDs were made
 * once with `systemd-id128 new`; each has an entry in
 * systemd/portwatch.catalog (tests/test_events.c checks both ways). Never
 * change one: saved journalctl filters and alerting rules match on them.
 *   port   about one address or port: the sentence starts with it
 *   state  the state a change to it reports (NONE: not a change)
 *   alert  the hook event name it runs under (NONE: hooks never see it)
 */
#define NO_STATE _PW_STATE_MAX
#define NO_ALERT _PW_ALERT_EVENT_MAX
static const struct {
	const char *name;
	const char *message_id;
	int priority;
	bool port;
	enum pw_state state;
	enum pw_alert_event alert;
	void (*put)(FILE *f, const struct pw_event *ev);
} event_types[_PW_EVENT_MAX] = {
	[PW_EVENT_PORT_OPENED] = { "port-opened", "446ac9d40b324de7a24554a65fd48aaa", LOG_WARNING,
				   true, PW_STATE_OPEN, PW_ALERT_OPENED, put_changed },
	[PW_EVENT_PORT_CLOSED] = { "port-closed", "d8cee0bfd6cb41ddaadd3d341c9cecef", LOG_NOTICE,
				   true, PW_STATE_CLOSED, PW_ALERT_CLOSED, put_changed },
	[PW_EVENT_PORT_FILTERED] = { "port-filtered", "73d178df424347c4b58491aadb49a2a0",
				     LOG_NOTICE, true, PW_STATE_FILTERED, PW_ALERT_FILTERED,
				     put_changed },
	[PW_EVENT_PORT_UNREACHABLE] = { "port-unreachable", "22e943c07a1b402ebfabc8723b404a5a",
					LOG_NOTICE, true, PW_STATE_UNREACHABLE,
					PW_ALERT_UNREACHABLE, put_changed },
	[PW_EVENT_PORT_FLAPPING] = { "port-flapping", "bd44b25d12d6412593ca0babe85d5926", LOG_INFO,
				     true, NO_STATE, PW_ALERT_FLAPPING, put_flapping },
	[PW_EVENT_ADDRESS_ACCEPTS_ALL] = { "address-accepts-all",
					   "4fca75dc36dc4fca9eaa3c02917512e1", LOG_WARNING, true,
					   NO_STATE, PW_ALERT_ACCEPTS_EVERYTHING, put_accepts_all },
	[PW_EVENT_BASELINE_RECORDED] = { "baseline-recorded", "d5074e0925f9434e823ada683b2b94ff",
					 LOG_NOTICE, false, NO_STATE, NO_ALERT, put_baseline },
	[PW_EVENT_RUN_STARTED] = { "run-started", "c0a07aa21b704695bb7e42c8f24c5a8d", LOG_DEBUG,
				   false, NO_STATE, NO_ALERT, put_run_started },
	[PW_EVENT_RUN_COMPLETED] = { "run-completed", "2827954af58a4a8786a047554dbb4bbf", LOG_INFO,
				     false, NO_STATE, NO_ALERT, put_run_completed },
	[PW_EVENT_RUN_SKIPPED] = { "run-skipped", "898b4ceffeb94505b07f9cf150a927ed", LOG_NOTICE,
				   false, NO_STATE, NO_ALERT, put_run_skipped },
	[PW_EVENT_RUN_FAILED] = { "run-failed", "0623ae75e57047a6a4b1b7d8e345352e", LOG_ERR, false,
				  NO_STATE, PW_ALERT_RUN_FAILED, put_run_failed },
	[PW_EVENT_RUN_ABORTED] = { "run-aborted", "8e5ff242b50e4966a55a577a575fd5a1", LOG_NOTICE,
				   false, NO_STATE, NO_ALERT, put_run_aborted },
	[PW_EVENT_CONFIG_RELOADED] = { "config-reloaded", "f47a53db0db74cfcae5f7b58c3cb6315",
				       LOG_NOTICE, false, NO_STATE, NO_ALERT, put_config_reloaded },
	[PW_EVENT_CONFIG_REJECTED] = { "config-rejected", "23a8321a1972491abcbc6bf2f12dd052",
				       LOG_ERR, false, NO_STATE, NO_ALERT, put_config_rejected },
	[PW_EVENT_DAEMON_STARTED] = { "daemon-started", "a5206b66734a472db718204b0d0cc6bb",
				      LOG_NOTICE, false, NO_STATE, NO_ALERT, put_daemon_started },
	[PW_EVENT_DAEMON_STOPPED] = { "daemon-stopped", "dbd74b9e2c6348a4bd34b700a25f17ea",
				      LOG_NOTICE, false, NO_STATE, NO_ALERT, put_daemon_stopped },
	[PW_EVENT_UNEXPECTED_OPEN] = { "unexpected-open", "6565e90585bf43f08e038e804d044e8a",
				       LOG_WARNING, true, NO_STATE, PW_ALERT_UNEXPECTED_OPEN,
				       put_unexpected_open },
	[PW_EVENT_EXPECTED_CLOSED] = { "expected-closed", "9022ad5317834da2bcd9f758988839f8",
				       LOG_WARNING, true, NO_STATE, PW_ALERT_EXPECTED_CLOSED,
				       put_expected_closed },
	[PW_EVENT_ADDRESS_ACCEPTS_ALL_ENDED] = { "address-accepts-all-ended",
						 "0157954c003241a29fcb557965a8c7fc", LOG_NOTICE,
						 true, NO_STATE, PW_ALERT_ACCEPTS_EVERYTHING_ENDED,
						 put_accepts_all_ended },
	[PW_EVENT_ALERT_FAILED] = { "alert-failed", "2be93ecfffd247fc83a916f90fc174d5", LOG_WARNING,
				    false, NO_STATE, NO_ALERT, put_alert_failed },
};

const char *pw_event_type_to_string(enum pw_event_type t)
{
	if ((unsigned)t >= _PW_EVENT_MAX)
		return NULL;
	return event_types[t].name;
}

int pw_event_type_from_string(const char *s)
{
	for (size_t i = 0; s && i < PW_ELEMENTSOF(event_types); i++)
		if (strcmp(s, event_types[i].name) == 0)
			return (int)i;
	return -EINVAL;
}

const char *pw_event_message_id(enum pw_event_type t)
{
	if ((unsigned)t >= _PW_EVENT_MAX)
		return NULL;
	return event_types[t].message_id;
}

int pw_event_priority(enum pw_event_type t)
{
	if ((unsigned)t >= _PW_EVENT_MAX)
		return -EINVAL;
	return event_types[t].priority;
}

enum pw_alert_event pw_event_alert(enum pw_event_type t)
{
	if ((unsigned)t >= _PW_EVENT_MAX)
		return _PW_ALERT_EVENT_MAX;
	return event_types[t].alert;
}

enum pw_event_type pw_event_type_for_state(enum pw_state s)
{
	for (size_t i = 0; i < PW_ELEMENTSOF(event_types); i++)
		if (event_types[i].state == s)
			return (enum pw_event_type)i;
	return _PW_EVENT_MAX;
}

/* The state a change event reports when the caller left new_state unset. */
static enum pw_state implied_state(enum pw_event_type t)
{
	return event_types[t].state;
}

static void put_message(FILE *f, const struct pw_event *ev, const char *service)
{
	if (!event_types[ev->type].port) {
		event_types[ev->type].put(f, ev);
		return;
	}
	/* a port event without its port is a caller bug; still say something */
	if (ev->has_address) {
		put_target(f, ev, service);
		event_types[ev->type].put(f, ev);
	} else {
		fputs(event_types[ev->type].name, f);
	}
	if (ev->job)
		fprintf(f, " [job %s]", ev->job);
}

/* A growable NULL-terminated array of "KEY=value" strings. */
struct field_list {
	char **v;
	size_t n, cap;
	bool oom;
};

static void __attribute__((format(printf, 2, 3)))
add_field(struct field_list *l, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	if (l->oom)
		return;
	if (l->n + 2 > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->oom = true;
			return;
		}
		l->v = v;
		l->cap = cap;
		/* terminated at every step: a later failure leaves a list
		 * pw_event_fields_free() can walk */
		l->v[l->n] = NULL;
	}
	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		l->oom = true;
		return;
	}
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

static void add_counts(struct field_list *l, const struct pw_event_counts *c)
{
	add_field(l, "PORTWATCH_PROBES_PLANNED=%" PRIu64, c->probes_planned);
	add_field(l, "PORTWATCH_PROBES_DONE=%" PRIu64, c->probes_done);
	add_field(l, "PORTWATCH_OPEN=%" PRIu64, c->open);
	add_field(l, "PORTWATCH_CLOSED=%" PRIu64, c->closed);
	add_field(l, "PORTWATCH_FILTERED=%" PRIu64, c->filtered);
	add_field(l, "PORTWATCH_UNREACHABLE=%" PRIu64, c->unreachable);
	add_field(l, "PORTWATCH_CHANGES=%" PRIu64, c->changes);
	add_field(l, "PORTWATCH_DURATION_USEC=%" PRIu64, c->duration_usec);
	if (c->has_loss)
		add_field(l, "PORTWATCH_LOSS_PCT=%.2f", c->loss_pct);
}

static void add_hook(struct field_list *l, const struct pw_event_hook *h)
{
	add_field(l, "PORTWATCH_ALERT_EVENT=%s", h->event);
	add_field(l, "PORTWATCH_HOOK=%s", h->program);
	if (h->spawn_error)
		add_field(l, "ERRNO=%d", h->spawn_error);
	else if (h->exited)
		add_field(l, "PORTWATCH_HOOK_STATUS=%d", h->exit_status);
	else
		add_field(l, "PORTWATCH_HOOK_SIGNAL=%d", h->term_signal);
	if (h->timed_out)
		add_field(l, "PORTWATCH_HOOK_TIMED_OUT=1");
	add_field(l, "PORTWATCH_DURATION_USEC=%" PRIu64, h->duration_usec);
	if (h->output && *h->output)
		add_field(l, "PORTWATCH_HOOK_OUTPUT=%s", h->output);
}

static void add_fields(struct field_list *l, const struct pw_event *ev, const char *service)
{
	char a[PW_ADDR_STRLEN];
	const char *why = reason_of(ev);

	add_field(l, "PORTWATCH_EVENT=%s", event_types[ev->type].name);
	if (ev->job)
		add_field(l, "PORTWATCH_JOB=%s", ev->job);
	if (ev->run_id > 0)
		add_field(l, "PORTWATCH_RUN_ID=%" PRId64, ev->run_id);
	if (ev->has_address) {
		add_field(l, "PORTWATCH_ADDRESS=%s", pw_addr_format(ev->address, a));
		if (ev->port) {
			add_field(l, "PORTWATCH_PORT=%u", ev->port);
			add_field(l, "PORTWATCH_SERVICE=%s", service);
		}
	}
	if (ev->has_old_state)
		add_field(l, "PORTWATCH_OLD_STATE=%s", state_name(true, ev->old_state));
	if (ev->has_new_state)
		add_field(l, "PORTWATCH_NEW_STATE=%s", state_name(true, ev->new_state));
	if (ev->has_rtt)
		add_field(l, "PORTWATCH_RTT_USEC=%" PRIu64, ev->rtt_usec);
	if (ev->counts)
		add_counts(l, ev->counts);
	if (ev->type == PW_EVENT_DAEMON_STARTED)
		add_field(l, "PORTWATCH_VERSION=%s", PACKAGE_VERSION);
	if (ev->config_path)
		add_field(l, "PORTWATCH_CONFIG=%s", ev->config_path);
	if (ev->database)
		add_field(l, "PORTWATCH_DATABASE=%s", ev->database);
	if (ev->jobs) {
		add_field(l, "PORTWATCH_JOBS=%u", ev->jobs->total);
		if (ev->type == PW_EVENT_CONFIG_RELOADED) {
			add_field(l, "PORTWATCH_JOBS_ADDED=%u", ev->jobs->added);
			add_field(l, "PORTWATCH_JOBS_CHANGED=%u", ev->jobs->changed);
			add_field(l, "PORTWATCH_JOBS_REMOVED=%u", ev->jobs->removed);
		}
	}
	if (ev->hook)
		add_hook(l, ev->hook);
	if (why)
		add_field(l, "PORTWATCH_REASON=%s", why);
	if (ev->error > 0)
		add_field(l, "ERRNO=%d", ev->error);
}

void pw_event_fields_free(char **fields)
{
	for (size_t i = 0; fields && fields[i]; i++)
		free(fields[i]);
	free(fields);
}

int pw_event_format(const struct pw_event *ev, char **ret_message, char ***ret_fields)
{
	struct field_list l = {};
	char service[64] = "";
	char *msg = NULL;
	size_t msg_len = 0;
	FILE *f;

	if (!ev || (unsigned)ev->type >= _PW_EVENT_MAX)
		return -EINVAL;
	if (ev->has_address && ev->port && ev->service)
		snprintf(service, sizeof(service), "%s", ev->service);

	f = open_memstream(&msg, &msg_len);
	if (!f)
		return -ENOMEM;
	put_message(f, ev, service);
	if (fclose(f) != 0) {
		free(msg);
		return -ENOMEM;
	}

	add_fields(&l, ev, service);
	if (l.oom) {
		pw_event_fields_free(l.v);
		free(msg);
		return -ENOMEM;
	}
	*ret_message = msg;
	*ret_fields = l.v;
	return 0;
}

int pw_event_log_priority(const struct pw_event *ev, int priority)
{
	_cleanup_free_ char *msg = NULL;
	char **fields = NULL;
	int r;

	r = pw_event_format(ev, &msg, &fields);
	if (r < 0)
		return r;
	r = pw_log_full(priority, event_types[ev->type].message_id, (const char *const *)fields,
			"%s", msg);
	pw_event_fields_free(fields);
	return r;
}

int pw_event_log(const struct pw_event *ev)
{
	if (!ev || (unsigned)ev->type >= _PW_EVENT_MAX)
		return -EINVAL;
	return pw_event_log_priority(ev, event_types[ev->type].priority);
}
