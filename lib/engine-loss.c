/* SPDX-License-Identifier: MIT */
/*
 * Loss adaptation. Loss only ever turns an answer into silence: a dropped
 * SYN, SYN-ACK or RST leaves an attempt to time out, and nothing forges an
 * open or closed port. So the engine counts, per address, the attempts
 * that timed out on a port that a later attempt got an answer from (lost)
 * against the attempts answered. A port whose every attempt timed out says
 * nothing about loss (it may be filtered), so an address that only ever
 * drops is never taken for a lossy one and costs no extra attempt.
 *
 * From those counts comes an upper estimate q of the chance that one
 * attempt is lost, and the number n of attempts in a row after which
 * silence is conclusive: q^n < LOSS_TARGET. A round of attempts to a port
 * may go up to n (within the job's max_retries), and a silent result that
 * is still not conclusive gets more rounds (engine-result.c) or, with a
 * state in the store, does not count as a change. nmap raises its retries
 * on drops in the same spirit (its --max-retries, default 10).
 */

#include "engine-internal.h"

/* Wrong "filtered" per probe that silence may still leave at most. */
#define LOSS_TARGET 1e-6
/* An estimate needs a few lost attempts before it means anything: one
 * late answer is not a lossy address. */
#define LOSS_MIN_LOST 2U
/* Above this every attempt is as good as lost: no round count would do. */
#define LOSS_Q_MAX 0.9

static uint64_t isqrt(uint64_t v)
{
	uint64_t r = 0, b = UINT64_C(1) << 62;

	while (b > v)
		b >>= 2;
	while (b) {
		if (v >= r + b) {
			v -= r + b;
			r = (r >> 1) + b;
		} else {
			r >>= 1;
		}
		b >>= 2;
	}
	return r;
}

/*
 * The chance that one attempt is lost, on the high side: lost over all
 * attempts of answered ports, plus two standard deviations of the count
 * and one more loss, so a few early samples do not promise too much. 0 when
 * there is no evidence of loss at all.
 */
static double loss_upper(uint64_t lost, uint64_t answered)
{
	double q;

	if (lost < LOSS_MIN_LOST)
		return 0;
	q = (double)(lost + 2 * isqrt(lost) + 1) / (double)(lost + answered + 1);
	return q > LOSS_Q_MAX ? LOSS_Q_MAX : q;
}

unsigned pw_engine_loss_attempts(uint64_t lost, uint64_t answered, unsigned retries,
				 unsigned max_retries)
{
	double q = loss_upper(lost, answered), qn = 1;
	unsigned n = 0, cap = (max_retries > retries ? max_retries : retries) + 1;

	if (q <= 0)
		return retries + 1;
	while (n < cap && qn >= LOSS_TARGET) {
		qn *= q;
		n++;
	}
	return n > retries + 1 ? n : retries + 1;
}

bool pw_engine_loss_conclusive(uint64_t lost, uint64_t answered, unsigned silent)
{
	double q = loss_upper(lost, answered), qn = 1;

	if (q <= 0)
		return true;
	for (unsigned i = 0; i < silent && qn >= LOSS_TARGET; i++)
		qn *= q;
	return qn < LOSS_TARGET;
}

bool pw_engine_loss_pct(const struct pw_engine_stats *st, double *ret_pct)
{
	if (st->answered == 0)
		return false;
	*ret_pct = 100.0 * (double)st->lost / (double)(st->lost + st->answered);
	return true;
}

/* Retries the slot's current round may take: cheap while nothing was lost. */
unsigned engine_loss_retries(struct core *c, struct slot *s)
{
	const struct pw_scan_timing *t = &c->e->p.timing;
	struct host *h = s->host;
	unsigned n;

	if (h->lost < LOSS_MIN_LOST || t->max_retries <= t->retries)
		return t->retries;
	n = pw_engine_loss_attempts(h->lost, h->answered, t->retries, t->max_retries) - 1;
	if (n > t->retries && !h->lossy) {
		h->lossy = true;
		c->st.lossy_hosts++;
	}
	return n;
}

void engine_loss_answered(struct core *c, struct host *h, unsigned silent)
{
	if (h->answered < UINT32_MAX)
		h->answered++;
	h->lost = UINT32_MAX - h->lost < silent ? UINT32_MAX : h->lost + silent;
	c->st.answered++;
	c->st.lost += silent;
}

bool engine_loss_conclusive(const struct core *c, const struct slot *s)
{
	const struct pw_scan_timing *t = &c->e->p.timing;

	/* max_retries at or below retries: the job asked for no adaptation */
	if (t->max_retries <= t->retries)
		return true;
	return pw_engine_loss_conclusive(s->host->lost, s->host->answered, s->silent);
}
