/*
 * db.h - hubd's task history: one interface, one file per backend.
 *
 *   db_sqlite.c   SQLite file in the profile dir (default); survives restarts
 *                 (its schema and statements: db_sqlite_sql.c)
 *   db_memory.c   in-memory (--dictdb)
 *   db_none.c     stores nothing (--nodb); queries fail with NoData
 *
 * Backends are synchronous and single-threaded: they are only ever called
 * from hubd's DB thread (db.c, and dbreply.c for the history queries),
 * never from the event loop, so a slow disk never stalls heartbeats.  The
 * loop talks to that thread through a queue.
 *
 * A record is the task record of ipyparallel's hub (doc/protocol.md;
 * ipyparallel's controller/hub.py builds the same): a JSON object with the
 * keys
 *   msg_id header metadata content submitted client_uuid engine_uuid
 *   started completed resubmitted received result_header result_metadata
 *   result_content queue execute_input execute_result error stdout stderr
 * where dates are ISO-8601 strings ("2026-11-22T01:27:08.130239Z") or null,
 * plus two buffer lists kept outside the JSON (raw bytes).
 */
#ifndef HUBD_DB_H
#define HUBD_DB_H

#include <stddef.h>
#include <jansson.h>

struct db_buf {
	void	*data;		/* malloc'd and owned, or zmsg's content */
	size_t	 len;
	void	*zmsg;		/* a zmq_msg_t sharing a received frame */
};

struct db_bufs {
	struct db_buf	*v;
	int		 n;
};

/*
 * Values of record keys given as JSON text instead of in `fields`, for
 * a backend that stores JSON as text (db_ops.update_texts is set): the
 * DB thread then never builds trees of a task's message parts (dbraw.c).
 * The texts are borrowed and valid JSON objects.
 */
#define DB_TEXTS_MAX	6
struct db_texts {
	const char	*key[DB_TEXTS_MAX];
	const char	*p[DB_TEXTS_MAX];
	size_t		 len[DB_TEXTS_MAX];
	int		 n;
};

struct db_record {
	json_t		*fields;	/* owned reference */
	const struct db_texts *texts;	/* put only; NULL: none */
	struct db_bufs	 buffers;	/* request buffers */
	struct db_bufs	 result_buffers;
	/*
	 * Retention: a record may be culled only when it is completed and
	 * its result was delivered (relayed to a client, or returned by a
	 * result/db query).  Pending or never-fetched records are kept.
	 */
	int		 fetched;
};

void	 db_bufs_release(struct db_bufs *);
/* Append a copy of data. */
int	 db_bufs_add(struct db_bufs *, const void *data, size_t len);
/* Append a frame (a zmq_msg_t *): large ones are shared, not copied. */
int	 db_bufs_add_frame(struct db_bufs *, void *zmsg);
int	 db_bufs_copy(struct db_bufs *dst, const struct db_bufs *src);
size_t	 db_bufs_size(const struct db_bufs *);
void	 db_record_init(struct db_record *);
void	 db_record_release(struct db_record *);
/* Deep copy (fields are json_deep_copy'd). */
int	 db_record_copy(struct db_record *dst, const struct db_record *src);

/* The record keys above, NULL-terminated; used to validate `keys`. */
extern const char *const db_record_keys[];
/* Keys holding dates (compared as instants, not as strings). */
int	 db_key_is_date(const char *key);

/*
 * Mongo-style query matching as ipyparallel's DictDB: a query is an object
 * {key: value} (equality) or {key: {"$op": arg, ...}} with $lt $gt $lte
 * $gte $eq $ne $in $nin $all $mod $exists.  Returns 1 match, 0 no match,
 * -1 on a malformed query with errno EINVAL and a reason in why.
 */
int	 db_query_match(const json_t *query, const json_t *fields, char *why,
	    size_t whylen);
/* Check a query without a record (so errors come back before any work). */
int	 db_query_check(const json_t *query, char *why, size_t whylen);
/* The msg_ids a query is limited to, as malloc'd JSON array text; NULL
 * when it names none.  For backends that can narrow a scan by id. */
char	*db_query_ids(const json_t *query);
/* The query is exactly {"completed": null}: the pending tasks. */
int	 db_query_is_pending(const json_t *query);

struct db_config {
	const char	*path;		/* sqlite file; NULL: backend default */
	long		 record_limit;	/* 0: unlimited */
	long long	 size_limit;	/* bytes of buffers; 0: unlimited */
	const char	*table;		/* sqlite table; NULL: hubd_tasks */
};

