/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <string.h>

#include "policy.h"
#include "util.h"

static const char *const verdict_names[_PW_VERDICT_MAX] = {
	[PW_VERDICT_NONE] = NULL,
	[PW_VERDICT_EXPECTED] = "expected",
	[PW_VERDICT_UNEXPECTED_OPEN] = "unexpected-open",
	[PW_VERDICT_EXPECTED_CLOSED] = "expected-closed",
	[PW_VERDICT_ACCEPTS_ALL] = "accepts-all",
};

PW_DEFINE_STRING_TABLE_LOOKUP(pw_policy_verdict, enum pw_policy_verdict, verdict_names)

static bool has_any(const struct pw_iset *s)
{
	return s && s->n > 0;
}

enum pw_policy_expect pw_policy_expect(const struct pw_iset *expect_open,
				       const struct pw_iset *never_open, uint16_t port)
{
	if (has_any(never_open) && pw_iset_contains(never_open, port))
		return PW_EXPECT_CLOSED;
	if (!has_any(expect_open))
		return PW_EXPECT_NONE;
	return pw_iset_contains(expect_open, port) ? PW_EXPECT_OPEN : PW_EXPECT_CLOSED;
}

enum pw_policy_verdict pw_policy_classify(enum pw_policy_expect e, const struct pw_change *c)
{
	bool open = c->new_state == PW_STATE_OPEN;

	switch (c->kind) {
	case PW_CHANGE_NONE:
	case PW_CHANGE_FLAP:
	case PW_CHANGE_ACCEPTS_ALL: /* about the address: no port policy applies */
	case PW_CHANGE_ACCEPTS_ALL_ENDED:
	case _PW_CHANGE_MAX:
		return PW_VERDICT_NONE;
	case PW_CHANGE_BASELINE:
	case PW_CHANGE_NEW:
	case PW_CHANGE_OPENED:
	case PW_CHANGE_CLOSED:
	case PW_CHANGE_FILTERED:
	case PW_CHANGE_UNREACHABLE:
		break;
	}
	switch (e) {
	case PW_EXPECT_OPEN:
		return open ? PW_VERDICT_EXPECTED : PW_VERDICT_EXPECTED_CLOSED;
	case PW_EXPECT_CLOSED:
		return open ? PW_VERDICT_UNEXPECTED_OPEN : PW_VERDICT_EXPECTED;
	case PW_EXPECT_NONE:
	case _PW_EXPECT_MAX:
		break;
	}
	return PW_VERDICT_NONE;
}

enum pw_policy_verdict pw_policy_apply(enum pw_policy_expect e, bool has_baseline,
				       struct pw_change *c)
{
	enum pw_policy_verdict v = pw_policy_classify(e, c);

	if (c->kind == PW_CHANGE_NEW && pw_policy_is_violation(v)) {
		/* NEW is never open, so this is CLOSED, FILTERED or UNREACHABLE */
		c->kind = has_baseline ? pw_change_kind_for_state(c->new_state)
				       : PW_CHANGE_BASELINE;
		c->major = false; /* a first sighting, not open <-> not open */
	}
	return v;
}
