/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Journal events: every port change, run and configuration event the
 * daemon reports is one entry with a stable MESSAGE_ID (explained in
 * systemd/portwatch.catalog, shown by `journalctl -x`), a fixed priority
 * and structured PORTWATCH_* fields. Newly opened ports log at
 * LOG_WARNING, so `journalctl -p warning -u portwatchd` is an alert feed.
 *
 * The MESSAGE_IDs, the event names and the field names are an interface:
 * operators filter on them. Never change or reuse one; add new ones.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "state.h"

enum pw_event_type {
	PW_EVENT_PORT_OPENED,         /* a confirmed change to open */
	PW_EVENT_PORT_CLOSED,         /* ... to closed */
	PW_EVENT_PORT_FILTERED,       /* ... to filtered */
	PW_EVENT_PORT_UNREACHABLE,    /* ... to unreachable */
	PW_EVENT_PORT_FLAPPING,       /* a change that re-probes did not confirm */
	PW_EVENT_ADDRESS_ACCEPTS_ALL, /* began to accept every port: a proxy, tarpit, NAT rule */
	PW_EVENT_BASELINE_RECORDED,   /* a job's first complete run */
	PW_EVENT_RUN_STARTED,
	PW_EVENT_RUN_COMPLETED,
	PW_EVENT_RUN_SKIPPED, /* due while the previous run still goes */
	PW_EVENT_RUN_FAILED,
	PW_EVENT_RUN_ABORTED, /* stopped on purpose: shutdown, reload */
	PW_EVENT_CONFIG_RELOADED,
	PW_EVENT_CONFIG_REJECTED, /* reload failed, the old config stays */
	PW_EVENT_DAEMON_STARTED,
	PW_EVENT_DAEMON_STOPPED,
	PW_EVENT_UNEXPECTED_OPEN,           /* policy: open, but not expected */
	PW_EVENT_EXPECTED_CLOSED,           /* policy: expected open, but is not */
	PW_EVENT_ADDRESS_ACCEPTS_ALL_ENDED, /* its ports answer for themselves again */
	PW_EVENT_ALERT_FAILED,              /* an alert hook failed: exit status, signal, timeout */
	_PW_EVENT_MAX,
};

/* A run's counters; for ADDRESS_ACCEPTS_ALL they count that address only. */
struct pw_event_counts {
	uint64_t probes_planned; /* ports x addresses the run covers */
	uint64_t probes_done;    /* with a final state */
	uint64_t open, closed, filtered, unreachable;
	uint64_t changes; /* confirmed state changes */
	uint64_t duration_usec;
	/* the share of connection attempts lost (pw_engine_loss_pct()), once
	 * a run ends with something answered: PORTWATCH_LOSS_PCT */
	bool has_loss;
	double loss_pct;
};

/* How an alert hook ended, for ALERT_FAILED. */
struct pw_event_hook {
	const char *event;   /* the hook event it ran for: "opened", ... */
	const char *program; /* argv[0] */
	int spawn_error;     /* errno: it could not start; 0: it ran */
	bool exited;         /* else killed by term_signal */
	int exit_status, term_signal;
	bool timed_out;
	uint64_t duration_usec;
	const char *output; /* its output on one line, maybe cut; NULL: none */
};

/* The jobs of a (re)loaded configuration. */
struct pw_event_jobs {
	unsigned total, added, changed, removed;
};

/*
 * One event: what the journal logs, and what an alert hook is told (see
 * alert.h). Zero-initialise and fill what applies (designated
 * initialisers); every unset member is left out of the entry.
 */
struct pw_event {
	enum pw_event_type type;
	uint64_t time_usec; /* CLOCK_REALTIME; hooks report it, the journal stamps its own */
	const char *job;    /* NULL: not about a job */
	int64_t run_id;     /* store's run id, > 0; 0: none */

	/* the port (port events) or the address (ADDRESS_ACCEPTS_ALL) */
	bool has_address;
	pw_u128 address;
	uint16_t port;       /* 0: the address as a whole */
	const char *service; /* services.h's name of the port; NULL: none */
	bool has_old_state, has_new_state;
	enum pw_state old_state, new_state;
	bool has_rtt;
	uint64_t rtt_usec;

	const struct pw_event_counts *counts; /* run events; NULL: none */

	/* configuration and daemon events */
	const char *config_path;
	const char *database;
	const struct pw_event_jobs *jobs; /* NULL: none */

	const struct pw_event_hook *hook; /* ALERT_FAILED; NULL: none */

	/* why: failure text, abort reason, rejected config's first error */
	const char *reason;
	int error; /* errno (positive), logged as ERRNO=; 0: none */
};

const char *pw_event_type_to_string(enum pw_event_type t); /* "port-opened"; NULL if invalid */
int pw_event_type_from_string(const char *s);              /* the type, or -EINVAL */
const char *pw_event_message_id(enum pw_event_type t);     /* 32 hex digits; NULL if invalid */
int pw_event_priority(enum pw_event_type t);               /* LOG_*; -EINVAL if invalid */

/* The event reporting a confirmed change to state s (PORT_OPENED, ...). */
enum pw_event_type pw_event_type_for_state(enum pw_state s);

/* The hook event an event type runs under ("opened" for port-opened);
 * _PW_ALERT_EVENT_MAX for types no hook sees. */
enum pw_alert_event pw_event_alert(enum pw_event_type t);

/*
 * The human MESSAGE and the NULL-terminated "KEY=value" field list of an
 * event, without logging it. Free with pw_event_fields_free() and free().
 * Returns 0, -EINVAL (bad type) or -ENOMEM.
 */
int pw_event_format(const struct pw_event *ev, char **ret_message, char ***ret_fields);
void pw_event_fields_free(char **fields);

/* Log one event through pw_log_full() at its priority. Returns 0 or -errno. */
int pw_event_log(const struct pw_event *ev);

/* The same at another priority: a change the job's policy expects is a
 * notice, whatever its type's own priority. */
int pw_event_log_priority(const struct pw_event *ev, int priority);
