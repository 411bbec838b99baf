/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "manager-internal.h"

/* New and overdue jobs start within this window after (re)start. */
#define START_SPREAD_USEC (30 * USEC_PER_SEC)
/* Skips in a row after which a job is behind its schedule (one warning). */
#define BEHIND_SKIPS 3
/* How long a write on the loop waits for another writer's lock. */
#define LOOP_BUSY_TIMEOUT_MS 50
/* Retention: rows deleted per step, and how often a step runs. */
#define PRUNE_BATCH 1000
#define PRUNE_PERIOD_USEC (60 * USEC_PER_SEC)

static int on_flush_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct pw_manager *m = userdata;
	int r;

	if (pw_store_needs_flush(m->store)) {
		r = pw_store_flush(m->store);
		pw_report_store(&m->rep, r, "Writing history");
	}
	return sd_event_source_set_time(s, usec + FLUSH_RETRY_USEC);
}

static int on_prune_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct pw_manager *m = userdata;
	uint64_t keep = m->config->retention_usec, now = now_real();

	/* One small batch per tick: retention never holds up a scan. */
	if (keep > 0 && now > keep) {
		int r;

		r = pw_store_prune(m->store, now - keep, PRUNE_BATCH);
		if (r < 0)
			pw_log_warning("Pruning history older than retention: %s",
				       pw_store_last_error(m->store));
		else if (r > 0)
			pw_log_debug("Pruned %d rows older than retention", r);
		if (r == PRUNE_BATCH)
			return sd_event_source_set_time(s, usec + USEC_PER_SEC);
	}
	return sd_event_source_set_time(s, usec + PRUNE_PERIOD_USEC);
}

void manager_update_status(struct pw_manager *m, bool force)
{
	char buf[256] = "";
	size_t used = 0;
	unsigned shown = 0;

	if (!m->runs) {
		uint64_t next = pw_scheduler_next_deadline(m->sched);
		char dur[32];

		if (next == UINT64_MAX)
			(void)pw_notify_status(&m->notify, now_mono(), force,
					       "Idle, no enabled jobs");
		else
			(void)pw_notify_status(&m->notify, now_mono(), force,
					       "Idle, next run in %s",
					       pw_format_duration(dur, sizeof(dur),
								  next > now_real()
									  ? (next - now_real()) /
										    USEC_PER_SEC *
										    USEC_PER_SEC
									  : 0));
		return;
	}
	for (struct job_run *r = m->runs; r && shown < 4; r = r->next, shown++) {
		struct pw_engine_stats st;
		char progress[24] = "resolving";
		int n;

		run_stats(r, &st);
		if (r->engine)
			snprintf(progress, sizeof(progress), "%llu%%",
				 st.total ? (unsigned long long)(st.done * 100 / st.total) : 0ULL);
		n = snprintf(buf + used, sizeof(buf) - used, "%s%s %s", shown ? ", " : "",
			     r->rr.name, progress);
		if (n < 0 || (size_t)n >= sizeof(buf) - used)
			break;
		used += (size_t)n;
	}
	(void)pw_notify_status(&m->notify, now_mono(), force, "Scanning: %s%s", buf,
			       m->n_runs > shown ? ", ..." : "");
}

/*
 * A run that was due while the previous one still went. One skip is
 * routine (a notice); a job that skips BEHIND_SKIPS times in a row cannot
 * keep its schedule, which gets one warning for the whole episode.
 */
static void record_skip(struct pw_manager *m, const struct pw_job *job, unsigned in_row)
{
	char iv[32];
	int64_t id = 0;
	int r;

	r = pw_store_run_skipped(m->store, job->name, now_real(), &id);
	if (r < 0)
		pw_log_error("Job %s: recording a skipped run: %s", job->name,
			     pw_store_last_error(m->store));
	(void)pw_event_log(&(struct pw_event){
		.type = PW_EVENT_RUN_SKIPPED,
		.job = job->name,
		.run_id = id,
		.reason = "the previous run is still going",
	});
	if (in_row == BEHIND_SKIPS)
		pw_log_warning(
			"Job %s skipped its last %u runs: one run takes longer than its interval of %s; lengthen the interval, split the job or raise its rate",
			job->name, in_row, pw_format_duration(iv, sizeof(iv), job->interval_usec));
}