/*
 * What a backend holds, against its limits.  The backend keeps the counts
 * in step with its store; the retention rule that reads them is shared
 * (db_common.c), so every backend culls alike.
 */
struct db_usage {
	long		 nrec;
	long long	 bytes;		/* of buffers, both lists */
	long		 record_limit;	/* 0: unlimited */
	long long	 size_limit;
};

/* Empty, with cfg's limits (none when cfg is NULL). */
void	 db_usage_init(struct db_usage *, const struct db_config *cfg);
/*
 * How far a cull goes: records and bytes to get down to, ~10% under each
 * limit exceeded (LONG_MAX/LLONG_MAX where none is), so a full store is
 * not culled again on every put.
 */
void	 db_usage_targets(const struct db_usage *, long *nrec,
	    long long *bytes);
/* The stats operation; either pointer may be NULL. */
void	 db_usage_stats(const struct db_usage *, long *records,
	    long long *bytes);

/* Create path 0600 when absent; make it and its SQLite side files
 * (-wal -shm -journal) owner-only when not.  0 or -1 with errno and why. */
int	 db_owner_only(const char *path, char *why, size_t whylen);
/* Set errno to err and a reason in why (may be NULL); returns -1. */
int	 db_fail(int err, char *why, size_t whylen, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/*
 * Reject record fields the SQLite columns could not hold faithfully
 * (unknown keys, bad dates, non-text in text columns), whichever backend
 * is used, so a record means the same in each.  id, when not NULL, is
 * the msg_id an update addresses: fields may repeat it but not change it.
 */
int	 db_check_fields(const json_t *fields, const char *id, char *why,
	    size_t whylen);

/* Called once per matching record; the record is borrowed for the call.
 * Return non-zero to stop the iteration. */
typedef int (*db_iter_fn)(void *arg, const struct db_record *);

/*
 * Backend operations.  All return 0 or -1 with errno set and a reason in
 * why (may be NULL), and have no effect on failure.
 */
struct db_ops {
	const char	*name;
	/*
	 * Set by a backend that keeps nothing (NoDB): hubd's loop then does
	 * not build the writes of every task (records, output), which would
	 * only be decoded on the DB thread to be dropped (a fifth of hubd's
	 * CPU at window 1).  Rare writes (resubmissions) still reach it.
	 */
	int		 forgets;
	void		*(*open)(const struct db_config *, char *why, size_t);
	void		 (*close)(void *);
	/* Insert, or replace a record with the same msg_id.  Copies rec. */
	int		 (*put)(void *, const struct db_record *rec, char *,
			    size_t);
	/*
	 * Merge fields into an existing record (keys present in `fields`
	 * overwrite); result_bufs, when not NULL, replace the result
	 * buffers; fetched >= 0 sets the flag.  ENOENT when absent.
	 */
	int		 (*update)(void *, const char *msg_id,
			    const json_t *fields, const struct db_bufs *rbufs,
			    int fetched, char *, size_t);
	/*
	 * Optional: update with some values as texts.  A backend that has
	 * it also takes rec->texts in put; one without never sees texts.
	 */
	int		 (*update_texts)(void *, const char *msg_id,
			    const json_t *fields, const struct db_texts *,
			    const struct db_bufs *rbufs, int fetched, char *,
			    size_t);
	/* Copy one record out; ENOENT when absent. */
	int		 (*get)(void *, const char *msg_id,
			    struct db_record *out, char *, size_t);
	/* Iterate records matching query, in submitted order. */
	int		 (*find)(void *, const json_t *query, db_iter_fn,
			    void *arg, char *, size_t);
	/* Delete one record; ENOENT when absent. */
	int		 (*drop)(void *, const char *msg_id, char *, size_t);
	/* Group writes: everything between begin and commit is one
	 * transaction (may be no-ops). */
	int		 (*begin)(void *);
	int		 (*commit)(void *);
	/* Apply record/size limits; returns how many records were culled. */
	long		 (*cull)(void *);
	/* Records and bytes of buffers currently stored. */
	void		 (*stats)(void *, long *records, long long *bytes);
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_memory_ops;
extern const struct db_ops db_none_ops;

/* "sqlite", "memory" (alias "dict"), "none"; NULL when unknown. */
const struct db_ops *db_backend_lookup(const char *name);

#endif /* HUBD_DB_H */
