/*
 * db_test.h - what the task-history unit tests (t_db, t_dbfile) share:
 * JSON and record builders, put/update/find/has wrappers that leave a
 * backend's error in `why`, fresh() to start a backend on an empty store,
 * and fixed dates.  Static inline so each program takes what it uses;
 * the header is not a test of its own.
 */
#ifndef DB_TEST_H
#define DB_TEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../../hubd/db.h"
#include "tap.h"

/* the backends' last error message, each program its own */
static char why[256];

static inline json_t *
J(const char *text)
{
	json_error_t err;
	json_t *v;

	if ((v = json_loads(text, JSON_DECODE_ANY, &err)) == NULL) {
		fprintf(stderr, "bad test JSON '%s': %s\n", text, err.text);
		abort();
	}
	return v;
}

/* A full record: every key null, then the members of `extra`. */
static inline json_t *
record_fields(const char *id, const char *extra)
{
	json_t *f = json_object(), *x = J(extra ? extra : "{}");
	int i;

	for (i = 0; db_record_keys[i] != NULL; i++)
		if (strcmp(db_record_keys[i], "buffers") != 0 &&
		    strcmp(db_record_keys[i], "result_buffers") != 0)
			json_object_set_new(f, db_record_keys[i], json_null());
	json_object_set_new(f, "msg_id", json_string(id));
	json_object_update(f, x);
	json_decref(x);
	return f;
}

static inline int
put(const struct db_ops *ops, void *h, const char *id, const char *extra,
    int fetched)
{
	struct db_record r;
	int rc;

	db_record_init(&r);
	r.fields = record_fields(id, extra);
	r.fetched = fetched;
	rc = ops->put(h, &r, why, sizeof(why));
	db_record_release(&r);
	return rc;
}

static inline int
update(const struct db_ops *ops, void *h, const char *id, const char *fields,
    int fetched)
{
	json_t *f = fields ? J(fields) : NULL;
	int rc;

	rc = ops->update(h, id, f, NULL, fetched, why, sizeof(why));
	json_decref(f);
	return rc;
}

struct collect {
	char	ids[512];
	int	limit;		/* stop after this many; 0: all */
	int	seen;
};

static inline int
collect_one(void *arg, const struct db_record *r)
{
	struct collect *c = arg;
	const char *id = json_string_value(json_object_get(r->fields,
	    "msg_id"));

	if (c->ids[0] != '\0')
		strncat(c->ids, ",", sizeof(c->ids) - strlen(c->ids) - 1);
	strncat(c->ids, id, sizeof(c->ids) - strlen(c->ids) - 1);
	return c->limit > 0 && ++c->seen >= c->limit;
}

/* The msg_ids a query finds, comma-separated, or "EINVAL" and the like. */
static inline const char *
find(const struct db_ops *ops, void *h, const char *query, int limit)
{
	static struct collect c;
	json_t *q = J(query);
	int rc, err;

	memset(&c, 0, sizeof(c));
	c.limit = limit;
	rc = ops->find(h, q, collect_one, &c, why, sizeof(why));
	err = errno;
	json_decref(q);
	if (rc == -1)
		snprintf(c.ids, sizeof(c.ids), "%s", err == EINVAL ?
		    "EINVAL" : err == ENODATA ? "ENODATA" : "error");
	errno = err;
	return c.ids;
}

/* Start a backend on an empty store: SQLite files are removed first. */
static inline void *
fresh(const struct db_ops *ops, const struct db_config *cfg)
{
	char side[300];

	if (cfg->path != NULL) {
		unlink(cfg->path);
		snprintf(side, sizeof(side), "%s-wal", cfg->path);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", cfg->path);
		unlink(side);
	}
	return ops->open(cfg, why, sizeof(why));
}

static inline int
has(const struct db_ops *ops, void *h, const char *id)
{
	struct db_record r;

	if (ops->get(h, id, &r, why, sizeof(why)) == -1)
		return 0;
	db_record_release(&r);
	return 1;
}

#define T0	"2026-01-01T00:00:00.000000Z"
#define T1	"2026-01-01T00:00:01.000000Z"
#define T2	"2026-01-01T00:00:02.000000Z"
#define T3	"2026-01-01T00:00:03.000000Z"

/* A private temp directory and the SQLite file in it, or -1. */
static inline int
db_tmp_make(char *dir, char *path, size_t pathlen)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, pathlen, "%s/tasks.db", dir);
	return 0;
}

/* Remove the SQLite file, its -wal and -shm, then the directory. */
static inline int
db_tmp_remove(const char *dir, const char *path)
{
	char side[300];

	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	return rmdir(dir);
}

#endif
