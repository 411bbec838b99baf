/* SPDX-License-Identifier: MIT */

/*
 * Files: the main file and its drop-ins read whole (refusing what is not
 * a regular text file, also behind "@include"), handed to libconfig, and
 * their top-level keys dispatched to the group parsers.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-internal.h"
#include "estimate.h"

/* ------------------------------------------------------------ files */

static void parse_main_root(struct ctx *c, const config_setting_t *root)
{
	const config_setting_t *jobs = NULL;
	int n = config_setting_length(root);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(root, (unsigned)i);
		const char *key = config_setting_name(m);
		const struct key *k;

		if (strcmp(key, "jobs") == 0)
			jobs = m; /* after "defaults" and "alert", wherever it is written */
		else if (strcmp(key, "defaults") == 0)
			pw_config_parse_defaults(c, m);
		else if (strcmp(key, "alert") == 0)
			pw_config_parse_alert(c, m, &c->cfg->alert);
		else if ((k = pw_config_global_key(key)))
			pw_config_parse_keyed(c, m, k, c->cfg);
		else
			pw_config_unknown_key(c, m, SCOPE_GLOBAL);
	}
	if (jobs)
		pw_config_parse_jobs(c, jobs);
}

static void parse_dropin_root(struct ctx *c, const config_setting_t *root)
{
	int n = config_setting_length(root);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(root, (unsigned)i);

		if (strcmp(config_setting_name(m), "jobs") == 0)
			pw_config_parse_jobs(c, m);
		else
			pw_config_unknown_key(c, m, SCOPE_DROPIN);
	}
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* The whole file, NUL-terminated; NULL and errno on failure. */
static char *read_all(int fd, size_t size_hint)
{
	size_t cap = size_hint + 1, len = 0;
	char *buf = malloc(cap);

	for (;;) {
		ssize_t n;

		if (!buf)
			return NULL;
		if (len + 1 >= cap) {
			char *b;

			if (cap >= PW_CONFIG_MAX_FILE_SIZE) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			b = realloc(buf, cap * 2);
			if (!b)
				free(buf);
			buf = b;
			cap *= 2;
			continue;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		free(buf);
		errno = EBADMSG; /* a NUL byte: not a text file */
		return NULL;
	}
	return buf;
}

/*
 * libconfig opens the files named by "@include" itself (fopen(3), always
 * relative to the including file's directory), past the checks above: a
 * FIFO there would block the load forever, a device or a huge file would
 * be read to the end. Check them, and what they include, the same way
 * first; libconfig reports missing files and nesting itself.
 */
#define MAX_INCLUDES 64

/*
 * The file name of an "@include", q just past its opening quote, as
 * libconfig 1.5's scanner reads it: up to the next unescaped '"', across
 * lines; a backslash takes the next byte as it is (\\ and \" are the
 * documented ones; before any other byte libconfig drops the backslash).
 * NULL when unterminated, or out of memory (errno).
 */
char *pw_config_include_name(const char *q, const char **ret_end)
{
	const char *end = q;
	size_t n = 0;
	char *name;

	while (*end && *end != '"')
		end += end[0] == '\\' && end[1] ? 2 : 1;
	if (*end != '"') {
		errno = EINVAL;
		return NULL;
	}
	name = malloc((size_t)(end - q) + 1);
	if (!name)
		return NULL;
	for (; q < end; q++) {
		if (*q == '\\')
			q++;
		name[n++] = *q;
	}
	name[n] = '\0';
	*ret_end = end;
	return name;
}

static bool includes_ok(struct ctx *c, const char *dir, const char *text, int depth, unsigned *n)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		_cleanup_free_ char *name = NULL, *path = NULL, *inc = NULL;
		_cleanup_close_ int fd = -1;
		const char *q = p + strspn(p, " \t"), *end;
		struct stat st;

		if (strncmp(q, "@include", 8) != 0 || !strchr(" \t", q[8]))
			continue;
		q += 8 + strspn(q + 8, " \t");
		if (*q != '"')
			continue;
		name = pw_config_include_name(q + 1, &end);
		if (!name && errno == EINVAL)
			return true; /* unterminated, so no later one is: libconfig reports it */
		if (name)
			p = end; /* a name may span lines: go on after it */
		if (!name || asprintf(&path, "%s/%s", dir, name) < 0) {
			path = NULL;
			c->oom = true;
			return false;
		}
		/* a file may include the same one many times over: bound the
		 * walk, not only its depth (libconfig stops at 10 levels) */
		if (++*n > MAX_INCLUDES) {
			pw_config_error_at(c, NULL,
					   "more than %d @include directives, counting nested ones",
					   MAX_INCLUDES);
			return false;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		if (!S_ISREG(st.st_mode)) {
			pw_config_error_at(c, NULL, "@include \"%.200s\": not a regular file",
					   name);
			return false;
		}
		if (depth >= 10)
			continue;
		inc = read_all(fd, (size_t)st.st_size);
		if (!inc) {
			if (errno == ENOMEM)
				c->oom = true;
			else
				pw_config_error_at(c, NULL, "@include \"%.200s\": %s", name,
						   errno == EBADMSG
							   ? "contains a NUL byte, not a text file"
							   : strerror(errno));
			return false;
		}
		if (!includes_ok(c, dir, inc, depth + 1, n))
			return false;
	}
	return true;
}

