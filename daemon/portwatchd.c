/* SPDX-License-Identifier: MIT */
/*
 * portwatchd: the port-monitoring daemon. main() only parses options and
 * runs the event loop; everything else lives in modules.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libconfig.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "events.h"
#include "log.h"
#include "util.h"

#ifndef PW_DEFAULT_CONFIG
#define PW_DEFAULT_CONFIG "/etc/portwatch/portwatchd.conf"
#endif

/* Documented in portwatchd(8) and the README; scripts depend on them. */
enum {
	PW_EXIT_OK = 0,
	PW_EXIT_FAILURE = 1, /* runtime failure */
	PW_EXIT_USAGE = 2,   /* bad option or bad configuration */
};

struct options {
	const char *config_path;
	const char *database;
	bool check_config;
	bool foreground;
	int log_level;
	int log_target; /* enum pw_log_target; -1: from --foreground */
};

static void help(FILE *out)
{
	fprintf(out,
		"Usage: portwatchd [OPTION]...\n"
		"Monitor TCP ports on a schedule and record every state change.\n"
		"\n"
		"  -c, --config FILE      main configuration file (default %s)\n"
		"  -d, --database PATH    override the configured database path\n"
		"  -t, --check-config     validate the configuration, print the jobs, exit\n"
		"  -f, --foreground       log readable lines to stderr, not to the journal\n"
		"  -l, --log-level LEVEL  debug, info, notice, warning or err (default info)\n"
		"      --log-target T     auto, journal or stderr (default auto, stderr with -f)\n"
		"  -h, --help             show this help and exit\n"
		"  -V, --version          show the version and exit\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n"
		"See portwatchd(8).\n",
		PW_DEFAULT_CONFIG);
}

/* Long options without a short form. */
enum {
	ARG_LOG_TARGET = 0x100,
};

/* "journal" lets tests and wrappers force journal logging without systemd. */
static int log_target_from_string(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return PW_LOG_AUTO;
	if (strcmp(s, "journal") == 0)
		return PW_LOG_JOURNAL;
	if (strcmp(s, "stderr") == 0)
		return PW_LOG_STDERR;
	return -EINVAL;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "database", required_argument, NULL, 'd' },
		{ "check-config", no_argument, NULL, 't' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "log-target", required_argument, NULL, ARG_LOG_TARGET },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:d:tfl:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'd':
			o->database = optarg;
			break;
		case 't':
			o->check_config = true;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'l':
			o->log_level = pw_log_level_from_string(optarg);
			if (o->log_level < 0) {
				fprintf(stderr, "portwatchd: --log-level: unknown level \"%s\"\n", optarg);
				return -EINVAL;
			}
			break;
		case ARG_LOG_TARGET:
			o->log_target = log_target_from_string(optarg);
			if (o->log_target < 0) {
				fprintf(stderr, "portwatchd: --log-target: unknown target \"%s\" "
						"(auto, journal or stderr)\n", optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			help(stdout);
			exit(PW_EXIT_OK);
		case 'V':
			printf("portwatchd %s\n", PACKAGE_VERSION);
			exit(PW_EXIT_OK);
		default:
			fprintf(stderr, "Try 'portwatchd --help'.\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "portwatchd: unexpected argument \"%s\"\nTry 'portwatchd --help'.\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Until the full loader runs, at least the syntax is checked with file:line. */
static int load_config(const char *path)
{
	config_t cfg;
	int r = 0;

	config_init(&cfg);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			fprintf(stderr, "%s: cannot read file: %s\n", path, strerror(errno));
		else
			fprintf(stderr, "%s:%d: %s\n", config_error_file(&cfg) ?: path,
				config_error_line(&cfg), config_error_text(&cfg));
		r = -EINVAL;
	}
	config_destroy(&cfg);
	return r;
}

static int run(const struct options *o)
{
	sd_event *e = NULL;
	sigset_t mask;
	int r;

	/* sd-event signal sources need the signals blocked first. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = sd_event_default(&e);
	if (r < 0) {
		pw_log_error("Failed to create event loop: %s", strerror(-r));
		goto out;
	}
	/* A NULL handler makes sd-event exit the loop: a clean stop. */
	r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
	if (r >= 0)
		r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
	if (r >= 0)
		r = sd_event_set_watchdog(e, true);
	if (r < 0) {
		pw_log_error("Failed to set up signal handling: %s", strerror(-r));
		goto out;
	}

	(void)pw_event_log(&(struct pw_event){ .type = PW_EVENT_DAEMON_STARTED,
					       .config_path = o->config_path,
					       .database = o->database });
	(void)sd_notify(0, "READY=1\nSTATUS=Idle");

	r = sd_event_loop(e);
	(void)sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
	if (r < 0)
		pw_log_error("Event loop failed: %s", strerror(-r));
	else
		(void)pw_event_log(&(struct pw_event){ .type = PW_EVENT_DAEMON_STOPPED });
out:
	sd_event_unref(e);
	return r < 0 ? PW_EXIT_FAILURE : PW_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct options o = {
		.config_path = PW_DEFAULT_CONFIG,
		.log_level = LOG_INFO,
		.log_target = -1,
	};

	if (parse_options(argc, argv, &o) < 0)
		return PW_EXIT_USAGE;
	pw_log_open("portwatchd",
		    o.log_target >= 0 ? (enum pw_log_target)o.log_target :
		    o.foreground ? PW_LOG_STDERR : PW_LOG_AUTO,
		    o.log_level);

	if (load_config(o.config_path) < 0)
		return PW_EXIT_USAGE;
	if (o.check_config) {
		printf("%s: configuration OK\n", o.config_path);
		return PW_EXIT_OK;
	}
	return run(&o);
}
