/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Port states, shared by the engine (which observes them), the store
 * (which records them) and the CLI (which shows them). The strings are
 * stored in the database and logged, so they never change.
 */

enum pw_state {
	PW_STATE_OPEN,        /* connect() completed */
	PW_STATE_CLOSED,      /* ECONNREFUSED: the host answered with RST */
	PW_STATE_FILTERED,    /* no answer within timeout after all retries */
	PW_STATE_UNREACHABLE, /* ICMP unreachable: EHOSTUNREACH, ENETUNREACH, ... */
	_PW_STATE_MAX,
};

const char *pw_state_to_string(enum pw_state s);

/* Returns the state, or -EINVAL for an unknown name. */
int pw_state_from_string(const char *s);
