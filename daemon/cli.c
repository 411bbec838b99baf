/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "cli.h"
#include "util.h"

/* One pointer per port: getservbyport(3) rereads the file on every call,
 * which costs seconds when a --all listing names 65535 ports. */
static char **services;
static bool services_loaded;

static void services_load(void)
{
	struct servent *se;

	services_loaded = true;
	services = calloc(65536, sizeof(*services));
	if (!services)
		return;
	setservent(0);
	while ((se = getservent())) {
		uint16_t port = ntohs((uint16_t)se->s_port);

		if (!se->s_proto || strcmp(se->s_proto, "tcp") != 0 || services[port])
			continue;
		services[port] = strdup(se->s_name); /* NULL on ENOMEM: no name */
	}
	endservent();
}

const char *pw_cli_service_name(uint16_t port)
{
	if (!services_loaded)
		services_load();
	return services ? services[port] : NULL;
}

void pw_cli_services_free(void)
{
	if (services) {
		for (size_t i = 0; i < 65536; i++)
			free(services[i]);
		free(services);
	}
	services = NULL;
	services_loaded = false;
}

void pw_cli_json_string(FILE *f, const char *s)
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
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* ------------------------------------------------------------------ tables */

struct cell {
	bool set;
	int64_t v;
	char *s;
};

struct pw_cli_table {
	const struct pw_cli_column *cols;
	size_t n_cols;
	struct cell *cells; /* n_rows * n_cols */
	size_t n_rows, cap_rows;
};

struct pw_cli_table *pw_cli_table_new(const struct pw_cli_column *cols, size_t n_cols)
{
	struct pw_cli_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cols = cols;
	t->n_cols = n_cols;
	return t;
}

struct pw_cli_table *pw_cli_table_free(struct pw_cli_table *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i].s);
	free(t->cells);
	free(t);
	return NULL;
}

int pw_cli_table_add_row(struct pw_cli_table *t)
{
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
	return t->n_rows;
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
	}
	return NULL;
}

/* Text output never carries control characters to the terminal. */
static void put_safe(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
}

void pw_cli_table_print_text(const struct pw_cli_table *t, bool no_header, FILE *f)
{
	_cleanup_free_ size_t *w = NULL;
	char buf[64];

	if (t->n_rows == 0)
		return;
	w = calloc(t->n_cols, sizeof(*w));
	if (!w)
		return;
	for (size_t c = 0; c < t->n_cols; c++) {
		w[c] = no_header ? 1 : strlen(t->cols[c].title);
		for (size_t r = 0; r < t->n_rows; r++) {
			const char *s = cell_text(&t->cols[c], &t->cells[r * t->n_cols + c], false, buf);
			size_t l = s ? strlen(s) : 1;

			if (l > w[c])
				w[c] = l;
		}
	}
	for (size_t r = no_header ? 1 : 0; r <= t->n_rows; r++) {
		for (size_t c = 0; c < t->n_cols; c++) {
			const char *s = r == 0 ? t->cols[c].title
					       : cell_text(&t->cols[c], &t->cells[(r - 1) * t->n_cols + c],
							   false, buf);
			bool right = t->cols[c].type == PW_CLI_COL_INT ||
				     t->cols[c].type == PW_CLI_COL_SPAN;
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
}

void pw_cli_table_print_csv(const struct pw_cli_table *t, bool no_header, FILE *f)
{
	char buf[64];

	for (size_t c = 0; !no_header && c < t->n_cols; c++) {
		if (c > 0)
			fputc(',', f);
		pw_cli_csv_field(f, t->cols[c].key);
	}
	if (!no_header)
		fputc('\n', f);
	for (size_t r = 0; r < t->n_rows; r++) {
		for (size_t c = 0; c < t->n_cols; c++) {
			const char *s = cell_text(&t->cols[c], &t->cells[r * t->n_cols + c], true, buf);

			if (c > 0)
				fputc(',', f);
			if (s)
				pw_cli_csv_field(f, s);
		}
		fputc('\n', f);
	}
}

static void json_cell(FILE *f, const struct pw_cli_column *col, const struct cell *c)
{
	char buf[PW_CLI_TIME_STRLEN];

	if (!c->set) {
		fputs("null", f);
		return;
	}
	switch (col->type) {
	case PW_CLI_COL_TEXT:
		pw_cli_json_string(f, c->s);
		return;
	case PW_CLI_COL_INT:
		fprintf(f, "%lld", (long long)c->v);
		return;
	case PW_CLI_COL_TIME:
		fprintf(f, "\"%s\"", pw_cli_format_time(c->v < 0 ? 0 : (uint64_t)c->v, true, buf));
		return;
	case PW_CLI_COL_SPAN:
		fputs(seconds_text(c->v, buf), f);
		return;
	case PW_CLI_COL_BOOL:
		fputs(c->v ? "true" : "false", f);
		return;
	}
}

void pw_cli_table_print_json(const struct pw_cli_table *t, unsigned indent, FILE *f)
{
	if (t->n_rows == 0) {
		fputs("[]", f);
		return;
	}
	fputc('[', f);
	for (size_t r = 0; r < t->n_rows; r++) {
		fprintf(f, "%s\n%*s{", r ? "," : "", (int)indent + 2, "");
		for (size_t c = 0; c < t->n_cols; c++) {
			fputs(c ? ", " : "", f);
			pw_cli_json_string(f, t->cols[c].key);
			fputs(": ", f);
			json_cell(f, &t->cols[c], &t->cells[r * t->n_cols + c]);
		}
		fputc('}', f);
	}
	fprintf(f, "\n%*s]", (int)indent, "");
}