/* Parse text (the file at path) with libconfig; false on a syntax error. */
static bool parse_text(struct ctx *c, const char *path, const char *dir, const char *text,
		       bool is_main)
{
	struct pw_config_text src;
	config_t lc;
	bool ok = false;

	config_init(&lc);
	if (dir)
		config_set_include_dir(&lc, dir);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			pw_config_error_at(c, NULL, "cannot read file: %s", config_error_text(&lc));
		else if (pw_diag_add(c->diag, "%s:%d: %s", config_error_file(&lc) ?: path,
				     config_error_line(&lc), config_error_text(&lc)) < 0)
			c->oom = true;
		else
			c->errors++;
	} else {
		pw_config_text_init(&src, text);
		pw_config_text_attach(&src, config_root_setting(&lc));
		c->src = &src;
		if (is_main)
			parse_main_root(c, config_root_setting(&lc));
		else
			parse_dropin_root(c, config_root_setting(&lc));
		c->src = NULL;
		pw_config_text_done(&src);
		ok = true;
	}
	config_destroy(&lc);
	return ok;
}

/* Returns false when the file could not be read or parsed at all. */
static bool load_file(struct ctx *c, const char *path, bool is_main)
{
	_cleanup_free_ char *dir = dir_of(path);
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;

	c->file = path;
	/* O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer;
	 * anything but a regular file is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		pw_config_error_at(c, NULL, "cannot read file: %s", strerror(errno));
		return false;
	}
	if (is_main) {
		c->main_dev = st.st_dev;
		c->main_ino = st.st_ino;
	} else if (st.st_dev == c->main_dev && st.st_ino == c->main_ino)
		return true;
	if (!S_ISREG(st.st_mode)) {
		pw_config_error_at(c, NULL, "cannot read file: %s",
				   S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
		return false;
	}
	text = read_all(fd, (size_t)st.st_size);
	if (!text) {
		if (errno == ENOMEM)
			c->oom = true;
		else if (errno == EBADMSG)
			pw_config_error_at(
				c, NULL, "cannot read file: contains a NUL byte, not a text file");
		else
			pw_config_error_at(c, NULL, "cannot read file: %s", strerror(errno));
		return false;
	}
	if (dir && !includes_ok(c, dir, text, 0, &(unsigned){ 0 }))
		return false;
	return parse_text(c, path, dir, text, is_main);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dropin_name(const char *n)
{
	size_t len = strlen(n);

	/* hidden files are editor and package-manager leftovers */
	return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".conf") == 0;
}

