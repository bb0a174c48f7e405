/*
 * t_dbfile.c - unit tests for hubd's task-history backends beyond the
 * common suite of t_db.c: the SQLite history as a file (records persist
 * across a reopen, settings and damage poked behind the backend's back,
 * file modes), the none backend's NoData errors, and the helpers the
 * backends share (db.c).  db_test.h has what both programs use.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "../../hubd/db.h"
#include "tap.h"
#include "db_test.h"

static void
t_sqlite_persists(const char *path)
{
	const struct db_ops *ops = &db_sqlite_ops;
	struct db_config cfg = { path, 0, 0, NULL };
	struct db_record r;
	struct db_bufs rb = { NULL, 0 };
	long long bytes;
	long n;
	char *text;
	void *h;

	h = fresh(ops, &cfg);
	ok(h != NULL, "sqlite: open fresh file");
	if (h == NULL)
		return;
	ops->begin(h);
	put(ops, h, "p1", "{\"submitted\": \"" T1 "\", \"header\": {\"a\": [1,"
	    " {\"b\": null}]}}", 0);
	put(ops, h, "p0", "{\"submitted\": \"" T0 "\"}", 0);
	db_bufs_add(&rb, "result", 6);
	ops->update(h, "p1", NULL, &rb, 1, why, sizeof(why));
	db_bufs_release(&rb);
	ok(ops->commit(h) == 0, "sqlite: commit batch");
	ops->close(h);

	h = ops->open(&cfg, why, sizeof(why));
	ok(h != NULL, "sqlite: reopen");
	if (h == NULL)
		return;
	ops->stats(h, &n, &bytes);
	ok(n == 2 && bytes == 6, "sqlite: totals reloaded (%ld, %lld)", n,
	    bytes);
	ok(ops->get(h, "p1", &r, why, sizeof(why)) == 0 &&
	    r.fetched == 1 && r.result_buffers.n == 1 &&
	    memcmp(r.result_buffers.v[0].data, "result", 6) == 0,
	    "sqlite: record survives close/open");
	text = json_dumps(json_object_get(r.fields, "header"), JSON_COMPACT);
	is_str(text, "{\"a\":[1,{\"b\":null}]}", "sqlite: dict column "
	    "survives");
	free(text);
	db_record_release(&r);
	is_str(find(ops, h, "{}", 0), "p0,p1", "sqlite: order survives");
	ops->close(h);

	cfg.path = "/nonexistent/dir/tasks.db";
	errno = 0;
	ok(ops->open(&cfg, why, sizeof(why)) == NULL && errno != 0 &&
	    strstr(why, "sqlite") != NULL, "sqlite: unopenable path fails: %s",
	    why);
	cfg.path = NULL;
	errno = 0;
	ok(ops->open(&cfg, why, sizeof(why)) == NULL && errno == EINVAL,
	    "sqlite: no path is EINVAL");
	ok(ops->open(NULL, why, sizeof(why)) == NULL && errno == EINVAL,
	    "sqlite: no config is EINVAL");
}

/* Poke at the file behind the backend's back: settings and damage. */
static void
t_sqlite_file(const char *path)
{
	const struct db_ops *ops = &db_sqlite_ops;
	struct db_config cfg = { path, 0, 0, NULL };
	struct db_record r;
	sqlite3 *db;
	sqlite3_stmt *st;
	void *h;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		ok(0, "sqlite3_open %s", path);
		sqlite3_close(db);
		return;
	}
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
	ok(sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)
	    sqlite3_column_text(st, 0), "wal") == 0, "sqlite: file is in WAL "
	    "mode");
	sqlite3_finalize(st);
	sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE"
	    " type = 'index' AND sql LIKE '%(submitted_t)%'", -1, &st, NULL);
	ok(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) >= 1,
	    "sqlite: submitted is indexed");
	sqlite3_finalize(st);
	ok(sqlite3_exec(db, "UPDATE hubd_tasks SET buffers = x'0100'"
	    " WHERE msg_id = 'p0'; UPDATE hubd_tasks SET header = '{bad'"
	    " WHERE msg_id = 'p1'", NULL, NULL, NULL) == SQLITE_OK,
	    "sqlite: damage two rows");
	sqlite3_close(db);

	if ((h = ops->open(&cfg, why, sizeof(why))) == NULL) {
		ok(0, "sqlite: reopen damaged file: %s", why);
		return;
	}
	errno = 0;
	ok(ops->get(h, "p0", &r, why, sizeof(why)) == -1 && errno == EBADMSG,
	    "sqlite: truncated buffer blob is EBADMSG: %s", why);
	errno = 0;
	ok(ops->get(h, "p1", &r, why, sizeof(why)) == -1 && errno == EBADMSG,
	    "sqlite: undecodable JSON column is EBADMSG: %s", why);
	errno = 0;
	is_str(find(ops, h, "{}", 0), "error", "sqlite: find stops at a "
	    "damaged row");
	ok(errno == EBADMSG, "sqlite: ... with EBADMSG");
	ok(ops->drop(h, "p0", why, sizeof(why)) == 0 &&
	    ops->drop(h, "p1", why, sizeof(why)) == 0,
	    "sqlite: damaged rows can be dropped");
	ops->close(h);
}

