/*
 * db_sqlite.h - what the SQLite backend's two files share: db_sqlite.c
 * (open, bind, step, read rows) prepares the statements whose text is
 * in db_sqlite_sql.c.  Private to the two; the rest of hubd sees only
 * db_sqlite_ops (db.h).
 */
#ifndef HUBD_DB_SQLITE_H
#define HUBD_DB_SQLITE_H

/* The statements, prepared once per open, indexing stmt_sql. */
enum {
	S_INSERT, S_UPDATE, S_GET, S_RNBYTES, S_DELETE, S_SCAN, S_SCAN_IDS,
	S_SCAN_PENDING, S_CULLABLE, S_CULL, S_TOTALS, S_BEGIN, S_COMMIT, S_ROLLBACK, S_COUNT
};

/* sql_update's parameter holding the mask of the fields it sets. */
#define B_MASK	27

/* Run at open, before the statements are prepared. */
extern const char sql_schema[];
/* stmt_sql[S_COMMIT], also run unprepared when closing. */
extern const char sql_commit[];
extern const char *const stmt_sql[S_COUNT];	/* in S_ order */

#endif /* HUBD_DB_SQLITE_H */
