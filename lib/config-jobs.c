/* SPDX-License-Identifier: MIT */

/*
 * The "jobs" lists and the "defaults" group every job starts from: a job's
 * name, its scan space, expectations and tunables, checked together once
 * all its keys are read.
 */

#include <ctype.h>
#include <string.h>

#include "config-internal.h"

/* ------------------------------------------------------------ jobs */

void pw_config_job_done(struct pw_job *j)
{
	free(j->name);
	free(j->file);
	pw_iset_done(&j->space.addrs);
	pw_iset_done(&j->space.ports);
	pw_config_strv_free(j->hostnames, j->n_hostnames);
	pw_iset_done(&j->exclude_addrs);
	pw_iset_done(&j->expect_open);
	pw_iset_done(&j->never_open);
	pw_config_alert_done(&j->alert);
	memset(j, 0, sizeof(*j));
}

static bool valid_job_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > PW_CONFIG_MAX_NAME || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

/* Remember a job name; false (and an error) if it was seen before. */
static void note_job_name(struct ctx *c, const config_setting_t *s, const char *name, int line)
{
	struct seen_job *v;

	for (size_t i = 0; i < c->n_seen; i++)
		if (strcmp(c->seen[i].name, name) == 0) {
			pw_config_error_at(c, s, "duplicate job name (first defined at %s:%d)",
					   c->seen[i].file, c->seen[i].line);
			return;
		}
	v = realloc(c->seen, (c->n_seen + 1) * sizeof(*v));
	if (!v) {
		c->oom = true;
		return;
	}
	c->seen = v;
	v[c->n_seen].name = pw_config_strdup(c, name);
	v[c->n_seen].file = pw_config_strdup(c, c->file);
	v[c->n_seen].line = line;
	c->n_seen++;
}

static void parse_job_name(struct ctx *c, const config_setting_t *g, struct pw_job *j, int index)
{
	const config_setting_t *s = config_setting_get_member(g, "name");
	const char *name;

	snprintf(c->label, sizeof(c->label), "job #%d: ", index);
	if (!s) {
		pw_config_error_at(c, g, "missing \"name\"");
		return;
	}
	name = pw_config_get_string(c, s, "name");
	if (!name)
		return;
	if (!valid_job_name(name)) {
		pw_config_error_at(
			c, s,
			"invalid job name \"%.80s\": use 1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit",
			name, PW_CONFIG_MAX_NAME);
		return;
	}
	snprintf(c->label, sizeof(c->label), "job \"%s\": ", name);
	j->name = pw_config_strdup(c, name);
	note_job_name(c, s, name, pw_config_setting_line(g));
}

struct job_parts {
	struct pw_iset targets, exclude, ports, exclude_ports;
	struct strv names;
	const config_setting_t *targets_s, *ports_s, *expect_s, *never_s;
	size_t n_targets, n_ports;
};

static void job_member(struct ctx *c, const config_setting_t *m, struct pw_job *j,
		       struct job_parts *p, struct tunables *tun)
{
	const char *key = config_setting_name(m);
	const struct key *k;
	struct spec_out out = { .set = NULL };

	if (strcmp(key, "name") == 0)
		return; /* done first, for the messages */
	if (strcmp(key, "enabled") == 0) {
		if (config_setting_type(m) != CONFIG_TYPE_BOOL)
			pw_config_error_at(c, m, "\"enabled\" must be true or false, not %s",
					   pw_config_type_name(config_setting_type(m)));
		else
			j->enabled = config_setting_get_bool(m);
	} else if (strcmp(key, "targets") == 0) {
		out = (struct spec_out){ .set = &p->targets, .names = &p->names };
		p->targets_s = m;
		p->n_targets = pw_config_parse_specs(c, m, key, SPEC_TARGETS, &out);
	} else if (strcmp(key, "exclude") == 0) {
		out = (struct spec_out){ .set = &p->exclude, .names = NULL };
		pw_config_parse_specs(c, m, key, SPEC_EXCLUDE, &out);
	} else if (strcmp(key, "ports") == 0) {
		out = (struct spec_out){ .set = &p->ports, .names = NULL };
		p->ports_s = m;
		p->n_ports = pw_config_parse_specs(c, m, key, SPEC_PORTS, &out);
	} else if (strcmp(key, "exclude_ports") == 0) {
		out = (struct spec_out){ .set = &p->exclude_ports, .names = NULL };
		pw_config_parse_specs(c, m, key, SPEC_PORTS, &out);
	} else if (strcmp(key, "expect_open") == 0) {
		out = (struct spec_out){ .set = &j->expect_open, .names = NULL };
		p->expect_s = m;
		pw_config_parse_specs(c, m, key, SPEC_PORTS, &out);
	} else if (strcmp(key, "never_open") == 0) {
		out = (struct spec_out){ .set = &j->never_open, .names = NULL };
		p->never_s = m;
		pw_config_parse_specs(c, m, key, SPEC_PORTS, &out);
	} else if (strcmp(key, "alert") == 0) {
		pw_config_parse_alert(c, m, &j->alert);
	} else if ((k = pw_config_tunable_key(key))) {
		pw_config_parse_keyed(c, m, k, tun);
	} else
		pw_config_unknown_key(c, m, SCOPE_JOB);
}