static void
t_none(void)
{
	const struct db_ops *ops = &db_none_ops;
	struct db_record r;
	long long bytes;
	long n;
	void *h;

	h = ops->open(NULL, why, sizeof(why));
	ok(h != NULL, "none: open");
	ok(put(ops, h, "x", NULL, 0) == 0, "none: put succeeds");
	ok(update(ops, h, "x", "{\"stdout\": \"y\"}", 1) == 0,
	    "none: update succeeds");
	errno = 0;
	why[0] = '\0';
	ok(ops->get(h, "x", &r, why, sizeof(why)) == -1 && errno == ENODATA,
	    "none: get is ENODATA");
	ok(strncmp(why, "NoData", 6) == 0, "none: reason says NoData: %s",
	    why);
	is_str(find(ops, h, "{}", 0), "ENODATA", "none: find is ENODATA");
	ok(ops->drop(h, "x", why, sizeof(why)) == 0, "none: drop succeeds");
	ok(ops->begin(h) == 0 && ops->commit(h) == 0, "none: begin/commit");
	is_int(ops->cull(h), 0, "none: nothing to cull");
	ops->stats(h, &n, &bytes);
	ok(n == 0 && bytes == 0, "none: stats are zero");
	ops->close(h);
}

static void
t_common(void)
{
	struct db_record a, b;
	char reason[128];
	json_t *q, *f;

	ok(db_backend_lookup("sqlite") == &db_sqlite_ops, "lookup sqlite");
	ok(db_backend_lookup("memory") == &db_memory_ops, "lookup memory");
	ok(db_backend_lookup("dict") == &db_memory_ops, "lookup dict");
	ok(db_backend_lookup("none") == &db_none_ops, "lookup none");
	ok(db_backend_lookup("mongodb") == NULL, "lookup unknown");
	ok(db_backend_lookup(NULL) == NULL, "lookup NULL");
	ok(db_key_is_date("completed") && !db_key_is_date("msg_id"),
	    "date keys");

	db_record_init(&a);
	a.fields = J("{\"msg_id\": \"m\", \"content\": {\"x\": [1]}}");
	db_bufs_add(&a.buffers, "12345", 5);
	db_bufs_add(&a.result_buffers, "", 0);
	a.fetched = 1;
	ok(db_record_copy(&b, &a) == 0, "record copy");
	json_array_append_new(json_object_get(json_object_get(a.fields,
	    "content"), "x"), json_integer(2));
	ok(json_array_size(json_object_get(json_object_get(b.fields,
	    "content"), "x")) == 1, "record copy is deep");
	ok(b.fetched == 1 && db_bufs_size(&b.buffers) == 5 &&
	    b.result_buffers.n == 1 &&
	    b.buffers.v[0].data != a.buffers.v[0].data,
	    "record copy copies buffers");
	db_record_release(&a);
	db_record_release(&b);
	ok(a.fields == NULL && a.buffers.n == 0, "release resets");

	q = J("{\"completed\": {\"$gt\": 1, \"$nope\": 2}}");
	f = J("{\"completed\": null}");
	reason[0] = '\0';
	errno = 0;
	ok(db_query_match(q, f, reason, sizeof(reason)) == -1 &&
	    errno == EINVAL && reason[0] != '\0',
	    "malformed query: -1, EINVAL, reason: %s", reason);
	ok(db_query_check(q, NULL, 0) == -1, "check without a reason buffer");
	json_decref(q);
	q = J("{\"completed\": null, \"stdout\": {\"$exists\": false}}");
	is_int(db_query_match(q, f, NULL, 0), 1, "missing keys read as null");
	json_decref(q);
	json_decref(f);
}

/* The history's files are the owner's alone, also those left 0644. */
static void
t_sqlite_modes(const char *path)
{
	struct db_config cfg = { path, 0, 0, NULL };
	struct stat sb;
	char side[80];
	json_t *q;
	void *h;

	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(path);
	unlink(side);
	if ((h = db_sqlite_ops.open(&cfg, why, sizeof(why))) == NULL) {
		ok(0, "sqlite: open for modes: %s", why);
		return;
	}
	db_sqlite_ops.close(h);
	if (stat(path, &sb) == -1)
		sb.st_mode = 0;
	ok((sb.st_mode & 0777) == 0600, "sqlite: a new history file is "
	    "0600 (%o)", sb.st_mode & 0777);
	chmod(path, 0644);
	close(open(side, O_WRONLY | O_CREAT, 0644));
	chmod(side, 0644);
	if ((h = db_sqlite_ops.open(&cfg, why, sizeof(why))) == NULL) {
		ok(0, "sqlite: reopen for modes: %s", why);
		return;
	}
	if (stat(path, &sb) == -1)
		sb.st_mode = 0;
	ok((sb.st_mode & 0777) == 0600, "sqlite: a 0644 history is made "
	    "0600 on open (%o)", sb.st_mode & 0777);
	if (stat(side, &sb) == -1)
		sb.st_mode = 0;
	ok((sb.st_mode & 0777) == 0600, "sqlite: a 0644 -wal is made 0600 "
	    "on open (%o)", sb.st_mode & 0777);
	db_sqlite_ops.close(h);
	q = J("{\"completed\": null}");
	is_int(db_query_is_pending(q), 1,
	    "{completed: null} asks for the pending tasks");
	json_decref(q);
	q = J("{\"completed\": null, \"stdout\": \"\"}");
	is_int(db_query_is_pending(q), 0, "a narrower query does not");
	json_decref(q);
}

int
main(void)
{
	char dir[] = "/tmp/t_dbfile.XXXXXX", path[64];

	t_common();
	if (db_tmp_make(dir, path, sizeof(path)) == -1) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	t_sqlite_persists(path);
	t_sqlite_file(path);
	t_sqlite_modes(path);
	t_none();
	/* t_db.c counts the removal check; here only a failure shows */
	if (db_tmp_remove(dir, path) == -1)
		ok(0, "temp directory removed: %s", strerror(errno));
	return tap_done();
}
