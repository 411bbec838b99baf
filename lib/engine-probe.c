/* SPDX-License-Identifier: MIT */
/*
 * A slot's socket: one connect() and its answer, taken from epoll, from
 * connect() itself, or as a timeout. Failures of the scanner's own making
 * back off and try again: they say nothing about the port.
 */

#include <errno.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "engine-internal.h"

#define BACKOFF_MIN_USEC UINT64_C(1000)
#define BACKOFF_MAX_USEC (500 * USEC_PER_MSEC)
#define SCANNER_ERROR_LIMIT 64 /* consecutive, with nothing else in flight */

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

static bool in_ephemeral(const struct core *c, uint16_t port)
{
	return port >= c->eph_lo && port <= c->eph_hi;
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
		engine_ready_push(c, b);
	}
}

void engine_slot_release(struct core *c, struct slot *s)
{
	close_socket(c, s, false);
	pw_timerq_remove(&c->tq, &s->timer);
	if (s->host) {
		s->host->last_use = c->now;
		host_detach(s);
	}
	s->phase = SLOT_FREE;
	c->free[c->nfree++] = engine_slot_index(c, s);
	c->starved = false;
	if (c->round_wait)
		engine_guard_slot_freed(c);
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
	(void)engine_arm(c, s, c->now + c->backoff + (engine_rng_next(&c->rng) % (c->backoff + 1)));
}

static void retry_now(struct core *c, struct slot *s)
{
	engine_ready_push(c, s);
}

static void observe(struct core *c, struct slot *s, enum pw_state st, bool sample);
static void handle_connected(struct core *c, struct slot *s);
static void handle_error(struct core *c, struct slot *s, int err);

/* Start the slot's next connect(). The caller checked the caps. */
void engine_launch(struct core *c, struct slot *s)
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
	if (s->loss_rounds || s->attempts > c->e->p.timing.retries + 1)
		c->st.loss_attempts++;
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
	ev.data.u64 = ((uint64_t)engine_slot_index(c, s) << 32) | s->gen;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = errno;

		s->attempts--;
		s->total_attempts--;
		close_socket(c, s, false);
		backoff_slot(c, s, err == ENOSPC ? ENOMEM : err);
		return;
	}
	(void)engine_arm(c, s,
			 c->now + pw_rtt_timeout(&s->host->rtt, &c->limits,
						 engine_backoff_attempt(c, s)));
}

/* An attempt went unanswered: try again while the round's retries (raised
 * on a lossy address) allow, else the round's result is silence. */
static void attempt_silent(struct core *c, struct slot *s)
{
	if (s->silent < UINT16_MAX)
		s->silent++;
	if (s->attempts <= engine_loss_retries(c, s)) {
		retry_now(c, s);
		return;
	}
	s->rtt = 0;
	observe(c, s, PW_STATE_FILTERED, false);
}

void engine_handle_timeout(struct core *c, struct slot *s)
{
	close_socket(c, s, false);
	attempt_silent(c, s);
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
		attempt_silent(c, s);
		return;
	}
	/* EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN, EACCES, EPERM
	 * (ICMP administratively prohibited, local policy) and anything else
	 * the kernel says about the path rather than the port */
	observe(c, s, PW_STATE_UNREACHABLE, false);
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

void engine_handle_event(struct core *c, const struct epoll_event *ev)
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

static void rearm_host(struct core *c, struct host *h)
{
	for (struct slot *s = h->slots; s; s = s->hnext) {
		uint64_t when;

		if (s->phase != SLOT_CONNECTING)
			continue;
		when = s->started +
		       pw_rtt_timeout(&h->rtt, &c->limits, engine_backoff_attempt(c, s));
		if (when < s->timer.when)
			(void)engine_arm(c, s, when);
	}
}

/* One attempt's outcome (or the last one's, for filtered). */
static void observe(struct core *c, struct slot *s, enum pw_state st, bool sample)
{
	struct host *h = s->host;
	unsigned silent = s->silent;

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
	engine_guard_observe(h, st);
	if (s->kind == KIND_CANARY)
		engine_canary_done(c, s, st);
	else
		engine_confirm(c, s, st);
	/* after the decision: a port's own silence is no evidence that loss
	 * explains it (the slot may be gone now; h stays) */
	if (st != PW_STATE_FILTERED)
		engine_loss_answered(c, h, silent);
}
