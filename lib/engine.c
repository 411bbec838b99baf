/* SPDX-License-Identifier: MIT */
/* The scan engine: engine-internal.h says how a core works. */

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "engine-internal.h"

#define AUTO_CAP_MAX 16384U
#define HOST_WINDOW 32U /* linear-probe window of the host table */
#define BACKOFF_MIN_USEC UINT64_C(1000)
#define BACKOFF_MAX_USEC (500 * USEC_PER_MSEC)
#define SCANNER_ERROR_LIMIT 64 /* consecutive, with nothing else in flight */
#define CANARY_PORT_MIN 49152U
#define WATERMARK_EVERY_USEC (20 * USEC_PER_MSEC)
#define LAUNCH_BURST 128U
#define QUEUE_MAX 16384U /* results waiting for the owner before workers pause */

/* ------------------------------------------------------------------ utils */

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64: plenty for canary ports */
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t hash_addr(pw_u128 a)
{
	uint64_t s = (uint64_t)a ^ (uint64_t)(a >> 64) * UINT64_C(0x9e3779b97f4a7c15);

	return rng_next(&s);
}

static bool is_scanner_error(int err)
{
	switch (err) {
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
	case EADDRNOTAVAIL: /* no free local port for this destination */
	case EAGAIN:
	case EINTR:
		return true;
	}
	return false;
}

static bool is_loopback(pw_u128 a)
{
	if (pw_addr_is_v4(a))
		return (pw_addr_v4(a) >> 24) == 127;
	return a == 1;
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

/* ------------------------------------------------------------------ hosts */

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
	*v = (struct host){ .addr = addr, .used = 1 };
	/* a new address starts from what the others answered in, not from
	 * the long initial timeout (a /16 x 10 ports has 10 probes per address) */
	if (pw_rtt_has_sample(&c->job_rtt))
		pw_rtt_restore(&v->rtt, &c->limits, c->job_rtt.srtt, c->job_rtt.rttvar);
	else
		pw_rtt_init(&v->rtt, &c->limits);
	return v;
}

static void host_attach(struct host *h, struct slot *s)
{
	s->host = h;
	s->hprev = NULL;
	s->hnext = h->slots;
	if (h->slots)
		h->slots->hprev = s;
	h->slots = s;
	h->attached++;
}

static void host_detach(struct slot *s)
{
	struct host *h = s->host;

	if (s->hprev)
		s->hprev->hnext = s->hnext;
	else
		h->slots = s->hnext;
	if (s->hnext)
		s->hnext->hprev = s->hprev;
	h->attached--;
	s->host = NULL;
}

/* ------------------------------------------------------------------ slots */

static uint32_t slot_index(const struct core *c, const struct slot *s)
{
	return (uint32_t)(s - c->slots);
}