static int on_sched_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct pw_manager *m = userdata;
	struct pw_sched_action a;

	while (pw_scheduler_poll(m->sched, now_real(), &a) > 0) {
		const struct pw_job *job = pw_config_find_job(m->config, a.job);

		if (!job)
			continue;
		switch (a.kind) {
		case PW_SCHED_SKIP:
			record_skip(m, job, a.skips_in_row);
			break;
		case PW_SCHED_RUN:
			if (run_start(m, job) < 0)
				(void)pw_scheduler_finished(m->sched, job->name);
			break;
		}
	}
	manager_update_status(m, true);
	manager_rearm_sched_timer(m);
	return 0;
}

void manager_rearm_sched_timer(struct pw_manager *m)
{
	uint64_t next = pw_scheduler_next_deadline(m->sched);

	if (next == UINT64_MAX) {
		(void)sd_event_source_set_enabled(m->sched_timer, SD_EVENT_OFF);
		return;
	}
	(void)sd_event_source_set_time(m->sched_timer, next);
	(void)sd_event_source_set_enabled(m->sched_timer, SD_EVENT_ONESHOT);
}

static int schedule_job(struct pw_manager *m, const struct pw_job *job)
{
	struct pw_store_run_info last, completed;
	uint64_t last_start = 0;
	int r;

	if (!job->enabled)
		return 0;
	/* The cadence follows the last run that finished: one that was aborted
	 * (restart, reload) or failed leaves the job overdue, so it runs again
	 * soon instead of an interval later. */
	r = pw_store_last_run(m->store, job->name, &last, &completed);
	if (r >= 0 && completed.run_id > 0)
		last_start = completed.started_usec;
	r = pw_scheduler_add(m->sched, job->name, job->interval_usec, job->jitter_usec, last_start,
			     now_real());
	if (r < 0)
		pw_log_error("Job %s: cannot schedule: %s", job->name, strerror(-r));
	return r;
}

static int on_stop(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct pw_manager *m = userdata;

	(void)pw_notify_stopping();
	runs_stop_all(m, "the daemon is stopping");
	return sd_event_exit(m->event, 0);
}

