/* SPDX-License-Identifier: MIT */

/*
 * The text of the file being parsed, indexed once: libconfig names only a
 * line, and the checks that go back to the text (where an error belongs,
 * what a number really said) look lines up by number. Walking the file
 * from its first byte for each lookup made a long file quadratic.
 */

#include <errno.h>
#include <string.h>

#include "config-internal.h"

void pw_config_text_init(struct pw_config_text *t, const char *text)
{
	*t = (struct pw_config_text){ .text = text, .len = text ? strlen(text) : 0 };
}

void pw_config_text_done(struct pw_config_text *t)
{
	free(t->line_start);
	*t = (struct pw_config_text){ 0 };
}

/* Built on first use: most files never need it, and a file of newlines would
 * cost 4 bytes per byte. Offsets fit 32 bits: files are capped at 16 MiB. */
static int build_index(struct pw_config_text *t)
{
	size_t n = 1, k = 0;

	if (t->line_start)
		return 0;
	if (t->no_index)
		return -ENOMEM;
	for (const char *p = t->text; (p = memchr(p, '\n', t->len - (size_t)(p - t->text))); p++)
		n++;
	t->line_start = malloc(n * sizeof(*t->line_start));
	if (!t->line_start) {
		t->no_index = true;
		return -ENOMEM;
	}
	t->line_start[k++] = 0;
	for (size_t i = 0; i < t->len; i++)
		if (t->text[i] == '\n')
			t->line_start[k++] = (uint32_t)(i + 1);
	t->n_lines = n;
	return 0;
}

/* Line l (1-based) without its newline, or NULL when there is no such line. */
const char *pw_config_text_line(struct pw_config_text *t, int l, size_t *ret_len)
{
	size_t start, end;

	if (!t || !t->text || l < 1 || build_index(t) < 0 || (size_t)l > t->n_lines)
		return NULL;
	start = t->line_start[l - 1];
	end = (size_t)l < t->n_lines ? t->line_start[l] - 1 : t->len;
	*ret_len = end - start;
	return t->text + start;
}

/*
 * config_setting_index() walks the parent's whole list in libconfig 1.5:
 * asked for each element of a long list, that is quadratic. The parsers
 * visit elements in order, so the last answer's neighbour is usually it.
 */
int pw_config_elem_index(struct pw_config_text *t, const config_setting_t *s)
{
	const config_setting_t *parent = config_setting_parent(s);
	int idx = -1;

	if (t && parent && parent == t->last_list)
		for (int i = t->last_idx; idx < 0 && i <= t->last_idx + 1; i++)
			if (i >= 0 && config_setting_get_elem(parent, (unsigned)i) == s)
				idx = i;
	if (idx < 0)
		idx = config_setting_index(s);
	if (t) {
		t->last_list = parent;
		t->last_idx = idx;
	}
	return idx;
}
