/* SPDX-License-Identifier: MIT */

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "targets.h"
#include "util.h"

static int fail(const char **reason, const char *why, int err)
{
	if (reason)
		*reason = why;
	return err;
}

/* Digits and dots only: meant as an IPv4 address, never a hostname. */
static bool looks_v4(const char *s, size_t len)
{
	return len > 0 && strspn(s, "0123456789.") >= len;
}

/*
 * RFC 1123 2.1 labels; a final label of digits only is refused too
 * (RFC 3696 2), so "127.0.0.256" is a bad address, never a name.
 */
static bool valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;
	const char *last = s;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			last = s + i + 1;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	if (label == 0 || s[len - 1] == '-')
		return false;
	return !looks_v4(last, (size_t)(s + len - last));
}

static bool is_special(pw_u128 a)
{
	/* unspecified (RFC 4291 2.5.2, RFC 1122 3.2.1.3) and limited broadcast */
	return a == 0 || a == pw_addr_from_v4(0) || a == pw_addr_from_v4(0xffffffffu);
}

static int parse_addr_n(const char *s, size_t len, pw_u128 *ret, const char **reason)
{
	char buf[PW_TARGET_SPEC_MAX + 1];

	if (len == 0)
		return fail(reason, "empty address", -EINVAL);
	if (len > PW_TARGET_SPEC_MAX)
		return fail(reason, "address too long", -EINVAL);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (pw_addr_parse(buf, ret) < 0) {
		if (memchr(buf, ':', len))
			return fail(reason, "invalid IPv6 address", -EINVAL);
		return fail(reason, "invalid IPv4 address", -EINVAL);
	}
	return 0;
}

/* A text holding only the IPv4 family? ("::ffff:1.2.3.4" is IPv6 text.) */
static bool text_is_v4(const char *s, size_t len)
{
	return !memchr(s, ':', len);
}

static int parse_cidr(const char *spec, const char *slash, pw_u128 *lo, pw_u128 *hi,
		      const char **reason)
{
	bool v4 = text_is_v4(spec, (size_t)(slash - spec));
	unsigned bits = v4 ? 32 : 128;
	uint64_t prefix;
	pw_u128 a, hostmask;
	int r;

	r = parse_addr_n(spec, (size_t)(slash - spec), &a, reason);
	if (r < 0)
		return r;
	r = pw_parse_u64(slash + 1, 0, bits, &prefix);
	if (r == -ERANGE)
		return fail(reason,
			    v4 ? "IPv4 prefix length above 32" : "IPv6 prefix length above 128",
			    -ERANGE);
	if (r < 0)
		return fail(reason, "prefix length is not a number", -EINVAL);
	/* one size cap for both families; for IPv6 say it in prefix terms */
	if (!v4 && prefix < PW_TARGETS_MIN_V6_PREFIX)
		return fail(reason, "IPv6 prefix too large (the cap is /104, 2^24 addresses)",
			    -ERANGE);
	hostmask = bits - prefix >= 128 ? PW_U128_MAX : (((pw_u128)1 << (bits - prefix)) - 1);
	if (a & hostmask)
		return fail(reason, "address has bits set beyond the prefix length", -EINVAL);
	*lo = a;
	*hi = a | hostmask;
	return 0;
}

static int parse_range(const char *spec, const char *dash, pw_u128 *lo, pw_u128 *hi,
		       const char **reason)
{
	const char *right = dash + 1;
	size_t rlen = strlen(right);
	int r;

	r = parse_addr_n(spec, (size_t)(dash - spec), lo, reason);
	if (r < 0)
		return r;
	if (rlen == 0)
		return fail(reason, "range without an upper end", -EINVAL);
	if (pw_addr_is_v4(*lo) && text_is_v4(spec, (size_t)(dash - spec)) &&
	    strspn(right, "0123456789") == rlen) {
		uint64_t octet;

		/* "127.0.0.1-40": the last octet of the upper end */
		r = pw_parse_u64(right, 0, 255, &octet);
		if (r < 0)
			return fail(reason, "last octet of the range out of range (0-255)",
				    -ERANGE);
		*hi = (*lo & ~(pw_u128)0xff) | (pw_u128)octet;
	} else {
		r = parse_addr_n(right, rlen, hi, reason);
		if (r < 0)
			return r;
		if (text_is_v4(spec, (size_t)(dash - spec)) != text_is_v4(right, rlen))
			return fail(reason, "range mixes IPv4 and IPv6", -EINVAL);
	}
	if (*lo > *hi)
		return fail(reason, "reversed address range (low end above high end)", -ERANGE);
	return 0;
}

