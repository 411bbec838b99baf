/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * For unit tests of what goes to stderr (the logger, journal events in the
 * foreground): run fn with stderr on a temporary file and return what it
 * wrote, NUL-terminated, in a static buffer of 8 KiB.
 */
#include <check.h>
#include <stdlib.h>
#include <unistd.h>

static inline char *pw_test_capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/pw-test-stderr-XXXXXX";
	static char buf[8192];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}
