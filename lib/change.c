/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <string.h>

#include "change.h"
#include "util.h"

static const char *const kind_names[_PW_CHANGE_MAX] = {
	[PW_CHANGE_NONE] = NULL,
	[PW_CHANGE_BASELINE] = "baseline",
	[PW_CHANGE_NEW] = "new",
	[PW_CHANGE_OPENED] = "opened",
	[PW_CHANGE_CLOSED] = "closed",
	[PW_CHANGE_FILTERED] = "filtered",
	[PW_CHANGE_UNREACHABLE] = "unreachable",
	[PW_CHANGE_FLAP] = "flap",
	[PW_CHANGE_ACCEPTS_ALL] = "accepts-all",
	[PW_CHANGE_ACCEPTS_ALL_ENDED] = "accepts-all-ended",
};

PW_DEFINE_STRING_TABLE_LOOKUP(pw_change_kind, enum pw_change_kind, kind_names)

bool pw_change_updates_state(enum pw_change_kind k)
{
	return k != PW_CHANGE_NONE && k != PW_CHANGE_FLAP && k != PW_CHANGE_ACCEPTS_ALL &&
	       k != PW_CHANGE_ACCEPTS_ALL_ENDED;
}

enum pw_change_kind pw_change_kind_for_state(enum pw_state s)
{
	switch (s) {
	case PW_STATE_OPEN:
		return PW_CHANGE_OPENED;
	case PW_STATE_CLOSED:
		return PW_CHANGE_CLOSED;
	case PW_STATE_FILTERED:
		return PW_CHANGE_FILTERED;
	case PW_STATE_UNREACHABLE:
		return PW_CHANGE_UNREACHABLE;
	case _PW_STATE_MAX:
		break;
	}
	return PW_CHANGE_NONE;
}

int pw_change_detect(bool has_baseline, bool has_old, enum pw_state old_state,
		     enum pw_state new_state, unsigned obs_flags, struct pw_change *ret)
{
	struct pw_change c = {
		.kind = PW_CHANGE_NONE,
		.has_old = has_old,
		.old_state = has_old ? old_state : new_state,
		.new_state = new_state,
	};

	if ((unsigned)new_state >= _PW_STATE_MAX ||
	    (has_old && (unsigned)old_state >= _PW_STATE_MAX))
		return -EINVAL;

	if (has_old && old_state == new_state)
		c.kind = PW_CHANGE_NONE;
	else if (has_old && (obs_flags & PW_OBS_UNCONFIRMED))
		/* Nothing to confirm against without an old state, so the flag
		 * only matters for a difference. */
		c.kind = PW_CHANGE_FLAP;
	else if (!has_old && new_state != PW_STATE_OPEN)
		c.kind = PW_CHANGE_NEW;
	else if (!has_baseline)
		c.kind = PW_CHANGE_BASELINE;
	else if (!has_old) {
		c.kind = PW_CHANGE_OPENED;
		c.major = true;
	} else {
		c.kind = pw_change_kind_for_state(new_state);
		c.major = (old_state == PW_STATE_OPEN) != (new_state == PW_STATE_OPEN);
	}
	*ret = c;
	return 0;
}
