/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "check-main.h"
#include "events.h"
#include "log.h"
#include "util.h"

#ifndef PW_SRCDIR
#define PW_SRCDIR "."
#endif

static pw_u128 addr(const char *s)
{
	pw_u128 a;

	ck_assert_int_eq(pw_addr_parse(s, &a), 0);
	return a;
}

/* Format ev; the message goes to *msg, the fields joined by spaces to the result. */
static char *format(const struct pw_event *ev, char **ret_msg)
{
	static char joined[4096];
	char **fields = NULL;
	size_t used = 0;

	ck_assert_int_eq(pw_event_format(ev, ret_msg, &fields), 0);
	joined[0] = '\0';
	for (size_t i = 0; fields[i]; i++) {
		int r = snprintf(joined + used, sizeof(joined) - used, "%s%s", i ? " " : "",
				 fields[i]);

		ck_assert(r > 0 && (size_t)r < sizeof(joined) - used);
		used += (size_t)r;
	}
	pw_event_fields_free(fields);
	return joined;
}

START_TEST(type_table_is_complete_and_unique)
{
	for (int i = 0; i < _PW_EVENT_MAX; i++) {
		const char *id = pw_event_message_id(i), *name = pw_event_type_to_string(i);
		int prio = pw_event_priority(i);

		ck_assert_ptr_nonnull(id);
		ck_assert_ptr_nonnull(name);
		ck_assert_uint_eq(strlen(id), 32);
		for (const char *p = id; *p; p++)
			ck_assert_msg(isxdigit((unsigned char)*p) && !isupper((unsigned char)*p),
				      "%s: MESSAGE_ID %s is not lower-case hex", name, id);
		ck_assert_int_ge(prio, LOG_EMERG);
		ck_assert_int_le(prio, LOG_DEBUG);
		ck_assert_int_eq(pw_event_type_from_string(name), i);
		for (int j = 0; j < i; j++) {
			ck_assert_str_ne(id, pw_event_message_id(j));
			ck_assert_str_ne(name, pw_event_type_to_string(j));
		}
	}
	ck_assert_ptr_null(pw_event_message_id(_PW_EVENT_MAX));
	ck_assert_ptr_null(pw_event_type_to_string(_PW_EVENT_MAX));
	ck_assert_ptr_null(pw_event_type_to_string((enum pw_event_type)(-1)));
	ck_assert_int_eq(pw_event_priority(_PW_EVENT_MAX), -EINVAL);
	ck_assert_int_eq(pw_event_type_from_string("port-exploded"), -EINVAL);
	ck_assert_int_eq(pw_event_type_from_string(NULL), -EINVAL);
}
END_TEST

START_TEST(priorities_make_warning_an_alert_feed)
{
	/* journalctl -p warning shows these ... */
	ck_assert_int_eq(pw_event_priority(PW_EVENT_PORT_OPENED), LOG_WARNING);
	ck_assert_int_eq(pw_event_priority(PW_EVENT_UNEXPECTED_OPEN), LOG_WARNING);
	ck_assert_int_eq(pw_event_priority(PW_EVENT_EXPECTED_CLOSED), LOG_WARNING);
	ck_assert_int_eq(pw_event_priority(PW_EVENT_ADDRESS_ACCEPTS_ALL), LOG_WARNING);
	ck_assert_int_eq(pw_event_priority(PW_EVENT_RUN_FAILED), LOG_ERR);
	ck_assert_int_eq(pw_event_priority(PW_EVENT_CONFIG_REJECTED), LOG_ERR);
	/* ... and not the routine ones */
	ck_assert_int_eq(pw_event_priority(PW_EVENT_PORT_CLOSED), LOG_NOTICE);
	ck_assert_int_eq(pw_event_priority(PW_EVENT_BASELINE_RECORDED), LOG_NOTICE);
	ck_assert_int_eq(pw_event_priority(PW_EVENT_RUN_COMPLETED), LOG_INFO);
	ck_assert_int_eq(pw_event_priority(PW_EVENT_RUN_STARTED), LOG_DEBUG);
	/* one skip is routine; a job that keeps skipping gets one warning
	 * from the manager (issue 12.6) */
	ck_assert_int_eq(pw_event_priority(PW_EVENT_RUN_SKIPPED), LOG_NOTICE);
	ck_assert_int_eq(pw_event_priority(PW_EVENT_PORT_FLAPPING), LOG_INFO);
	ck_assert_int_eq(pw_event_priority(PW_EVENT_DAEMON_STARTED), LOG_NOTICE);
}
END_TEST

