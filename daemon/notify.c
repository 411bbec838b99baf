/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "notify.h"
#include "util.h"

int pw_notify_ready(const char *status)
{
	return sd_notifyf(0, "READY=1\nSTATUS=%s", status ?: "Ready");
}

int pw_notify_reloading(uint64_t monotonic_now)
{
	/* MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) order the reply. */
	return sd_notifyf(0, "RELOADING=1\nSTATUS=Reloading configuration\nMONOTONIC_USEC=%llu",
			  (unsigned long long)monotonic_now);
}

int pw_notify_stopping(void)
{
	return sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
}

int pw_notify_status(struct pw_notify *n, uint64_t monotonic_now, int force, const char *fmt, ...)
{
	_cleanup_free_ char *text = NULL;
	va_list ap;
	int r;

	if (!force && n->last_status_usec != 0 &&
	    monotonic_now - n->last_status_usec < n->min_interval_usec)
		return 0;
	va_start(ap, fmt);
	r = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	r = sd_notifyf(0, "STATUS=%s", text);
	if (r <= 0)
		return r;
	n->last_status_usec = monotonic_now;
	return 1;
}
