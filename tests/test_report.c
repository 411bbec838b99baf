/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <syslog.h>

#include "check-main.h"
#include "report.h"
#include "util.h"

#define NONE_EV _PW_EVENT_MAX
#define NONE_AL _PW_ALERT_EVENT_MAX
#define BIT(e) (1u << (e))

/* Every change kind under every verdict it can get, as the daemon judges it. */
static const struct row {
	const char *what;
	/* in */
	bool baseline, known;
	enum pw_state old, seen;
	bool unconfirmed;
	enum pw_policy_expect expect;
	/* out */
	enum pw_change_kind kind;
	enum pw_policy_verdict verdict;
	enum pw_event_type event, plain;
	int priority; /* -1: no entry */
	enum pw_alert_event alert_all, alert_plain;
	bool counts;
} rows[] = {
	{ "unchanged", true, true, PW_STATE_OPEN, PW_STATE_OPEN, false, PW_EXPECT_NONE,
	  PW_CHANGE_NONE, PW_VERDICT_NONE, NONE_EV, NONE_EV, -1, NONE_AL, NONE_AL, false },
	{ "unchanged, expected", true, true, PW_STATE_OPEN, PW_STATE_OPEN, false, PW_EXPECT_OPEN,
	  PW_CHANGE_NONE, PW_VERDICT_NONE, NONE_EV, NONE_EV, -1, NONE_AL, NONE_AL, false },
	{ "first sighting, closed", true, false, PW_STATE_OPEN, PW_STATE_CLOSED, false,
	  PW_EXPECT_NONE, PW_CHANGE_NEW, PW_VERDICT_NONE, NONE_EV, NONE_EV, -1, NONE_AL, NONE_AL,
	  false },
	{ "first sighting, closed, must be closed", true, false, PW_STATE_OPEN, PW_STATE_CLOSED,
	  false, PW_EXPECT_CLOSED, PW_CHANGE_NEW, PW_VERDICT_EXPECTED, NONE_EV, NONE_EV, -1,
	  NONE_AL, NONE_AL, false },
	{ "first sighting, open", true, false, PW_STATE_OPEN, PW_STATE_OPEN, false, PW_EXPECT_NONE,
	  PW_CHANGE_OPENED, PW_VERDICT_NONE, PW_EVENT_PORT_OPENED, PW_EVENT_PORT_OPENED,
	  LOG_WARNING, PW_ALERT_OPENED, PW_ALERT_OPENED, true },
	{ "first sighting, filtered, must be open", true, false, PW_STATE_OPEN, PW_STATE_FILTERED,
	  false, PW_EXPECT_OPEN, PW_CHANGE_FILTERED, PW_VERDICT_EXPECTED_CLOSED,
	  PW_EVENT_EXPECTED_CLOSED, PW_EVENT_PORT_FILTERED, LOG_WARNING, PW_ALERT_EXPECTED_CLOSED,
	  PW_ALERT_FILTERED, true },
	{ "baseline, open", false, false, PW_STATE_OPEN, PW_STATE_OPEN, false, PW_EXPECT_NONE,
	  PW_CHANGE_BASELINE, PW_VERDICT_NONE, NONE_EV, NONE_EV, -1, NONE_AL, NONE_AL, false },
	{ "baseline, open, must not be", false, false, PW_STATE_OPEN, PW_STATE_OPEN, false,
	  PW_EXPECT_CLOSED, PW_CHANGE_BASELINE, PW_VERDICT_UNEXPECTED_OPEN,
	  PW_EVENT_UNEXPECTED_OPEN, NONE_EV, LOG_WARNING, PW_ALERT_UNEXPECTED_OPEN, NONE_AL,
	  false },
	{ "baseline, closed, must be open", false, false, PW_STATE_OPEN, PW_STATE_CLOSED, false,
	  PW_EXPECT_OPEN, PW_CHANGE_BASELINE, PW_VERDICT_EXPECTED_CLOSED, PW_EVENT_EXPECTED_CLOSED,
	  NONE_EV, LOG_WARNING, PW_ALERT_EXPECTED_CLOSED, NONE_AL, false },
	{ "baseline, open, expected", false, false, PW_STATE_OPEN, PW_STATE_OPEN, false,
	  PW_EXPECT_OPEN, PW_CHANGE_BASELINE, PW_VERDICT_EXPECTED, NONE_EV, NONE_EV, -1, NONE_AL,
	  NONE_AL, false },
	{ "opened", true, true, PW_STATE_CLOSED, PW_STATE_OPEN, false, PW_EXPECT_NONE,
	  PW_CHANGE_OPENED, PW_VERDICT_NONE, PW_EVENT_PORT_OPENED, PW_EVENT_PORT_OPENED,
	  LOG_WARNING, PW_ALERT_OPENED, PW_ALERT_OPENED, true },
	{ "opened, must not be", true, true, PW_STATE_CLOSED, PW_STATE_OPEN, false,
	  PW_EXPECT_CLOSED, PW_CHANGE_OPENED, PW_VERDICT_UNEXPECTED_OPEN, PW_EVENT_UNEXPECTED_OPEN,
	  PW_EVENT_PORT_OPENED, LOG_WARNING, PW_ALERT_UNEXPECTED_OPEN, PW_ALERT_OPENED, true },
	{ "opened, expected", true, true, PW_STATE_FILTERED, PW_STATE_OPEN, false, PW_EXPECT_OPEN,
	  PW_CHANGE_OPENED, PW_VERDICT_EXPECTED, PW_EVENT_PORT_OPENED, PW_EVENT_PORT_OPENED,
	  LOG_NOTICE, PW_ALERT_OPENED, PW_ALERT_OPENED, true },
	{ "closed", true, true, PW_STATE_OPEN, PW_STATE_CLOSED, false, PW_EXPECT_NONE,
	  PW_CHANGE_CLOSED, PW_VERDICT_NONE, PW_EVENT_PORT_CLOSED, PW_EVENT_PORT_CLOSED, LOG_NOTICE,
	  PW_ALERT_CLOSED, PW_ALERT_CLOSED, true },
	{ "closed, must be open", true, true, PW_STATE_OPEN, PW_STATE_CLOSED, false, PW_EXPECT_OPEN,
	  PW_CHANGE_CLOSED, PW_VERDICT_EXPECTED_CLOSED, PW_EVENT_EXPECTED_CLOSED,
	  PW_EVENT_PORT_CLOSED, LOG_WARNING, PW_ALERT_EXPECTED_CLOSED, PW_ALERT_CLOSED, true },
	{ "closed, expected", true, true, PW_STATE_OPEN, PW_STATE_CLOSED, false, PW_EXPECT_CLOSED,
	  PW_CHANGE_CLOSED, PW_VERDICT_EXPECTED, PW_EVENT_PORT_CLOSED, PW_EVENT_PORT_CLOSED,
	  LOG_NOTICE, PW_ALERT_CLOSED, PW_ALERT_CLOSED, true },
	{ "filtered", true, true, PW_STATE_OPEN, PW_STATE_FILTERED, false, PW_EXPECT_NONE,
	  PW_CHANGE_FILTERED, PW_VERDICT_NONE, PW_EVENT_PORT_FILTERED, PW_EVENT_PORT_FILTERED,
	  LOG_NOTICE, PW_ALERT_FILTERED, PW_ALERT_FILTERED, true },
	{ "closed to filtered (minor)", true, true, PW_STATE_CLOSED, PW_STATE_FILTERED, false,
	  PW_EXPECT_NONE, PW_CHANGE_FILTERED, PW_VERDICT_NONE, PW_EVENT_PORT_FILTERED,
	  PW_EVENT_PORT_FILTERED, LOG_NOTICE, PW_ALERT_FILTERED, PW_ALERT_FILTERED, true },
	{ "unreachable", true, true, PW_STATE_OPEN, PW_STATE_UNREACHABLE, false, PW_EXPECT_NONE,
	  PW_CHANGE_UNREACHABLE, PW_VERDICT_NONE, PW_EVENT_PORT_UNREACHABLE,
	  PW_EVENT_PORT_UNREACHABLE, LOG_NOTICE, PW_ALERT_UNREACHABLE, PW_ALERT_UNREACHABLE, true },
	{ "unreachable, must be open", true, true, PW_STATE_OPEN, PW_STATE_UNREACHABLE, false,
	  PW_EXPECT_OPEN, PW_CHANGE_UNREACHABLE, PW_VERDICT_EXPECTED_CLOSED,
	  PW_EVENT_EXPECTED_CLOSED, PW_EVENT_PORT_UNREACHABLE, LOG_WARNING,
	  PW_ALERT_EXPECTED_CLOSED, PW_ALERT_UNREACHABLE, true },
	{ "flap", true, true, PW_STATE_OPEN, PW_STATE_CLOSED, true, PW_EXPECT_NONE, PW_CHANGE_FLAP,
	  PW_VERDICT_NONE, PW_EVENT_PORT_FLAPPING, PW_EVENT_PORT_FLAPPING, LOG_INFO,
	  PW_ALERT_FLAPPING, PW_ALERT_FLAPPING, false },
	{ "flap, never judged", true, true, PW_STATE_OPEN, PW_STATE_CLOSED, true, PW_EXPECT_OPEN,
	  PW_CHANGE_FLAP, PW_VERDICT_NONE, PW_EVENT_PORT_FLAPPING, PW_EVENT_PORT_FLAPPING, LOG_INFO,
	  PW_ALERT_FLAPPING, PW_ALERT_FLAPPING, false },
};

