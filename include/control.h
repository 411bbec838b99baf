/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's control socket: an AF_UNIX SOCK_SEQPACKET socket on which
 * `portwatch` asks the running daemon to do something. One request per
 * connection: the client sends one message (a line of text, no newline
 * needed, at most PW_CONTROL_MAX_MSG bytes), the daemon answers and
 * closes. The answer is text of up to PW_CONTROL_MAX_REPLY bytes, sent
 * in messages of at most PW_CONTROL_REPLY_CHUNK bytes followed by one
 * message of a single NUL byte (the end: a connection that closes before
 * it lost part of the reply).
 *
 * Requests and replies (the reply's first line is "ok" or "error: WHY"):
 *   run JOB   ok | error: no such job | error: job is disabled |
 *             error: already running
 *   status    ok, then one line per job run in progress:
 *             "running JOB RUN_ID PROBES_DONE PROBES_TOTAL"
 *             and a last line "pid PID"
 *
 * Only root and the daemon's own user may talk to it: the socket is
 * created 0600 and each peer's SO_PEERCRED uid is checked too (a socket
 * file's mode is not honoured everywhere). The other way round, a client
 * trusts only a listener owned by root or by its own user. The dispatching of requests is
 * the caller's (the manager's handler); this module only moves messages.
 */

#include <stdint.h>
#include <systemd/sd-event.h>

/* a request; also the one reply message of a daemon older than the end marker */
#define PW_CONTROL_MAX_MSG 4096
/* a reply: 4,096 running jobs with 64-character names fit */
#define PW_CONTROL_MAX_REPLY (1024 * 1024)
#define PW_CONTROL_REPLY_CHUNK (16 * 1024)
#define PW_CONTROL_MAX_CLIENTS 16
/* a client that sends nothing is dropped after this */
#define PW_CONTROL_CLIENT_TIMEOUT_USEC (5 * UINT64_C(1000000))

/*
 * Answer one request: set *ret_reply to a malloc()ed message. A negative
 * return sends "error: " and strerror() instead.
 */
typedef int (*pw_control_handler_t)(void *userdata, const char *request, char **ret_reply);

struct pw_control;

/*
 * Listen on path. A stale socket file (nobody accepts on it) is replaced;
 * a live one gives -EADDRINUSE, a path too long for sun_path
 * -ENAMETOOLONG.
 */
int pw_control_new(sd_event *event, const char *path, pw_control_handler_t handler, void *userdata,
		   struct pw_control **ret);

/* Stop listening, drop clients, remove the socket file. */
struct pw_control *pw_control_free(struct pw_control *c);

/*
 * Client side: send one request and wait up to timeout_usec for the reply
 * (malloc()ed, NUL-terminated, control characters but '\n' replaced by
 * '?' so it can be printed as is). -ENOENT: no socket at path (the daemon
 * is not running); -ECONNREFUSED: a socket file nobody listens on;
 * -ETIMEDOUT; -EACCES; -ECONNRESET: the reply was cut; -EPERM: the
 * process listening there is neither root nor this user, so the request
 * is not sent and *ret_error (when ret_error is not NULL) says so, with
 * its uid (malloc()ed); other -errno.
 */
int pw_control_request(const char *path, const char *request, uint64_t timeout_usec,
		       char **ret_reply, char **ret_error);
