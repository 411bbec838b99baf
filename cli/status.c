/* SPDX-License-Identifier: MIT */
/*
 * portwatch status: the daemon's state (asked on its control socket), and
 * per job its schedule (from the config), last run and open ports (from the
 * database).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "json.h"
#include "query-internal.h"
#include "util.h"

enum {
	SU_JOB,
	SU_SCHEDULE,
	SU_RUN,
	SU_LAST_RUN,
	SU_AGO,
	SU_RESULT,
	SU_DURATION,
	SU_NEXT,
	SU_OPEN,
	SU_KNOWN,
	_SU_MAX
};

static const struct pw_cli_column status_cols[_SU_MAX] = {
	[SU_JOB] = { "job", "JOB", PW_CLI_COL_TEXT },
	[SU_SCHEDULE] = { "schedule", "SCHEDULE", PW_CLI_COL_TEXT },
	[SU_RUN] = { "last_run", "RUN", PW_CLI_COL_INT },
	[SU_LAST_RUN] = { "last_started", "LAST RUN", PW_CLI_COL_TIME },
	[SU_AGO] = { "last_started_ago_s", "AGO", PW_CLI_COL_SPAN },
	[SU_RESULT] = { "last_status", "RESULT", PW_CLI_COL_TEXT },
	[SU_DURATION] = { "last_duration_s", "DURATION", PW_CLI_COL_SPAN },
	[SU_NEXT] = { "next_due", "NEXT DUE", PW_CLI_COL_TIME },
	[SU_OPEN] = { "open", "OPEN", PW_CLI_COL_INT },
	[SU_KNOWN] = { "ports_known", "KNOWN", PW_CLI_COL_INT },
};

enum daemon_state {
	DAEMON_UNKNOWN,
	DAEMON_RUNNING,
	DAEMON_STOPPED,
};

static const char *const daemon_state_names[] = {
	[DAEMON_UNKNOWN] = "unknown",
	[DAEMON_RUNNING] = "running",
	[DAEMON_STOPPED] = "stopped",
};

/* What the daemon's control socket says (control.h, request "status"). */
struct progress {
	char *job;
	uint64_t run, done, total;
	bool resolving; /* no probe yet: the job's host names are being looked up */
};

struct daemon_info {
	enum daemon_state state;
	const char *socket;
	char *why; /* unknown: what went wrong */
	uint64_t pid;
	struct progress *runs; /* runs in progress */
	size_t n_runs;
};

/* "ok\nrunning JOB RUN DONE TOTAL\n...pid PID\n"; lines it does not know are skipped. */
static int parse_status_reply(struct daemon_info *d, char *reply)
{
	char *save = NULL, *line;

	line = strtok_r(reply, "\n", &save);
	if (!line || strcmp(line, "ok") != 0) {
		d->why = strdup(line ? line : "empty reply");
		return -EBADMSG;
	}
	while ((line = strtok_r(NULL, "\n", &save))) {
		struct progress p, *a;
		char *w[6], *s2 = NULL;
		int n = 0;

		for (char *t = strtok_r(line, " ", &s2); t && n < 6; t = strtok_r(NULL, " ", &s2))
			w[n++] = t;
		if (n == 2 && strcmp(w[0], "pid") == 0) {
			(void)pw_parse_u64(w[1], 1, INT32_MAX, &d->pid);
			continue;
		}
		if (n < 5 || strcmp(w[0], "running") != 0 ||
		    pw_parse_u64(w[2], 1, INT64_MAX, &p.run) < 0 ||
		    pw_parse_u64(w[3], 0, INT64_MAX, &p.done) < 0 ||
		    pw_parse_u64(w[4], 0, INT64_MAX, &p.total) < 0)
			continue;
		a = reallocarray(d->runs, d->n_runs + 1, sizeof(*a));
		if (!a)
			return -ENOMEM;
		d->runs = a;
		p.resolving = n == 6 && strcmp(w[5], "resolving") == 0;
		p.job = strdup(w[1]);
		if (!p.job)
			return -ENOMEM;
		d->runs[d->n_runs++] = p;
	}
	return 0;
}

/*
 * The daemon answers on its control socket while it runs: an answer means
 * running; no socket file, or one nobody listens on, means stopped.
 * Anything else (EACCES for a user who may not ask, a timeout) is unknown.
 */
