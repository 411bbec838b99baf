/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Expected-state policy: what a job's expect_open and never_open port sets
 * say about a change. Pure logic, no I/O; the store records the verdict
 * with the event, the daemon logs and alerts on it.
 *
 * Rules (port sets apply to every target of the job):
 *  - A job with neither expect_open nor never_open has no policy: nothing
 *    is a violation, changes log as plain port events.
 *  - A port in never_open must not be open. With expect_open non-empty,
 *    every port outside it must not be open either ("only these").
 *  - A port in expect_open must be open.
 *  - A change that puts a port in a state the policy forbids is a
 *    violation: UNEXPECTED_OPEN (open, but must not be) or EXPECTED_CLOSED
 *    (must be open, but is closed, filtered or unreachable). That holds for
 *    baseline events too, and for a first sighting of a port that is not
 *    open (PW_CHANGE_NEW, normally no event): pw_policy_apply() turns such
 *    a sighting of an expected port into an event so the violation is
 *    recorded.
 *  - A change to a state the policy wants is EXPECTED (logged at notice).
 *  - Nothing else is judged: unchanged ports, and flaps (which leave the
 *    recorded state as it was).
 * A port whose policy changes with a reload while its state stays the same
 * is judged at its next change, not at once.
 */

#include <stdbool.h>
#include <stdint.h>

#include "change.h"
#include "iset.h"

enum pw_policy_expect {
	PW_EXPECT_NONE,   /* no policy for this port */
	PW_EXPECT_OPEN,   /* in expect_open */
	PW_EXPECT_CLOSED, /* in never_open, or outside a non-empty expect_open */
	_PW_EXPECT_MAX,
};

enum pw_policy_verdict {
	PW_VERDICT_NONE,     /* no policy, or nothing to judge */
	PW_VERDICT_EXPECTED, /* now as the policy wants */
	PW_VERDICT_UNEXPECTED_OPEN,
	PW_VERDICT_EXPECTED_CLOSED,
	/* not a port policy: an address that accepts everything hides what
	 * its ports do, so its start is a violation to acknowledge, whatever
	 * the job's port sets say (the store records it with the event) */
	PW_VERDICT_ACCEPTS_ALL,
	_PW_VERDICT_MAX,
};

/* What the job's sets (either may be empty or NULL) expect of a port. */
enum pw_policy_expect pw_policy_expect(const struct pw_iset *expect_open,
				       const struct pw_iset *never_open, uint16_t port);

/* The verdict on a change (as pw_change_detect() or the store returned it). */
enum pw_policy_verdict pw_policy_classify(enum pw_policy_expect e, const struct pw_change *c);

/*
 * Classify, and make a violating first sighting (PW_CHANGE_NEW) an event:
 * BASELINE while the job has no baseline, else the kind of its state
 * (CLOSED, FILTERED, UNREACHABLE). Classifying the changed c again gives
 * the same verdict.
 */
enum pw_policy_verdict pw_policy_apply(enum pw_policy_expect e, bool has_baseline,
				       struct pw_change *c);

static inline bool pw_policy_is_violation(enum pw_policy_verdict v)
{
	return v == PW_VERDICT_UNEXPECTED_OPEN || v == PW_VERDICT_EXPECTED_CLOSED ||
	       v == PW_VERDICT_ACCEPTS_ALL;
}

/* "unexpected-open", "expected-closed", "accepts-all" (stored in
 * events.policy), "expected"; NULL for NONE. */
const char *pw_policy_verdict_to_string(enum pw_policy_verdict v);
int pw_policy_verdict_from_string(const char *s);
