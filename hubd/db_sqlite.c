/*
 * db_sqlite.c - the task history in an SQLite file (hubd's default), so
 * results outlive a hub restart.  Table hubd_tasks has a column per record
 * key (JSON text for dicts, ISO text for dates, else plain text), the
 * fetched flag, submitted as a number to sort on, buffer byte counts, and
 * each buffer list as one blob in our own length-prefixed encoding.  The
 * name differs from ipyparallel's 'ipython-tasks' (pickled buffers), so
 * the two stay apart in a shared tasks.db.  Another name
 * (SQLiteDB.table) replaces it, and the prefix of the index names, in
 * every statement when the database is opened.
 *
 * The blobs are the last columns, so a scan that rejects a row never
 * reads the row's overflow pages.  Queries naming msg_ids are narrowed in
 * SQL; all filtering is db_query_match, as in the memory backend.  The
 * caller batches writes with begin/commit; with WAL and synchronous=NORMAL
 * a commit costs no fsync and a crash loses at most the last batches.
 * The SQL text itself is in db_sqlite_sql.c (db_sqlite.h joins the two).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "ipp.h"
#include "db.h"
#include "db_sqlite.h"

enum kind { K_TEXT, K_DATE, K_JSON };

/* The JSON fields in column order; FIELD_COLS (db_sqlite_sql.c) must
 * list the same names. */
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

/* Parameters of sql_insert/sql_update after the fields (?1..?20)... */
enum {
	B_FETCHED = NFIELD + 1, B_SUBMITTED_T, B_NBYTES, B_RNBYTES, B_BUFS,
	B_RBUFS
};
/* ... and columns of ROW_COLS after the fields (0-based). */
enum { C_FETCHED = NFIELD, C_NBYTES, C_RNBYTES, C_BUFS, C_RBUFS };

static const struct {
	int	rc, err;
} rc_errno[] = {
	{ SQLITE_BUSY, EBUSY }, { SQLITE_LOCKED, EBUSY },
	{ SQLITE_NOMEM, ENOMEM }, { SQLITE_READONLY, EROFS },
	{ SQLITE_PERM, EACCES }, { SQLITE_FULL, ENOSPC },
	{ SQLITE_TOOBIG, E2BIG }, { SQLITE_RANGE, EINVAL },
	{ SQLITE_CORRUPT, EBADMSG }, { SQLITE_NOTADB, EBADMSG },
};

struct sqldb {
	sqlite3		*db;
	sqlite3_stmt	*st[S_COUNT];
	struct db_usage	 use;		/* kept in step with the table */
	int		 busy;		/* inside a find() callback */
};

/* Statements borrow the caller's strings (SQLITE_STATIC): drop the
 * bindings as soon as a statement is done with them. */
static void
done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Report a failure of `what` and reset st (if any) for its next use; the
 * message is read first, as the reset may replace it. */
static int
sqlfail(struct sqldb *s, sqlite3_stmt *st, int rc, const char *what,
    char *why, size_t whylen)
{
	int err = EIO;
	size_t i;

	for (i = 0; i < sizeof(rc_errno) / sizeof(rc_errno[0]); i++)
		if ((rc & 0xff) == rc_errno[i].rc)
			err = rc_errno[i].err;
	/* For I/O and open errors the OS said why; that beats EIO. */
	if (((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN) &&
	    sqlite3_system_errno(s->db) != 0)
		err = sqlite3_system_errno(s->db);
	/* rc may be ours (a failed encoding), not the handle's last error;
	 * a damaged file is named, as the fix is to move it aside. */
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "sqlite: %s: %s (code %d)%s%s%s", what,
		    (sqlite3_errcode(s->db) & 0xff) == (rc & 0xff) ?
		    sqlite3_errmsg(s->db) : sqlite3_errstr(rc), rc,
		    err == EBADMSG ? " in '" : "", err == EBADMSG ?
		    sqlite3_db_filename(s->db, "main") : "",
		    err == EBADMSG ? "'" : "");
	if (st != NULL)
		done(st);
	errno = err;
	return -1;
}

/* Step a statement that returns no rows; bound is the binding's result. */
static int
run(struct sqldb *s, sqlite3_stmt *st, int bound, const char *what,
    char *why, size_t whylen)
{
	if (bound == SQLITE_OK && (bound = sqlite3_step(st)) == SQLITE_DONE)
		bound = SQLITE_OK;
	if (bound != SQLITE_OK)
		return sqlfail(s, st, bound, what, why, whylen);
	done(st);
	return 0;
}

