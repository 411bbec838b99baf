/* SPDX-License-Identifier: MIT */
/*
 * The store's connection: open (schema checks, migrations, the file it
 * writes), close, settings, and the error and SQL helpers every store
 * file uses. The per-job map is lib/store-cache.c, the batched writes
 * lib/store-write.c.
 */

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store-internal.h"

#define PW_APPLICATION_ID 1347896386 /* 'PWDB', set by 001-initial.sql */

static const char *const run_status_names[_PW_RUN_STATUS_MAX] = {
	[PW_RUN_RUNNING] = "running", [PW_RUN_COMPLETED] = "completed",
	[PW_RUN_ABORTED] = "aborted", [PW_RUN_FAILED] = "failed",
	[PW_RUN_SKIPPED] = "skipped",
};

PW_DEFINE_STRING_TABLE_LOOKUP(pw_run_status, enum pw_run_status, run_status_names)

unsigned pw_store_schema_version(void)
{
	return pw_store_n_migrations;
}

unsigned pw_store_db_version(const struct pw_store *s)
{
	return s->db_version;
}

struct sqlite3 *pw_store_sqlite(struct pw_store *s)
{
	return s->db;
}

const char *pw_store_last_error(const struct pw_store *s)
{
	return s->err;
}

/* ------------------------------------------------------------ errors */

static int errno_from_sqlite(sqlite3 *db, int rc)
{
	int sys;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		sys = db ? sqlite3_system_errno(db) : 0;
		if (sys > 0)
			return -sys;
		return (rc & 0xff) == SQLITE_CANTOPEN ? -ENOENT : -EIO;
	}
	return -EIO;
}

