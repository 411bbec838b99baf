/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdlib.h>

#include "timerq.h"

void pw_timerq_done(struct pw_timerq *q)
{
	for (size_t i = 0; i < q->n; i++)
		q->heap[i]->pos = 0;
	free(q->heap);
	*q = (struct pw_timerq)PW_TIMERQ_INIT;
}

int pw_timerq_reserve(struct pw_timerq *q, size_t n)
{
	struct pw_timer **h;

	if (n <= q->cap)
		return 0;
	h = realloc(q->heap, n * sizeof(*h));
	if (!h)
		return -ENOMEM;
	q->heap = h;
	q->cap = n;
	return 0;
}

static void place(struct pw_timerq *q, size_t i, struct pw_timer *t)
{
	q->heap[i] = t;
	t->pos = i + 1;
}

static void sift_up(struct pw_timerq *q, size_t i)
{
	struct pw_timer *t = q->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (q->heap[parent]->when <= t->when)
			break;
		place(q, i, q->heap[parent]);
		i = parent;
	}
	place(q, i, t);
}

static void sift_down(struct pw_timerq *q, size_t i)
{
	struct pw_timer *t = q->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= q->n)
			break;
		if (c + 1 < q->n && q->heap[c + 1]->when < q->heap[c]->when)
			c++;
		if (t->when <= q->heap[c]->when)
			break;
		place(q, i, q->heap[c]);
		i = c;
	}
	place(q, i, t);
}

int pw_timerq_add(struct pw_timerq *q, struct pw_timer *t, uint64_t when)
{
	if (pw_timer_armed(t)) {
		uint64_t old = t->when;

		t->when = when;
		if (when < old)
			sift_up(q, t->pos - 1);
		else
			sift_down(q, t->pos - 1);
		return 0;
	}
	if (q->n == q->cap) {
		int r = pw_timerq_reserve(q, q->cap ? q->cap * 2 : 16);

		if (r < 0)
			return r;
	}
	t->when = when;
	place(q, q->n++, t);
	sift_up(q, q->n - 1);
	return 0;
}

void pw_timerq_remove(struct pw_timerq *q, struct pw_timer *t)
{
	size_t i;
	struct pw_timer *last;

	if (!pw_timer_armed(t))
		return;
	i = t->pos - 1;
	t->pos = 0;
	last = q->heap[--q->n];
	if (i == q->n)
		return;
	place(q, i, last);
	/* the moved node may belong above or below its new place */
	if (i > 0 && q->heap[(i - 1) / 2]->when > last->when)
		sift_up(q, i);
	else
		sift_down(q, i);
}

uint64_t pw_timerq_next(const struct pw_timerq *q)
{
	return q->n ? q->heap[0]->when : UINT64_MAX;
}

struct pw_timer *pw_timerq_pop_expired(struct pw_timerq *q, uint64_t now)
{
	struct pw_timer *t;

	if (q->n == 0 || q->heap[0]->when > now)
		return NULL;
	t = q->heap[0];
	pw_timerq_remove(q, t);
	return t;
}