int pw_target_parse(const char *spec, struct pw_iset *addrs, enum pw_target_kind *ret_kind,
		    const char **reason)
{
	const char *slash, *dash;
	pw_u128 lo, hi;
	int r;

	if (!spec || !*spec)
		return fail(reason, "empty target", -EINVAL);
	if (strnlen(spec, PW_TARGET_SPEC_MAX + 1) > PW_TARGET_SPEC_MAX)
		return fail(reason, "target too long", -EINVAL);
	for (const char *p = spec; *p; p++) {
		if (isspace((unsigned char)*p))
			return fail(reason, "whitespace in target", -EINVAL);
		if (*p == ',')
			return fail(reason, "comma in target (give one target per list element)",
				    -EINVAL);
	}

	slash = strchr(spec, '/');
	dash = strchr(spec, '-');
	if (slash) {
		r = parse_cidr(spec, slash, &lo, &hi, reason);
	} else if (dash && (memchr(spec, ':', (size_t)(dash - spec)) ||
			    looks_v4(spec, (size_t)(dash - spec)))) {
		/* hostnames hold dashes too: only an address on the left makes a range */
		r = parse_range(spec, dash, &lo, &hi, reason);
	} else if (strchr(spec, ':') || looks_v4(spec, strlen(spec))) {
		r = parse_addr_n(spec, strlen(spec), &lo, reason);
		hi = lo;
	} else {
		if (!valid_hostname(spec))
			return fail(reason, "not an address, CIDR, range or valid hostname",
				    -EINVAL);
		*ret_kind = PW_TARGET_HOSTNAME;
		return 0;
	}
	if (r < 0)
		return r;
	if (lo == hi && is_special(lo))
		return fail(reason, "not a host address (unspecified or broadcast)", -ERANGE);
	if (hi - lo >= PW_TARGETS_MAX_ADDRS)
		return fail(reason, "too many addresses (the cap is 2^24, an IPv4 /8)", -ERANGE);
	r = pw_iset_add(addrs, lo, hi);
	if (r < 0)
		return fail(reason, "out of memory", r);
	*ret_kind = PW_TARGET_ADDRESSES;
	return 0;
}

static int resolve_one(const char *name, struct pw_iset_batch *b)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = 0, /* no AI_ADDRCONFIG: see targets.h */
	};
	struct addrinfo *res = NULL;
	int r;

	r = getaddrinfo(name, NULL, &hints, &res);
	if (r != 0)
		return r;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		pw_u128 a;
		uint16_t port;

		if (pw_addr_from_sockaddr(ai->ai_addr, &a, &port) < 0)
			continue;
		if (pw_iset_batch_add(b, a, a) < 0) {
			freeaddrinfo(res);
			return EAI_MEMORY;
		}
	}
	freeaddrinfo(res);
	return 0;
}

/* The addresses are collected and merged once: a name may have many. */
int pw_targets_resolve(char *const *names, size_t n_names, const struct pw_iset *exclude,
		       struct pw_iset *ret_addrs, int *gai_errors)
{
	struct pw_iset_batch b = PW_ISET_BATCH_INIT;
	struct pw_iset set = PW_ISET_INIT;
	int failed = 0, r = 0;

	for (size_t i = 0; i < n_names && r != EAI_MEMORY; i++) {
		r = resolve_one(names[i], &b);
		if (gai_errors)
			gai_errors[i] = r;
		if (r != 0)
			failed++;
	}
	if (r == EAI_MEMORY || pw_iset_batch_apply(&b, &set) < 0 ||
	    (exclude && pw_iset_subtract(&set, exclude) < 0)) {
		pw_iset_batch_done(&b);
		pw_iset_done(&set);
		return -ENOMEM;
	}
	pw_iset_batch_done(&b);
	*ret_addrs = set;
	return failed;
}
