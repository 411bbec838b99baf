/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>

#include "check-main.h"
#include "estimate.h"
#include "iset.h"
#include "config.h"
#include "targets.h"
#include "util.h"

static char tmpdir[64];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pw-test-config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_rf(const char *path)
{
	char cmd[256];

	/* only ever our own mkdtemp() directory */
	if (strncmp(path, "/tmp/pw-test-config.", 20) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
}

static void teardown(void)
{
	rm_rf(tmpdir);
}

/* Write tmpdir/name (creating tmpdir/sub dirs as needed); returns its path. */
static const char *put(const char *name, const char *text)
{
	static char path[8][512];
	static int slot;
	char *p = path[slot++ % 8];
	FILE *f;

	snprintf(p, 512, "%s/%s", tmpdir, name);
	for (char *s = strchr(p + strlen(tmpdir) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	f = fopen(p, "we");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static const char *tpath(const char *name)
{
	static char p[512];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

/* Load and insist on success, with every message in the failure text. */
static struct pw_config *load_ok(const char *path)
{
	struct pw_diag d = PW_DIAG_INIT;
	struct pw_config *c = NULL;
	char all[4096] = "";
	int r = pw_config_load(path, &c, &d);

	for (size_t i = 0; i < d.n; i++) {
		strncat(all, d.msgs[i], sizeof(all) - strlen(all) - 2);
		strcat(all, "\n");
	}
	ck_assert_msg(r == 0, "%s: load failed (%d):\n%s", path, r, all);
	ck_assert_msg(d.n == 0, "%s: unexpected messages:\n%s", path, all);
	ck_assert_ptr_nonnull(c);
	pw_diag_done(&d);
	return c;
}

/* Load and insist on failure with exactly these messages. */
static void load_fails(const char *path, const char *const *want, size_t n_want)
{
	struct pw_diag d = PW_DIAG_INIT;
	struct pw_config *c = (struct pw_config *)&d; /* must stay untouched */
	int r = pw_config_load(path, &c, &d);

	ck_assert_msg(r == -EINVAL, "%s: got %d, want -EINVAL", path, r);
	ck_assert_msg(c == (struct pw_config *)&d, "%s: *ret written on failure", path);
	for (size_t i = 0; i < d.n || i < n_want; i++) {
		const char *got = i < d.n ? d.msgs[i] : "(none)";
		const char *exp = i < n_want ? want[i] : "(none)";

		ck_assert_msg(strcmp(got, exp) == 0, "%s: message %zu:\n got: %s\nwant: %s", path,
			      i + 1, got, exp);
	}
	pw_diag_done(&d);
}

static const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s ?: ".";
}

static int cmp_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_table_file(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return n > 5 && strcmp(de->d_name + n - 5, ".conf") == 0;
}

/* "FILE" in an expected message stands for the file's own path. */
static char *expand_file(const char *text, const char *path)
{
	char *out = malloc(strlen(text) + 16 * strlen(path) + 1), *o = out;

	ck_assert_ptr_nonnull(out);
	while (*text) {
		if (strncmp(text, "FILE", 4) == 0) {
			o = stpcpy(o, path);
			text += 4;
		} else
			*o++ = *text++;
	}
	*o = '\0';
	return out;
}

START_TEST(table_of_config_files)
{
	char dir[512];
	struct dirent **ents;
	int n, bad = 0, good = 0;

	snprintf(dir, sizeof(dir), "%s/tests/config", srcdir());
	n = scandir(dir, &ents, is_table_file, cmp_name);
	ck_assert_msg(n > 0, "no table files in %s", dir);
	for (int i = 0; i < n; i++) {
		char path[1024], line[1024];
		char *want[64];
		size_t n_want = 0;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (strncmp(ents[i]->d_name, "good-", 5) == 0) {
			pw_config_free(load_ok(path));
			good++;
			free(ents[i]);
			continue;
		}
		ck_assert_msg(strncmp(ents[i]->d_name, "bad-", 4) == 0,
			      "%s: name it bad-* or good-*", path);
		f = fopen(path, "re");
		ck_assert_ptr_nonnull(f);
		while (fgets(line, sizeof(line), f)) {
			char *msg;

			if (strncmp(line, "# expect: ", 10) != 0)
				continue;
			line[strcspn(line, "\n")] = '\0';
			ck_assert(n_want < PW_ELEMENTSOF(want));
			msg = expand_file(line + 10, path);
			ck_assert(asprintf(&want[n_want++], "%s:%s", path, msg) > 0);
			free(msg);
		}
		fclose(f);
		ck_assert_msg(n_want > 0, "%s: no \"# expect:\" lines", path);
		load_fails(path, (const char *const *)want, n_want);
		for (size_t k = 0; k < n_want; k++)
			free(want[k]);
		bad++;
		free(ents[i]);
	}
	free(ents);
	ck_assert_int_ge(bad, 10);
	ck_assert_int_ge(good, 1);
}
END_TEST

static pw_u128 A(const char *s)
{
	pw_u128 a = 0;

	ck_assert_int_eq(pw_addr_parse(s, &a), 0);
	return a;
}

START_TEST(global_settings_and_defaults)
{
	struct pw_config *c;
	const struct pw_job *j, *k;

	c = load_ok(put(
		"main.conf",
		"database = \"/tmp/x/pw.db\";\n"
		"log_level = \"debug\";\n"
		"max_inflight = 5000; max_rate = 200; workers = 3;\n"
		"retention = \"30d\";\n"
		"jobs = ( { name = \"late\"; targets = \"127.0.0.1\"; ports = \"22\"; } );\n"
		"defaults = {\n"
		"  interval = \"1h30m\"; jitter = 60; timeout = \"500ms\";\n"
		"  min_rtt_timeout = \"20ms\"; max_rtt_timeout = \"5s\";\n"
		"  retries = 3; max_retries = 20; rate = 100; concurrency = 64; host_concurrency = 8;\n"
		"  confirm = 2; confirm_spacing = \"2s\"; accept_all_threshold = \"75%\";\n"
		"};\n"
		"alert = { command = [ \"/bin/echo\", \"hi\" ]; events = [ \"opened\", \"run-failed\" ];\n"
		"          timeout = \"10s\"; };\n"));
	ck_assert_str_eq(c->database, "/tmp/x/pw.db");
	ck_assert_int_eq(c->log_level, LOG_DEBUG);
	ck_assert_uint_eq(c->max_inflight, 5000);
	ck_assert_uint_eq(c->max_rate, 200);
	ck_assert_uint_eq(c->workers, 3);
	ck_assert_uint_eq(c->retention_usec, 30 * 86400 * USEC_PER_SEC);
	ck_assert_uint_eq(c->n_jobs, 1);
	/* "defaults" applies although written after "jobs" */
	j = &c->jobs[0];
	ck_assert_uint_eq(j->interval_usec, 5400 * USEC_PER_SEC);
	ck_assert_uint_eq(j->jitter_usec, 60 * USEC_PER_SEC);
	ck_assert_uint_eq(j->timing.initial_timeout_usec, 500 * USEC_PER_MSEC);
	ck_assert_uint_eq(j->timing.min_timeout_usec, 20 * USEC_PER_MSEC);
	ck_assert_uint_eq(j->timing.max_timeout_usec, 5 * USEC_PER_SEC);
	ck_assert_uint_eq(j->timing.retries, 3);
	ck_assert_uint_eq(j->timing.max_retries, 20);
	ck_assert_uint_eq(j->timing.rate, 100);
	ck_assert_uint_eq(j->timing.concurrency, 64);
	ck_assert_uint_eq(j->timing.host_concurrency, 8);
	ck_assert_uint_eq(j->timing.confirm_count, 2);
	ck_assert_uint_eq(j->timing.confirm_spacing_usec, 2 * USEC_PER_SEC);
	ck_assert(j->accept_all_threshold == 0.75);
	ck_assert_uint_eq(j->alert.argc, 2);
	ck_assert_str_eq(j->alert.argv[0], "/bin/echo");
	ck_assert_str_eq(j->alert.argv[1], "hi");
	ck_assert_ptr_null(j->alert.argv[2]);
	ck_assert_uint_eq(j->alert.events, (1u << PW_ALERT_OPENED) | (1u << PW_ALERT_RUN_FAILED));
	ck_assert_uint_eq(j->alert.timeout_usec, 10 * USEC_PER_SEC);
	ck_assert(j->enabled);
	k = pw_config_find_job(c, "late");
	ck_assert_ptr_eq(k, j);
	ck_assert_ptr_null(pw_config_find_job(c, "nope"));
	pw_config_free(c);
}
END_TEST

START_TEST(builtin_defaults)
{
	struct pw_config *c = load_ok(
		put("main.conf",
		    "jobs = ( { name = \"a\"; targets = \"127.0.0.1\"; ports = \"22\"; } );\n"));
	const struct pw_job *j = &c->jobs[0];

	ck_assert_str_eq(c->database, PW_DEFAULT_DATABASE);
	ck_assert_int_eq(c->log_level, LOG_INFO);
	ck_assert_uint_eq(j->interval_usec, 15 * 60 * USEC_PER_SEC);
	ck_assert_uint_eq(j->jitter_usec, 0);
	ck_assert_uint_eq(j->timing.initial_timeout_usec, USEC_PER_SEC);
	ck_assert_uint_eq(j->timing.retries, 1);
	ck_assert_uint_eq(j->timing.max_retries, PW_SCAN_DEFAULT_MAX_RETRIES);
	ck_assert_uint_eq(j->timing.confirm_count, 1);
	ck_assert_ptr_null(j->alert.argv);
	ck_assert_uint_eq(j->alert.events, PW_ALERT_EVENTS_ALL);
	ck_assert(j->accept_all_threshold == 0.9);
	ck_assert_str_eq(j->file, tpath("main.conf"));
	ck_assert_int_eq(j->line, 1);
	pw_config_free(c);
}
END_TEST

START_TEST(job_overrides_and_alert_inheritance)
{
	struct pw_config *c = load_ok(
		put("main.conf",
		    "defaults = { retries = 2; interval = \"10m\"; };\n"
		    "alert = { command = [ \"/bin/true\" ]; events = [ \"opened\" ]; };\n"
		    "jobs = (\n"
		    "  { name = \"inherit\"; targets = \"127.0.0.1\"; ports = \"22\"; },\n"
		    "  { name = \"override\"; targets = \"127.0.0.1\"; ports = \"22\";\n"
		    "    retries = 0; interval = 90; enabled = false; accept_all_threshold = 0;\n"
		    "    alert = { events = [ \"closed\", \"flapping\" ]; timeout = 5; }; },\n"
		    "  { name = \"silent\"; targets = \"127.0.0.1\"; ports = \"22\";\n"
		    "    alert = { command = []; }; }\n"
		    ");\n"));
	const struct pw_job *a = pw_config_find_job(c, "inherit");
	const struct pw_job *b = pw_config_find_job(c, "override");
	const struct pw_job *s = pw_config_find_job(c, "silent");

	ck_assert_uint_eq(a->timing.retries, 2);
	ck_assert_uint_eq(a->interval_usec, 600 * USEC_PER_SEC);
	ck_assert(a->enabled);
	ck_assert_str_eq(a->alert.argv[0], "/bin/true");
	ck_assert_uint_eq(a->alert.events, 1u << PW_ALERT_OPENED);
	ck_assert_uint_eq(b->timing.retries, 0);
	ck_assert_uint_eq(b->interval_usec, 90 * USEC_PER_SEC);
	ck_assert(!b->enabled);
	ck_assert(b->accept_all_threshold == 0.0);
	ck_assert_str_eq(b->alert.argv[0], "/bin/true"); /* command inherited */
	ck_assert_uint_eq(b->alert.events, (1u << PW_ALERT_CLOSED) | (1u << PW_ALERT_FLAPPING));
	ck_assert_uint_eq(b->alert.timeout_usec, 5 * USEC_PER_SEC);
	ck_assert_ptr_null(s->alert.argv);
	ck_assert_uint_eq(s->alert.argc, 0);
	/* the global default untouched by the job overrides */
	ck_assert_uint_eq(c->alert.events, 1u << PW_ALERT_OPENED);
	pw_config_free(c);
}
END_TEST

START_TEST(space_and_probe_count)
{
	struct pw_config *c = load_ok(put(
		"main.conf",
		"jobs = ( { name = \"a\";\n"
		"  targets = [ \"127.0.0.0/24\", \"127.0.1.1-10, ::1\", \"localhost\", \"LOCALHOST\" ];\n"
		"  exclude = [ \"127.0.0.0/30\", \"127.0.1.5\" ];\n"
		"  ports = ( \"1-100\", 443, \"ssh\", \"common\" );\n"
		"  exclude_ports = \"50, 60-69\";\n"
		"  expect_open = [ \"22\" ]; never_open = [ \"23\", \"443\" ];\n"
		"} );\n"));
	const struct pw_job *j = &c->jobs[0];
	struct pw_iset common = PW_ISET_INIT;
	pw_u128 n_ports;

	ck_assert(pw_iset_count(&j->space.addrs) == (256 - 4) + (10 - 1) + 1);
	ck_assert(!pw_iset_contains(&j->space.addrs, A("127.0.0.3")));
	ck_assert(pw_iset_contains(&j->space.addrs, A("127.0.0.4")));
	ck_assert(!pw_iset_contains(&j->space.addrs, A("127.0.1.5")));
	ck_assert(pw_iset_contains(&j->space.addrs, A("::1")));
	ck_assert(pw_iset_count(&j->exclude_addrs) == 5);
	/* names are case-insensitive: one hostname */
	ck_assert_uint_eq(j->n_hostnames, 1);
	ck_assert_str_eq(j->hostnames[0], "localhost");
	ck_assert_ptr_null(j->hostnames[1]);
	ck_assert(!pw_iset_contains(&j->space.ports, 50));
	ck_assert(!pw_iset_contains(&j->space.ports, 65));
	ck_assert(pw_iset_contains(&j->space.ports, 443));
	/* ports: 1-100 minus 11, plus 443 and the common ports above 100 */
	ck_assert_int_eq(pw_iset_copy(&common, &j->space.ports), 0);
	n_ports = pw_iset_count(&j->space.ports);
	ck_assert(n_ports > 89 + 1);
	ck_assert(pw_job_probe_count(j) == pw_iset_count(&j->space.addrs) * n_ports);
	ck_assert(pw_iset_contains(&j->expect_open, 22));
	ck_assert(pw_iset_count(&j->never_open) == 2);
	pw_iset_done(&common);
	pw_config_free(c);
}
END_TEST

START_TEST(probe_cap_boundary)
{
	/* a /16 x all ports (4294901760 probes) is under the 2^32 cap; its
	 * cost if no port is closed needs ceilings raised (see below) */
	struct pw_config *c = load_ok(put(
		"main.conf",
		"max_memory = \"1T\"; max_database_growth = \"1T\";\n"
		"jobs = ( { name = \"big\"; targets = \"127.0.0.0/16\"; ports = \"all\"; } );\n"));

	ck_assert(pw_job_probe_count(&c->jobs[0]) == (pw_u128)65536 * 65535);
	ck_assert(pw_job_probe_count(&c->jobs[0]) <= PW_CONFIG_MAX_PROBES_PER_RUN);
	pw_config_free(c);
}
END_TEST

/*
 * Issue 14.4: the jobs together may not cost more than the ceilings if
 * none of their ports is closed; said at the job that crosses one.
 */
START_TEST(ceilings)
{
	struct pw_estimate e;
	struct pw_config *c;
	char main_conf[300];
	const char *p;

	/* 2 x 1000 ports: 80 B each in memory, 210 B on disk, 160 B a slot */
	c = load_ok(put(
		"main.conf",
		"max_memory = 1048576; max_database_growth = \"1M\";\n"
		"jobs = ( { name = \"a\"; targets = \"127.0.0.1-127.0.0.2\"; ports = \"1-1000\"; } );\n"));
	ck_assert_uint_eq(c->max_memory, 1 << 20);
	pw_estimate_job(&c->jobs[0], &e);
	ck_assert(e.probes == 2000);
	ck_assert_uint_eq(e.mem_least, 2000 * PW_EST_SLOT_BYTES);
	ck_assert_uint_eq(e.mem_most, 2000 * (PW_EST_SLOT_BYTES + PW_EST_ENTRY_BYTES));
	ck_assert_uint_eq(e.disk_least, PW_EST_RUN_BYTES);
	ck_assert_uint_eq(e.disk_most,
			  PW_EST_RUN_BYTES + 2000 * (PW_EST_ROW_BYTES + PW_EST_EVENT_BYTES));
	pw_config_free(c);
	/* defaults: 2 GiB and 8 GiB */
	c = load_ok(put("main.conf", "jobs = ();\n"));
	ck_assert_uint_eq(c->max_memory, UINT64_C(2) << 30);
	ck_assert_uint_eq(c->max_database_growth, UINT64_C(8) << 30);
	pw_config_free(c);

	p = put("main.conf",
		"jobs = (\n"
		"  { name = \"small\"; targets = \"127.0.0.1\"; ports = \"1-100\"; },\n"
		"  { name = \"off\"; enabled = false; targets = \"127.0.0.0/16\"; ports = \"all\"; },\n"
		"  { name = \"wide\"; targets = \"127.0.0.0/16\"; ports = \"1-1024\"; }\n"
		");\n");
	snprintf(main_conf, sizeof(main_conf), "%s", p);
	{
		char m[600], d[600];
		const char *want[2] = { m, d };

		snprintf(
			m, sizeof(m),
			"%s:4: job \"wide\": with it the jobs may need 5.0 GiB of memory if none of their ports is closed, above max_memory = 2.0 GiB: narrow the job, or raise max_memory if you know its ports are mostly closed (closed ports cost nothing)",
			main_conf);
		snprintf(
			d, sizeof(d),
			"%s:4: job \"wide\": with it the jobs may need 13.1 GiB of database growth if none of their ports is closed, above max_database_growth = 8.0 GiB: narrow the job, or raise max_database_growth if you know its ports are mostly closed (closed ports cost nothing)",
			main_conf);
		load_fails(main_conf, want, 2);
	}
	p = put("main.conf", "max_memory = \"2X\";\njobs = ();\n");
	{
		char m[300];
		const char *want[1] = { m };

		snprintf(
			m, sizeof(m),
			"%s:1: \"max_memory\": \"2X\" is not a size (bytes, or a number with K, M, G or T, as in \"4G\")",
			p);
		load_fails(p, want, 1);
	}
	p = put("main.conf", "max_memory = 1000;\njobs = ();\n");
	{
		char m[300];
		const char *want[1] = { m };

		snprintf(m, sizeof(m), "%s:1: \"max_memory\" must be at least 1.0 MiB", p);
		load_fails(p, want, 1);
	}
}
END_TEST

START_TEST(dropins_in_name_order)
{
	struct pw_config *c;

	put("conf.d/20-b.conf",
	    "jobs = ( { name = \"b\"; targets = \"127.0.0.2\"; ports = \"22\"; } );\n");
	put("conf.d/10-a.conf",
	    "jobs = ( { name = \"a\"; targets = \"127.0.0.1\"; ports = \"22\"; },\n"
	    "         { name = \"a2\"; targets = \"127.0.0.1\"; ports = \"23\"; } );\n");
	put("conf.d/30-c.conf.disabled", "this is not even libconfig");
	put("conf.d/.hidden.conf", "nor this");
	put("conf.d/README", "nor this");
	c = load_ok(
		put("main.conf",
		    "jobs = ( { name = \"main\"; targets = \"127.0.0.1\"; ports = \"1\"; } );\n"));
	ck_assert_uint_eq(c->n_jobs, 4);
	ck_assert_str_eq(c->jobs[0].name, "main");
	ck_assert_str_eq(c->jobs[1].name, "a");
	ck_assert_str_eq(c->jobs[2].name, "a2");
	ck_assert_str_eq(c->jobs[3].name, "b");
	ck_assert_str_eq(c->jobs[3].file, tpath("conf.d/20-b.conf"));
	ck_assert_int_eq(c->jobs[2].line, 2);
	ck_assert_str_eq(c->include_dir, tpath("conf.d"));
	pw_config_free(c);
}
END_TEST

START_TEST(include_dir_relative_to_main_file)
{
	struct pw_config *c;

	put("etc/jobs/x.conf",
	    "jobs = ( { name = \"x\"; targets = \"127.0.0.1\"; ports = \"22\"; } );\n");
	c = load_ok(put("etc/main.conf", "include_dir = \"jobs\";\n"));
	ck_assert_uint_eq(c->n_jobs, 1);
	ck_assert_str_eq(c->jobs[0].name, "x");
	pw_config_free(c);
	/* an absolute include_dir is used as it is */
	{
		char text[600];

		snprintf(text, sizeof(text), "include_dir = \"%s\";\n", tpath("etc/jobs"));
		c = load_ok(put("other/main.conf", text));
		ck_assert_uint_eq(c->n_jobs, 1);
		pw_config_free(c);
	}
}
END_TEST

START_TEST(main_file_in_its_own_dropin_dir)
{
	struct pw_config *c;

	put("b.conf", "jobs = ( { name = \"b\"; targets = \"127.0.0.1\"; ports = \"22\"; } );\n");
	c = load_ok(put("a.conf", "include_dir = \".\";\nmax_rate = 1;\n"));
	ck_assert_uint_eq(c->n_jobs, 1);
	ck_assert_str_eq(c->jobs[0].name, "b");
	pw_config_free(c);
}
END_TEST

START_TEST(missing_dropin_dir)
{
	const char *want[1];
	char msg[600];
	struct pw_config *c;

	/* the default conf.d may be missing */
	c = load_ok(put("main.conf", "database = \"/tmp/x.db\";\n"));
	ck_assert_uint_eq(c->n_jobs, 0);
	pw_config_free(c);
	/* an include_dir the operator named must exist */
	snprintf(msg, sizeof(msg), "%s: cannot open drop-in directory: No such file or directory",
		 tpath("nowhere"));
	want[0] = msg;
	load_fails(put("main2.conf", "include_dir = \"nowhere\";\n"), want, 1);
}
END_TEST

START_TEST(dropin_errors_and_duplicates_across_files)
{
	char m1[1200], m2[1200], m3[1200], m4[1200];
	const char *want[] = { m1, m2, m3, m4 };
	const char *main_conf;

	put("conf.d/10-dup.conf",
	    "jobs = ( { name = \"web\"; targets = \"127.0.0.1\"; ports = \"80\"; } );\n");
	put("conf.d/20-global.conf", "database = \"/tmp/y.db\";\ninterval = \"1m\";\n");
	put("conf.d/30-syntax.conf", "jobs = (\n  { name = }\n);\n");
	mkdir(tpath("conf.d/40-dir.conf"), 0755);
	main_conf =
		put("main.conf",
		    "jobs = ( { name = \"web\"; targets = \"127.0.0.1\"; ports = \"443\"; } );\n");
	snprintf(m1, sizeof(m1), "%s:1: job \"web\": duplicate job name (first defined at %s:1)",
		 tpath("conf.d/10-dup.conf"), main_conf);
	snprintf(
		m2, sizeof(m2),
		"%s:1: \"database\" cannot be set in a drop-in file: drop-ins hold only \"jobs\"; global settings and \"defaults\" belong in the main file",
		tpath("conf.d/20-global.conf"));
	snprintf(
		m3, sizeof(m3),
		"%s:2: \"interval\" cannot be set in a drop-in file: drop-ins hold only \"jobs\"; global settings and \"defaults\" belong in the main file",
		tpath("conf.d/20-global.conf"));
	/* libconfig stops at the first syntax error of a file; the other files still count */
	snprintf(m4, sizeof(m4), "%s:2: syntax error", tpath("conf.d/30-syntax.conf"));
	{
		struct pw_diag d = PW_DIAG_INIT;
		struct pw_config *c = NULL;
		char m5[600];

		ck_assert_int_eq(pw_config_load(main_conf, &c, &d), -EINVAL);
		ck_assert_ptr_null(c);
		ck_assert_uint_eq(d.n, 5);
		for (size_t i = 0; i < 4; i++)
			ck_assert_str_eq(d.msgs[i], want[i]);
		snprintf(m5, sizeof(m5), "%s: cannot read file: is a directory",
			 tpath("conf.d/40-dir.conf"));
		ck_assert_str_eq(d.msgs[4], m5);
		pw_diag_done(&d);
	}
}
END_TEST

START_TEST(unreadable_and_missing_main_file)
{
	char m[600];
	const char *want[] = { m };

	snprintf(m, sizeof(m), "%s: cannot read file: No such file or directory",
		 tpath("none.conf"));
	load_fails(tpath("none.conf"), want, 1);
	/* root reads mode-000 files, so make the drop-in a dangling symlink */
	mkdir(tpath("conf.d"), 0755);
	{
		char target[512];

		snprintf(target, sizeof(target), "%s", tpath("gone"));
		ck_assert_int_eq(symlink(target, tpath("conf.d/50-link.conf")), 0);
	}
	snprintf(m, sizeof(m), "%s: cannot read file: No such file or directory",
		 tpath("conf.d/50-link.conf"));
	load_fails(put("main.conf", "max_rate = 5;\n"), want, 1);
	/* a NUL byte would cut the text short without a word: refuse the file */
	{
		FILE *f = fopen(tpath("nul.conf"), "we");

		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite("a = 1;\0b = 2;\n", 1, 14, f), 14);
		fclose(f);
	}
	snprintf(m, sizeof(m), "%s: cannot read file: contains a NUL byte, not a text file",
		 tpath("nul.conf"));
	load_fails(tpath("nul.conf"), want, 1);
}
END_TEST

START_TEST(no_half_apply)
{
	struct pw_diag d = PW_DIAG_INIT;
	struct pw_config *c = NULL;

	/* one good job and one bad one: nothing comes back */
	put("conf.d/a.conf",
	    "jobs = ( { name = \"bad\"; targets = \"127.0.0.1\"; ports = \"0\"; } );\n");
	ck_assert_int_eq(
		pw_config_load(
			put("main.conf",
			    "jobs = ( { name = \"good\"; targets = \"127.0.0.1\"; ports = \"1\"; } );\n"),
			&c, &d),
		-EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(d.n, 1);
	pw_diag_done(&d);
}
END_TEST

START_TEST(job_equality)
{
	struct pw_config *a, *b, *x;
	const char *job =
		"  { name = \"j\"; targets = [ \"127.0.0.1-9\", \"localhost\" ]; ports = \"20-30\";\n"
		"    alert = { command = [ \"/bin/true\", \"x\" ]; }; expect_open = \"22\"; }\n";
	char text[1024];

	snprintf(text, sizeof(text), "jobs = (\n%s);\n", job);
	a = load_ok(put("a.conf", text));
	/* the same job, written elsewhere, with its specs spelled differently */
	b = load_ok(put(
		"sub/b.conf",
		"# moved down a few lines\n\n\n"
		"jobs = ( { name = \"other\"; targets = \"127.0.0.1\"; ports = \"1\"; },\n"
		"  { ports = [ \"20-25\", \"26-30\" ]; name = \"j\"; targets = \"127.0.0.1-127.0.0.9, localhost\";\n"
		"    expect_open = 22; alert = { command = [ \"/bin/true\", \"x\" ]; }; } );\n"));
	ck_assert(pw_job_equal(&a->jobs[0], pw_config_find_job(b, "j")));
	ck_assert(!pw_job_equal(&a->jobs[0], pw_config_find_job(b, "other")));

	/* every kind of change makes a difference */
	static const char *const changes[] = {
		"ports = \"20-31\";",
		"targets = \"127.0.0.1-8\";",
		"exclude = \"127.0.0.5\";",
		"interval = \"5m\";",
		"jitter = 1;",
		"retries = 5;",
		"max_retries = 7;",
		"rate = 7;",
		"timeout = 2;",
		"enabled = false;",
		"expect_open = \"23\";",
		"never_open = \"25\";",
		"alert = { command = [ \"/bin/true\" ]; };",
		"alert = { command = [ \"/bin/true\", \"x\" ]; events = [ \"opened\" ]; };",
		"alert = { command = [ \"/bin/true\", \"x\" ]; timeout = 9; };",
		"accept_all_threshold = 0.5;",
		"confirm = 3;",
		"confirm_spacing = 3;",
		"host_concurrency = 2;",
		"concurrency = 9;",
		"min_rtt_timeout = \"1ms\";",
		"max_rtt_timeout = \"9s\";",
	};
	for (size_t i = 0; i < PW_ELEMENTSOF(changes); i++) {
		static const char *const base[] = {
			"targets = [ \"127.0.0.1-9\", \"localhost\" ];",
			"ports = \"20-30\";",
			"alert = { command = [ \"/bin/true\", \"x\" ]; };",
			"expect_open = \"22\";",
		};
		size_t klen = strcspn(changes[i], " ");
		char name[32];
		size_t used;

		/* the base job with the changed key replaced (a repeated key is a syntax error) */
		used = (size_t)snprintf(text, sizeof(text), "jobs = ( { name = \"j\"; ");
		for (size_t k = 0; k < PW_ELEMENTSOF(base); k++)
			if (strncmp(base[k], changes[i], klen + 1) != 0)
				used += (size_t)snprintf(text + used, sizeof(text) - used, "%s ",
							 base[k]);
		snprintf(text + used, sizeof(text) - used, "%s } );\n", changes[i]);
		snprintf(name, sizeof(name), "c%zu.conf", i);
		x = load_ok(put(name, text));
		ck_assert_msg(!pw_job_equal(&a->jobs[0], &x->jobs[0]), "change not seen: %s",
			      changes[i]);
		/* expectations and alerts do not change the scan: a reload keeps its run */
		ck_assert_msg(pw_job_scan_equal(&a->jobs[0], &x->jobs[0]) ==
				      (strncmp(changes[i], "alert", 5) == 0 ||
				       strncmp(changes[i], "expect_open", 11) == 0 ||
				       strncmp(changes[i], "never_open", 10) == 0),
			      "scan equality wrong for: %s", changes[i]);
		pw_config_free(x);
	}
	pw_config_free(a);
	pw_config_free(b);
}
END_TEST

START_TEST(set_database)
{
	struct pw_config *c = load_ok(put("main.conf", "database = \"/tmp/a.db\";\n"));

	ck_assert_int_eq(pw_config_set_database(c, "/tmp/b.db"), 0);
	ck_assert_str_eq(c->database, "/tmp/b.db");
	pw_config_free(c);
	ck_assert_ptr_null(pw_config_free(NULL));
}
END_TEST

START_TEST(alert_event_names)
{
	for (int e = 0; e < _PW_ALERT_EVENT_MAX; e++) {
		const char *n = pw_alert_event_to_string(e);

		ck_assert_ptr_nonnull(n);
		ck_assert_int_eq(pw_alert_event_from_string(n), e);
	}
	ck_assert_int_eq(pw_alert_event_from_string("open"), -EINVAL);
	ck_assert_int_eq(pw_alert_event_from_string(NULL), -EINVAL);
	ck_assert_ptr_null(pw_alert_event_to_string(_PW_ALERT_EVENT_MAX));
}
END_TEST

static bool is_loopback(pw_u128 lo, pw_u128 hi)
{
	return (lo >= A("127.0.0.0") && hi <= A("127.255.255.255")) || (lo == A("::1") && hi == lo);
}

START_TEST(shipped_config_is_valid_and_loopback_only)
{
	char path[512];
	struct pw_config *c;

	snprintf(path, sizeof(path), "%s/etc/portwatchd.conf", srcdir());
	c = load_ok(path);
	ck_assert_uint_ge(c->n_jobs, 2); /* the main file's job and the drop-in's */
	for (size_t i = 0; i < c->n_jobs; i++) {
		const struct pw_job *j = &c->jobs[i];

		for (size_t k = 0; k < j->space.addrs.n; k++)
			ck_assert_msg(is_loopback(j->space.addrs.ranges[k].lo,
						  j->space.addrs.ranges[k].hi),
				      "job %s scans beyond loopback", j->name);
		for (size_t k = 0; k < j->n_hostnames; k++)
			ck_assert_str_eq(j->hostnames[k], "localhost");
	}
	/* the default job: a short list of common ports on 127.0.0.1 only */
	ck_assert(pw_iset_count(&c->jobs[0].space.addrs) == 1);
	ck_assert(pw_iset_contains(&c->jobs[0].space.addrs, A("127.0.0.1")));
	ck_assert(c->jobs[0].n_hostnames == 0);
	ck_assert(pw_iset_count(&c->jobs[0].space.ports) <= 32);
	pw_config_free(c);
}
END_TEST

START_TEST(diag_collects)
{
	struct pw_diag d = PW_DIAG_INIT;

	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(pw_diag_add(&d, "m%d", i), 0);
	ck_assert_uint_eq(d.n, 100);
	ck_assert_str_eq(d.msgs[42], "m42");
	pw_diag_done(&d);
	ck_assert_uint_eq(d.n, 0);
	pw_diag_done(&d);
}
END_TEST

/*
 * "@include" names are read as libconfig reads them: \" and \\ are escapes
 * (the check once stopped at the first quote, let libconfig open a FIFO,
 * and the load hung), a backslash before another byte is dropped.
 */
START_TEST(include_names_unescaped_like_libconfig)
{
	static const char job[] =
		"jobs = ( { name = \"%s\"; targets = \"127.0.0.1\"; ports = \"22\"; } );\n";
	const char *m = put("inc/main.conf", "@include \"fi\\\"fo\"\n");
	char want[600], text[200];
	struct pw_config *c;

	ck_assert_int_eq(mkfifo(tpath("inc/fi\"fo"), 0600), 0);
	snprintf(want, sizeof(want), "%s: @include \"fi\"fo\": not a regular file", m);
	load_fails(m, (const char *const[]){ want }, 1);

	m = put("inc/main.conf", "@include \"x\\qy\"\n");
	ck_assert_int_eq(mkfifo(tpath("inc/xqy"), 0600), 0);
	snprintf(want, sizeof(want), "%s: @include \"xqy\": not a regular file", m);
	load_fails(m, (const char *const[]){ want }, 1);

	/* regular files by escaped names load; a name may span lines */
	snprintf(text, sizeof(text), job, "a");
	put("inc/b\\s.conf", text);
	put("inc/q\"t\nu.conf", "database = \"/tmp/esc.db\";\n");
	m = put("inc/main.conf", "@include \"b\\\\s.conf\"\n@include \"q\\\"t\nu.conf\"\n");
	c = load_ok(m);
	ck_assert_uint_eq(c->n_jobs, 1);
	ck_assert_str_eq(c->database, "/tmp/esc.db");
	pw_config_free(c);
}
END_TEST

/*
 * An integer is judged by its own token, hex included: the check once
 * accepted 4294967376 (read as 80) because "80" was on the same line, and
 * skipped hex, so 0x100000064 silently meant 100 seconds.
 */
START_TEST(integer_truncation_by_token)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "ports = [ 22, 80, 4294967376 ];",
		  "1: job \"j\": \"ports\": integer out of range (libconfig reads it as 80)" },
		{ "ports = \"22\"; interval = 0x100000064;",
		  "1: job \"j\": \"interval\": integer out of range (libconfig reads it as 100)" },
		{ "ports = \"22\"; interval = 0xFFFFFFFF;",
		  "1: job \"j\": \"interval\": integer out of range (libconfig reads it as -1)" },
		{ "ports = ( 22,\n 80,\n 4294967376\n\n );",
		  "3: job \"j\": \"ports\": integer out of range (libconfig reads it as 80)" },
		{ "ports = ( \"80\", 0x10000001F );",
		  "1: job \"j\": \"ports\": integer out of range (libconfig reads it as 31)" },
		{ "ports = ( 80, 99999999999999999999L );",
		  "1: job \"j\": \"ports\": integer out of range (libconfig reads it as 9223372036854775807)" },
	};
	char text[512], want[600];
	struct pw_config *c;
	const char *m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 "jobs = ( { name = \"j\"; targets = \"127.0.0.1\"; %s } );\n",
			 bad[i].text);
		m = put("trunc.conf", text);
		snprintf(want, sizeof(want), "%s:%s", m, bad[i].msg);
		load_fails(m, (const char *const[]){ want }, 1);
	}
	/* what the text says exactly loads: hex, L, signs, numbers in comments */
	m = put("trunc.conf",
		"# 4294967376\nmax_rate = 0x64; /* 0x100000064 */ workers = 4L;\n"
		"jobs = ( { name = \"j4294967376\"; targets = \"127.0.0.1\"; interval = 0x3C;\n"
		"  ports = ( +22, 0x50, 8080L, 0x1BBL, \"1-1\" \"0\" ); } );\n");
	c = load_ok(m);
	ck_assert_uint_eq(c->max_rate, 100);
	ck_assert(c->jobs[0].interval_usec == 60 * USEC_PER_SEC);
	ck_assert(pw_iset_count(&c->jobs[0].space.ports) == 14);
	pw_config_free(c);
}
END_TEST