START_TEST(change_event_per_state)
{
	ck_assert_int_eq(pw_event_type_for_state(PW_STATE_OPEN), PW_EVENT_PORT_OPENED);
	ck_assert_int_eq(pw_event_type_for_state(PW_STATE_CLOSED), PW_EVENT_PORT_CLOSED);
	ck_assert_int_eq(pw_event_type_for_state(PW_STATE_FILTERED), PW_EVENT_PORT_FILTERED);
	ck_assert_int_eq(pw_event_type_for_state(PW_STATE_UNREACHABLE), PW_EVENT_PORT_UNREACHABLE);
}
END_TEST

START_TEST(port_opened_sentence_and_fields)
{
	struct pw_event ev = {
		.type = PW_EVENT_PORT_OPENED,
		.job = "local",
		.run_id = 7,
		.has_address = true,
		.address = addr("127.0.0.1"),
		.port = 22,
		.service = "ssh",
		.has_old_state = true,
		.old_state = PW_STATE_CLOSED,
		.has_new_state = true,
		.new_state = PW_STATE_OPEN,
		.has_rtt = true,
		.rtt_usec = 85,
	};
	_cleanup_free_ char *msg = NULL;
	const char *f = format(&ev, &msg);

	ck_assert_str_eq(msg, "127.0.0.1:22 (ssh) is now open (was closed) [job local]");
	ck_assert_str_eq(
		f, "PORTWATCH_EVENT=port-opened PORTWATCH_JOB=local PORTWATCH_RUN_ID=7 "
		   "PORTWATCH_ADDRESS=127.0.0.1 PORTWATCH_PORT=22 PORTWATCH_SERVICE=ssh "
		   "PORTWATCH_OLD_STATE=closed PORTWATCH_NEW_STATE=open PORTWATCH_RTT_USEC=85");
}
END_TEST

START_TEST(ipv6_port_without_service_or_old_state)
{
	struct pw_event ev = {
		.type = PW_EVENT_PORT_FILTERED,
		.job = "v6",
		.has_address = true,
		.address = addr("::1"),
		.port = 8080,
		.service = "",
		.has_new_state = true,
		.new_state = PW_STATE_FILTERED,
	};
	_cleanup_free_ char *msg = NULL;
	const char *f = format(&ev, &msg);

	ck_assert_str_eq(msg, "[::1]:8080 is now filtered [job v6]");
	/* the service field is there, and empty, whenever there is a port */
	ck_assert_str_eq(f, "PORTWATCH_EVENT=port-filtered PORTWATCH_JOB=v6 PORTWATCH_ADDRESS=::1 "
			    "PORTWATCH_PORT=8080 PORTWATCH_SERVICE= PORTWATCH_NEW_STATE=filtered");
}
END_TEST

START_TEST(service_name_in_message_and_field)
{
	struct pw_event ev = {
		.type = PW_EVENT_PORT_CLOSED,
		.has_address = true,
		.address = addr("127.0.0.2"),
		.port = 22,
		.service = "ssh",
		.has_old_state = true,
		.old_state = PW_STATE_OPEN,
	};
	_cleanup_free_ char *msg = NULL;
	const char *f = format(&ev, &msg);

	ck_assert_str_eq(msg, "127.0.0.2:22 (ssh) is now closed (was open)");
	ck_assert_ptr_nonnull(strstr(f, " PORTWATCH_SERVICE=ssh "));
	/* no job, no run: those fields are left out */
	ck_assert_ptr_null(strstr(f, "PORTWATCH_JOB="));
	ck_assert_ptr_null(strstr(f, "PORTWATCH_RUN_ID="));
}
END_TEST

START_TEST(no_service_is_an_empty_field)
{
	struct pw_event ev = {
		.type = PW_EVENT_PORT_CLOSED,
		.has_address = true,
		.address = addr("127.0.0.2"),
		.port = 65000,
		.has_old_state = true,
		.old_state = PW_STATE_OPEN,
	};
	_cleanup_free_ char *msg = NULL;
	const char *f = format(&ev, &msg);

	ck_assert_str_eq(msg, "127.0.0.2:65000 is now closed (was open)");
	ck_assert_ptr_nonnull(strstr(f, " PORTWATCH_SERVICE= "));
}
END_TEST