static int
load_totals(struct sqldb *s, char *why, size_t whylen)
{
	sqlite3_stmt *st = s->st[S_TOTALS];
	int rc;

	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return sqlfail(s, st, rc, "counting records", why, whylen);
	s->use.nrec = sqlite3_column_int64(st, 0);
	s->use.bytes = (long long)sqlite3_column_double(st, 1);
	done(st);
	return 0;
}

/* A buffer list on disk: each buffer as an 8-byte little-endian length
 * and its bytes; an empty list is NULL.  Its data bytes go to at_size. */
static int
bind_bufs(sqlite3_stmt *st, int at, int at_size, const struct db_bufs *b)
{
	unsigned char *p, *q;
	size_t n = 0, len;
	int i, j;

	if ((i = sqlite3_bind_int64(st, at_size, db_bufs_size(b))) !=
	    SQLITE_OK)
		return i;
	if (b->n == 0)
		return sqlite3_bind_null(st, at);
	for (i = 0; i < b->n; i++) {
		if (b->v[i].len > SIZE_MAX - n - 8)
			return SQLITE_TOOBIG;
		n += 8 + b->v[i].len;
	}
	if ((p = malloc(n)) == NULL)
		return SQLITE_NOMEM;
	for (q = p, i = 0; i < b->n; q += len, i++) {
		for (len = b->v[i].len, j = 0; j < 8; j++)
			*q++ = (uint64_t)len >> (8 * j) & 0xff;
		memcpy(q, b->v[i].data, len);
	}
	/* SQLite frees the blob, also when the bind fails. */
	return sqlite3_bind_blob64(st, at, p, n, free);
}

static int
column_bufs(sqlite3_stmt *st, int col, struct db_bufs *out)
{
	const unsigned char *p = sqlite3_column_blob(st, col);
	size_t n = sqlite3_column_bytes(st, col);
	struct db_bufs tmp = { NULL, 0 };
	uint64_t len;
	int j;

	if (p == NULL && n != 0) {
		errno = ENOMEM;
		return -1;
	}
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

/* Bind a row for sql_insert or sql_update.  bufs and rbufs, when NULL,
 * are left unbound: sql_update then keeps what is stored. */
/* The text given for column i, if any: bound as it is.  -1: none. */
static int
text_for(const struct db_texts *tx, int i)
{
	int k;

	for (k = 0; tx != NULL && k < tx->n; k++)
		if (strcmp(tx->key[k], cols[i].name) == 0)
			return k;
	return -1;
}

static int
bind_row(sqlite3_stmt *st, const json_t *fields, const struct db_texts *tx,
    int fetched, const struct db_bufs *bufs, const struct db_bufs *rbufs)
{
	const json_t *sub = json_object_get(fields, "submitted");
	int rc = SQLITE_OK, i, k;

	for (i = 0; i < NFIELD && rc == SQLITE_OK; i++)
		rc = (k = text_for(tx, i)) >= 0 ? sqlite3_bind_text64(st,
		    i + 1, tx->p[k], tx->len[k], SQLITE_STATIC, SQLITE_UTF8) :
		    bind_field(st, i + 1, cols[i].kind,
		    json_object_get(fields, cols[i].name));
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, B_FETCHED, fetched != 0);
	if (rc == SQLITE_OK && json_is_string(sub))
		rc = sqlite3_bind_double(st, B_SUBMITTED_T,
		    ipp_iso_parse(json_string_value(sub)));
	if (rc == SQLITE_OK && bufs != NULL)
		rc = bind_bufs(st, B_BUFS, B_NBYTES, bufs);
	if (rc == SQLITE_OK && rbufs != NULL)
		rc = bind_bufs(st, B_RBUFS, B_RNBYTES, rbufs);
	return rc;
}

/* The JSON fields of st's current row, as a new object. */
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
		text = (const char *)sqlite3_column_text(st, i);
		len = sqlite3_column_bytes(st, i);
		if (text != NULL)
			v = cols[i].kind != K_JSON ? json_stringn(text, len) :
			    json_loadb(text, len, JSON_DECODE_ANY |
			    JSON_ALLOW_NUL, NULL);
		else
			v = sqlite3_column_type(st, i) == SQLITE_NULL ?
			    json_null() : NULL;
		if (v == NULL ||
		    json_object_set_new(f, cols[i].name, v) == -1) {
			json_decref(f);
			/* Stored text that does not decode: a damaged row. */
			errno = text != NULL ? EBADMSG : ENOMEM;
			return NULL;
		}
	}
	return f;
}

