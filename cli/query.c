/* SPDX-License-Identifier: MIT */
/*
 * portwatch status, open, changes, history, runs: how one verb runs. It
 * reads the config and opens the store read-only, reads one snapshot
 * through the store's typed rows, and prints one typed table (output.h:
 * text, CSV or JSON); the verbs' own files make the rows.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "addr.h"
#include "json.h"
#include "query-internal.h"
#include "util.h"

void pw_query_errorf(struct q *q, const char *fmt, ...)
{
	va_list ap;

	fprintf(q->env->err, "portwatch %s: ", q->vi->name);
	va_start(ap, fmt);
	vfprintf(q->env->err, fmt, ap);
	va_end(ap);
	fputc('\n', q->env->err);
}

/* ------------------------------------------------------------------ opening */

/* Readers never wait for portwatchd (WAL): someone else holds a lock. */
#define BUSY_HINT " (another process holds an exclusive lock; gave up after 5 s)"

static void print_diag(struct q *q, const struct pw_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(q->env->err, "%s\n", d->msgs[i]);
}

/*
 * The config names the database and, for status, the schedules. Without
 * --db and --config, a missing default file means the built-in defaults.
 */
static int load_config(struct q *q)
{
	struct pw_diag diag = PW_DIAG_INIT;
	bool explicit = q->o.config != NULL;
	bool need = !q->o.db || explicit;
	int r;

	q->config_path = q->o.config ?: q->env->default_config;
	if (!need && !q->vi->reads_schedules)
		return 0;
	if (!explicit && access(q->config_path, F_OK) < 0 && errno == ENOENT) {
		if (asprintf(&q->config_note, "%s: not found", q->config_path) < 0)
			q->config_note = NULL;
		return 0;
	}
	r = pw_config_load(q->config_path, &q->config, &diag);
	if (r >= 0) {
		pw_diag_done(&diag);
		return 0;
	}
	if (!need) {
		/* status --db: the schedules are a bonus, the database is named */
		if (asprintf(&q->config_note, "%s: %s", q->config_path,
			     diag.n ? diag.msgs[0] : strerror(-r)) < 0)
			q->config_note = NULL;
		pw_diag_done(&diag);
		return 0;
	}
	print_diag(q, &diag);
	if (diag.n == 0)
		pw_query_errorf(q, "%s: cannot load: %s", q->config_path, strerror(-r));
	pw_query_errorf(q, "cannot read the configuration %s%s", q->config_path,
			explicit ? "" : " for the database path: name the database with --db PATH");
	pw_diag_done(&diag);
	return r;
}

/*
 * SQLite reads a WAL database only through its -shm file, which it must be
 * able to create when the daemon is not running (sqlite.org/wal.html,
 * "Read-Only Databases"): a user who cannot write the directory gets
 * "attempt to write a readonly database" for a read.
 */
static const char *readonly_hint(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;

	if (!dir)
		return "";
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (access(slash ? dir : ".", W_OK) == 0)
		return "";
	return " (reading it needs write access to its directory while portwatchd is stopped, "
	       "for SQLite's -shm file: run as root or as the daemon's user)";
}

static int open_store(struct q *q)
{
	_cleanup_free_ char *msg = NULL;
	struct stat st;
	int r;

	q->db_path = q->o.db ?: q->config ? q->config->database : PW_DEFAULT_DATABASE;
	/* SQLite reports a missing file as "unable to open": say what it is */
	if (stat(q->db_path, &st) < 0 && errno == ENOENT) {
		pw_query_errorf(q,
				"%s: no such database (portwatchd creates it when it first starts; "
				"--db PATH names another)",
				q->db_path);
		return -ENOENT;
	}
	if (S_ISDIR(st.st_mode)) {
		pw_query_errorf(q, "%s: is a directory, not a database", q->db_path);
		return -EISDIR;
	}
	r = pw_store_open(q->db_path, PW_STORE_READONLY, &q->store, &msg);
	if (r < 0) {
		if (msg && strncmp(msg, q->db_path, strlen(q->db_path)) == 0)
			pw_query_errorf(q, "%s%s", msg,
					r == -EBUSY   ? BUSY_HINT
					: r == -EROFS ? readonly_hint(q->db_path)
						      : "");
		else
			pw_query_errorf(q, "%s: %s", q->db_path, msg ?: strerror(-r));
		return r;
	}
	return 0;
}

