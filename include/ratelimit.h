/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A token bucket that never sleeps: it says how many probes may start at
 * `now` and when the next one may, and the caller arms a timer. Tokens
 * accrue at `rate` per second up to `burst`, so after a stall (a slow
 * event loop, a suspended machine) the caller gets at most one burst,
 * never a catch-up flood (masscan's throttler has the same rule).
 */

#include <stdbool.h>
#include <stdint.h>

struct pw_ratelimit {
	uint64_t rate;  /* tokens per second; 0 = unlimited */
	uint64_t burst; /* bucket size in tokens, >= 1 */
	uint64_t micro; /* tokens * 1e6 currently in the bucket */
	uint64_t last;  /* time (usec) micro was last brought up to date */
	bool started;
};

/*
 * burst 0 picks a default: 1/100 s worth of tokens (at least 1), so a
 * loop waking every 10 ms keeps the rate without overshooting.
 */
void pw_ratelimit_init(struct pw_ratelimit *rl, uint64_t rate, uint64_t burst);

/* Take up to `want` tokens at `now`; returns how many were granted. */
uint64_t pw_ratelimit_take(struct pw_ratelimit *rl, uint64_t now, uint64_t want);

/* Put back tokens taken but not used (capped at the burst). */
void pw_ratelimit_give_back(struct pw_ratelimit *rl, uint64_t n);

/* Earliest time >= now at which one token is available (now if one is). */
uint64_t pw_ratelimit_next(struct pw_ratelimit *rl, uint64_t now);
