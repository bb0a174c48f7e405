/*
 * db_none.c - the task history that keeps nothing (hubd --nodb), as
 * ipyparallel's NoDB.  Writes are forgotten: `forgets` tells the hub not
 * to make them at all (hubdb_forgets).  Anything that would read history
 * back fails with ENODATA, which the hub reports to the client as
 * NoData.  Useful when a cluster runs millions of tiny tasks and nobody
 * asks for old results.
 */
#include <errno.h>
#include <stdio.h>

#include "db.h"

#ifndef ENODATA
#define ENODATA	ENOENT
#endif

/* open() must return non-NULL on success; there is no state to point at. */
static const char none_handle;

static const char none_why[] =
    "NoData: no database (hubd --nodb); start hubd with a database "
    "backend to keep task results";

static int
nodata(char *why, size_t whylen)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", none_why);
	errno = ENODATA;
	return -1;
}

static void *
none_open(const struct db_config *cfg, char *why, size_t whylen)
{
	return (void *)&none_handle;
}

static void
none_close(void *h)
{
}

static int
none_put(void *h, const struct db_record *rec, char *why, size_t whylen)
{
	return 0;
}

static int
none_update(void *h, const char *msg_id, const json_t *fields,
    const struct db_bufs *rbufs, int fetched, char *why, size_t whylen)
{
	return 0;
}

static int
none_get(void *h, const char *msg_id, struct db_record *out, char *why,
    size_t whylen)
{
	return nodata(why, whylen);
}

static int
none_find(void *h, const json_t *query, db_iter_fn fn, void *arg, char *why,
    size_t whylen)
{
	return nodata(why, whylen);
}

/* Like NoDB.drop_record: dropping from an empty store is not an error. */
static int
none_drop(void *h, const char *msg_id, char *why, size_t whylen)
{
	return 0;
}

static int
none_begin(void *h)
{
	return 0;
}

static int
none_commit(void *h)
{
	return 0;
}

static long
none_cull(void *h)
{
	return 0;
}

static void
none_stats(void *h, long *records, long long *bytes)
{
	if (records != NULL)
		*records = 0;
	if (bytes != NULL)
		*bytes = 0;
}

const struct db_ops db_none_ops = {
	.name = "none",
	.forgets = 1,
	.open = none_open,
	.close = none_close,
	.put = none_put,
	.update = none_update,
	.get = none_get,
	.find = none_find,
	.drop = none_drop,
	.begin = none_begin,
	.commit = none_commit,
	.cull = none_cull,
	.stats = none_stats,
};