/* ------------------------------------------------------------------ reading */

/* A failed read: the store's error, unless a row callback already said why. */
int pw_query_read_error(struct q *q, int r)
{
	if (r < 0 && !q->row_failed)
		pw_query_errorf(q, "%s%s", pw_store_last_error(q->store),
				r == -EBUSY ? BUSY_HINT : "");
	return r;
}

/* The hull of the filters; the exact test is pw_query_row_wanted(). */
struct pw_store_read_filter pw_query_read_filter(const struct q *q)
{
	struct pw_store_read_filter f = {
		.job = q->o.job,
		.addr_hi = PW_U128_MAX,
		.port_hi = 65535,
		.since_usec = q->since_usec,
		.all = q->o.all,
	};

	if (q->addrs.n) {
		f.addr_lo = q->addrs.ranges[0].lo;
		f.addr_hi = q->addrs.ranges[q->addrs.n - 1].hi;
	}
	if (q->ports.n) {
		f.port_lo = (uint16_t)q->ports.ranges[0].lo;
		f.port_hi = (uint16_t)q->ports.ranges[q->ports.n - 1].hi;
	}
	return f;
}

bool pw_query_row_wanted(const struct q *q, pw_u128 addr, unsigned port)
{
	return (q->addrs.n == 0 || pw_iset_contains(&q->addrs, addr)) &&
	       (q->ports.n == 0 || pw_iset_contains(&q->ports, port));
}

/* The address as the store keyed it; the text column if the key is odd. */
const char *pw_query_row_address(bool valid, pw_u128 addr, const char *text,
				 char buf[static PW_ADDR_STRLEN])
{
	return valid ? pw_addr_format(addr, buf) : text;
}

const char *pw_query_service_name(struct q *q, uint16_t port)
{
	/* Names are decoration: without memory for the table, the curated
	 * ones still show. */
	if (!q->services_loaded)
		(void)pw_services_load(&q->services, NULL);
	q->services_loaded = true;
	return pw_services_name(&q->services, port);
}

struct job_match {
	const char *want;
	char *best;
	size_t best_d;
};

static int job_name(const char *name, void *userdata)
{
	struct job_match *m = userdata;
	size_t d;

	if (strcmp(name, m->want) == 0)
		return 1;
	d = pw_edit_distance(name, m->want);
	if (d < m->best_d) {
		m->best_d = d;
		free(m->best);
		m->best = strdup(name);
	}
	return 0;
}

/* Unknown job names are errors, with a suggestion; configured ones are fine. */
static int check_job(struct q *q)
{
	struct job_match m = { .want = q->o.job, .best_d = SIZE_MAX };
	int r;

	if (!q->o.job || (q->config && pw_config_find_job(q->config, q->o.job)))
		return 0;
	r = pw_store_read_jobs(q->store, job_name, &m);
	if (r != 0) {
		free(m.best);
		return r > 0 ? 0 : pw_query_read_error(q, r);
	}
	if (m.best && m.best_d <= 2)
		pw_query_errorf(q, "%s: no job \"%s\"; did you mean \"%s\"?", q->db_path, q->o.job,
				m.best);
	else
		pw_query_errorf(q, "%s: no job \"%s\"", q->db_path, q->o.job);
	free(m.best);
	return -ENOENT;
}

/* ------------------------------------------------------------------ output */

/* How long ago, in whole seconds: an age needs no microseconds. */
int64_t pw_query_age(const struct q *q, int64_t then_usec)
{
	int64_t now = (int64_t)q->env->now_usec;

	return now > then_usec ? (now - then_usec) / (int64_t)USEC_PER_SEC * (int64_t)USEC_PER_SEC
			       : 0;
}

int pw_query_add_row(struct q *q, struct pw_cli_table *t)
{
	if (pw_cli_table_add_row(t) < 0) {
		pw_query_errorf(q, "out of memory");
		q->row_failed = true;
		return -ENOMEM;
	}
	return 0;
}

int pw_query_set_text(struct q *q, struct pw_cli_table *t, size_t col, const char *s)
{
	if (pw_cli_table_set_text(t, col, s) < 0) {
		pw_query_errorf(q, "out of memory");
		q->row_failed = true;
		return -ENOMEM;
	}
	return 0;
}

