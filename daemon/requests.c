/* SPDX-License-Identifier: MIT */
/*
 * What the daemon is asked, on its control socket (control.h: one request
 * line, one reply, "ok..." or "error: ...") and by SIGUSR1:
 *
 *   run JOB   the job runs now              ok | error: why
 *   run-all   every enabled job runs now    ok STARTED ALREADY-RUNNING
 *   reload    the configuration again       ok | error: its first error
 *   status    the runs in progress          ok, then one line per run, pid
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "manager-internal.h"

void manager_run_all(struct pw_manager *m, unsigned *ret_started, unsigned *ret_running)
{
	unsigned started = 0, running = 0;

	for (size_t i = 0; i < m->config->n_jobs; i++) {
		const struct pw_job *job = &m->config->jobs[i];
		int r;

		if (!job->enabled)
			continue;
		r = pw_scheduler_run_now(m->sched, job->name, now_real());
		started += r >= 0;
		running += r == -EBUSY;
	}
	manager_rearm_sched_timer(m);
	*ret_started = started;
	*ret_running = running;
}

/* `portwatch run JOB`: the job runs now, as with SIGUSR1 for one job. */
static int run_job_now(struct pw_manager *m, const char *name, const char **ret_error)
{
	const struct pw_job *job = pw_config_find_job(m->config, name);
	int r;

	if (!job) {
		*ret_error = "error: no such job";
		return -ENOENT;
	}
	if (!job->enabled) {
		*ret_error = "error: job is disabled";
		return -EPERM;
	}
	r = pw_scheduler_run_now(m->sched, job->name, now_real());
	if (r == -EBUSY) {
		*ret_error = "error: already running";
		return r;
	}
	if (r < 0) {
		*ret_error = "error: cannot schedule the job";
		return r;
	}
	pw_log_info("Control socket: running job %s now", job->name);
	manager_rearm_sched_timer(m);
	return 0;
}

static int status_reply(struct pw_manager *m, char **ret_reply)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	fputs("ok\n", f);
	for (struct job_run *run = m->runs; run; run = run->next) {
		struct pw_engine_stats st;

		run_stats(run, &st);
		/* a sixth word; older CLIs read five and ignore it */
		fprintf(f, "running %s %lld %llu %llu%s\n", run->rr.name, (long long)run->rr.run_id,
			(unsigned long long)st.done, (unsigned long long)st.total,
			run->engine ? "" : " resolving");
	}
	fprintf(f, "pid %d\n", (int)getpid());
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret_reply = buf;
	return 0;
}

/* `portwatch reload` (the unit's ExecReload): the outcome, not just the signal. */
static int reload_reply(struct pw_manager *m, char **ret_reply)
{
	_cleanup_free_ char *err = NULL;

	pw_log_info("Control socket: reloading the configuration");
	if (manager_reload(m, &err) >= 0)
		*ret_reply = strdup("ok");
	else if (asprintf(ret_reply, "error: configuration rejected, old one kept: %s",
			  err ?: "out of memory") < 0)
		*ret_reply = NULL;
	return *ret_reply ? 0 : -ENOMEM;
}

static int run_all_reply(struct pw_manager *m, char **ret_reply)
{
	unsigned started, running;

	manager_run_all(m, &started, &running);
	pw_log_info("Control socket: running %u job(s) now, %u already running", started, running);
	if (asprintf(ret_reply, "ok %u %u", started, running) < 0)
		*ret_reply = NULL;
	return *ret_reply ? 0 : -ENOMEM;
}

int manager_on_control(void *userdata, const char *request, char **ret_reply)
{
	struct pw_manager *m = userdata;
	const char *err = NULL;

	if (strncmp(request, "run ", 4) == 0) {
		if (run_job_now(m, request + 4, &err) < 0)
			return (*ret_reply = strdup(err)) ? 0 : -ENOMEM;
		return (*ret_reply = strdup("ok")) ? 0 : -ENOMEM;
	}
	if (strcmp(request, "run-all") == 0)
		return run_all_reply(m, ret_reply);
	if (strcmp(request, "reload") == 0)
		return reload_reply(m, ret_reply);
	if (strcmp(request, "status") == 0)
		return status_reply(m, ret_reply);
	return (*ret_reply = strdup("error: unknown request")) ? 0 : -ENOMEM;
}