START_TEST(flapping_and_policy_sentences)
{
	struct pw_event ev = {
		.type = PW_EVENT_PORT_FLAPPING,
		.job = "web",
		.run_id = 3,
		.has_address = true,
		.address = addr("127.0.0.9"),
		.port = 443,
		.service = "https",
		.has_old_state = true,
		.old_state = PW_STATE_OPEN,
		.has_new_state = true,
		.new_state = PW_STATE_FILTERED,
	};
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL;

	format(&ev, &m1);
	ck_assert_str_eq(m1, "127.0.0.9:443 (https) was seen filtered but re-probes did not "
			     "confirm it; still open [job web]");
	ev.type = PW_EVENT_EXPECTED_CLOSED;
	ev.new_state = PW_STATE_CLOSED;
	format(&ev, &m2);
	ck_assert_str_eq(
		m2, "127.0.0.9:443 (https) is closed but the policy expects it open [job web]");
	ev.type = PW_EVENT_UNEXPECTED_OPEN;
	ev.new_state = PW_STATE_OPEN;
	format(&ev, &m3);
	ck_assert_str_eq(
		m3, "127.0.0.9:443 (https) is open but the policy does not expect it [job web]");
}
END_TEST

START_TEST(accepts_all_counts_the_address)
{
	struct pw_event_counts c = { .probes_done = 1000, .open = 1000 };
	struct pw_event ev = {
		.type = PW_EVENT_ADDRESS_ACCEPTS_ALL,
		.job = "lan",
		.run_id = 12,
		.has_address = true,
		.address = addr("127.0.0.5"),
		.counts = &c,
	};
	_cleanup_free_ char *msg = NULL;
	const char *f = format(&ev, &msg);

	ck_assert_str_eq(msg, "127.0.0.5 accepts connections on every probed port (1000 of 1000 "
			      "open); its ports are not reported one by one [job lan]");
	ck_assert_ptr_nonnull(strstr(f, "PORTWATCH_ADDRESS=127.0.0.5 "));
	ck_assert_ptr_null(strstr(f, "PORTWATCH_PORT="));
	ck_assert_ptr_nonnull(strstr(f, "PORTWATCH_OPEN=1000 "));
}
END_TEST

START_TEST(run_events_carry_counters)
{
	struct pw_event_counts c = {
		.probes_planned = 1000,
		.probes_done = 1000,
		.open = 3,
		.closed = 990,
		.filtered = 6,
		.unreachable = 1,
		.changes = 2,
		.duration_usec = 1500 * USEC_PER_MSEC,
	};
	struct pw_event ev = {
		.type = PW_EVENT_RUN_COMPLETED, .job = "local", .run_id = 7, .counts = &c
	};
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
	const char *f = format(&ev, &m1);

	ck_assert_str_eq(m1, "Run 7 of job local completed in 1s500ms: 1000 probes, 3 open, "
			     "990 closed, 6 filtered, 1 unreachable, 2 changes");
	ck_assert_str_eq(
		f, "PORTWATCH_EVENT=run-completed PORTWATCH_JOB=local PORTWATCH_RUN_ID=7 "
		   "PORTWATCH_PROBES_PLANNED=1000 PORTWATCH_PROBES_DONE=1000 PORTWATCH_OPEN=3 "
		   "PORTWATCH_CLOSED=990 PORTWATCH_FILTERED=6 PORTWATCH_UNREACHABLE=1 "
		   "PORTWATCH_CHANGES=2 PORTWATCH_DURATION_USEC=1500000");

	ev.type = PW_EVENT_BASELINE_RECORDED;
	format(&ev, &m2);
	ck_assert_str_eq(m2, "Baseline recorded for job local: 3 open, 990 closed, 6 filtered, "
			     "1 unreachable (run 7)");

	c.probes_done = 500;
	ev.type = PW_EVENT_RUN_ABORTED;
	ev.reason = "daemon stopping";
	f = format(&ev, &m3);
	ck_assert_str_eq(m3,
			 "Run 7 of job local aborted after 500 of 1000 probes: daemon stopping");
	ck_assert_ptr_nonnull(strstr(f, "PORTWATCH_REASON=daemon stopping"));

	ev = (struct pw_event){ .type = PW_EVENT_RUN_SKIPPED, .job = "local", .run_id = 7 };
	format(&ev, &m4);
	ck_assert_str_eq(m4, "Run 7 of job local skipped: the previous run is still in progress");
}
END_TEST

