/* SPDX-License-Identifier: MIT */

/*
 * Errors: the pw_diag list a load fills, and pw_config_error_at(), which
 * puts each message at the file and line it is about (working around
 * libconfig 1.5's line numbers), so every parser reports the same way.
 */

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "config-internal.h"

/* ------------------------------------------------------------ diagnostics */

void pw_diag_done(struct pw_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	*d = (struct pw_diag)PW_DIAG_INIT;
}

static int diag_addv(struct pw_diag *d, bool force, const char *fmt, va_list ap)
{
	char *m;

	if (d->n >= PW_DIAG_MAX && !force) {
		d->dropped++;
		return 0;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		char **v = realloc(d->msgs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->msgs = v;
		d->cap = cap;
	}
	if (vasprintf(&m, fmt, ap) < 0)
		return -ENOMEM;
	d->msgs[d->n++] = m;
	return 0;
}

int pw_diag_add(struct pw_diag *d, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = diag_addv(d, false, fmt, ap);
	va_end(ap);
	return r;
}

static int diag_force(struct pw_diag *d, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = diag_addv(d, true, fmt, ap);
	va_end(ap);
	return r;
}

int pw_diag_finish(struct pw_diag *d)
{
	size_t n = d->dropped;

	if (n == 0)
		return 0;
	d->dropped = 0;
	return diag_force(d, "... and %zu more error%s", n, n == 1 ? "" : "s");
}

/* ------------------------------------------------------------ context */

bool pw_config_is_int(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT ||
	       config_setting_type(s) == CONFIG_TYPE_INT64;
}

bool pw_config_is_list(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_LIST ||
	       config_setting_type(s) == CONFIG_TYPE_ARRAY;
}

int pw_config_setting_line(const config_setting_t *s)
{
	for (; s; s = config_setting_parent(s))
		if (config_setting_source_line(s) > 0)
			return config_setting_source_line(s);
	return 0;
}

/* Does line number l of the text contain needle (a number: not inside a longer one)? */
bool pw_config_line_has(struct pw_config_text *t, int l, const char *needle, bool number)
{
	size_t n = strlen(needle), len;
	const char *p = pw_config_text_line(t, l, &len), *end;

	if (!p)
		return false;
	end = p + len;
	for (const char *q = p; q + n <= end; q++)
		if (memcmp(q, needle, n) == 0 &&
		    (!number || ((q == p || !isdigit((unsigned char)q[-1])) &&
				 (q + n == end || !isdigit((unsigned char)q[n])))))
			return true;
	return false;
}

/*
 * libconfig 1.5 numbers a list element from its parser's lookahead, so the
 * last element of a list whose ']' or ')' is on a later line gets that
 * later line. Look back, as far as the previous element, for the line that
 * holds the value.
 */
int pw_config_refine_line(const struct ctx *c, const config_setting_t *s, int line)
{
	const config_setting_t *parent = s ? config_setting_parent(s) : NULL;
	char needle[256];
	bool number = false;
	int idx, lo;

	if (!c->src || !parent || !pw_config_is_list(parent) || config_setting_source_file(s))
		return line;
	if (pw_config_token_of(c->src, s))
		return pw_config_token_of(c->src, s)->line; /* where it was written */
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(s);

		/* strnlen: a 10 MB string must not be measured per error */
		if (strnlen(v, sizeof(needle)) + 3 > sizeof(needle) || strpbrk(v, "\"\\"))
			return line;
		snprintf(needle, sizeof(needle), "\"%s\"", v);
	} else if (pw_config_is_int(s)) {
		snprintf(needle, sizeof(needle), "%lld", config_setting_get_int64(s));
		number = true;
	} else
		return line;
	idx = pw_config_elem_index(c->src, s);
	lo = idx > 0 ? pw_config_setting_line(config_setting_get_elem(parent, (unsigned)idx - 1))
		     : pw_config_setting_line(parent);
	for (int l = line; l >= lo && l > 0; l--)
		if (pw_config_line_has(c->src, l, needle, number))
			return l;
	return line;
}

void pw_config_error_at(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	const char *file = (s ? config_setting_source_file(s) : NULL) ?: c->file;
	int line = pw_config_refine_line(c, s, pw_config_setting_line(s));
	char *text = NULL;
	va_list ap;
	int r;

	c->errors++;
	if (c->diag->n >= PW_DIAG_MAX) {
		c->diag->dropped++; /* counted, not formatted nor placed: it stays cheap */
		return;
	}
	va_start(ap, fmt);
	r = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (r < 0) {
		c->oom = true;
		return;
	}
	if (line > 0)
		r = pw_diag_add(c->diag, "%s:%d: %s%s", file, line, c->label, text);
	else
		r = pw_diag_add(c->diag, "%s: %s%s", file, c->label, text);
	if (r < 0)
		c->oom = true;
	free(text);
}

char *pw_config_strdup(struct ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		c->oom = true;
	return d;
}

const char *pw_config_type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "nothing";
}
