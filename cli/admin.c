/* SPDX-License-Identifier: MIT */
/*
 * portwatch run, reload and ack: the verbs that act rather than read. run
 * and reload ask the running daemon, on its control socket, to run a job
 * (or all) now or to load its configuration again; ack marks events
 * acknowledged in the database, the only write portwatch makes.
 */

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "config.h"
#include "control.h"
#include "output.h"
#include "store.h"
#include "util.h"
#include "verbs.h"

/* How long `portwatch run` waits for the daemon's answer. */
#define CONTROL_TIMEOUT_USEC (10 * USEC_PER_SEC)

struct daemon_opts {
	const char *config; /* NULL: env->default_config if it exists */
	const char *socket, *db;
	bool all; /* run --all */
};

/*
 * The config file names the socket and the database. Without --config a
 * missing default file means the built-in paths; a broken one is an error
 * only when it was named.
 */
static int load_paths(const char *verb, const struct daemon_opts *o, const struct pw_cli_env *env,
		      bool quiet, struct pw_config **ret)
{
	struct pw_diag diag = PW_DIAG_INIT;
	const char *path = o->config ?: env->default_config;
	int r;

	*ret = NULL;
	if (!o->config && access(path, F_OK) < 0)
		return 0;
	r = pw_config_load(path, ret, &diag);
	if (r < 0 && o->config && !quiet) {
		for (size_t i = 0; i < diag.n; i++)
			fprintf(env->err, "%s\n", diag.msgs[i]);
		fprintf(env->err, "portwatch %s: cannot load the configuration %s%s%s\n", verb,
			path, diag.n ? "" : ": ", diag.n ? "" : strerror(-r));
	}
	pw_diag_done(&diag);
	return o->config ? r : 0;
}

static int parse_daemon_opts(const char *verb, int argc, char **argv, bool with_db,
			     struct daemon_opts *o, void (*usage)(FILE *),
			     const struct pw_cli_env *env)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "socket", required_argument, NULL, 'S' },
		{ "db", required_argument, NULL, 'D' },
		{ "all", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			o->config = optarg;
			break;
		case 'S':
			if (with_db)
				goto unknown;
			o->socket = optarg;
			break;
		case 'D':
			if (!with_db)
				goto unknown;
			o->db = optarg;
			break;
		case 'A':
			if (with_db)
				goto unknown;
			o->all = true;
			break;
		case 'h':
			usage(env->out);
			return 1;
		case ':':
			fprintf(env->err, "portwatch %s: option \"%s\" needs a value\n", verb,
				argv[optind - 1]);
			return -EINVAL;
		default:
		unknown:
			fprintf(env->err,
				"portwatch %s: unknown option \"%s\"\nTry 'portwatch %s --help'.\n",
				verb, argv[optind - 1], verb);
			return -EINVAL;
		}
	}
	return 0;
}

static void run_help(FILE *out)
{
	fprintf(out, "Usage: portwatch run [--config FILE] [--socket PATH] JOB | --all\n"
		     "Ask the running portwatchd to run JOB, or every enabled job, now.\n"
		     "\n"
		     "      --all           every enabled job (those already running go on)\n"
		     "      --config FILE   the daemon's configuration, for its control_socket\n"
		     "                      (default " PW_DEFAULT_CONFIG ")\n"
		     "      --socket PATH   the control socket (default: from the configuration,\n"
		     "                      else " PW_DEFAULT_CONTROL_SOCKET ")\n"
		     "  -h, --help          show this help\n"
		     "\n"
		     "Exit status: 0 the run started (with --all: the request was taken),\n"
		     "1 the daemon is not running or refused (no such job, disabled, already\n"
		     "running), 2 usage.\n");
}

static void reload_help(FILE *out)
{
	fprintf(out, "Usage: portwatch reload [--config FILE] [--socket PATH]\n"
		     "Ask the running portwatchd to load its configuration again, and say\n"
		     "whether it took it. The unit's ExecReload= runs this, so that\n"
		     "`systemctl reload portwatchd` fails when the configuration is rejected.\n"
		     "\n"
		     "      --config FILE   the daemon's configuration, for its control_socket\n"
		     "                      (default " PW_DEFAULT_CONFIG ")\n"
		     "      --socket PATH   the control socket (default: from the configuration,\n"
		     "                      else " PW_DEFAULT_CONTROL_SOCKET ")\n"
		     "  -h, --help          show this help\n"
		     "\n"
		     "Exit status: 0 the configuration was loaded, 1 it was rejected (the old\n"
		     "one stays; its first error is printed) or the daemon is not running,\n"
		     "2 usage.\n");
}

/*
 * The control_socket the main file names, the rest not judged (libconfig
 * syntax aside): for a reload of files that may be broken. NULL: none.
 */
