/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Probe timeouts: a binary min-heap of timer nodes embedded in the caller's
 * structs (container_of gets the owner back). No allocation and no fd per
 * timer: the heap's pointer array is reserved once for the most timers that
 * can be armed together (one per probe slot), after which add never fails.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pw_timer {
	uint64_t when; /* CLOCK_MONOTONIC usec */
	size_t pos;    /* 1 + index in the heap; 0 = not armed */
};

struct pw_timerq {
	struct pw_timer **heap;
	size_t n, cap;
};

/* A braced initializer on one line; clang-format would spread it. */
/* clang-format off */
#define PW_TIMERQ_INIT { NULL, 0, 0 }
/* clang-format on */

#define pw_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline bool pw_timer_armed(const struct pw_timer *t)
{
	return t->pos != 0;
}

void pw_timerq_done(struct pw_timerq *q);

/* Make room for n armed timers in total. Returns 0 or -ENOMEM. */
int pw_timerq_reserve(struct pw_timerq *q, size_t n);

/*
 * Arm t to fire at `when`, or move it there if it is armed already.
 * Returns 0, or -ENOMEM when more timers are armed than were reserved
 * and growing the heap failed.
 */
int pw_timerq_add(struct pw_timerq *q, struct pw_timer *t, uint64_t when);

/* Disarm t; a no-op if it is not armed. */
void pw_timerq_remove(struct pw_timerq *q, struct pw_timer *t);

/* Earliest deadline, UINT64_MAX if nothing is armed. */
uint64_t pw_timerq_next(const struct pw_timerq *q);

/* Disarm and return the earliest timer with when <= now, or NULL. */
struct pw_timer *pw_timerq_pop_expired(struct pw_timerq *q, uint64_t now);

static inline size_t pw_timerq_size(const struct pw_timerq *q)
{
	return q->n;
}
