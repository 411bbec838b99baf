/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Shared main() for the check unit tests: one suite per module, run in
 * forked mode so a crash fails one test instead of the whole program.
 */
#include <check.h>
#include <stdlib.h>

#define PW_CHECK_MAIN(suite_fn)                                   \
	int main(void)                                            \
	{                                                         \
		SRunner *sr = srunner_create(suite_fn());         \
		int failed;                                       \
                                                                  \
		srunner_run_all(sr, CK_ENV);                      \
		failed = srunner_ntests_failed(sr);               \
		srunner_free(sr);                                 \
		return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE; \
	}
