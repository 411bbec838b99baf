/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the query verbs' files share: the verb descriptions, one
 * invocation's state (struct q), and the helpers that turn the store's
 * typed rows into a table (output.h). cli/query.c runs a verb,
 * cli/query-options.c parses its command line, cli/query-open.c,
 * query-events.c, query-runs.c and status.c make each verb's rows.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "iset.h"
#include "json.h"
#include "output.h"
#include "services.h"
#include "store.h"
#include "verbs.h"

/* Options, as getopt_long() values; OPT() makes a verb's set of them. */
enum {
	O_DB = 0x100,
	O_CONFIG,
	O_JSON,
	O_CSV,
	O_NO_HEADER,
	O_JOB,
	O_HOST,
	O_SINCE,
	O_LIMIT,
	O_ALL,
	O_SOCKET,
	O_HELP,
};

#define OPT(o) (1u << ((o)-O_DB))
#define OPTS_GLOBAL \
	(OPT(O_DB) | OPT(O_CONFIG) | OPT(O_JSON) | OPT(O_CSV) | OPT(O_NO_HEADER) | OPT(O_HELP))

/* Where a verb's address (and port) filter comes from. */
enum pw_query_filter {
	PW_QUERY_FILTER_ARG,       /* HOST, the argument (none: no filter) */
	PW_QUERY_FILTER_HOST,      /* --host HOST */
	PW_QUERY_FILTER_HOST_PORT, /* HOST[:PORT], the argument */
};

struct q;
struct pw_cli_table;

struct pw_query_verb_info {
	const char *name;
	unsigned opts; /* OPT() of the options it takes */
	int min_args, max_args;
	const char *usage;
	const char *help;
	uint64_t default_limit; /* --limit unless given; 0: all */
	enum pw_query_filter filter;
	bool reads_schedules; /* the config too, even with --db */
	const struct pw_cli_column *cols;
	size_t n_cols;
	/* print the verb's output, with t made of cols */
	int (*show)(struct q *q, struct pw_cli_table *t);
};

struct opts {
	const char *db, *config, *job, *host, *since, *socket;
	enum pw_cli_format format;
	bool no_header, all, format_set;
	uint64_t limit;
	const char *arg; /* HOST or HOST[:PORT] */
};

struct q {
	const struct pw_query_verb_info *vi;
	const struct pw_cli_env *env;
	struct opts o;
	struct pw_config *config; /* NULL: none read */
	const char *config_path;
	char *config_note; /* why there is no config, for status */
	const char *db_path;
	struct pw_store *store;
	bool row_failed; /* a row callback failed and said so */
	/* address and port filters; an empty set means no filter */
	struct pw_iset addrs, ports;
	uint64_t since_usec;
	struct pw_services services; /* read at the first port name shown */
	bool services_loaded;
	struct pw_json json; /* --json: the one document, rows streamed into it */
};

/* cli/query.c: run the verb vi; returns the exit status. */
int pw_query_main(const struct pw_query_verb_info *vi, int argc, char **argv,
		  const struct pw_cli_env *env);

/* "portwatch VERB: " and the message, on env->err. */
void pw_query_errorf(struct q *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli/query-options.c: -1 to go on, else the exit status. */
int pw_query_parse_options(struct q *q, int argc, char **argv);
int pw_query_parse_filters(struct q *q);

/* ------------------------------------------------------------------ rows */

/* What a row callback writes to. */
struct rows {
	struct q *q;
	struct pw_cli_table *t;
	uint64_t n; /* rows shown */
};

/* A failed read: the store's error, unless a row callback already said why. */
int pw_query_read_error(struct q *q, int r);

/* The hull of the filters; the exact test is pw_query_row_wanted(). */
struct pw_store_read_filter pw_query_read_filter(const struct q *q);
bool pw_query_row_wanted(const struct q *q, pw_u128 addr, unsigned port);

/* The address as the store keyed it; the text column if the key is odd. */
const char *pw_query_row_address(bool valid, pw_u128 addr, const char *text,
				 char buf[static PW_ADDR_STRLEN]);
const char *pw_query_service_name(struct q *q, uint16_t port);

/* How long ago, in whole seconds: an age needs no microseconds. */
int64_t pw_query_age(const struct q *q, int64_t then_usec);

/* The table's setters, saying "out of memory" once when they fail. */
int pw_query_add_row(struct q *q, struct pw_cli_table *t);
int pw_query_set_text(struct q *q, struct pw_cli_table *t, size_t col, const char *s);

/* Where a verb's table keeps the columns every row about a port has. */
struct pw_query_port_cols {
	size_t job, address, port, service;
};

/*
 * Start a row about one port of the store: 1 when the exact filters drop
 * it (no row), 0 with the row added and its job, address, port and
 * service set, or -ENOMEM.
 */
int pw_query_port_row(struct q *q, struct pw_cli_table *t, const struct pw_query_port_cols *c,
		      const char *job, bool addr_valid, pw_u128 addr, const char *address,
		      uint16_t port);

/*
 * A verb's rows, streamed so that memory does not grow with them: CSV and
 * JSON in one pass; text in two over the same snapshot, the first only
 * measuring the columns. none: the text line for no rows.
 */
int pw_query_stream_rows(struct q *q, struct pw_cli_table *t,
			 int (*fill)(struct q *q, struct pw_cli_table *t), const char *none);

/*
 * --json: a verb's document is one object, a member a line; begin returns
 * the writer for its members (pw_query_stream_rows() writes rows there too),
 * end closes it and ends the line.
 */
struct pw_json *pw_query_json_begin(struct q *q);
void pw_query_json_end(struct q *q);

/* {"key": [rows]} for JSON; just the rows otherwise. */
int pw_query_verb_rows(struct q *q, struct pw_cli_table *t,
		       int (*fill)(struct q *q, struct pw_cli_table *t), const char *key,
		       const char *none);
