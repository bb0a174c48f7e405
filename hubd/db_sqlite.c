/*
 * db_sqlite.c - the task history in an SQLite file (hubd's default), so
 * results outlive a hub restart.  One row per task in table hubd_tasks:
 * a column per record key (JSON text for the dict-valued ones, ISO text
 * for dates, plain text otherwise), the fetched flag, a numeric copy of
 * submitted to sort on, the buffer byte counts, and the two buffer lists
 * as one blob each in our own length-prefixed encoding.  The table name
 * differs from ipyparallel's 'ipython-tasks', whose buffers are pickles,
 * so the two never read each other's rows in a shared tasks.db.
 *
 * The blobs are the last columns so that a scan which rejects a row never
 * reads the row's overflow pages.  Queries narrow by msg_id in SQL when
 * the query names ids; everything else is filtered in C with
 * db_query_match, the same code the memory backend uses.
 *
 * The caller groups writes with begin/commit; with WAL and
 * synchronous=NORMAL a commit costs no fsync, and a crash loses at most
 * the last batches, never the file.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "ipp.h"
#include "db.h"

enum kind { K_TEXT, K_DATE, K_JSON };

/* The JSON fields in column order; FIELD_COLS must list the same names. */
static const struct {
	const char	*name;
	enum kind	 kind;
} cols[] = {
	{ "msg_id", K_TEXT }, { "header", K_JSON }, { "metadata", K_JSON },
	{ "content", K_JSON }, { "submitted", K_DATE },
	{ "client_uuid", K_TEXT }, { "engine_uuid", K_TEXT },
	{ "started", K_DATE }, { "completed", K_DATE },
	{ "resubmitted", K_TEXT }, { "received", K_DATE },
	{ "result_header", K_JSON }, { "result_metadata", K_JSON },
	{ "result_content", K_JSON }, { "queue", K_TEXT },
	{ "execute_input", K_TEXT }, { "execute_result", K_JSON },
	{ "error", K_JSON }, { "stdout", K_TEXT }, { "stderr", K_TEXT },
};
#define NFIELD	((int)(sizeof(cols) / sizeof(cols[0])))

#define FIELD_COLS \
	"msg_id, header, metadata, content, submitted, client_uuid, " \
	"engine_uuid, started, completed, resubmitted, received, " \
	"result_header, result_metadata, result_content, queue, " \
	"execute_input, execute_result, error, stdout, stderr"

/*
 * Parameters of sql_insert and sql_update after the fields (?1..?20), and
 * columns of the SELECTs after the fields (0-based).
 */
#define B_FETCHED	(NFIELD + 1)
#define B_SUBMITTED_T	(NFIELD + 2)
#define B_NBYTES	(NFIELD + 3)
#define B_RNBYTES	(NFIELD + 4)
#define B_BUFS		(NFIELD + 5)
#define B_RBUFS		(NFIELD + 6)
#define C_FETCHED	NFIELD
#define C_NBYTES	(NFIELD + 1)
#define C_RNBYTES	(NFIELD + 2)
#define C_BUFS		(NFIELD + 3)
#define C_RBUFS		(NFIELD + 4)
#define ROW_COLS	FIELD_COLS ", fetched, nbytes, rnbytes, buffers, result_buffers"

static const char sql_pragmas[] =
	"PRAGMA journal_mode = WAL;"
	"PRAGMA synchronous = NORMAL;";