static void u128_str(pw_u128 v, char buf[static 48])
{
	char tmp[48];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
}

/* Subtract exclusions, then enforce emptiness rules and the caps. */
static void job_space(struct ctx *c, const config_setting_t *g, struct pw_job *j,
		      struct job_parts *p)
{
	pw_u128 n_addrs, n_ports, probes;
	char a[48], b[48], x[48];
	int r;

	r = pw_iset_copy(&j->space.addrs, &p->targets);
	if (r >= 0)
		r = pw_iset_subtract(&j->space.addrs, &p->exclude);
	if (r >= 0)
		r = pw_iset_copy(&j->space.ports, &p->ports);
	if (r >= 0)
		r = pw_iset_subtract(&j->space.ports, &p->exclude_ports);
	if (r >= 0)
		r = pw_iset_copy(&j->exclude_addrs, &p->exclude);
	if (r < 0) {
		c->oom = true;
		return;
	}
	j->hostnames = TAKE_PTR(p->names.v);
	j->n_hostnames = p->names.n;
	p->names.n = 0;

	if (p->n_targets == 0)
		pw_config_error_at(c, p->targets_s, "\"targets\" is empty");
	else if (j->space.addrs.n == 0 && j->n_hostnames == 0 && p->targets.n > 0)
		pw_config_error_at(c, p->targets_s,
				   "every target address is excluded: nothing left to scan");
	if (p->n_ports == 0)
		pw_config_error_at(c, p->ports_s, "\"ports\" is empty");
	else if (j->space.ports.n == 0 && p->ports.n > 0)
		pw_config_error_at(c, p->ports_s, "every port is excluded: nothing left to scan");

	n_addrs = pw_iset_count(&j->space.addrs);
	n_ports = pw_iset_count(&j->space.ports);
	if (n_addrs > PW_CONFIG_MAX_ADDRS_PER_JOB) {
		u128_str(n_addrs, a);
		u128_str(PW_CONFIG_MAX_ADDRS_PER_JOB, b);
		pw_config_error_at(c, p->targets_s,
				   "%s target addresses, above the cap of %s per job (an IPv4 /8)",
				   a, b);
		return;
	}
	/* a hostname counts as one address here; it may resolve to more */
	probes = (n_addrs + j->n_hostnames) * n_ports;
	if (probes > PW_CONFIG_MAX_PROBES_PER_RUN) {
		u128_str(n_addrs + j->n_hostnames, a);
		u128_str(n_ports, b);
		u128_str(probes, x);
		pw_config_error_at(
			c, g,
			"%s addresses x %s ports = %s probes per run, above the cap of 4294967296 (2^32): narrow the targets or ports, or split the job",
			a, b, x);
	}
}

static void job_expectations(struct ctx *c, struct pw_job *j, struct job_parts *p)
{
	static const struct {
		const char *key;
		size_t off;
	} lists[] = {
		{ "expect_open", offsetof(struct pw_job, expect_open) },
		{ "never_open", offsetof(struct pw_job, never_open) },
	};
	const config_setting_t *where[] = { p->expect_s, p->never_s };
	struct pw_iset tmp = PW_ISET_INIT;

	for (size_t i = 0; i < PW_ELEMENTSOF(lists); i++) {
		const struct pw_iset *set = (const struct pw_iset *)((const char *)j +
								     lists[i].off);

		if (pw_iset_copy(&tmp, set) < 0 || pw_iset_subtract(&tmp, &j->space.ports) < 0) {
			c->oom = true;
			break;
		}
		if (tmp.n > 0)
			pw_config_error_at(c, where[i],
					   "%s: port %u is not among the ports this job scans",
					   lists[i].key, (unsigned)tmp.ranges[0].lo);
		pw_iset_done(&tmp);
	}
	pw_iset_done(&tmp);
	for (size_t i = 0; i < j->expect_open.n; i++)
		for (size_t k = 0; k < j->never_open.n; k++) {
			pw_u128 lo = j->expect_open.ranges[i].lo > j->never_open.ranges[k].lo
					     ? j->expect_open.ranges[i].lo
					     : j->never_open.ranges[k].lo;
			pw_u128 hi = j->expect_open.ranges[i].hi < j->never_open.ranges[k].hi
					     ? j->expect_open.ranges[i].hi
					     : j->never_open.ranges[k].hi;

			if (lo <= hi) {
				pw_config_error_at(
					c, p->never_s,
					"port %u is in both \"expect_open\" and \"never_open\"",
					(unsigned)lo);
				return;
			}
		}
}

