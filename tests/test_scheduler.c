/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "check-main.h"
#include "scheduler.h"
#include "util.h"

#define S(x) ((uint64_t)(x)*USEC_PER_SEC)
#define T0 S(1800000000) /* a realistic realtime clock */

static struct pw_scheduler *new_sched(uint64_t spread)
{
	struct pw_scheduler *s;

	ck_assert_int_eq(pw_scheduler_new(42, spread, &s), 0);
	return s;
}

/* Poll once; return the action kind, or -1 if nothing was due. */
/* the skips_in_row of the last action poll_kind() saw */
static unsigned last_skips;

static int poll_kind(struct pw_scheduler *s, uint64_t now, const char **job)
{
	struct pw_sched_action a;
	int r = pw_scheduler_poll(s, now, &a);

	ck_assert_int_ge(r, 0);
	if (r == 0)
		return -1;
	if (job)
		*job = a.job;
	last_skips = a.skips_in_row;
	return (int)a.kind;
}

START_TEST(new_job_runs_within_spread)
{
	struct pw_scheduler *s = new_sched(S(5));
	uint64_t due;
	const char *job;

	ck_assert_int_eq(pw_scheduler_add(s, "web", S(60), 0, 0, T0), 0);
	ck_assert_int_eq(pw_scheduler_job_due(s, "web", &due), 0);
	ck_assert_uint_ge(due, T0);
	ck_assert_uint_le(due, T0 + S(5));
	ck_assert_uint_eq(pw_scheduler_next_deadline(s), due);
	ck_assert_int_eq(poll_kind(s, due - 1, NULL), -1);
	ck_assert_int_eq(poll_kind(s, due, &job), PW_SCHED_RUN);
	ck_assert_str_eq(job, "web");
	ck_assert(pw_scheduler_job_running(s, "web"));
	/* the cadence starts at the first run, not at the add */
	ck_assert_int_eq(pw_scheduler_finished(s, "web"), 0);
	{
		uint64_t first = due;

		ck_assert_int_eq(pw_scheduler_job_due(s, "web", &due), 0);
		ck_assert_uint_eq(due, first + S(60));
	}
	pw_scheduler_free(s);
}
END_TEST

START_TEST(restart_keeps_cadence_from_store)
{
	struct pw_scheduler *s = new_sched(S(30));
	uint64_t due;

	/* last run 20 s ago with a 60 s interval: due in 40 s, not now */
	ck_assert_int_eq(pw_scheduler_add(s, "a", S(60), 0, T0 - S(20), T0), 0);
	ck_assert_int_eq(pw_scheduler_job_due(s, "a", &due), 0);
	ck_assert_uint_eq(due, T0 + S(40));
	ck_assert_int_eq(poll_kind(s, T0, NULL), -1);

	/* overdue jobs are spread over the start window, not all at T0 */
	for (int i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "j%d", i);
		ck_assert_int_eq(pw_scheduler_add(s, name, S(3600), 0, T0 - S(7200), T0), 0);
	}
	{
		int at_once = 0;

		while (poll_kind(s, T0, NULL) == PW_SCHED_RUN)
			at_once++;
		ck_assert_int_lt(at_once, 5);
	}
	ck_assert_uint_le(pw_scheduler_next_deadline(s), T0 + S(30));
	pw_scheduler_free(s);
}
END_TEST

START_TEST(fixed_cadence_with_jitter)
{
	struct pw_scheduler *s = new_sched(0);
	uint64_t now = T0, due;

	ck_assert_int_eq(pw_scheduler_add(s, "a", S(60), S(10), 0, now), 0);
	ck_assert_int_eq(poll_kind(s, now, NULL), PW_SCHED_RUN);
	for (int k = 1; k <= 50; k++) {
		/* run takes 5 s */
		ck_assert_int_eq(pw_scheduler_finished(s, "a"), 0);
		ck_assert_int_eq(pw_scheduler_job_due(s, "a", &due), 0);
		/* anchored on T0 + k*60: the run time does not push the schedule */
		ck_assert_uint_ge(due, T0 + S(60) * (uint64_t)k);
		ck_assert_uint_le(due, T0 + S(60) * (uint64_t)k + S(10));
		ck_assert_int_eq(poll_kind(s, due, NULL), PW_SCHED_RUN);
	}
	pw_scheduler_free(s);
}
END_TEST