static const char sql_schema[] =
	"CREATE TABLE IF NOT EXISTS hubd_tasks ("
	" msg_id TEXT PRIMARY KEY NOT NULL,"
	" header TEXT, metadata TEXT, content TEXT, submitted TEXT,"
	" client_uuid TEXT, engine_uuid TEXT, started TEXT, completed TEXT,"
	" resubmitted TEXT, received TEXT, result_header TEXT,"
	" result_metadata TEXT, result_content TEXT, queue TEXT,"
	" execute_input TEXT, execute_result TEXT, error TEXT, stdout TEXT,"
	" stderr TEXT,"
	" fetched INTEGER NOT NULL DEFAULT 0,"
	" submitted_t REAL,"
	" nbytes INTEGER NOT NULL DEFAULT 0,"
	" rnbytes INTEGER NOT NULL DEFAULT 0,"
	" buffers BLOB, result_buffers BLOB);"
	"CREATE INDEX IF NOT EXISTS hubd_tasks_submitted"
	" ON hubd_tasks (submitted_t);"
	/* Only what cull() may drop, so a store full of pending tasks is
	 * not rescanned on every cull. */
	"CREATE INDEX IF NOT EXISTS hubd_tasks_cullable"
	" ON hubd_tasks (submitted_t) WHERE completed IS NOT NULL AND fetched;";

static const char sql_insert[] =
	"INSERT OR REPLACE INTO hubd_tasks (" FIELD_COLS ", fetched,"
	" submitted_t, nbytes, rnbytes, buffers, result_buffers)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
	" ?, ?, ?, ?, ?, ?)";

/*
 * update() merges in C and writes every field back: one fixed statement
 * instead of SQL built per call.  The request buffers never change; the
 * result buffers only when ?24 (their size) is bound.
 */
static const char sql_update[] =
	"UPDATE hubd_tasks SET header = ?2, metadata = ?3, content = ?4,"
	" submitted = ?5, client_uuid = ?6, engine_uuid = ?7, started = ?8,"
	" completed = ?9, resubmitted = ?10, received = ?11,"
	" result_header = ?12, result_metadata = ?13, result_content = ?14,"
	" queue = ?15, execute_input = ?16, execute_result = ?17, error = ?18,"
	" stdout = ?19, stderr = ?20, fetched = ?21, submitted_t = ?22,"
	" rnbytes = coalesce(?24, rnbytes),"
	" result_buffers = CASE WHEN ?24 IS NULL THEN result_buffers"
	"  ELSE ?26 END"
	" WHERE msg_id = ?1";

static const char sql_get[] =
	"SELECT " ROW_COLS " FROM hubd_tasks WHERE msg_id = ?1";

static const char sql_delete[] =
	"DELETE FROM hubd_tasks WHERE msg_id = ?1";

/* NULL submitted sorts first; rowid keeps arrival order among equals. */
static const char sql_scan[] =
	"SELECT " ROW_COLS " FROM hubd_tasks ORDER BY submitted_t, rowid";

static const char sql_scan_ids[] =
	"SELECT " ROW_COLS " FROM hubd_tasks WHERE msg_id IN (SELECT value FROM json_each(?1))"
	" ORDER BY submitted_t, rowid";

static const char sql_cullable[] =
	"SELECT nbytes + rnbytes FROM hubd_tasks"
	" WHERE completed IS NOT NULL AND fetched"
	" ORDER BY submitted_t, rowid";

static const char sql_cull[] =
	"DELETE FROM hubd_tasks WHERE rowid IN (SELECT rowid FROM hubd_tasks"
	" WHERE completed IS NOT NULL AND fetched"
	" ORDER BY submitted_t, rowid LIMIT ?1)";

static const char sql_totals[] =
	"SELECT count(*), total(nbytes + rnbytes) FROM hubd_tasks";

static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";

enum {
	S_INSERT, S_UPDATE, S_GET, S_DELETE, S_SCAN, S_SCAN_IDS,
	S_CULLABLE, S_CULL, S_TOTALS, S_BEGIN, S_COMMIT, S_ROLLBACK, S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_INSERT] = sql_insert,	[S_UPDATE] = sql_update,
	[S_GET] = sql_get,		[S_DELETE] = sql_delete,
	[S_SCAN] = sql_scan,		[S_SCAN_IDS] = sql_scan_ids,
	[S_CULLABLE] = sql_cullable,	[S_CULL] = sql_cull,
	[S_TOTALS] = sql_totals,	[S_BEGIN] = sql_begin,
	[S_COMMIT] = sql_commit,	[S_ROLLBACK] = sql_rollback,
};

