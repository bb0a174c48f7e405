/*
 * db_sqlite_sql.c - the SQL text of the SQLite backend (db_sqlite.c):
 * the schema and one prepared statement per S_ operation of db_sqlite.h.
 *
 * Kept apart from the code that binds and reads rows so that the table's
 * shape is read in one place.  Every statement names the table
 * hubd_tasks; db_sqlite.c puts SQLiteDB.table in its place when it
 * prepares them.  The field columns are in the order of db_sqlite.c's
 * cols[], which its bind and column numbers rely on.
 */
#include "db_sqlite.h"

#define FIELD_COLS \
	"msg_id, header, metadata, content, submitted, client_uuid, " \
	"engine_uuid, started, completed, resubmitted, received, " \
	"result_header, result_metadata, result_content, queue, " \
	"execute_input, execute_result, error, stdout, stderr"
#define ROW_COLS \
	FIELD_COLS ", fetched, nbytes, rnbytes, buffers, result_buffers"

/* The partial index covers just what cull() may drop, so a store full
 * of pending tasks is not rescanned on every cull. */
const char sql_schema[] =
	"PRAGMA journal_mode = WAL;"
	"PRAGMA synchronous = NORMAL;"
	"CREATE TABLE IF NOT EXISTS hubd_tasks ("
	" msg_id TEXT PRIMARY KEY NOT NULL,"
	" header TEXT, metadata TEXT, content TEXT, submitted TEXT,"
	" client_uuid TEXT, engine_uuid TEXT, started TEXT, completed TEXT,"
	" resubmitted TEXT, received TEXT, result_header TEXT,"
	" result_metadata TEXT, result_content TEXT, queue TEXT,"
	" execute_input TEXT, execute_result TEXT, error TEXT, stdout TEXT,"
	" stderr TEXT, fetched INTEGER NOT NULL DEFAULT 0, submitted_t REAL,"
	" nbytes INTEGER NOT NULL DEFAULT 0,"
	" rnbytes INTEGER NOT NULL DEFAULT 0,"
	" buffers BLOB, result_buffers BLOB);"
	"CREATE INDEX IF NOT EXISTS hubd_tasks_submitted"
	" ON hubd_tasks (submitted_t);"
	"CREATE INDEX IF NOT EXISTS hubd_tasks_cullable"
	" ON hubd_tasks (submitted_t) WHERE completed IS NOT NULL AND fetched;"
	"CREATE INDEX IF NOT EXISTS hubd_tasks_pending"
	" ON hubd_tasks (submitted_t) WHERE completed IS NULL;";

static const char sql_insert[] =
	"INSERT OR REPLACE INTO hubd_tasks (" FIELD_COLS ", fetched,"
	" submitted_t, nbytes, rnbytes, buffers, result_buffers)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
	" ?, ?, ?, ?, ?, ?)";

/*
 * update() writes only the fields it is given: ?27 is a mask with bit i
 * set when field i (cols[] order) is bound, and every other column keeps
 * what is stored.  One fixed statement, and no read of the row first:
 * reading, decoding and re-encoding every JSON column per update was
 * most of the DB thread's time.  fetched changes when ?21 is bound; the
 * request buffers never change; the result buffers only when ?24 (their
 * size) is bound.
 */
#define SETF(col, n, bit) \
	" " col " = CASE WHEN ?27 & " bit " THEN ?" n " ELSE " col " END,"
static const char sql_update[] =
	"UPDATE hubd_tasks SET"
	SETF("header", "2", "2")
	SETF("metadata", "3", "4")
	SETF("content", "4", "8")
	SETF("submitted", "5", "16")
	SETF("client_uuid", "6", "32")
	SETF("engine_uuid", "7", "64")
	SETF("started", "8", "128")
	SETF("completed", "9", "256")
	SETF("resubmitted", "10", "512")
	SETF("received", "11", "1024")
	SETF("result_header", "12", "2048")
	SETF("result_metadata", "13", "4096")
	SETF("result_content", "14", "8192")
	SETF("queue", "15", "16384")
	SETF("execute_input", "16", "32768")
	SETF("execute_result", "17", "65536")
	SETF("error", "18", "131072")
	SETF("stdout", "19", "262144")
	SETF("stderr", "20", "524288")
	" fetched = coalesce(?21, fetched),"
	" submitted_t = CASE WHEN ?27 & 16 THEN ?22 ELSE submitted_t END,"
	" rnbytes = coalesce(?24, rnbytes),"
	" result_buffers = CASE WHEN ?24 IS NULL THEN result_buffers"
	" ELSE ?26 END WHERE msg_id = ?1";
#undef SETF

static const char sql_get[] =
	"SELECT " ROW_COLS " FROM hubd_tasks WHERE msg_id = ?1";
static const char sql_rnbytes[] =
	"SELECT rnbytes FROM hubd_tasks WHERE msg_id = ?1";
static const char sql_delete[] =
	"DELETE FROM hubd_tasks WHERE msg_id = ?1";

/* NULL submitted sorts first; rowid keeps arrival order among equals. */
static const char sql_scan[] =
	"SELECT " ROW_COLS " FROM hubd_tasks ORDER BY submitted_t, rowid";

static const char sql_scan_ids[] =
	"SELECT " ROW_COLS " FROM hubd_tasks"
	" WHERE msg_id IN (SELECT value FROM json_each(?1))"
	" ORDER BY submitted_t, rowid";

/* {"completed": null}: what a restarted hub looks for (recover.c). */
static const char sql_scan_pending[] =
	"SELECT " ROW_COLS " FROM hubd_tasks WHERE completed IS NULL"
	" ORDER BY submitted_t, rowid";

static const char sql_cullable[] =
	"SELECT nbytes + rnbytes FROM hubd_tasks"
	" WHERE completed IS NOT NULL AND fetched ORDER BY submitted_t, rowid";

static const char sql_cull[] =
	"DELETE FROM hubd_tasks WHERE rowid IN (SELECT rowid FROM hubd_tasks"
	" WHERE completed IS NOT NULL AND fetched"
	" ORDER BY submitted_t, rowid LIMIT ?1)";

static const char sql_totals[] =
	"SELECT count(*), total(nbytes + rnbytes) FROM hubd_tasks";
static const char sql_begin[] = "BEGIN IMMEDIATE";
const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";

const char *const stmt_sql[S_COUNT] = {	/* in S_ order */
	sql_insert, sql_update, sql_get, sql_rnbytes, sql_delete, sql_scan,
	sql_scan_ids, sql_scan_pending, sql_cullable, sql_cull, sql_totals, sql_begin,
	sql_commit, sql_rollback
};
