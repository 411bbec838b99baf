/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Small helpers every module uses: scope-bound cleanup (so each function
 * has one exit path), checked number and duration parsing (no atoi), and
 * clock access.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define PW_ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_INFINITY UINT64_MAX

static inline void pw_freep(void *p)
{
	free(*(void **)p);
}

static inline void pw_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void pw_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(pw_freep)
#define _cleanup_close_ _cleanup_(pw_closep)
#define _cleanup_fclose_ _cleanup_(pw_fclosep)

/* Hand ownership out of a cleanup-scoped variable. */
#define TAKE_PTR(p)                       \
	({                                \
		__typeof__(p) _tp_ = (p); \
		(p) = NULL;               \
		_tp_;                     \
	})
#define TAKE_FD(fd)              \
	({                       \
		int _tf_ = (fd); \
		(fd) = -1;       \
		_tf_;            \
	})

/*
 * Parse an unsigned decimal number in [min, max]. Leading/trailing
 * whitespace, signs, empty strings and trailing garbage are rejected.
 * Returns 0, -EINVAL (not a number) or -ERANGE (outside [min, max]).
 */
int pw_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/*
 * Parse a duration such as "90s", "15m", "1h30m", "250ms", "2d" or a bare
 * number of seconds into microseconds. Returns 0, -EINVAL or -ERANGE.
 */
int pw_parse_duration(const char *s, uint64_t *ret_usec);

/*
 * A size in bytes: digits with an optional binary suffix K, M, G or T
 * (KiB, MiB, ... also accepted; "4G" is 4 GiB). Returns 0, -EINVAL, or
 * -ERANGE when it does not fit 64 bits.
 */
int pw_parse_size(const char *s, uint64_t *ret_bytes);

/* Bytes the way a person reads them: "512 B", "1.5 KiB", "343.6 GiB". */
const char *pw_format_size(char *buf, size_t len, uint64_t bytes);

/* Format microseconds the way pw_parse_duration() reads them ("1h30m"). */
const char *pw_format_duration(char *buf, size_t len, uint64_t usec);

/* Microseconds on the given clock (CLOCK_MONOTONIC, CLOCK_REALTIME). */
uint64_t pw_now_usec(clockid_t clock);

/*
 * Name tables (enum value -> stable string, as stored and logged): the
 * index of s among table[0..n) with NULL entries skipped, or -EINVAL.
 */
int pw_table_lookup(const char *const *table, size_t n, const char *s);

/*
 * NAME_to_string() and NAME_from_string() over such a table, indexed by
 * the enum's values (systemd's DEFINE_STRING_TABLE_LOOKUP): one line per
 * enum. to_string gives NULL out of range or for a NULL entry (a value
 * with no name); from_string the value, or -EINVAL.
 */
#define PW_DEFINE_STRING_TABLE_LOOKUP(name, type, table)                   \
	const char *name##_to_string(type v)                               \
	{                                                                  \
		return (size_t)v < PW_ELEMENTSOF(table) ? table[v] : NULL; \
	}                                                                  \
	int name##_from_string(const char *s)                              \
	{                                                                  \
		return pw_table_lookup(table, PW_ELEMENTSOF(table), s);    \
	}

/* Levenshtein distance, for "did you mean" suggestions. */
size_t pw_edit_distance(const char *a, const char *b);
