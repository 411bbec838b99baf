/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "check-main.h"
#include "policy.h"
#include "util.h"

#define O PW_STATE_OPEN
#define C PW_STATE_CLOSED
#define F PW_STATE_FILTERED
#define U PW_STATE_UNREACHABLE

static void set_of(struct pw_iset *s, const uint16_t *ports, size_t n)
{
	*s = (struct pw_iset)PW_ISET_INIT;
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(pw_iset_add(s, ports[i], ports[i]), 0);
}

START_TEST(expect_from_sets)
{
	static const uint16_t exp[] = { 22, 80, 443 }, never[] = { 23, 3306 };
	struct pw_iset e, n, empty = PW_ISET_INIT;

	set_of(&e, exp, PW_ELEMENTSOF(exp));
	set_of(&n, never, PW_ELEMENTSOF(never));

	/* no sets: no policy at all */
	ck_assert_int_eq(pw_policy_expect(NULL, NULL, 22), PW_EXPECT_NONE);
	ck_assert_int_eq(pw_policy_expect(&empty, &empty, 23), PW_EXPECT_NONE);
	/* only never_open: listed ports must stay shut, the rest is free */
	ck_assert_int_eq(pw_policy_expect(&empty, &n, 23), PW_EXPECT_CLOSED);
	ck_assert_int_eq(pw_policy_expect(&empty, &n, 3306), PW_EXPECT_CLOSED);
	ck_assert_int_eq(pw_policy_expect(&empty, &n, 22), PW_EXPECT_NONE);
	ck_assert_int_eq(pw_policy_expect(NULL, &n, 8080), PW_EXPECT_NONE);
	/* expect_open: listed must be open, everything else must not */
	ck_assert_int_eq(pw_policy_expect(&e, NULL, 22), PW_EXPECT_OPEN);
	ck_assert_int_eq(pw_policy_expect(&e, NULL, 443), PW_EXPECT_OPEN);
	ck_assert_int_eq(pw_policy_expect(&e, NULL, 21), PW_EXPECT_CLOSED);
	ck_assert_int_eq(pw_policy_expect(&e, &empty, 8080), PW_EXPECT_CLOSED);
	/* both */
	ck_assert_int_eq(pw_policy_expect(&e, &n, 80), PW_EXPECT_OPEN);
	ck_assert_int_eq(pw_policy_expect(&e, &n, 23), PW_EXPECT_CLOSED);
	ck_assert_int_eq(pw_policy_expect(&e, &n, 1), PW_EXPECT_CLOSED);
	pw_iset_done(&e);
	pw_iset_done(&n);
}
END_TEST

#define N PW_EXPECT_NONE
#define EO PW_EXPECT_OPEN
#define EC PW_EXPECT_CLOSED
#define V_NONE PW_VERDICT_NONE
#define V_OK PW_VERDICT_EXPECTED
#define V_UO PW_VERDICT_UNEXPECTED_OPEN
#define V_EC PW_VERDICT_EXPECTED_CLOSED

START_TEST(classify_table)
{
	static const struct {
		enum pw_policy_expect e;
		enum pw_change_kind kind;
		enum pw_state old, new;
		enum pw_policy_verdict v;
	} t[] = {
		/* no policy: never a verdict */
		{ N, PW_CHANGE_OPENED, C, O, V_NONE },
		{ N, PW_CHANGE_CLOSED, O, C, V_NONE },
		{ N, PW_CHANGE_BASELINE, O, O, V_NONE },
		{ N, PW_CHANGE_NEW, C, C, V_NONE },
		/* must not be open */
		{ EC, PW_CHANGE_OPENED, C, O, V_UO },
		{ EC, PW_CHANGE_OPENED, F, O, V_UO },
		{ EC, PW_CHANGE_BASELINE, O, O, V_UO },
		{ EC, PW_CHANGE_CLOSED, O, C, V_OK },
		{ EC, PW_CHANGE_FILTERED, O, F, V_OK },
		{ EC, PW_CHANGE_UNREACHABLE, C, U, V_OK },
		{ EC, PW_CHANGE_BASELINE, O, C, V_OK },
		{ EC, PW_CHANGE_NEW, C, C, V_OK },
		/* must be open */
		{ EO, PW_CHANGE_OPENED, C, O, V_OK },
		{ EO, PW_CHANGE_BASELINE, O, O, V_OK },
		{ EO, PW_CHANGE_CLOSED, O, C, V_EC },
		{ EO, PW_CHANGE_FILTERED, O, F, V_EC },
		{ EO, PW_CHANGE_UNREACHABLE, O, U, V_EC },
		/* still not open, another way: the violation goes on */
		{ EO, PW_CHANGE_FILTERED, C, F, V_EC },
		{ EO, PW_CHANGE_BASELINE, O, C, V_EC },
		{ EO, PW_CHANGE_NEW, C, C, V_EC },
		{ EO, PW_CHANGE_NEW, F, F, V_EC },
		/* nothing to judge */
		{ EO, PW_CHANGE_NONE, O, O, V_NONE },
		{ EC, PW_CHANGE_NONE, O, O, V_NONE },
		{ EO, PW_CHANGE_FLAP, O, F, V_NONE },
		{ EC, PW_CHANGE_FLAP, C, O, V_NONE },
	};

	for (size_t i = 0; i < PW_ELEMENTSOF(t); i++) {
		struct pw_change c = { .kind = t[i].kind,
				       .has_old = true,
				       .old_state = t[i].old,
				       .new_state = t[i].new };

		ck_assert_msg(pw_policy_classify(t[i].e, &c) == t[i].v, "row %zu: got %d, want %d",
			      i, pw_policy_classify(t[i].e, &c), t[i].v);
	}
}
END_TEST