struct sqldb {
	sqlite3		*db;
	sqlite3_stmt	*st[S_COUNT];
	long		 nrec;		/* kept in step with the table */
	long long	 bytes;
	long		 record_limit;
	long long	 size_limit;
	int		 busy;		/* inside a find() callback */
};

static int
fail(int err, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(int err, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	errno = err;
	return -1;
}

static const struct {
	int	rc;
	int	err;
} rc_errno[] = {
	{ SQLITE_BUSY, EBUSY }, { SQLITE_LOCKED, EBUSY },
	{ SQLITE_NOMEM, ENOMEM }, { SQLITE_READONLY, EROFS },
	{ SQLITE_PERM, EACCES }, { SQLITE_AUTH, EACCES },
	{ SQLITE_FULL, ENOSPC }, { SQLITE_TOOBIG, E2BIG },
	{ SQLITE_CONSTRAINT, EEXIST }, { SQLITE_MISUSE, EINVAL },
	{ SQLITE_RANGE, EINVAL }, { SQLITE_INTERRUPT, EINTR },
};

static int
sql_errno(sqlite3 *db, int rc)
{
	size_t i;

	for (i = 0; i < sizeof(rc_errno) / sizeof(rc_errno[0]); i++)
		if ((rc & 0xff) == rc_errno[i].rc)
			return rc_errno[i].err;
	/* For I/O and open errors the OS said why; that beats EIO. */
	if (db != NULL && sqlite3_system_errno(db) != 0 &&
	    ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN))
		return sqlite3_system_errno(db);
	return EIO;
}

/*
 * Report an SQLite failure of `what`, then reset the statement (if any)
 * so it is ready for the next call.  The message is taken before the
 * reset, which may replace it.
 */
static int
sqlfail(struct sqldb *s, sqlite3_stmt *st, int rc, const char *what,
    char *why, size_t whylen)
{
	int err = sql_errno(s->db, rc);

	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "sqlite: %s: %s (code %d)", what,
		    sqlite3_errmsg(s->db), sqlite3_extended_errcode(s->db));
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	errno = err;
	return -1;
}

/* Statements borrow the caller's strings (SQLITE_STATIC): drop the
 * bindings as soon as a statement is done with them. */
static void
done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int
load_totals(struct sqldb *s, char *why, size_t whylen)
{
	sqlite3_stmt *st = s->st[S_TOTALS];
	int rc;

	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return sqlfail(s, st, rc, "counting records", why, whylen);
	s->nrec = sqlite3_column_int64(st, 0);
	s->bytes = (long long)sqlite3_column_double(st, 1);
	done(st);
	return 0;
}

/*
 * A buffer list on disk: each buffer as an 8-byte little-endian length
 * and its bytes.  An empty list is stored as NULL.
 */
static unsigned char *
bufs_encode(const struct db_bufs *b, size_t *lenp)
{
	unsigned char *p, *q;
	size_t n = 0, len;
	int i, j;

	for (i = 0; i < b->n; i++) {
		if (b->v[i].len > SIZE_MAX - n - 8) {
			errno = E2BIG;
			return NULL;
		}
		n += 8 + b->v[i].len;
	}
	if ((p = malloc(n)) == NULL)
		return NULL;
	for (q = p, i = 0; i < b->n; q += len, i++) {
		for (len = b->v[i].len, j = 0; j < 8; j++)
			*q++ = (uint64_t)len >> (8 * j) & 0xff;
		memcpy(q, b->v[i].data, len);
	}
	*lenp = n;
	return p;
}