static void ready_push(struct core *c, struct slot *s)
{
	s->phase = SLOT_READY;
	s->qnext = NULL;
	if (c->ready_tail)
		c->ready_tail->qnext = s;
	else
		c->ready = s;
	c->ready_tail = s;
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

static void close_socket(struct core *c, struct slot *s, bool rst)
{
	if (s->fd < 0)
		return;
	if (rst) {
		/* RST instead of FIN: no TIME_WAIT left behind per open port */
		struct linger l = { .l_onoff = 1, .l_linger = 0 };

		(void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(s->fd); /* also leaves the epoll set */
	s->fd = -1;
	s->gen++;
	c->inflight--;
	s->host->inflight--;
	c->st.inflight = c->inflight;
	/* one address below its cap again: let one waiting probe go */
	if (s->host->blocked) {
		struct slot *b = s->host->blocked;

		s->host->blocked = b->qnext;
		if (!s->host->blocked)
			s->host->blocked_tail = NULL;
		ready_push(c, b);
	}
}

static void slot_release(struct core *c, struct slot *s)
{
	close_socket(c, s, false);
	pw_timerq_remove(&c->tq, &s->timer);
	if (s->host) {
		s->host->last_use = c->now;
		host_detach(s);
	}
	s->phase = SLOT_FREE;
	c->free[c->nfree++] = slot_index(c, s);
	c->starved = false;
}

static struct slot *slot_take(struct core *c, unsigned reserve)
{
	struct slot *s;

	if (c->nfree <= reserve)
		return NULL;
	s = &c->slots[c->free[--c->nfree]];
	s->fd = -1;
	s->attempts = 0;
	s->total_attempts = 0;
	s->sc_errors = 0;
	s->confirm_left = 0;
	s->prev = -1;
	s->first = -1;
	s->verified = false;
	s->prev_asked = false;
	s->rtt = 0;
	return s;
}

/* ------------------------------------------------------------------ results */

static void emit(struct core *c, const struct pw_probe_result *r)
{
	struct pw_engine *e = c->e;

	if (c->aborted)
		return;
	if (!e->workers) {
		e->p.on_result(e->p.userdata, r);
		return;
	}
	if (c->nout == c->outcap) {
		size_t n = c->outcap ? c->outcap * 2 : 256;
		struct pw_probe_result *o = realloc(c->out, n * sizeof(*o));

		if (!o) {
			c->fatal = -ENOMEM;
			return;
		}
		c->out = o;
		c->outcap = n;
	}
	c->out[c->nout++] = *r;
}

static void count_state(struct core *c, enum pw_state st)
{
	switch (st) {
	case PW_STATE_OPEN:
		c->st.open++;
		break;
	case PW_STATE_CLOSED:
		c->st.closed++;
		break;
	case PW_STATE_FILTERED:
		c->st.filtered++;
		break;
	case PW_STATE_UNREACHABLE:
		c->st.unreachable++;
		break;
	case _PW_STATE_MAX:
		break;
	}
}

static void finish_probe(struct core *c, struct slot *s, enum pw_state state,
			 enum pw_state observed, unsigned flags)
{
	struct pw_probe_result r = {
		.addr = s->addr,
		.port = s->port,
		.state = state,
		.observed = observed,
		.rtt_usec = s->rtt,
		.attempts = s->total_attempts,
		.flags = flags,
	};

	c->st.done++;
	count_state(c, state);
	if (flags & PW_RESULT_UNCONFIRMED)
		c->st.unconfirmed++;
	slot_release(c, s);
	emit(c, &r);
}

static void start_canaries(struct core *c, struct host *h);

/* An address's result that counts is ready: apply the wildcard guard. */
static void deliver(struct core *c, struct slot *s, enum pw_state state, enum pw_state observed,
		    unsigned flags)
{
	struct host *h = s->host;

	if (observed == PW_STATE_OPEN && c->e->canaries > 0) {
		if (h->guard == GUARD_NONE)
			start_canaries(c, h);
		if (h->guard == GUARD_PENDING) {
			s->phase = SLOT_HELD;
			s->first = (int8_t)state;
			s->held_flags = (uint8_t)flags;
			return;
		}
		if (h->guard == GUARD_WILDCARD) {
			c->st.suppressed++;
			c->st.done++;
			slot_release(c, s);
			return;
		}
	}
	finish_probe(c, s, state, observed, flags);
}

static void guard_decide(struct core *c, struct host *h)
{
	struct pw_engine *e = c->e;
	bool wild = h->canary_sent == e->canaries && h->canary_open == h->canary_sent &&
		    (uint64_t)h->opens * 100 >= (uint64_t)h->probed * e->share;
	struct slot *s, *next;

	h->guard = wild ? GUARD_WILDCARD : GUARD_CLEAN;
	if (wild) {
		struct pw_probe_result r = {
			.addr = h->addr,
			.state = PW_STATE_OPEN,
			.observed = PW_STATE_OPEN,
			.attempts = h->canary_sent,
			.flags = PW_RESULT_ACCEPTS_ALL,
		};

		c->st.accepts_all++;
		emit(c, &r);
	}
	for (s = h->slots; s; s = next) {
		next = s->hnext;
		if (s->phase != SLOT_HELD)
			continue;
		if (wild) {
			c->st.suppressed++;
			c->st.done++;
			slot_release(c, s);
		} else {
			finish_probe(c, s, (enum pw_state)s->first, PW_STATE_OPEN, s->held_flags);
		}
	}
}

/* ------------------------------------------------------------------ probing */

static int arm(struct core *c, struct slot *s, uint64_t when)
{
	return pw_timerq_add(&c->tq, &s->timer, when);
}

static void backoff_slot(struct core *c, struct slot *s, int err)
{
	c->st.scanner_errors++;
	s->sc_errors++;
	if (s->sc_errors >= SCANNER_ERROR_LIMIT && c->inflight == 0) {
		/* nothing of ours holds the resource: it is not coming back */
		c->fatal = -err;
		return;
	}
	if (err == EMFILE || err == ENFILE)
		c->cap_eff = c->inflight > 1 ? c->inflight : 1;
	c->backoff = c->backoff ? c->backoff * 2 : BACKOFF_MIN_USEC;
	if (c->backoff > BACKOFF_MAX_USEC)
		c->backoff = BACKOFF_MAX_USEC;
	c->pause_until = c->now + c->backoff;
	s->phase = SLOT_WAITING;
	(void)arm(c, s, c->now + c->backoff + (rng_next(&c->rng) % (c->backoff + 1)));
}

static void retry_now(struct core *c, struct slot *s)
{
	ready_push(c, s);
}

static void observe(struct core *c, struct slot *s, enum pw_state st, bool sample);
static void handle_connected(struct core *c, struct slot *s);
static void handle_error(struct core *c, struct slot *s, int err);

/* Start the slot's next connect(). The caller checked the caps. */
static void launch(struct core *c, struct slot *s)
{
	struct sockaddr_storage ss;
	socklen_t len = pw_addr_to_sockaddr(s->addr, s->port, &ss);
	struct epoll_event ev = { .events = EPOLLOUT };
	socklen_t soerr_len = sizeof(int);
	int fd, r, soerr = 0;

	s->started = c->now;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0) {
		int err = errno;

		if (is_scanner_error(err))
			backoff_slot(c, s, err);
		else
			handle_error(c, s, err); /* EAFNOSUPPORT: no IPv6 here */
		return;
	}
	s->fd = fd;
	c->inflight++;
	s->host->inflight++;
	c->st.inflight = c->inflight;
	s->attempts++;
	s->total_attempts++;
	c->st.connects++;
	s->phase = SLOT_CONNECTING;

	r = connect(fd, (struct sockaddr *)&ss, len);
	if (r == 0) {
		handle_connected(c, s);
		return;
	}
	if (errno != EINPROGRESS) {
		handle_error(c, s, errno);
		return;
	}
	/* On loopback the kernel often has the answer before connect()
	 * returns (the SYN and the RST are handled in the same softirq):
	 * take it now and spare the epoll round trip. */
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &soerr_len) == 0 && soerr != 0) {
		handle_error(c, s, soerr);
		return;
	}
	ev.data.u64 = ((uint64_t)slot_index(c, s) << 32) | s->gen;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = errno;

		s->attempts--;
		s->total_attempts--;
		close_socket(c, s, false);
		backoff_slot(c, s, err == ENOSPC ? ENOMEM : err);
		return;
	}
	(void)arm(c, s, c->now + pw_rtt_timeout(&s->host->rtt, &c->limits, s->attempts));
}