/* The whole record at st's current row; takes fields_new. */
static int
row_record(sqlite3_stmt *st, json_t *fields_new, struct db_record *out)
{
	struct db_record r;
	int err;

	db_record_init(&r);
	r.fields = fields_new;
	r.fetched = sqlite3_column_int(st, C_FETCHED) != 0;
	if (column_bufs(st, C_BUFS, &r.buffers) == -1 ||
	    column_bufs(st, C_RBUFS, &r.result_buffers) == -1) {
		err = errno;
		db_record_release(&r);
		errno = err;
		return -1;
	}
	*out = r;
	return 0;
}

/* Give up on st's current row (column 0 is msg_id), keeping errno. */
static int
rowfail(sqlite3_stmt *st, char *why, size_t whylen)
{
	const char *id = (const char *)sqlite3_column_text(st, 0);
	int err = errno;

	db_fail(err, why, whylen, "reading record '%s': %s", id ? id : "?",
	    err == EBADMSG ? "corrupt row" : strerror(err));
	done(st);
	errno = err;
	return -1;
}

/*
 * Step S_GET onto msg_id's row: 1 there, 0 absent (-1 with ENOENT when
 * must), -1 error.  With bytes NULL the caller reads the row, then calls
 * done(); otherwise *bytes gets the row's buffer bytes and the row is let
 * go.  Reading only columns before the blobs never loads the buffers.
 */
static int
seek(struct sqldb *s, const char *msg_id, int must, long long *bytes,
    char *why, size_t whylen)
{
	sqlite3_stmt *st = s->st[S_GET];
	int rc;

	sqlite3_bind_text(st, 1, msg_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW && bytes == NULL)
		return 1;
	if (rc == SQLITE_ROW) {
		*bytes = sqlite3_column_int64(st, C_NBYTES) +
		    sqlite3_column_int64(st, C_RNBYTES);
		done(st);
		return 1;
	}
	if (rc != SQLITE_DONE)
		return sqlfail(s, st, rc, "looking up msg_id", why, whylen);
	done(st);
	return must ? db_fail(ENOENT, why, whylen, "no such msg_id '%s'",
	    msg_id) : 0;
}

/*
 * sql with the identifiers hubd_tasks* renamed to table* (quoted), or
 * sql itself when table is NULL; free with free_sql.
 */
static char *
with_table(const char *sql, const char *table)
{
	static const char name[] = "hubd_tasks";
	const char *p, *q;
	size_t cap, len = 0;
	char *out;

	if (table == NULL)
		return (char *)sql;
	cap = strlen(sql) * (2 * strlen(table) + 3) + 1;
	if ((out = malloc(cap)) == NULL)
		return NULL;
	for (p = sql; (q = strstr(p, name)) != NULL; ) {
		memcpy(out + len, p, (size_t)(q - p));
		len += (size_t)(q - p);
		out[len++] = '"';
		for (p = table; *p != '\0'; p++) {
			if (*p == '"')
				out[len++] = '"';
			out[len++] = *p;
		}
		for (q += sizeof(name) - 1; *q == '_' ||
		    (*q >= 'a' && *q <= 'z'); q++)
			out[len++] = *q;
		out[len++] = '"';
		p = q;
	}
	snprintf(out + len, cap - len, "%s", p);
	return out;
}

static void
free_sql(char *s, const char *sql)
{
	if (s != sql)
		free(s);
}

static void	sq_close(void *);

