/* SPDX-License-Identifier: MIT */

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

static const char *const stmt_sql[_ST_MAX] = {
	[ST_INS_JOB] =
		"INSERT INTO jobs (id, name, baseline_run_id, created_usec) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (id) DO UPDATE SET baseline_run_id = excluded.baseline_run_id",
	[ST_INS_RUN] =
		"INSERT INTO runs (id, job_id, status, started_usec, ended_usec, updated_usec,"
		" probes, n_open, n_closed, n_filtered, n_unreachable, n_changes, n_flaps)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
		" ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
		" ended_usec = excluded.ended_usec, updated_usec = excluded.updated_usec,"
		" probes = excluded.probes, n_open = excluded.n_open,"
		" n_closed = excluded.n_closed, n_filtered = excluded.n_filtered,"
		" n_unreachable = excluded.n_unreachable, n_changes = excluded.n_changes,"
		" n_flaps = excluded.n_flaps",
	[ST_INS_EVENT] = "INSERT INTO events (run_id, job_id, addr, port, address, kind, major,"
			 " old_state, new_state, time_usec, rtt_usec, policy)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_INS_PORT] = "INSERT INTO ports (job_id, addr, port, address, state, first_seen_usec,"
			" last_seen_usec, last_change_usec, last_run_id, rtt_usec, id)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_UPD_PORT] = "UPDATE ports SET state = ?4, last_seen_usec = ?5, last_change_usec = ?6,"
			" last_run_id = ?7, rtt_usec = ?8 WHERE id = ?1",
	/* unchanged: leave the indexed state column alone */
	[ST_UPD_SEEN] = "UPDATE ports SET last_seen_usec = ?5, last_run_id = ?7, rtt_usec = ?8"
			" WHERE id = ?1",
};

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

static int set_error(struct pw_store *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_error(struct pw_store *s, int err, const char *fmt, ...)
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
static int sql_error(struct pw_store *s, int rc, const char *what)
{
	return set_error(s, errno_from_sqlite(s->db, rc), "%s: %s", what,
			 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

int pw_store_sql_error(struct pw_store *s, int rc, const char *what)
{
	return sql_error(s, rc, what);
}

static int exec(struct pw_store *s, const char *sql, const char *what)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sql_error(s, rc, what);
}

static void rollback(struct pw_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int commit(struct pw_store *s)
{
	int r = exec(s, "COMMIT", "commit");

	if (r < 0)
		rollback(s);
	return r;
}

/* Run a statement that returns one integer (or none: *ret untouched). */
static int query_int(struct pw_store *s, const char *sql, const char *what, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_error(s, rc, what);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		int r = sql_error(s, rc, what);

		sqlite3_finalize(st);
		return r;
	}
	sqlite3_finalize(st);
	return 0;
}

static int prepare(struct pw_store *s, sqlite3_stmt **st, const char *sql)
{
	int rc;

	if (*st) {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
		return 0;
	}
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	return rc == SQLITE_OK ? 0 : sql_error(s, rc, "prepare");
}

static sqlite3_stmt *stmt(struct pw_store *s, int which, int *ret)
{
	*ret = prepare(s, &s->st[which], stmt_sql[which]);
	return *ret < 0 ? NULL : s->st[which];
}

/* Step a write statement to completion; reset it either way. */
static int step_done(struct pw_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	int r = rc == SQLITE_DONE ? 0 : sql_error(s, rc, what);

	sqlite3_reset(st);
	return r;
}

/* ------------------------------------------------------------ keys */

static uint64_t key_hash(uint64_t hi, uint64_t lo, uint16_t port)
{
	/* splitmix64 finaliser over the folded key */
	uint64_t x = hi * UINT64_C(0x9e3779b97f4a7c15) ^ lo ^ ((uint64_t)port << 48 | port);

	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* ------------------------------------------------------------ job cache */

static struct entry *job_find(struct job *j, uint64_t hi, uint64_t lo, uint16_t port)
{
	uint32_t mask, i;

	if (j->idx_size == 0)
		return NULL;
	mask = j->idx_size - 1;
	for (i = (uint32_t)key_hash(hi, lo, port) & mask; j->idx[i]; i = (i + 1) & mask) {
		struct entry *e = &j->e[j->idx[i] - 1];

		if (e->lo == lo && e->port == port && e->hi == hi)
			return e;
	}
	return NULL;
}

static void idx_insert(struct job *j, uint32_t n)
{
	const struct entry *e = &j->e[n];
	uint32_t mask = j->idx_size - 1;
	uint32_t i = (uint32_t)key_hash(e->hi, e->lo, e->port) & mask;

	while (j->idx[i])
		i = (i + 1) & mask;
	j->idx[i] = n + 1;
}

/* Make room for one more entry and one more dirty index. */
static int job_reserve(struct job *j)
{
	if (j->n == UINT32_MAX - 1)
		return -ENOMEM;
	if (j->n + 1 > j->cap) {
		uint32_t cap = j->cap ? j->cap * 2 : 256;
		struct entry *e = reallocarray(j->e, cap, sizeof(*e));

		if (!e)
			return -ENOMEM;
		j->e = e;
		j->cap = cap;
	}
	/* load factor <= 1/2 keeps linear probing short */
	if ((uint64_t)(j->n + 1) * 2 > j->idx_size) {
		uint32_t size = j->idx_size ? j->idx_size * 2 : 512;
		uint32_t *idx = calloc(size, sizeof(*idx));

		if (!idx)
			return -ENOMEM;
		free(j->idx);
		j->idx = idx;
		j->idx_size = size;
		for (uint32_t n = 0; n < j->n; n++)
			idx_insert(j, n);
	}
	if (j->n_dirty + 1 > j->cap_dirty) {
		uint32_t cap = j->cap_dirty ? j->cap_dirty * 2 : 256;
		uint32_t *d = reallocarray(j->dirty, cap, sizeof(*d));

		if (!d)
			return -ENOMEM;
		j->dirty = d;
		j->cap_dirty = cap;
	}
	return 0;
}

/* Caller reserved. */
static struct entry *job_add(struct job *j, uint64_t hi, uint64_t lo, uint16_t port)
{
	struct entry *e = &j->e[j->n];

	*e = (struct entry){ .hi = hi, .lo = lo, .port = port };
	idx_insert(j, j->n);
	j->n++;
	return e;
}

static void mark_dirty(struct pw_store *s, struct job *j, struct entry *e)
{
	if (e->flags & E_DIRTY)
		return;
	e->flags |= E_DIRTY;
	j->dirty[j->n_dirty++] = (uint32_t)(e - j->e);
	s->n_dirty++;
}

static void job_free(struct job *j)
{
	free(j->name);
	free(j->e);
	free(j->idx);
	free(j->dirty);
	free(j);
}

static struct job *job_lookup(struct pw_store *s, const char *name)
{
	for (struct job *j = s->jobs; j; j = j->next)
		if (strcmp(j->name, name) == 0)
			return j;
	return NULL;
}

/*
 * Find a job in memory or in the database; create it in memory if asked.
 * Returns 0 with *ret NULL for an unknown job when !create.
 */
static int job_get(struct pw_store *s, const char *name, bool create, uint64_t now,
		   struct job **ret)
{
	sqlite3_stmt *st = NULL;
	struct job *j;
	int rc, r = 0;

	j = job_lookup(s, name);
	if (j) {
		*ret = j;
		return 0;
	}
	j = calloc(1, sizeof(*j));
	if (!j || !(j->name = strdup(name))) {
		free(j);
		return -ENOMEM;
	}
	rc = sqlite3_prepare_v2(s->db, "SELECT id, baseline_run_id FROM jobs WHERE name = ?1", -1,
				&st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		j->id = sqlite3_column_int64(st, 0);
		j->baseline_run_id = sqlite3_column_int64(st, 1);
		j->in_db = true;
	} else if (rc == SQLITE_DONE && create) {
		j->id = s->next_job_id++;
		j->created = now;
		j->job_dirty = true;
	} else if (rc == SQLITE_DONE) {
		job_free(j);
		j = NULL;
	} else {
		r = sql_error(s, rc, "read job");
	}
	sqlite3_finalize(st);
	if (r < 0) {
		job_free(j);
		return r;
	}
	if (j) {
		j->next = s->jobs;
		s->jobs = j;
	}
	*ret = j;
	return 0;
}

static const char ports_select[] =
	"SELECT addr, port, state, first_seen_usec, last_seen_usec, last_change_usec,"
	" last_run_id, coalesce(rtt_usec, 0), id FROM ports WHERE job_id = ?1";

static int entry_from_row(sqlite3_stmt *st, struct entry *e)
{
	int state = pw_state_from_string((const char *)sqlite3_column_text(st, 2));
	int64_t port = sqlite3_column_int64(st, 1);

	if (state < 0 || port < 0 || port > UINT16_MAX)
		return -EBADMSG;
	*e = (struct entry){
		.port = (uint16_t)port,
		.state = (uint8_t)state,
		.first_seen = (uint64_t)sqlite3_column_int64(st, 3),
		.last_seen = (uint64_t)sqlite3_column_int64(st, 4),
		.db_seen = (uint64_t)sqlite3_column_int64(st, 4),
		.last_change = (uint64_t)sqlite3_column_int64(st, 5),
		.run_id = sqlite3_column_int64(st, 6),
		.rtt = (uint32_t)sqlite3_column_int64(st, 7),
		.id = sqlite3_column_int64(st, 8),
		.flags = E_IN_DB,
	};
	return pw_store_addr_from_blob(sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0),
				       &e->hi, &e->lo);
}

/* Read the job's current states into its map (once per job). */
static int job_load(struct pw_store *s, struct job *j)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	if (j->loaded)
		return 0;
	if (!j->in_db) {
		j->loaded = true;
		return 0;
	}
	rc = sqlite3_prepare_v2(s->db, ports_select, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, j->id);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		struct entry e;

		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		r = entry_from_row(st, &e);
		if (r < 0) {
			set_error(s, r, "job \"%s\": malformed row in table ports", j->name);
			break;
		}
		if (job_find(j, e.hi, e.lo, e.port))
			continue;
		r = job_reserve(j);
		if (r < 0)
			break;
		*job_add(j, e.hi, e.lo, e.port) = e;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sql_error(s, rc, "read port states");
	sqlite3_finalize(st);
	if (r < 0) {
		/* leave an empty, unloaded map: the next run retries */
		j->n = j->n_dirty = 0;
		if (j->idx)
			memset(j->idx, 0, j->idx_size * sizeof(*j->idx));
		return r;
	}
	j->loaded = true;
	return 0;
}

/* ------------------------------------------------------------ open/close */

static int migrate(struct pw_store *s)
{
	for (unsigned i = s->db_version; i < pw_store_n_migrations; i++) {
		const struct pw_store_migration *m = &pw_store_migrations[i];
		char sql[64];
		int64_t v = 0;
		int r;

		r = exec(s, "BEGIN IMMEDIATE", "begin migration");
		if (r < 0)
			return r;
		/* another process may have migrated while we waited for the lock */
		r = query_int(s, "PRAGMA user_version", "read schema version", &v);
		if (r < 0) {
			rollback(s);
			return r;
		}
		if (v >= m->version) {
			rollback(s);
			s->db_version = (unsigned)v;
			continue;
		}
		r = exec(s, m->sql, m->name);
		if (r == 0) {
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %u", m->version);
			r = exec(s, sql, m->name);
		}
		if (r == 0)
			r = commit(s);
		if (r < 0) {
			rollback(s);
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
	if (version == 0 && objects > 0)
		return set_error(s, -EBADMSG,
				 "not a portwatch database (it has tables but no schema version)");
	if (version > 0 && app != PW_APPLICATION_ID)
		return set_error(s, -EBADMSG,
				 "not a portwatch database (application_id %" PRId64 ")", app);
	if (version > (int64_t)pw_store_n_migrations)
		return set_error(s, -EPROTONOSUPPORT,
				 "database schema version %" PRId64
				 " is newer than this portwatch supports (%u): upgrade portwatch",
				 version, pw_store_n_migrations);
	s->db_version = (unsigned)version;
	if (s->readonly && version == 0)
		return set_error(s, -ENOENT, "no portwatch database here yet (schema version 0)");
	if (s->readonly && version < (int64_t)pw_store_n_migrations)
		return set_error(
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
static int check_file(struct pw_store *s)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	struct stat st;
	sqlite3_file *f = NULL;

	if (!s->have_file)
		return 0;
	if (stat(s->path, &st) < 0)
		return set_error(s, -ESTALE,
				 "the database file was removed while open (%s);"
				 " its new history cannot be written",
				 strerror(errno));
	if (st.st_dev != s->dev || st.st_ino != s->ino)
		return set_error(s, -ESTALE,
				 "the database file was replaced by another file while"
				 " open; its new history cannot be written");
	/* Read through SQLite's own descriptor: opening and closing another
	 * one on the file would drop SQLite's POSIX locks (fcntl(2)). */
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f ||
	    !f->pMethods)
		return 0;
	if (f->pMethods->xRead(f, head, (int)sizeof(head), 0) == SQLITE_OK &&
	    memcmp(head, magic, sizeof(magic)) != 0)
		return set_error(
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
		return sql_error(s, rc, "open");
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, PW_STORE_DEFAULT_BUSY_TIMEOUT_MS);

	r = check_schema(s);
	if (r < 0)
		return r;
	/* SQLite quietly falls back to read-only for a write-protected file:
	 * say so now rather than at the first batch. */
	if (!s->readonly && sqlite3_db_readonly(s->db, "main") == 1)
		return set_error(s, -EROFS,
				 "attempt to write a readonly database"
				 " (the file is not writable; portwatch needs write access)");
	/*
	 * A 16 MB page cache holds the port table of ~200,000 ports, so the
	 * batched last-seen updates do not re-read pages from the OS.
	 */
	r = exec(s, "PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384", "set up connection");
	if (r < 0 || s->readonly)
		return r;
	/*
	 * WAL: readers (sqlite3, the CLI) never block the writer and see
	 * only committed batches. synchronous=NORMAL: a commit does not
	 * fsync, the WAL checkpoint does; a crash of the process loses
	 * nothing committed, a power loss at most the last commits.
	 */
	r = exec(s, "PRAGMA journal_mode = WAL", "enable WAL");
	if (r == 0)
		r = exec(s, "PRAGMA synchronous = NORMAL", "set synchronous");
	if (r == 0)
		r = migrate(s);
	if (r == 0)
		r = query_int(s, "SELECT coalesce(max(id), 0) FROM runs", "read runs", &v);
	s->first_run_id = s->next_run_id = v + 1;
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

/* Queue every row of a job whose last_seen is newer in memory than on disk. */
static int mark_seen(struct pw_store *s, struct job *j)
{
	if (j->cap_dirty < j->n) {
		uint32_t *d = reallocarray(j->dirty, j->n, sizeof(*d));

		if (!d)
			return -ENOMEM;
		j->dirty = d;
		j->cap_dirty = j->n;
	}
	for (uint32_t i = 0; i < j->n; i++)
		if (j->e[i].last_seen != j->e[i].db_seen)
			mark_dirty(s, j, &j->e[i]);
	return 0;
}

static void mark_all_seen(struct pw_store *s)
{
	/* best effort: without memory, last_seen just stays behind */
	for (struct job *j = s->jobs; j; j = j->next)
		(void)mark_seen(s, j);
}

struct pw_store *pw_store_close(struct pw_store *s)
{
	if (!s)
		return NULL;
	pthread_mutex_lock(&s->lock);
	if (!s->readonly)
		mark_all_seen(s);
	pw_store_flush(s);
	for (int i = 0; i < _ST_MAX; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	while (s->jobs) {
		struct job *j = s->jobs;

		s->jobs = j->next;
		job_free(j);
	}
	while (s->runs) {
		struct run *r = s->runs;

		s->runs = r->next;
		free(r);
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
	return s->n_ev + s->n_dirty;
}

/* ------------------------------------------------------------ flush */

static int write_job(struct pw_store *s, struct job *j)
{
	sqlite3_stmt *st;
	int r;

	st = stmt(s, ST_INS_JOB, &r);
	if (!st)
		return r;
	sqlite3_bind_int64(st, 1, j->id);
	sqlite3_bind_text(st, 2, j->name, -1, SQLITE_STATIC);
	if (j->baseline_run_id)
		sqlite3_bind_int64(st, 3, j->baseline_run_id);
	sqlite3_bind_int64(st, 4, (int64_t)j->created);
	return step_done(s, st, "write job");
}

static int write_run(struct pw_store *s, struct run *run)
{
	sqlite3_stmt *st;
	int r;

	st = stmt(s, ST_INS_RUN, &r);
	if (!st)
		return r;
	sqlite3_bind_int64(st, 1, run->id);
	sqlite3_bind_int64(st, 2, run->job->id);
	sqlite3_bind_text(st, 3, pw_run_status_to_string(run->status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)run->started);
	if (run->status != PW_RUN_RUNNING)
		sqlite3_bind_int64(st, 5, (int64_t)run->ended);
	sqlite3_bind_int64(st, 6, (int64_t)run->updated);
	sqlite3_bind_int64(st, 7, (int64_t)run->probes);
	for (int i = 0; i < _PW_STATE_MAX; i++)
		sqlite3_bind_int64(st, 8 + i, (int64_t)run->n_state[i]);
	sqlite3_bind_int64(st, 12, (int64_t)run->n_changes);
	sqlite3_bind_int64(st, 13, (int64_t)run->n_flaps);
	return step_done(s, st, "write run");
}

static int write_event(struct pw_store *s, const struct pending_event *ev)
{
	char text[PW_ADDR_STRLEN];
	uint8_t blob[16];
	sqlite3_stmt *st;
	int r;

	st = stmt(s, ST_INS_EVENT, &r);
	if (!st)
		return r;
	pw_store_addr_to_blob(ev->hi, ev->lo, blob);
	pw_addr_format(pw_store_addr_join(ev->hi, ev->lo), text);
	sqlite3_bind_int64(st, 1, ev->run_id);
	sqlite3_bind_int64(st, 2, ev->job_id);
	sqlite3_bind_blob(st, 3, blob, sizeof(blob), SQLITE_STATIC);
	sqlite3_bind_int(st, 4, ev->port);
	sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, pw_change_kind_to_string(ev->kind), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, ev->major);
	if (ev->has_old)
		sqlite3_bind_text(st, 8, pw_state_to_string(ev->old_state), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, pw_state_to_string(ev->new_state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, (int64_t)ev->time);
	if (ev->rtt)
		sqlite3_bind_int64(st, 11, ev->rtt);
	if (pw_policy_is_violation(ev->verdict))
		sqlite3_bind_text(st, 12, pw_policy_verdict_to_string(ev->verdict), -1,
				  SQLITE_STATIC);
	return step_done(s, st, "write event");
}

static int write_entry(struct pw_store *s, const struct job *j, const struct entry *e)
{
	char text[PW_ADDR_STRLEN];
	uint8_t blob[16];
	sqlite3_stmt *st;
	int r;

	if (e->flags & E_IN_DB) {
		st = stmt(s, e->flags & E_STATE ? ST_UPD_PORT : ST_UPD_SEEN, &r);
		if (!st)
			return r;
		sqlite3_bind_int64(st, 1, e->id);
		if (e->flags & E_STATE) {
			sqlite3_bind_text(st, 4, pw_state_to_string(e->state), -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 6, (int64_t)e->last_change);
		}
		sqlite3_bind_int64(st, 5, (int64_t)e->last_seen);
		sqlite3_bind_int64(st, 7, e->run_id);
		if (e->rtt)
			sqlite3_bind_int64(st, 8, e->rtt);
		else
			sqlite3_bind_null(st, 8);
		return step_done(s, st, "update port state");
	}
	st = stmt(s, ST_INS_PORT, &r);
	if (!st)
		return r;
	pw_store_addr_to_blob(e->hi, e->lo, blob);
	pw_addr_format(pw_store_addr_join(e->hi, e->lo), text);
	sqlite3_bind_int64(st, 1, j->id);
	sqlite3_bind_blob(st, 2, blob, sizeof(blob), SQLITE_STATIC);
	sqlite3_bind_int(st, 3, e->port);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, pw_state_to_string(e->state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)e->first_seen);
	sqlite3_bind_int64(st, 7, (int64_t)e->last_seen);
	sqlite3_bind_int64(st, 8, (int64_t)e->last_change);
	sqlite3_bind_int64(st, 9, e->run_id);
	if (e->rtt)
		sqlite3_bind_int64(st, 10, e->rtt);
	sqlite3_bind_int64(st, 11, e->id);
	return step_done(s, st, "insert port state");
}

static int flush_all(struct pw_store *s)
{
	int r;

	for (struct job *j = s->jobs; j; j = j->next)
		if (j->job_dirty) {
			r = write_job(s, j);
			if (r < 0)
				return r;
		}
	for (struct run *run = s->runs; run; run = run->next)
		if (run->dirty) {
			r = write_run(s, run);
			if (r < 0)
				return r;
		}
	for (size_t i = 0; i < s->n_ev; i++) {
		r = write_event(s, &s->ev[i]);
		if (r < 0)
			return r;
	}
	for (struct job *j = s->jobs; j; j = j->next)
		for (uint32_t i = 0; i < j->n_dirty; i++) {
			r = write_entry(s, j, &j->e[j->dirty[i]]);
			if (r < 0)
				return r;
		}
	return 0;
}

/* The transaction committed: forget what it wrote. */
static void flush_done(struct pw_store *s)
{
	struct run **pp;

	for (struct job *j = s->jobs; j; j = j->next) {
		if (j->job_dirty) {
			j->job_dirty = false;
			j->in_db = true;
		}
		for (uint32_t i = 0; i < j->n_dirty; i++) {
			struct entry *e = &j->e[j->dirty[i]];

			e->flags = (uint8_t)((e->flags & ~(E_DIRTY | E_STATE)) | E_IN_DB);
			e->db_seen = e->last_seen;
		}
		j->n_dirty = 0;
	}
	for (pp = &s->runs; *pp;) {
		struct run *run = *pp;

		run->dirty = false;
		run->in_db = true;
		if (run->status != PW_RUN_RUNNING) {
			*pp = run->next;
			free(run);
		} else {
			pp = &run->next;
		}
	}
	s->n_ev = 0;
	s->n_dirty = 0;
}

bool pw_store_needs_flush(const struct pw_store *s)
{
	if (s->n_ev || s->n_dirty)
		return true;
	for (struct job *j = s->jobs; j; j = j->next)
		if (j->job_dirty)
			return true;
	for (struct run *run = s->runs; run; run = run->next)
		if (run->dirty)
			return true;
	return false;
}

int pw_store_flush(struct pw_store *s)
{
	LOCKED(s);
	int r;

	s->since_flush = 0;
	if (s->readonly || !pw_store_needs_flush(s))
		return 0;
	r = check_file(s);
	if (r < 0)
		return r;
	r = exec(s, "BEGIN IMMEDIATE", "begin batch");
	if (r < 0)
		return r;
	r = flush_all(s);
	if (r == 0)
		r = commit(s);
	if (r < 0) {
		rollback(s);
		return r;
	}
	flush_done(s);
	return 0;
}

/* ------------------------------------------------------------ runs */

static struct run *run_find(struct pw_store *s, int64_t id)
{
	for (struct run *run = s->runs; run; run = run->next)
		if (run->id == id)
			return run;
	return NULL;
}

int pw_store_run_begin(struct pw_store *s, const char *job, uint64_t now_usec, int64_t *ret_run_id)
{
	LOCKED(s);
	struct run *run;
	struct job *j;
	int r;

	if (!job || !*job)
		return -EINVAL;
	if (s->readonly)
		return set_error(s, -EROFS, "opened read-only");
	r = job_get(s, job, true, now_usec, &j);
	if (r < 0)
		return r;
	r = job_load(s, j);
	if (r < 0)
		return r;
	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	run->job = j;
	run->id = s->next_run_id++;
	run->status = PW_RUN_RUNNING;
	run->started = run->updated = now_usec;
	run->dirty = true;
	run->next = s->runs;
	s->runs = run;
	*ret_run_id = run->id;
	return 0;
}

int pw_store_run_skipped(struct pw_store *s, const char *job, uint64_t now_usec,
			 int64_t *ret_run_id)
{
	LOCKED(s);
	struct run *run;
	int64_t id;
	int r;

	r = pw_store_run_begin(s, job, now_usec, &id);
	if (r < 0)
		return r;
	/* Ended in memory at once; the row goes out with the next batch. */
	run = run_find(s, id);
	run->status = PW_RUN_SKIPPED;
	run->ended = now_usec;
	if (ret_run_id)
		*ret_run_id = id;
	return 0;
}

int pw_store_run_end(struct pw_store *s, int64_t run_id, enum pw_run_status status,
		     uint64_t now_usec)
{
	LOCKED(s);
	struct run *run = run_find(s, run_id);

	if (!run || run->status != PW_RUN_RUNNING)
		return set_error(s, -ESRCH, "no running run %" PRId64, run_id);
	if (status == PW_RUN_RUNNING || (unsigned)status >= _PW_RUN_STATUS_MAX)
		return -EINVAL;
	run->status = status;
	run->ended = now_usec;
	run->dirty = true;
	if (status == PW_RUN_COMPLETED && run->job->baseline_run_id == 0) {
		run->job->baseline_run_id = run->id;
		run->job->job_dirty = true;
	}
	return pw_store_flush(s);
}

int pw_store_recover_runs(struct pw_store *s)
{
	LOCKED(s);
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (s->readonly)
		return set_error(s, -EROFS, "opened read-only");
	rc = sqlite3_prepare_v2(s->db,
				"UPDATE runs SET status = 'aborted', ended_usec = updated_usec"
				" WHERE status = 'running' AND id < ?1",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, s->first_run_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	r = rc == SQLITE_DONE ? sqlite3_changes(s->db) : sql_error(s, rc, "close crashed runs");
	sqlite3_finalize(st);
	return r;
}

/* ------------------------------------------------------------ observations */

int pw_store_prior(struct pw_store *s, int64_t run_id, pw_u128 addr, uint16_t port,
		   struct pw_store_prior *ret)
{
	LOCKED(s);
	struct run *run = run_find(s, run_id);
	const struct entry *e;
	uint64_t hi, lo;

	if (!run || run->status != PW_RUN_RUNNING)
		return -ESRCH;
	pw_store_addr_split(addr, &hi, &lo);
	e = job_find(run->job, hi, lo, port);
	*ret = (struct pw_store_prior){
		.has_baseline = run->job->baseline_run_id != 0,
		.known = e != NULL,
		.state = e ? (enum pw_state)e->state : PW_STATE_OPEN,
	};
	return 0;
}

static bool obs_valid(const struct pw_store_obs *o)
{
	return (unsigned)o->state < _PW_STATE_MAX && (unsigned)o->change.kind < _PW_CHANGE_MAX &&
	       (unsigned)o->change.new_state < _PW_STATE_MAX &&
	       (unsigned)o->change.old_state < _PW_STATE_MAX &&
	       (unsigned)o->verdict < _PW_VERDICT_MAX;
}

/* Room for one more event, so that nothing after it can fail halfway. */
static int reserve_event(struct pw_store *s)
{
	if (s->n_ev >= s->max_pending)
		return set_error(s, -ENOBUFS,
				 "%zu events waiting to be written: change not recorded", s->n_ev);
	if (s->n_ev == s->cap_ev) {
		size_t cap = s->cap_ev ? s->cap_ev * 2 : 1024;
		struct pending_event *ev = reallocarray(s->ev, cap, sizeof(*ev));

		if (!ev)
			return -ENOMEM;
		s->ev = ev;
		s->cap_ev = cap;
	}
	return 0;
}

static void queue_event(struct pw_store *s, const struct run *run, uint64_t hi, uint64_t lo,
			const struct pw_store_obs *o)
{
	s->ev[s->n_ev++] = (struct pending_event){
		.hi = hi,
		.lo = lo,
		.run_id = run->id,
		.job_id = run->job->id,
		.time = o->time_usec,
		.rtt = o->rtt_usec,
		.port = o->port,
		.kind = (uint8_t)o->change.kind,
		.major = o->change.major,
		.has_old = o->change.has_old,
		.old_state = (uint8_t)o->change.old_state,
		.new_state = (uint8_t)o->change.new_state,
		.verdict = (uint8_t)o->verdict,
	};
}

/* The port's row: created at its first sighting, its state replaced by a change. */
static void update_entry(struct pw_store *s, struct run *run, struct entry *e,
			 const struct pw_store_obs *o)
{
	if (pw_change_updates_state(o->change.kind)) {
		e->state = (uint8_t)o->state;
		e->last_change = o->time_usec;
		e->flags |= E_STATE;
	}
	e->last_seen = o->time_usec;
	e->run_id = run->id;
	e->rtt = o->rtt_usec;
	/* unchanged: rewrite last_seen only now and then (see store.h) */
	if (o->change.kind != PW_CHANGE_NONE || o->time_usec - e->db_seen >= s->seen_interval)
		mark_dirty(s, run->job, e);
}

static void count_observation(struct run *run, const struct pw_store_obs *o)
{
	run->probes++;
	run->n_state[o->state]++;
	if (o->change.kind == PW_CHANGE_FLAP)
		run->n_flaps++;
	else if (pw_change_is_event(o->change.kind) && o->change.kind != PW_CHANGE_BASELINE)
		run->n_changes++;
	if (o->time_usec > run->updated)
		run->updated = o->time_usec;
	run->dirty = true;
}

int pw_store_record(struct pw_store *s, int64_t run_id, const struct pw_store_obs *obs)
{
	LOCKED(s);
	struct run *run = run_find(s, run_id);
	struct entry *e;
	uint64_t hi, lo;
	int r;

	if (s->readonly)
		return -EROFS;
	if (!run || run->status != PW_RUN_RUNNING)
		return -ESRCH;
	if (!obs_valid(obs))
		return -EINVAL;
	/* Grow the job's table before taking a pointer into it: growing moves
	 * the entries, and a known port's entry is used below. */
	r = job_reserve(run->job);
	if (r >= 0 && pw_change_is_event(obs->change.kind))
		r = reserve_event(s);
	if (r < 0)
		return r;
	pw_store_addr_split(obs->addr, &hi, &lo);
	e = job_find(run->job, hi, lo, obs->port);
	if (!e) {
		e = job_add(run->job, hi, lo, obs->port);
		e->id = s->next_port_id++;
		e->first_seen = obs->time_usec;
	}
	update_entry(s, run, e, obs);
	if (pw_change_is_event(obs->change.kind))
		queue_event(s, run, hi, lo, obs);
	count_observation(run, obs);
	if (++s->since_flush >= s->batch_size && pw_store_flush(s) < 0)
		return PW_STORE_DEFERRED;
	return 0;
}

int pw_store_job_unload(struct pw_store *s, const char *job)
{
	LOCKED(s);
	struct job *j;
	int r;

	if (!job)
		return -EINVAL;
	j = job_lookup(s, job);
	if (!j || !j->loaded)
		return 0;
	for (struct run *run = s->runs; run; run = run->next)
		if (run->job == j && run->status == PW_RUN_RUNNING)
			return set_error(s, -EBUSY, "job \"%s\" has a running run", job);
	if (!s->readonly) {
		r = mark_seen(s, j);
		if (r < 0)
			return r;
		r = pw_store_flush(s);
		if (r < 0)
			return r;
	}
	free(j->e);
	free(j->idx);
	free(j->dirty);
	j->e = NULL;
	j->idx = j->dirty = NULL;
	j->n = j->cap = j->idx_size = j->n_dirty = j->cap_dirty = 0;
	j->loaded = false;
	return 0;
}

int pw_store_get_state(struct pw_store *s, int64_t run_id, pw_u128 addr, uint16_t port,
		       enum pw_state *ret_state)
{
	LOCKED(s);
	struct run *run = run_find(s, run_id);
	struct entry *e;
	uint64_t hi, lo;

	if (!run)
		return -ESRCH;
	pw_store_addr_split(addr, &hi, &lo);
	e = job_find(run->job, hi, lo, port);
	if (!e)
		return -ENOENT;
	*ret_state = (enum pw_state)e->state;
	return 0;
}

static void port_from_entry(const struct entry *e, struct pw_store_port *p)
{
	*p = (struct pw_store_port){
		.addr = pw_store_addr_join(e->hi, e->lo),
		.port = e->port,
		.state = (enum pw_state)e->state,
		.first_seen_usec = e->first_seen,
		.last_seen_usec = e->last_seen,
		.last_change_usec = e->last_change,
	};
}

int pw_store_load_states(struct pw_store *s, const char *job, pw_store_port_cb_t cb, void *userdata)
{
	LOCKED(s);
	sqlite3_stmt *st = NULL;
	struct job *j;
	int rc, r;

	if (!job || !cb)
		return -EINVAL;
	r = job_get(s, job, false, 0, &j);
	if (r < 0 || !j)
		return r;
	if (j->loaded) {
		for (uint32_t i = 0; i < j->n; i++) {
			struct pw_store_port p;

			port_from_entry(&j->e[i], &p);
			r = cb(&p, userdata);
			if (r < 0)
				return r;
		}
		return 0;
	}
	/* not cached (the CLI): stream from the table, do not keep a copy */
	rc = sqlite3_prepare_v2(s->db, ports_select, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, j->id);
	while (r == 0 && (rc == SQLITE_OK || rc == SQLITE_ROW)) {
		struct pw_store_port p;
		struct entry e;

		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		r = entry_from_row(st, &e);
		if (r < 0) {
			set_error(s, r, "job \"%s\": malformed row in table ports", job);
			break;
		}
		port_from_entry(&e, &p);
		r = cb(&p, userdata);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sql_error(s, rc, "read port states");
	sqlite3_finalize(st);
	return r;
}

/* ------------------------------------------------------------ scheduler */

static int read_run(struct pw_store *s, const char *sql, int64_t job_id,
		    struct pw_store_run_info *ret)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	ret->run_id = 0;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, job_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int status = pw_run_status_from_string((const char *)sqlite3_column_text(st, 1));

		if (status < 0)
			r = set_error(s, -EBADMSG, "malformed status in table runs");
		else
			*ret = (struct pw_store_run_info){
				.run_id = sqlite3_column_int64(st, 0),
				.status = (enum pw_run_status)status,
				.started_usec = (uint64_t)sqlite3_column_int64(st, 2),
				.ended_usec = (uint64_t)sqlite3_column_int64(st, 3),
			};
	} else if (rc != SQLITE_DONE) {
		r = sql_error(s, rc, "read runs");
	}
	sqlite3_finalize(st);
	return r;
}

int pw_store_last_run(struct pw_store *s, const char *job, struct pw_store_run_info *ret_last,
		      struct pw_store_run_info *ret_last_completed)
{
	LOCKED(s);
	struct pw_store_run_info last = { 0 }, done = { 0 };
	struct job *j;
	int r;

	if (!job)
		return -EINVAL;
	r = job_get(s, job, false, 0, &j);
	if (r < 0)
		return r;
	if (!j)
		return -ENOENT;
	if (j->in_db) {
		r = read_run(s,
			     "SELECT id, status, started_usec, coalesce(ended_usec, 0) FROM runs"
			     " WHERE job_id = ?1 ORDER BY id DESC LIMIT 1",
			     j->id, &last);
		if (r == 0)
			r = read_run(s,
				     "SELECT id, status, started_usec, ended_usec FROM runs"
				     " WHERE job_id = ?1 AND status = 'completed'"
				     " ORDER BY id DESC LIMIT 1",
				     j->id, &done);
		if (r < 0)
			return r;
	}
	/* runs not written yet are newer than anything in the table */
	for (struct run *run = s->runs; run; run = run->next) {
		struct pw_store_run_info info = {
			.run_id = run->id,
			.status = run->status,
			.started_usec = run->started,
			.ended_usec = run->status == PW_RUN_RUNNING ? 0 : run->ended,
		};

		if (run->job != j)
			continue;
		if (run->id > last.run_id)
			last = info;
		if (run->status == PW_RUN_COMPLETED && run->id > done.run_id)
			done = info;
	}
	if (last.run_id == 0)
		return -ENOENT;
	*ret_last = last;
	if (ret_last_completed)
		*ret_last_completed = done;
	return 0;
}

/* ------------------------------------------------------------ rtt */

int pw_store_save_rtt(struct pw_store *s, const char *job, const struct pw_store_rtt *v, size_t n,
		      uint64_t now_usec)
{
	LOCKED(s);
	sqlite3_stmt *st = NULL;
	struct job *j;
	int rc, r;

	if (!job || !*job || (n && !v))
		return -EINVAL;
	if (s->readonly)
		return set_error(s, -EROFS, "opened read-only");
	r = job_get(s, job, true, now_usec, &j);
	if (r < 0)
		return r;
	/* the job row must exist first */
	r = pw_store_flush(s);
	if (r < 0)
		return r;
	r = exec(s, "BEGIN IMMEDIATE", "begin saving RTT");
	if (r < 0)
		return r;
	rc = sqlite3_prepare_v2(
		s->db,
		"INSERT INTO rtt (job_id, addr, address, srtt_usec, rttvar_usec,"
		" updated_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT (job_id, addr) DO UPDATE SET srtt_usec = excluded.srtt_usec,"
		" rttvar_usec = excluded.rttvar_usec, updated_usec = excluded.updated_usec",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		r = sql_error(s, rc, "save RTT");
	for (size_t i = 0; r == 0 && i < n; i++) {
		char text[PW_ADDR_STRLEN];
		uint8_t blob[16];
		uint64_t hi, lo;

		pw_store_addr_split(v[i].addr, &hi, &lo);
		pw_store_addr_to_blob(hi, lo, blob);
		sqlite3_bind_int64(st, 1, j->id);
		sqlite3_bind_blob(st, 2, blob, sizeof(blob), SQLITE_STATIC);
		sqlite3_bind_text(st, 3, pw_addr_format(v[i].addr, text), -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)v[i].srtt_usec);
		sqlite3_bind_int64(st, 5, (int64_t)v[i].rttvar_usec);
		sqlite3_bind_int64(st, 6, (int64_t)now_usec);
		r = step_done(s, st, "save RTT");
	}
	sqlite3_finalize(st);
	if (r == 0)
		r = commit(s);
	if (r < 0)
		rollback(s);
	return r;
}

int pw_store_load_rtt(struct pw_store *s, const char *job, pw_store_rtt_cb_t cb, void *userdata)
{
	LOCKED(s);
	sqlite3_stmt *st = NULL;
	struct job *j;
	int rc, r;

	if (!job || !cb)
		return -EINVAL;
	r = job_get(s, job, false, 0, &j);
	if (r < 0 || !j || !j->in_db)
		return r;
	rc = sqlite3_prepare_v2(s->db,
				"SELECT addr, srtt_usec, rttvar_usec FROM rtt WHERE job_id = ?1",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, j->id);
	while (r == 0 && (rc == SQLITE_OK || rc == SQLITE_ROW)) {
		struct pw_store_rtt v;
		uint64_t hi, lo;

		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		r = pw_store_addr_from_blob(sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0),
					    &hi, &lo);
		if (r < 0) {
			set_error(s, r, "job \"%s\": malformed row in table rtt", job);
			break;
		}
		v = (struct pw_store_rtt){
			.addr = pw_store_addr_join(hi, lo),
			.srtt_usec = (uint64_t)sqlite3_column_int64(st, 1),
			.rttvar_usec = (uint64_t)sqlite3_column_int64(st, 2),
		};
		r = cb(&v, userdata);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sql_error(s, rc, "read RTT");
	sqlite3_finalize(st);
	return r;
}

/* ------------------------------------------------------------ acknowledgement */

int pw_store_ack(struct pw_store *s, int64_t event_id, uint64_t now_usec, const char *by)
{
	LOCKED(s);
	sqlite3_stmt *st = NULL;
	int64_t exists = 0;
	int rc, r;

	if (s->readonly)
		return set_error(s, -EROFS, "opened read-only");
	if (event_id <= 0)
		return -EINVAL;
	/* An acknowledgement stays as first given: who saw it first, when. */
	rc = sqlite3_prepare_v2(s->db,
				"UPDATE events SET acked_usec = ?2, acked_by = ?3"
				" WHERE id = ?1 AND acked_usec IS NULL",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, event_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, (int64_t)now_usec);
	if (rc == SQLITE_OK)
		rc = by ? sqlite3_bind_text(st, 3, by, -1, SQLITE_STATIC) : SQLITE_OK;
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	r = rc == SQLITE_DONE ? sqlite3_changes(s->db) : sql_error(s, rc, "acknowledge event");
	sqlite3_finalize(st);
	if (r != 0)
		return r < 0 ? r : 0;
	st = NULL;
	rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM events WHERE id = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, event_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		exists = sqlite3_column_int64(st, 0);
	r = rc == SQLITE_ROW ? 0 : sql_error(s, rc, "read event");
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	if (!exists)
		return set_error(s, -ENOENT, "no event %" PRId64, event_id);
	return 1;
}

/* ------------------------------------------------------------ retention */

static int prune_step(struct pw_store *s, const char *sql, uint64_t cutoff, int64_t limit,
		      int *ret_n)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, (int64_t)cutoff);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, limit);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		*ret_n = sqlite3_changes(s->db);
	else
		r = sql_error(s, rc, "prune");
	sqlite3_finalize(st);
	return r;
}

int pw_store_prune(struct pw_store *s, uint64_t older_than_usec, unsigned max_rows)
{
	LOCKED(s);
	int n_events = 0, n_runs = 0, r;

	if (s->readonly)
		return set_error(s, -EROFS, "opened read-only");
	if (max_rows == 0 || max_rows > INT32_MAX)
		return -EINVAL;
	r = exec(s, "BEGIN IMMEDIATE", "begin pruning");
	if (r < 0)
		return r;
	r = prune_step(s,
		       "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_usec < ?1"
		       " ORDER BY time_usec LIMIT ?2)",
		       older_than_usec, max_rows, &n_events);
	if (r == 0 && (unsigned)n_events < max_rows)
		r = prune_step(s,
			       "DELETE FROM runs WHERE id IN (SELECT r.id FROM runs r"
			       " WHERE r.started_usec < ?1 AND r.status != 'running'"
			       " AND coalesce(r.ended_usec, r.updated_usec) < ?1"
			       " AND r.id NOT IN (SELECT max(id) FROM runs GROUP BY job_id)"
			       " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.run_id = r.id)"
			       " ORDER BY r.id LIMIT ?2)",
			       older_than_usec, (int64_t)max_rows - n_events, &n_runs);
	if (r == 0)
		r = commit(s);
	if (r < 0) {
		rollback(s);
		return r;
	}
	return n_events + n_runs;
}
