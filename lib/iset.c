/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iset.h"

void pw_iset_done(struct pw_iset *s)
{
	free(s->ranges);
	free(s->before);
	*s = (struct pw_iset)PW_ISET_INIT;
}

static int reserve(struct pw_iset *s, size_t want)
{
	struct pw_range *r;
	pw_u128 *b;
	size_t cap;

	if (want <= s->cap)
		return 0;
	cap = s->cap ? s->cap * 2 : 8;
	while (cap < want)
		cap *= 2;
	r = realloc(s->ranges, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	s->ranges = r;
	b = realloc(s->before, cap * sizeof(*b));
	if (!b)
		return -ENOMEM;
	s->before = b;
	s->cap = cap;
	return 0;
}

static pw_u128 range_len(const struct pw_range *r)
{
	pw_u128 d = r->hi - r->lo;

	return d == PW_U128_MAX ? PW_U128_MAX : d + 1;
}

static pw_u128 sat_add(pw_u128 a, pw_u128 b)
{
	return a > PW_U128_MAX - b ? PW_U128_MAX : a + b;
}

/* before[] from range i on: what an insert at i changed */
static void reindex_from(struct pw_iset *s, size_t i)
{
	pw_u128 acc = i ? sat_add(s->before[i - 1], range_len(&s->ranges[i - 1])) : 0;

	for (; i < s->n; i++) {
		s->before[i] = acc;
		acc = sat_add(acc, range_len(&s->ranges[i]));
	}
}

/* Index of the first range that ends at or after lo - 1 (touching counts). */
static size_t first_touching(const struct pw_iset *s, pw_u128 lo)
{
	size_t a = 0, b = s->n;

	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if (s->ranges[mid].hi >= lo || s->ranges[mid].hi + 1 == lo)
			b = mid;
		else
			a = mid + 1;
	}
	return a;
}

/*
 * One insert: a binary search, a memmove and the index from there on, so
 * appending in order is cheap. Many scattered ranges still cost O(n) each:
 * collect those in a pw_iset_batch.
 */
int pw_iset_add(struct pw_iset *s, pw_u128 lo, pw_u128 hi)
{
	size_t i, j;
	int r;

	if (lo > hi)
		return -EINVAL;
	r = reserve(s, s->n + 1);
	if (r < 0)
		return r;
	i = first_touching(s, lo);
	/* ranges [i, j) overlap or touch [lo, hi] */
	for (j = i; j < s->n; j++) {
		if (hi != PW_U128_MAX && s->ranges[j].lo > hi + 1)
			break;
		if (s->ranges[j].lo < lo)
			lo = s->ranges[j].lo;
		if (s->ranges[j].hi > hi)
			hi = s->ranges[j].hi;
	}
	if (j == i) {
		memmove(&s->ranges[i + 1], &s->ranges[i], (s->n - i) * sizeof(*s->ranges));
		s->n++;
	} else if (j > i + 1) {
		memmove(&s->ranges[i + 1], &s->ranges[j], (s->n - j) * sizeof(*s->ranges));
		s->n -= j - i - 1;
	}
	s->ranges[i] = (struct pw_range){ lo, hi };
	reindex_from(s, i);
	return 0;
}

/* ------------------------------------------------------------ batches */

void pw_iset_batch_done(struct pw_iset_batch *b)
{
	free(b->v);
	*b = (struct pw_iset_batch)PW_ISET_BATCH_INIT;
}