static void handle_timeout(struct core *c, struct slot *s)
{
	close_socket(c, s, false);
	if (s->attempts <= c->e->p.timing.retries) {
		retry_now(c, s);
		return;
	}
	s->rtt = 0;
	observe(c, s, PW_STATE_FILTERED, false);
}

static void handle_error(struct core *c, struct slot *s, int err)
{
	if (is_scanner_error(err)) {
		/* not the port's doing: this attempt does not count */
		close_socket(c, s, false);
		if (s->attempts > 0) {
			s->attempts--;
			s->total_attempts--;
		}
		backoff_slot(c, s, err);
		return;
	}
	s->rtt = (uint32_t)(c->now - s->started);
	close_socket(c, s, false);
	switch (err) {
	case ECONNREFUSED:
	case ECONNRESET:
		observe(c, s, PW_STATE_CLOSED, true);
		return;
	case ETIMEDOUT: /* the kernel's own SYN retries ran out first */
		pw_timerq_remove(&c->tq, &s->timer);
		if (s->attempts <= c->e->p.timing.retries) {
			retry_now(c, s);
			return;
		}
		s->rtt = 0;
		observe(c, s, PW_STATE_FILTERED, false);
		return;
	}
	/* EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN, EACCES, EPERM
	 * (ICMP administratively prohibited, local policy) and anything else
	 * the kernel says about the path rather than the port */
	observe(c, s, PW_STATE_UNREACHABLE, false);
}

static bool in_ephemeral(const struct core *c, uint16_t port)
{
	return port >= c->eph_lo && port <= c->eph_hi;
}

static void handle_connected(struct core *c, struct slot *s)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	pw_u128 laddr = 0;
	uint16_t lport = 0;
	bool local_target;

	s->rtt = (uint32_t)(c->now - s->started);
	if (getsockname(s->fd, (struct sockaddr *)&local, &len) == 0)
		(void)pw_addr_from_sockaddr((struct sockaddr *)&local, &laddr, &lport);
	local_target = is_loopback(s->addr) || laddr == s->addr;
	close_socket(c, s, true);
	if (local_target && laddr == s->addr && lport == s->port) {
		/* TCP simultaneous open with itself (RFC 793 3.4): the kernel
		 * picked the target as our source port. Not the port's doing. */
		c->st.self_connects++;
		s->attempts--;
		pw_timerq_remove(&c->tq, &s->timer);
		retry_now(c, s);
		return;
	}
	if (local_target && in_ephemeral(c, s->port) && !s->verified) {
		/* The port may be the source port of another probe of ours
		 * connecting back to our source port: a simultaneous open
		 * between two of our own sockets. A real listener answers a
		 * second time from a fresh source port; the phantom does not. */
		s->verified = true;
		s->attempts--;
		pw_timerq_remove(&c->tq, &s->timer);
		retry_now(c, s);
		return;
	}
	observe(c, s, PW_STATE_OPEN, true);
}

