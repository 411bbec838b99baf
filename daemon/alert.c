/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "alert.h"
#include "json.h"
#include "util.h"

/* A reason longer than this is cut: the payload must fit a pipe's buffer. */
#define REASON_MAX 512

/* One run of a hook, queued or running. */
struct hook {
	struct hook *next;
	struct pw_alerter *a;
	char **argv, **env;
	char *json;
	const char *event; /* static */
	char *job;
	uint64_t timeout_usec;

	pid_t pid;
	int out_fd;
	sd_event_source *child, *io, *timer;
	bool timed_out, sent_kill;
	uint64_t start_mono;
	size_t out_len;
	bool truncated;
	char out[PW_ALERT_OUTPUT_MAX + 1];
};

struct pw_alerter {
	sd_event *event;
	unsigned max_running, n_running;
	size_t max_queued, n_queued;
	struct hook *running;
	struct hook *queue_head, *queue_tail;
	pw_alert_done_cb_t done;
	void *userdata;
};

/* ------------------------------------------------------------ payload */

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static const char *state_str(bool has, enum pw_state s)
{
	return has ? pw_state_to_string(s) : NULL;
}

static void format_time(uint64_t usec, char buf[32])
{
	time_t t = (time_t)(usec / USEC_PER_SEC);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "%" PRIu64, usec / USEC_PER_SEC);
}

/* A hook tests for a member's presence: a fact the event lacks is left out, not null. */
static void json_field_str(struct pw_json *j, const char *key, const char *val)
{
	if (!val)
		return;
	pw_json_key(j, key);
	pw_json_str(j, val);
}

static void json_field_u64(struct pw_json *j, const char *key, uint64_t val)
{
	pw_json_key(j, key);
	pw_json_uint(j, val);
}

static int event_name(enum pw_alert_event e, const char **ret)
{
	const char *name = pw_alert_event_to_string(e);

	if (!name)
		return -EINVAL;
	*ret = name;
	return 0;
}

static void write_json(struct pw_json *j, const char *name, const struct pw_event *ev)
{
	char addr[PW_ADDR_STRLEN], when[32], reason[REASON_MAX + 1];

	pw_json_begin_object(j, PW_JSON_COMPACT);
	json_field_str(j, "event", name);
	json_field_str(j, "job", ev->job);
	if (ev->run_id > 0)
		json_field_u64(j, "run_id", (uint64_t)ev->run_id);
	if (ev->has_address)
		json_field_str(j, "address", pw_addr_format(ev->address, addr));
	if (ev->port)
		json_field_u64(j, "port", ev->port);
	if (ev->service && *ev->service)
		json_field_str(j, "service", ev->service);
	json_field_str(j, "old_state", state_str(ev->has_old_state, ev->old_state));
	json_field_str(j, "new_state", state_str(ev->has_new_state, ev->new_state));
	format_time(ev->time_usec, when);
	json_field_str(j, "time", when);
	json_field_u64(j, "time_usec", ev->time_usec);
	if (ev->reason) {
		snprintf(reason, sizeof(reason), "%s", ev->reason);
		json_field_str(j, "reason", reason);
	}
	pw_json_end_object(j);
}

int pw_alert_format_json(enum pw_alert_event e, const struct pw_event *ev, char **ret)
{
	struct pw_json j;
	const char *name;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	r = event_name(e, &name);
	if (r < 0)
		return r;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	pw_json_init(&j, f);
	write_json(&j, name, ev);
	r = pw_json_done(&j);
	if (fclose(f) != 0)
		r = -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	return 0;
}

