/* SPDX-License-Identifier: MIT */

/*
 * One setting's value: the scalars of the key tables (durations, counts,
 * shares, strings, log levels), the relations between tunables, and the
 * target and port spec lists. Each error is reported where it was written;
 * nothing here knows which group a setting sits in.
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "log.h"
#include "ports.h"
#include "targets.h"
#include "config-internal.h"

/* ------------------------------------------------------------ scalar values */

/*
 * An integer token as written ([-+]digits or 0x hex, optional L or LL):
 * its exact magnitude; false if it does not fit 64 bits.
 */
static bool token_number(const char *p, size_t n, bool *ret_neg, unsigned long long *ret_mag,
			 bool *ret_hex, bool *ret_long)
{
	const char *end = p + n;
	unsigned long long mag = 0;
	bool neg = *p == '-', hex;

	p += *p == '-' || *p == '+';
	hex = end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	p += hex ? 2 : 0;
	*ret_neg = neg; /* sign, base and suffix even when it does not fit */
	*ret_hex = hex;
	*ret_long = end > p && (end[-1] == 'L' || end[-1] == 'l');
	end -= *ret_long ? (end - p > 1 && (end[-2] == 'L' || end[-2] == 'l') ? 2 : 1) : 0;
	for (; p < end; p++) {
		unsigned d = isdigit((unsigned char)*p) ? (unsigned)(*p - '0')
			     : hex ? (unsigned)(tolower((unsigned char)*p) - 'a' + 10)
				   : 99;

		if (d >= (hex ? 16u : 10u) || mag > (ULLONG_MAX - d) / (hex ? 16 : 10))
			return false;
		mag = mag * (hex ? 16 : 10) + d;
	}
	*ret_mag = mag;
	return true;
}

/*
 * Judge value v of s by its own token: libconfig 1.5 reads an integer
 * without L into 32 bits (4294967376 becomes 80, 0x100000064 becomes 100)
 * and saturates beyond 64. Returns 1 if the text says v, 0 if not, -1 if
 * the token cannot be what libconfig read (then the caller falls back).
 */
static int token_says(const struct pw_config_token *tok, const char *text, long long v)
{
	unsigned long long mag = 0, as_read;
	bool neg = false, hex = false, is_long = false, fits;

	if (!tok || tok->kind != 'i')
		return -1;
	fits = token_number(text + tok->off, tok->len, &neg, &mag, &hex, &is_long);
	/* what libconfig made of it: strtol/strtoul saturate, then int */
	if (hex)
		as_read = fits ? mag : ULLONG_MAX;
	else if (!fits || mag > (neg ? 1ULL << 63 : (unsigned long long)LLONG_MAX))
		as_read = neg ? 1ULL << 63 : (unsigned long long)LLONG_MAX;
	else
		as_read = neg ? 0 - mag : mag;
	if (!is_long)
		as_read = (unsigned long long)(long long)(int)(unsigned)as_read;
	if ((long long)as_read != v)
		return -1;
	return fits && (neg ? v <= 0 && 0 - (unsigned long long)v == mag
			    : v >= 0 && (unsigned long long)v == mag);
}

/* Without a token (a file read by @include): the value's text on the setting's line or next to it. */
static bool int_truncated(const struct ctx *c, const config_setting_t *s)
{
	char needle[32];
	int line, says;

	if (!c->src)
		return false;
	says = token_says(pw_config_token_of(c->src, s), c->src->text, config_setting_get_int64(s));
	if (says >= 0)
		return says == 0;
	if (config_setting_source_file(s) || config_setting_get_format(s) == CONFIG_FORMAT_HEX)
		return false;
	line = pw_config_refine_line(c, s, pw_config_setting_line(s));
	if (line <= 0)
		return false;
	snprintf(needle, sizeof(needle), "%lld", config_setting_get_int64(s));
	for (int l = line > 1 ? line - 1 : 1; l <= line + 1; l++)
		if (pw_config_line_has(c->src, l, needle, true))
			return false;
	return true;
}

