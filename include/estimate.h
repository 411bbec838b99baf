/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What a job may cost: memory while it runs and database growth, from its
 * configuration alone, for --check-config and the configuration's
 * ceilings (max_memory, max_database_growth).
 *
 * A closed port that was never anything else costs nothing (no row, no
 * entry: store.h), so the cost of a job depends on how many of its ports
 * are not closed, which no configuration says. The estimate gives both
 * ends: the least (every port closed: the engine's slots, one run row) and
 * the most (no port closed: an entry and a row for every probe, an event
 * for every open one). The ceilings are checked against the most.
 */

#include <stdint.h>

#include "addr.h"

struct pw_job;

/* Measured per port (tests/bench/store-bench.c; README "Reliability"). */
#define PW_EST_ENTRY_BYTES 80         /* in memory: the store's entry and its index */
#define PW_EST_ROW_BYTES 110          /* on disk: a row of "ports" with its indexes */
#define PW_EST_EVENT_BYTES 100        /* on disk: a row of "events" with its indexes */
#define PW_EST_RUN_BYTES 200          /* on disk: a row of "runs" */
#define PW_EST_SLOT_BYTES 160         /* in memory: one probe in flight in the engine */
#define PW_EST_DEFAULT_INFLIGHT 16384 /* the engine's slots without a concurrency setting */

struct pw_estimate {
	pw_u128 probes;      /* per run */
	uint64_t mem_least;  /* every port closed */
	uint64_t mem_most;   /* no port closed */
	uint64_t disk_least; /* per run, every port closed */
	uint64_t disk_most;  /* the first run, no port closed and every one open */
};

void pw_estimate_job(const struct pw_job *j, struct pw_estimate *ret);

/* a + b, at most UINT64_MAX */
uint64_t pw_estimate_add(uint64_t a, uint64_t b);