/* A run that measured its loss says so, in the sentence and as a field. */
START_TEST(run_events_carry_loss)
{
	struct pw_event_counts c = {
		.probes_planned = 1000,
		.probes_done = 1000,
		.open = 20,
		.closed = 980,
		.duration_usec = 1200 * USEC_PER_MSEC,
		.has_loss = true,
		.loss_pct = 19.274,
	};
	struct pw_event ev = {
		.type = PW_EVENT_RUN_COMPLETED, .job = "local", .run_id = 9, .counts = &c
	};
	_cleanup_free_ char *m = NULL;
	const char *f = format(&ev, &m);

	ck_assert_str_eq(m, "Run 9 of job local completed in 1s200ms: 1000 probes, 20 open, "
			    "980 closed, 0 filtered, 0 unreachable, 0 changes, 19.3% of attempts "
			    "lost");
	ck_assert_ptr_nonnull(strstr(f, " PORTWATCH_LOSS_PCT=19.27"));
}
END_TEST

START_TEST(run_failed_uses_errno)
{
	struct pw_event ev = {
		.type = PW_EVENT_RUN_FAILED, .job = "local", .run_id = 8, .error = EMFILE
	};
	_cleanup_free_ char *msg = NULL;
	const char *f = format(&ev, &msg);
	char want[256];

	snprintf(want, sizeof(want), "Run 8 of job local failed: %s", strerror(EMFILE));
	ck_assert_str_eq(msg, want);
	ck_assert_ptr_nonnull(strstr(f, " ERRNO=24"));
}
END_TEST

/* Issue 13: a failed hook is an event of its own, with its MESSAGE_ID. */
START_TEST(alert_failed_sentences_and_fields)
{
	struct pw_event_hook h = { .event = "opened",
				   .program = "/usr/local/bin/notify",
				   .exited = true,
				   .exit_status = 3,
				   .duration_usec = 1500000,
				   .output = "no route to the relay" };
	struct pw_event ev = { .type = PW_EVENT_ALERT_FAILED, .job = "web", .hook = &h };
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
	const char *f;

	ck_assert_int_eq(pw_event_priority(PW_EVENT_ALERT_FAILED), LOG_WARNING);
	f = format(&ev, &m1);
	ck_assert_str_eq(m1, "Alert hook /usr/local/bin/notify for opened of job web exited with "
			     "status 3 after 1s500ms; output: no route to the relay");
	ck_assert_str_eq(f, "PORTWATCH_EVENT=alert-failed PORTWATCH_JOB=web "
			    "PORTWATCH_ALERT_EVENT=opened PORTWATCH_HOOK=/usr/local/bin/notify "
			    "PORTWATCH_HOOK_STATUS=3 PORTWATCH_DURATION_USEC=1500000 "
			    "PORTWATCH_HOOK_OUTPUT=no route to the relay");
	h = (struct pw_event_hook){ .event = "closed",
				    .program = "/bin/x",
				    .term_signal = 15,
				    .timed_out = true,
				    .duration_usec = 5000000 };
	f = format(&ev, &m2);
	ck_assert_str_eq(m2, "Alert hook /bin/x for closed of job web timed out and was killed "
			     "(signal 15)");
	ck_assert_str_eq(f, "PORTWATCH_EVENT=alert-failed PORTWATCH_JOB=web "
			    "PORTWATCH_ALERT_EVENT=closed PORTWATCH_HOOK=/bin/x "
			    "PORTWATCH_HOOK_SIGNAL=15 PORTWATCH_HOOK_TIMED_OUT=1 "
			    "PORTWATCH_DURATION_USEC=5000000");
	h = (struct pw_event_hook){ .event = "closed", .program = "/bin/x", .term_signal = 10 };
	format(&ev, &m3);
	ck_assert_str_eq(m3, "Alert hook /bin/x for closed of job web was killed by signal 10 "
			     "after 0s");
	h = (struct pw_event_hook){ .event = "run-failed",
				    .program = "/nope",
				    .spawn_error = ENOENT };
	ev.job = NULL;
	f = format(&ev, &m4);
	ck_assert_str_eq(m4, "Alert hook /nope for run-failed could not start: No such file or "
			     "directory");
	ck_assert_str_eq(f, "PORTWATCH_EVENT=alert-failed PORTWATCH_ALERT_EVENT=run-failed "
			    "PORTWATCH_HOOK=/nope ERRNO=2 PORTWATCH_DURATION_USEC=0");
}
END_TEST

