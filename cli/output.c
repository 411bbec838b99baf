/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "output.h"
#include "util.h"

/* ------------------------------------------------------------------ tables */

struct cell {
	bool set;
	int64_t v;
	char *s;
};

struct pw_cli_table {
	const struct pw_cli_column *cols;
	size_t n_cols;
	struct cell *cells; /* n_rows * n_cols; streaming: the one row being filled */
	size_t n_rows, cap_rows;

	/* streaming (pw_cli_table_stream()) */
	enum pw_cli_stream mode;
	enum pw_cli_format format;
	bool no_header;
	FILE *out;
	struct pw_json *json; /* JSON: the caller's document, which the array is a value of */
	size_t *w;            /* text column widths, from the MEASURE pass */
	size_t emitted;       /* rows completed in this pass */
};

struct pw_cli_table *pw_cli_table_new(const struct pw_cli_column *cols, size_t n_cols)
{
	struct pw_cli_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cols = cols;
	t->n_cols = n_cols;
	t->w = calloc(n_cols, sizeof(*t->w));
	if (!t->w) {
		free(t);
		return NULL;
	}
	return t;
}

static void clear_cells(struct pw_cli_table *t)
{
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i].s);
	t->n_rows = 0;
}

struct pw_cli_table *pw_cli_table_free(struct pw_cli_table *t)
{
	if (!t)
		return NULL;
	clear_cells(t);
	free(t->cells);
	free(t->w);
	free(t);
	return NULL;
}

static void complete_row(struct pw_cli_table *t);

int pw_cli_table_add_row(struct pw_cli_table *t)
{
	if (t->mode != PW_CLI_STORE && t->n_rows == 1) {
		complete_row(t);
		clear_cells(t);
	}
	if (t->n_rows == t->cap_rows) {
		size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
		struct cell *c = reallocarray(t->cells, cap * t->n_cols, sizeof(*c));

		if (!c)
			return -ENOMEM;
		t->cells = c;
		t->cap_rows = cap;
	}
	memset(&t->cells[t->n_rows * t->n_cols], 0, t->n_cols * sizeof(*t->cells));
	t->n_rows++;
	return 0;
}

static struct cell *last_cell(struct pw_cli_table *t, size_t col)
{
	return &t->cells[(t->n_rows - 1) * t->n_cols + col];
}

int pw_cli_table_set_text(struct pw_cli_table *t, size_t col, const char *s)
{
	struct cell *c = last_cell(t, col);
	char *copy = NULL;

	if (s) {
		copy = strdup(s);
		if (!copy)
			return -ENOMEM;
	}
	free(c->s);
	c->s = copy;
	c->set = s != NULL;
	return 0;
}

void pw_cli_table_set_int(struct pw_cli_table *t, size_t col, int64_t v)
{
	struct cell *c = last_cell(t, col);

	c->v = v;
	c->set = true;
}

size_t pw_cli_table_rows(const struct pw_cli_table *t)
{
	return t->mode == PW_CLI_STORE ? t->n_rows : t->emitted + t->n_rows;
}

const char *pw_cli_format_time(uint64_t usec, bool rfc3339, char buf[static PW_CLI_TIME_STRLEN])
{
	time_t secs = (time_t)(usec / 1000000);
	struct tm tm;

	if (!gmtime_r(&secs, &tm) ||
	    strftime(buf, PW_CLI_TIME_STRLEN, rfc3339 ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S",
		     &tm) == 0)
		snprintf(buf, PW_CLI_TIME_STRLEN, "@%llu", (unsigned long long)(usec / 1000000));
	return buf;
}

const char *pw_cli_format_span(uint64_t usec, char buf[static PW_CLI_SPAN_STRLEN])
{
	static const struct {
		const char *suffix;
		uint64_t secs;
	} units[] = { { "d", 86400 }, { "h", 3600 }, { "m", 60 }, { "s", 1 } };
	uint64_t secs = usec / 1000000;

	if (secs == 0) {
		snprintf(buf, PW_CLI_SPAN_STRLEN, "%llums", (unsigned long long)(usec / 1000));
		return buf;
	}
	if (secs < 60) {
		/* tenths, rounded down so "59.96s" never shows as "60.0s" */
		snprintf(buf, PW_CLI_SPAN_STRLEN, "%llu.%llus", (unsigned long long)secs,
			 (unsigned long long)(usec % 1000000 / 100000));
		return buf;
	}
	for (size_t i = 0; i + 1 < PW_ELEMENTSOF(units); i++) {
		if (secs < units[i].secs)
			continue;
		snprintf(buf, PW_CLI_SPAN_STRLEN, "%llu%s%llu%s",
			 (unsigned long long)(secs / units[i].secs), units[i].suffix,
			 (unsigned long long)(secs % units[i].secs / units[i + 1].secs),
			 units[i + 1].suffix);
		break;
	}
	return buf;
}

