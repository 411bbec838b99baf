/* SPDX-License-Identifier: MIT */
/*
 * Drive the store from shell tests.
 *
 *   pw-store-tool DB < SCRIPT      run commands, one per line:
 *       begin JOB SECONDS                  prints "run ID"; the run covers
 *                                          127.0.0.0/8 and ::1, all ports
 *       obs RUN ADDR PORT STATE SECONDS [unconfirmed] [rtt=USEC]
 *                                          prints the change, if any
 *       end RUN completed|aborted|failed SECONDS
 *       flush | recover | prune SECONDS MAX_ROWS
 *   pw-store-tool -c DB BATCH      crash writer: one job "crash", new
 *       (address, port) pairs, every 7th open and the others filtered (so
 *       each makes a row), a flush every BATCH observations with
 *       "flushing N" before and "committed N" after it on stdout; stops
 *       after 3,000,000.
 *
 * Times are whole seconds since the epoch. Exit 1 with the store's error
 * message on the first failure.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "scan.h"
#include "store.h"
#include "../store-observe.h"
#include "util.h"

static struct pw_store *store;

static int fail(const char *what, int r)
{
	fprintf(stderr, "pw-store-tool: %s: %s (%s)\n", what, strerror(-r),
		store ? pw_store_last_error(store) : "");
	return 1;
}

/* What the daemon tells the store a run probes: here all of loopback. */
static int cover_loopback(int64_t run)
{
	struct pw_scan_space sp = { .addrs = PW_ISET_INIT, .ports = PW_ISET_INIT };
	pw_u128 lo = 0, hi = 0, v6 = 0;
	int r;

	(void)pw_addr_parse("127.0.0.0", &lo);
	(void)pw_addr_parse("127.255.255.255", &hi);
	(void)pw_addr_parse("::1", &v6);
	r = pw_iset_add(&sp.addrs, lo, hi);
	if (r >= 0)
		r = pw_iset_add(&sp.addrs, v6, v6);
	if (r >= 0)
		r = pw_iset_add(&sp.ports, 1, 65535);
	if (r >= 0)
		r = pw_store_run_space(store, run, &sp);
	pw_iset_done(&sp.addrs);
	pw_iset_done(&sp.ports);
	return r;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	int r = pw_parse_u64(s, 0, max, ret);

	if (r < 0)
		fprintf(stderr, "pw-store-tool: bad number \"%s\"\n", s ? s : "(missing)");
	return r;
}

static int cmd_obs(char **arg, int n)
{
	struct pw_store_obs o = { 0 };
	unsigned flags = 0;
	struct pw_change c;
	char buf[PW_ADDR_STRLEN];
	uint64_t run, port, t, rtt;
	int st, r;

	if (n < 6 || parse_u64(arg[1], INT64_MAX, &run) < 0 ||
	    parse_u64(arg[3], UINT16_MAX, &port) < 0 || parse_u64(arg[5], UINT32_MAX, &t) < 0)
		return -EINVAL;
	if (pw_addr_parse(arg[2], &o.addr) < 0 || (st = pw_state_from_string(arg[4])) < 0) {
		fprintf(stderr, "pw-store-tool: bad address or state\n");
		return -EINVAL;
	}
	for (int i = 6; i < n; i++) {
		if (strcmp(arg[i], "unconfirmed") == 0)
			flags |= PW_OBS_UNCONFIRMED;
		else if (strncmp(arg[i], "rtt=", 4) == 0 &&
			 parse_u64(arg[i] + 4, UINT32_MAX, &rtt) == 0)
			o.rtt_usec = (uint32_t)rtt;
		else
			return -EINVAL;
	}
	o.port = (uint16_t)port;
	o.state = (enum pw_state)st;
	o.time_usec = t * USEC_PER_SEC;
	r = pw_test_observe(store, (int64_t)run, &o, flags, PW_EXPECT_NONE, &c);
	if (r < 0)
		return r;
	if (c.kind != PW_CHANGE_NONE)
		printf("%s %s %u %s%s%s%s\n", pw_change_kind_to_string(c.kind),
		       pw_addr_format(o.addr, buf), o.port,
		       c.has_old ? pw_state_to_string(c.old_state) : "", c.has_old ? ">" : "",
		       pw_state_to_string(c.new_state), c.major ? " major" : "");
	return 0;
}

