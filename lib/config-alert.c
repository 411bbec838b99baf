/* SPDX-License-Identifier: MIT */

/*
 * The "alert" group, global or in a job: the command to run, the events
 * it is for and its timeout. A job starts from a copy of the global one.
 */

#include <errno.h>
#include <string.h>

#include "config-internal.h"

/* ------------------------------------------------------------ alerts */

void pw_config_alert_done(struct pw_alert *a)
{
	pw_config_strv_free(a->argv, a->argc);
	a->argv = NULL;
	a->argc = 0;
}

int pw_config_alert_copy(struct pw_alert *dst, const struct pw_alert *src)
{
	struct pw_alert a = *src;

	a.argv = NULL;
	if (src->argv) {
		a.argv = calloc(src->argc + 1, sizeof(char *));
		if (!a.argv)
			return -ENOMEM;
		for (size_t i = 0; i < src->argc; i++) {
			a.argv[i] = strdup(src->argv[i]);
			if (!a.argv[i]) {
				pw_config_strv_free(a.argv, i);
				return -ENOMEM;
			}
		}
	}
	*dst = a;
	return 0;
}

static void parse_alert_command(struct ctx *c, const config_setting_t *s, struct pw_alert *a)
{
	int n;
	char **argv;

	if (!pw_config_is_list(s)) {
		pw_config_error_at(
			c, s,
			"\"command\" must be a list of strings (program and arguments), not %s",
			pw_config_type_name(config_setting_type(s)));
		return;
	}
	n = config_setting_length(s);
	if (n > PW_CONFIG_MAX_ALERT_ARGS) {
		pw_config_error_at(c, s, "\"command\" has %d elements, more than %d", n,
				   PW_CONFIG_MAX_ALERT_ARGS);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			pw_config_error_at(c, e, "\"command\": element %d must be a string, not %s",
					   i + 1, pw_config_type_name(config_setting_type(e)));
			return;
		}
		/* execve(2) would refuse it (E2BIG) at every alert */
		if (strlen(config_setting_get_string(e)) >= PW_CONFIG_MAX_ALERT_ARG_LEN) {
			pw_config_error_at(
				c, e,
				"\"command\": element %d is %zu bytes long, more than a program may be given (%d)",
				i + 1, strlen(config_setting_get_string(e)),
				PW_CONFIG_MAX_ALERT_ARG_LEN - 1);
			return;
		}
	}
	if (n > 0 && config_setting_get_string_elem(s, 0)[0] != '/') {
		pw_config_error_at(
			c, s, "\"command\": the program must be an absolute path, not \"%.80s\"",
			config_setting_get_string_elem(s, 0));
		return;
	}
	pw_config_alert_done(a);
	if (n <= 0)
		return; /* command = []: no alerts, even if the global one has some */
	argv = calloc((size_t)n + 1, sizeof(char *));
	if (!argv) {
		c->oom = true;
		return;
	}
	for (int i = 0; i < n; i++) {
		argv[i] = pw_config_strdup(c, config_setting_get_string_elem(s, (unsigned)i));
		if (!argv[i]) {
			pw_config_strv_free(argv, (size_t)i);
			return;
		}
	}
	a->argv = argv;
	a->argc = (size_t)n;
}

/* A near miss gets a suggestion; anything else the list of known events. */
static void unknown_event(struct ctx *c, const config_setting_t *e, const char *name)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (int k = 0; k < _PW_ALERT_EVENT_MAX; k++)
		pw_config_consider(name, pw_alert_event_to_string((enum pw_alert_event)k), &best,
				   &best_d);
	if (best_d <= 3)
		pw_config_error_at(c, e,
				   "\"events\": unknown event \"%.40s\" (did you mean \"%s\"?)",
				   name, best);
	else {
		/* listed from the table, so a new event is never left out */
		char known[256] = "";

		for (int k = 0; k < _PW_ALERT_EVENT_MAX; k++) {
			if (k > 0)
				strncat(known, ", ", sizeof(known) - strlen(known) - 1);
			strncat(known, pw_alert_event_to_string((enum pw_alert_event)k),
				sizeof(known) - strlen(known) - 1);
		}
		pw_config_error_at(c, e, "\"events\": unknown event \"%.40s\" (known: %s)", name,
				   known);
	}
}

static void parse_alert_events(struct ctx *c, const config_setting_t *s, struct pw_alert *a)
{
	unsigned events = 0;
	bool ok = true;
	int n;

	if (!pw_config_is_list(s)) {
		pw_config_error_at(c, s, "\"events\" must be a list of event names, not %s",
				   pw_config_type_name(config_setting_type(s)));
		return;
	}
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *name;
		int ev;

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			pw_config_error_at(c, e, "\"events\": element %d must be a string, not %s",
					   i + 1, pw_config_type_name(config_setting_type(e)));
			ok = false;
			continue;
		}
		name = config_setting_get_string(e);
		ev = pw_alert_event_from_string(name);
		if (ev < 0) {
			unknown_event(c, e, name);
			ok = false;
			continue;
		}
		events |= 1u << ev;
	}
	if (ok)
		a->events = events;
}

void pw_config_parse_alert(struct ctx *c, const config_setting_t *g, struct pw_alert *a)
{
	size_t label_len = strlen(c->label);
	int n;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		pw_config_error_at(
			c, g,
			"\"alert\" must be a group { command = [...]; events = [...]; }, not %s",
			pw_config_type_name(config_setting_type(g)));
		return;
	}
	/* every message from inside the group says where it is */
	snprintf(c->label + label_len, sizeof(c->label) - label_len, "alert: ");
	n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(m);

		if (strcmp(key, "command") == 0)
			parse_alert_command(c, m, a);
		else if (strcmp(key, "events") == 0)
			parse_alert_events(c, m, a);
		else if (strcmp(key, "timeout") == 0)
			pw_config_get_duration(c, m, "timeout", ALERT_TIMEOUT_MIN,
					       ALERT_TIMEOUT_MAX, &a->timeout_usec);
		else
			pw_config_unknown_key(c, m, SCOPE_ALERT);
	}
	c->label[label_len] = '\0';
}
