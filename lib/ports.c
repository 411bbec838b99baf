/* SPDX-License-Identifier: MIT */

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <arpa/inet.h>

#include "ports.h"
#include "util.h"

static const struct common_port {
	uint16_t port;
	const char *name;
} common_ports[] = {
#define PW_COMMON_PORT(p, n) { (p), (n) },
#include "common-ports.def"
#undef PW_COMMON_PORT
};

int pw_ports_common(struct pw_iset *ret)
{
	struct pw_iset s = PW_ISET_INIT;

	for (size_t i = 0; i < PW_ELEMENTSOF(common_ports); i++) {
		int r = pw_iset_add(&s, common_ports[i].port, common_ports[i].port);

		if (r < 0) {
			pw_iset_done(&s);
			return r;
		}
	}
	*ret = s;
	return 0;
}

const char *pw_ports_common_name(uint16_t port)
{
	for (size_t i = 0; i < PW_ELEMENTSOF(common_ports); i++)
		if (common_ports[i].port == port)
			return common_ports[i].name;
	return NULL;
}

static int fail(const char **reason, const char *why, int err)
{
	if (reason)
		*reason = why;
	return err;
}

/* A port number: digits only, 1..65535. */
static int parse_port(const char *s, size_t len, uint16_t *ret, const char **reason)
{
	char buf[16];
	uint64_t v;
	int r;

	if (len == 0)
		return fail(reason, "empty port number", -EINVAL);
	if (len >= sizeof(buf)) {
		/* all digits but too long: still a range error, not garbage */
		if (strspn(s, "0123456789") >= len)
			return fail(reason, "port out of range (1-65535)", -ERANGE);
		return fail(reason, "not a port number", -EINVAL);
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	r = pw_parse_u64(buf, PW_PORT_MIN, PW_PORT_MAX, &v);
	if (r == -ERANGE)
		return fail(reason, "port out of range (1-65535)", -ERANGE);
	if (r < 0)
		return fail(reason, "not a port number", -EINVAL);
	*ret = (uint16_t)v;
	return 0;
}

/* Service names per RFC 6335 5.1: letters, digits, '-'; our keywords too. */
static bool valid_name(const char *s)
{
	if (!isalpha((unsigned char)s[0]))
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.' && *p != '+')
			return false;
	return true;
}

static int lookup_name(const char *s, uint16_t *ret)
{
	struct servent *se;

	for (size_t i = 0; i < PW_ELEMENTSOF(common_ports); i++)
		if (strcmp(common_ports[i].name, s) == 0) {
			*ret = common_ports[i].port;
			return 0;
		}
	/* getservbyname() is not thread-safe; config loading is single-threaded. */
	se = getservbyname(s, "tcp");
	if (!se || ntohs((uint16_t)se->s_port) == 0)
		return -ENOENT;
	*ret = ntohs((uint16_t)se->s_port);
	return 0;
}

/* Checked before any form is tried, so the reason names the real mistake. */
static int check_spec(const char *spec, const char **reason)
{
	if (!spec || !*spec)
		return fail(reason, "empty port spec", -EINVAL);
	if (strnlen(spec, PW_PORT_SPEC_MAX + 1) > PW_PORT_SPEC_MAX)
		return fail(reason, "port spec too long", -EINVAL);
	for (const char *p = spec; *p; p++) {
		if (isspace((unsigned char)*p))
			return fail(reason, "whitespace in port spec", -EINVAL);
		if (*p == ',')
			return fail(reason, "comma in port spec (give one spec per list element)",
				    -EINVAL);
	}
	return 0;
}

static int parse_range(const char *spec, struct pw_iset *set, const char **reason)
{
	const char *dash;
	uint16_t lo, hi;
	int r;

	dash = strchr(spec, '-');
	if (!dash) {
		r = parse_port(spec, strlen(spec), &lo, reason);
		if (r < 0)
			return r;
		return pw_iset_add(set, lo, lo);
	}
	r = parse_port(spec, (size_t)(dash - spec), &lo, reason);
	if (r < 0)
		return r;
	if (dash[1] == '\0')
		return fail(reason, "range without an upper end", -EINVAL);
	r = parse_port(dash + 1, strlen(dash + 1), &hi, reason);
	if (r < 0)
		return r;
	if (lo > hi)
		return fail(reason, "reversed port range (low end above high end)", -ERANGE);
	return pw_iset_add(set, lo, hi);
}

int pw_ports_parse(const char *spec, struct pw_iset *set, const char **reason)
{
	uint16_t lo;
	int r;

	r = check_spec(spec, reason);
	if (r < 0)
		return r;

	if (strcmp(spec, "all") == 0)
		return pw_iset_add(set, PW_PORT_MIN, PW_PORT_MAX);
	if (strcmp(spec, "well-known") == 0)
		return pw_iset_add(set, PW_PORT_MIN, 1023);
	if (strcmp(spec, "common") == 0) {
		struct pw_iset c = PW_ISET_INIT;

		r = pw_ports_common(&c);
		if (r >= 0)
			r = pw_iset_add_set(set, &c);
		pw_iset_done(&c);
		return r;
	}

	if (!isdigit((unsigned char)spec[0])) {
		if (spec[0] == '-' || spec[0] == '+')
			return fail(reason, "negative or signed port number", -ERANGE);
		if (!valid_name(spec))
			return fail(reason, "not a port, range or service name", -EINVAL);
		if (lookup_name(spec, &lo) < 0)
			return fail(
				reason,
				"unknown service name (not in the common list or /etc/services)",
				-EINVAL);
		return pw_iset_add(set, lo, lo);
	}
	return parse_range(spec, set, reason);
}