static int run_line(char *line)
{
	char *arg[16], *save = NULL;
	uint64_t a, b;
	int n = 0, r;
	int64_t run;

	for (char *t = strtok_r(line, " \t\n", &save); t && n < 16;
	     t = strtok_r(NULL, " \t\n", &save))
		arg[n++] = t;
	if (n == 0 || arg[0][0] == '#')
		return 0;
	if (strcmp(arg[0], "begin") == 0 && n == 3) {
		if (parse_u64(arg[2], UINT32_MAX, &a) < 0)
			return -EINVAL;
		r = pw_store_run_begin(store, arg[1], a * USEC_PER_SEC, &run);
		if (r == 0)
			r = cover_loopback(run);
		if (r == 0)
			printf("run %lld\n", (long long)run);
		return r;
	}
	if (strcmp(arg[0], "obs") == 0)
		return cmd_obs(arg, n);
	if (strcmp(arg[0], "end") == 0 && n == 4) {
		int st = pw_run_status_from_string(arg[2]);

		if (st < 0 || parse_u64(arg[1], INT64_MAX, &a) < 0 ||
		    parse_u64(arg[3], UINT32_MAX, &b) < 0)
			return -EINVAL;
		return pw_store_run_end(store, (int64_t)a, (enum pw_run_status)st,
					b * USEC_PER_SEC);
	}
	if (strcmp(arg[0], "flush") == 0 && n == 1)
		return pw_store_flush(store);
	if (strcmp(arg[0], "recover") == 0 && n == 1) {
		r = pw_store_recover_runs(store);
		if (r >= 0)
			printf("recovered %d\n", r);
		return r;
	}
	if (strcmp(arg[0], "prune") == 0 && n == 3) {
		if (parse_u64(arg[1], UINT32_MAX, &a) < 0 || parse_u64(arg[2], 1000000, &b) < 0)
			return -EINVAL;
		r = pw_store_prune(store, a * USEC_PER_SEC, (unsigned)b);
		if (r >= 0)
			printf("pruned %d\n", r);
		return r;
	}
	fprintf(stderr, "pw-store-tool: unknown command \"%s\"\n", arg[0]);
	return -EINVAL;
}

static int crash_writer(uint64_t batch)
{
	uint64_t t = UINT64_C(1795611600) * USEC_PER_SEC;
	int64_t run;
	int r;

	pw_store_set_batch(store, SIZE_MAX, 0);
	r = pw_store_run_begin(store, "crash", t, &run);
	if (r < 0)
		return fail("run_begin", r);
	for (uint64_t i = 0; i < 3000000; i++) {
		struct pw_store_obs o = {
			.addr = pw_addr_from_v4(0x7f000000u + (uint32_t)(i / 60000)),
			.port = (uint16_t)(i % 60000 + 1),
			/* filtered, not closed: a port never anything but closed
			 * has no row, and every observation here must make one */
			.state = i % 7 ? PW_STATE_FILTERED : PW_STATE_OPEN,
			.time_usec = t + i,
		};

		r = pw_test_observe(store, run, &o, 0, PW_EXPECT_NONE, NULL);
		if (r < 0)
			return fail("observe", r);
		if ((i + 1) % batch == 0) {
			printf("flushing %llu\n", (unsigned long long)(i + 1));
			fflush(stdout);
			r = pw_store_flush(store);
			if (r < 0)
				return fail("flush", r);
			printf("committed %llu\n", (unsigned long long)(i + 1));
			fflush(stdout);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	char line[1024], *err = NULL;
	bool crash = argc == 4 && strcmp(argv[1], "-c") == 0;
	uint64_t batch = 0;
	unsigned lineno = 0;
	int r;

	if (!crash && argc != 2) {
		fprintf(stderr, "usage: pw-store-tool DB < SCRIPT | pw-store-tool -c DB BATCH\n");
		return 2;
	}
	if (crash && pw_parse_u64(argv[3], 1, UINT32_MAX, &batch) < 0)
		return 2;
	r = pw_store_open(argv[crash ? 2 : 1], 0, &store, &err);
	if (r < 0) {
		fprintf(stderr, "pw-store-tool: %s\n", err ? err : strerror(-r));
		free(err);
		return 1;
	}
	if (crash) {
		r = crash_writer(batch);
		pw_store_close(store);
		return r;
	}
	while (fgets(line, sizeof(line), stdin)) {
		lineno++;
		r = run_line(line);
		if (r < 0) {
			char what[32];

			snprintf(what, sizeof(what), "line %u", lineno);
			r = fail(what, r);
			pw_store_close(store);
			return r;
		}
		fflush(stdout);
	}
	r = pw_store_flush(store);
	if (r < 0)
		r = fail("flush", r);
	pw_store_close(store);
	return r < 0 ? 1 : 0;
}