static char *main_file_socket(const char *path)
{
	const char *s = NULL;
	char *ret = NULL;
	config_t cf;

	config_init(&cf);
	if (config_read_file(&cf, path) == CONFIG_TRUE &&
	    config_lookup_string(&cf, "control_socket", &s) == CONFIG_TRUE)
		ret = strdup(s);
	config_destroy(&cf);
	return ret;
}

/*
 * Send request to the daemon's control socket; print why it failed, if it
 * did. Returns 0 with *ret_reply the reply after "ok" (maybe ""), or -1.
 */
static int ask_daemon(const char *verb, const struct daemon_opts *o, const char *request,
		      const char *what, const struct pw_cli_env *env, char **ret_reply)
{
	_cleanup_free_ char *reply = NULL, *err = NULL, *named = NULL;
	struct pw_config *cfg = NULL;
	const char *sock;
	bool reload = strcmp(request, "reload") == 0, ok;
	int r;

	/* A reload is asked because the files changed: a broken one is the
	 * daemon's to judge (and log), so only its socket is read then. */
	if (!o->socket && load_paths(verb, o, env, reload, &cfg) < 0) {
		if (!reload)
			return -1;
		named = main_file_socket(o->config ?: env->default_config);
	}
	sock = o->socket ?: cfg ? cfg->control_socket : named ?: PW_DEFAULT_CONTROL_SOCKET;
	r = pw_control_request(sock, request, CONTROL_TIMEOUT_USEC, &reply, &err);
	/* a changed control_socket takes effect at restart: the running
	 * daemon may still be on the default one */
	if (reload && !o->socket && (r == -ENOENT || r == -ECONNREFUSED) && !err &&
	    strcmp(sock, PW_DEFAULT_CONTROL_SOCKET) != 0) {
		sock = PW_DEFAULT_CONTROL_SOCKET;
		r = pw_control_request(sock, request, CONTROL_TIMEOUT_USEC, &reply, &err);
	}
	ok = !err && r >= 0 && strncmp(reply, "ok", 2) == 0 && (!reply[2] || reply[2] == ' ');
	if (err)
		fprintf(env->err, "portwatch %s: %s\n", verb, err);
	else if (r == -ENOENT || r == -ECONNREFUSED)
		fprintf(env->err, "portwatch %s: portwatchd is not running (%s at %s)\n", verb,
			r == -ENOENT ? "no socket" : "nobody answers", sock);
	else if (r == -EACCES)
		fprintf(env->err,
			"portwatch %s: %s: permission denied (root or the daemon's user may ask)\n",
			verb, sock);
	else if (r < 0)
		fprintf(env->err, "portwatch %s: %s: %s\n", verb, sock, strerror(-r));
	else if (!ok)
		fprintf(env->err, "portwatch %s: %s: %s\n", verb, what,
			strncmp(reply, "error: ", 7) == 0 ? reply + 7 : reply);
	pw_config_free(cfg);
	if (!ok)
		return -1;
	*ret_reply = strdup(reply[2] ? reply + 3 : "");
	return *ret_reply ? 0 : -1;
}

int pw_cli_verb_run(int argc, char **argv, const struct pw_cli_env *env)
{
	struct daemon_opts o = {};
	_cleanup_free_ char *request = NULL, *reply = NULL;
	unsigned started, running;
	const char *job;
	int r;

	r = parse_daemon_opts("run", argc, argv, false, &o, run_help, env);
	if (r != 0)
		return r > 0 ? PW_CLI_EXIT_OK : PW_CLI_EXIT_USAGE;
	if (o.all == (argc - optind == 1) || argc - optind > 1) {
		fprintf(env->err,
			"portwatch run: name one job, or --all\nTry 'portwatch run --help'.\n");
		return PW_CLI_EXIT_USAGE;
	}
	if (o.all) {
		if (ask_daemon("run", &o, "run-all", "all jobs", env, &reply) < 0)
			return PW_CLI_EXIT_FAILURE;
		if (sscanf(reply, "%u %u", &started, &running) != 2)
			started = running = 0;
		fprintf(env->out, "%u job(s) run now; %u already running.\n", started, running);
		return PW_CLI_EXIT_OK;
	}
	job = argv[optind];
	if (asprintf(&request, "run %s", job) < 0)
		return PW_CLI_EXIT_FAILURE;
	if (ask_daemon("run", &o, request, job, env, &reply) < 0)
		return PW_CLI_EXIT_FAILURE;
	fprintf(env->out, "Job %s runs now.\n", job);
	return PW_CLI_EXIT_OK;
}

int pw_cli_verb_reload(int argc, char **argv, const struct pw_cli_env *env)
{
	struct daemon_opts o = {};
	_cleanup_free_ char *reply = NULL;
	int r;

	r = parse_daemon_opts("reload", argc, argv, false, &o, reload_help, env);
	if (r != 0)
		return r > 0 ? PW_CLI_EXIT_OK : PW_CLI_EXIT_USAGE;
	if (argc - optind != 0 || o.all) {
		fprintf(env->err,
			"portwatch reload: takes no arguments\nTry 'portwatch reload --help'.\n");
		return PW_CLI_EXIT_USAGE;
	}
	if (ask_daemon("reload", &o, "reload", "reload", env, &reply) < 0)
		return PW_CLI_EXIT_FAILURE;
	fprintf(env->out, "Configuration reloaded.\n");
	return PW_CLI_EXIT_OK;
}

