/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Host names resolved off the event loop. getaddrinfo(3) blocks for as
 * long as DNS takes: with a dead name server that is resolv.conf's timeout
 * x attempts per name, long enough to miss the watchdog and to leave the
 * control socket and every other job waiting. A request resolves its names
 * in a thread of its own and says so through an eventfd, which the daemon
 * watches like any other descriptor.
 *
 * getaddrinfo cannot be interrupted, so a request freed while its thread
 * still resolves is only dropped: the thread finishes the lookup it is in,
 * skips the rest and frees what the two share. Nothing waits for it.
 */

#include <stddef.h>

#include "iset.h"

struct pw_resolve;

/* What a request runs: pw_targets_resolve() unless a test supplies one. */
typedef int (*pw_resolve_lookup_cb_t)(char *const *names, size_t n_names,
				      const struct pw_iset *exclude, struct pw_iset *ret_addrs,
				      int *gai_errors);

/*
 * Start resolving names (copied), minus exclude (copied; may be NULL).
 * fn NULL means pw_targets_resolve(). Returns 0, -ENOMEM, or the error of
 * eventfd(2) or pthread_create(3).
 */
int pw_resolve_start(char *const *names, size_t n_names, const struct pw_iset *exclude,
		     pw_resolve_lookup_cb_t fn, struct pw_resolve **ret);

/* Readable (EPOLLIN) once the result is in; never read it yourself. */
int pw_resolve_fd(const struct pw_resolve *r);

/*
 * The outcome, once: 0 with the addresses (the caller owns them) and how
 * many names did not resolve; -EAGAIN while still resolving; -ENOMEM if
 * the thread ran out of memory; -EALREADY if already taken.
 */
int pw_resolve_result(struct pw_resolve *r, struct pw_iset *ret_addrs, unsigned *ret_failed);

/* Drop the request, whether done or not. NULL is fine. */
void pw_resolve_free(struct pw_resolve *r);
