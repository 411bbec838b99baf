/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Round-trip time estimation for probe timeouts, as RFC 6298 section 2
 * computes TCP's retransmission timeout: SRTT and RTTVAR smoothed with
 * alpha = 1/8 and beta = 1/4, RTO = SRTT + max(G, 4 * RTTVAR), clamped to
 * [min, max]. Before the first sample the timeout is the initial one
 * (RFC 6298 2.1), or a saved estimate from an earlier run. Samples are
 * durations measured by the caller, so tests need no clock at all.
 */

#include <stdbool.h>
#include <stdint.h>

/* Clock granularity G of RFC 6298: the smallest useful variance term. */
#define PW_RTT_GRANULARITY_USEC UINT64_C(1000)

struct pw_rtt {
	uint32_t srtt;   /* usec; 0 with no sample */
	uint32_t rttvar; /* usec */
	uint32_t rto;    /* usec, clamped */
	uint32_t samples;
};

struct pw_rtt_limits {
	uint64_t initial_usec, min_usec, max_usec;
};

void pw_rtt_init(struct pw_rtt *r, const struct pw_rtt_limits *l);

/* Start from a saved estimate (srtt, rttvar in usec) instead of the initial timeout. */
void pw_rtt_restore(struct pw_rtt *r, const struct pw_rtt_limits *l, uint32_t srtt,
		    uint32_t rttvar);

/* Feed one measured round trip (usec). */
void pw_rtt_sample(struct pw_rtt *r, const struct pw_rtt_limits *l, uint64_t rtt_usec);

/* The timeout for a probe's attempt-th try (1-based): RTO doubled per retry (RFC 6298 5.5), clamped. */
uint64_t pw_rtt_timeout(const struct pw_rtt *r, const struct pw_rtt_limits *l, unsigned attempt);

static inline bool pw_rtt_has_sample(const struct pw_rtt *r)
{
	return r->samples > 0;
}
