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

PW_DEFINE_STRING_TABLE_LOOKUP(pw_state, enum pw_state, state_names)