static void *
sq_open(const struct db_config *cfg, char *why, size_t whylen)
{
	struct sqldb *s;
	const char *what;
	char *sql;
	int rc, i;

	if (cfg == NULL || cfg->path == NULL) {
		db_fail(EINVAL, why, whylen,
		    "sqlite backend needs a file path");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		db_fail(ENOMEM, why, whylen, "out of memory");
		return NULL;
	}
	db_usage_init(&s->use, cfg);
	if (db_owner_only(cfg->path, why, whylen) == -1) {
		i = errno;
		free(s);
		errno = i;
		return NULL;
	}
	what = cfg->path;
	if ((rc = sqlite3_open_v2(cfg->path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)) != SQLITE_OK)
		goto sqlerr;
	sqlite3_extended_result_codes(s->db, 1);
	/* Only our thread writes, but an admin's sqlite3 shell may read. */
	sqlite3_busy_timeout(s->db, 5000);
	what = "creating schema";
	if ((sql = with_table(sql_schema, cfg->table)) == NULL)
		goto nomem;
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	free_sql(sql, sql_schema);
	if (rc != SQLITE_OK)
		goto sqlerr;
	what = "preparing statements";
	for (i = 0; i < S_COUNT; i++) {
		if ((sql = with_table(stmt_sql[i], cfg->table)) == NULL)
			goto nomem;
		rc = sqlite3_prepare_v3(s->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		free_sql(sql, stmt_sql[i]);
		if (rc != SQLITE_OK)
			goto sqlerr;
	}
	if (load_totals(s, why, whylen) == -1)
		goto fail;
	return s;
sqlerr:
	sqlfail(s, NULL, rc, what, why, whylen);
	goto fail;
nomem:
	db_fail(ENOMEM, why, whylen, "out of memory");
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
	/* An open batch is kept, as if the caller had committed it. */
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
	long long old = 0;
	const char *id;
	int found, rc;

	if (s->busy)
		return db_fail(EBUSY, why, whylen, "put during find");
	if (db_check_fields(rec->fields, NULL, why, whylen) == -1)
		return -1;
	id = json_string_value(json_object_get(rec->fields, "msg_id"));
	if ((found = seek(s, id, 0, &old, why, whylen)) == -1)
		return -1;
	rc = bind_row(st, rec->fields, rec->texts, rec->fetched,
	    &rec->buffers, &rec->result_buffers);
	if (run(s, st, rc, "storing record", why, whylen) == -1)
		return -1;
	s->use.nrec += !found;
	s->use.bytes += db_bufs_size(&rec->buffers) +
	    db_bufs_size(&rec->result_buffers) - old;
	return 0;
}

/* Bind the fields an update names, and the mask saying which they are. */
static int
bind_update(sqlite3_stmt *st, const char *msg_id, const json_t *fields,
    const struct db_texts *tx, int fetched, const struct db_bufs *rbufs)
{
	const json_t *v;
	sqlite3_int64 mask = 0;
	int rc, i, k;

	rc = sqlite3_bind_text(st, 1, msg_id, -1, SQLITE_STATIC);
	for (i = 1; i < NFIELD && rc == SQLITE_OK; i++)
		if ((k = text_for(tx, i)) >= 0) {
			mask |= (sqlite3_int64)1 << i;
			rc = sqlite3_bind_text64(st, i + 1, tx->p[k],
			    tx->len[k], SQLITE_STATIC, SQLITE_UTF8);
		} else if (fields != NULL &&
		    (v = json_object_get(fields, cols[i].name)) != NULL) {
			mask |= (sqlite3_int64)1 << i;
			rc = bind_field(st, i + 1, cols[i].kind, v);
		}
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, B_MASK, mask);
	if (rc == SQLITE_OK && fetched >= 0)
		rc = sqlite3_bind_int(st, B_FETCHED, fetched != 0);
	v = fields != NULL ? json_object_get(fields, "submitted") : NULL;
	if (rc == SQLITE_OK && json_is_string(v))
		rc = sqlite3_bind_double(st, B_SUBMITTED_T,
		    ipp_iso_parse(json_string_value(v)));
	if (rc == SQLITE_OK && rbufs != NULL)
		rc = bind_bufs(st, B_RBUFS, B_RNBYTES, rbufs);
	return rc;
}

static int
sq_update_texts(void *h, const char *msg_id, const json_t *fields,
    const struct db_texts *tx, const struct db_bufs *rbufs, int fetched,
    char *why, size_t whylen)
{
	struct sqldb *s = h;
	sqlite3_stmt *st = s->st[S_UPDATE], *get = s->st[S_RNBYTES];
	long long oldr = 0;
	int rc;

	if (s->busy)
		return db_fail(EBUSY, why, whylen, "update during find");
	if (fields != NULL &&
	    db_check_fields(fields, msg_id, why, whylen) == -1)
		return -1;
	/* Only new result buffers need the old size, for the usage sums. */
	if (rbufs != NULL) {
		sqlite3_bind_text(get, 1, msg_id, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(get)) == SQLITE_ROW)
			oldr = sqlite3_column_int64(get, 0);
		else if (rc != SQLITE_DONE)
			return sqlfail(s, get, rc, "looking up msg_id", why,
			    whylen);
		done(get);
	}
	if (run(s, st, bind_update(st, msg_id, fields, tx, fetched, rbufs),
	    "updating record", why, whylen) == -1)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return db_fail(ENOENT, why, whylen, "no such msg_id '%s'",
		    msg_id);
	if (rbufs != NULL)
		s->use.bytes += db_bufs_size(rbufs) - oldr;
	return 0;
}

