/* SPDX-License-Identifier: MIT */
/*
 * What a core starts next, and when: the next index of the permutation,
 * its address's entry in the bounded host table, the per-address cap and
 * the token buckets. Nothing here waits: the deadline says when to look
 * again, and the caller's loop arms a timer for it.
 */

#include "engine-internal.h"

#define HOST_WINDOW 32U /* linear-probe window of the host table */
#define LAUNCH_BURST 128U

static uint64_t hash_addr(pw_u128 a)
{
	uint64_t s = (uint64_t)a ^ (uint64_t)(a >> 64) * UINT64_C(0x9e3779b97f4a7c15);

	return engine_rng_next(&s);
}

/* Evict a known wildcard last (it would be reported again), else the idlest. */
static bool better_victim(const struct host *h, const struct host *than)
{
	bool hw = h->guard == GUARD_WILDCARD, tw = than->guard == GUARD_WILDCARD;

	if (hw != tw)
		return tw;
	return h->last_use < than->last_use;
}

/*
 * The address's entry, created if needed. The table is bounded: entries
 * with no attached slot are forgotten when their place is needed. NULL if
 * the whole window is busy (the caller tries again later).
 */
static struct host *host_get(struct core *c, pw_u128 addr)
{
	size_t start = hash_addr(addr) & c->hmask;
	struct host *empty = NULL, *idle = NULL, *v;

	for (size_t k = 0; k < HOST_WINDOW; k++) {
		struct host *h = &c->hosts[(start + k) & c->hmask];

		if (!h->used) {
			if (!empty)
				empty = h;
		} else if (h->addr == addr) {
			return h;
		} else if (!h->attached && (!idle || better_victim(h, idle))) {
			idle = h;
		}
	}
	v = empty ? empty : idle;
	if (!v)
		return NULL;
	engine_guard_forget_host(c, v);
	*v = (struct host){ .addr = addr, .used = 1 };
	engine_guard_new_host(c, v);
	/* a new address starts from what the others answered in, not from
	 * the long initial timeout (a /16 x 10 ports has 10 probes per address) */
	if (pw_rtt_has_sample(&c->job_rtt))
		pw_rtt_restore(&v->rtt, &c->limits, c->job_rtt.srtt, c->job_rtt.rttvar);
	else
		pw_rtt_init(&v->rtt, &c->limits);
	return v;
}

static struct slot *ready_pop(struct core *c)
{
	struct slot *s = c->ready;

	if (s) {
		c->ready = s->qnext;
		if (!c->ready)
			c->ready_tail = NULL;
	}
	return s;
}

static void blocked_push(struct host *h, struct slot *s)
{
	s->phase = SLOT_BLOCKED;
	s->qnext = NULL;
	if (h->blocked_tail)
		h->blocked_tail->qnext = s;
	else
		h->blocked = s;
	h->blocked_tail = s;
}

static void index_to_target(struct pw_engine *e, pw_u128 idx, pw_u128 *ret_addr, uint16_t *ret_port)
{
	pw_u128 v = pw_perm_shuffle(&e->perm, idx);

	*ret_addr = pw_iset_pick(&e->space.addrs, v / e->nports);
	*ret_port = (uint16_t)pw_iset_pick(&e->space.ports, v % e->nports);
}

static struct slot *next_new(struct core *c)
{
	struct slot *s;
	struct host *h;
	pw_u128 addr;
	uint16_t port;

	if (c->m_next >= c->m_end)
		return NULL;
	index_to_target(c->e, c->base + c->stride * c->m_next, &addr, &port);
	h = host_get(c, addr);
	s = h ? engine_slot_take(c, c->e->canaries ? CANARY_RESERVE : 0) : NULL;
	if (!s) {
		c->starved = true;
		return NULL;
	}
	s->kind = KIND_PROBE;
	s->addr = addr;
	s->port = port;
	s->m = c->m_next++;
	engine_host_attach(h, s);
	return s;
}

static bool can_launch_more(struct core *c)
{
	return c->inflight < c->cap_eff && c->now >= c->pause_until && !c->fatal && !c->aborted &&
	       !c->throttled;
}

static bool take_token(struct core *c)
{
	if (pw_ratelimit_take(&c->rl, c->now, 1) == 0)
		return false;
	if (c->shared_rl && pw_ratelimit_take(c->shared_rl, c->now, 1) == 0) {
		pw_ratelimit_give_back(&c->rl, 1);
		return false;
	}
	return true;
}

void engine_start_probes(struct core *c)
{
	unsigned launched = 0;

	/*
	 * Bounded bursts: between them the loop collects answers. Thousands
	 * of SYNs at once overflow the kernel's per-CPU input backlog
	 * (net.core.netdev_max_backlog) on loopback, dropping SYNs and RSTs,
	 * and delay every answer behind the burst.
	 */
	while (launched < LAUNCH_BURST && can_launch_more(c)) {
		struct slot *s = ready_pop(c);

		if (!s)
			s = next_new(c);
		if (!s)
			break;
		if (c->host_cap && s->host->inflight >= c->host_cap) {
			blocked_push(s->host, s);
			continue;
		}
		if (!take_token(c)) {
			/* put it back at the head: order is kept */
			s->phase = SLOT_READY;
			s->qnext = c->ready;
			c->ready = s;
			if (!c->ready_tail)
				c->ready_tail = s;
			break;
		}
		/* the clock moves during a burst: keep start times honest */
		c->now = pw_now_usec(CLOCK_MONOTONIC);
		engine_launch(c, s);
		launched++;
	}
}

uint64_t engine_core_deadline(struct core *c)
{
	uint64_t t = pw_timerq_next(&c->tq);

	if (c->finished || c->aborted)
		return UINT64_MAX;
	if (c->inflight < c->cap_eff && !c->throttled &&
	    (c->ready || (c->m_next < c->m_end && !c->starved))) {
		/* 0 = due already: the caller's idea of "now" is older than ours */
		uint64_t when = c->pause_until > c->now ? c->pause_until : 0;

		if (c->rl.rate) {
			uint64_t next = pw_ratelimit_next(&c->rl, c->now);

			if (next > c->now && next > when)
				when = next;
		}
		if (c->shared_rl && c->shared_rl->rate) {
			uint64_t next = pw_ratelimit_next(c->shared_rl, c->now);

			if (next > c->now && next > when)
				when = next;
		}
		if (when < t)
			t = when;
	}
	return t;
}
