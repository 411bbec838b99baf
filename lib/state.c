/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <string.h>

#include "state.h"
#include "util.h"

static const char *const state_names[_PW_STATE_MAX] = {
	[PW_STATE_OPEN] = "open",
	[PW_STATE_CLOSED] = "closed",
	[PW_STATE_FILTERED] = "filtered",
	[PW_STATE_UNREACHABLE] = "unreachable",
};

const char *pw_state_to_string(enum pw_state s)
{
	if ((unsigned)s >= _PW_STATE_MAX)
		return NULL;
	return state_names[s];
}

int pw_state_from_string(const char *s)
{
	return pw_table_lookup(state_names, PW_ELEMENTSOF(state_names), s);
}