static int
sq_update(void *h, const char *msg_id, const json_t *fields,
    const struct db_bufs *rbufs, int fetched, char *why, size_t whylen)
{
	return sq_update_texts(h, msg_id, fields, NULL, rbufs, fetched, why,
	    whylen);
}

static int
sq_get(void *h, const char *msg_id, struct db_record *out, char *why,
    size_t whylen)
{
	struct sqldb *s = h;
	sqlite3_stmt *st = s->st[S_GET];
	json_t *f;

	if (seek(s, msg_id, 1, NULL, why, whylen) == -1)
		return -1;
	if ((f = row_fields(st)) == NULL || row_record(st, f, out) == -1)
		return rowfail(st, why, whylen);
	done(st);
	return 0;
}

static int
sq_find(void *h, const json_t *query, db_iter_fn fn, void *arg, char *why,
    size_t whylen)
{
	struct sqldb *s = h;
	sqlite3_stmt *st = s->st[S_SCAN];
	struct db_record r;
	json_t *f;
	char *ids;
	int rc, stop = 0;

	if (s->busy)
		return db_fail(EBUSY, why, whylen, "find during find");
	if (db_query_check(query, why, whylen) == -1)
		return -1;
	/* Without the ids (or memory for them) the full scan still gives
	 * the right answer, only slower. */
	if ((ids = db_query_ids(query)) != NULL)
		st = s->st[S_SCAN_IDS];
	else if (db_query_is_pending(query))
		st = s->st[S_SCAN_PENDING];
	if (ids != NULL &&
	    (rc = sqlite3_bind_text(st, 1, ids, -1, free)) != SQLITE_OK)
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
		stop = fn(arg, &r);
		db_record_release(&r);
		if (stop)
			break;
	}
	s->busy = 0;
	if (rc == SQLITE_ROW && !stop)
		return rowfail(st, why, whylen);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sqlfail(s, st, rc, "scanning records", why, whylen);
	done(st);
	return 0;
}

static int
sq_drop(void *h, const char *msg_id, char *why, size_t whylen)
{
	struct sqldb *s = h;
	sqlite3_stmt *st = s->st[S_DELETE];
	long long old;

	if (s->busy)
		return db_fail(EBUSY, why, whylen, "drop during find");
	if (seek(s, msg_id, 1, &old, why, whylen) == -1)
		return -1;
	if (run(s, st, sqlite3_bind_text(st, 1, msg_id, -1, SQLITE_STATIC),
	    "dropping record", why, whylen) == -1)
		return -1;
	s->use.nrec--;
	s->use.bytes -= old;
	return 0;
}

static int
sq_begin(void *h)
{
	struct sqldb *s = h;

	return run(s, s->st[S_BEGIN], SQLITE_OK, "begin", NULL, 0);
}

/* A failed COMMIT is rolled back, not left open to swallow later writes
 * (SQLite may have done so itself); the totals are reloaded. */
static int
sq_commit(void *h)
{
	struct sqldb *s = h;
	int err;

	if (run(s, s->st[S_COMMIT], SQLITE_OK, "commit", NULL, 0) == 0)
		return 0;
	err = errno;
	if (!sqlite3_get_autocommit(s->db))
		run(s, s->st[S_ROLLBACK], SQLITE_OK, "rollback", NULL, 0);
	load_totals(s, NULL, 0);
	errno = err;
	return -1;
}

/* As db_memory.c, culling oldest completed and delivered records.  They
 * are counted first, then removed by one DELETE: all or nothing. */
static long
sq_cull(void *h)
{
	struct sqldb *s = h;
	sqlite3_stmt *st = s->st[S_CULLABLE];
	long target_n, n = s->use.nrec, k = 0;
	long long target_b, b = s->use.bytes;
	int rc = SQLITE_ROW;

	if (s->busy) {
		errno = EBUSY;
		return -1;
	}
	db_usage_targets(&s->use, &target_n, &target_b);
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
	if (run(s, st, sqlite3_bind_int64(st, 1, k), "culling", NULL, 0) == -1)
		return -1;
	s->use.nrec = n;
	s->use.bytes = b;
	return k;
}

static void
sq_stats(void *h, long *records, long long *bytes)
{
	struct sqldb *s = h;

	db_usage_stats(&s->use, records, bytes);
}

const struct db_ops db_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.put = sq_put,
	.update = sq_update,
	.update_texts = sq_update_texts,
	.get = sq_get,
	.find = sq_find,
	.drop = sq_drop,
	.begin = sq_begin,
	.commit = sq_commit,
	.cull = sq_cull,
	.stats = sq_stats,
};