static int probe_daemon(struct q *q, struct daemon_info *d)
{
	_cleanup_free_ char *reply = NULL, *err = NULL;
	int r;

	d->socket = q->o.socket
			    ?: q->config ? q->config->control_socket
					 : PW_DEFAULT_CONTROL_SOCKET;
	r = pw_control_request(d->socket, "status", 2 * USEC_PER_SEC, &reply, &err);
	if (err) {
		/* an untrusted listener: its replies are not the daemon's */
		d->state = DAEMON_UNKNOWN;
		d->why = TAKE_PTR(err);
		return 0;
	}
	switch (r) {
	case 0:
		r = parse_status_reply(d, reply);
		if (r == -ENOMEM)
			return r;
		d->state = r == 0 ? DAEMON_RUNNING : DAEMON_UNKNOWN;
		return 0;
	case -ENOENT:
	case -ECONNREFUSED:
		d->state = DAEMON_STOPPED;
		return 0;
	case -ENOMEM:
		return r;
	}
	d->state = DAEMON_UNKNOWN;
	if (asprintf(&d->why, "%s: %s", d->socket,
		     r == -EACCES || r == -EPERM
			     ? "permission denied (root or the daemon's user may ask)"
			     : strerror(-r)) < 0)
		d->why = NULL;
	return 0;
}

static void daemon_info_done(struct daemon_info *d)
{
	free(d->why);
	for (size_t i = 0; i < d->n_runs; i++)
		free(d->runs[i].job);
	free(d->runs);
}

static int status_row_config(struct q *q, struct pw_cli_table *t, const struct pw_job *j, bool ran,
			     int64_t started)
{
	char buf[64], iv[32];
	int64_t next;

	if (!q->config)
		return 0;
	if (!j)
		return pw_query_set_text(q, t, SU_SCHEDULE, "not in config");
	if (!j->enabled)
		return pw_query_set_text(q, t, SU_SCHEDULE, "disabled");
	snprintf(buf, sizeof(buf), "every %s",
		 pw_format_duration(iv, sizeof(iv), j->interval_usec));
	if (ran) {
		next = started + (int64_t)j->interval_usec;
		pw_cli_table_set_int(t, SU_NEXT, next);
	}
	return pw_query_set_text(q, t, SU_SCHEDULE, buf);
}

struct status_rows {
	struct rows rs;
	bool *seen; /* per configured job: it has a row */
};

static int status_row(const struct pw_store_job_row *row, void *userdata)
{
	struct status_rows *sr = userdata;
	struct q *q = sr->rs.q;
	struct pw_cli_table *t = sr->rs.t;
	const struct pw_job *j = q->config && row->job ? pw_config_find_job(q->config, row->job)
						       : NULL;
	int r;

	if (j)
		sr->seen[j - q->config->jobs] = true;
	r = pw_query_add_row(q, t);
	if (r == 0)
		r = pw_query_set_text(q, t, SU_JOB, row->job);
	if (r == 0)
		r = pw_query_set_text(q, t, SU_RESULT, row->last_status);
	if (r == 0)
		r = status_row_config(q, t, j, row->ran, row->started_usec);
	if (r < 0)
		return r;
	if (row->ran) {
		pw_cli_table_set_int(t, SU_RUN, row->last_run_id);
		pw_cli_table_set_int(t, SU_LAST_RUN, row->started_usec);
		pw_cli_table_set_int(t, SU_AGO, pw_query_age(q, row->started_usec));
		if (row->ended)
			pw_cli_table_set_int(t, SU_DURATION, row->ended_usec - row->started_usec);
	}
	pw_cli_table_set_int(t, SU_OPEN, row->open_now);
	pw_cli_table_set_int(t, SU_KNOWN, row->ports_known);
	return 0;
}

/* Configured jobs that never ran. */
static int status_unseen_rows(struct q *q, struct pw_cli_table *t, const bool *seen)
{
	int r = 0;

	for (size_t i = 0; r == 0 && q->config && i < q->config->n_jobs; i++) {
		if (seen[i])
			continue;
		r = pw_query_add_row(q, t);
		if (r == 0)
			r = pw_query_set_text(q, t, SU_JOB, q->config->jobs[i].name);
		if (r == 0)
			r = status_row_config(q, t, &q->config->jobs[i], false, 0);
		if (r < 0)
			break;
		pw_cli_table_set_int(t, SU_OPEN, 0);
		pw_cli_table_set_int(t, SU_KNOWN, 0);
	}
	return r;
}

static int status_rows(struct q *q, struct pw_cli_table *t)
{
	_cleanup_free_ bool *seen = NULL;
	struct status_rows sr = { { q, t, 0 }, NULL };
	int r;

	if (q->config && q->config->n_jobs) {
		seen = calloc(q->config->n_jobs, sizeof(*seen));
		if (!seen) {
			pw_query_errorf(q, "out of memory");
			return -ENOMEM;
		}
	}
	sr.seen = seen;
	r = pw_query_read_error(q, pw_store_read_job_status(q->store, status_row, &sr));
	if (r == 0)
		r = status_unseen_rows(q, t, seen);
	return r;
}

