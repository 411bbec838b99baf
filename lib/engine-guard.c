/* SPDX-License-Identifier: MIT */
/*
 * The accepts-all guard. Some addresses complete every handshake (a
 * middlebox, tarpit or NAT rule answering for them), and may start doing
 * so at any moment of a run. An open result that is news (not the state
 * the store already has) waits in its slot until a round of canaries -
 * random high ports, started after that port was seen - settles its
 * address:
 *   - no canary open: the address does not accept everything now. That
 *     says nothing of the moment the port was seen (a wildcard may just
 *     have ended), so each port the round covers is probed once more and
 *     reported if it is still open;
 *   - every canary open and most of the address's recent results open:
 *     it accepts everything. It is reported once, its held and later
 *     opens are dropped for the rest of the run;
 *   - anything in between (a round that straddles a change, or a host
 *     whose high ports really are open): the held ports are probed again
 *     after the confirmation spacing and wait for the next round; after
 *     GUARD_RECHECKS of those they are treated as clean, and remembered
 *     so that a later accepts-all verdict withdraws them
 *     (PW_RESULT_RETRACTED).
 * Every result of an address (canaries too) joins a 64-result window, so
 * the share that counts is the recent one: an address that accepted
 * nothing for 800 ports and then everything reaches it within a round or
 * two. Opens the store already knows are not held, so an address whose
 * ports do not change costs no canary at all.
 */

#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"

#define CANARY_PORT_MIN 49152U /* IANA's dynamic range: rarely a service */
#define GUARD_RECHECKS 2
#define RECHECK_MIN_USEC (10 * USEC_PER_MSEC)

static void start_round(struct core *c, struct host *h);

/* Round ids wrap: a is at or before b. */
static bool round_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static void drop(struct core *c, struct slot *s)
{
	c->st.suppressed++;
	c->st.done++;
	engine_slot_release(c, s);
}

static void hold(struct core *c, struct host *h, struct slot *s, enum pw_state state,
		 unsigned flags)
{
	s->phase = SLOT_HELD;
	s->first = (int8_t)state;
	s->held_flags = (uint8_t)flags;
	/* the next round to start; one out now began before this port was seen */
	s->need_round = h->rounds;
	h->held++;
	if (h->guard == GUARD_IDLE)
		start_round(c, h);
}

/* ------------------------------------------------------------ withdrawing */

static void undo_remember(struct core *c, struct host *h, const struct slot *s)
{
	struct guard_undo *u = h->undo;

	if (s->prev < 0)
		return; /* nothing to go back to */
	if (!u) {
		u = h->undo = calloc(1, sizeof(*u));
		if (!u)
			return; /* it stays reported: the next run sees it again */
		c->n_undo++;
	}
	if (u->n == GUARD_UNDO_MAX) {
		memmove(u->port, u->port + 1, (GUARD_UNDO_MAX - 1) * sizeof(*u->port));
		memmove(u->prev, u->prev + 1, (GUARD_UNDO_MAX - 1) * sizeof(*u->prev));
		u->n--;
	}
	u->port[u->n] = s->port;
	u->prev[u->n++] = s->prev;
}

void engine_guard_forget_host(struct core *c, struct host *h)
{
	if (!h->undo)
		return;
	free(h->undo);
	h->undo = NULL;
	c->n_undo--;
}

static void undo_all(struct core *c, struct host *h)
{
	const struct guard_undo *u = h->undo;

	for (unsigned i = 0; u && i < u->n && !c->aborted; i++) {
		struct pw_probe_result r = {
			.addr = h->addr,
			.port = u->port[i],
			.state = (enum pw_state)u->prev[i],
			.observed = PW_STATE_OPEN,
			.flags = PW_RESULT_RETRACTED,
		};

		if (c->st.open > 0)
			c->st.open--;
		c->st.suppressed++;
		engine_emit(c, &r);
	}
	engine_guard_forget_host(c, h);
}

/* ------------------------------------------------------------ verdicts */

static void report_wildcard(struct core *c, struct host *h)
{
	struct pw_probe_result r = {
		.addr = h->addr,
		.state = PW_STATE_OPEN,
		.observed = PW_STATE_OPEN,
		.attempts = h->canary_sent,
		.flags = PW_RESULT_ACCEPTS_ALL,
	};

	/* 0: reported in this run already; < 0 (the set is full): report
	 * again rather than never */
	if (pw_addrset_add(&c->wild, h->addr) == 0)
		return;
	c->st.accepts_all++;
	engine_emit(c, &r);
}