static int env_add(char **env, size_t *n, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int env_add(char **env, size_t *n, const char *key, const char *fmt, ...)
{
	_cleanup_free_ char *val = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (r < 0) {
		val = NULL;
		return -ENOMEM;
	}
	if (asprintf(&env[*n], "%s=%s", key, val) < 0) {
		env[*n] = NULL;
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

int pw_alert_format_env(enum pw_alert_event e, const struct pw_event *ev, char ***ret)
{
	char addr[PW_ADDR_STRLEN], when[32];
	const char *name, *s;
	char **env;
	size_t n = 0;
	int r;

	r = event_name(e, &name);
	if (r < 0)
		return r;
	env = calloc(16, sizeof(*env));
	if (!env)
		return -ENOMEM;
	format_time(ev->time_usec, when);
	r = env_add(env, &n, "PATH", "%s", PW_ALERT_PATH);
	if (r >= 0)
		r = env_add(env, &n, "PORTWATCH_EVENT", "%s", name);
	if (r >= 0 && ev->job)
		r = env_add(env, &n, "PORTWATCH_JOB", "%s", ev->job);
	if (r >= 0 && ev->run_id > 0)
		r = env_add(env, &n, "PORTWATCH_RUN_ID", "%" PRId64, ev->run_id);
	if (r >= 0 && ev->has_address)
		r = env_add(env, &n, "PORTWATCH_ADDRESS", "%s", pw_addr_format(ev->address, addr));
	if (r >= 0 && ev->port)
		r = env_add(env, &n, "PORTWATCH_PORT", "%u", ev->port);
	if (r >= 0 && ev->service && *ev->service)
		r = env_add(env, &n, "PORTWATCH_SERVICE", "%s", ev->service);
	if (r >= 0 && (s = state_str(ev->has_old_state, ev->old_state)))
		r = env_add(env, &n, "PORTWATCH_OLD_STATE", "%s", s);
	if (r >= 0 && (s = state_str(ev->has_new_state, ev->new_state)))
		r = env_add(env, &n, "PORTWATCH_NEW_STATE", "%s", s);
	if (r >= 0)
		r = env_add(env, &n, "PORTWATCH_TIME", "%s", when);
	if (r >= 0 && ev->reason)
		r = env_add(env, &n, "PORTWATCH_REASON", "%.*s", REASON_MAX, ev->reason);
	if (r < 0) {
		strv_free(env);
		return r;
	}
	*ret = env;
	return 0;
}

/* ------------------------------------------------------------ hooks */

bool pw_alert_wants(const struct pw_alert *cfg, enum pw_alert_event e)
{
	return cfg && cfg->argv && cfg->argc > 0 && (unsigned)e < _PW_ALERT_EVENT_MAX &&
	       (cfg->events & (1u << e));
}

static struct hook *hook_free(struct hook *h)
{
	if (!h)
		return NULL;
	sd_event_source_disable_unref(h->child);
	sd_event_source_disable_unref(h->io);
	sd_event_source_disable_unref(h->timer);
	if (h->out_fd >= 0)
		close(h->out_fd);
	strv_free(h->argv);
	strv_free(h->env);
	free(h->json);
	free(h->job);
	free(h);
	return NULL;
}

static int hook_new(const struct pw_alert *cfg, enum pw_alert_event e, const struct pw_event *ev,
		    struct hook **ret)
{
	struct hook *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	h->out_fd = -1;
	h->timeout_usec = cfg->timeout_usec;
	r = event_name(e, &h->event);
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	h->argv = calloc(cfg->argc + 1, sizeof(char *));
	if (!h->argv)
		goto fail;
	for (size_t i = 0; i < cfg->argc; i++)
		if (!(h->argv[i] = strdup(cfg->argv[i])))
			goto fail;
	if (ev->job && !(h->job = strdup(ev->job)))
		goto fail;
	r = pw_alert_format_env(e, ev, &h->env);
	if (r >= 0)
		r = pw_alert_format_json(e, ev, &h->json);
	if (r < 0)
		goto fail;
	*ret = h;
	return 0;
fail:
	hook_free(h);
	return r;
}

static void report(struct pw_alerter *a, struct hook *h, int spawn_error, const siginfo_t *si)
{
	struct pw_alert_result res = {
		.event = h->event,
		.job = h->job,
		.program = h->argv[0],
		.pid = h->pid,
		.spawn_error = spawn_error,
		.timed_out = h->timed_out,
		.output = h->out,
		.output_len = h->out_len,
		.output_truncated = h->truncated,
		.duration_usec = h->start_mono ? pw_now_usec(CLOCK_MONOTONIC) - h->start_mono : 0,
	};

	h->out[h->out_len] = '\0';
	if (si) {
		res.exited = si->si_code == CLD_EXITED;
		if (res.exited)
			res.exit_status = si->si_status;
		else
			res.term_signal = si->si_status;
	}
	if (a->done)
		a->done(a->userdata, &res);
}

/* Read what the hook wrote; keep the first bytes, drop the rest. */
static bool drain(struct hook *h)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(h->out_fd, buf, sizeof(buf));
		size_t room = PW_ALERT_OUTPUT_MAX - h->out_len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0; /* EOF, or nothing more for now */
		if ((size_t)n > room) {
			h->truncated = true;
			n = (ssize_t)room;
		}
		memcpy(h->out + h->out_len, buf, (size_t)n);
		h->out_len += (size_t)n;
	}
}

static void signal_group(struct hook *h, int sig)
{
	/* the whole group: a script's children too */
	if (kill(-h->pid, sig) < 0)
		(void)kill(h->pid, sig);
}

static void start_queued(struct pw_alerter *a);

static void unlink_running(struct pw_alerter *a, struct hook *h)
{
	for (struct hook **p = &a->running; *p; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			a->n_running--;
			return;
		}
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata)
{
	struct hook *h = userdata;
	struct pw_alerter *a = h->a;

	/* A grandchild may still hold the pipe: take what is there, no waiting. */
	(void)drain(h);
	/*
	 * The hook is over once its leader is: whatever it left in its group
	 * (a child ignoring SIGTERM, a daemonised helper) would live on
	 * outside the concurrency cap. sd-event reaps the leader only after
	 * this callback, so the group id cannot have been reused yet.
	 */
	if (kill(-h->pid, SIGKILL) < 0 && errno != ESRCH)
		(void)kill(h->pid, SIGKILL);
	unlink_running(a, h);
	report(a, h, 0, si);
	hook_free(h);
	start_queued(a);
	return 0;
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct hook *h = userdata;

	if (drain(h))
		return sd_event_source_set_enabled(s, SD_EVENT_OFF);
	return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct hook *h = userdata;

	if (h->sent_kill)
		return 0;
	if (!h->timed_out) {
		h->timed_out = true;
		signal_group(h, SIGTERM);
		(void)sd_event_source_set_time(s, usec + PW_ALERT_KILL_GRACE_USEC);
		return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	}
	h->sent_kill = true;
	signal_group(h, SIGKILL);
	return 0;
}

static int spawn(struct hook *h, int in_fd, int out_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	int r;

	/* `systemctl kill -s USR1 portwatchd` (run all jobs) or HUP signals
	 * every process of the unit: meant for the daemon, they must not kill
	 * a hook and lose its alert. The daemon ignores both (manager.c), and
	 * an ignored signal stays ignored across exec, also for a shell. */
	sigemptyset(&none);
	sigfillset(&defaults);
	sigdelset(&defaults, SIGUSR1);
	sigdelset(&defaults, SIGHUP);
	r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return -r;
	r = posix_spawnattr_init(&attr);
	if (r != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, out_fd, STDERR_FILENO);
	if (!r)
		r = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	if (!r)
		r = posix_spawn_file_actions_addchdir_np(&fa, "/");
	/* The daemon blocks SIGCHLD and the loop's signals: the hook must not
	 * inherit that, nor any handler (but the two ignored above). */
	if (!r)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
							    POSIX_SPAWN_SETPGROUP);
	if (!r)
		r = posix_spawnattr_setsigmask(&attr, &none);
	if (!r)
		r = posix_spawnattr_setsigdefault(&attr, &defaults);
	if (!r)
		r = posix_spawnattr_setpgroup(&attr, 0);
	if (!r)
		r = posix_spawn(&h->pid, h->argv[0], &fa, &attr, h->argv, h->env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

/*
 * Spawn h's command with its payload waiting on stdin and its output on a
 * non-blocking pipe (h->out_fd). Every other fd is closed again, on
 * success and failure alike.
 */
static int hook_spawn(struct hook *h)
{
	_cleanup_close_ int in_r = -1, in_w = -1, out_r = -1, out_w = -1;
	size_t len = strlen(h->json);
	int fds[2], r;

	/* posix_spawn() reports a failed exec only where it uses a vfork-like
	 * clone; check first so a missing or non-executable program is always
	 * a spawn error, never an "exit status 127" from a child. */
	if (access(h->argv[0], X_OK) < 0)
		return -errno;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	in_r = fds[0], in_w = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	out_r = fds[0], out_w = fds[1];
	/* Written before the hook starts: the payload is far below the pipe's
	 * buffer (64 KiB; one page at the very least), so this never blocks. */
	if (write(in_w, h->json, len) != (ssize_t)len)
		return -EIO;
	close(TAKE_FD(in_w));
	if (fcntl(out_r, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	r = spawn(h, in_r, out_w);
	if (r < 0)
		return r;
	h->out_fd = TAKE_FD(out_r);
	return 0;
}

/* A hook that cannot run is reported (as not started) and freed. */
static int hook_fail(struct pw_alerter *a, struct hook *h, int r)
{
	h->pid = 0;
	report(a, h, -r, NULL);
	hook_free(h);
	return r;
}

/* Start h (already counted nowhere). Returns 0 if it runs; on failure it
 * has been reported and freed. */
static int hook_start(struct pw_alerter *a, struct hook *h)
{
	int r;

	h->a = a;
	h->start_mono = pw_now_usec(CLOCK_MONOTONIC);
	r = hook_spawn(h);
	if (r < 0)
		return hook_fail(a, h, r);
	r = sd_event_add_child(a->event, &h->child, h->pid, WEXITED, on_child, h);
	if (r < 0) {
		/* cannot watch it: do not let it run unwatched */
		signal_group(h, SIGKILL);
		(void)waitpid(h->pid, NULL, 0);
		return hook_fail(a, h, r);
	}
	if (sd_event_add_io(a->event, &h->io, h->out_fd, EPOLLIN, on_output, h) < 0)
		h->io = NULL; /* output is still read once it exits */
	r = sd_event_add_time_relative(a->event, &h->timer, CLOCK_MONOTONIC, h->timeout_usec, 0,
				       on_timeout, h);
	if (r < 0) {
		signal_group(h, SIGKILL);
		h->timed_out = true;
	}
	h->next = a->running;
	a->running = h;
	a->n_running++;
	return 0;
}

static void start_queued(struct pw_alerter *a)
{
	while (a->queue_head && a->n_running < a->max_running) {
		struct hook *h = a->queue_head;

		a->queue_head = h->next;
		if (!a->queue_head)
			a->queue_tail = NULL;
		a->n_queued--;
		h->next = NULL;
		(void)hook_start(a, h);
	}
}

int pw_alerter_submit(struct pw_alerter *a, const struct pw_alert *cfg, enum pw_alert_event e,
		      const struct pw_event *ev)
{
	struct hook *h;
	int r;

	if (!cfg || !cfg->argv || cfg->argc == 0)
		return -EINVAL;
	if (a->n_running >= a->max_running && a->n_queued >= a->max_queued)
		return -ENOBUFS;
	r = hook_new(cfg, e, ev, &h);
	if (r < 0)
		return r;
	if (a->n_running < a->max_running) {
		(void)hook_start(a, h);
		return 0;
	}
	if (a->queue_tail)
		a->queue_tail->next = h;
	else
		a->queue_head = h;
	a->queue_tail = h;
	a->n_queued++;
	return 1;
}

int pw_alerter_new(sd_event *event, unsigned max_running, size_t max_queued,
		   pw_alert_done_cb_t done, void *userdata, struct pw_alerter **ret)
{
	struct pw_alerter *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->event = sd_event_ref(event);
	a->max_running = max_running ? max_running : PW_ALERT_DEFAULT_MAX_RUNNING;
	a->max_queued = max_queued ? max_queued : PW_ALERT_DEFAULT_MAX_QUEUED;
	a->done = done;
	a->userdata = userdata;
	*ret = a;
	return 0;
}

struct pw_alerter *pw_alerter_free(struct pw_alerter *a)
{
	if (!a)
		return NULL;
	while (a->running) {
		struct hook *h = a->running;

		a->running = h->next;
		signal_group(h, SIGKILL);
		(void)waitpid(h->pid, NULL, 0);
		hook_free(h);
	}
	while (a->queue_head) {
		struct hook *h = a->queue_head;

		a->queue_head = h->next;
		hook_free(h);
	}
	sd_event_unref(a->event);
	free(a);
	return NULL;
}

unsigned pw_alerter_running(const struct pw_alerter *a)
{
	return a->n_running;
}

size_t pw_alerter_queued(const struct pw_alerter *a)
{
	return a->n_queued;
}
