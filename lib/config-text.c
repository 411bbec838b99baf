/* SPDX-License-Identifier: MIT */

/*
 * The text of the file being parsed, indexed once: libconfig names only a
 * line, and the checks that go back to the text (where an error belongs,
 * what a number really said) look lines up by number. Walking the file
 * from its first byte for each lookup made a long file quadratic.
 */

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "config-internal.h"

void pw_config_text_init(struct pw_config_text *t, const char *text)
{
	*t = (struct pw_config_text){ .text = text, .len = text ? strlen(text) : 0 };
}

void pw_config_text_done(struct pw_config_text *t)
{
	free(t->line_start);
	free(t->tok);
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

/* ------------------------------------------------------------ scalar tokens */

/*
 * Where each scalar value of the file was written. libconfig 1.5 gives a
 * setting only a line (and a list's last element the line of the token
 * after it), and reads an integer without L into 32 bits: to judge
 * "4294967376" in "[ 22, 80, 4294967376 ]" we need its own text. The file
 * is lexed once; a pre-order walk of the tree meets the scalars in the
 * order they were written, and each gets its token as libconfig's hook.
 */

static bool is_name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '*' || ch == '-';
}

static int push_token(struct pw_config_text *t, size_t off, size_t len, int line, char kind)
{
	if (t->n_tok == t->cap_tok) {
		size_t cap = t->cap_tok ? t->cap_tok * 2 : 64;
		struct pw_config_token *v = realloc(t->tok, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->tok = v;
		t->cap_tok = cap;
	}
	t->tok[t->n_tok++] = (struct pw_config_token){ (uint32_t)off, (uint32_t)len, line, kind };
	return 0;
}

/* Past a comment, string or @include starting at i; 0 if none starts there. */
static size_t skip_span(const char *s, size_t i, bool line_start, int *line)
{
	const char *end = NULL, *p = s + i;

	if (*p == '#' || (p[0] == '/' && p[1] == '/'))
		end = strchrnul(p, '\n');
	else if (p[0] == '/' && p[1] == '*')
		end = (end = strstr(p + 2, "*/")) ? end + 2 : p + strlen(p);
	else if (*p == '"') {
		for (end = p + 1; *end && *end != '"'; end += end[0] == '\\' && end[1] ? 2 : 1)
			;
		end += *end == '"';
	} else if (line_start && strncmp(p, "@include", 8) == 0) {
		/* the included file's settings carry its name: no token here */
		end = p + 8 + strspn(p + 8, " \t");
		if (*end == '"')
			return skip_span(s, (size_t)(end - s), false, line);
	}
	if (!end)
		return 0;
	for (const char *q = p; (q = memchr(q, '\n', (size_t)(end - q))); q++)
		(*line)++;
	return (size_t)(end - s);
}

static char number_kind(const char *p, size_t n)
{
	if (memchr(p, 'x', n) || memchr(p, 'X', n))
		return 'i';
	return memchr(p, '.', n) || memchr(p, 'e', n) || memchr(p, 'E', n) ? 'f' : 'i';
}

/* From s[i], a number, a name or a punctuation mark: its end and kind (0: not a value). */
static size_t lex_word(const char *s, size_t i, char *ret_kind)
{
	size_t j = i + 1;

	*ret_kind = 0;
	if (isdigit((unsigned char)s[i]) || strchr("-+.", s[i])) {
		while (is_name_char(s[j]) || s[j] == '.' ||
		       ((s[j] == '-' || s[j] == '+') && (s[j - 1] == 'e' || s[j - 1] == 'E')))
			j++;
		*ret_kind = number_kind(s + i, j - i);
	} else if (is_name_char(s[i])) {
		while (is_name_char(s[j]))
			j++;
		if ((j - i == 4 && strncasecmp(s + i, "true", 4) == 0) ||
		    (j - i == 5 && strncasecmp(s + i, "false", 5) == 0))
			*ret_kind = 'b';
	}
	return j;
}

/* The scalar tokens of t->text, in order ('i'nteger, 'f'loat, 'b'oolean, 's'tring). */
static int lex(struct pw_config_text *t)
{
	const char *s = t->text;
	bool after_string = false, line_start = true;
	int line = 1, l0;
	size_t i = 0, j;
	char kind;

	while (s[i]) {
		if (strchr(" \t\r\f\n", s[i])) {
			line += s[i] == '\n';
			line_start = line_start || s[i] == '\n';
			i++;
			continue;
		}
		l0 = line;
		j = skip_span(s, i, line_start, &line);
		line_start = false;
		if (j > i && s[i] == '"') {
			/* "a" "b" is one string: its first part stands for it */
			if (!after_string && push_token(t, i, j - i, l0, 's') < 0)
				return -ENOMEM;
			after_string = true;
		} else if (j > i) {
			after_string = after_string && s[i] != '@'; /* comments do not count */
		} else {
			j = lex_word(s, i, &kind);
			if (kind && push_token(t, i, j - i, line, kind) < 0)
				return -ENOMEM;
			after_string = false;
		}
		i = j;
	}
	return 0;
}

static bool kind_fits(char kind, int type)
{
	switch (type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return kind == 'i';
	case CONFIG_TYPE_FLOAT:
		return kind == 'f';
	case CONFIG_TYPE_BOOL:
		return kind == 'b';
	case CONFIG_TYPE_STRING:
		return kind == 's';
	}
	return false;
}

/* Pre-order, as written; settings from an @include file are not in this text. */
static bool attach(struct pw_config_text *t, config_setting_t *s, size_t *k)
{
	int n, type = config_setting_type(s);

	if (config_setting_source_file(s))
		return true;
	if (type == CONFIG_TYPE_GROUP || type == CONFIG_TYPE_LIST || type == CONFIG_TYPE_ARRAY) {
		n = config_setting_length(s);
		for (int i = 0; i < n; i++)
			if (!attach(t, config_setting_get_elem(s, (unsigned)i), k))
				return false;
		return true;
	}
	if (*k >= t->n_tok || !kind_fits(t->tok[*k].kind, type))
		return false;
	config_setting_set_hook(s, &t->tok[(*k)++]);
	return true;
}

/* Deep nesting: libconfig itself stops at its parser's stack depth. */
void pw_config_text_attach(struct pw_config_text *t, config_setting_t *root)
{
	size_t k = 0;

	t->tok_ok = t->text && lex(t) >= 0 && attach(t, root, &k) && k == t->n_tok;
}

/* The token s was read from, or NULL (an @include file, or the lexer and
 * libconfig disagree: then no setting is trusted to its token). */
const struct pw_config_token *pw_config_token_of(const struct pw_config_text *t,
						 const config_setting_t *s)
{
	if (!t || !t->tok_ok || config_setting_source_file(s))
		return NULL;
	return config_setting_get_hook(s);
}