static void rearm_host(struct core *c, struct host *h)
{
	for (struct slot *s = h->slots; s; s = s->hnext) {
		uint64_t when;

		if (s->phase != SLOT_CONNECTING)
			continue;
		when = s->started + pw_rtt_timeout(&h->rtt, &c->limits, s->attempts);
		if (when < s->timer.when)
			(void)arm(c, s, when);
	}
}

/* One attempt's outcome (or the last one's, for filtered). */
static void observe(struct core *c, struct slot *s, enum pw_state st, bool sample)
{
	struct pw_engine *e = c->e;
	struct host *h = s->host;

	pw_timerq_remove(&c->tq, &s->timer);
	s->sc_errors = 0;
	c->backoff = 0;
	if (c->cap_eff < c->cap)
		c->cap_eff++;
	if (sample) {
		bool first = !pw_rtt_has_sample(&h->rtt);

		pw_rtt_sample(&h->rtt, &c->limits, s->rtt);
		pw_rtt_sample(&c->job_rtt, &c->limits, s->rtt);
		/* probes sent before any sample wait the long initial timeout */
		if (first)
			rearm_host(c, h);
	}
	h->probed++;
	if (st == PW_STATE_OPEN)
		h->opens++;

	if (s->kind == KIND_CANARY) {
		h->canary_left--;
		if (st == PW_STATE_OPEN)
			h->canary_open++;
		slot_release(c, s);
		if (h->canary_left == 0)
			guard_decide(c, h);
		return;
	}

	if (s->first >= 0) {
		/* a confirmation re-probe */
		if (st != (enum pw_state)s->first) {
			deliver(c, s, (enum pw_state)s->prev, (enum pw_state)s->first,
				PW_RESULT_UNCONFIRMED);
			return;
		}
		if (--s->confirm_left == 0) {
			deliver(c, s, st, st, PW_RESULT_CONFIRMED);
			return;
		}
	} else {
		if (!s->prev_asked && e->p.prev_state && e->p.timing.confirm_count > 0) {
			int p = e->p.prev_state(e->p.userdata, s->addr, s->port);

			s->prev_asked = true;
			s->prev = p >= 0 && p < _PW_STATE_MAX ? (int8_t)p : -1;
		}
		if (s->prev < 0 || (enum pw_state)s->prev == st) {
			deliver(c, s, st, st, 0);
			return;
		}
		s->first = (int8_t)st;
		s->confirm_left = (uint8_t)(e->p.timing.confirm_count > 255
						    ? 255
						    : e->p.timing.confirm_count);
	}
	/* re-probe after the spacing, with a fresh set of retries */
	s->attempts = 0;
	s->phase = SLOT_WAITING;
	(void)arm(c, s, c->now + e->p.timing.confirm_spacing_usec);
}

static void start_canaries(struct core *c, struct host *h)
{
	struct pw_engine *e = c->e;
	uint16_t used[8];

	h->guard = GUARD_PENDING;
	h->canary_sent = 0;
	h->canary_open = 0;
	for (unsigned i = 0; i < e->canaries && i < PW_ELEMENTSOF(used); i++) {
		struct slot *s = slot_take(c, 0);
		uint16_t port;
		bool dup;

		if (!s)
			break;
		do {
			port = (uint16_t)(CANARY_PORT_MIN +
					  rng_next(&c->rng) % (65536 - CANARY_PORT_MIN));
			dup = false;
			for (unsigned k = 0; k < i; k++)
				dup |= used[k] == port;
		} while (dup);
		used[i] = port;
		s->kind = KIND_CANARY;
		s->addr = h->addr;
		s->port = port;
		s->m = 0;
		host_attach(h, s);
		h->canary_sent++;
		ready_push(c, s);
	}
	h->canary_left = h->canary_sent;
	if (h->canary_sent == 0)
		h->guard = GUARD_CLEAN; /* no room to check: report, never hide */
}

/* ------------------------------------------------------------------ core loop */

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
	s = h ? slot_take(c, c->e->canaries ? CANARY_RESERVE : 0) : NULL;
	if (!s) {
		c->starved = true;
		return NULL;
	}
	s->kind = KIND_PROBE;
	s->addr = addr;
	s->port = port;
	s->m = c->m_next++;
	host_attach(h, s);
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

static void start_probes(struct core *c)
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
		launch(c, s);
		launched++;
	}
}

