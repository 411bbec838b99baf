/* SPDX-License-Identifier: MIT */
/*
 * One core's loop and life: each step takes the epoll events first, then
 * the expired timers, then starts what the scheduler allows. Everything a
 * core owns is made and freed here.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "engine-internal.h"

static void run_timers(struct core *c)
{
	struct pw_timer *t;

	while (!c->aborted && (t = pw_timerq_pop_expired(&c->tq, c->now))) {
		struct slot *s = pw_container_of(t, struct slot, timer);

		switch ((enum slot_phase)s->phase) {
		case SLOT_CONNECTING:
			engine_handle_timeout(c, s);
			break;
		case SLOT_WAITING:
			engine_ready_push(c, s);
			break;
		case SLOT_FREE:
		case SLOT_READY:
		case SLOT_BLOCKED:
		case SLOT_HELD:
			break;
		}
	}
}

static bool core_idle(const struct core *c)
{
	return c->nfree == c->nslots && c->m_next >= c->m_end;
}

/*
 * Returns > 0 running, 0 finished, -errno failed. more: the batch was full,
 * so answers may still wait in the kernel: timers must not fire before
 * those are read, or an answered probe would be taken for a timeout (after
 * any stall of the loop, a database flush for one).
 */
int engine_core_step(struct core *c, const struct epoll_event *evs, int n, uint64_t now, bool more)
{
	c->now = now;
	for (int i = 0; i < n && !c->aborted; i++)
		engine_handle_event(c, &evs[i]);
	if (more && !c->aborted && !c->fatal)
		return 1;
	run_timers(c);
	engine_start_probes(c);
	if (c->fatal) {
		engine_core_abort(c);
		c->finished = true;
		return c->fatal;
	}
	if (c->aborted || core_idle(c)) {
		c->finished = true;
		return 0;
	}
	return 1;
}

void engine_core_abort(struct core *c)
{
	c->aborted = true;
	for (unsigned i = 0; i < c->nslots; i++) {
		struct slot *s = &c->slots[i];

		if (s->phase == SLOT_FREE)
			continue;
		if (s->fd >= 0) {
			close(s->fd);
			s->fd = -1;
		}
		pw_timerq_remove(&c->tq, &s->timer);
	}
	c->inflight = 0;
	c->st.inflight = 0;
}

pw_u128 engine_core_position(const struct core *c)
{
	pw_u128 m = c->m_next, idx;

	for (unsigned i = 0; i < c->nslots; i++) {
		const struct slot *s = &c->slots[i];

		if (s->phase != SLOT_FREE && s->kind == KIND_PROBE && s->m < m)
			m = s->m;
	}
	if (m >= c->m_end)
		return c->e->total;
	idx = c->base + c->stride * m;
	return idx < c->e->total ? idx : c->e->total;
}

void engine_core_done(struct core *c)
{
	if (c->slots && !c->aborted)
		engine_core_abort(c);
	/* before the slots: it clears the timers they hold, and a prev_state
	 * callback that aborted can still have armed one after the abort */
	pw_timerq_done(&c->tq);
	for (size_t i = 0; c->n_undo > 0 && i <= c->hmask; i++)
		engine_guard_forget_host(c, &c->hosts[i]);
	pw_addrset_done(&c->wild);
	free(c->slots);
	free(c->free);
	free(c->hosts);
	free(c->out);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->wakefd >= 0)
		close(c->wakefd);
}

static void read_ephemeral_range(uint16_t *lo, uint16_t *hi)
{
	unsigned a = 1024, b = 65535;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

	/* unknown: treat every unprivileged port as possibly ephemeral */
	if (f) {
		if (fscanf(f, "%u %u", &a, &b) != 2 || a > b || b > 65535) {
			a = 1024;
			b = 65535;
		}
		fclose(f);
	}
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
}

int engine_core_init(struct core *c, struct pw_engine *e, unsigned id, unsigned cap,
		     unsigned host_cap, uint64_t rate, bool worker)
{
	const struct pw_scan_timing *t = &e->p.timing;
	pw_u128 start = e->p.start_index;
	size_t hsize = 1024;
	int r;

	*c = (struct core){ .e = e, .id = id, .epfd = -1, .wakefd = -1 };
	c->cap = c->cap_eff = cap;
	c->host_cap = host_cap;
	c->nslots = cap + cap / 4 + (e->canaries ? CANARY_RESERVE + e->canaries : 0);
	c->limits = (struct pw_rtt_limits){ t->initial_timeout_usec, t->min_timeout_usec,
					    t->max_timeout_usec };
	c->rng = e->p.key ^ (UINT64_C(0x5851f42d4c957f2d) * (id + 1));
	read_ephemeral_range(&c->eph_lo, &c->eph_hi);
	pw_ratelimit_init(&c->rl, rate, 0);
	c->shared_rl = e->p.shared_rate;
	pw_addrset_init(&c->wild, PW_ENGINE_MAX_WILDCARDS);
	pw_rtt_restore(&c->job_rtt, &c->limits, e->p.saved_srtt_usec, e->p.saved_rttvar_usec);

	c->stride = (pw_u128)(e->p.shard_n ? e->p.shard_n : 1) * (e->workers ? e->threads : 1);
	c->base = e->p.shard_i + (pw_u128)(e->p.shard_n ? e->p.shard_n : 1) * id;
	c->m_end = e->total > c->base ? (e->total - c->base + c->stride - 1) / c->stride : 0;
	c->m_start = start <= c->base ? 0 : (start - c->base + c->stride - 1) / c->stride;
	if (c->m_start > c->m_end)
		c->m_start = c->m_end;
	c->m_next = c->m_start;
	c->st.total = c->m_end - c->m_start;

	while (hsize < 2 * (size_t)c->nslots)
		hsize *= 2;
	c->hmask = hsize - 1;
	/* calloc: untouched pages cost no memory, so a big table is cheap */
	c->hosts = calloc(hsize, sizeof(*c->hosts));
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	c->free = malloc(c->nslots * sizeof(*c->free));
	if (!c->hosts || !c->slots || !c->free)
		return -ENOMEM;
	for (unsigned i = 0; i < c->nslots; i++) {
		c->slots[i].fd = -1;
		c->free[i] = c->nslots - 1 - i;
	}
	c->nfree = c->nslots;
	r = pw_timerq_reserve(&c->tq, c->nslots);
	if (r < 0)
		return r;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0)
		return -errno;
	if (worker) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_TOKEN };

		c->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->wakefd < 0)
			return -errno;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->wakefd, &ev) < 0)
			return -errno;
	}
	return 0;
}