static bool int_ok(struct ctx *c, const config_setting_t *s, const char *key)
{
	if (!int_truncated(c, s))
		return true;
	pw_config_error_at(c, s, "\"%s\": integer out of range (libconfig reads it as %lld)", key,
			   config_setting_get_int64(s));
	return false;
}

static bool get_uint(struct ctx *c, const config_setting_t *s, const char *key, uint64_t min,
		     uint64_t max, uint64_t *ret)
{
	long long v;

	if (!pw_config_is_int(s)) {
		pw_config_error_at(c, s, "\"%s\" must be an integer, not %s", key,
				   pw_config_type_name(config_setting_type(s)));
		return false;
	}
	if (!int_ok(c, s, key))
		return false;
	v = config_setting_get_int64(s);
	if (v < 0 || (unsigned long long)v < min || (unsigned long long)v > max) {
		pw_config_error_at(c, s, "\"%s\" must be between %llu and %llu, got %lld", key,
				   (unsigned long long)min, (unsigned long long)max, v);
		return false;
	}
	*ret = (uint64_t)v;
	return true;
}

/* A size: an integer of bytes, or a string such as "512M" or "4G". */
static bool get_size(struct ctx *c, const config_setting_t *s, const struct key *k, uint64_t *ret)
{
	char lo[32];
	uint64_t v;

	if (pw_config_is_int(s)) {
		if (!get_uint(c, s, k->name, 0, INT64_MAX, &v))
			return false;
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *str = config_setting_get_string(s);

		if (pw_parse_size(str, &v) < 0) {
			pw_config_error_at(
				c, s,
				"\"%s\": \"%.40s\" is not a size (bytes, or a number with K, M, G or T, as in \"4G\")",
				k->name, str);
			return false;
		}
	} else {
		pw_config_error_at(c, s, "\"%s\" must be a size such as \"4G\", not %s", k->name,
				   pw_config_type_name(config_setting_type(s)));
		return false;
	}
	if (v < k->min || v > k->max) {
		pw_config_error_at(c, s, "\"%s\" must be at least %s", k->name,
				   pw_format_size(lo, sizeof(lo), k->min));
		return false;
	}
	*ret = v;
	return true;
}

bool pw_config_get_duration(struct ctx *c, const config_setting_t *s, const char *key, uint64_t min,
			    uint64_t max, uint64_t *ret)
{
	char a[64], b[64], g[64];
	uint64_t v;

	if (pw_config_is_int(s)) {
		long long n = config_setting_get_int64(s);

		if (!int_ok(c, s, key))
			return false;
		if (n < 0) {
			pw_config_error_at(c, s, "\"%s\" must not be negative, got %lld", key, n);
			return false;
		}
		if ((unsigned long long)n > UINT64_MAX / USEC_PER_SEC) {
			pw_config_error_at(c, s, "\"%s\" is far too long: %lld seconds", key, n);
			return false;
		}
		v = (uint64_t)n * USEC_PER_SEC;
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *str = config_setting_get_string(s);
		int r = pw_parse_duration(str, &v);

		if (r == -ERANGE) {
			pw_config_error_at(c, s, "\"%s\" is far too long: \"%.40s\"", key, str);
			return false;
		}
		if (r < 0) {
			pw_config_error_at(
				c, s,
				"\"%s\": \"%.40s\" is not a duration (write e.g. \"90s\", \"15m\", \"1h30m\", \"250ms\")",
				key, str);
			return false;
		}
	} else {
		pw_config_error_at(
			c, s,
			"\"%s\" must be a duration string such as \"15m\" or a number of seconds, not %s",
			key, pw_config_type_name(config_setting_type(s)));
		return false;
	}
	if (v < min || v > max) {
		pw_config_error_at(c, s, "\"%s\" must be between %s and %s, got %s", key,
				   pw_format_duration(a, sizeof(a), min),
				   pw_format_duration(b, sizeof(b), max),
				   pw_format_duration(g, sizeof(g), v));
		return false;
	}
	*ret = v;
	return true;
}

