/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Sorted, merged sets of closed intervals over 128-bit integers. Targets
 * (addresses, see addr.h) and ports both normalise into one, so exclusions
 * are set subtraction and a job's probe count is a product of two counts,
 * known without enumerating anything. pw_iset_pick() maps an index in
 * [0, count) back to an element, which is what the scan permutation needs.
 */

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

#define PW_U128_MAX (~(pw_u128)0)

struct pw_range {
	pw_u128 lo, hi; /* inclusive */
};

struct pw_iset {
	struct pw_range *ranges; /* sorted, disjoint, non-adjacent */
	pw_u128 *before;         /* before[i] = elements in ranges[0..i) */
	size_t n, cap;
};

/* A braced initializer on one line; clang-format would spread it. */
/* clang-format off */
#define PW_ISET_INIT { NULL, NULL, 0, 0 }
/* clang-format on */

void pw_iset_done(struct pw_iset *s);

/* Add [lo, hi] (lo <= hi), merging with overlapping or adjacent ranges. */
int pw_iset_add(struct pw_iset *s, pw_u128 lo, pw_u128 hi);

/* Add every range of another set (one sort and merge). */
int pw_iset_add_set(struct pw_iset *s, const struct pw_iset *other);

/*
 * Ranges collected to be added at once: n scattered pw_iset_add() calls
 * cost O(n^2), one pw_iset_batch_apply() a sort and a merge. For parsers
 * of long lists (target specs, resolved addresses).
 */
struct pw_iset_batch {
	struct pw_range *v; /* in the order added */
	size_t n, cap;
};

/* clang-format off */
#define PW_ISET_BATCH_INIT { NULL, 0, 0 }
/* clang-format on */

void pw_iset_batch_done(struct pw_iset_batch *b);
/* -EINVAL if lo > hi, -ENOMEM */
int pw_iset_batch_add(struct pw_iset_batch *b, pw_u128 lo, pw_u128 hi);
int pw_iset_batch_add_set(struct pw_iset_batch *b, const struct pw_iset *s);
/* Merge every range of b into s and empty b; on -ENOMEM, s is unchanged. */
int pw_iset_batch_apply(struct pw_iset_batch *b, struct pw_iset *s);

/* Remove every element of ex from s. */
int pw_iset_subtract(struct pw_iset *s, const struct pw_iset *ex);

int pw_iset_copy(struct pw_iset *dst, const struct pw_iset *src);

bool pw_iset_contains(const struct pw_iset *s, pw_u128 v);

/* Number of elements; saturates at PW_U128_MAX (only ::/0 gets there). */
pw_u128 pw_iset_count(const struct pw_iset *s);

/* The index-th smallest element; index must be < pw_iset_count(). */
pw_u128 pw_iset_pick(const struct pw_iset *s, pw_u128 index);

/* The inverse of pick: v's index in the set; v must be in it. */
pw_u128 pw_iset_rank(const struct pw_iset *s, pw_u128 v);

bool pw_iset_equal(const struct pw_iset *a, const struct pw_iset *b);

/* Whether every element of sub is in s. */
bool pw_iset_covers(const struct pw_iset *s, const struct pw_iset *sub);