static int
bufs_decode(const unsigned char *p, size_t n, struct db_bufs *out)
{
	struct db_bufs tmp = { NULL, 0 };
	uint64_t len;
	int j;

	for (; n > 0; p += len, n -= len) {
		if (n < 8)
			goto corrupt;
		for (len = 0, j = 7; j >= 0; j--)
			len = len << 8 | p[j];
		p += 8;
		n -= 8;
		if (len > n)
			goto corrupt;
		if (db_bufs_add(&tmp, p, len) == -1) {
			db_bufs_release(&tmp);
			return -1;
		}
	}
	*out = tmp;
	return 0;
corrupt:
	db_bufs_release(&tmp);
	errno = EBADMSG;
	return -1;
}

static int
bind_bufs(sqlite3_stmt *st, int at, const struct db_bufs *b)
{
	unsigned char *blob;
	size_t len;

	if (b->n == 0)
		return sqlite3_bind_null(st, at);
	if ((blob = bufs_encode(b, &len)) == NULL)
		return errno == E2BIG ? SQLITE_TOOBIG : SQLITE_NOMEM;
	/* SQLite frees the blob, also when the bind fails. */
	return sqlite3_bind_blob64(st, at, blob, len, free);
}

static int
bind_field(sqlite3_stmt *st, int at, enum kind kind, const json_t *v)
{
	char *text;

	if (v == NULL || json_is_null(v))
		return sqlite3_bind_null(st, at);
	if (kind != K_JSON)
		return sqlite3_bind_text64(st, at, json_string_value(v),
		    json_string_length(v), SQLITE_STATIC, SQLITE_UTF8);
	if ((text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) == NULL)
		return SQLITE_NOMEM;
	return sqlite3_bind_text64(st, at, text, strlen(text), free,
	    SQLITE_UTF8);
}

/*
 * Bind a whole row for sql_insert or sql_update.  bufs and rbufs, when
 * NULL, are left unbound: sql_update then keeps what is stored.
 */
static int
bind_row(sqlite3_stmt *st, const json_t *fields, int fetched,
    const struct db_bufs *bufs, const struct db_bufs *rbufs)
{
	const json_t *sub = json_object_get(fields, "submitted");
	int rc = SQLITE_OK, i;

	for (i = 0; i < NFIELD && rc == SQLITE_OK; i++)
		rc = bind_field(st, i + 1, cols[i].kind,
		    json_object_get(fields, cols[i].name));
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, B_FETCHED, fetched != 0);
	if (rc == SQLITE_OK && json_is_string(sub))
		rc = sqlite3_bind_double(st, B_SUBMITTED_T,
		    ipp_iso_parse(json_string_value(sub)));
	if (rc == SQLITE_OK && bufs != NULL &&
	    (rc = sqlite3_bind_int64(st, B_NBYTES, db_bufs_size(bufs))) ==
	    SQLITE_OK)
		rc = bind_bufs(st, B_BUFS, bufs);
	if (rc == SQLITE_OK && rbufs != NULL &&
	    (rc = sqlite3_bind_int64(st, B_RNBYTES, db_bufs_size(rbufs))) ==
	    SQLITE_OK)
		rc = bind_bufs(st, B_RBUFS, rbufs);
	return rc;
}

/* Read the JSON fields of the current row of st into a new object. */
static json_t *
row_fields(sqlite3_stmt *st)
{
	json_t *f, *v;
	const char *text;
	size_t len;
	int i;

	if ((f = json_object()) == NULL)
		return NULL;
	for (i = 0; i < NFIELD; i++) {
		if (sqlite3_column_type(st, i) == SQLITE_NULL)
			v = json_null();
		else {
			text = (const char *)sqlite3_column_text(st, i);
			len = sqlite3_column_bytes(st, i);
			if (text == NULL)
				goto fail;
			v = cols[i].kind == K_JSON ? json_loadb(text, len,
			    JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) :
			    json_stringn(text, len);
			if (v == NULL) {
				json_decref(f);
				errno = EBADMSG;
				return NULL;
			}
		}
		if (json_object_set_new(f, cols[i].name, v) == -1)
			goto fail;
	}
	return f;
fail:
	json_decref(f);
	errno = ENOMEM;
	return NULL;
}