START_TEST(config_and_daemon_sentences)
{
	struct pw_event_jobs j = { .total = 4, .added = 1, .changed = 2, .removed = 0 };
	struct pw_event ev = { .type = PW_EVENT_CONFIG_RELOADED,
			       .config_path = "/etc/pw.conf",
			       .jobs = &j };
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
	const char *f = format(&ev, &m1);

	ck_assert_str_eq(
		m1,
		"Configuration reloaded from /etc/pw.conf: 4 jobs (1 added, 2 changed, 0 removed)");
	ck_assert_str_eq(f, "PORTWATCH_EVENT=config-reloaded PORTWATCH_CONFIG=/etc/pw.conf "
			    "PORTWATCH_JOBS=4 PORTWATCH_JOBS_ADDED=1 PORTWATCH_JOBS_CHANGED=2 "
			    "PORTWATCH_JOBS_REMOVED=0");

	ev = (struct pw_event){ .type = PW_EVENT_CONFIG_REJECTED,
				.config_path = "/etc/pw.conf",
				.reason = "/etc/pw.conf:3: unknown key \"prots\"" };
	format(&ev, &m2);
	ck_assert_str_eq(m2,
			 "Configuration /etc/pw.conf rejected, the running configuration stays: "
			 "/etc/pw.conf:3: unknown key \"prots\"");

	ev = (struct pw_event){ .type = PW_EVENT_DAEMON_STARTED,
				.config_path = "/etc/pw.conf",
				.database = "/var/lib/portwatch/portwatch.db",
				.jobs = &j };
	f = format(&ev, &m3);
	ck_assert_str_eq(m3,
			 "portwatchd " PACKAGE_VERSION " started (config /etc/pw.conf, database "
			 "/var/lib/portwatch/portwatch.db, 4 jobs)");
	ck_assert_ptr_nonnull(strstr(f, "PORTWATCH_VERSION=" PACKAGE_VERSION " "));
	ck_assert_ptr_null(strstr(f, "JOBS_ADDED"));

	ev = (struct pw_event){ .type = PW_EVENT_DAEMON_STARTED };
	format(&ev, &m4);
	ck_assert_str_eq(m4, "portwatchd " PACKAGE_VERSION " started");
}
END_TEST

START_TEST(every_type_formats_bare_and_full)
{
	struct pw_event_counts c = {
		.probes_planned = 2, .probes_done = 2, .open = 1, .closed = 1
	};
	struct pw_event_jobs j = { .total = 1 };

	for (int t = 0; t < _PW_EVENT_MAX; t++) {
		struct pw_event bare = { .type = t };
		struct pw_event full = {
			.type = t,
			.job = "j",
			.run_id = 1,
			.has_address = true,
			.address = addr("127.0.0.1"),
			.port = 1,
			.service = "s",
			.has_old_state = true,
			.has_new_state = true,
			.new_state = PW_STATE_CLOSED,
			.has_rtt = true,
			.counts = &c,
			.config_path = "c",
			.database = "d",
			.jobs = &j,
			.reason = "r",
			.error = EIO,
		};
		_cleanup_free_ char *m1 = NULL, *m2 = NULL;
		const char *f;

		format(&bare, &m1);
		ck_assert_msg(strlen(m1) > 5 && !strstr(m1, "(null)"), "%d: bare message \"%s\"", t,
			      m1);
		f = format(&full, &m2);
		ck_assert_msg(strlen(m2) > 5 && !strstr(m2, "(null)"), "%d: message \"%s\"", t, m2);
		ck_assert_ptr_eq(strstr(f, "PORTWATCH_EVENT="), f);
		ck_assert_ptr_nonnull(strstr(f, pw_event_type_to_string(t)));
	}
	struct pw_event bad = { .type = _PW_EVENT_MAX };
	char *msg = NULL, **fields = NULL;

	ck_assert_int_eq(pw_event_format(&bad, &msg, &fields), -EINVAL);
	ck_assert_ptr_null(msg);
	ck_assert_int_eq(pw_event_log(&bad), -EINVAL);
}
END_TEST