int pw_query_port_row(struct q *q, struct pw_cli_table *t, const struct pw_query_port_cols *c,
		      const char *job, bool addr_valid, pw_u128 addr, const char *address,
		      uint16_t port)
{
	char abuf[PW_ADDR_STRLEN];
	const char *a = pw_query_row_address(addr_valid, addr, address, abuf);
	int r;

	if (!pw_query_row_wanted(q, addr, port))
		return 1;
	r = pw_query_add_row(q, t);
	if (r == 0)
		r = pw_query_set_text(q, t, c->job, job);
	if (r == 0)
		r = pw_query_set_text(q, t, c->address, a);
	if (r == 0)
		r = pw_query_set_text(q, t, c->service, pw_query_service_name(q, port));
	if (r == 0)
		pw_cli_table_set_int(t, c->port, port);
	return r;
}

/*
 * A verb's rows, streamed so that memory does not grow with them: CSV and
 * JSON in one pass; text in two over the same snapshot, the first only
 * measuring the columns.
 */
int pw_query_stream_rows(struct q *q, struct pw_cli_table *t,
			 int (*fill)(struct q *q, struct pw_cli_table *t), const char *none)
{
	FILE *f = q->env->out;
	int r;

	if (q->o.format == PW_CLI_TEXT) {
		pw_cli_table_stream(t, PW_CLI_MEASURE, PW_CLI_TEXT, q->o.no_header, NULL, f);
		r = fill(q, t);
		if (r < 0)
			return r;
		if (pw_cli_table_end(t) == 0) {
			if (!q->o.no_header)
				fprintf(f, "%s\n", none);
			return 0;
		}
	}
	pw_cli_table_stream(t, PW_CLI_EMIT, q->o.format, q->o.no_header, &q->json, f);
	r = fill(q, t);
	if (r < 0)
		return r;
	pw_cli_table_end(t);
	return 0;
}

struct pw_json *pw_query_json_begin(struct q *q)
{
	pw_json_init(&q->json, q->env->out);
	pw_json_begin_object(&q->json, PW_JSON_LINES);
	return &q->json;
}

void pw_query_json_end(struct q *q)
{
	pw_json_end_object(&q->json);
	fputc('\n', q->env->out);
}

int pw_query_verb_rows(struct q *q, struct pw_cli_table *t,
		       int (*fill)(struct q *q, struct pw_cli_table *t), const char *key,
		       const char *none)
{
	int r;

	if (q->o.format == PW_CLI_JSON)
		pw_json_key(pw_query_json_begin(q), key);
	r = pw_query_stream_rows(q, t, fill, none);
	if (r == 0 && q->o.format == PW_CLI_JSON)
		pw_query_json_end(q);
	return r;
}

/* ------------------------------------------------------------------ running */

static int query(struct q *q)
{
	struct pw_cli_table *t = NULL;
	int r;

	if (load_config(q) < 0 || open_store(q) < 0)
		return PW_CLI_EXIT_FAILURE;
	/* one snapshot for every statement of the verb */
	r = pw_query_read_error(q, pw_store_read_begin(q->store));
	if (r == 0)
		r = check_job(q);
	if (r == 0) {
		t = pw_cli_table_new(q->vi->cols, q->vi->n_cols);
		if (!t) {
			pw_query_errorf(q, "out of memory");
			r = -ENOMEM;
		}
	}
	if (r == 0)
		r = q->vi->show(q, t);
	pw_cli_table_free(t);
	pw_store_read_end(q->store);
	if (r < 0)
		return PW_CLI_EXIT_FAILURE;
	if (fflush(q->env->out) != 0 || ferror(q->env->out)) {
		pw_query_errorf(q, "writing the output failed");
		return PW_CLI_EXIT_FAILURE;
	}
	return PW_CLI_EXIT_OK;
}

int pw_query_main(const struct pw_query_verb_info *vi, int argc, char **argv,
		  const struct pw_cli_env *env)
{
	struct q q = { .vi = vi, .env = env, .addrs = PW_ISET_INIT, .ports = PW_ISET_INIT };
	int ret;

	ret = pw_query_parse_options(&q, argc, argv);
	if (ret < 0)
		ret = pw_query_parse_filters(&q);
	if (ret < 0)
		ret = query(&q);
	pw_store_close(q.store);
	pw_config_free(q.config);
	free(q.config_note);
	pw_iset_done(&q.addrs);
	pw_iset_done(&q.ports);
	pw_services_done(&q.services);
	return ret;
}