static int batch_reserve(struct pw_iset_batch *b, size_t more)
{
	struct pw_range *v;
	size_t cap;

	if (more <= b->cap - b->n)
		return 0;
	if (more > SIZE_MAX / 2 / sizeof(*v) - b->n)
		return -ENOMEM;
	cap = b->cap ? b->cap : 8;
	while (cap - b->n < more)
		cap *= 2;
	v = realloc(b->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	b->v = v;
	b->cap = cap;
	return 0;
}

int pw_iset_batch_add(struct pw_iset_batch *b, pw_u128 lo, pw_u128 hi)
{
	int r;

	if (lo > hi)
		return -EINVAL;
	r = batch_reserve(b, 1);
	if (r < 0)
		return r;
	b->v[b->n++] = (struct pw_range){ lo, hi };
	return 0;
}

int pw_iset_batch_add_set(struct pw_iset_batch *b, const struct pw_iset *s)
{
	int r = batch_reserve(b, s->n);

	if (r < 0)
		return r;
	if (s->n)
		memcpy(b->v + b->n, s->ranges, s->n * sizeof(*s->ranges));
	b->n += s->n;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct pw_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorted ranges merged in place (overlapping or touching); the new count. */
static size_t merge_sorted(struct pw_range *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (k > 0 && (v[k - 1].hi == PW_U128_MAX || v[i].lo <= v[k - 1].hi + 1)) {
			if (v[i].hi > v[k - 1].hi)
				v[k - 1].hi = v[i].hi;
		} else
			v[k++] = v[i];
	}
	return k;
}

int pw_iset_batch_apply(struct pw_iset_batch *b, struct pw_iset *s)
{
	struct pw_iset out = PW_ISET_INIT;
	size_t n;
	int r;

	/* allocate first: nothing may fail once b is being sorted */
	r = reserve(&out, b->n + s->n);
	if (r >= 0)
		r = pw_iset_batch_add_set(b, s);
	if (r < 0) {
		pw_iset_done(&out);
		return r;
	}
	if (b->n > 1)
		qsort(b->v, b->n, sizeof(*b->v), cmp_range);
	n = merge_sorted(b->v, b->n);
	if (n)
		memcpy(out.ranges, b->v, n * sizeof(*b->v));
	out.n = n;
	reindex_from(&out, 0);
	pw_iset_done(s);
	*s = out;
	b->n = 0;
	return 0;
}

int pw_iset_add_set(struct pw_iset *s, const struct pw_iset *other)
{
	struct pw_iset_batch b = PW_ISET_BATCH_INIT;
	int r = pw_iset_batch_add_set(&b, other);

	if (r >= 0)
		r = pw_iset_batch_apply(&b, s);
	pw_iset_batch_done(&b);
	return r;
}

int pw_iset_subtract(struct pw_iset *s, const struct pw_iset *ex)
{
	struct pw_iset out = PW_ISET_INIT;
	size_t k = 0;
	int r;

	for (size_t i = 0; i < s->n; i++) {
		pw_u128 lo = s->ranges[i].lo, hi = s->ranges[i].hi;
		bool alive = true;

		/* ex is sorted: skip exclusions wholly before this range */
		while (k < ex->n && ex->ranges[k].hi < lo)
			k++;
		for (size_t m = k; alive && m < ex->n && ex->ranges[m].lo <= hi; m++) {
			if (ex->ranges[m].lo > lo) {
				r = pw_iset_add(&out, lo, ex->ranges[m].lo - 1);
				if (r < 0)
					goto fail;
			}
			if (ex->ranges[m].hi >= hi)
				alive = false;
			else
				lo = ex->ranges[m].hi + 1;
		}
		if (alive) {
			r = pw_iset_add(&out, lo, hi);
			if (r < 0)
				goto fail;
		}
	}
	pw_iset_done(s);
	*s = out;
	return 0;
fail:
	pw_iset_done(&out);
	return r;
}

int pw_iset_copy(struct pw_iset *dst, const struct pw_iset *src)
{
	struct pw_iset out = PW_ISET_INIT;
	int r = reserve(&out, src->n);

	if (r < 0)
		return r;
	if (src->n) {
		memcpy(out.ranges, src->ranges, src->n * sizeof(*src->ranges));
		memcpy(out.before, src->before, src->n * sizeof(*src->before));
	}
	out.n = src->n;
	*dst = out;
	return 0;
}

/* Index of the range holding v or, if none, of the first range after it. */
static size_t lower_bound(const struct pw_iset *s, pw_u128 v)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->ranges[mid].hi < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool pw_iset_contains(const struct pw_iset *s, pw_u128 v)
{
	size_t i = lower_bound(s, v);

	return i < s->n && s->ranges[i].lo <= v;
}

pw_u128 pw_iset_count(const struct pw_iset *s)
{
	if (s->n == 0)
		return 0;
	return sat_add(s->before[s->n - 1], range_len(&s->ranges[s->n - 1]));
}

pw_u128 pw_iset_pick(const struct pw_iset *s, pw_u128 index)
{
	size_t lo = 0, hi = s->n;

	/* last range whose before[] <= index */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->before[mid] <= index)
			lo = mid;
		else
			hi = mid;
	}
	return s->ranges[lo].lo + (index - s->before[lo]);
}

pw_u128 pw_iset_rank(const struct pw_iset *s, pw_u128 v)
{
	size_t i = lower_bound(s, v);

	return s->before[i] + (v - s->ranges[i].lo);
}

bool pw_iset_equal(const struct pw_iset *a, const struct pw_iset *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->ranges[i].lo != b->ranges[i].lo || a->ranges[i].hi != b->ranges[i].hi)
			return false;
	return true;
}

bool pw_iset_covers(const struct pw_iset *s, const struct pw_iset *sub)
{
	for (size_t k = 0; k < sub->n; k++) {
		size_t i = lower_bound(s, sub->ranges[k].lo);

		/* ranges are non-adjacent: one range must hold the whole of it */
		if (i >= s->n || s->ranges[i].lo > sub->ranges[k].lo ||
		    s->ranges[i].hi < sub->ranges[k].hi)
			return false;
	}
	return true;
}