static void emit_at_notice(void)
{
	struct pw_event_counts c = { .probes_planned = 1, .probes_done = 1, .closed = 1 };
	struct pw_event opened = {
		.type = PW_EVENT_PORT_OPENED,
		.job = "local",
		.has_address = true,
		.address = pw_addr_from_v4(0x7f000001),
		.port = 22,
		.service = "ssh",
		.has_old_state = true,
		.old_state = PW_STATE_CLOSED,
		.has_new_state = true,
		.new_state = PW_STATE_OPEN,
	};
	struct pw_event completed = { .type = PW_EVENT_RUN_COMPLETED,
				      .job = "local",
				      .counts = &c };

	pw_log_open("pwtest", PW_LOG_STDERR, LOG_NOTICE);
	ck_assert_int_eq(pw_event_log(&opened), 0);
	ck_assert_int_eq(pw_event_log(&completed), 0); /* info: below the threshold */
}

START_TEST(logs_through_the_logger_at_its_priority)
{
	const char *out = pw_test_capture_stderr(emit_at_notice);

	ck_assert_str_eq(
		out, "pwtest[warning]: 127.0.0.1:22 (ssh) is now open (was closed) [job local] "
		     "[PORTWATCH_EVENT=port-opened PORTWATCH_JOB=local PORTWATCH_ADDRESS=127.0.0.1 "
		     "PORTWATCH_PORT=22 PORTWATCH_SERVICE=ssh PORTWATCH_OLD_STATE=closed "
		     "PORTWATCH_NEW_STATE=open]\n");
}
END_TEST

/*
 * The catalog explains every MESSAGE_ID and nothing else: an entry per
 * "-- ID" header line, each with Subject: and Defined-By: portwatch.
 */
START_TEST(catalog_matches_the_table)
{
	char line[1024], seen[_PW_EVENT_MAX] = { 0 };
	_cleanup_fclose_ FILE *f = fopen(PW_SRCDIR "/systemd/portwatch.catalog", "re");
	int current = -1, entries = 0;
	bool subject[_PW_EVENT_MAX] = { 0 }, defined_by[_PW_EVENT_MAX] = { 0 };

	ck_assert_msg(f, "cannot open %s: %s", PW_SRCDIR "/systemd/portwatch.catalog",
		      strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "-- ", 3) == 0) {
			current = -1;
			for (int t = 0; t < _PW_EVENT_MAX; t++)
				if (strcmp(line + 3, pw_event_message_id(t)) == 0)
					current = t;
			ck_assert_msg(current >= 0, "catalog entry %s is not a portwatch event",
				      line + 3);
			ck_assert_msg(!seen[current], "catalog has %s twice", line + 3);
			seen[current] = 1;
			entries++;
		} else if (current >= 0 && strncmp(line, "Subject: ", 9) == 0) {
			subject[current] = true;
		} else if (current >= 0 && strcmp(line, "Defined-By: portwatch") == 0) {
			defined_by[current] = true;
		}
	}
	for (int t = 0; t < _PW_EVENT_MAX; t++) {
		ck_assert_msg(seen[t], "%s (%s) has no catalog entry", pw_event_type_to_string(t),
			      pw_event_message_id(t));
		ck_assert_msg(subject[t], "%s: no Subject:", pw_event_type_to_string(t));
		ck_assert_msg(defined_by[t], "%s: no Defined-By: portwatch",
			      pw_event_type_to_string(t));
	}
	ck_assert_int_eq(entries, _PW_EVENT_MAX);
}
END_TEST

static Suite *events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("events");

	tcase_add_test(tc, type_table_is_complete_and_unique);
	tcase_add_test(tc, priorities_make_warning_an_alert_feed);
	tcase_add_test(tc, change_event_per_state);
	tcase_add_test(tc, port_opened_sentence_and_fields);
	tcase_add_test(tc, ipv6_port_without_service_or_old_state);
	tcase_add_test(tc, service_name_in_message_and_field);
	tcase_add_test(tc, no_service_is_an_empty_field);
	tcase_add_test(tc, flapping_and_policy_sentences);
	tcase_add_test(tc, accepts_all_counts_the_address);
	tcase_add_test(tc, run_events_carry_counters);
	tcase_add_test(tc, run_events_carry_loss);
	tcase_add_test(tc, run_failed_uses_errno);
	tcase_add_test(tc, config_and_daemon_sentences);
	tcase_add_test(tc, alert_failed_sentences_and_fields);
	tcase_add_test(tc, every_type_formats_bare_and_full);
	tcase_add_test(tc, logs_through_the_logger_at_its_priority);
	tcase_add_test(tc, catalog_matches_the_table);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(events_suite)
