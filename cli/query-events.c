/* SPDX-License-Identifier: MIT */
/*
 * portwatch changes and history: events, newest first across addresses, or
 * one address's (or port's) timeline, oldest first. Both print the same
 * columns.
 */

#include <stdio.h>

#include "addr.h"
#include "json.h"
#include "query-internal.h"

enum {
	EV_ID,
	EV_TIME,
	EV_JOB,
	EV_ADDRESS,
	EV_PORT,
	EV_SERVICE,
	EV_EVENT,
	EV_OLD,
	EV_NEW,
	EV_POLICY,
	EV_ACKED,
	EV_RUN,
	_EV_MAX
};

static const struct pw_cli_column event_cols[_EV_MAX] = {
	[EV_ID] = { "id", "ID", PW_CLI_COL_INT },
	[EV_TIME] = { "time", "TIME", PW_CLI_COL_TIME },
	[EV_JOB] = { "job", "JOB", PW_CLI_COL_TEXT },
	[EV_ADDRESS] = { "address", "ADDRESS", PW_CLI_COL_TEXT },
	[EV_PORT] = { "port", "PORT", PW_CLI_COL_INT },
	[EV_SERVICE] = { "service", "SERVICE", PW_CLI_COL_TEXT },
	[EV_EVENT] = { "event", "EVENT", PW_CLI_COL_TEXT },
	[EV_OLD] = { "old_state", "OLD", PW_CLI_COL_TEXT },
	[EV_NEW] = { "new_state", "NEW", PW_CLI_COL_TEXT },
	[EV_POLICY] = { "policy", "POLICY", PW_CLI_COL_TEXT },
	[EV_ACKED] = { "acked", "ACKED", PW_CLI_COL_TIME },
	[EV_RUN] = { "run", "RUN", PW_CLI_COL_INT },
};

static int event_row(const struct pw_store_event_row *row, void *userdata)
{
	static const struct pw_query_port_cols cols = { EV_JOB, EV_ADDRESS, EV_PORT, EV_SERVICE };
	struct rows *rs = userdata;
	struct q *q = rs->q;
	struct pw_cli_table *t = rs->t;
	int r = pw_query_port_row(q, t, &cols, row->job, row->addr_valid, row->addr, row->address,
				  row->port);

	if (r != 0)
		return r < 0 ? r : 0;
	r = pw_query_set_text(q, t, EV_EVENT, row->kind);
	if (r == 0)
		r = pw_query_set_text(q, t, EV_OLD, row->old_state);
	if (r == 0)
		r = pw_query_set_text(q, t, EV_NEW, row->new_state);
	if (r == 0 && row->policy)
		r = pw_query_set_text(q, t, EV_POLICY, row->policy);
	if (r < 0)
		return r;
	if (row->has_id)
		pw_cli_table_set_int(t, EV_ID, row->id);
	pw_cli_table_set_int(t, EV_TIME, row->time_usec);
	if (row->has_run)
		pw_cli_table_set_int(t, EV_RUN, row->run_id);
	if (row->acked)
		pw_cli_table_set_int(t, EV_ACKED, row->acked_usec);
	/* the limit counts rows shown, after the exact address test */
	return q->o.limit && ++rs->n == q->o.limit ? 1 : 0;
}

static int fill_changes(struct q *q, struct pw_cli_table *t)
{
	struct pw_store_read_filter f = pw_query_read_filter(q);
	struct rows rs = { q, t, 0 };
	int r = pw_store_read_changes(q->store, &f, event_row, &rs);

	return r > 0 ? 0 : pw_query_read_error(q, r);
}

static int show_changes(struct q *q, struct pw_cli_table *t)
{
	char buf[PW_CLI_TIME_STRLEN];
	struct pw_json *j;
	int r;

	if (q->o.format != PW_CLI_JSON)
		return pw_query_stream_rows(q, t, fill_changes, "No changes.");
	j = pw_query_json_begin(q);
	pw_json_key(j, "since");
	pw_json_str(j, q->o.since ? pw_cli_format_time(q->since_usec, true, buf) : NULL);
	pw_json_key(j, "changes");
	r = pw_query_stream_rows(q, t, fill_changes, NULL);
	if (r == 0)
		pw_query_json_end(q);
	return r;
}

static int fill_history(struct q *q, struct pw_cli_table *t)
{
	struct pw_store_read_filter f = pw_query_read_filter(q);
	struct rows rs = { q, t, 0 };
	int r = pw_store_read_history(q->store, &f, event_row, &rs);

	return r > 0 ? 0 : pw_query_read_error(q, r);
}

static int show_history(struct q *q, struct pw_cli_table *t)
{
	struct pw_json *j;
	int r;

	if (q->o.format != PW_CLI_JSON)
		return pw_query_stream_rows(q, t, fill_history, "No events.");
	j = pw_query_json_begin(q);
	pw_json_key(j, "host");
	pw_json_str(j, q->o.arg);
	pw_json_key(j, "events");
	r = pw_query_stream_rows(q, t, fill_history, NULL);
	if (r == 0)
		pw_query_json_end(q);
	return r;
}

static const struct pw_query_verb_info changes_verb = {
	.name = "changes",
	.opts = OPTS_GLOBAL | OPT(O_JOB) | OPT(O_HOST) | OPT(O_SINCE) | OPT(O_LIMIT) | OPT(O_ALL),
	.min_args = 0,
	.max_args = 0,
	.usage = " [--since WHEN] [--job JOB] [--host HOST]",
	.help = "List state changes, newest first.\n"
		"\n"
		"      --since WHEN     only changes since WHEN: a duration back from now\n"
		"                       (1h, 2d, 1h30m) or a UTC date and time (2026-11-20,\n"
		"                       \"2026-11-20 13:00\", 2026-11-20T13:00:00Z)\n"
		"      --job JOB        only this job's changes\n"
		"      --host HOST      only changes of this address (CIDR, range, name)\n"
		"      --limit N        at most N changes (default all)\n"
		"      --all            also baseline records and unconfirmed flaps\n",
	.filter = PW_QUERY_FILTER_HOST,
	.cols = event_cols,
	.n_cols = _EV_MAX,
	.show = show_changes,
};

static const struct pw_query_verb_info history_verb = {
	.name = "history",
	.opts = OPTS_GLOBAL | OPT(O_JOB),
	.min_args = 1,
	.max_args = 1,
	.usage = " [--job JOB] HOST[:PORT]",
	.help = "Show the timeline of one address, or of one port of it, oldest first:\n"
		"every recorded event, baseline and flaps included.\n"
		"HOST[:PORT] is 127.0.0.1, 127.0.0.1:22, [::1]:22, ::1, localhost:ssh;\n"
		"HOST may be a CIDR prefix or range, PORT a range (8000-8100).\n"
		"\n"
		"      --job JOB        only this job's events\n",
	.filter = PW_QUERY_FILTER_HOST_PORT,
	.cols = event_cols,
	.n_cols = _EV_MAX,
	.show = show_history,
};

int pw_cli_verb_changes(int argc, char **argv, const struct pw_cli_env *env)
{
	return pw_query_main(&changes_verb, argc, argv, env);
}

int pw_cli_verb_history(int argc, char **argv, const struct pw_cli_env *env)
{
	return pw_query_main(&history_verb, argc, argv, env);
}