/* A share: a float in [0, 1], the integers 0 and 1, or a string "80%". */
static bool get_share(struct ctx *c, const config_setting_t *s, const char *key, double *ret)
{
	double v;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		if (!int_ok(c, s, key))
			return false;
		v = (double)config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_STRING: {
		const char *str = config_setting_get_string(s);
		size_t len = strlen(str);
		char *end;

		if (len < 2 || str[len - 1] != '%' || !isdigit((unsigned char)str[0])) {
			pw_config_error_at(
				c, s, "\"%s\": \"%.40s\" is not a share (write 0.8 or \"80%%\")",
				key, str);
			return false;
		}
		errno = 0;
		v = strtod(str, &end);
		if (errno || end != str + len - 1) {
			pw_config_error_at(
				c, s, "\"%s\": \"%.40s\" is not a share (write 0.8 or \"80%%\")",
				key, str);
			return false;
		}
		if (!(v >= 0.0 && v <= 100.0)) {
			pw_config_error_at(c, s,
					   "\"%s\" must be between 0%% and 100%%, got \"%.40s\"",
					   key, str);
			return false;
		}
		*ret = v / 100.0;
		return true;
	}
	default:
		pw_config_error_at(
			c, s,
			"\"%s\" must be a number between 0 and 1 or a percentage string, not %s",
			key, pw_config_type_name(config_setting_type(s)));
		return false;
	}
	if (!(v >= 0.0 && v <= 1.0)) {
		pw_config_error_at(
			c, s, "\"%s\" must be between 0 and 1 (or \"0%%\" to \"100%%\"), got %g",
			key, v);
		return false;
	}
	*ret = v;
	return true;
}

const char *pw_config_get_string(struct ctx *c, const config_setting_t *s, const char *key)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		pw_config_error_at(c, s, "\"%s\" must be a string, not %s", key,
				   pw_config_type_name(config_setting_type(s)));
		return NULL;
	}
	return config_setting_get_string(s);
}

/* A V_STRING value: it replaces (and frees) what the field held. */
static void parse_string_key(struct ctx *c, const config_setting_t *s, const struct key *k,
			     char *dst)
{
	const char *str = pw_config_get_string(c, s, k->name);

	if (str && !*str)
		pw_config_error_at(c, s, "\"%s\" must not be empty", k->name);
	else if (str && strlen(str) >= PATH_MAX)
		/* every string key is a path: say so here, not at open() */
		pw_config_error_at(c, s, "\"%s\" is %zu bytes long, longer than a path may be (%d)",
				   k->name, strlen(str), PATH_MAX - 1);
	else if (str && k->max && strlen(str) > k->max)
		pw_config_error_at(
			c, s, "\"%s\" is %zu bytes long, longer than a socket path may be (%llu)",
			k->name, strlen(str), (unsigned long long)k->max);
	else if (str) {
		char *old, *n = pw_config_strdup(c, str);

		memcpy(&old, dst, sizeof(old));
		free(old);
		memcpy(dst, &n, sizeof(n));
	}
}

/* Parse s as k into base + k->offset. */
void pw_config_parse_keyed(struct ctx *c, const config_setting_t *s, const struct key *k,
			   void *base)
{
	char *dst = (char *)base + k->offset;
	uint64_t u;
	double d;
	const char *str;

	switch (k->type) {
	case V_DURATION:
		if (pw_config_get_duration(c, s, k->name, k->min, k->max, &u))
			memcpy(dst, &u, sizeof(u));
		break;
	case V_UINT:
		if (get_uint(c, s, k->name, k->min, k->max, &u)) {
			unsigned v = (unsigned)u;

			memcpy(dst, &v, sizeof(v));
		}
		break;
	case V_SIZE:
		if (get_size(c, s, k, &u))
			memcpy(dst, &u, sizeof(u));
		break;
	case V_SHARE:
		if (get_share(c, s, k->name, &d))
			memcpy(dst, &d, sizeof(d));
		break;
	case V_STRING:
		parse_string_key(c, s, k, dst);
		break;
	case V_LOGLEVEL:
		str = pw_config_get_string(c, s, k->name);
		if (str) {
			int lvl = pw_log_level_from_string(str);

			if (lvl < 0)
				pw_config_error_at(
					c, s,
					"\"%s\": unknown level \"%.40s\" (use debug, info, notice, warning or err)",
					k->name, str);
			else
				memcpy(dst, &lvl, sizeof(lvl));
		}
		break;
	}
}