static void status_text(struct q *q, const struct daemon_info *d, FILE *f)
{
	fprintf(f, "Daemon:   %s", daemon_state_names[d->state]);
	if (d->state == DAEMON_RUNNING && d->pid)
		fprintf(f, " (pid %llu, control socket %s)", (unsigned long long)d->pid, d->socket);
	else if (d->why)
		fprintf(f, " (%s)", d->why);
	else
		fprintf(f, " (control socket %s)", d->socket);
	fputc('\n', f);
	for (size_t i = 0; i < d->n_runs; i++) {
		fprintf(f, "%s%s, run %llu: ", i ? "          " : "Running:  ", d->runs[i].job,
			(unsigned long long)d->runs[i].run);
		if (d->runs[i].resolving)
			fprintf(f, "resolving host names\n");
		else
			fprintf(f, "%llu of %llu probes done\n",
				(unsigned long long)d->runs[i].done,
				(unsigned long long)d->runs[i].total);
	}
	fprintf(f, "Database: %s\nConfig:   ", q->db_path);
	if (q->config)
		fprintf(f, "%s (%zu job%s)\n", q->config_path, q->config->n_jobs,
			q->config->n_jobs == 1 ? "" : "s");
	else
		fprintf(f, "%s\n", q->config_note ?: "not read");
	fputc('\n', f);
}

static void status_json_progress(struct pw_json *j, const struct progress *p)
{
	pw_json_begin_object(j, PW_JSON_INLINE);
	pw_json_key(j, "job");
	pw_json_str(j, p->job);
	pw_json_key(j, "run");
	pw_json_uint(j, p->run);
	pw_json_key(j, "resolving");
	pw_json_bool(j, p->resolving);
	pw_json_key(j, "probes_done");
	pw_json_uint(j, p->done);
	pw_json_key(j, "probes_total");
	pw_json_uint(j, p->total);
	pw_json_end_object(j);
}

static void status_json(struct q *q, const struct daemon_info *d, const struct pw_cli_table *t)
{
	struct pw_json *j = pw_query_json_begin(q);

	pw_json_key(j, "daemon");
	pw_json_str(j, daemon_state_names[d->state]);
	pw_json_key(j, "daemon_pid");
	if (d->state == DAEMON_RUNNING && d->pid)
		pw_json_uint(j, d->pid);
	else
		pw_json_null(j);
	pw_json_key(j, "control_socket");
	pw_json_str(j, d->socket);
	pw_json_key(j, "in_progress");
	pw_json_begin_array(j, PW_JSON_INLINE);
	for (size_t i = 0; i < d->n_runs; i++)
		status_json_progress(j, &d->runs[i]);
	pw_json_end_array(j);
	pw_json_key(j, "database");
	pw_json_str(j, q->db_path);
	pw_json_key(j, "config");
	pw_json_str(j, q->config ? q->config_path : NULL);
	pw_json_key(j, "jobs");
	pw_cli_table_print_json(t, j);
	pw_query_json_end(q);
}

static int show_status(struct q *q, struct pw_cli_table *t)
{
	struct daemon_info d = { .state = DAEMON_UNKNOWN };
	FILE *f = q->env->out;
	int r;

	r = probe_daemon(q, &d);
	if (r == 0)
		r = status_rows(q, t);
	if (r < 0) {
		if (r == -ENOMEM)
			pw_query_errorf(q, "out of memory");
		daemon_info_done(&d);
		return r;
	}
	switch (q->o.format) {
	case PW_CLI_TEXT:
		if (!q->o.no_header)
			status_text(q, &d, f);
		if (pw_cli_table_rows(t) == 0 && !q->o.no_header)
			fprintf(f, "No jobs.\n");
		pw_cli_table_print_text(t, q->o.no_header, f);
		break;
	case PW_CLI_CSV:
		pw_cli_table_print_csv(t, q->o.no_header, f);
		break;
	case PW_CLI_JSON:
		status_json(q, &d, t);
		break;
	}
	daemon_info_done(&d);
	return 0;
}

static const struct pw_query_verb_info status_verb = {
	.name = "status",
	.opts = OPTS_GLOBAL | OPT(O_SOCKET),
	.min_args = 0,
	.max_args = 0,
	.usage = " [--socket PATH]",
	.help = "Show the daemon's state and, per job: schedule, last run and its result,\n"
		"when the next run is due, and how many ports are open.\n"
		"\n"
		"      --socket PATH    the daemon's control socket (default: the config\n"
		"                       file's \"control_socket\")\n",
	.filter = PW_QUERY_FILTER_ARG,
	.reads_schedules = true,
	.cols = status_cols,
	.n_cols = _SU_MAX,
	.show = show_status,
};

int pw_cli_verb_status(int argc, char **argv, const struct pw_cli_env *env)
{
	return pw_query_main(&status_verb, argc, argv, env);
}