static bool push_job(struct ctx *c, struct pw_job *j)
{
	struct pw_job *v = realloc(c->cfg->jobs, (c->cfg->n_jobs + 1) * sizeof(*v));

	if (!v) {
		c->oom = true;
		return false;
	}
	c->cfg->jobs = v;
	v[c->cfg->n_jobs++] = *j;
	return true;
}

/* What a job starts from: the "defaults" group as loaded so far. */
static struct tunables defaults_of(const struct pw_config *cfg)
{
	return (struct tunables){
		.t = cfg->defaults,
		.interval = cfg->default_interval_usec,
		.jitter = cfg->default_jitter_usec,
		.accept_all = cfg->default_accept_all_threshold,
	};
}

static void parse_job(struct ctx *c, const config_setting_t *g, int index)
{
	struct pw_config *cfg = c->cfg;
	struct pw_job j = { .enabled = true };
	struct job_parts p = { .targets = PW_ISET_INIT };
	struct tunables tun = defaults_of(cfg);
	unsigned errors = c->errors;
	int n;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		pw_config_error_at(
			c, g,
			"each element of \"jobs\" must be a group { name = ...; ... }, not %s",
			pw_config_type_name(config_setting_type(g)));
		return;
	}
	parse_job_name(c, g, &j, index);
	j.file = pw_config_strdup(c, config_setting_source_file(g) ?: c->file);
	j.line = pw_config_setting_line(g);
	if (pw_config_alert_copy(&j.alert, &cfg->alert) < 0)
		c->oom = true;

	n = config_setting_length(g);
	for (int i = 0; i < n; i++)
		job_member(c, config_setting_get_elem(g, (unsigned)i), &j, &p, &tun);
	if (!p.targets_s)
		pw_config_error_at(c, g, "missing \"targets\"");
	if (!p.ports_s)
		pw_config_error_at(c, g, "missing \"ports\"");
	if (c->errors == errors && !c->oom) {
		job_space(c, g, &j, &p);
		job_expectations(c, &j, &p);
		if (c->defaults_ok)
			pw_config_check_tunables(c, g, &tun);
	}
	if (cfg->n_jobs >= PW_CONFIG_MAX_JOBS && c->errors == errors)
		pw_config_error_at(c, g, "more than %d jobs", PW_CONFIG_MAX_JOBS);

	j.timing = tun.t;
	j.interval_usec = tun.interval;
	j.jitter_usec = tun.jitter;
	j.accept_all_threshold = tun.accept_all;
	if (c->errors != errors || c->oom || !push_job(c, &j))
		pw_config_job_done(&j);
	pw_iset_done(&p.targets);
	pw_iset_done(&p.exclude);
	pw_iset_done(&p.ports);
	pw_iset_done(&p.exclude_ports);
	pw_config_strv_free(p.names.v, p.names.n);
	c->label[0] = '\0';
}

void pw_config_parse_jobs(struct ctx *c, const config_setting_t *s)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		pw_config_error_at(
			c, s,
			"\"jobs\" must be a list of groups: jobs = ( { name = \"a\"; ... }, { name = \"b\"; ... } );, not %s",
			pw_config_type_name(config_setting_type(s)));
		return;
	}
	n = config_setting_length(s);
	for (int i = 0; i < n; i++)
		parse_job(c, config_setting_get_elem(s, (unsigned)i), i + 1);
}

/* ------------------------------------------------------------ defaults */

void pw_config_parse_defaults(struct ctx *c, const config_setting_t *g)
{
	struct pw_config *cfg = c->cfg;
	struct tunables tun = defaults_of(cfg);
	unsigned errors = c->errors;
	int n;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		pw_config_error_at(
			c, g, "\"defaults\" must be a group { interval = \"15m\"; ... }, not %s",
			pw_config_type_name(config_setting_type(g)));
		c->defaults_ok = false;
		return;
	}
	n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const struct key *k = pw_config_tunable_key(config_setting_name(m));

		if (k)
			pw_config_parse_keyed(c, m, k, &tun);
		else
			pw_config_unknown_key(c, m, SCOPE_DEFAULTS);
	}
	pw_config_check_tunables(c, g, &tun);
	/* a bad default would otherwise repeat its error in every job */
	c->defaults_ok = c->errors == errors;
	cfg->defaults = tun.t;
	cfg->default_interval_usec = tun.interval;
	cfg->default_jitter_usec = tun.jitter;
	cfg->default_accept_all_threshold = tun.accept_all;
}