/* Relations between tunables; where names where they were set. */
void pw_config_check_tunables(struct ctx *c, const config_setting_t *where,
			      const struct tunables *t)
{
	char a[64], b[64], x[64];

	if (t->t.min_timeout_usec > t->t.max_timeout_usec)
		pw_config_error_at(c, where,
				   "\"min_rtt_timeout\" (%s) is above \"max_rtt_timeout\" (%s)",
				   pw_format_duration(a, sizeof(a), t->t.min_timeout_usec),
				   pw_format_duration(b, sizeof(b), t->t.max_timeout_usec));
	else if (t->t.initial_timeout_usec < t->t.min_timeout_usec ||
		 t->t.initial_timeout_usec > t->t.max_timeout_usec)
		pw_config_error_at(
			c, where,
			"\"timeout\" (%s) must lie between \"min_rtt_timeout\" (%s) and \"max_rtt_timeout\" (%s)",
			pw_format_duration(x, sizeof(x), t->t.initial_timeout_usec),
			pw_format_duration(a, sizeof(a), t->t.min_timeout_usec),
			pw_format_duration(b, sizeof(b), t->t.max_timeout_usec));
	/* max_retries = retries is how adaptation is turned off; below, one
	 * of the two is a mistake */
	if (t->t.max_retries < t->t.retries)
		pw_config_error_at(
			c, where,
			"\"max_retries\" (%u) is below \"retries\" (%u): set it to %u to turn loss adaptation off",
			t->t.max_retries, t->t.retries, t->t.retries);
	if (t->jitter > t->interval)
		pw_config_error_at(c, where, "\"jitter\" (%s) is longer than \"interval\" (%s)",
				   pw_format_duration(a, sizeof(a), t->jitter),
				   pw_format_duration(b, sizeof(b), t->interval));
	/* A changed port waits confirm x confirm_spacing: longer than the
	 * interval, every run would overrun into the next and be skipped. */
	else if ((uint64_t)t->t.confirm_count * t->t.confirm_spacing_usec >= t->interval)
		pw_config_error_at(
			c, where,
			"\"confirm\" x \"confirm_spacing\" (%u x %s) is not shorter than \"interval\" (%s)",
			t->t.confirm_count,
			pw_format_duration(a, sizeof(a), t->t.confirm_spacing_usec),
			pw_format_duration(b, sizeof(b), t->interval));
}

/* ------------------------------------------------------------ spec lists */

void pw_config_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

bool pw_config_strv_push(struct ctx *c, struct strv *sv, const char *s)
{
	char **v;

	for (size_t i = 0; i < sv->n; i++)
		if (strcasecmp(sv->v[i], s) == 0)
			return true; /* DNS names are case-insensitive: keep one */
	v = realloc(sv->v, (sv->n + 2) * sizeof(*v));
	if (!v) {
		c->oom = true;
		return false;
	}
	sv->v = v;
	v[sv->n] = pw_config_strdup(c, s);
	if (!v[sv->n])
		return false;
	v[++sv->n] = NULL;
	return true;
}