static unsigned inflight_budget(const struct pw_config *c)
{
	struct rlimit rl;
	rlim_t usable;

	if (c->max_inflight)
		return c->max_inflight;
	/* Sockets are fds: leave room for the database, journal and hooks. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max == RLIM_INFINITY)
		return 1024;
	usable = rl.rlim_max > 256 ? rl.rlim_max - 256 : rl.rlim_max / 2;
	return (unsigned)(usable * 3 / 4);
}

static void log_rejected(struct pw_manager *m, const struct pw_diag *diag)
{
	for (size_t i = 0; i < diag->n; i++)
		pw_log_error("%s", diag->msgs[i]);
	(void)pw_event_log(&(struct pw_event){
		.type = PW_EVENT_CONFIG_REJECTED,
		.config_path = m->config_path,
		.reason = diag->n ? diag->msgs[0] : "cannot load the configuration",
	});
}

/* The new configuration, or NULL when it was rejected (and that said,
 * with the first error in *ret_error if asked). */
static struct pw_config *reload_load(struct pw_manager *m, char **ret_error)
{
	struct pw_diag diag = PW_DIAG_INIT;
	struct pw_config *nc = NULL;
	int r;

	r = pw_config_load(m->config_path, &nc, &diag);
	if (r >= 0 && m->database_override)
		r = pw_config_set_database(nc, m->database_override);
	if (r < 0) {
		log_rejected(m, &diag);
		if (ret_error)
			*ret_error = strdup(diag.n ? diag.msgs[0] : strerror(-r));
		pw_config_free(nc);
		nc = NULL;
	}
	pw_diag_done(&diag);
	return nc;
}

/* Paths that the open store and socket hold take effect at restart only. */
static void warn_restart_only(const struct pw_manager *m, const struct pw_config *nc,
			      const struct pw_config *old)
{
	if (strcmp(nc->database, old->database) != 0)
		pw_log_warning(
			"Database path changed to %s; it takes effect at restart, still using %s",
			nc->database, old->database);
	if (!m->control_socket && strcmp(nc->control_socket, old->control_socket) != 0)
		pw_log_warning(
			"Control socket path changed to %s; it takes effect at restart, still using %s",
			nc->control_socket, old->control_socket);
}

/*
 * Jobs that disappeared or whose scan changed stop; the others keep
 * running, with new expectations and alerts from now on.
 */
static void reload_old_jobs(struct pw_manager *m, const struct pw_config *nc,
			    const struct pw_config *old, struct pw_event_jobs *counts)
{
	for (size_t i = 0; i < old->n_jobs; i++) {
		const struct pw_job *oj = &old->jobs[i];
		const struct pw_job *nj = pw_config_find_job(nc, oj->name);
		struct job_run *run = run_find(m, oj->name);

		if (nj && pw_job_scan_equal(oj, nj)) {
			if (run)
				run->rr.job = nj;
			if (!pw_job_equal(oj, nj))
				counts->changed++;
			continue;
		}
		if (nj)
			counts->changed++;
		else
			counts->removed++;
		if (run)
			run_abort(m, run, nj ? "its configuration changed" : "it was removed");
		(void)pw_scheduler_remove(m->sched, oj->name);
	}
}

/* New jobs, and jobs whose scan changed, get a schedule. */
static void reload_new_jobs(struct pw_manager *m, const struct pw_config *nc,
			    const struct pw_config *old, struct pw_event_jobs *counts)
{
	for (size_t i = 0; i < nc->n_jobs; i++) {
		const struct pw_job *nj = &nc->jobs[i];
		const struct pw_job *oj = pw_config_find_job(old, nj->name);

		if (!oj)
			counts->added++;
		if (oj && pw_job_scan_equal(oj, nj))
			continue;
		(void)schedule_job(m, nj);
	}
	counts->total = (unsigned)nc->n_jobs;
}

int manager_reload(struct pw_manager *m, char **ret_error)
{
	struct pw_config *nc, *old = m->config;
	struct pw_event_jobs counts = { 0 };

	(void)pw_notify_reloading(now_mono());
	/* what waits points into the services table and the configuration */
	pw_report_settle(&m->rep);
	/* netbase may have been upgraded; on ENOMEM the old names stay */
	(void)pw_services_load(&m->services, NULL);
	nc = reload_load(m, ret_error);
	if (!nc) {
		(void)pw_notify_ready("Configuration rejected, old one kept");
		return -EINVAL;
	}
	warn_restart_only(m, nc, old);
	reload_old_jobs(m, nc, old, &counts);
	m->config = nc;
	reload_new_jobs(m, nc, old, &counts);
	if (nc->max_rate != old->max_rate)
		pw_ratelimit_init(&m->global_rate, nc->max_rate, 0);
	m->inflight_budget = inflight_budget(nc);
	if (m->log_level_override < 0)
		pw_log_set_max_priority(nc->log_level);
	pw_config_free(old);
	(void)pw_event_log(&(struct pw_event){
		.type = PW_EVENT_CONFIG_RELOADED, .config_path = m->config_path, .jobs = &counts });
	manager_rearm_sched_timer(m);
	(void)pw_notify_ready("Configuration reloaded");
	manager_update_status(m, true);
	return 0;
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	/* a rejected configuration is logged; the daemon goes on with the old */
	(void)manager_reload(userdata, NULL);
	return 0;
}

static int on_run_now(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	unsigned started, running;

	manager_run_all(userdata, &started, &running);
	pw_log_info("SIGUSR1: running %u job(s) now", started);
	return 0;
}

static int setup_hooks(struct pw_manager *m)
{
	const char *path = m->control_socket ?: m->config->control_socket;
	int r;

	r = pw_alerter_new(m->event, 0, 0, pw_report_alert_done, &m->rep, &m->alerter);
	if (r < 0) {
		pw_log_error("Cannot set up alert hooks: %s", strerror(-r));
		return r;
	}
	m->rep.alerter = m->alerter;
	r = pw_control_new(m->event, path, manager_on_control, m, &m->control);
	/*
	 * Someone else's socket or file on the path (another daemon, or a
	 * user who bound it first in a shared directory): running anyway
	 * would leave `portwatch` talking to that process. Other failures (no
	 * directory) leave a daemon that scans; only `portwatch run` fails.
	 */
	if (r == -EADDRINUSE || r == -EEXIST) {
		pw_log_error("Control socket %s: %s; not starting", path,
			     r == -EADDRINUSE ? "another process listens there"
					      : "a file that is not a socket is in the way");
		return r;
	}
	if (r < 0)
		pw_log_warning("Control socket %s: %s; `portwatch run` will not reach this daemon",
			       path, strerror(-r));
	return 0;
}

/*
 * The file SQLite will open for path, every symbolic link resolved: the
 * lock below must be on that very file, and SQLite is given this same
 * name, so both stay on one file even if a link is changed later.
 * -EINVAL: not a regular file; -ENOLINK: a link to a missing file (SQLite
 * would create its target with its own mode, not 0600).
 */
static int resolve_database(const char *path, char **ret)
{
	_cleanup_free_ char *dir = NULL, *rdir = NULL;
	const char *base;
	struct stat st;
	char *p, *slash;

	p = realpath(path, NULL);
	if (p) {
		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(p);
			return -EINVAL;
		}
		*ret = p;
		return 0;
	}
	if (errno != ENOENT)
		return -errno;
	if (lstat(path, &st) == 0)
		return -ENOLINK; /* it exists, yet its target does not */
	/* a new database: resolve its directory */
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	base = slash ? slash + 1 : path;
	if (slash)
		*slash = '\0';
	if (!*base)
		return -EINVAL;
	rdir = realpath(slash ? (*dir ? dir : "/") : ".", NULL);
	if (!rdir)
		return -errno;
	if (asprintf(&p, "%s/%s", strcmp(rdir, "/") == 0 ? "" : rdir, base) < 0)
		return -ENOMEM;
	*ret = p;
	return 0;
}

