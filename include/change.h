/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Change detection: given what the store knows about one (job, address,
 * port) and what the engine just observed, decide what to record. Pure
 * logic, no I/O; the store calls it for every observation.
 *
 * Rules:
 *  - A port seen for the first time is recorded as an event only if it is
 *    open: BASELINE while the job has no completed run, OPENED after. A
 *    first sighting of a closed/filtered/unreachable port is NEW: it gets
 *    its row in the current-state table (with first_seen) but no event, so
 *    a baseline of 65,535 closed ports, or a widened port range, does not
 *    flood the history.
 *  - Until a job has a completed run it has no baseline: a port whose state
 *    differs from the one recorded is a BASELINE event too (never
 *    "opened"/"closed"). The first run that completes becomes the baseline.
 *  - After the baseline, open -> closed/filtered/unreachable is
 *    CLOSED/FILTERED/UNREACHABLE and closed/filtered/unreachable -> open is
 *    OPENED: major changes.
 *  - closed <-> filtered <-> unreachable are recorded too (kind = the new
 *    state) but as minor: the port is not open either way, yet a port that
 *    starts being filtered often means a firewall change.
 *  - An observation the engine flags PW_OBS_UNCONFIRMED (the state differed
 *    from the previous one but the confirmation re-probes did not agree) is
 *    a FLAP: recorded as a minor event, the current state is NOT changed,
 *    so an unconfirmed timeout never makes the history flap.
 *  - The same state again is NONE: nothing but last-seen is updated.
 * Ports that are not observed are not touched: an aborted run yields no
 * "closed" for what it never probed.
 */

#include <stdbool.h>

#include "state.h"

enum pw_change_kind {
	PW_CHANGE_NONE,
	PW_CHANGE_BASELINE,
	PW_CHANGE_NEW,
	PW_CHANGE_OPENED,
	PW_CHANGE_CLOSED,
	PW_CHANGE_FILTERED,
	PW_CHANGE_UNREACHABLE,
	PW_CHANGE_FLAP,
	/* Not about one port but its address (port 0): it started accepting
	 * connections on every port (a wildcard, tarpit or proxy answering
	 * for it), or a complete run found it no longer doing so. Never the
	 * outcome of pw_change_detect(); daemon/report.c decides them. */
	PW_CHANGE_ACCEPTS_ALL,
	PW_CHANGE_ACCEPTS_ALL_ENDED,
	_PW_CHANGE_MAX,
};

/* Observation flags (engine -> store). */
#define PW_OBS_UNCONFIRMED (1u << 0)

struct pw_change {
	enum pw_change_kind kind;
	bool major;              /* open <-> not open, or first seen open */
	bool has_old;            /* false: the port was never seen before */
	enum pw_state old_state; /* valid if has_old */
	enum pw_state new_state; /* as observed */
};

/*
 * Decide what an observation means. has_old/old_state: the current state
 * (if any); has_baseline: the job has completed a run. Returns 0, or
 * -EINVAL for a state out of range.
 */
int pw_change_detect(bool has_baseline, bool has_old, enum pw_state old_state,
		     enum pw_state new_state, unsigned obs_flags, struct pw_change *ret);

/* The kind of a confirmed change to state s (OPENED, CLOSED, ...); NONE out of range. */
enum pw_change_kind pw_change_kind_for_state(enum pw_state s);

/* Whether it replaces a port's current state (all but NONE, FLAP and the
 * address kinds). */
bool pw_change_updates_state(enum pw_change_kind k);

/* Whether it is recorded in the event table (all but NONE and NEW). */
static inline bool pw_change_is_event(enum pw_change_kind k)
{
	return k != PW_CHANGE_NONE && k != PW_CHANGE_NEW;
}

/* "baseline", "new", "opened", "closed", "filtered", "unreachable", "flap",
 * "accepts-all", "accepts-all-ended"; NULL for NONE. These strings are
 * stored in events.kind. */
const char *pw_change_kind_to_string(enum pw_change_kind k);
int pw_change_kind_from_string(const char *s);