/* Complete a record from the current row of st; takes fields_new. */
static int
row_record(sqlite3_stmt *st, json_t *fields_new, struct db_record *out)
{
	struct db_record r;
	int i, err;

	db_record_init(&r);
	r.fields = fields_new;
	r.fetched = sqlite3_column_int(st, C_FETCHED) != 0;
	for (i = C_BUFS; i <= C_RBUFS; i++) {
		const unsigned char *p = sqlite3_column_blob(st, i);
		size_t n = sqlite3_column_bytes(st, i);

		if (p == NULL && n != 0)
			errno = ENOMEM;
		if ((p == NULL && n != 0) || bufs_decode(p, n, i == C_BUFS ?
		    &r.buffers : &r.result_buffers) == -1) {
			err = errno;
			db_record_release(&r);
			errno = err;
			return -1;
		}
	}
	*out = r;
	return 0;
}

static int
rowfail(struct sqldb *s, sqlite3_stmt *st, const char *msg_id, char *why,
    size_t whylen)
{
	int err = errno;

	done(st);
	return fail(err, why, whylen, "reading record '%s': %s", msg_id,
	    err == EBADMSG ? "corrupt row" : strerror(err));
}

/* Same rules as db_memory.c: only what the columns can hold faithfully. */
static int
check_fields(const json_t *fields, const char *id, char *why, size_t whylen)
{
	const char *key;
	json_t *v;
	int i;

	if (!json_is_object(fields))
		return fail(EINVAL, why, whylen, "record fields must be an "
		    "object");
	if (id == NULL && !json_is_string(json_object_get(fields, "msg_id")))
		return fail(EINVAL, why, whylen, "record has no msg_id");
	json_object_foreach((json_t *)fields, key, v) {
		for (i = 0; i < NFIELD; i++)
			if (strcmp(key, cols[i].name) == 0)
				break;
		if (i == NFIELD)
			return fail(EINVAL, why, whylen, "unknown record key "
			    "'%s'", key);
		if (json_is_null(v) || cols[i].kind == K_JSON)
			continue;
		if (!json_is_string(v))
			return fail(EINVAL, why, whylen, "%s: not a string",
			    key);
		if (cols[i].kind == K_DATE &&
		    ipp_iso_parse(json_string_value(v)) == -1)
			return fail(EINVAL, why, whylen, "%s: not an ISO-8601 "
			    "date", key);
	}
	if (id != NULL && (v = json_object_get(fields, "msg_id")) != NULL &&
	    (!json_is_string(v) || strcmp(json_string_value(v), id) != 0))
		return fail(EINVAL, why, whylen, "update cannot change msg_id "
		    "of '%s'", id);
	return 0;
}

/*
 * Step S_GET onto msg_id's row: 1 there (the caller reads, then calls
 * done()), 0 absent, -1 error.  Reading only the columns before the
 * blobs never loads the buffers.
 */
