/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's one logger. Under systemd (stderr connected to the journal,
 * see JOURNAL_STREAM in systemd.exec(5)) entries go to the journal with
 * structured fields; otherwise the same entries are readable lines on
 * stderr. Only the top level (main, manager) logs; library modules return
 * -errno and let the caller say what failed.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

enum pw_log_target {
	PW_LOG_AUTO, /* journal if stderr is the journal stream, else stderr */
	PW_LOG_STDERR,
	PW_LOG_JOURNAL,
};

void pw_log_open(const char *ident, enum pw_log_target target, int max_priority);
int pw_log_get_max_priority(void);
void pw_log_set_max_priority(int prio);
bool pw_log_to_journal(void);

/* Parse "debug", "info", "notice", "warning", "err"/"error", "crit". */
int pw_log_level_from_string(const char *s);
const char *pw_log_level_to_string(int prio);

/*
 * Log one entry. message_id may be NULL (a 32-hex-digit journal
 * MESSAGE_ID otherwise); fields is NULL or a NULL-terminated array of
 * "KEY=value" strings added as journal fields (and appended to the
 * stderr line). Returns -errno from the journal, or 0.
 */
int pw_log_full(int prio, const char *message_id, const char *const *fields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define pw_log(prio, ...) pw_log_full((prio), NULL, NULL, __VA_ARGS__)
#define pw_log_debug(...) pw_log(LOG_DEBUG, __VA_ARGS__)
#define pw_log_info(...) pw_log(LOG_INFO, __VA_ARGS__)
#define pw_log_notice(...) pw_log(LOG_NOTICE, __VA_ARGS__)
#define pw_log_warning(...) pw_log(LOG_WARNING, __VA_ARGS__)
#define pw_log_error(...) pw_log(LOG_ERR, __VA_ARGS__)
