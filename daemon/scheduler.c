/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"
#include "util.h"

struct sched_job {
	char *name;
	uint64_t interval, jitter;
	uint64_t anchor; /* cadence point of the next run, before jitter */
	uint64_t due;    /* anchor + this run's random jitter */
	bool running;
	unsigned skips; /* since the job last started */
};

struct pw_scheduler {
	struct sched_job *jobs;
	size_t n;
	uint64_t rng;
	uint64_t spread;
};

/* xorshift64*: cheap, seedable, good enough for spreading start times. */
static uint64_t rnd(struct pw_scheduler *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * UINT64_C(2685821657736338717);
}

/* Uniform in [0, bound]. */
static uint64_t rnd_upto(struct pw_scheduler *s, uint64_t bound)
{
	if (bound == 0)
		return 0;
	if (bound == UINT64_MAX)
		return rnd(s);
	return rnd(s) % (bound + 1);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int pw_scheduler_new(uint64_t seed, uint64_t spread_usec, struct pw_scheduler **ret)
{
	struct pw_scheduler *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->rng = seed ? seed : UINT64_C(0x9e3779b97f4a7c15);
	s->spread = spread_usec;
	*ret = s;
	return 0;
}

struct pw_scheduler *pw_scheduler_free(struct pw_scheduler *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		free(s->jobs[i].name);
	free(s->jobs);
	free(s);
	return NULL;
}

static struct sched_job *find(const struct pw_scheduler *s, const char *job)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->jobs[i].name, job) == 0)
			return &s->jobs[i];
	return NULL;
}

static void set_anchor(struct pw_scheduler *s, struct sched_job *j, uint64_t anchor)
{
	j->anchor = anchor;
	j->due = sat_add(anchor, rnd_upto(s, j->jitter));
}

int pw_scheduler_add(struct pw_scheduler *s, const char *job, uint64_t interval_usec,
		     uint64_t jitter_usec, uint64_t last_start, uint64_t now)
{
	struct sched_job *jobs, *j;
	uint64_t anchor;

	if (interval_usec == 0 || !job)
		return -EINVAL;
	if (find(s, job))
		return -EEXIST;
	jobs = realloc(s->jobs, (s->n + 1) * sizeof(*jobs));
	if (!jobs)
		return -ENOMEM;
	s->jobs = jobs;
	j = &jobs[s->n];
	*j = (struct sched_job){ .interval = interval_usec, .jitter = jitter_usec };
	j->name = strdup(job);
	if (!j->name)
		return -ENOMEM;
	s->n++;

	anchor = last_start ? sat_add(last_start, interval_usec) : 0;
	if (anchor > now) {
		set_anchor(s, j, anchor);
	} else {
		/* New or overdue: somewhere in the start spread, never all at once. */
		uint64_t bound = s->spread < interval_usec ? s->spread : interval_usec;

		/* the cadence starts at that first run, not at now */
		j->due = sat_add(now, rnd_upto(s, bound));
		j->anchor = j->due;
	}
	return 0;
}

int pw_scheduler_remove(struct pw_scheduler *s, const char *job)
{
	struct sched_job *j = find(s, job);

	if (!j)
		return -ENOENT;
	free(j->name);
	*j = s->jobs[--s->n];
	return 0;
}

int pw_scheduler_poll(struct pw_scheduler *s, uint64_t now, struct pw_sched_action *ret)
{
	struct sched_job *best = NULL;

	for (size_t i = 0; i < s->n; i++) {
		struct sched_job *j = &s->jobs[i];

		if (j->due <= now && (!best || j->due < best->due))
			best = j;
	}
	if (!best)
		return 0;

	*ret = (struct pw_sched_action){ .job = best->name };
	if (best->running) {
		ret->kind = PW_SCHED_SKIP;
		ret->skips_in_row = ++best->skips;
		/* one skip per missed due time, never a burst of them */
		set_anchor(s, best,
			   best->anchor + best->interval > now ? best->anchor + best->interval
							       : sat_add(now, best->interval));
		return 1;
	}
	ret->kind = PW_SCHED_RUN;
	best->running = true;
	best->skips = 0;
	/* After a stall, continue from now rather than catching up. */
	if (sat_add(best->anchor, best->interval) > now)
		set_anchor(s, best, best->anchor + best->interval);
	else
		set_anchor(s, best, sat_add(now, best->interval));
	return 1;
}

uint64_t pw_scheduler_next_deadline(const struct pw_scheduler *s)
{
	uint64_t d = UINT64_MAX;

	for (size_t i = 0; i < s->n; i++)
		if (s->jobs[i].due < d)
			d = s->jobs[i].due;
	return d;
}

int pw_scheduler_finished(struct pw_scheduler *s, const char *job)
{
	struct sched_job *j = find(s, job);

	if (!j)
		return -ENOENT;
	j->running = false;
	return 0;
}

int pw_scheduler_run_now(struct pw_scheduler *s, const char *job, uint64_t now)
{
	struct sched_job *j = find(s, job);

	if (!j)
		return -ENOENT;
	if (j->running)
		return -EBUSY;
	/* The cadence restarts from this run, so it is not followed at once by the old due time. */
	j->anchor = now;
	j->due = now;
	return 0;
}

int pw_scheduler_job_due(const struct pw_scheduler *s, const char *job, uint64_t *ret_due)
{
	const struct sched_job *j = find(s, job);

	if (!j)
		return -ENOENT;
	*ret_due = j->due;
	return 0;
}

bool pw_scheduler_job_running(const struct pw_scheduler *s, const char *job)
{
	const struct sched_job *j = find(s, job);

	return j && j->running;
}