/* Open (or create, 0600) the resolved database file for flock(). */
static int open_lock_file(const char *path)
{
	int fd;

	/* flock() needs no write access; a new database is created here,
	 * empty, and SQLite makes it a database. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
			  0600);
	return fd < 0 ? -errno : fd;
}

/*
 * One writer per database: the store hands out row ids from memory, so a
 * second daemon on the same file would overwrite the first one's runs
 * (and close its running run as "aborted" at start). A BSD lock (flock(2))
 * on the file, taken before SQLite opens it and held until after SQLite
 * closes it, keeps a second portwatchd out, whatever links lead to the
 * file. BSD locks and SQLite's POSIX locks do not interact, and this
 * descriptor is closed only at the end. No lock, no daemon: running
 * unlocked is exactly what this prevents.
 */
static int lock_database(struct pw_manager *m)
{
	const char *path = m->config->database;
	int r;

	if (strcmp(path, ":memory:") == 0)
		return 0;
	r = resolve_database(path, &m->db_path);
	if (r == -EINVAL)
		pw_log_error("The database %s is not a regular file", path);
	else if (r == -ENOLINK)
		pw_log_error("The database %s is a symbolic link to a missing file;"
			     " create the file or name the real path",
			     path);
	else if (r < 0)
		pw_log_error("Cannot open the database %s: %s", path, strerror(-r));
	if (r < 0)
		return r;
	r = open_lock_file(m->db_path);
	if (r < 0) {
		pw_log_error("Cannot open the database %s to lock it: %s", m->db_path,
			     strerror(-r));
		return r;
	}
	m->db_lock_fd = r;
	if (flock(m->db_lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		if (r == -EWOULDBLOCK)
			pw_log_error(
				"The database %s is in use by another portwatchd; one daemon per database",
				m->db_path);
		else
			pw_log_error("Cannot lock the database %s: %s", m->db_path, strerror(-r));
		return r;
	}
	return 0;
}

static int open_store(struct pw_manager *m)
{
	_cleanup_free_ char *err = NULL;
	int r;

	r = lock_database(m);
	if (r < 0)
		return r;
	r = pw_store_open(m->db_path ?: m->config->database, 0, &m->store, &err);
	if (r < 0) {
		pw_log_error("Cannot open the database: %s", err ? err : strerror(-r));
		return r;
	}
	r = pw_store_recover_runs(m->store);
	if (r > 0)
		pw_log_notice("Closed %d run(s) left running by an earlier stop as aborted", r);
	else if (r < 0)
		pw_log_warning("Closing runs left by an earlier stop: %s",
			       pw_store_last_error(m->store));
	/* From here every write happens on the event loop: while another
	 * process holds the write lock, fail fast and let the retry timer try
	 * again, instead of freezing the loop (control socket, watchdog, other
	 * jobs) in SQLite's busy wait. */
	pw_store_set_busy_timeout(m->store, LOOP_BUSY_TIMEOUT_MS);
	return 0;
}

static int setup_loop(struct pw_manager *m)
{
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	/* sd_event_add_child() (alert hooks) needs SIGCHLD blocked in every
	 * thread: block it here, before any engine thread exists. */
	sigaddset(&mask, SIGCHLD);
	/* sd-event signal sources need the signals blocked first. */
	sigprocmask(SIG_BLOCK, &mask, NULL);
	/* Ignored as well: a blocked signal is never discarded (the signalfd
	 * still gets it), and an ignored one stays ignored in the alert hooks,
	 * which `systemctl kill -s USR1` reaches too (alert.c). */
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);

	r = sd_event_new(&m->event);
	if (r >= 0)
		r = sd_event_add_signal(m->event, NULL, SIGTERM, on_stop, m);
	if (r >= 0)
		r = sd_event_add_signal(m->event, NULL, SIGINT, on_stop, m);
	if (r >= 0)
		r = sd_event_add_signal(m->event, NULL, SIGHUP, on_reload, m);
	if (r >= 0)
		r = sd_event_add_signal(m->event, NULL, SIGUSR1, on_run_now, m);
	if (r >= 0)
		r = sd_event_set_watchdog(m->event, true);
	if (r >= 0)
		r = sd_event_add_time(m->event, &m->sched_timer, CLOCK_REALTIME, UINT64_MAX, 0,
				      on_sched_timer, m);
	if (r >= 0)
		r = sd_event_add_time_relative(m->event, &m->flush_timer, CLOCK_MONOTONIC,
					       FLUSH_RETRY_USEC, 0, on_flush_timer, m);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->flush_timer, SD_EVENT_ON);
	if (r >= 0)
		r = sd_event_add_time_relative(m->event, &m->prune_timer, CLOCK_MONOTONIC,
					       10 * USEC_PER_SEC, 0, on_prune_timer, m);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->prune_timer, SD_EVENT_ON);
	return r;
}