static char *argv_true[] = { (char *)"/bin/true", NULL };

/* A hook that takes every event, and one that takes only plain changes. */
static const struct pw_alert alert_all = { .argv = argv_true,
					   .argc = 1,
					   .events = PW_ALERT_EVENTS_ALL };
static const struct pw_alert alert_plain = {
	.argv = argv_true,
	.argc = 1,
	.events = BIT(PW_ALERT_OPENED) | BIT(PW_ALERT_CLOSED) | BIT(PW_ALERT_FILTERED) |
		  BIT(PW_ALERT_UNREACHABLE) | BIT(PW_ALERT_FLAPPING),
};

START_TEST(decision_table)
{
	const struct row *w = &rows[_i];
	struct pw_store_prior prior = { .has_baseline = w->baseline,
					.known = w->known,
					.state = w->old };
	struct pw_report_decision d;

	ck_assert_int_eq(pw_report_decide(&prior, w->seen, w->unconfirmed, w->expect, &d), 0);
	ck_assert_msg(d.change.kind == w->kind, "%s: kind %s", w->what,
		      pw_change_kind_to_string(d.change.kind) ?: "none");
	ck_assert_msg(d.verdict == w->verdict, "%s: verdict %s", w->what,
		      pw_policy_verdict_to_string(d.verdict) ?: "none");
	ck_assert_msg(d.event == w->event, "%s: event %s", w->what,
		      pw_event_type_to_string(d.event) ?: "none");
	ck_assert_msg(d.plain == w->plain, "%s: plain %s", w->what,
		      pw_event_type_to_string(d.plain) ?: "none");
	if (w->priority >= 0)
		ck_assert_msg(d.priority == w->priority, "%s: priority %d", w->what, d.priority);
	ck_assert_msg(pw_report_alert_event(&d, &alert_all) == w->alert_all, "%s: alert %s",
		      w->what, pw_alert_event_to_string(pw_report_alert_event(&d, &alert_all)));
	ck_assert_msg(pw_report_alert_event(&d, &alert_plain) == w->alert_plain,
		      "%s: plain alert %s", w->what,
		      pw_alert_event_to_string(pw_report_alert_event(&d, &alert_plain)));
	ck_assert_int_eq(pw_report_alert_event(&d, &(struct pw_alert){ 0 }), NONE_AL);
	ck_assert_msg(d.counts_as_change == w->counts, "%s: counts %d", w->what,
		      d.counts_as_change);
	/* the store is told the state as seen, the change as decided */
	ck_assert_int_eq(d.change.new_state, w->seen);
	ck_assert_int_eq(d.change.has_old, w->known);
}
END_TEST