static void become_wildcard(struct core *c, struct host *h)
{
	struct slot *s, *next;

	h->guard = GUARD_WILDCARD;
	report_wildcard(c, h);
	undo_all(c, h);
	for (s = h->slots; s; s = next) {
		next = s->hnext;
		if (s->phase == SLOT_HELD) {
			h->held--;
			drop(c, s);
		}
	}
}

static bool recent_share_reached(const struct core *c, const struct host *h)
{
	uint64_t mask = h->nrecent >= 64 ? UINT64_MAX : (UINT64_C(1) << h->nrecent) - 1;
	unsigned opens = (unsigned)__builtin_popcountll(h->recent & mask);

	return (uint64_t)opens * 100 >= (uint64_t)h->nrecent * c->e->share;
}

/* Probe a held port again: after the spacing to wait for another round,
 * or at once to see it still open after a round found no wildcard. */
static void reprobe(struct core *c, struct slot *s, enum guard_probe why)
{
	uint64_t spacing = c->e->p.timing.confirm_spacing_usec;

	s->guard_probe = (uint8_t)why;
	s->attempts = 0;
	if (why != GP_RECHECK) {
		engine_ready_push(c, s);
		return;
	}
	s->rechecks++;
	s->phase = SLOT_WAITING;
	(void)engine_arm(c, s, c->now + (spacing > RECHECK_MIN_USEC ? spacing : RECHECK_MIN_USEC));
}

/*
 * The held ports round `id` covers. A clean round (no canary open) says
 * the address does not accept everything now, not when the port was seen:
 * a wildcard may have ended in between. So each is probed once more, and
 * reported if it is still open. After an uncertain round, each waits
 * (probed again after the spacing) for a later one, a few times.
 */
static void settle(struct core *c, struct host *h, uint32_t id, bool unsure)
{
	struct slot *s, *next;

	for (s = h->slots; s && !c->aborted; s = next) {
		next = s->hnext;
		if (s->phase != SLOT_HELD || !round_le(s->need_round, id))
			continue;
		h->held--;
		if (!unsure)
			reprobe(c, s, GP_VERIFY);
		else if (s->rechecks < GUARD_RECHECKS)
			reprobe(c, s, GP_RECHECK);
		else
			reprobe(c, s, GP_VERIFY_UNSURE);
	}
}

static void round_done(struct core *c, struct host *h)
{
	uint32_t id = h->rounds - 1;
	bool none = h->canary_open == 0;

	h->guard = GUARD_IDLE;
	if (!none && h->canary_sent == c->e->canaries && h->canary_open == h->canary_sent &&
	    recent_share_reached(c, h)) {
		become_wildcard(c, h);
		return;
	}
	if (none)
		engine_guard_forget_host(c, h); /* it does not accept everything now */
	settle(c, h, id, !none);
	/* ports seen open while this round was out wait for the next one */
	if (h->held > 0 && h->guard == GUARD_IDLE && !c->aborted)
		start_round(c, h);
}

/* ------------------------------------------------------------ rounds */

static uint16_t canary_port(struct core *c, const uint16_t *used, unsigned n)
{
	uint16_t port;
	bool dup;

	do {
		port = (uint16_t)(CANARY_PORT_MIN +
				  engine_rng_next(&c->rng) % (65536 - CANARY_PORT_MIN));
		dup = false;
		for (unsigned k = 0; k < n; k++)
			dup |= used[k] == port;
	} while (dup);
	return port;
}

/* Too few free slots for a whole round: it starts when there are (canaries
 * may take the slots probes may not, so rounds out always free some). A
 * round with fewer canaries could never say "accepts everything". */
static void wait_for_slot(struct core *c, struct host *h)
{
	h->guard = GUARD_WAIT;
	h->wait_next = NULL;
	if (c->round_wait_tail)
		c->round_wait_tail->wait_next = h;
	else
		c->round_wait = h;
	c->round_wait_tail = h;
}

