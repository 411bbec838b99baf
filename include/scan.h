/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What a scan is, as the config produces it and the engine consumes it:
 * a probe space (address set x port set, exclusions already subtracted)
 * and the timing that governs it. Shared by config, engine, daemon, CLI.
 */

#include <stdint.h>

#include "iset.h"

struct pw_scan_timing {
	uint64_t initial_timeout_usec; /* probe timeout before any RTT sample */
	uint64_t min_timeout_usec;     /* clamp for the RTT-derived timeout */
	uint64_t max_timeout_usec;
	unsigned retries;              /* extra attempts for an unanswered probe */
	unsigned max_retries;          /* their cap on a lossy address; <= retries: no adaptation */
	unsigned rate;                 /* probes started per second, 0 = unlimited */
	unsigned concurrency;          /* probes in flight, 0 = sized from RLIMIT_NOFILE */
	unsigned host_concurrency;     /* probes in flight per address, 0 = no cap */
	unsigned confirm_count;        /* re-probes before a state change counts */
	uint64_t confirm_spacing_usec; /* delay between those re-probes */
};

/* The most retries and max_retries may be, and max_retries of the daemon's
 * and portwatch scan's defaults (nmap's --max-retries). */
#define PW_SCAN_MAX_RETRIES 100
#define PW_SCAN_DEFAULT_MAX_RETRIES 10

struct pw_scan_space {
	struct pw_iset addrs; /* see addr.h: IPv4 as ::ffff:a.b.c.d */
	struct pw_iset ports; /* 1..65535 */
};
