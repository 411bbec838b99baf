/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A set of addresses: open addressing with linear probing over a table
 * that doubles at half load, so a lookup is one hash and a probe or two,
 * whatever the count. Removal shifts the following entries back (no
 * tombstones). The engine keeps one per run for the addresses it reported
 * as accepting everything; the store one per job for those in that state.
 *
 * Bounded: a set made with a maximum refuses to grow past it (-ENOSPC),
 * so a hostile network that answers for a whole /8 costs at most that.
 */

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

struct pw_addrset {
	pw_u128 *keys;
	uint8_t *used;
	size_t n, size; /* size: a power of two, or 0 before the first add */
	size_t max;     /* entries allowed; 0 = no bound */
};

#define PW_ADDRSET_INIT             \
	{                           \
		NULL, NULL, 0, 0, 0 \
	}

/* An empty set holding at most max addresses (0: no bound). */
void pw_addrset_init(struct pw_addrset *s, size_t max);

/* Free the table; the set is empty (with the same bound) again. */
void pw_addrset_done(struct pw_addrset *s);

bool pw_addrset_contains(const struct pw_addrset *s, pw_u128 a);

/* 1 added, 0 already there, -ENOSPC at the bound, -ENOMEM. */
int pw_addrset_add(struct pw_addrset *s, pw_u128 a);

/* 1 removed, 0 not there. */
int pw_addrset_remove(struct pw_addrset *s, pw_u128 a);

static inline size_t pw_addrset_count(const struct pw_addrset *s)
{
	return s->n;
}

/*
 * Walk the set (in no particular order): start with *cursor 0; returns
 * false at the end. The set must not change during the walk.
 */
bool pw_addrset_next(const struct pw_addrset *s, size_t *cursor, pw_u128 *ret);
