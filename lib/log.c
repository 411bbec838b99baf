/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "util.h"

/*
 * Process-wide logger settings: set once at start (and on reload for the
 * level); the one piece of global state outside the manager, as a logger
 * must be reachable from everywhere the top level reports an error.
 */
static struct {
	const char *ident;
	bool journal;
	int max_priority;
} logger = { "portwatchd", false, LOG_INFO };

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",     [LOG_CRIT] = "crit",
	[LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

/* systemd sets JOURNAL_STREAM=dev:ino when stderr is a journal stream. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void pw_log_open(const char *ident, enum pw_log_target target, int max_priority)
{
	logger.ident = ident;
	logger.max_priority = max_priority;
	switch (target) {
	case PW_LOG_AUTO:
		logger.journal = stderr_is_journal();
		break;
	case PW_LOG_STDERR:
		logger.journal = false;
		break;
	case PW_LOG_JOURNAL:
		logger.journal = true;
		break;
	}
}

int pw_log_get_max_priority(void)
{
	return logger.max_priority;
}

void pw_log_set_max_priority(int prio)
{
	logger.max_priority = prio;
}

bool pw_log_to_journal(void)
{
	return logger.journal;
}

int pw_log_level_from_string(const char *s)
{
	if (s && strcmp(s, "error") == 0)
		return LOG_ERR;
	return pw_table_lookup(level_names, PW_ELEMENTSOF(level_names), s);
}

const char *pw_log_level_to_string(int prio)
{
	if (prio < 0 || (size_t)prio >= PW_ELEMENTSOF(level_names))
		return "?";
	return level_names[prio];
}

static int log_journal(int prio, const char *message_id, const char *const *fields, const char *msg)
{
	size_t nfields = 0, n = 0;
	_cleanup_free_ struct iovec *iov = NULL;
	_cleanup_free_ char *m = NULL, *p = NULL, *id = NULL, *sid = NULL;

	while (fields && fields[nfields])
		nfields++;
	iov = calloc(nfields + 4, sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	if (asprintf(&m, "MESSAGE=%s", msg) < 0 || asprintf(&p, "PRIORITY=%d", prio) < 0 ||
	    asprintf(&sid, "SYSLOG_IDENTIFIER=%s", logger.ident) < 0)
		return -ENOMEM;
	iov[n++] = (struct iovec){ m, strlen(m) };
	iov[n++] = (struct iovec){ p, strlen(p) };
	iov[n++] = (struct iovec){ sid, strlen(sid) };
	if (message_id) {
		if (asprintf(&id, "MESSAGE_ID=%s", message_id) < 0)
			return -ENOMEM;
		iov[n++] = (struct iovec){ id, strlen(id) };
	}
	for (size_t i = 0; i < nfields; i++)
		iov[n++] = (struct iovec){ (void *)fields[i], strlen(fields[i]) };
	return sd_journal_sendv(iov, (int)n);
}

static void log_stderr(int prio, const char *const *fields, const char *msg)
{
	/* One write per entry so concurrent writers never interleave lines. */
	char line[4096];
	int used = snprintf(line, sizeof(line), "%s[%s]: %s", logger.ident,
			    pw_log_level_to_string(prio), msg);

	for (size_t i = 0; fields && fields[i] && used > 0 && (size_t)used < sizeof(line); i++)
		used += snprintf(line + used, sizeof(line) - (size_t)used, "%s%s",
				 i == 0 ? " [" : " ", fields[i]);
	if (fields && fields[0] && used > 0 && (size_t)used < sizeof(line))
		used += snprintf(line + used, sizeof(line) - (size_t)used, "]");
	if (used < 0)
		return;
	if ((size_t)used >= sizeof(line) - 1)
		used = sizeof(line) - 2;
	line[used++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)used);
}

int pw_log_full(int prio, const char *message_id, const char *const *fields, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int r;

	if (prio > logger.max_priority)
		return 0;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (logger.journal) {
		r = log_journal(prio, message_id, fields, msg);
		if (r >= 0)
			return 0;
		/* journal gone (e.g. journald restarting): do not lose the entry */
	}
	log_stderr(prio, fields, msg);
	return 0;
}
