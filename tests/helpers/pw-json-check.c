/* SPDX-License-Identifier: MIT */
/*
 * pw-json-check [FILE]: exit 0 if FILE (default stdin) holds exactly one
 * valid JSON document, else print why and where and exit 1. The shell
 * tests use it so that they need no jq or python.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../json-check.h"

int main(int argc, char **argv)
{
	FILE *f = argc > 1 ? fopen(argv[1], "re") : stdin;
	const char *name = argc > 1 ? argv[1] : "stdin";
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	const char *why = NULL;
	size_t off = 0;

	if (!f) {
		fprintf(stderr, "pw-json-check: %s: %s\n", name, strerror(errno));
		return 2;
	}
	do {
		if (cap - len < 65536) {
			char *b = realloc(buf, cap + 65536);

			if (!b) {
				fprintf(stderr, "pw-json-check: out of memory\n");
				return 2;
			}
			buf = b;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		fprintf(stderr, "pw-json-check: %s: read error\n", name);
		return 2;
	}
	if (!json_check(buf, len, &why, &off)) {
		fprintf(stderr, "pw-json-check: %s: invalid JSON at byte %zu: %s\n", name, off,
			why);
		free(buf);
		return 1;
	}
	free(buf);
	return 0;
}