void pw_cli_csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* Seconds with the microseconds that matter: "12", "0.5", "3.000125". */
static const char *seconds_text(int64_t usec, char buf[static 32])
{
	uint64_t u = usec < 0 ? 0 : (uint64_t)usec;
	int n = snprintf(buf, 32, "%llu.%06llu", (unsigned long long)(u / 1000000),
			 (unsigned long long)(u % 1000000));

	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

/* Hundredths of a percent as a number: "0", "19.3", "19.27". */
static const char *pct_number(int64_t v, char buf[static 32])
{
	uint64_t u = v < 0 ? 0 : (uint64_t)v;
	int n = snprintf(buf, 32, "%llu.%02llu", (unsigned long long)(u / 100),
			 (unsigned long long)(u % 100));

	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

/* The cell as text/CSV shows it; NULL for no value. */
static const char *cell_text(const struct pw_cli_column *col, const struct cell *c, bool csv,
			     char buf[static 64])
{
	if (!c->set)
		return NULL;
	switch (col->type) {
	case PW_CLI_COL_TEXT:
		return c->s;
	case PW_CLI_COL_INT:
		snprintf(buf, 64, "%lld", (long long)c->v);
		return buf;
	case PW_CLI_COL_TIME:
		return pw_cli_format_time(c->v < 0 ? 0 : (uint64_t)c->v, false, buf);
	case PW_CLI_COL_SPAN:
		if (csv)
			return seconds_text(c->v, buf);
		return pw_cli_format_span(c->v < 0 ? 0 : (uint64_t)c->v, buf);
	case PW_CLI_COL_BOOL:
		return c->v ? "yes" : "no";
	case PW_CLI_COL_PCT:
		if (csv)
			return pct_number(c->v, buf);
		/* one decimal, rounded: 1927 -> "19.3%" */
		snprintf(buf, 64, "%lld.%lld%%", (long long)((c->v + 5) / 100),
			 (long long)((c->v + 5) / 10 % 10));
		return buf;
	}
	return NULL;
}

/* Text output never carries control characters to the terminal. */
static void put_safe(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
}

/* Widen w to fit a row (NULL: the header). */
static void measure(const struct pw_cli_table *t, const struct cell *row, size_t *w)
{
	char buf[64];

	for (size_t c = 0; c < t->n_cols; c++) {
		const char *s = row ? cell_text(&t->cols[c], &row[c], false, buf)
				    : t->cols[c].title;
		size_t l = s ? strlen(s) : 1;

		if (l > w[c])
			w[c] = l;
	}
}

/* One line of text: a row, or the header for NULL. */
static void text_line(const struct pw_cli_table *t, const struct cell *row, const size_t *w,
		      FILE *f)
{
	char buf[64];

	for (size_t c = 0; c < t->n_cols; c++) {
		const char *s = row ? cell_text(&t->cols[c], &row[c], false, buf)
				    : t->cols[c].title;
		bool right = t->cols[c].type == PW_CLI_COL_INT ||
			     t->cols[c].type == PW_CLI_COL_SPAN ||
			     t->cols[c].type == PW_CLI_COL_PCT;
		bool last = c + 1 == t->n_cols;
		size_t l;

		s = s ?: "-";
		l = strlen(s);
		if (c > 0)
			fputs("  ", f);
		for (size_t i = l; right && i < w[c]; i++)
			fputc(' ', f);
		put_safe(f, s);
		for (size_t i = l; !right && !last && i < w[c]; i++)
			fputc(' ', f);
	}
	fputc('\n', f);
}

static void csv_header(const struct pw_cli_table *t, FILE *f)
{
	for (size_t c = 0; c < t->n_cols; c++) {
		if (c > 0)
			fputc(',', f);
		pw_cli_csv_field(f, t->cols[c].key);
	}
	fputc('\n', f);
}

static void csv_line(const struct pw_cli_table *t, const struct cell *row, FILE *f)
{
	char buf[64];

	for (size_t c = 0; c < t->n_cols; c++) {
		const char *s = cell_text(&t->cols[c], &row[c], true, buf);

		if (c > 0)
			fputc(',', f);
		if (s)
			pw_cli_csv_field(f, s);
	}
	fputc('\n', f);
}

static void json_cell(struct pw_json *j, const struct pw_cli_column *col, const struct cell *c)
{
	char buf[PW_CLI_TIME_STRLEN];

	if (!c->set) {
		pw_json_null(j);
		return;
	}
	switch (col->type) {
	case PW_CLI_COL_TEXT:
		pw_json_str(j, c->s);
		return;
	case PW_CLI_COL_INT:
		pw_json_int(j, c->v);
		return;
	case PW_CLI_COL_TIME:
		pw_json_str(j, pw_cli_format_time(c->v < 0 ? 0 : (uint64_t)c->v, true, buf));
		return;
	case PW_CLI_COL_SPAN:
		pw_json_raw(j, "%s", seconds_text(c->v, buf));
		return;
	case PW_CLI_COL_BOOL:
		pw_json_bool(j, c->v);
		return;
	case PW_CLI_COL_PCT:
		pw_json_raw(j, "%s", pct_number(c->v, buf));
		return;
	}
}

static void json_row(const struct pw_cli_table *t, const struct cell *row, struct pw_json *j)
{
	pw_json_begin_object(j, PW_JSON_INLINE);
	for (size_t c = 0; c < t->n_cols; c++) {
		pw_json_key(j, t->cols[c].key);
		json_cell(j, &t->cols[c], &row[c]);
	}
	pw_json_end_object(j);
}

void pw_cli_table_print_text(const struct pw_cli_table *t, bool no_header, FILE *f)
{
	_cleanup_free_ size_t *w = NULL;

	if (t->n_rows == 0)
		return;
	w = calloc(t->n_cols, sizeof(*w));
	if (!w)
		return;
	for (size_t c = 0; c < t->n_cols; c++)
		w[c] = 1;
	if (!no_header)
		measure(t, NULL, w);
	for (size_t r = 0; r < t->n_rows; r++)
		measure(t, &t->cells[r * t->n_cols], w);
	if (!no_header)
		text_line(t, NULL, w, f);
	for (size_t r = 0; r < t->n_rows; r++)
		text_line(t, &t->cells[r * t->n_cols], w, f);
}

void pw_cli_table_print_csv(const struct pw_cli_table *t, bool no_header, FILE *f)
{
	if (!no_header)
		csv_header(t, f);
	for (size_t r = 0; r < t->n_rows; r++)
		csv_line(t, &t->cells[r * t->n_cols], f);
}

void pw_cli_table_print_json(const struct pw_cli_table *t, struct pw_json *j)
{
	pw_json_begin_array(j, PW_JSON_LINES);
	for (size_t r = 0; r < t->n_rows; r++)
		json_row(t, &t->cells[r * t->n_cols], j);
	pw_json_end_array(j);
}

/* ------------------------------------------------------------------ streaming */

/* The row being filled is complete: measure it or print it. */
static void complete_row(struct pw_cli_table *t)
{
	const struct cell *row = t->cells;

	switch (t->mode) {
	case PW_CLI_STORE:
		return;
	case PW_CLI_MEASURE:
		measure(t, row, t->w);
		break;
	case PW_CLI_EMIT:
		switch (t->format) {
		case PW_CLI_TEXT:
			if (t->emitted == 0 && !t->no_header)
				text_line(t, NULL, t->w, t->out);
			text_line(t, row, t->w, t->out);
			break;
		case PW_CLI_CSV:
			if (t->emitted == 0 && !t->no_header)
				csv_header(t, t->out);
			csv_line(t, row, t->out);
			break;
		case PW_CLI_JSON:
			/* opened by the first row, so that a pass that fails
			 * before any row leaves no half array behind */
			if (t->emitted == 0)
				pw_json_begin_array(t->json, PW_JSON_LINES);
			json_row(t, row, t->json);
			break;
		}
		break;
	}
	t->emitted++;
}

void pw_cli_table_stream(struct pw_cli_table *t, enum pw_cli_stream mode, enum pw_cli_format format,
			 bool no_header, struct pw_json *json, FILE *out)
{
	clear_cells(t);
	if (mode == PW_CLI_MEASURE || t->mode != PW_CLI_MEASURE) {
		for (size_t c = 0; c < t->n_cols; c++)
			t->w[c] = 1;
		if (!no_header)
			measure(t, NULL, t->w);
	}
	t->mode = mode;
	t->format = format;
	t->no_header = no_header;
	t->json = json;
	t->out = out;
	t->emitted = 0;
}

size_t pw_cli_table_end(struct pw_cli_table *t)
{
	size_t rows;

	if (t->mode != PW_CLI_STORE && t->n_rows == 1) {
		complete_row(t);
		clear_cells(t);
	}
	rows = pw_cli_table_rows(t);
	if (t->mode != PW_CLI_EMIT)
		return rows;
	switch (t->format) {
	case PW_CLI_TEXT:
		break;
	case PW_CLI_CSV:
		if (rows == 0 && !t->no_header)
			csv_header(t, t->out);
		break;
	case PW_CLI_JSON:
		if (rows == 0)
			pw_json_begin_array(t->json, PW_JSON_LINES);
		pw_json_end_array(t->json);
		break;
	}
	return rows;
}
