/* SPDX-License-Identifier: MIT */

#include <errno.h>
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

static void reindex(struct pw_iset *s)
{
	pw_u128 acc = 0;

	for (size_t i = 0; i < s->n; i++) {
		s->before[i] = acc;
		acc = sat_add(acc, range_len(&s->ranges[i]));
	}
}

int pw_iset_add(struct pw_iset *s, pw_u128 lo, pw_u128 hi)
{
	size_t i, j;
	int r;

	if (lo > hi)
		return -EINVAL;
	r = reserve(s, s->n + 1);
	if (r < 0)
		return r;

	/* first range that ends at or after lo - 1 (touching counts) */
	for (i = 0; i < s->n; i++)
		if (s->ranges[i].hi >= lo || s->ranges[i].hi + 1 == lo)
			break;
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
	reindex(s);
	return 0;
}

int pw_iset_add_set(struct pw_iset *s, const struct pw_iset *other)
{
	for (size_t i = 0; i < other->n; i++) {
		int r = pw_iset_add(s, other->ranges[i].lo, other->ranges[i].hi);

		if (r < 0)
			return r;
	}
	return 0;
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
