/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What lib/config*.c share and nobody else sees: the key tables' types,
 * the parse context every error goes through, and the parsers one file
 * calls in another. libconfig's types stay behind this header; callers
 * of include/config.h never see them.
 *
 * The helpers are named pw_config_*: libconfig already owns config_*.
 */

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "util.h"

#define SEC USEC_PER_SEC
#define MSEC USEC_PER_MSEC
#define DAY (24 * 3600 * SEC)

#define ALERT_TIMEOUT_DEFAULT (30 * SEC)
#define ALERT_TIMEOUT_MIN (1 * SEC)
#define ALERT_TIMEOUT_MAX (3600 * SEC)

/* ------------------------------------------------------------ key tables */

/*
 * The per-job tunables, also allowed in the "defaults" group: one table
 * drives parsing, range checks, the "defaults" inheritance and the
 * "did you mean" suggestions.
 */
struct tunables {
	struct pw_scan_timing t;
	uint64_t interval, jitter;
	double accept_all;
};

enum vtype {
	V_DURATION, /* uint64_t usec */
	V_UINT,     /* unsigned */
	V_SHARE,    /* double in [0, 1] */
	V_STRING,   /* char *, owned */
	V_LOGLEVEL, /* int */
	V_SIZE,     /* uint64_t bytes: an integer, or a string with K, M, G, T */
};

struct key {
	const char *name;
	enum vtype type;
	size_t offset;
	uint64_t min, max;
};

enum scope {
	SCOPE_GLOBAL,
	SCOPE_DROPIN,
	SCOPE_DEFAULTS,
	SCOPE_JOB,
	SCOPE_ALERT,
};

/* ------------------------------------------------------------ context */

/* One scalar value as written in the file (config-text.c). */
struct pw_config_token {
	uint32_t off, len; /* files are capped at 16 MiB */
	int line;
	char kind; /* 'i'nteger, 'f'loat, 'b'oolean, 's'tring */
};

/* The file being parsed, for the checks that go back to its text. */
struct pw_config_text {
	const char *text;
	size_t len;
	uint32_t *line_start; /* offset of line l at [l - 1]; built on first use */
	size_t n_lines;
	bool no_index;                     /* no memory for the index: lines are not looked up */
	const config_setting_t *last_list; /* pw_config_elem_index()'s last answer */
	int last_idx;
	struct pw_config_token *tok; /* each the hook of its setting, if tok_ok */
	size_t n_tok, cap_tok;
	bool tok_ok;
};

struct seen_job {
	char *name, *file;
	int line;
};

struct ctx {
	struct pw_config *cfg;
	struct seen_job *seen; /* every named job, valid or not, for duplicates */
	size_t n_seen;
	struct pw_diag *diag;
	const char *file;
	char label[PW_CONFIG_MAX_NAME + 32]; /* "job "x": alert: " while in one */
	unsigned errors;
	bool oom;
	bool defaults_ok;
	struct pw_config_text *src; /* the file being parsed, NULL for none */
	dev_t main_dev;             /* an include_dir of "." must not read the main file twice */
	ino_t main_ino;
};

/* ------------------------------------------------------------ spec lists */

struct strv {
	char **v;
	size_t n;
};

enum spec_kind {
	SPEC_TARGETS, /* addresses and hostnames */
	SPEC_EXCLUDE, /* addresses only */
	SPEC_PORTS,
};

struct spec_out {
	struct pw_iset *set;
	struct strv *names; /* SPEC_TARGETS only */
	/* pw_config_parse_specs()'s own: each spec parsed into one, then all
	 * merged into set at once (a long list of scattered targets) */
	struct pw_iset one;
	struct pw_iset_batch batch;
};

/* ------------------------------------------------------------ config.c */

struct pw_config *pw_config_new(const char *main_path);

/* ------------------------------------------------------------ config-text.c */

void pw_config_text_init(struct pw_config_text *t, const char *text);
void pw_config_text_done(struct pw_config_text *t);
const char *pw_config_text_line(struct pw_config_text *t, int l, size_t *ret_len);
int pw_config_elem_index(struct pw_config_text *t, const config_setting_t *s);
void pw_config_text_attach(struct pw_config_text *t, config_setting_t *root);
const struct pw_config_token *pw_config_token_of(const struct pw_config_text *t,
						 const config_setting_t *s);

/* ------------------------------------------------------------ config-diag.c */

bool pw_config_is_int(const config_setting_t *s);
bool pw_config_is_list(const config_setting_t *s);
int pw_config_setting_line(const config_setting_t *s);
bool pw_config_line_has(struct pw_config_text *t, int l, const char *needle, bool number);
int pw_config_refine_line(const struct ctx *c, const config_setting_t *s, int line);
void pw_config_error_at(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* NULL, and c->oom set, when out of memory */
char *pw_config_strdup(struct ctx *c, const char *s);
const char *pw_config_type_name(int type);

/* ------------------------------------------------------------ config-keys.c */

const struct key *pw_config_tunable_key(const char *name);
const struct key *pw_config_global_key(const char *name);
/* Keep cand in *best if it is closer to key than *best (at *best_d). */
void pw_config_consider(const char *key, const char *cand, const char **best, size_t *best_d);
void pw_config_unknown_key(struct ctx *c, const config_setting_t *s, enum scope scope);

/* ------------------------------------------------------------ config-parse.c */

bool pw_config_get_duration(struct ctx *c, const config_setting_t *s, const char *key, uint64_t min,
			    uint64_t max, uint64_t *ret);
const char *pw_config_get_string(struct ctx *c, const config_setting_t *s, const char *key);
void pw_config_parse_keyed(struct ctx *c, const config_setting_t *s, const struct key *k,
			   void *base);
void pw_config_check_tunables(struct ctx *c, const config_setting_t *where,
			      const struct tunables *t);
void pw_config_strv_free(char **v, size_t n);
bool pw_config_strv_push(struct ctx *c, struct strv *sv, const char *s);
size_t pw_config_parse_specs(struct ctx *c, const config_setting_t *s, const char *key,
			     enum spec_kind kind, struct spec_out *out);

/* ------------------------------------------------------------ config-load.c */

char *pw_config_include_name(const char *q, const char **ret_end);

/* ------------------------------------------------------------ config-alert.c */

void pw_config_alert_done(struct pw_alert *a);
int pw_config_alert_copy(struct pw_alert *dst, const struct pw_alert *src);
void pw_config_parse_alert(struct ctx *c, const config_setting_t *g, struct pw_alert *a);

/* ------------------------------------------------------------ config-jobs.c */

void pw_config_job_done(struct pw_job *j);
void pw_config_parse_defaults(struct ctx *c, const config_setting_t *g);
void pw_config_parse_jobs(struct ctx *c, const config_setting_t *s);