int store_set_error(struct pw_store *s, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(s->err, sizeof(s->err), "%s: ", s->path);
	if (n < 0 || (size_t)n >= sizeof(s->err))
		return err;
	va_start(ap, fmt);
	vsnprintf(s->err + n, sizeof(s->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

/* Record "PATH: what: sqlite message" and map rc to -errno. */
int store_sql_error(struct pw_store *s, int rc, const char *what)
{
	return store_set_error(s, errno_from_sqlite(s->db, rc), "%s: %s", what,
			       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

int pw_store_sql_error(struct pw_store *s, int rc, const char *what)
{
	return store_sql_error(s, rc, what);
}

int store_exec(struct pw_store *s, const char *sql, const char *what)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_sql_error(s, rc, what);
}

void store_rollback(struct pw_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_commit(struct pw_store *s)
{
	int r = store_exec(s, "COMMIT", "commit");

	if (r < 0)
		store_rollback(s);
	return r;
}

/* Run a statement that returns one integer (or none: *ret untouched). */
static int query_int(struct pw_store *s, const char *sql, const char *what, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sql_error(s, rc, what);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		int r = store_sql_error(s, rc, what);

		sqlite3_finalize(st);
		return r;
	}
	sqlite3_finalize(st);
	return 0;
}

/* Step a write statement to completion; reset it either way. */
int store_step_done(struct pw_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	int r = rc == SQLITE_DONE ? 0 : store_sql_error(s, rc, what);

	sqlite3_reset(st);
	return r;
}

/* ------------------------------------------------------------ open/close */

static int migrate(struct pw_store *s)
{
	for (unsigned i = s->db_version; i < pw_store_n_migrations; i++) {
		const struct pw_store_migration *m = &pw_store_migrations[i];
		char sql[64];
		int64_t v = 0;
		int r;

		r = store_exec(s, "BEGIN IMMEDIATE", "begin migration");
		if (r < 0)
			return r;
		/* another process may have migrated while we waited for the lock */
		r = query_int(s, "PRAGMA user_version", "read schema version", &v);
		if (r < 0) {
			store_rollback(s);
			return r;
		}
		if (v >= m->version) {
			store_rollback(s);
			s->db_version = (unsigned)v;
			continue;
		}
		r = store_exec(s, m->sql, m->name);
		if (r == 0) {
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %u", m->version);
			r = store_exec(s, sql, m->name);
		}
		if (r == 0)
			r = store_commit(s);
		if (r < 0) {
			store_rollback(s);
			return r;
		}
		s->db_version = m->version;
	}
	return 0;
}

static int check_schema(struct pw_store *s)
{
	int64_t version = 0, app = 0, objects = 0;
	int r;

	/* the first read: a garbage file fails here with "file is not a database" */
	r = query_int(s, "SELECT count(*) FROM sqlite_master", "read schema", &objects);
	if (r < 0)
		return r;
	r = query_int(s, "PRAGMA user_version", "read schema version", &version);
	if (r < 0)
		return r;
	r = query_int(s, "PRAGMA application_id", "read application id", &app);
	if (r < 0)
		return r;
	/* Decided from reads only: open_db() switches to WAL and migrates
	 * after this, and neither may touch a file that is not ours. */
	if (version == 0 && objects > 0)
		return store_set_error(
			s, -EBADMSG,
			"not a portwatch database (it has tables but no schema version)");
	if (version < 0)
		return store_set_error(s, -EBADMSG,
				       "not a portwatch database (schema version %" PRId64 ")",
				       version);
	/* 0 is an application_id nobody set: a new, empty file */
	if ((version > 0 || app != 0) && app != PW_APPLICATION_ID)
		return store_set_error(s, -EBADMSG,
				       "not a portwatch database (application_id %" PRId64 ")",
				       app);
	if (version > (int64_t)pw_store_n_migrations)
		return store_set_error(
			s, -EPROTONOSUPPORT,
			"database schema version %" PRId64
			" is newer than this portwatch supports (%u): upgrade portwatch",
			version, pw_store_n_migrations);
	s->db_version = (unsigned)version;
	if (s->readonly && version == 0)
		return store_set_error(s, -ENOENT,
				       "no portwatch database here yet (schema version 0)");
	if (s->readonly && version < (int64_t)pw_store_n_migrations)
		return store_set_error(
			s, -ESTALE,
			"database schema version %" PRId64
			" is older than this portwatch (%u): start portwatchd once to upgrade it",
			version, pw_store_n_migrations);
	return 0;
}

static void remember_file(struct pw_store *s)
{
	struct stat st;

	if (strcmp(s->path, ":memory:") == 0 || strncmp(s->path, "file:", 5) == 0 ||
	    stat(s->path, &st) < 0)
		return;
	s->have_file = true;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
}

/*
 * SQLite writes through the file it opened, from its page cache and WAL:
 * if the database is renamed over, deleted or overwritten in place while
 * open, every later commit "succeeds" into a file nobody will read again.
 * Check before each batch (one stat(2) and one 16-byte read) and keep the
 * batch queued instead, with an error that says what happened.
 */
int store_check_file(struct pw_store *s)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	struct stat st;
	sqlite3_file *f = NULL;

	if (!s->have_file)
		return 0;
	if (stat(s->path, &st) < 0)
		return store_set_error(s, -ESTALE,
				       "the database file was removed while open (%s);"
				       " its new history cannot be written",
				       strerror(errno));
	if (st.st_dev != s->dev || st.st_ino != s->ino)
		return store_set_error(s, -ESTALE,
				       "the database file was replaced by another file while"
				       " open; its new history cannot be written");
	/* Read through SQLite's own descriptor: opening and closing another
	 * one on the file would drop SQLite's POSIX locks (fcntl(2)). */
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f ||
	    !f->pMethods)
		return 0;
	if (f->pMethods->xRead(f, head, (int)sizeof(head), 0) == SQLITE_OK &&
	    memcmp(head, magic, sizeof(magic)) != 0)
		return store_set_error(
			s, -EBADMSG,
			"the database file was overwritten while open (its"
			" header is not SQLite's any more); its new history cannot be written");
	return 0;
}

static int open_db(struct pw_store *s)
{
	int64_t v = 0;
	int rc, r;

	rc = sqlite3_open_v2(s->path, &s->db,
			     s->readonly ? SQLITE_OPEN_READONLY
					 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			     NULL);
	if (rc != SQLITE_OK)
		return store_sql_error(s, rc, "open");
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, PW_STORE_DEFAULT_BUSY_TIMEOUT_MS);

	r = check_schema(s);
	if (r < 0)
		return r;
	/* SQLite quietly falls back to read-only for a write-protected file:
	 * say so now rather than at the first batch. */
	if (!s->readonly && sqlite3_db_readonly(s->db, "main") == 1)
		return store_set_error(s, -EROFS,
				       "attempt to write a readonly database"
				       " (the file is not writable; portwatch needs write access)");
	/*
	 * A 16 MB page cache holds the port table of ~200,000 ports, so the
	 * batched last-seen updates do not re-read pages from the OS.
	 */
	r = store_exec(s, "PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384",
		       "set up connection");
	if (r < 0 || s->readonly)
		return r;
	/*
	 * WAL: readers (sqlite3, the CLI) never block the writer and see
	 * only committed batches. synchronous=NORMAL: a commit does not
	 * fsync, the WAL checkpoint does; a crash of the process loses
	 * nothing committed, a power loss at most the last commits.
	 */
	r = store_exec(s, "PRAGMA journal_mode = WAL", "enable WAL");
	if (r == 0)
		r = store_exec(s, "PRAGMA synchronous = NORMAL", "set synchronous");
	if (r == 0)
		r = migrate(s);
	if (r == 0)
		r = query_int(s,
			      "SELECT max(coalesce((SELECT max(id) FROM runs), 0),"
			      " coalesce((SELECT reserved FROM run_ids), 0))",
			      "read run ids", &v);
	s->first_run_id = s->next_run_id = v + 1;
	s->run_ids_reserved = s->run_ids_want = v;
	v = 0;
	if (r == 0)
		r = query_int(s, "SELECT coalesce(max(id), 0) FROM jobs", "read jobs", &v);
	s->next_job_id = v + 1;
	v = 0;
	if (r == 0)
		r = query_int(s, "SELECT coalesce(max(id), 0) FROM ports", "read ports", &v);
	s->next_port_id = v + 1;
	if (r == 0)
		remember_file(s);
	return r;
}

static int init_lock(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int r;

	r = pthread_mutexattr_init(&a);
	if (r == 0)
		r = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	if (r == 0)
		r = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return -r;
}

int pw_store_open(const char *path, unsigned flags, struct pw_store **ret_store, char **ret_error)
{
	struct pw_store *s;
	int r;

	if (!path || !*path)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = init_lock(&s->lock);
	if (r < 0) {
		free(s);
		return r;
	}
	s->readonly = flags & PW_STORE_READONLY;
	s->batch_size = PW_STORE_DEFAULT_BATCH;
	s->max_pending = PW_STORE_DEFAULT_MAX_PENDING;
	s->seen_interval = PW_STORE_DEFAULT_SEEN_INTERVAL;
	s->path = strdup(path);
	r = s->path ? open_db(s) : -ENOMEM;
	if (r < 0) {
		if (ret_error)
			*ret_error = strdup(s->err[0] ? s->err : path);
		sqlite3_close(s->db);
		pthread_mutex_destroy(&s->lock);
		free(s->path);
		free(s);
		return r;
	}
	*ret_store = s;
	return 0;
}

struct pw_store *pw_store_close(struct pw_store *s)
{
	if (!s)
		return NULL;
	pthread_mutex_lock(&s->lock);
	if (!s->readonly)
		store_mark_all_seen(s);
	/* Every id handed out is in a written row: give back the rest of the
	 * reservation, so that only a crash leaves a gap in the ids. */
	if (pw_store_flush(s) == 0 && !s->runs && s->run_ids_reserved >= s->next_run_id)
		(void)store_reserve_run_ids(s, s->next_run_id - 1);
	for (int i = 0; i < _ST_MAX; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	while (s->jobs) {
		struct job *j = s->jobs;

		s->jobs = j->next;
		store_job_free(j);
	}
	while (s->runs) {
		struct run *r = s->runs;

		s->runs = r->next;
		store_run_free(r);
	}
	free(s->ev);
	free(s->path);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

void pw_store_set_batch(struct pw_store *s, size_t batch_size, size_t max_pending)
{
	if (batch_size)
		s->batch_size = batch_size;
	if (max_pending)
		s->max_pending = max_pending;
}

void pw_store_set_seen_interval(struct pw_store *s, uint64_t usec)
{
	s->seen_interval = usec;
}

void pw_store_set_busy_timeout(struct pw_store *s, unsigned msec)
{
	sqlite3_busy_timeout(s->db, (int)(msec > INT32_MAX ? INT32_MAX : msec));
}

size_t pw_store_pending(const struct pw_store *s)
{
	size_t n = s->n_ev + s->n_dirty;

	/* runs and jobs too: a run's counters and end are history as well,
	 * and "0 pending" must mean that nothing waits */
	for (const struct job *j = s->jobs; j; j = j->next)
		n += j->job_dirty;
	for (const struct run *run = s->runs; run; run = run->next)
		n += run->dirty;
	return n;
}