/* Every event a result can log is a port event, and every verdict and kind appears above. */
START_TEST(table_covers_every_kind_and_verdict)
{
	bool kind[_PW_CHANGE_MAX] = { false }, verdict[_PW_VERDICT_MAX] = { false };

	for (size_t i = 0; i < PW_ELEMENTSOF(rows); i++) {
		kind[rows[i].kind] = true;
		verdict[rows[i].verdict] = true;
	}
	/* the address kinds and their verdict are no port result's (see
	 * address_state_once_per_episode) */
	for (int k = 0; k < _PW_CHANGE_MAX; k++)
		ck_assert_msg(kind[k] || k == PW_CHANGE_ACCEPTS_ALL ||
				      k == PW_CHANGE_ACCEPTS_ALL_ENDED,
			      "no row for change kind %d", k);
	for (int v = 0; v < _PW_VERDICT_MAX; v++)
		ck_assert_msg(verdict[v] || v == PW_VERDICT_ACCEPTS_ALL, "no row for verdict %d",
			      v);
}
END_TEST

/* Issue 12.4: an address's accepts-all state changes once per episode. */
START_TEST(address_state_once_per_episode)
{
	static const struct {
		bool was, found, refuted;
		enum pw_change_kind want;
	} cases[] = {
		{ false, true, false, PW_CHANGE_ACCEPTS_ALL }, /* it begins */
		{ false, true, true, PW_CHANGE_ACCEPTS_ALL },  /* ... also mid-run */
		{ true, true, false, PW_CHANGE_NONE },         /* every later run: nothing */
		{ true, true, true, PW_CHANGE_NONE },          /* found again wins */
		{ true, false, true,
		  PW_CHANGE_ACCEPTS_ALL_ENDED },        /* a port refused, no wildcard */
		{ true, false, false, PW_CHANGE_NONE }, /* no news of it: no evidence */
		{ false, false, true, PW_CHANGE_NONE },
		{ false, false, false, PW_CHANGE_NONE },
	};

	for (size_t i = 0; i < PW_ELEMENTSOF(cases); i++)
		ck_assert_msg(pw_report_decide_address(cases[i].was, cases[i].found,
						       cases[i].refuted) == cases[i].want,
			      "row %zu", i);
}
END_TEST

START_TEST(bad_input)
{
	struct pw_store_prior prior = { .has_baseline = true };
	struct pw_report_decision d = { .event = PW_EVENT_DAEMON_STOPPED };

	ck_assert_int_eq(pw_report_decide(&prior, _PW_STATE_MAX, false, PW_EXPECT_NONE, &d),
			 -EINVAL);
	ck_assert_int_eq(pw_report_decide(&prior, PW_STATE_OPEN, false, _PW_EXPECT_MAX, &d),
			 -EINVAL);
	/* untouched on failure */
	ck_assert_int_eq(d.event, PW_EVENT_DAEMON_STOPPED);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("decide");

	tcase_add_loop_test(tc, decision_table, 0, (int)PW_ELEMENTSOF(rows));
	tcase_add_test(tc, table_covers_every_kind_and_verdict);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, address_state_once_per_episode);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(suite)