static void one_spec(struct ctx *c, const config_setting_t *s, const char *key, enum spec_kind kind,
		     const char *spec, struct spec_out *out)
{
	const char *why = NULL;
	enum pw_target_kind tk;
	int r = 0; /* each case sets it; gcc cannot see that kind is one of them */

	switch (kind) {
	case SPEC_PORTS:
		r = pw_ports_parse(spec, &out->one, &why);
		break;
	case SPEC_TARGETS:
	case SPEC_EXCLUDE:
		r = pw_target_parse(spec, &out->one, &tk, &why);
		if (r >= 0 && tk == PW_TARGET_HOSTNAME) {
			if (kind == SPEC_EXCLUDE) {
				pw_config_error_at(
					c, s,
					"%s \"%.80s\": hostnames cannot be excluded, only addresses",
					key, spec);
				return;
			}
			if (out->names->n >= PW_CONFIG_MAX_HOSTNAMES_PER_JOB) {
				pw_config_error_at(c, s, "%s: more than %d hostnames", key,
						   PW_CONFIG_MAX_HOSTNAMES_PER_JOB);
				return;
			}
			pw_config_strv_push(c, out->names, spec);
		}
		break;
	}
	if (r >= 0)
		r = pw_iset_batch_add_set(&out->batch, &out->one);
	out->one.n = 0;
	if (r == -ENOMEM)
		c->oom = true;
	else if (r < 0)
		pw_config_error_at(c, s, "%s \"%.80s%s\": %s", key, spec,
				   strlen(spec) > 80 ? "..." : "", why);
}

/* One string element: a spec, or several separated by commas. */
static void string_specs(struct ctx *c, const config_setting_t *s, const char *key,
			 enum spec_kind kind, const char *str, struct spec_out *out)
{
	char *copy = pw_config_strdup(c, str), *p, *next;

	if (!copy)
		return;
	for (p = copy; p; p = next) {
		char *end;

		next = strchr(p, ',');
		if (next)
			*next++ = '\0';
		while (isspace((unsigned char)*p))
			p++;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*p) {
			pw_config_error_at(c, s, "%s: empty element in \"%.80s\"", key, str);
			continue;
		}
		one_spec(c, s, key, kind, p, out);
	}
	free(copy);
}

static void spec_list(struct ctx *c, const config_setting_t *s, const char *key,
		      enum spec_kind kind, struct spec_out *out)
{
	int n = config_setting_length(s);

	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) == CONFIG_TYPE_STRING)
			string_specs(c, e, key, kind, config_setting_get_string(e), out);
		else if (kind == SPEC_PORTS && pw_config_is_int(e)) {
			char buf[32];

			if (!int_ok(c, e, key))
				continue;
			snprintf(buf, sizeof(buf), "%lld", config_setting_get_int64(e));
			one_spec(c, e, key, kind, buf, out);
		} else
			pw_config_error_at(c, e, "\"%s\": element %d must be a string%s, not %s",
					   key, i + 1,
					   kind == SPEC_PORTS ? " or a port number" : "",
					   pw_config_type_name(config_setting_type(e)));
	}
}

static size_t specs(struct ctx *c, const config_setting_t *s, const char *key, enum spec_kind kind,
		    struct spec_out *out)
{
	const char *what = kind == SPEC_PORTS ? "port specs" : "target specs";

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		string_specs(c, s, key, kind, config_setting_get_string(s), out);
		return 1;
	}
	if (kind == SPEC_PORTS && pw_config_is_int(s)) {
		char buf[32];

		if (!int_ok(c, s, key))
			return 0;
		snprintf(buf, sizeof(buf), "%lld", config_setting_get_int64(s));
		one_spec(c, s, key, kind, buf, out);
		return 1;
	}
	if (!pw_config_is_list(s)) {
		pw_config_error_at(c, s, "\"%s\" must be a list of %s, not %s", key, what,
				   pw_config_type_name(config_setting_type(s)));
		return 0;
	}
	spec_list(c, s, key, kind, out);
	return (size_t)config_setting_length(s);
}

/*
 * A spec setting: one string, or a list/array of strings (and of integers
 * for ports). Returns the number of specs seen. The specs are merged into
 * out->set at the end, at once: one insert at a time was quadratic.
 */
size_t pw_config_parse_specs(struct ctx *c, const config_setting_t *s, const char *key,
			     enum spec_kind kind, struct spec_out *out)
{
	size_t n = specs(c, s, key, kind, out);

	if (pw_iset_batch_apply(&out->batch, out->set) < 0)
		c->oom = true;
	pw_iset_done(&out->one);
	pw_iset_batch_done(&out->batch);
	return n;
}