/* Past PW_DIAG_MAX errors only a count is kept, and the load says how many. */
START_TEST(errors_capped_with_a_count)
{
	struct pw_diag d = PW_DIAG_INIT;
	struct pw_config *c = NULL;
	char text[1024], commas[301];
	char want[64];

	memset(commas, ',', 300);
	commas[300] = '\0';
	snprintf(text, sizeof(text),
		 "jobs = ( { name = \"j\"; targets = \"127.0.0.1\"; ports = \"%s\"; } );\n",
		 commas);
	ck_assert_int_eq(pw_config_load(put("many.conf", text), &c, &d), -EINVAL);
	ck_assert_uint_eq(d.n, PW_DIAG_MAX + 1);
	ck_assert_ptr_nonnull(strstr(d.msgs[0], "many.conf:1: job \"j\": ports: empty element"));
	snprintf(want, sizeof(want), "... and %d more errors", 301 - PW_DIAG_MAX);
	ck_assert_str_eq(d.msgs[PW_DIAG_MAX], want);
	pw_diag_done(&d);

	/* pw_diag_add() alone counts too; one dropped message is "error" */
	for (int i = 0; i < PW_DIAG_MAX + 1; i++)
		ck_assert_int_eq(pw_diag_add(&d, "m%d", i), 0);
	ck_assert_uint_eq(d.n, PW_DIAG_MAX);
	ck_assert_uint_eq(d.dropped, 1);
	ck_assert_int_eq(pw_diag_finish(&d), 0);
	ck_assert_str_eq(d.msgs[PW_DIAG_MAX], "... and 1 more error");
	pw_diag_done(&d);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, table_of_config_files);
	tcase_add_test(tc, global_settings_and_defaults);
	tcase_add_test(tc, builtin_defaults);
	tcase_add_test(tc, job_overrides_and_alert_inheritance);
	tcase_add_test(tc, space_and_probe_count);
	tcase_add_test(tc, probe_cap_boundary);
	tcase_add_test(tc, dropins_in_name_order);
	tcase_add_test(tc, include_dir_relative_to_main_file);
	tcase_add_test(tc, missing_dropin_dir);
	tcase_add_test(tc, main_file_in_its_own_dropin_dir);
	tcase_add_test(tc, dropin_errors_and_duplicates_across_files);
	tcase_add_test(tc, unreadable_and_missing_main_file);
	tcase_add_test(tc, no_half_apply);
	tcase_add_test(tc, job_equality);
	tcase_add_test(tc, set_database);
	tcase_add_test(tc, alert_event_names);
	tcase_add_test(tc, shipped_config_is_valid_and_loopback_only);
	tcase_add_test(tc, diag_collects);
	tcase_add_test(tc, errors_capped_with_a_count);
	tcase_add_test(tc, include_names_unescaped_like_libconfig);
	tcase_add_test(tc, integer_truncation_by_token);
	tcase_add_test(tc, ceilings);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(config_suite)