static void load_dropins(struct ctx *c, bool explicit_dir)
{
	const char *dirpath = c->cfg->include_dir;
	struct strv names = { NULL, 0 };
	struct dirent *de;
	DIR *d;

	d = opendir(dirpath);
	if (!d) {
		if (errno == ENOENT && !explicit_dir)
			return; /* the default drop-in directory is optional */
		c->file = dirpath;
		pw_config_error_at(c, NULL, "cannot open drop-in directory: %s", strerror(errno));
		return;
	}
	while ((de = readdir(d)))
		if (is_dropin_name(de->d_name) && !pw_config_strv_push(c, &names, de->d_name))
			break;
	closedir(d);
	if (names.n > 1)
		qsort(names.v, names.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < names.n && !c->oom; i++) {
		_cleanup_free_ char *path = NULL;

		if (asprintf(&path, "%s/%s", dirpath, names.v[i]) < 0) {
			path = NULL;
			c->oom = true;
			break;
		}
		load_file(c, path, false);
	}
	c->file = NULL;
	pw_config_strv_free(names.v, names.n);
}

/* include_dir relative to the main file's directory; the default if unset. */
static int resolve_include_dir(struct pw_config *cfg, const char *main_path, bool *ret_explicit)
{
	const char *rel = cfg->include_dir ?: PW_DEFAULT_INCLUDE_DIR;
	_cleanup_free_ char *dir = NULL;
	char *path;

	*ret_explicit = cfg->include_dir != NULL;
	if (rel[0] == '/')
		path = strdup(rel);
	else {
		dir = dir_of(main_path);
		if (!dir || asprintf(&path, "%s/%s", dir, rel) < 0)
			path = NULL;
	}
	if (!path)
		return -ENOMEM;
	free(cfg->include_dir);
	cfg->include_dir = path;
	return 0;
}

static void ceiling_error(struct ctx *c, const struct pw_job *j, const char *what,
			  const char *total, const char *key, const char *limit)
{
	c->errors++;
	if (pw_diag_add(
		    c->diag,
		    "%s:%d: job \"%s\": with it the jobs may need %s of %s if none of their ports is closed, above %s = %s: narrow the job, or raise %s if you know its ports are mostly closed (closed ports cost nothing)",
		    j->file, j->line, j->name, total, what, key, limit, key) < 0)
		c->oom = true;
}

/*
 * The ceilings: what the jobs together may cost if none of their ports is
 * closed (estimate.h). Said at the job that crosses one, once each.
 */
static void check_ceilings(struct ctx *c)
{
	const struct pw_config *cfg = c->cfg;
	uint64_t mem = 0, disk = 0;
	bool mem_said = false, disk_said = false;

	for (size_t i = 0; i < cfg->n_jobs; i++) {
		const struct pw_job *j = &cfg->jobs[i];
		struct pw_estimate e;
		char a[32], b[32];

		if (!j->enabled)
			continue;
		pw_estimate_job(j, &e);
		mem = pw_estimate_add(mem, e.mem_most);
		disk = pw_estimate_add(disk, e.disk_most);
		if (mem > cfg->max_memory && !mem_said) {
			mem_said = true;
			ceiling_error(c, j, "memory", pw_format_size(a, sizeof(a), mem),
				      "max_memory", pw_format_size(b, sizeof(b), cfg->max_memory));
		}
		if (disk > cfg->max_database_growth && !disk_said) {
			disk_said = true;
			ceiling_error(c, j, "database growth", pw_format_size(a, sizeof(a), disk),
				      "max_database_growth",
				      pw_format_size(b, sizeof(b), cfg->max_database_growth));
		}
	}
}

int pw_config_load(const char *main_path, struct pw_config **ret, struct pw_diag *diag)
{
	struct pw_config *cfg = pw_config_new(main_path);
	struct ctx c = { .cfg = cfg, .diag = diag, .defaults_ok = true };
	bool explicit_dir;

	if (!cfg)
		return -ENOMEM;
	if (load_file(&c, main_path, true) && !c.oom) {
		if (resolve_include_dir(cfg, main_path, &explicit_dir) < 0)
			c.oom = true;
		else
			load_dropins(&c, explicit_dir);
	}
	if (!c.oom && !c.errors)
		check_ceilings(&c);
	for (size_t i = 0; i < c.n_seen; i++) {
		free(c.seen[i].name);
		free(c.seen[i].file);
	}
	free(c.seen);
	if (pw_diag_finish(diag) < 0)
		c.oom = true;
	if (c.oom || c.errors) {
		pw_config_free(cfg);
		return c.oom ? -ENOMEM : -EINVAL;
	}
	*ret = cfg;
	return 0;
}