static void handle_event(struct core *c, const struct epoll_event *ev)
{
	uint32_t idx = (uint32_t)(ev->data.u64 >> 32);
	uint32_t gen = (uint32_t)ev->data.u64;
	struct slot *s;
	int err = 0;
	socklen_t len = sizeof(err);

	if (ev->data.u64 == WAKE_TOKEN || idx >= c->nslots)
		return;
	s = &c->slots[idx];
	if (s->gen != gen || s->phase != SLOT_CONNECTING || s->fd < 0)
		return;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0 && !(ev->events & EPOLLOUT))
		return;
	if (err == 0)
		handle_connected(c, s);
	else
		handle_error(c, s, err);
}

static void run_timers(struct core *c)
{
	struct pw_timer *t;

	while (!c->aborted && (t = pw_timerq_pop_expired(&c->tq, c->now))) {
		struct slot *s = pw_container_of(t, struct slot, timer);

		switch ((enum slot_phase)s->phase) {
		case SLOT_CONNECTING:
			handle_timeout(c, s);
			break;
		case SLOT_WAITING:
			ready_push(c, s);
			break;
		case SLOT_FREE:
		case SLOT_READY:
		case SLOT_BLOCKED:
		case SLOT_HELD:
			break;
		}
	}
}

static void core_abort(struct core *c);

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
static int core_step(struct core *c, const struct epoll_event *evs, int n, uint64_t now, bool more)
{
	c->now = now;
	for (int i = 0; i < n && !c->aborted; i++)
		handle_event(c, &evs[i]);
	if (more && !c->aborted && !c->fatal)
		return 1;
	run_timers(c);
	start_probes(c);
	if (c->fatal) {
		core_abort(c);
		c->finished = true;
		return c->fatal;
	}
	if (c->aborted || core_idle(c)) {
		c->finished = true;
		return 0;
	}
	return 1;
}

static uint64_t core_deadline(struct core *c)
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

static void core_abort(struct core *c)
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

static pw_u128 core_position(const struct core *c)
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

static void core_done(struct core *c)
{
	if (c->slots && !c->aborted)
		core_abort(c);
	/* before the slots: it clears the timers they hold, and a prev_state
	 * callback that aborted can still have armed one after the abort */
	pw_timerq_done(&c->tq);
	free(c->slots);
	free(c->free);
	free(c->hosts);
	free(c->out);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->wakefd >= 0)
		close(c->wakefd);
}

