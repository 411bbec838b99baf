/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's side of the sd_notify(3) protocol. A no-op (returning 0)
 * when NOTIFY_SOCKET is unset, as when run by hand. STATUS= updates are
 * throttled: a progress line per probe batch would flood the manager.
 */

#include <stdint.h>

struct pw_notify {
	uint64_t last_status_usec; /* CLOCK_MONOTONIC of the last STATUS= sent */
	uint64_t min_interval_usec;
};

/* A braced initializer on one line; clang-format would spread it. */
/* clang-format off */
#define PW_NOTIFY_INIT { 0, 1000000 }
/* clang-format on */

int pw_notify_ready(const char *status);
int pw_notify_reloading(uint64_t monotonic_now);
int pw_notify_stopping(void);

/*
 * Send STATUS=<text> unless one was sent less than min_interval ago;
 * force bypasses the throttle (state changes such as "Idle" must show).
 * Returns 1 if sent, 0 if throttled or no socket, -errno on error.
 */
int pw_notify_status(struct pw_notify *n, uint64_t monotonic_now, int force, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
