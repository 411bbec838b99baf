/* SPDX-License-Identifier: MIT */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "util.h"

int pw_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	/* strtoull() accepts leading space and '-' (wrapping), so check first. */
	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static const struct {
	const char *suffix;
	uint64_t usec;
} duration_units[] = {
	/* longest suffix first so "ms" is not read as "m" + garbage */
	{ "ms", USEC_PER_MSEC },           { "us", 1 },
	{ "d", 24 * 3600 * USEC_PER_SEC }, { "h", 3600 * USEC_PER_SEC },
	{ "m", 60 * USEC_PER_SEC },        { "s", USEC_PER_SEC },
};

static int parse_duration_unit(const char **p, uint64_t *ret_mult)
{
	for (size_t i = 0; i < PW_ELEMENTSOF(duration_units); i++) {
		size_t l = strlen(duration_units[i].suffix);

		if (strncmp(*p, duration_units[i].suffix, l) == 0) {
			*p += l;
			*ret_mult = duration_units[i].usec;
			return 0;
		}
	}
	return -EINVAL;
}

int pw_parse_duration(const char *s, uint64_t *ret_usec)
{
	uint64_t total = 0;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;

	while (*p) {
		unsigned long long v;
		uint64_t mult = USEC_PER_SEC;
		char *end;

		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno == ERANGE)
			return -ERANGE;
		p = end;
		if (*p == '\0') {
			/* a bare number is seconds, but only on its own */
			if (p != s + strspn(s, "0123456789"))
				return -EINVAL;
		} else if (parse_duration_unit(&p, &mult) < 0)
			return -EINVAL;
		if (v > (UINT64_MAX - total) / mult)
			return -ERANGE;
		total += v * mult;
	}
	*ret_usec = total;
	return 0;
}

int pw_parse_size(const char *s, uint64_t *ret_bytes)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;
	int shift = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end) {
		u = strchr(units, *end);
		if (!u || (end[1] && strcmp(end + 1, "iB") != 0))
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
	}
	if (shift && v > UINT64_MAX >> shift)
		return -ERANGE;
	*ret_bytes = (uint64_t)v << shift;
	return 0;
}

const char *pw_format_size(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

const char *pw_format_duration(char *buf, size_t len, uint64_t usec)
{
	static const struct {
		const char *suffix;
		uint64_t usec;
	} units[] = {
		{ "d", 24 * 3600 * USEC_PER_SEC }, { "h", 3600 * USEC_PER_SEC },
		{ "m", 60 * USEC_PER_SEC },        { "s", USEC_PER_SEC },
		{ "ms", USEC_PER_MSEC },           { "us", 1 },
	};
	size_t used = 0;

	if (len == 0)
		return buf;
	if (usec == 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < PW_ELEMENTSOF(units) && usec > 0; i++) {
		uint64_t n = usec / units[i].usec;
		int r;

		if (n == 0)
			continue;
		usec -= n * units[i].usec;
		r = snprintf(buf + used, len - used, "%llu%s", (unsigned long long)n,
			     units[i].suffix);
		if (r < 0 || (size_t)r >= len - used)
			break;
		used += (size_t)r;
	}
	return buf;
}

uint64_t pw_now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

int pw_table_lookup(const char *const *table, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (table[i] && strcmp(s, table[i]) == 0)
			return (int)i;
	return -EINVAL;
}

size_t pw_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64 + 1];

	/* Keys are short; beyond 64 characters a suggestion is pointless. */
	if (lb > 64 || la > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;

			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (up + 1 < best)
				best = up + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}
