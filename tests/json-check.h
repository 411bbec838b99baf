/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A validating JSON parser for the tests (RFC 8259): exactly one value,
 * surrounded by optional whitespace; strings are valid UTF-8 without raw
 * control characters and with valid escapes (surrogates paired); numbers
 * in the RFC's grammar; nesting limited to 64 levels. It builds nothing:
 * the tests compare the text against golden files and only need to know
 * that a real parser accepts it. Header-only, all static, so a test
 * program and tests/helpers/pw-json-check share it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct json_check {
	const char *p, *end;
	const char *error; /* what is wrong, at p */
	int depth;
};

static bool json_fail(struct json_check *j, const char *why)
{
	if (!j->error)
		j->error = why;
	return false;
}

static void json_ws(struct json_check *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool json_lit(struct json_check *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return json_fail(j, "bad literal");
	j->p += n;
	return true;
}

static int json_hex4(struct json_check *j)
{
	int v = 0;

	if (j->end - j->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = *j->p++;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* One UTF-8 sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
static bool json_utf8(struct json_check *j)
{
	const unsigned char *s = (const unsigned char *)j->p;
	size_t left = (size_t)(j->end - j->p);
	unsigned cp, n;

	if (s[0] < 0x80)
		n = 1, cp = s[0];
	else if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return json_fail(j, "invalid UTF-8");
	if (left < n)
		return json_fail(j, "truncated UTF-8");
	for (unsigned i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return json_fail(j, "invalid UTF-8");
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return json_fail(j, "invalid UTF-8");
	j->p += n;
	return true;
}

static bool json_string(struct json_check *j)
{
	j->p++; /* the opening quote */
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p;

		if (c == '"') {
			j->p++;
			return true;
		}
		if (c < 0x20)
			return json_fail(j, "control character in string");
		if (c != '\\') {
			if (!json_utf8(j))
				return false;
			continue;
		}
		if (++j->p >= j->end)
			break;
		c = (unsigned char)*j->p++;
		if (c == 'u') {
			int v = json_hex4(j);

			if (v < 0)
				return json_fail(j, "bad \\u escape");
			if (v >= 0xdc00 && v <= 0xdfff)
				return json_fail(j, "lone low surrogate");
			if (v >= 0xd800 && v <= 0xdbff) {
				if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u')
					return json_fail(j, "lone high surrogate");
				j->p += 2;
				v = json_hex4(j);
				if (v < 0xdc00 || v > 0xdfff)
					return json_fail(j, "lone high surrogate");
			}
		} else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
			return json_fail(j, "bad escape");
		}
	}
	return json_fail(j, "unterminated string");
}

static bool json_digits(struct json_check *j)
{
	const char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static bool json_number(struct json_check *j)
{
	if (*j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!json_digits(j))
		return json_fail(j, "bad number");
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!json_digits(j))
			return json_fail(j, "bad fraction");
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!json_digits(j))
			return json_fail(j, "bad exponent");
	}
	return true;
}

static bool json_value(struct json_check *j);

/* Members of an object (pairs) or elements of an array. */
static bool json_container(struct json_check *j, char close, bool pairs)
{
	if (++j->depth > 64)
		return json_fail(j, "nested too deep");
	j->p++;
	json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		if (pairs) {
			if (j->p >= j->end || *j->p != '"')
				return json_fail(j, "expected a member name");
			if (!json_string(j))
				return false;
			json_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return json_fail(j, "expected ':'");
			j->p++;
		}
		if (!json_value(j))
			return false;
		json_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			json_ws(j);
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
		return json_fail(j, pairs ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static bool json_value(struct json_check *j)
{
	json_ws(j);
	if (j->p >= j->end)
		return json_fail(j, "expected a value");
	switch (*j->p) {
	case '{':
		return json_container(j, '}', true);
	case '[':
		return json_container(j, ']', false);
	case '"':
		return json_string(j);
	case 't':
		return json_lit(j, "true");
	case 'f':
		return json_lit(j, "false");
	case 'n':
		return json_lit(j, "null");
	}
	if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
		return json_number(j);
	return json_fail(j, "unexpected character");
}

/* True if s[0..len) is one JSON document; else *ret_error, *ret_offset say why. */
static inline bool json_check(const char *s, size_t len, const char **ret_error, size_t *ret_offset)
{
	struct json_check j = { s, s + len, NULL, 0 };
	bool ok = json_value(&j);

	if (ok) {
		json_ws(&j);
		if (j.p != j.end)
			ok = json_fail(&j, "trailing data after the document");
	}
	if (!ok) {
		if (ret_error)
			*ret_error = j.error;
		if (ret_offset)
			*ret_offset = (size_t)(j.p - s);
	}
	return ok;
}