void engine_guard_slot_freed(struct core *c)
{
	struct host *h = c->round_wait;

	if (c->nfree < c->e->canaries)
		return;
	c->round_wait = h->wait_next;
	if (!c->round_wait)
		c->round_wait_tail = NULL;
	h->guard = GUARD_IDLE;
	if (h->held > 0 && !c->aborted)
		start_round(c, h);
}

static void start_round(struct core *c, struct host *h)
{
	struct pw_engine *e = c->e;
	uint16_t used[8];

	if (c->nfree < e->canaries) {
		wait_for_slot(c, h);
		return;
	}
	h->guard = GUARD_ROUND;
	h->rounds++;
	h->canary_sent = 0;
	h->canary_open = 0;
	for (unsigned i = 0; i < e->canaries && i < PW_ELEMENTSOF(used); i++) {
		struct slot *s = engine_slot_take(c, 0);

		if (!s)
			break; /* cannot happen: there were enough free slots */
		used[i] = canary_port(c, used, i);
		s->kind = KIND_CANARY;
		s->addr = h->addr;
		s->port = used[i];
		s->m = 0;
		engine_host_attach(h, s);
		h->canary_sent++;
		engine_ready_push(c, s);
	}
	h->canary_left = h->canary_sent;
	c->st.canary_rounds++;
}

void engine_canary_done(struct core *c, struct slot *s, enum pw_state st)
{
	struct host *h = s->host;

	h->canary_left--;
	if (st == PW_STATE_OPEN)
		h->canary_open++;
	engine_slot_release(c, s);
	if (h->canary_left == 0)
		round_done(c, h);
}

/* ------------------------------------------------------------ the probe path */

/* An open result that counts is ready. True if the guard took it: held
 * until a round settles its address, or dropped (it accepts everything). */
bool engine_guard_hold(struct core *c, struct slot *s, enum pw_state state, unsigned flags)
{
	struct host *h = s->host;

	if (h->guard == GUARD_WILDCARD) {
		drop(c, s);
		return true;
	}
	/* unchanged, or a flap that leaves the old state: nothing new is open */
	if (state != PW_STATE_OPEN || s->prev == PW_STATE_OPEN)
		return false;
	hold(c, h, s, state, flags);
	return true;
}

/* A first attempt answered open: dropped at once when the address is known
 * to accept everything (no re-probes spent on it). */
bool engine_guard_drops(struct core *c, struct slot *s)
{
	if (s->host->guard != GUARD_WILDCARD)
		return false;
	drop(c, s);
	return true;
}

/* A held port was probed again (reprobe()). */
void engine_guard_rechecked(struct core *c, struct slot *s, enum pw_state st)
{
	enum guard_probe why = (enum guard_probe)s->guard_probe;
	struct host *h = s->host;

	s->guard_probe = GP_NONE;
	if (st == PW_STATE_OPEN && h->guard == GUARD_WILDCARD) {
		drop(c, s);
		return;
	}
	if (st == PW_STATE_OPEN && why == GP_RECHECK) {
		hold(c, h, s, (enum pw_state)s->first, s->held_flags);
		return;
	}
	if (st == PW_STATE_OPEN) {
		if (why == GP_VERIFY_UNSURE)
			undo_remember(c, h, s);
		engine_finish_probe(c, s, (enum pw_state)s->first, PW_STATE_OPEN, s->held_flags);
		return;
	}
	/* Silence is no answer (loss, on a lossy address): a port never seen
	 * before keeps the open it was seen in. A wildcard that went away
	 * answers with a refusal, which is an answer. */
	if (st == PW_STATE_FILTERED && s->prev < 0) {
		engine_finish_probe(c, s, PW_STATE_OPEN, PW_STATE_OPEN, s->held_flags);
		return;
	}
	/* no longer open: what was seen is not confirmed (a wildcard that went
	 * away), or, for a port never seen before, the answer now counts */
	if (s->prev >= 0)
		engine_finish_probe(c, s, (enum pw_state)s->prev, PW_STATE_OPEN,
				    PW_RESULT_UNCONFIRMED);
	else
		engine_finish_probe(c, s, st, st, 0);
}

/* A new host entry: an address this core found accepting everything keeps
 * that verdict when its entry was evicted and is made again. */
void engine_guard_new_host(struct core *c, struct host *h)
{
	if (pw_addrset_count(&c->wild) && pw_addrset_contains(&c->wild, h->addr))
		h->guard = GUARD_WILDCARD;
}