/* Reporting into the open store: changes are told when it commits them. */
static void setup_reporter(struct pw_manager *m)
{
	m->rep = (struct pw_reporter){ .store = m->store,
				       .services = &m->services,
				       .flush_retry_usec = FLUSH_RETRY_USEC,
				       .busy_timeout_ms = LOOP_BUSY_TIMEOUT_MS };
	pw_store_set_commit_cb(m->store, pw_report_committed, &m->rep);
}

int pw_manager_new(const struct pw_manager_options *o, struct pw_diag *diag,
		   struct pw_manager **ret)
{
	struct pw_manager *m;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->db_lock_fd = -1;
	m->notify = (struct pw_notify)PW_NOTIFY_INIT;
	m->config_path = strdup(o->config_path);
	m->control_socket = o->control_socket ? strdup(o->control_socket) : NULL;
	if (o->control_socket && !m->control_socket) {
		r = -ENOMEM;
		goto fail;
	}
	m->database_override = o->database ? strdup(o->database) : NULL;
	if (!m->config_path || (o->database && !m->database_override)) {
		r = -ENOMEM;
		goto fail;
	}
	r = pw_config_load(o->config_path, &m->config, diag);
	if (r >= 0 && o->database)
		r = pw_config_set_database(m->config, o->database);
	if (r < 0)
		goto fail;
	m->log_level_override = o->log_level;
	if (o->log_level < 0)
		pw_log_set_max_priority(m->config->log_level);
	m->inflight_budget = inflight_budget(m->config);
	pw_ratelimit_init(&m->global_rate, m->config->max_rate, 0);
	/* Once, not per event: getservbyport(3) rereads the file each call. */
	r = pw_services_load(&m->services, NULL);
	if (r < 0)
		goto fail;