static int core_init(struct core *c, struct pw_engine *e, unsigned id, unsigned cap,
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

/* ------------------------------------------------------------------ workers */

static void flush_worker(struct worker *w, bool done, int err)
{
	struct core *c = &w->core;
	struct pw_engine *e = c->e;
	bool wake = false;

	if (!done && c->nout == 0 && c->now < c->wm_at && !c->throttled)
		return;
	pthread_mutex_lock(&e->lock);
	if (c->nout) {
		if (e->qn + c->nout > e->qcap) {
			size_t n = e->qcap ? e->qcap : 1024;
			struct pw_probe_result *q;

			while (n < e->qn + c->nout)
				n *= 2;
			q = realloc(e->q, n * sizeof(*q));
			if (!q) {
				pthread_mutex_unlock(&e->lock);
				c->fatal = -ENOMEM;
				return;
			}
			e->q = q;
			e->qcap = n;
		}
		memcpy(e->q + e->qn, c->out, c->nout * sizeof(*c->out));
		wake = e->qn == 0;
		e->qn += c->nout;
		c->nout = 0;
	}
	if (done || c->now >= c->wm_at) {
		w->wm_published = core_position(c);
		c->wm_at = c->now + WATERMARK_EVERY_USEC;
	}
	w->st_published = c->st;
	/* backpressure: memory stays bounded when the owner is slow */
	c->throttled = e->qn >= QUEUE_MAX;
	if (done) {
		w->done_published = true;
		w->err_published = err;
		wake = true;
	}
	pthread_mutex_unlock(&e->lock);
	if (wake)
		(void)eventfd_write(e->evfd, 1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct core *c = &w->core;
	struct pw_engine *e = c->e;
	struct epoll_event evs[MAX_EVENTS];
	int n = 0, r;

	for (;;) {
		uint64_t now = pw_now_usec(CLOCK_MONOTONIC), dl;
		struct timespec ts;

		if (atomic_load_explicit(&e->stop, memory_order_relaxed)) {
			core_abort(c);
			r = 0;
			break;
		}
		r = core_step(c, evs, n, now, n == MAX_EVENTS);
		if (r <= 0)
			break;
		flush_worker(w, false, 0);
		dl = n == MAX_EVENTS ? now : core_deadline(c);
		if (c->throttled && dl > now + USEC_PER_MSEC)
			dl = now + USEC_PER_MSEC; /* look at the queue again soon */
		if (dl == UINT64_MAX) {
			ts = (struct timespec){ .tv_sec = 3600 };
		} else {
			uint64_t d = dl > now ? dl - now : 0;

			ts = (struct timespec){ .tv_sec = (time_t)(d / USEC_PER_SEC),
						.tv_nsec = (long)(d % USEC_PER_SEC) * 1000 };
		}
		n = pw_epoll_wait(c->epfd, evs, MAX_EVENTS, &ts);
		if (n < 0)
			n = 0;
	}
	flush_worker(w, true, r < 0 ? r : 0);
	return NULL;
}

/* ------------------------------------------------------------------ engine */

static int raise_nofile(uint64_t *ret)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	*ret = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
	return 0;
}

static unsigned auto_cap(uint64_t nofile)
{
	/* leave room for the caller's own files: the store, logs, sd-event */
	uint64_t reserve = nofile / 16 < 64 ? 64 : nofile / 16;

	if (nofile <= reserve + 8)
		return 8;
	return nofile - reserve > AUTO_CAP_MAX ? AUTO_CAP_MAX : (unsigned)(nofile - reserve);
}

static int check_params(const struct pw_engine_params *p)
{
	const struct pw_scan_timing *t = &p->timing;

	if (!p->on_result || !p->space)
		return -EINVAL;
	if (p->shard_n && p->shard_i >= p->shard_n)
		return -EINVAL;
	if (t->min_timeout_usec > t->max_timeout_usec || t->max_timeout_usec == 0)
		return -EINVAL;
	if (pw_iset_count(&p->space->addrs) == 0 || pw_iset_count(&p->space->ports) == 0)
		return -EINVAL;
	/* ports are 1..65535 */
	if (p->space->ports.ranges[0].lo < 1 ||
	    p->space->ports.ranges[p->space->ports.n - 1].hi > 65535)
		return -EINVAL;
	if (t->retries > 100 || t->confirm_count > 255)
		return -EINVAL;
	if (p->shared_rate && p->threads > 1)
		return -EINVAL; /* the limiter is not thread-safe */
	return 0;
}

int pw_engine_new(const struct pw_engine_params *p, struct pw_engine **ret)
{
	struct pw_engine *e;
	sigset_t all, old;
	pw_u128 naddrs;
	unsigned threads, cap, host_cap;
	uint64_t rate;
	int r;

	r = check_params(p);
	if (r < 0)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->p = *p;
	e->p.space = NULL;
	e->epfd = -1;
	e->evfd = -1;
	atomic_init(&e->stop, false);
	pthread_mutex_init(&e->lock, NULL);
	e->canaries = p->canaries > 8 ? 8 : p->canaries;
	e->share = p->accept_share_pct ? p->accept_share_pct : PW_ENGINE_DEFAULT_ACCEPT_SHARE;
	if (e->share > 100)
		e->share = 100;

	r = pw_iset_copy(&e->space.addrs, &p->space->addrs);
	if (r >= 0)
		r = pw_iset_copy(&e->space.ports, &p->space->ports);
	if (r < 0)
		goto fail;
	naddrs = pw_iset_count(&e->space.addrs);
	e->nports = pw_iset_count(&e->space.ports);
	if (naddrs > PW_PERM_MAX_RANGE / e->nports) {
		r = -ERANGE;
		goto fail;
	}
	e->total = naddrs * e->nports;
	r = pw_perm_init(&e->perm, e->total, p->key);
	if (r < 0)
		goto fail;

	r = raise_nofile(&e->nofile);
	if (r < 0)
		goto fail;
	cap = p->timing.concurrency ? p->timing.concurrency : auto_cap(e->nofile);
	threads = p->threads ? p->threads : 1;
	rate = p->timing.rate;
	if (rate && threads > rate)
		threads = (unsigned)rate;
	if (threads > cap)
		threads = cap;
	if ((pw_u128)threads > e->total)
		threads = (unsigned)e->total;
	if (threads < 1)
		threads = 1;
	e->threads = threads;
	e->cap = cap;
	host_cap = p->timing.host_concurrency;

	if (threads == 1) {
		e->single = calloc(1, sizeof(*e->single));
		if (!e->single) {
			r = -ENOMEM;
			goto fail;
		}
		r = core_init(e->single, e, 0, cap, host_cap, rate, false);
		if (r < 0)
			goto fail;
		e->epfd = e->single->epfd;
		*ret = e;
		return 0;
	}

	e->workers = calloc(threads, sizeof(*e->workers));
	if (!e->workers) {
		r = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < threads; i++)
		e->workers[i].core.epfd = e->workers[i].core.wakefd = -1;
	for (unsigned i = 0; i < threads; i++) {
		unsigned wcap = cap / threads + (i < cap % threads);
		unsigned whc = host_cap ? (host_cap / threads ? host_cap / threads : 1) : 0;
		uint64_t wrate = rate ? rate / threads + (i < rate % threads) : 0;

		r = core_init(&e->workers[i].core, e, i, wcap ? wcap : 1, whc, wrate, true);
		if (r < 0)
			goto fail;
	}
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->epfd < 0 || e->evfd < 0) {
		r = -errno;
		goto fail;
	}
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_TOKEN };

		if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->evfd, &ev) < 0) {
			r = -errno;
			goto fail;
		}
	}
	/* workers never take the process's signals: those belong to the
	 * caller's loop (signalfd or sd-event), which blocks them itself */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < threads; i++) {
		struct worker *w = &e->workers[i];

		w->wm_delivered = w->wm_snapshot = w->wm_published = core_position(&w->core);
		w->st_delivered = w->st_published = w->core.st;
		r = -pthread_create(&w->thread, NULL, worker_main, w);
		if (r < 0)
			break;
		w->running = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		goto fail;
	*ret = e;
	return 0;
fail:
	pw_engine_free(e);
	return r;
}