static int
seek(struct sqldb *s, const char *msg_id, char *why, size_t whylen)
{
	sqlite3_stmt *st = s->st[S_GET];
	int rc;

	sqlite3_bind_text(st, 1, msg_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		return sqlfail(s, st, rc, "looking up msg_id", why, whylen);
	done(st);
	return 0;
}

/* Buffer bytes stored for msg_id: 1 found, 0 absent, -1 error. */
static int
sizes(struct sqldb *s, const char *msg_id, long long *nb, long long *rnb,
    char *why, size_t whylen)
{
	int found;

	if ((found = seek(s, msg_id, why, whylen)) == 1) {
		*nb = sqlite3_column_int64(s->st[S_GET], C_NBYTES);
		*rnb = sqlite3_column_int64(s->st[S_GET], C_RNBYTES);
		done(s->st[S_GET]);
	}
	return found;
}

static void sq_close(void *);

static void *
sq_open(const struct db_config *cfg, char *why, size_t whylen)
{
	struct sqldb *s;
	int rc, i;

	if (cfg == NULL || cfg->path == NULL) {
		fail(EINVAL, why, whylen, "sqlite backend needs a file path");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		fail(ENOMEM, why, whylen, "out of memory");
		return NULL;
	}
	s->record_limit = cfg->record_limit;
	s->size_limit = cfg->size_limit;
	rc = sqlite3_open_v2(cfg->path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		sqlfail(s, NULL, rc, cfg->path, why, whylen);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* Only our thread writes, but an admin's sqlite3 shell may read. */
	sqlite3_busy_timeout(s->db, 5000);
	if ((rc = sqlite3_exec(s->db, sql_pragmas, NULL, NULL, NULL)) !=
	    SQLITE_OK ||
	    (rc = sqlite3_exec(s->db, sql_schema, NULL, NULL, NULL)) !=
	    SQLITE_OK) {
		sqlfail(s, NULL, rc, "creating schema", why, whylen);
		goto fail;
	}
	for (i = 0; i < S_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK) {
			sqlfail(s, NULL, rc, "preparing statement", why,
			    whylen);
			goto fail;
		}
	}
	/* FIELD_COLS and cols[] are kept by hand: catch any drift here
	 * rather than as records with shuffled keys. */
	for (i = 0; i < NFIELD; i++)
		if (strcmp(sqlite3_column_name(s->st[S_GET], i),
		    cols[i].name) != 0)
			break;
	if (i < NFIELD) {
		fail(EINVAL, why, whylen, "sqlite: column %d is not '%s'", i,
		    cols[i].name);
		goto fail;
	}
	if (load_totals(s, why, whylen) == -1)
		goto fail;
	return s;
fail:
	i = errno;
	sq_close(s);
	errno = i;
	return NULL;
}

static void
sq_close(void *h)
{
	struct sqldb *s = h;
	int i;

	if (s == NULL)
		return;
	/* An open batch is kept, as when the caller had committed it. */
	if (s->db != NULL && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, sql_commit, NULL, NULL, NULL);
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

static int
sq_put(void *h, const struct db_record *rec, char *why, size_t whylen)
{
	struct sqldb *s = h;
	sqlite3_stmt *st = s->st[S_INSERT];
	long long oldb = 0, oldr = 0;
	const char *id;
	int found, rc;

	if (s->busy)
		return fail(EBUSY, why, whylen, "put during find");
	if (check_fields(rec->fields, NULL, why, whylen) == -1)
		return -1;
	id = json_string_value(json_object_get(rec->fields, "msg_id"));
	if ((found = sizes(s, id, &oldb, &oldr, why, whylen)) == -1)
		return -1;
	rc = bind_row(st, rec->fields, rec->fetched, &rec->buffers,
	    &rec->result_buffers);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return sqlfail(s, st, rc, "storing record", why, whylen);
	done(st);
	if (!found)
		s->nrec++;
	s->bytes += db_bufs_size(&rec->buffers) +
	    db_bufs_size(&rec->result_buffers) - oldb - oldr;
	return 0;
}

static int
sq_update(void *h, const char *msg_id, const json_t *fields,
    const struct db_bufs *rbufs, int fetched, char *why, size_t whylen)
{
	struct sqldb *s = h;
	sqlite3_stmt *st = s->st[S_UPDATE];
	long long oldr;
	json_t *merged;
	int found, oldf, rc;

	if (s->busy)
		return fail(EBUSY, why, whylen, "update during find");
	if (fields != NULL && check_fields(fields, msg_id, why, whylen) == -1)
		return -1;
	if ((found = seek(s, msg_id, why, whylen)) != 1)
		return found == -1 ? -1 : fail(ENOENT, why, whylen,
		    "no such msg_id '%s'", msg_id);
	if ((merged = row_fields(s->st[S_GET])) == NULL)
		return rowfail(s, s->st[S_GET], msg_id, why, whylen);
	oldf = sqlite3_column_int(s->st[S_GET], C_FETCHED);
	oldr = sqlite3_column_int64(s->st[S_GET], C_RNBYTES);
	done(s->st[S_GET]);
	if (fields != NULL && json_object_update(merged, (json_t *)fields) ==
	    -1) {
		json_decref(merged);
		return fail(ENOMEM, why, whylen, "out of memory updating "
		    "'%s'", msg_id);
	}
	rc = bind_row(st, merged, fetched >= 0 ? fetched : oldf, NULL, rbufs);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	json_decref(merged);
	if (rc != SQLITE_DONE)
		return sqlfail(s, st, rc, "updating record", why, whylen);
	done(st);
	if (rbufs != NULL)
		s->bytes += db_bufs_size(rbufs) - oldr;
	return 0;
}

static int
sq_get(void *h, const char *msg_id, struct db_record *out, char *why,
    size_t whylen)
{
	struct sqldb *s = h;
	sqlite3_stmt *st = s->st[S_GET];
	json_t *f;
	int found;

	if ((found = seek(s, msg_id, why, whylen)) != 1)
		return found == -1 ? -1 : fail(ENOENT, why, whylen,
		    "no such msg_id '%s'", msg_id);
	if ((f = row_fields(st)) == NULL || row_record(st, f, out) == -1)
		return rowfail(s, st, msg_id, why, whylen);
	done(st);
	return 0;
}

/*
 * The ids a query is limited to, as a JSON array for json_each(), or NULL
 * when it names none: {"msg_id": id}, {"msg_id": {"$eq": id}} and
 * {"msg_id": {"$in": [...]}} are what the hub itself sends.
 */
static char *
query_ids(const json_t *query)
{
	const json_t *c = json_object_get(query, "msg_id"), *a;
	json_t *list;
	char *text;

	if (json_is_string(c))
		a = c;
	else if (json_is_array(a = json_object_get(c, "$in")))
		return json_dumps(a, JSON_COMPACT);
	else if (!json_is_string(a = json_object_get(c, "$eq")))
		return NULL;
	if ((list = json_pack("[O]", a)) == NULL)
		return NULL;
	text = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	return text;
}

static int
sq_find(void *h, const json_t *query, db_iter_fn fn, void *arg, char *why,
    size_t whylen)
{
	struct sqldb *s = h;
	sqlite3_stmt *st;
	struct db_record r;
	json_t *f;
	char *ids;
	int rc, m;

	if (s->busy)
		return fail(EBUSY, why, whylen, "find during find");
	if (db_query_check(query, why, whylen) == -1)
		return -1;
	if ((ids = query_ids(query)) != NULL) {
		st = s->st[S_SCAN_IDS];
		rc = sqlite3_bind_text(st, 1, ids, -1, free);
	} else {
		st = s->st[S_SCAN];
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		return sqlfail(s, st, rc, "binding query", why, whylen);
	s->busy = 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((f = row_fields(st)) == NULL)
			break;
		if (db_query_match(query, f, NULL, 0) != 1) {
			json_decref(f);
			continue;
		}
		if (row_record(st, f, &r) == -1)
			break;
		m = fn(arg, &r);
		db_record_release(&r);
		if (m != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	s->busy = 0;
	if (rc == SQLITE_ROW)
		return rowfail(s, st, "", why, whylen);
	if (rc != SQLITE_DONE)
		return sqlfail(s, st, rc, "scanning records", why, whylen);
	done(st);
	return 0;
}

static int
sq_drop(void *h, const char *msg_id, char *why, size_t whylen)
{
	struct sqldb *s = h;
	sqlite3_stmt *st = s->st[S_DELETE];
	long long nb, rnb;
	int found, rc;

	if (s->busy)
		return fail(EBUSY, why, whylen, "drop during find");
	if ((found = sizes(s, msg_id, &nb, &rnb, why, whylen)) == -1)
		return -1;
	if (!found)
		return fail(ENOENT, why, whylen, "no such msg_id '%s'",
		    msg_id);
	sqlite3_bind_text(st, 1, msg_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return sqlfail(s, st, rc, "dropping record", why, whylen);
	done(st);
	s->nrec--;
	s->bytes -= nb + rnb;
	return 0;
}

static int
sq_begin(void *h)
{
	struct sqldb *s = h;
	int rc;

	if ((rc = sqlite3_step(s->st[S_BEGIN])) != SQLITE_DONE)
		return sqlfail(s, s->st[S_BEGIN], rc, "begin", NULL, 0);
	done(s->st[S_BEGIN]);
	return 0;
}

/*
 * A failed COMMIT is rolled back rather than left open: the batch is
 * lost either way, and an open transaction would swallow every later
 * write.  SQLite may also have rolled the batch back by itself after an
 * I/O error inside it (then COMMIT finds no transaction).  Either way
 * the totals are reloaded from what the table holds.
 */
static int
sq_commit(void *h)
{
	struct sqldb *s = h;
	int rc, err;

	if ((rc = sqlite3_step(s->st[S_COMMIT])) == SQLITE_DONE) {
		done(s->st[S_COMMIT]);
		return 0;
	}
	sqlfail(s, s->st[S_COMMIT], rc, "commit", NULL, 0);
	err = errno;
	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_step(s->st[S_ROLLBACK]);
		done(s->st[S_ROLLBACK]);
	}
	load_totals(s, NULL, 0);
	errno = err;
	return -1;
}

/*
 * As db_memory.c: drop the oldest completed and delivered records until
 * ~10% under each exceeded limit.  The rows to drop are counted first,
 * then removed by one DELETE, so a failure removes nothing.
 */
static long
sq_cull(void *h)
{
	struct sqldb *s = h;
	sqlite3_stmt *st = s->st[S_CULLABLE];
	long target_n = LONG_MAX, n = s->nrec, k = 0;
	long long target_b = LLONG_MAX, b = s->bytes;
	int rc = SQLITE_ROW;

	if (s->busy) {
		errno = EBUSY;
		return -1;
	}
	if (s->record_limit > 0 && s->nrec > s->record_limit)
		target_n = s->record_limit - s->record_limit / 10;
	if (s->size_limit > 0 && s->bytes > s->size_limit)
		target_b = s->size_limit - s->size_limit / 10;
	if (target_n == LONG_MAX && target_b == LLONG_MAX)
		return 0;
	while ((n > target_n || b > target_b) &&
	    (rc = sqlite3_step(st)) == SQLITE_ROW) {
		b -= sqlite3_column_int64(st, 0);
		n--;
		k++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sqlfail(s, st, rc, "finding records to cull", NULL, 0);
	done(st);
	if (k == 0)
		return 0;
	st = s->st[S_CULL];
	sqlite3_bind_int64(st, 1, k);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return sqlfail(s, st, rc, "culling", NULL, 0);
	done(st);
	s->nrec = n;
	s->bytes = b;
	return k;
}

static void
sq_stats(void *h, long *records, long long *bytes)
{
	struct sqldb *s = h;

	if (records != NULL)
		*records = s->nrec;
	if (bytes != NULL)
		*bytes = s->bytes;
}

const struct db_ops db_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.put = sq_put,
	.update = sq_update,
	.get = sq_get,
	.find = sq_find,
	.drop = sq_drop,
	.begin = sq_begin,
	.commit = sq_commit,
	.cull = sq_cull,
	.stats = sq_stats,
};