	r = open_store(m);
	if (r < 0)
		goto fail;
	setup_reporter(m);
	r = pw_scheduler_new(now_mono() ^ (uint64_t)getpid(), START_SPREAD_USEC, &m->sched);
	if (r < 0)
		goto fail;
	r = setup_loop(m);
	if (r < 0) {
		pw_log_error("Cannot set up the event loop: %s", strerror(-r));
		goto fail;
	}
	r = setup_hooks(m); /* logs its own errors */
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < m->config->n_jobs; i++)
		(void)schedule_job(m, &m->config->jobs[i]);
	*ret = m;
	return 0;
fail:
	pw_manager_free(m);
	return r;
}

int pw_manager_run(struct pw_manager *m)
{
	unsigned enabled = 0;
	int r;

	for (size_t i = 0; i < m->config->n_jobs; i++)
		enabled += m->config->jobs[i].enabled;
	(void)pw_event_log(&(struct pw_event){
		.type = PW_EVENT_DAEMON_STARTED,
		.config_path = m->config_path,
		.database = m->config->database,
		.jobs = &(struct pw_event_jobs){ .total = (unsigned)m->config->n_jobs },
	});
	pw_log_info("%u of %zu job(s) enabled; up to %u probes in flight in all", enabled,
		    m->config->n_jobs, m->inflight_budget);
	manager_rearm_sched_timer(m);
	(void)pw_notify_ready("Idle");
	manager_update_status(m, true);

	r = sd_event_loop(m->event);
	/* the last writes may wait for the lock: nothing else runs now */
	m->rep.busy_timeout_ms = 0;
	pw_store_set_busy_timeout(m->store, PW_STORE_DEFAULT_BUSY_TIMEOUT_MS);
	runs_stop_all(m, "the daemon is stopping");
	if (pw_store_flush(m->store) < 0)
		pw_log_error("Writing the last history at stop: %s", pw_store_last_error(m->store));
	pw_report_tell_held(&m->rep);
	if (r < 0)
		pw_log_error("Event loop failed: %s", strerror(-r));
	(void)pw_event_log(&(struct pw_event){ .type = PW_EVENT_DAEMON_STOPPED });
	return r < 0 ? r : 0;
}

struct pw_manager *pw_manager_free(struct pw_manager *m)
{
	if (!m)
		return NULL;
	while (m->runs)
		run_free(m, m->runs);
	if (m->store)
		pw_store_set_commit_cb(m->store, NULL, NULL);
	pw_report_done(&m->rep);
	sd_event_source_disable_unref(m->sched_timer);
	sd_event_source_disable_unref(m->flush_timer);
	sd_event_source_disable_unref(m->prune_timer);
	pw_control_free(m->control);
	pw_alerter_free(m->alerter);
	sd_event_unref(m->event);
	pw_scheduler_free(m->sched);
	pw_store_close(m->store);
	if (m->db_lock_fd >= 0)
		close(m->db_lock_fd); /* after SQLite is done with the file */
	free(m->db_path);
	pw_config_free(m->config);
	pw_services_done(&m->services);
	free(m->config_path);
	free(m->database_override);
	free(m->control_socket);
	free(m);
	return NULL;
}
