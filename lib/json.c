/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "json.h"

/* Length of the valid UTF-8 sequence at p (RFC 3629), 0 if it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned cp;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	/* a NUL is no continuation byte: never reads past the string */
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void pw_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		default:
			if (*p < 0x20) {
				fprintf(f, "\\u%04x", *p);
			} else {
				/* JSON text is UTF-8 (RFC 8259 section 8.1): a byte
				 * that is not becomes U+FFFD */
				size_t n = utf8_len(p);

				if (n == 0)
					fputs("\\ufffd", f);
				else
					fwrite(p, 1, n, f);
				p += n ? n - 1 : 0;
			}
		}
	}
	fputc('"', f);
}

void pw_json_init(struct pw_json *j, FILE *f)
{
	*j = (struct pw_json){ .f = f };
}

/* The first misuse is the one to report: the rest usually follow from it. */
static bool fail(struct pw_json *j)
{
	if (j->error == 0)
		j->error = -EINVAL;
	return false;
}

static void newline(struct pw_json *j, unsigned depth)
{
	fprintf(j->f, "\n%*s", (int)(2 * depth), "");
}

/*
 * Once per member (at its key) or element: a member's value follows its key
 * with nothing between, so keys and elements alone decide the commas.
 */
static void separate(struct pw_json *j)
{
	struct pw_json_level *l = &j->level[j->depth - 1];

	switch (l->layout) {
	case PW_JSON_COMPACT:
		if (l->any)
			fputc(',', j->f);
		break;
	case PW_JSON_INLINE:
		if (l->any)
			fputs(", ", j->f);
		break;
	case PW_JSON_LINES:
	case PW_JSON_BLOCK:
		if (l->any)
			fputc(',', j->f);
		newline(j, j->depth);
		break;
	}
	l->any = true;
}

/* Everything a value needs before it, or false if no value may come here. */
static bool value_start(struct pw_json *j)
{
	if (j->error)
		return false;
	if (j->depth == 0) {
		if (j->top_done)
			return fail(j);
		return true;
	}
	if (j->level[j->depth - 1].object) {
		if (!j->key_done)
			return fail(j);
		j->key_done = false;
		return true;
	}
	separate(j);
	return true;
}

static void value_end(struct pw_json *j)
{
	if (j->depth == 0)
		j->top_done = true;
}

void pw_json_key(struct pw_json *j, const char *key)
{
	if (j->error)
		return;
	if (j->depth == 0 || !j->level[j->depth - 1].object || j->key_done) {
		fail(j);
		return;
	}
	separate(j);
	pw_json_string(j->f, key);
	fputs(j->level[j->depth - 1].layout == PW_JSON_COMPACT ? ":" : ": ", j->f);
	j->key_done = true;
}

static void begin(struct pw_json *j, bool object, enum pw_json_layout layout)
{
	if (!value_start(j))
		return;
	if (j->depth == PW_JSON_DEPTH_MAX) {
		fail(j);
		return;
	}
	fputc(object ? '{' : '[', j->f);
	j->level[j->depth++] = (struct pw_json_level){ .layout = layout, .object = object };
}

static void end(struct pw_json *j, bool object)
{
	const struct pw_json_level *l;

	if (j->error)
		return;
	if (j->depth == 0 || j->level[j->depth - 1].object != object || j->key_done) {
		fail(j);
		return;
	}
	l = &j->level[--j->depth];
	if (l->layout == PW_JSON_BLOCK || (l->layout == PW_JSON_LINES && l->any))
		newline(j, j->depth);
	fputc(object ? '}' : ']', j->f);
	value_end(j);
}

void pw_json_begin_object(struct pw_json *j, enum pw_json_layout layout)
{
	begin(j, true, layout);
}

void pw_json_end_object(struct pw_json *j)
{
	end(j, true);
}

void pw_json_begin_array(struct pw_json *j, enum pw_json_layout layout)
{
	begin(j, false, layout);
}

void pw_json_end_array(struct pw_json *j)
{
	end(j, false);
}

void pw_json_str(struct pw_json *j, const char *s)
{
	if (!s) {
		pw_json_null(j);
		return;
	}
	if (!value_start(j))
		return;
	pw_json_string(j->f, s);
	value_end(j);
}

void pw_json_int(struct pw_json *j, int64_t v)
{
	pw_json_raw(j, "%" PRId64, v);
}

void pw_json_uint(struct pw_json *j, uint64_t v)
{
	pw_json_raw(j, "%" PRIu64, v);
}

void pw_json_bool(struct pw_json *j, bool v)
{
	pw_json_raw(j, "%s", v ? "true" : "false");
}

void pw_json_null(struct pw_json *j)
{
	pw_json_raw(j, "null");
}

void pw_json_raw(struct pw_json *j, const char *fmt, ...)
{
	va_list ap;

	if (!value_start(j))
		return;
	va_start(ap, fmt);
	vfprintf(j->f, fmt, ap);
	va_end(ap);
	value_end(j);
}

int pw_json_done(const struct pw_json *j)
{
	if (j->error)
		return j->error;
	return j->top_done ? 0 : -EINVAL;
}
