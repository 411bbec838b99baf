/* SPDX-License-Identifier: MIT */
/*
 * What an attempt's outcome becomes. A state that differs from the one
 * the store remembers is probed again before it counts, so one lost SYN
 * or RST is not reported as a change. A port the store has never seen is
 * probed again when it timed out: a baseline must not record "filtered"
 * for an open port whose SYNs were lost (only silence can be an artefact
 * of loss; a SYN-ACK, RST or ICMP error is an answer). On an address that
 * is losing packets (engine-loss.c) silence is judged by how lossy it is:
 * inconclusive silence gets more rounds, an answer after it was loss (no
 * flap), and silence that stays inconclusive does not change a stored
 * state. The settled result then goes to the caller, directly or through
 * the worker's batch.
 */

#include <errno.h>
#include <stdlib.h>

#include "engine-internal.h"

/* Re-probe rounds silence may add on a lossy address (the first of them
 * stands in for the confirmation portwatch scan does not ask for). */
#define LOSS_MAX_ROUNDS 2U

void engine_emit(struct core *c, const struct pw_probe_result *r)
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

void engine_finish_probe(struct core *c, struct slot *s, enum pw_state state,
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
	engine_slot_release(c, s);
	engine_emit(c, &r);
}

/* An address's result that counts is ready: apply the wildcard guard. */
static void deliver(struct core *c, struct slot *s, enum pw_state state, enum pw_state observed,
		    unsigned flags)
{
	if (observed == PW_STATE_OPEN && c->e->canaries > 0 &&
	    engine_guard_hold(c, s, state, flags))
		return;
	engine_finish_probe(c, s, state, observed, flags);
}

/* The store's state for the slot's port, asked once: -1 for none (or no store). */
static int8_t prev_state(struct pw_engine *e, struct slot *s)
{
	if (!s->prev_asked && e->p.prev_state && e->p.timing.confirm_count > 0) {
		int p = e->p.prev_state(e->p.userdata, s->addr, s->port);

		s->prev_asked = true;
		s->prev = p >= 0 && p < _PW_STATE_MAX ? (int8_t)p : -1;
	}
	return s->prev;
}

/*
 * Whether a first attempt's state st needs re-probes before it counts, and
 * how many rounds: 0 for none.
 */
static unsigned rounds_needed(struct core *c, struct slot *s, enum pw_state st)
{
	unsigned confirm = c->e->p.timing.confirm_count > 255 ? 255 : c->e->p.timing.confirm_count;
	int8_t prev = prev_state(c->e, s);

	if (prev >= 0)
		return (enum pw_state)prev != st ? confirm : 0;
	if (st != PW_STATE_FILTERED)
		return 0;
	/* a port never seen: with a store to ask, a timeout is checked */
	if (s->prev_asked)
		return confirm;
	/* no store (portwatch scan): silence loss can explain is checked too */
	if (engine_loss_conclusive(c, s))
		return 0;
	s->loss_rounds = 1;
	return 1;
}

/*
 * The confirmed state is in (all rounds agreed). Silence that the
 * address's loss still explains gets another round, at most
 * LOSS_MAX_ROUNDS; after those it does not replace an answer in the store.
 */
static bool confirmed(struct core *c, struct slot *s, enum pw_state st)
{
	if (st == PW_STATE_FILTERED && !engine_loss_conclusive(c, s)) {
		if (s->loss_rounds < LOSS_MAX_ROUNDS) {
			s->loss_rounds++;
			s->confirm_left = 1;
			return false;
		}
		if (s->prev >= 0) {
			deliver(c, s, (enum pw_state)s->prev, st, PW_RESULT_UNCONFIRMED);
			return true;
		}
	}
	deliver(c, s, st, st, PW_RESULT_CONFIRMED);
	return true;
}

/* A confirmation re-probe's outcome: true once the result was delivered. */
static bool confirm_step(struct core *c, struct slot *s, enum pw_state st)
{
	if (st != (enum pw_state)s->first) {
		if (s->prev < 0)
			/* a first sighting answered after all: the answer counts */
			deliver(c, s, st, st, 0);
		else
			deliver(c, s, (enum pw_state)s->prev, (enum pw_state)s->first,
				PW_RESULT_UNCONFIRMED);
		return true;
	}
	if (--s->confirm_left == 0)
		return confirmed(c, s, st);
	return false;
}

/* A probe's attempt is in (canaries aside): deliver it, or re-probe first. */
void engine_confirm(struct core *c, struct slot *s, enum pw_state st)
{
	struct pw_engine *e = c->e;
	unsigned rounds;

	if (s->guard_probe != GP_NONE) {
		engine_guard_rechecked(c, s, st);
		return;
	}
	if (s->first == (int8_t)PW_STATE_FILTERED && st != PW_STATE_FILTERED &&
	    !engine_loss_conclusive(c, s))
		/* the silence was loss: the answer is the first observation */
		s->first = -1;
	if (s->first < 0 && st == PW_STATE_OPEN && e->canaries > 0 && engine_guard_drops(c, s))
		return;
	if (s->first >= 0) {
		if (confirm_step(c, s, st))
			return;
	} else {
		rounds = rounds_needed(c, s, st);
		if (rounds == 0) {
			deliver(c, s, st, st, 0);
			return;
		}
		s->first = (int8_t)st;
		s->confirm_left = (uint8_t)rounds;
	}
	/* re-probe after the spacing, with a fresh set of retries; an answer
	 * ends a run of silence */
	s->attempts = 0;
	if (st != PW_STATE_FILTERED)
		s->silent = 0;
	s->phase = SLOT_WAITING;
	(void)engine_arm(c, s, c->now + e->p.timing.confirm_spacing_usec);
}
