/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's one owner of everything: the sd-event loop, the loaded
 * configuration, the store, the scheduler and the engines of the runs in
 * progress. main() parses options, creates a manager and runs it.
 *
 * Signals: SIGTERM/SIGINT stop (running scans are aborted and recorded as
 * aborted), SIGHUP reloads the configuration (a broken one is rejected and
 * the old one stays), SIGUSR1 runs every enabled job now.
 */

#include "config.h"

struct pw_manager;

struct pw_manager_options {
	const char *config_path;
	const char *database;       /* overrides the configured path; may be NULL */
	const char *control_socket; /* likewise for control_socket */
	int log_level;              /* overrides the configured level; -1 = use it */
};

/*
 * Load the configuration (errors into diag: returns -EINVAL), open the
 * database (-errno; the message is logged), set up signals and timers.
 */
int pw_manager_new(const struct pw_manager_options *o, struct pw_diag *diag,
		   struct pw_manager **ret);

/* Run until stopped. Returns 0 on a clean stop, -errno on failure. */
int pw_manager_run(struct pw_manager *m);

struct pw_manager *pw_manager_free(struct pw_manager *m);