START_TEST(overrun_skips_once_per_missed_due)
{
	struct pw_scheduler *s = new_sched(0);
	uint64_t due;

	ck_assert_int_eq(pw_scheduler_add(s, "slow", S(60), 0, 0, T0), 0);
	ck_assert_int_eq(poll_kind(s, T0, NULL), PW_SCHED_RUN);
	/* still running at T0+60: one skip, no second start */
	ck_assert_int_eq(poll_kind(s, T0 + S(60), NULL), PW_SCHED_SKIP);
	ck_assert_uint_eq(last_skips, 1);
	ck_assert_int_eq(poll_kind(s, T0 + S(60), NULL), -1);
	ck_assert_int_eq(poll_kind(s, T0 + S(120), NULL), PW_SCHED_SKIP);
	ck_assert_uint_eq(last_skips, 2); /* in a row: the job is behind */
	ck_assert_int_eq(pw_scheduler_finished(s, "slow"), 0);
	ck_assert_int_eq(pw_scheduler_job_due(s, "slow", &due), 0);
	ck_assert_uint_eq(due, T0 + S(180));
	ck_assert_int_eq(poll_kind(s, T0 + S(150), NULL), -1);
	ck_assert_int_eq(poll_kind(s, T0 + S(180), NULL), PW_SCHED_RUN);
	/* a start ends the row of skips */
	ck_assert_int_eq(poll_kind(s, T0 + S(240), NULL), PW_SCHED_SKIP);
	ck_assert_uint_eq(last_skips, 1);
	pw_scheduler_free(s);
}
END_TEST

START_TEST(stall_does_not_catch_up)
{
	struct pw_scheduler *s = new_sched(0);
	uint64_t due, late = T0 + S(3600);

	ck_assert_int_eq(pw_scheduler_add(s, "a", S(60), 0, 0, T0), 0);
	ck_assert_int_eq(poll_kind(s, T0, NULL), PW_SCHED_RUN);
	ck_assert_int_eq(pw_scheduler_finished(s, "a"), 0);
	/* an hour of suspend: one run now, then the next a full interval later */
	ck_assert_int_eq(poll_kind(s, late, NULL), PW_SCHED_RUN);
	ck_assert_int_eq(pw_scheduler_finished(s, "a"), 0);
	ck_assert_int_eq(poll_kind(s, late, NULL), -1);
	ck_assert_int_eq(pw_scheduler_job_due(s, "a", &due), 0);
	ck_assert_uint_eq(due, late + S(60));
	pw_scheduler_free(s);
}
END_TEST

START_TEST(run_now_and_errors)
{
	struct pw_scheduler *s = new_sched(0);
	uint64_t due;

	ck_assert_int_eq(pw_scheduler_add(s, "a", S(3600), 0, T0 - S(10), T0), 0);
	ck_assert_int_eq(pw_scheduler_add(s, "a", S(60), 0, 0, T0), -EEXIST);
	ck_assert_int_eq(pw_scheduler_add(s, "z", 0, 0, 0, T0), -EINVAL);
	ck_assert_int_eq(pw_scheduler_run_now(s, "nope", T0), -ENOENT);
	ck_assert_int_eq(poll_kind(s, T0 + S(1), NULL), -1);
	ck_assert_int_eq(pw_scheduler_run_now(s, "a", T0 + S(1)), 0);
	ck_assert_int_eq(poll_kind(s, T0 + S(1), NULL), PW_SCHED_RUN);
	ck_assert_int_eq(pw_scheduler_run_now(s, "a", T0 + S(2)), -EBUSY);
	ck_assert_int_eq(pw_scheduler_finished(s, "a"), 0);
	/* the cadence restarted from the manual run */
	ck_assert_int_eq(pw_scheduler_job_due(s, "a", &due), 0);
	ck_assert_uint_eq(due, T0 + S(1) + S(3600));
	ck_assert_int_eq(pw_scheduler_remove(s, "a"), 0);
	ck_assert_int_eq(pw_scheduler_remove(s, "a"), -ENOENT);
	ck_assert_uint_eq(pw_scheduler_next_deadline(s), UINT64_MAX);
	pw_scheduler_free(s);
}
END_TEST

START_TEST(earliest_job_first)
{
	struct pw_scheduler *s = new_sched(0);
	const char *job;

	ck_assert_int_eq(pw_scheduler_add(s, "late", S(60), 0, T0 - S(30), T0), 0);
	ck_assert_int_eq(pw_scheduler_add(s, "early", S(60), 0, T0 - S(50), T0), 0);
	ck_assert_uint_eq(pw_scheduler_next_deadline(s), T0 + S(10));
	ck_assert_int_eq(poll_kind(s, T0 + S(40), &job), PW_SCHED_RUN);
	ck_assert_str_eq(job, "early");
	ck_assert_int_eq(poll_kind(s, T0 + S(40), &job), PW_SCHED_RUN);
	ck_assert_str_eq(job, "late");
	pw_scheduler_free(s);
}
END_TEST

static Suite *scheduler_suite(void)
{
	Suite *s = suite_create("scheduler");
	TCase *tc = tcase_create("scheduler");

	tcase_add_test(tc, new_job_runs_within_spread);
	tcase_add_test(tc, restart_keeps_cadence_from_store);
	tcase_add_test(tc, fixed_cadence_with_jitter);
	tcase_add_test(tc, overrun_skips_once_per_missed_due);
	tcase_add_test(tc, stall_does_not_catch_up);
	tcase_add_test(tc, run_now_and_errors);
	tcase_add_test(tc, earliest_job_first);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(scheduler_suite)
