/* SPDX-License-Identifier: MIT */
/*
 * The accepts-all guard. Some addresses complete every handshake (a
 * middlebox or tarpit answering for them): the first open port of an
 * address sends canaries to random high ports, and while they run its
 * open results wait in their slots. If every canary opens too, and so did
 * a share of the ports probed, the address is reported once as accepting
 * everything instead of as thousands of open ports.
 */

#include "engine-internal.h"

#define CANARY_PORT_MIN 49152U

static void start_canaries(struct core *c, struct host *h)
{
	struct pw_engine *e = c->e;
	uint16_t used[8];

	h->guard = GUARD_PENDING;
	h->canary_sent = 0;
	h->canary_open = 0;
	for (unsigned i = 0; i < e->canaries && i < PW_ELEMENTSOF(used); i++) {
		struct slot *s = engine_slot_take(c, 0);
		uint16_t port;
		bool dup;

		if (!s)
			break;
		do {
			port = (uint16_t)(CANARY_PORT_MIN +
					  engine_rng_next(&c->rng) % (65536 - CANARY_PORT_MIN));
			dup = false;
			for (unsigned k = 0; k < i; k++)
				dup |= used[k] == port;
		} while (dup);
		used[i] = port;
		s->kind = KIND_CANARY;
		s->addr = h->addr;
		s->port = port;
		s->m = 0;
		engine_host_attach(h, s);
		h->canary_sent++;
		engine_ready_push(c, s);
	}
	h->canary_left = h->canary_sent;
	if (h->canary_sent == 0)
		h->guard = GUARD_CLEAN; /* no room to check: report, never hide */
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
		engine_emit(c, &r);
	}
	for (s = h->slots; s; s = next) {
		next = s->hnext;
		if (s->phase != SLOT_HELD)
			continue;
		if (wild) {
			c->st.suppressed++;
			c->st.done++;
			engine_slot_release(c, s);
		} else {
			engine_finish_probe(c, s, (enum pw_state)s->first, PW_STATE_OPEN,
					    s->held_flags);
		}
	}
}

/* An open result is ready. True if the guard keeps it: held while the
 * address's canaries run, or dropped as one more port of a wildcard. */
bool engine_guard_hold(struct core *c, struct slot *s, enum pw_state state, unsigned flags)
{
	struct host *h = s->host;

	if (h->guard == GUARD_NONE)
		start_canaries(c, h);
	if (h->guard == GUARD_PENDING) {
		s->phase = SLOT_HELD;
		s->first = (int8_t)state;
		s->held_flags = (uint8_t)flags;
		return true;
	}
	if (h->guard == GUARD_WILDCARD) {
		c->st.suppressed++;
		c->st.done++;
		engine_slot_release(c, s);
		return true;
	}
	return false;
}

void engine_canary_done(struct core *c, struct slot *s, enum pw_state st)
{
	struct host *h = s->host;

	h->canary_left--;
	if (st == PW_STATE_OPEN)
		h->canary_open++;
	engine_slot_release(c, s);
	if (h->canary_left == 0)
		guard_decide(c, h);
}
