/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What portwatch scan's files share: its options (scan-options.c parses
 * them, scan-verb.c runs the scan they describe).
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "scan.h"
#include "services.h"

#define SCAN_ALL_MAX (UINT64_C(1) << 24) /* probes --all may list */

struct scan_opts {
	struct pw_scan_timing timing;
	unsigned threads;
	uint64_t key;
	uint64_t shard_i, shard_n;
	unsigned canaries;
	bool json, all, fail_open, no_services, progress;
	struct pw_services services;
};

/* The usage text. */
void scan_help(FILE *out);

/* The options, checked: 0 with the targets from optind on, 1 after --help
 * (the usage printed), or -EINVAL after a message on stderr. *ret_ports:
 * the -p list, or NULL. */
int scan_parse_options(int argc, char **argv, struct scan_opts *so, const char **ret_ports);
