/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Output helpers shared by the verbs of the portwatch CLI: tables in
 * text, CSV or JSON, and times and durations for humans (JSON strings:
 * json.h; port names: services.h).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Documented in portwatch(1); scripts depend on them. */
enum {
	PW_CLI_EXIT_OK = 0,
	PW_CLI_EXIT_FAILURE = 1,
	PW_CLI_EXIT_USAGE = 2,
	PW_CLI_EXIT_OPEN = 3, /* scan --fail-open: at least one port is open */
};

/* ------------------------------------------------------------------ tables
 *
 * The query verbs build one table of typed cells and print it in the
 * format asked for:
 *   text  columns aligned with two spaces (numbers, spans and percentages
 *         to the right, headers too), "-" for no value, times
 *         "YYYY-MM-DD HH:MM:SS" (UTC), spans "3h12m", percentages "19.3%";
 *         control characters shown as "?" so a database cannot drive the
 *         terminal
 *   csv   RFC 4180: header of keys, fields quoted when they hold a comma,
 *         quote, CR or LF, quotes doubled; empty for no value; times as in
 *         text, spans in seconds, percentages as numbers; lines end with LF
 *   json  an array of objects, keys as in csv, null for no value, times
 *         RFC 3339 ("2026-11-25T13:08:32Z"), spans in seconds, percentages
 *         as numbers
 * Widths count bytes: the text is ASCII (addresses, numbers, job and
 * service names).
 */

enum pw_cli_format {
	PW_CLI_TEXT,
	PW_CLI_JSON,
	PW_CLI_CSV,
};

enum pw_cli_col_type {
	PW_CLI_COL_TEXT,
	PW_CLI_COL_INT,
	PW_CLI_COL_TIME, /* microseconds since the epoch */
	PW_CLI_COL_SPAN, /* microseconds */
	PW_CLI_COL_BOOL, /* "yes"/"no"; JSON true/false */
	PW_CLI_COL_PCT,  /* hundredths of a percent: text "19.3%", CSV and JSON 19.27 */
};

struct pw_cli_column {
	const char *key;   /* JSON member, CSV header */
	const char *title; /* text header */
	enum pw_cli_col_type type;
};

struct pw_cli_table;
struct pw_json;

/* cols must outlive the table. Returns NULL without memory. */
struct pw_cli_table *pw_cli_table_new(const struct pw_cli_column *cols, size_t n_cols);
struct pw_cli_table *pw_cli_table_free(struct pw_cli_table *t);

/* Append a row of null cells; the setters fill the last row. 0 or -ENOMEM. */
int pw_cli_table_add_row(struct pw_cli_table *t);
int pw_cli_table_set_text(struct pw_cli_table *t, size_t col, const char *s); /* NULL: none */
void pw_cli_table_set_int(struct pw_cli_table *t, size_t col,
			  int64_t v); /* INT, TIME, SPAN, BOOL, PCT */

size_t pw_cli_table_rows(const struct pw_cli_table *t);

/* Text: with a header line unless no_header. Nothing at all for no rows. */
void pw_cli_table_print_text(const struct pw_cli_table *t, bool no_header, FILE *f);
/* CSV: the header line unless no_header, also for no rows. */
void pw_cli_table_print_csv(const struct pw_cli_table *t, bool no_header, FILE *f);
/* JSON array, the next value of j: each row an object on a line of its own. */
void pw_cli_table_print_json(const struct pw_cli_table *t, struct pw_json *j);

/*
 * Streaming, so that a million rows cost one row of memory: rows are
 * handled as soon as the next pw_cli_table_add_row() or
 * pw_cli_table_end() says they are complete.
 *   PW_CLI_MEASURE  only widen the text columns to fit each row;
 *   PW_CLI_EMIT     print each row in format (text uses the widths of a
 *                   MEASURE pass over the same rows just before, so text
 *                   takes two passes; CSV and JSON one).
 * pw_cli_table_end() finishes a pass (JSON: closes the array; CSV: the
 * header alone for no rows) and returns its row count. In EMIT mode text
 * prints its header before the first row, and nothing for no rows.
 * PW_CLI_STORE, the default, keeps every row for pw_cli_table_print_*().
 * Text and CSV go to out; JSON goes to json, the array being the next value
 * of the caller's document (json may be NULL for the other formats).
 */
enum pw_cli_stream {
	PW_CLI_STORE,
	PW_CLI_MEASURE,
	PW_CLI_EMIT,
};

void pw_cli_table_stream(struct pw_cli_table *t, enum pw_cli_stream mode, enum pw_cli_format format,
			 bool no_header, struct pw_json *json, FILE *out);
size_t pw_cli_table_end(struct pw_cli_table *t);

/* "2026-11-25 13:08:32" (UTC); sep 'T' and a 'Z' suffix give RFC 3339. */
#define PW_CLI_TIME_STRLEN 32
const char *pw_cli_format_time(uint64_t usec, bool rfc3339, char buf[static PW_CLI_TIME_STRLEN]);

/*
 * A span for people: "350ms" under a second, "12.5s" under a minute, else
 * the two largest units: "5m12s", "3h0m", "2d3h".
 */
#define PW_CLI_SPAN_STRLEN 32
const char *pw_cli_format_span(uint64_t usec, char buf[static PW_CLI_SPAN_STRLEN]);

/* Write s as one CSV field (RFC 4180 section 2). */
void pw_cli_csv_field(FILE *f, const char *s);
