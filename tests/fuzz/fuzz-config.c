/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the whole configuration loader, through the file
 * system as the daemon sees it: the input is a main file, optionally
 * followed by drop-ins, each after a line "#---8<---". The main file is
 * written to DIR/portwatchd.conf, the drop-ins to DIR/conf.d/NN.conf (the
 * default include_dir), then pw_config_load() reads them.
 *
 * Beyond "no crash, no leak, no UB" it checks the loader's contract: a
 * failure returns no config and says why in at least one "path: ..." or
 * "path:line: ..." message; a success gives no message and a config whose
 * jobs are within the documented caps.
 */

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "iset.h"
#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEPARATOR "\n#---8<---\n"
#define MAX_DROPINS 8

static char dir[256], confd[288], main_path[320];

static void cleanup(void)
{
	char p[320];

	for (int i = 0; i < MAX_DROPINS; i++) {
		snprintf(p, sizeof(p), "%s/%02d.conf", confd, i);
		unlink(p);
	}
	unlink(main_path);
	rmdir(confd);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/pw-fuzz-config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		abort();
	}
	snprintf(confd, sizeof(confd), "%s/conf.d", dir);
	snprintf(main_path, sizeof(main_path), "%s/portwatchd.conf", dir);
	if (mkdir(confd, 0700) < 0) {
		perror("mkdir");
		abort();
	}
	atexit(cleanup);
	return 0;
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert(fd >= 0);
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		assert(n > 0);
		data += n;
		size -= (size_t)n;
	}
	close(fd);
}

static void check_config(const struct pw_config *c)
{
	assert(c->main_file && strcmp(c->main_file, main_path) == 0);
	assert(c->database && c->include_dir);
	assert(c->n_jobs <= PW_CONFIG_MAX_JOBS);
	for (size_t i = 0; i < c->n_jobs; i++) {
		const struct pw_job *j = &c->jobs[i];

		assert(j->name && *j->name && strlen(j->name) <= PW_CONFIG_MAX_NAME);
		assert(pw_config_find_job(c, j->name) == j);
		assert(j->file && j->line > 0);
		assert(pw_iset_count(&j->space.ports) > 0);
		assert(pw_iset_count(&j->space.addrs) > 0 || j->n_hostnames > 0);
		assert(pw_iset_count(&j->space.addrs) <= PW_CONFIG_MAX_ADDRS_PER_JOB);
		assert(j->n_hostnames <= PW_CONFIG_MAX_HOSTNAMES_PER_JOB);
		assert(pw_job_probe_count(j) <= PW_CONFIG_MAX_PROBES_PER_RUN);
		assert(j->interval_usec > 0 && j->jitter_usec <= j->interval_usec);
		assert(j->timing.min_timeout_usec <= j->timing.max_timeout_usec);
		assert(j->alert.argc <= PW_CONFIG_MAX_ALERT_ARGS);
		assert(!j->alert.argv || j->alert.argv[j->alert.argc] == NULL);
		assert(pw_job_equal(j, j));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_diag diag = PW_DIAG_INIT;
	struct pw_config *c = NULL;
	const uint8_t *p = data, *end = data + size;
	size_t sep = strlen(SEPARATOR);
	int n = 0, r;

	/* split into the main file and drop-ins */
	for (;;) {
		const uint8_t *s = memmem(p, (size_t)(end - p), SEPARATOR, sep);
		const uint8_t *stop = s ? s : end;

		if (n == 0)
			write_file(main_path, p, (size_t)(stop - p));
		else if (n <= MAX_DROPINS) {
			char path[320];

			snprintf(path, sizeof(path), "%s/%02d.conf", confd, n - 1);
			write_file(path, p, (size_t)(stop - p));
		}
		n++;
		if (!s)
			break;
		p = s + sep;
	}

	r = pw_config_load(main_path, &c, &diag);
	if (r >= 0) {
		assert(c);
		assert(diag.n == 0);
		check_config(c);
	} else {
		assert(r == -EINVAL || r == -ENOMEM);
		assert(!c);
		assert(r == -ENOMEM || diag.n > 0);
		for (size_t i = 0; i < diag.n; i++) {
			const char *m = diag.msgs[i];

			/* every message names where: "FILE:LINE: ..." or "FILE: ..." */
			assert(m && strstr(m, ": ") && strstr(m, ": ")[2] != '\0');
		}
	}
	pw_config_free(c);
	pw_diag_done(&diag);

	/* the next input starts from an empty drop-in directory */
	for (int i = 0; i + 1 < n && i < MAX_DROPINS; i++) {
		char path[320];

		snprintf(path, sizeof(path), "%s/%02d.conf", confd, i);
		unlink(path);
	}
	return 0;
}
