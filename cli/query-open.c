/* SPDX-License-Identifier: MIT */
/* portwatch open: the ports open now. */

#include "addr.h"
#include "query-internal.h"

enum { OP_JOB, OP_ADDRESS, OP_PORT, OP_SERVICE, OP_SINCE, OP_FOR, OP_LAST_SEEN, _OP_MAX };

static const struct pw_cli_column open_cols[_OP_MAX] = {
	[OP_JOB] = { "job", "JOB", PW_CLI_COL_TEXT },
	[OP_ADDRESS] = { "address", "ADDRESS", PW_CLI_COL_TEXT },
	[OP_PORT] = { "port", "PORT", PW_CLI_COL_INT },
	[OP_SERVICE] = { "service", "SERVICE", PW_CLI_COL_TEXT },
	[OP_SINCE] = { "open_since", "OPEN SINCE", PW_CLI_COL_TIME },
	[OP_FOR] = { "open_for_s", "FOR", PW_CLI_COL_SPAN },
	[OP_LAST_SEEN] = { "last_seen", "LAST SEEN", PW_CLI_COL_TIME },
};

static int open_row(const struct pw_store_open_row *row, void *userdata)
{
	static const struct pw_query_port_cols cols = { OP_JOB, OP_ADDRESS, OP_PORT, OP_SERVICE };
	struct rows *rs = userdata;
	struct q *q = rs->q;
	struct pw_cli_table *t = rs->t;
	int r = pw_query_port_row(q, t, &cols, row->job, row->addr_valid, row->addr, row->address,
				  row->port);

	if (r != 0)
		return r < 0 ? r : 0;
	pw_cli_table_set_int(t, OP_SINCE, row->since_usec);
	pw_cli_table_set_int(t, OP_FOR, pw_query_age(q, row->since_usec));
	pw_cli_table_set_int(t, OP_LAST_SEEN, row->last_seen_usec);
	return 0;
}

static int fill_open(struct q *q, struct pw_cli_table *t)
{
	struct pw_store_read_filter f = pw_query_read_filter(q);
	struct rows rs = { q, t, 0 };

	return pw_query_read_error(q, pw_store_read_open(q->store, &f, open_row, &rs));
}

static int show_open(struct q *q, struct pw_cli_table *t)
{
	return pw_query_verb_rows(q, t, fill_open, "open", "No open ports.");
}

static const struct pw_query_verb_info open_verb = {
	.name = "open",
	.opts = OPTS_GLOBAL | OPT(O_JOB),
	.min_args = 0,
	.max_args = 1,
	.usage = " [--job JOB] [HOST]",
	.help = "List the ports open now, with their service names and since when.\n"
		"HOST is an address, CIDR prefix, range or host name.\n"
		"\n"
		"      --job JOB        only this job's ports\n",
	.filter = PW_QUERY_FILTER_ARG,
	.cols = open_cols,
	.n_cols = _OP_MAX,
	.show = show_open,
};

int pw_cli_verb_open(int argc, char **argv, const struct pw_cli_env *env)
{
	return pw_query_main(&open_verb, argc, argv, env);
}
