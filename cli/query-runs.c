/* SPDX-License-Identifier: MIT */
/* portwatch runs: recent runs, newest first, with durations, counts and loss. */

#include "query-internal.h"

enum {
	RU_ID,
	RU_JOB,
	RU_STATUS,
	RU_STARTED,
	RU_DURATION,
	RU_PROBES,
	RU_OPEN,
	RU_CLOSED,
	RU_FILTERED,
	RU_UNREACHABLE,
	RU_CHANGES,
	RU_FLAPS,
	RU_LOSS,
	RU_BASELINE,
	_RU_MAX
};

static const struct pw_cli_column run_cols[_RU_MAX] = {
	[RU_ID] = { "run", "RUN", PW_CLI_COL_INT },
	[RU_JOB] = { "job", "JOB", PW_CLI_COL_TEXT },
	[RU_STATUS] = { "status", "STATUS", PW_CLI_COL_TEXT },
	[RU_STARTED] = { "started", "STARTED", PW_CLI_COL_TIME },
	[RU_DURATION] = { "duration_s", "DURATION", PW_CLI_COL_SPAN },
	[RU_PROBES] = { "probes", "PROBES", PW_CLI_COL_INT },
	[RU_OPEN] = { "open", "OPEN", PW_CLI_COL_INT },
	[RU_CLOSED] = { "closed", "CLOSED", PW_CLI_COL_INT },
	[RU_FILTERED] = { "filtered", "FILTERED", PW_CLI_COL_INT },
	[RU_UNREACHABLE] = { "unreachable", "UNREACH", PW_CLI_COL_INT },
	[RU_CHANGES] = { "changes", "CHANGES", PW_CLI_COL_INT },
	[RU_FLAPS] = { "flaps", "FLAPS", PW_CLI_COL_INT },
	[RU_LOSS] = { "loss_pct", "LOSS", PW_CLI_COL_PCT },
	[RU_BASELINE] = { "baseline", "BASELINE", PW_CLI_COL_BOOL },
};

static int run_row(const struct pw_store_run_row *row, void *userdata)
{
	struct rows *rs = userdata;
	struct q *q = rs->q;
	struct pw_cli_table *t = rs->t;
	int r;

	r = pw_query_add_row(q, t);
	if (r == 0)
		r = pw_query_set_text(q, t, RU_JOB, row->job);
	if (r == 0)
		r = pw_query_set_text(q, t, RU_STATUS, row->status);
	if (r < 0)
		return r;
	pw_cli_table_set_int(t, RU_BASELINE, row->baseline);
	pw_cli_table_set_int(t, RU_ID, row->run_id);
	pw_cli_table_set_int(t, RU_STARTED, row->started_usec);
	if (row->ended)
		pw_cli_table_set_int(t, RU_DURATION, row->ended_usec - row->started_usec);
	pw_cli_table_set_int(t, RU_PROBES, row->probes);
	pw_cli_table_set_int(t, RU_OPEN, row->open);
	pw_cli_table_set_int(t, RU_CLOSED, row->closed);
	pw_cli_table_set_int(t, RU_FILTERED, row->filtered);
	pw_cli_table_set_int(t, RU_UNREACHABLE, row->unreachable);
	pw_cli_table_set_int(t, RU_CHANGES, row->changes);
	pw_cli_table_set_int(t, RU_FLAPS, row->flaps);
	/* runs before schema 7, or with nothing answered: none */
	if (row->has_loss)
		pw_cli_table_set_int(t, RU_LOSS, (int64_t)(row->loss_pct * 100 + 0.5));
	return 0;
}

static int fill_runs(struct q *q, struct pw_cli_table *t)
{
	struct pw_store_read_filter f = pw_query_read_filter(q);
	struct rows rs = { q, t, 0 };

	return pw_query_read_error(q, pw_store_read_runs(q->store, &f, q->o.limit, run_row, &rs));
}

static int show_runs(struct q *q, struct pw_cli_table *t)
{
	return pw_query_verb_rows(q, t, fill_runs, "runs", "No runs.");
}

static const struct pw_query_verb_info runs_verb = {
	.name = "runs",
	.opts = OPTS_GLOBAL | OPT(O_JOB) | OPT(O_LIMIT),
	.min_args = 0,
	.max_args = 0,
	.usage = " [--job JOB] [--limit N]",
	.help = "List recent runs, newest first, with durations, counts and the packet\n"
		"loss each measured (share of connection attempts lost).\n"
		"\n"
		"      --job JOB        only this job's runs\n"
		"      --limit N        at most N runs (default 20, 0 = all)\n",
	.default_limit = 20,
	.filter = PW_QUERY_FILTER_ARG,
	.cols = run_cols,
	.n_cols = _RU_MAX,
	.show = show_runs,
};

int pw_cli_verb_runs(int argc, char **argv, const struct pw_cli_env *env)
{
	return pw_query_main(&runs_verb, argc, argv, env);
}