static void stop_workers(struct pw_engine *e)
{
	if (!e->workers)
		return;
	atomic_store(&e->stop, true);
	for (unsigned i = 0; i < e->threads; i++)
		if (e->workers[i].core.wakefd >= 0)
			(void)eventfd_write(e->workers[i].core.wakefd, 1);
	for (unsigned i = 0; i < e->threads; i++) {
		if (e->workers[i].running) {
			pthread_join(e->workers[i].thread, NULL);
			e->workers[i].running = false;
		}
	}
}

struct pw_engine *pw_engine_free(struct pw_engine *e)
{
	if (!e)
		return NULL;
	stop_workers(e);
	if (e->workers) {
		for (unsigned i = 0; i < e->threads; i++)
			core_done(&e->workers[i].core);
		free(e->workers);
		if (e->epfd >= 0)
			close(e->epfd);
	}
	if (e->single) {
		core_done(e->single); /* closes e->epfd, which is its epoll fd */
		free(e->single);
	} else if (!e->workers && e->epfd >= 0) {
		close(e->epfd);
	}
	if (e->evfd >= 0)
		close(e->evfd);
	pthread_mutex_destroy(&e->lock);
	free(e->q);
	free(e->wild);
	pw_iset_done(&e->space.addrs);
	pw_iset_done(&e->space.ports);
	free(e);
	return NULL;
}

int pw_engine_get_fd(const struct pw_engine *e)
{
	return e->epfd;
}

uint64_t pw_engine_next_deadline(struct pw_engine *e)
{
	if (e->aborted)
		return UINT64_MAX;
	if (e->single)
		return core_deadline(e->single);
	return UINT64_MAX; /* threaded: the eventfd says everything */
}

static bool wild_seen(struct pw_engine *e, pw_u128 addr)
{
	pw_u128 *w;

	for (size_t i = 0; i < e->nwild; i++)
		if (e->wild[i] == addr)
			return true;
	if (e->nwild == e->wildcap) {
		size_t n = e->wildcap ? e->wildcap * 2 : 16;

		w = realloc(e->wild, n * sizeof(*w));
		if (!w)
			return false; /* report twice rather than never */
		e->wild = w;
		e->wildcap = n;
	}
	e->wild[e->nwild++] = addr;
	return false;
}

static int process_threaded(struct pw_engine *e)
{
	struct pw_probe_result *batch;
	size_t n;
	bool all_done = true;
	int err = 0;
	eventfd_t v;

	(void)eventfd_read(e->evfd, &v);
	pthread_mutex_lock(&e->lock);
	batch = e->q;
	n = e->qn;
	e->q = NULL;
	e->qn = e->qcap = 0;
	for (unsigned i = 0; i < e->threads; i++) {
		struct worker *w = &e->workers[i];

		w->st_delivered = w->st_published;
		w->wm_snapshot = w->wm_published;
		w->done_delivered = w->done_published;
		all_done &= w->done_published;
		if (w->err_published && !err)
			err = w->err_published;
	}
	pthread_mutex_unlock(&e->lock);

	for (size_t i = 0; i < n && !e->aborted; i++) {
		if ((batch[i].flags & PW_RESULT_ACCEPTS_ALL) && wild_seen(e, batch[i].addr)) {
			e->dup_wild++;
			continue;
		}
		e->p.on_result(e->p.userdata, &batch[i]);
	}
	free(batch);
	if (e->aborted)
		return 0;
	/* only now are the results behind the watermarks delivered */
	for (unsigned i = 0; i < e->threads; i++)
		e->workers[i].wm_delivered = e->workers[i].wm_snapshot;
	if (!all_done)
		return 1;
	/* the queue may have refilled between the swap and now */
	pthread_mutex_lock(&e->lock);
	n = e->qn;
	pthread_mutex_unlock(&e->lock);
	if (n)
		return process_threaded(e);
	stop_workers(e);
	return err;
}