static void ack_help(FILE *out)
{
	fprintf(out, "Usage: portwatch ack [--config FILE] [--db PATH] EVENT_ID...\n"
		     "Mark events (policy violations) acknowledged: who and when is stored and\n"
		     "shown in the \"violations\" and \"event_log\" views. The first\n"
		     "acknowledgement of an event stays. This is the only write portwatch makes.\n"
		     "\n"
		     "      --config FILE   the daemon's configuration, for its database\n"
		     "                      (default " PW_DEFAULT_CONFIG ")\n"
		     "      --db PATH       the database (default: from the configuration)\n"
		     "  -h, --help          show this help\n"
		     "\n"
		     "Exit status: 0 every event acknowledged (or already), 1 an error (no such\n"
		     "event, the database cannot be written), 2 usage.\n");
}

/* Who acknowledged: the login name of the real uid. */
static void ack_user(char *buf, size_t len)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw && pw->pw_name)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)getuid());
}

/* The event ids of the command line: -1 to go on, else the exit status. */
static int parse_ack_ids(int argc, char **argv, const struct pw_cli_env *env, uint64_t **ret_ids,
			 size_t *ret_n)
{
	size_t n = (size_t)(argc - optind);
	_cleanup_free_ uint64_t *ids = NULL;

	if (n == 0) {
		fprintf(env->err,
			"portwatch ack: name at least one event id\nTry 'portwatch ack --help'.\n");
		return PW_CLI_EXIT_USAGE;
	}
	ids = calloc(n, sizeof(*ids));
	if (!ids)
		return PW_CLI_EXIT_FAILURE;
	for (size_t i = 0; i < n; i++)
		if (pw_parse_u64(argv[optind + i], 1, INT64_MAX, &ids[i]) < 0) {
			fprintf(env->err,
				"portwatch ack: \"%s\" is not an event id (a positive number, as in the violations view)\n",
				argv[optind + i]);
			return PW_CLI_EXIT_USAGE;
		}
	*ret_ids = TAKE_PTR(ids);
	*ret_n = n;
	return -1;
}

static int ack_events(struct pw_store *s, const uint64_t *ids, size_t n,
		      const struct pw_cli_env *env)
{
	int r, ret = PW_CLI_EXIT_OK;
	char who[64];

	ack_user(who, sizeof(who));
	for (size_t i = 0; i < n; i++) {
		r = pw_store_ack(s, (int64_t)ids[i], pw_now_usec(CLOCK_REALTIME), who);
		if (r == 0)
			fprintf(env->out, "Event %llu acknowledged.\n", (unsigned long long)ids[i]);
		else if (r > 0)
			fprintf(env->out, "Event %llu was already acknowledged.\n",
				(unsigned long long)ids[i]);
		else {
			fprintf(env->err, "portwatch ack: %s\n", pw_store_last_error(s));
			ret = PW_CLI_EXIT_FAILURE;
		}
	}
	return ret;
}

int pw_cli_verb_ack(int argc, char **argv, const struct pw_cli_env *env)
{
	struct daemon_opts o = {};
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ uint64_t *ids = NULL;
	struct pw_config *cfg = NULL;
	struct pw_store *s = NULL;
	const char *db;
	int r, ret;
	size_t n = 0;

	r = parse_daemon_opts("ack", argc, argv, true, &o, ack_help, env);
	if (r != 0)
		return r > 0 ? PW_CLI_EXIT_OK : PW_CLI_EXIT_USAGE;
	ret = parse_ack_ids(argc, argv, env, &ids, &n);
	if (ret >= 0)
		return ret;
	if (!o.db && load_paths("ack", &o, env, false, &cfg) < 0)
		return PW_CLI_EXIT_FAILURE;
	db = o.db ?: cfg ? cfg->database : PW_DEFAULT_DATABASE;
	/* opened read-write, but never created: a typo must not make a database */
	if (access(db, F_OK) < 0) {
		fprintf(env->err, "portwatch ack: %s: no such database (--db PATH names another)\n",
			db);
		pw_config_free(cfg);
		return PW_CLI_EXIT_FAILURE;
	}
	r = pw_store_open(db, 0, &s, &err);
	if (r < 0) {
		fprintf(env->err, "portwatch ack: %s\n", err ? err : strerror(-r));
		pw_config_free(cfg);
		return PW_CLI_EXIT_FAILURE;
	}
	ret = ack_events(s, ids, n, env);
	pw_store_close(s);
	pw_config_free(cfg);
	return ret;
}
