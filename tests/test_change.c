/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "change.h"
#include "check-main.h"
#include "util.h"

#define O PW_STATE_OPEN
#define C PW_STATE_CLOSED
#define F PW_STATE_FILTERED
#define U PW_STATE_UNREACHABLE
#define UNCONF PW_OBS_UNCONFIRMED

START_TEST(detect_table)
{
	static const struct {
		bool baseline, has_old;
		enum pw_state old, new;
		unsigned flags;
		enum pw_change_kind kind;
		bool major;
	} t[] = {
		/* no baseline yet: open ports and differences are baseline,
		 * never "opened"; first sightings of closed ports are no event */
		{ false, false, O, O, 0, PW_CHANGE_BASELINE, false },
		{ false, false, C, C, 0, PW_CHANGE_NEW, false },
		{ false, false, C, U, 0, PW_CHANGE_NEW, false },
		{ false, true, O, C, 0, PW_CHANGE_BASELINE, false },
		{ false, true, C, O, 0, PW_CHANGE_BASELINE, false },
		{ false, true, O, O, 0, PW_CHANGE_NONE, false },
		{ false, true, O, F, UNCONF, PW_CHANGE_FLAP, false },
		/* unconfirmed without an old state is just a first sighting */
		{ false, false, O, F, UNCONF, PW_CHANGE_NEW, false },
		{ false, false, O, O, UNCONF, PW_CHANGE_BASELINE, false },
		{ true, false, O, O, UNCONF, PW_CHANGE_OPENED, true },
		/* after the baseline: first sighting */
		{ true, false, O, O, 0, PW_CHANGE_OPENED, true },
		{ true, false, O, C, 0, PW_CHANGE_NEW, false },
		{ true, false, O, F, 0, PW_CHANGE_NEW, false },
		/* open <-> not open: major */
		{ true, true, O, C, 0, PW_CHANGE_CLOSED, true },
		{ true, true, O, F, 0, PW_CHANGE_FILTERED, true },
		{ true, true, O, U, 0, PW_CHANGE_UNREACHABLE, true },
		{ true, true, C, O, 0, PW_CHANGE_OPENED, true },
		{ true, true, F, O, 0, PW_CHANGE_OPENED, true },
		{ true, true, U, O, 0, PW_CHANGE_OPENED, true },
		/* among not-open states: recorded, minor */
		{ true, true, C, F, 0, PW_CHANGE_FILTERED, false },
		{ true, true, F, C, 0, PW_CHANGE_CLOSED, false },
		{ true, true, C, U, 0, PW_CHANGE_UNREACHABLE, false },
		{ true, true, U, F, 0, PW_CHANGE_FILTERED, false },
		/* same state: nothing, confirmed or not */
		{ true, true, O, O, 0, PW_CHANGE_NONE, false },
		{ true, true, F, F, UNCONF, PW_CHANGE_NONE, false },
		/* unconfirmed differences flap, whatever the direction */
		{ true, true, O, F, UNCONF, PW_CHANGE_FLAP, false },
		{ true, true, O, C, UNCONF, PW_CHANGE_FLAP, false },
		{ true, true, F, O, UNCONF, PW_CHANGE_FLAP, false },
	};

	for (size_t i = 0; i < PW_ELEMENTSOF(t); i++) {
		struct pw_change c;

		ck_assert_int_eq(pw_change_detect(t[i].baseline, t[i].has_old, t[i].old, t[i].new,
						  t[i].flags, &c),
				 0);
		ck_assert_msg(c.kind == t[i].kind, "row %zu: kind %d want %d", i, c.kind,
			      t[i].kind);
		ck_assert_msg(c.major == t[i].major, "row %zu: major %d", i, c.major);
		ck_assert(c.has_old == t[i].has_old);
		ck_assert(c.new_state == t[i].new);
		if (t[i].has_old)
			ck_assert(c.old_state == t[i].old);
	}
}
END_TEST

