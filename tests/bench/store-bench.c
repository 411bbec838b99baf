/* SPDX-License-Identifier: MIT */
/*
 * Store throughput: 1,000,000 observations of 100,000 (address, port)
 * pairs (1,000 addresses x 100 ports, ten runs of one job), 1% of the
 * pairs changing state between runs. Prints observations/s and the size
 * of the database, which should grow with changes, not with observations.
 * Target: >= 500,000 observations/s. Exit 1 below the target.
 *
 *   store-bench [RUNS [ADDRESSES [PORTS]]] [--every SEC] [--seen SEC] [--keep]
 *
 * Runs start every 300 s of simulated time (--every); --seen sets the
 * store's last-seen write interval (default: the store's, 15 min; 0 makes
 * every batch rewrite every observed row, the worst case).
 *
 * Writes to a temporary directory under $TMPDIR (or /tmp), removed at the
 * end unless --keep. No network traffic.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "../store-observe.h"
#include "util.h"

#define TARGET_OBS_PER_SEC 500000.0

static uint64_t rng = UINT64_C(0x2545f4914f6cdd1d);

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_sec(void)
{
	return (double)pw_now_usec(CLOCK_MONOTONIC) / 1e6;
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Size of the database with the WAL folded in (a separate connection,
 * like sqlite3 would be). */
static long long db_size(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK)
		sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	sqlite3_close(db);
	return file_size(path);
}

static int die(struct pw_store *s, const char *what, int r)
{
	fprintf(stderr, "store-bench: %s: %s (%s)\n", what, strerror(-r),
		s ? pw_store_last_error(s) : "");
	return 1;
}

int main(int argc, char **argv)
{
	uint64_t runs = 10, addrs = 1000, ports = 100;
	uint64_t *argp[] = { &runs, &addrs, &ports };
	char dir[256], path[300], wal[310], *err = NULL;
	struct pw_store *s = NULL;
	unsigned nargs = 0;
	bool keep = false;
	uint64_t every = 300, seen = PW_STORE_DEFAULT_SEEN_INTERVAL / USEC_PER_SEC;
	uint8_t *state;
	uint64_t pairs, t = UINT64_C(1795611600) * USEC_PER_SEC;
	uint64_t obs = 0, changes = 0, changes_run2 = 0;
	double t0, t1, t_first = 0, t_pause = 0, size_mb_first = 0;
	long long size;
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--keep") == 0)
			keep = true;
		else if (strcmp(argv[i], "--every") == 0 && i + 1 < argc &&
			 pw_parse_u64(argv[i + 1], 1, 86400, &every) == 0)
			i++;
		else if (strcmp(argv[i], "--seen") == 0 && i + 1 < argc &&
			 pw_parse_u64(argv[i + 1], 0, 86400 * 365, &seen) == 0)
			i++;
		else if (nargs < PW_ELEMENTSOF(argp) &&
			 pw_parse_u64(argv[i], 1, 100000000, argp[nargs]) == 0)
			nargs++;
		else {
			fprintf(stderr,
				"usage: store-bench [RUNS [ADDRESSES [PORTS]]] [--every SEC]"
				" [--seen SEC] [--keep]\n");
			return 2;
		}
	}
	if (ports > 65535 || addrs > UINT32_MAX) {
		fprintf(stderr, "store-bench: at most 65535 ports\n");
		return 2;
	}
	pairs = addrs * ports;
	state = calloc(pairs, 1);
	if (!state)
		return 1;
	snprintf(dir, sizeof(dir), "%s/pw-store-bench.XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/bench.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	r = pw_store_open(path, 0, &s, &err);
	if (r < 0) {
		fprintf(stderr, "store-bench: %s\n", err);
		return 1;
	}
	pw_store_set_seen_interval(s, seen * USEC_PER_SEC);
	/* baseline: about 10% open */
	for (uint64_t i = 0; i < pairs; i++)
		state[i] = xorshift() % 10 == 0 ? PW_STATE_OPEN : PW_STATE_CLOSED;

	t0 = now_sec();
	for (uint64_t n = 0; n < runs; n++) {
		int64_t run;

		t = UINT64_C(1795611600) * USEC_PER_SEC + n * every * USEC_PER_SEC;
		r = pw_store_run_begin(s, "bench", t, &run);
		if (r < 0)
			return die(s, "run_begin", r);
		for (uint64_t i = 0; i < pairs; i++) {
			struct pw_store_obs o;
			struct pw_change c;

			if (n > 0 && xorshift() % 100 == 0)
				state[i] = state[i] == PW_STATE_OPEN ? PW_STATE_CLOSED
								     : PW_STATE_OPEN;
			o = (struct pw_store_obs){
				.addr = pw_addr_from_v4(0x7f000000u + (uint32_t)(i / ports)),
				.port = (uint16_t)(i % ports + 1),
				.state = (enum pw_state)state[i],
				.rtt_usec = state[i] == PW_STATE_OPEN ? 120 : 0,
				.time_usec = t,
			};
			t += 10; /* 100,000 probes/s */
			r = pw_test_observe(s, run, &o, 0, PW_EXPECT_NONE, &c);
			if (r != 0)
				return die(s, "observe", r < 0 ? r : -EIO);
			obs++;
			if (n > 0 && c.kind != PW_CHANGE_NONE)
				changes++;
		}
		r = pw_store_run_end(s, run, PW_RUN_COMPLETED, t);
		if (r < 0)
			return die(s, "run_end", r);
		if (n == 0) {
			double p = now_sec();

			t_first = p - t0;
			size_mb_first = (double)db_size(path) / 1e6;
			t_pause = now_sec() - p; /* not the store's time */
		}
		if (n == 1)
			changes_run2 = changes;
	}
	t1 = now_sec() - t_pause;
	pw_store_close(s);
	size = db_size(path);

	printf("store-bench: %llu observations (%llu runs x %llu pairs, a run every %llu s),"
	       " %llu changes (%llu in run 2), last-seen written every %llu s\n",
	       (unsigned long long)obs, (unsigned long long)runs, (unsigned long long)pairs,
	       (unsigned long long)every, (unsigned long long)changes,
	       (unsigned long long)changes_run2, (unsigned long long)seen);
	printf("store-bench: baseline run: %.3f s (%.0f obs/s), database %.1f MB\n", t_first,
	       (double)pairs / t_first, size_mb_first);
	printf("store-bench: total: %.3f s, %.0f observations/s (target %.0f)\n", t1 - t0,
	       (double)obs / (t1 - t0), TARGET_OBS_PER_SEC);
	printf("store-bench: database %.1f MB after the baseline, %.1f MB after all runs:"
	       " %.0f bytes per change, %.2f bytes per observation after the baseline\n",
	       size_mb_first, (double)size / 1e6,
	       changes ? ((double)size - size_mb_first * 1e6) / (double)changes : 0.0,
	       ((double)size - size_mb_first * 1e6) / (double)(obs - pairs));
	if (!keep) {
		unlink(path);
		unlink(wal);
		snprintf(wal, sizeof(wal), "%s-shm", path);
		unlink(wal);
		rmdir(dir);
	} else {
		printf("store-bench: kept %s\n", path);
	}
	free(state);
	return (double)obs / (t1 - t0) >= TARGET_OBS_PER_SEC ? 0 : 1;
}