/* Real detector output through apply: the cases the store meets. */
START_TEST(apply_promotes_violating_sightings)
{
	static const struct {
		enum pw_policy_expect e;
		bool baseline;
		enum pw_state new;
		enum pw_change_kind kind; /* after apply */
		enum pw_policy_verdict v;
	} t[] = {
		/* expected port first seen closed: recorded */
		{ EO, false, C, PW_CHANGE_BASELINE, V_EC },
		{ EO, true, C, PW_CHANGE_CLOSED, V_EC },
		{ EO, true, F, PW_CHANGE_FILTERED, V_EC },
		{ EO, true, U, PW_CHANGE_UNREACHABLE, V_EC },
		/* first seen closed and that is fine: still no event */
		{ EC, false, C, PW_CHANGE_NEW, V_OK },
		{ N, true, C, PW_CHANGE_NEW, V_NONE },
		/* first seen open: already an event, kind kept */
		{ EC, false, O, PW_CHANGE_BASELINE, V_UO },
		{ EC, true, O, PW_CHANGE_OPENED, V_UO },
		{ EO, true, O, PW_CHANGE_OPENED, V_OK },
	};

	for (size_t i = 0; i < PW_ELEMENTSOF(t); i++) {
		struct pw_change c;
		enum pw_policy_verdict v;

		ck_assert_int_eq(pw_change_detect(t[i].baseline, false, O, t[i].new, 0, &c), 0);
		v = pw_policy_apply(t[i].e, t[i].baseline, &c);
		ck_assert_msg(v == t[i].v, "row %zu: verdict %d, want %d", i, v, t[i].v);
		ck_assert_msg(c.kind == t[i].kind, "row %zu: kind %d, want %d", i, c.kind,
			      t[i].kind);
		ck_assert_msg(pw_change_is_event(c.kind) == (t[i].kind != PW_CHANGE_NEW), "row %zu",
			      i);
		/* the caller classifies the returned change again: same answer */
		ck_assert_int_eq(pw_policy_classify(t[i].e, &c), v);
	}
}
END_TEST

START_TEST(names)
{
	ck_assert_ptr_null(pw_policy_verdict_to_string(PW_VERDICT_NONE));
	ck_assert_str_eq(pw_policy_verdict_to_string(PW_VERDICT_UNEXPECTED_OPEN),
			 "unexpected-open");
	ck_assert_str_eq(pw_policy_verdict_to_string(PW_VERDICT_EXPECTED_CLOSED),
			 "expected-closed");
	ck_assert_ptr_null(pw_policy_verdict_to_string(_PW_VERDICT_MAX));
	for (int v = 1; v < _PW_VERDICT_MAX; v++)
		ck_assert_int_eq(pw_policy_verdict_from_string(pw_policy_verdict_to_string(v)), v);
	ck_assert_int_eq(pw_policy_verdict_from_string("opened"), -EINVAL);
	ck_assert_int_eq(pw_policy_verdict_from_string(NULL), -EINVAL);
	ck_assert(pw_policy_is_violation(PW_VERDICT_UNEXPECTED_OPEN));
	ck_assert(pw_policy_is_violation(PW_VERDICT_EXPECTED_CLOSED));
	ck_assert(!pw_policy_is_violation(PW_VERDICT_EXPECTED));
	ck_assert(!pw_policy_is_violation(PW_VERDICT_NONE));
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, expect_from_sets);
	tcase_add_test(tc, classify_table);
	tcase_add_test(tc, apply_promotes_violating_sightings);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(policy_suite)
