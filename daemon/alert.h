/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Alert hooks: run the configured command (struct pw_alert, from the job
 * or the global "alert" group) for chosen events, without ever blocking
 * the daemon's loop.
 *
 * - No shell: argv is executed as given (posix_spawn), so nothing from the
 *   network or the configuration is ever parsed by a shell. The event is in
 *   the environment (PORTWATCH_EVENT, _JOB, _ADDRESS, _PORT, _SERVICE,
 *   _OLD_STATE, _NEW_STATE, _RUN_ID, _TIME, _REASON where they apply, and
 *   PATH=PW_ALERT_PATH; nothing else from the daemon's environment) and as
 *   one JSON object on stdin, written into a pipe before the command
 *   starts (it is far smaller than a pipe's buffer).
 * - The command runs in its own process group with default signal
 *   handling, an empty signal mask, "/" as working directory and only fds
 *   0-2 open. stdout and stderr share one pipe; the first
 *   PW_ALERT_OUTPUT_MAX bytes are kept, the rest is read and dropped.
 * - After the timeout the group gets SIGTERM, PW_ALERT_KILL_GRACE_USEC
 *   later SIGKILL.
 * - When the command itself ends (exit, signal, timed out or not), what is
 *   left in its process group gets SIGKILL: a hook cannot leave processes
 *   behind (one that must outlive it has to leave the group, e.g. setsid).
 * - At most max_running commands run at once; later ones wait in a FIFO of
 *   at most max_queued. Beyond that pw_alerter_submit() refuses with
 *   -ENOBUFS (the caller logs it). Alerts are only notifications: the
 *   history is in the database whatever happens to them.
 * - Each finished (or unstartable) command is reported once through the
 *   done callback, with its exit status and output: this module logs
 *   nothing itself.
 *
 * Children are watched with sd_event_add_child(): SIGCHLD must be blocked
 * in every thread before the first submit.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "events.h"

#define PW_ALERT_DEFAULT_MAX_RUNNING 4
#define PW_ALERT_DEFAULT_MAX_QUEUED 64
#define PW_ALERT_OUTPUT_MAX 4096
#define PW_ALERT_KILL_GRACE_USEC (5 * UINT64_C(1000000))
#define PW_ALERT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct pw_alert_result {
	const char *event;   /* "unexpected-open" */
	const char *job;     /* NULL if none */
	const char *program; /* argv[0] */
	pid_t pid;           /* 0 if it did not start */
	int spawn_error;     /* errno: the command could not start; 0 otherwise */
	bool exited;         /* exit_status valid; else term_signal */
	int exit_status;
	int term_signal;
	bool timed_out;     /* killed after the timeout */
	const char *output; /* stdout+stderr, NUL-terminated, may be "" */
	size_t output_len;
	bool output_truncated;
	uint64_t duration_usec;
};

typedef void (*pw_alert_done_cb_t)(void *userdata, const struct pw_alert_result *r);

struct pw_alerter;

/* max_running/max_queued 0: the defaults above. */
int pw_alerter_new(sd_event *event, unsigned max_running, size_t max_queued,
		   pw_alert_done_cb_t done, void *userdata, struct pw_alerter **ret);

/* Kills (SIGKILL) and reaps running commands, drops the queue, unreported. */
struct pw_alerter *pw_alerter_free(struct pw_alerter *a);

/* Whether the alert has a command and subscribes to the event. */
bool pw_alert_wants(const struct pw_alert *cfg, enum pw_alert_event e);

/*
 * Run cfg's command for event ev, under the hook event name e (the
 * report's choice: see report.h), now, or queue it. cfg and ev are copied;
 * the hook is told the members of ev that are set, and ev->time_usec. Returns 0 (started; a start failure is reported through the
 * callback), 1 (queued), -ENOBUFS (the queue is full: dropped), -EINVAL
 * (no command), -ENOMEM.
 */
int pw_alerter_submit(struct pw_alerter *a, const struct pw_alert *cfg, enum pw_alert_event e,
		      const struct pw_event *ev);

unsigned pw_alerter_running(const struct pw_alerter *a);
size_t pw_alerter_queued(const struct pw_alerter *a);

/* The JSON object a hook reads on stdin (no trailing newline). */
int pw_alert_format_json(enum pw_alert_event e, const struct pw_event *ev, char **ret);

/* The hook's environment: a NULL-terminated "KEY=value" list (free each
 * string and the array). */
int pw_alert_format_env(enum pw_alert_event e, const struct pw_event *ev, char ***ret);