START_TEST(detect_rejects_bad_state)
{
	struct pw_change c = { .kind = PW_CHANGE_FLAP };

	ck_assert_int_eq(pw_change_detect(true, true, O, _PW_STATE_MAX, 0, &c), -EINVAL);
	ck_assert_int_eq(pw_change_detect(true, true, (enum pw_state)9, O, 0, &c), -EINVAL);
	ck_assert(c.kind == PW_CHANGE_FLAP); /* untouched */
	/* an out-of-range old state is ignored when there is no old state */
	ck_assert_int_eq(pw_change_detect(true, false, (enum pw_state)9, O, 0, &c), 0);
	ck_assert(c.kind == PW_CHANGE_OPENED);
}
END_TEST

START_TEST(updates_state)
{
	ck_assert(!pw_change_updates_state(PW_CHANGE_NONE));
	ck_assert(!pw_change_updates_state(PW_CHANGE_FLAP));
	for (int k = PW_CHANGE_BASELINE; k < PW_CHANGE_FLAP; k++)
		ck_assert(pw_change_updates_state((enum pw_change_kind)k));
	/* an address's accepts-all state is not a port's */
	ck_assert(!pw_change_updates_state(PW_CHANGE_ACCEPTS_ALL));
	ck_assert(!pw_change_updates_state(PW_CHANGE_ACCEPTS_ALL_ENDED));
	ck_assert(pw_change_is_event(PW_CHANGE_ACCEPTS_ALL));
	ck_assert(pw_change_is_event(PW_CHANGE_ACCEPTS_ALL_ENDED));
	ck_assert(!pw_change_is_event(PW_CHANGE_NONE));
	ck_assert(!pw_change_is_event(PW_CHANGE_NEW));
	ck_assert(pw_change_is_event(PW_CHANGE_BASELINE));
	ck_assert(pw_change_is_event(PW_CHANGE_FLAP));
}
END_TEST

/* policy.c makes a violating first sighting an event of this kind */
START_TEST(kind_for_each_state)
{
	ck_assert_int_eq(pw_change_kind_for_state(PW_STATE_OPEN), PW_CHANGE_OPENED);
	ck_assert_int_eq(pw_change_kind_for_state(PW_STATE_CLOSED), PW_CHANGE_CLOSED);
	ck_assert_int_eq(pw_change_kind_for_state(PW_STATE_FILTERED), PW_CHANGE_FILTERED);
	ck_assert_int_eq(pw_change_kind_for_state(PW_STATE_UNREACHABLE), PW_CHANGE_UNREACHABLE);
	ck_assert_int_eq(pw_change_kind_for_state(_PW_STATE_MAX), PW_CHANGE_NONE);
}
END_TEST

START_TEST(kind_strings_round_trip)
{
	ck_assert_ptr_null(pw_change_kind_to_string(PW_CHANGE_NONE));
	ck_assert_ptr_null(pw_change_kind_to_string(_PW_CHANGE_MAX));
	for (int k = PW_CHANGE_BASELINE; k < _PW_CHANGE_MAX; k++) {
		const char *s = pw_change_kind_to_string((enum pw_change_kind)k);

		ck_assert_ptr_nonnull(s);
		ck_assert_int_eq(pw_change_kind_from_string(s), k);
	}
	ck_assert_str_eq(pw_change_kind_to_string(PW_CHANGE_OPENED), "opened");
	ck_assert_int_eq(pw_change_kind_from_string("none"), -EINVAL);
	ck_assert_int_eq(pw_change_kind_from_string(NULL), -EINVAL);
}
END_TEST

static Suite *change_suite(void)
{
	Suite *s = suite_create("change");
	TCase *tc = tcase_create("detect");

	tcase_add_test(tc, detect_table);
	tcase_add_test(tc, detect_rejects_bad_state);
	tcase_add_test(tc, updates_state);
	tcase_add_test(tc, kind_strings_round_trip);
	tcase_add_test(tc, kind_for_each_state);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(change_suite)
