/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdlib.h>

#include "addrset.h"

#define MIN_SIZE 16

static size_t slot_of(const struct pw_addrset *s, pw_u128 a)
{
	/* splitmix64's finaliser over the folded address */
	uint64_t x = (uint64_t)a ^ (uint64_t)(a >> 64) * UINT64_C(0x9e3779b97f4a7c15);

	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return (size_t)x & (s->size - 1);
}

void pw_addrset_init(struct pw_addrset *s, size_t max)
{
	*s = (struct pw_addrset){ .max = max };
}

void pw_addrset_done(struct pw_addrset *s)
{
	free(s->keys);
	free(s->used);
	pw_addrset_init(s, s->max);
}

/* The slot holding a, or the empty slot where it would go. */
static size_t find(const struct pw_addrset *s, pw_u128 a)
{
	size_t i = slot_of(s, a);

	while (s->used[i] && s->keys[i] != a)
		i = (i + 1) & (s->size - 1);
	return i;
}

bool pw_addrset_contains(const struct pw_addrset *s, pw_u128 a)
{
	return s->n > 0 && s->used[find(s, a)];
}

static int grow(struct pw_addrset *s)
{
	struct pw_addrset old = *s;
	size_t size = s->size ? s->size * 2 : MIN_SIZE;

	s->keys = calloc(size, sizeof(*s->keys));
	s->used = calloc(size, sizeof(*s->used));
	if (!s->keys || !s->used) {
		free(s->keys);
		free(s->used);
		*s = old;
		return -ENOMEM;
	}
	s->size = size;
	for (size_t i = 0; i < old.size; i++) {
		size_t j;

		if (!old.used[i])
			continue;
		j = find(s, old.keys[i]);
		s->keys[j] = old.keys[i];
		s->used[j] = 1;
	}
	free(old.keys);
	free(old.used);
	return 0;
}

int pw_addrset_add(struct pw_addrset *s, pw_u128 a)
{
	size_t i;
	int r;

	if (pw_addrset_contains(s, a))
		return 0;
	if (s->max && s->n >= s->max)
		return -ENOSPC;
	if (2 * (s->n + 1) > s->size) {
		r = grow(s);
		if (r < 0)
			return r;
	}
	i = find(s, a);
	s->keys[i] = a;
	s->used[i] = 1;
	s->n++;
	return 1;
}

int pw_addrset_remove(struct pw_addrset *s, pw_u128 a)
{
	size_t mask = s->size - 1, i, j;

	if (!pw_addrset_contains(s, a))
		return 0;
	i = find(s, a);
	s->used[i] = 0;
	s->n--;
	/* Backward shift: an entry after the hole moves into it unless its
	 * home slot lies cyclically in (hole, entry]: then it is reachable. */
	for (j = (i + 1) & mask; s->used[j]; j = (j + 1) & mask) {
		size_t home = slot_of(s, s->keys[j]);

		if (((j - home) & mask) < ((j - i) & mask))
			continue;
		s->keys[i] = s->keys[j];
		s->used[i] = 1;
		s->used[j] = 0;
		i = j;
	}
	return 1;
}

bool pw_addrset_next(const struct pw_addrset *s, size_t *cursor, pw_u128 *ret)
{
	for (size_t i = *cursor; i < s->size; i++)
		if (s->used[i]) {
			*ret = s->keys[i];
			*cursor = i + 1;
			return true;
		}
	*cursor = s->size;
	return false;
}