int pw_engine_process(struct pw_engine *e, uint64_t now)
{
	struct epoll_event evs[MAX_EVENTS];
	int n, r;

	if (e->aborted)
		return 0;
	if (e->workers)
		return process_threaded(e);
	if (e->single->finished)
		return e->single->fatal;
	do {
		n = epoll_wait(e->epfd, evs, MAX_EVENTS, 0);
		if (n < 0)
			n = 0;
		r = core_step(e->single, evs, n, now, n == MAX_EVENTS);
		if (e->aborted)
			return 0;
		/* a full batch means more are waiting: take them now */
		now = n == MAX_EVENTS ? pw_now_usec(CLOCK_MONOTONIC) : now;
	} while (r > 0 && n == MAX_EVENTS);
	return r;
}

int pw_engine_run_blocking(struct pw_engine *e)
{
	for (;;) {
		uint64_t now = pw_now_usec(CLOCK_MONOTONIC), dl;
		struct epoll_event ev;
		struct timespec ts, *tsp = NULL;
		int r = pw_engine_process(e, now);

		if (r <= 0)
			return r;
		dl = pw_engine_next_deadline(e);
		if (dl != UINT64_MAX) {
			uint64_t d = dl > now ? dl - now : 0;

			ts = (struct timespec){ .tv_sec = (time_t)(d / USEC_PER_SEC),
						.tv_nsec = (long)(d % USEC_PER_SEC) * 1000 };
			tsp = &ts;
		}
		if (pw_epoll_wait(e->epfd, &ev, 1, tsp) < 0 && errno != EINTR)
			return -errno;
	}
}

int pw_epoll_wait(int epfd, struct epoll_event *evs, int max, const struct timespec *ts)
{
	long long ms;
	int n = epoll_pwait2(epfd, evs, max, ts, NULL);

	if (n >= 0 || errno != ENOSYS)
		return n;
	if (!ts)
		return epoll_wait(epfd, evs, max, -1);
	ms = (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
	return epoll_wait(epfd, evs, max, ms > INT_MAX ? INT_MAX : (int)ms);
}

void pw_engine_abort(struct pw_engine *e)
{
	if (e->aborted)
		return;
	e->aborted = true;
	if (e->single)
		core_abort(e->single);
	else
		stop_workers(e);
}

pw_u128 pw_engine_position(struct pw_engine *e)
{
	pw_u128 pos;

	if (e->single)
		return core_position(e->single);
	pos = e->total;
	for (unsigned i = 0; i < e->threads; i++)
		if (e->workers[i].wm_delivered < pos)
			pos = e->workers[i].wm_delivered;
	return pos;
}

static void add_stats(struct pw_engine_stats *a, const struct pw_engine_stats *b)
{
	a->total += b->total;
	a->done += b->done;
	a->open += b->open;
	a->closed += b->closed;
	a->filtered += b->filtered;
	a->unreachable += b->unreachable;
	a->unconfirmed += b->unconfirmed;
	a->accepts_all += b->accepts_all;
	a->suppressed += b->suppressed;
	a->connects += b->connects;
	a->scanner_errors += b->scanner_errors;
	a->self_connects += b->self_connects;
	a->inflight += b->inflight;
}

void pw_engine_get_stats(struct pw_engine *e, struct pw_engine_stats *ret)
{
	struct pw_engine_stats st = { 0 };

	if (e->single) {
		st = e->single->st;
	} else {
		for (unsigned i = 0; i < e->threads; i++)
			add_stats(&st, &e->workers[i].st_delivered);
		st.accepts_all -= e->dup_wild;
	}
	*ret = st;
}

bool pw_engine_rtt(struct pw_engine *e, uint32_t *ret_srtt, uint32_t *ret_rttvar)
{
	const struct pw_rtt *best = NULL;

	if (e->single) {
		best = &e->single->job_rtt;
	} else {
		/* workers are joined once the run is over; before, a worker's
		 * estimate may be read mid-update, so only report after the end */
		for (unsigned i = 0; i < e->threads; i++) {
			const struct pw_rtt *r = &e->workers[i].core.job_rtt;

			if (e->workers[i].running)
				return false;
			if (!best || r->samples > best->samples)
				best = r;
		}
	}
	if (!best || !pw_rtt_has_sample(best))
		return false;
	*ret_srtt = best->srtt;
	*ret_rttvar = best->rttvar;
	return true;
}

unsigned pw_engine_concurrency(const struct pw_engine *e)
{
	return e->cap;
}

unsigned pw_engine_threads(const struct pw_engine *e)
{
	return e->threads;
}

uint64_t pw_engine_nofile_limit(const struct pw_engine *e)
{
	return e->nofile;
}
