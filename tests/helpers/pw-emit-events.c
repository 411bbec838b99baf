/* SPDX-License-Identifier: MIT */
/*
 * pw-emit-events: log one event of every type through events.c, so a test
 * can check what a real journald stores for each (MESSAGE_ID, PRIORITY,
 * PORTWATCH_* fields).
 *
 *   pw-emit-events --list            print "NAME MESSAGE_ID PRIORITY" per type
 *   pw-emit-events [--stderr] JOB    log every type with PORTWATCH_JOB=JOB, to
 *                                    the journal (or stderr), at debug level
 *
 * Port events are about 127.0.0.1:22, named as the daemon names it
 * (services.h), closed -> the event's state, RTT 123 us; run events carry run id 42 and fixed counters.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "log.h"
#include "services.h"

static int emit(enum pw_event_type t, const char *job, const struct pw_services *services)
{
	static const struct pw_event_counts counts = {
		.probes_planned = 1000,
		.probes_done = 1000,
		.open = 3,
		.closed = 990,
		.filtered = 6,
		.unreachable = 1,
		.changes = 2,
		.duration_usec = 1500000,
	};
	static const struct pw_event_jobs jobs = {
		.total = 4, .added = 1, .changed = 2, .removed = 1
	};
	static const struct pw_event_hook hook = { .event = "opened",
						   .program = "/usr/local/bin/notify",
						   .exited = true,
						   .exit_status = 1,
						   .duration_usec = 250000,
						   .output = "relay refused" };
	struct pw_event ev = { .type = t, .job = job, .run_id = 42 };

	switch (t) {
	case PW_EVENT_PORT_OPENED:
	case PW_EVENT_PORT_CLOSED:
	case PW_EVENT_PORT_FILTERED:
	case PW_EVENT_PORT_UNREACHABLE:
	case PW_EVENT_PORT_FLAPPING:
	case PW_EVENT_UNEXPECTED_OPEN:
	case PW_EVENT_EXPECTED_CLOSED:
		ev.has_address = true;
		ev.address = pw_addr_from_v4(0x7f000001);
		ev.port = 22;
		ev.service = pw_services_name(services, 22);
		ev.has_old_state = true;
		ev.old_state = t == PW_EVENT_PORT_CLOSED ? PW_STATE_OPEN : PW_STATE_CLOSED;
		ev.has_new_state = true;
		ev.new_state = t == PW_EVENT_PORT_CLOSED        ? PW_STATE_CLOSED
			       : t == PW_EVENT_PORT_FILTERED    ? PW_STATE_FILTERED
			       : t == PW_EVENT_PORT_UNREACHABLE ? PW_STATE_UNREACHABLE
			       : t == PW_EVENT_EXPECTED_CLOSED  ? PW_STATE_CLOSED
								: PW_STATE_OPEN;
		ev.has_rtt = true;
		ev.rtt_usec = 123;
		break;
	case PW_EVENT_ADDRESS_ACCEPTS_ALL:
		ev.has_address = true;
		ev.address = pw_addr_from_v4(0x7f000001);
		ev.counts = &counts;
		break;
	case PW_EVENT_ADDRESS_ACCEPTS_ALL_ENDED:
		ev.has_address = true;
		ev.address = pw_addr_from_v4(0x7f000001);
		break;
	case PW_EVENT_BASELINE_RECORDED:
	case PW_EVENT_RUN_STARTED:
	case PW_EVENT_RUN_COMPLETED:
	case PW_EVENT_RUN_ABORTED:
		ev.counts = &counts;
		if (t == PW_EVENT_RUN_ABORTED)
			ev.reason = "daemon stopping";
		break;
	case PW_EVENT_RUN_SKIPPED:
		break;
	case PW_EVENT_RUN_FAILED:
		ev.error = EMFILE;
		break;
	case PW_EVENT_CONFIG_RELOADED:
	case PW_EVENT_CONFIG_REJECTED:
	case PW_EVENT_DAEMON_STARTED:
	case PW_EVENT_DAEMON_STOPPED:
		ev.run_id = 0;
		ev.config_path = "/etc/portwatch/portwatchd.conf";
		if (t == PW_EVENT_CONFIG_REJECTED)
			ev.reason = "portwatchd.conf:3: unknown key \"prots\"";
		else
			ev.jobs = &jobs;
		if (t == PW_EVENT_DAEMON_STARTED)
			ev.database = "/var/lib/portwatch/portwatch.db";
		break;
	case PW_EVENT_ALERT_FAILED:
		ev.run_id = 0;
		ev.hook = &hook;
		break;
	case _PW_EVENT_MAX:
		return -EINVAL;
	}
	return pw_event_log(&ev);
}

int main(int argc, char **argv)
{
	enum pw_log_target target = PW_LOG_JOURNAL;
	struct pw_services services = PW_SERVICES_INIT;
	int i = 1, ret = 0;

	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (int t = 0; t < _PW_EVENT_MAX; t++)
			printf("%s %s %d\n", pw_event_type_to_string(t), pw_event_message_id(t),
			       pw_event_priority(t));
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--stderr") == 0) {
		target = PW_LOG_STDERR;
		i = 2;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: pw-emit-events --list | [--stderr] JOB\n");
		return 2;
	}
	pw_log_open("pw-emit-events", target, LOG_DEBUG);
	if (pw_services_load(&services, NULL) < 0) {
		fprintf(stderr, "pw-emit-events: out of memory\n");
		return 1;
	}
	for (int t = 0; t < _PW_EVENT_MAX; t++) {
		int r = emit(t, argv[i], &services);

		if (r < 0) {
			fprintf(stderr, "pw-emit-events: %s: %s\n", pw_event_type_to_string(t),
				strerror(-r));
			ret = 1;
			break;
		}
	}
	pw_services_done(&services);
	return ret;
}
