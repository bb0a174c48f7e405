/*
 * t_db.c - unit tests for hubd's task-history backends (hubd/db_*.c).
 * One suite runs against the memory and the SQLite backend (a file in a
 * private temp directory, removed at the end), so both answer every
 * query the same way; then SQLite alone is reopened to check that
 * records persist, and the none backend is checked for its NoData
 * errors.
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

#define MB	(1024 * 1024)

static char why[256];

static json_t *
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
static json_t *
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

static int
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

static int
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

static int
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
static const char *
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
static void *
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

static int
has(const struct db_ops *ops, void *h, const char *id)
{
	struct db_record r;

	if (ops->get(h, id, &r, why, sizeof(why)) == -1)
		return 0;
	db_record_release(&r);
	return 1;
}

static void
t_records(const struct db_ops *ops, void *h)
{
	struct db_record in, out;
	json_t *f;
	long n;
	long long bytes;
	int rc;

	db_record_init(&in);
	in.fields = record_fields("a", "{\"header\": {\"msg_id\": \"a\","
	    " \"date\": \"2026-01-01T00:00:00.000001Z\"},"
	    " \"content\": {\"code\": \"x = 1\", \"n\": [1, 2.5, null]},"
	    " \"submitted\": \"2026-01-01T00:00:00.000001Z\","
	    " \"client_uuid\": \"c\", \"queue\": \"task\","
	    " \"stdout\": \"line\\n\\u00e9\"}");
	db_bufs_add(&in.buffers, "abc", 3);
	db_bufs_add(&in.buffers, "", 0);
	ok(ops->put(h, &in, why, sizeof(why)) == 0, "%s: put", ops->name);
	ok(ops->get(h, "a", &out, why, sizeof(why)) == 0, "%s: get",
	    ops->name);
	ok(json_equal(in.fields, out.fields), "%s: fields round trip",
	    ops->name);
	is_int(out.buffers.n, 2, "buffers round trip: count");
	ok(out.buffers.n == 2 && out.buffers.v[0].len == 3 &&
	    memcmp(out.buffers.v[0].data, "abc", 3) == 0 &&
	    out.buffers.v[1].len == 0 && out.buffers.v[1].data != NULL,
	    "%s: buffers round trip, including an empty one", ops->name);
	is_int(out.result_buffers.n, 0, "no result buffers");
	is_int(out.fetched, 0, "not fetched");
	db_record_release(&out);
	ops->stats(h, &n, &bytes);
	is_int(n, 1, "stats: one record");
	is_int(bytes, 3, "stats: 3 bytes");

	/* The caller's record is copied, not kept. */
	json_object_set_new(in.fields, "stdout", json_string("changed"));
	ops->get(h, "a", &out, why, sizeof(why));
	is_str(json_string_value(json_object_get(out.fields, "stdout")),
	    "line\n\xc3\xa9", "put copies the record");
	db_record_release(&out);
	db_record_release(&in);

	errno = 0;
	ok(ops->get(h, "nope", &out, why, sizeof(why)) == -1 &&
	    errno == ENOENT, "%s: get of a missing record is ENOENT",
	    ops->name);

	/* Records with missing keys come back complete. */
	db_record_init(&in);
	in.fields = J("{\"msg_id\": \"sparse\"}");
	ok(ops->put(h, &in, why, sizeof(why)) == 0, "%s: put sparse record",
	    ops->name);
	db_record_release(&in);
	ops->get(h, "sparse", &out, why, sizeof(why));
	is_int(json_object_size(out.fields), 20, "missing keys read as null");
	ok(json_is_null(json_object_get(out.fields, "completed")),
	    "%s: completed is null", ops->name);
	db_record_release(&out);

	/* Replace. */
	ok(put(ops, h, "a", "{\"stdout\": \"again\"}", 0) == 0,
	    "%s: put replaces", ops->name);
	ops->get(h, "a", &out, why, sizeof(why));
	is_str(json_string_value(json_object_get(out.fields, "stdout")),
	    "again", "replaced record read back");
	is_int(out.buffers.n, 0, "replaced record has the new buffers");
	db_record_release(&out);
	ops->stats(h, &n, &bytes);
	is_int(n, 2, "stats after replace: 2 records");
	is_int(bytes, 0, "stats after replace: 0 bytes");

	/* Update merges fields, replaces result buffers, sets fetched. */
	{
		struct db_bufs rb = { NULL, 0 };
		char *big = malloc(MB);
		int i;

		for (i = 0; i < MB; i++)
			big[i] = (char)(i * 7 + i / 251);
		db_bufs_add(&rb, big, MB);
		f = J("{\"completed\": \"2026-01-01T00:00:02.5Z\","
		    " \"result_content\": {\"status\": \"ok\"}}");
		rc = ops->update(h, "a", f, &rb, 1, why, sizeof(why));
		ok(rc == 0, "%s: update", ops->name);
		json_decref(f);
		db_bufs_release(&rb);
		ok(ops->get(h, "a", &out, why, sizeof(why)) == 0,
		    "%s: get after update", ops->name);
		is_str(json_string_value(json_object_get(out.fields,
		    "completed")), "2026-01-01T00:00:02.5Z", "merged field");
		is_str(json_string_value(json_object_get(out.fields,
		    "stdout")), "again", "untouched field kept");
		ok(out.result_buffers.n == 1 &&
		    out.result_buffers.v[0].len == MB &&
		    memcmp(out.result_buffers.v[0].data, big, MB) == 0,
		    "%s: 1 MB result buffer round trip", ops->name);
		is_int(out.fetched, 1, "fetched set");
		db_record_release(&out);
		free(big);
	}
	ops->stats(h, &n, &bytes);
	is_int(bytes, MB, "stats count result buffers");
	ok(update(ops, h, "a", NULL, 0) == 0, "%s: update only fetched",
	    ops->name);
	ops->get(h, "a", &out, why, sizeof(why));
	ok(out.fetched == 0 && out.result_buffers.n == 1,
	    "%s: fetched cleared, result buffers kept", ops->name);
	db_record_release(&out);

	errno = 0;
	ok(update(ops, h, "nope", "{\"stdout\": \"x\"}", -1) == -1 &&
	    errno == ENOENT, "%s: update of a missing record is ENOENT",
	    ops->name);

	/* Bad records are refused, and leave the store as it was. */
	errno = 0;
	ok(update(ops, h, "a", "{\"bogus\": 1}", -1) == -1 &&
	    errno == EINVAL, "%s: update with unknown key is EINVAL",
	    ops->name);
	ok(update(ops, h, "a", "{\"msg_id\": \"b\"}", -1) == -1 &&
	    errno == EINVAL, "%s: update cannot rename", ops->name);
	ok(update(ops, h, "a", "{\"stdout\": \"x\", \"started\": \"soon\"}",
	    -1) == -1 && errno == EINVAL, "%s: bad date is EINVAL",
	    ops->name);
	ops->get(h, "a", &out, why, sizeof(why));
	is_str(json_string_value(json_object_get(out.fields, "stdout")),
	    "again", "failed update changed nothing");
	db_record_release(&out);
	db_record_init(&in);
	in.fields = J("{\"stdout\": \"x\"}");
	ok(ops->put(h, &in, why, sizeof(why)) == -1 && errno == EINVAL,
	    "%s: put without msg_id is EINVAL", ops->name);
	json_decref(in.fields);
	in.fields = J("{\"msg_id\": \"z\", \"engine_uuid\": 5}");
	ok(ops->put(h, &in, why, sizeof(why)) == -1 && errno == EINVAL,
	    "%s: put with a number for a text key is EINVAL", ops->name);
	db_record_release(&in);
	ok(!has(ops, h, "z"), "%s: refused record not stored", ops->name);

	ok(ops->drop(h, "a", why, sizeof(why)) == 0, "%s: drop", ops->name);
	ok(!has(ops, h, "a"), "%s: dropped record is gone", ops->name);
	errno = 0;
	ok(ops->drop(h, "a", why, sizeof(why)) == -1 && errno == ENOENT,
	    "%s: drop of a missing record is ENOENT", ops->name);
	ok(ops->drop(h, "sparse", why, sizeof(why)) == 0, "%s: drop sparse",
	    ops->name);
	ops->stats(h, &n, &bytes);
	ok(n == 0 && bytes == 0, "%s: empty after drops", ops->name);
}

#define T0	"2026-01-01T00:00:00.000000Z"
#define T1	"2026-01-01T00:00:01.000000Z"
#define T2	"2026-01-01T00:00:02.000000Z"
#define T3	"2026-01-01T00:00:03.000000Z"

static void
t_queries(const struct db_ops *ops, void *h)
{
	static const struct {
		const char	*query;
		const char	*want;
	} cases[] = {
		{ "{}", "r0,r1,r1b,r2,r3" },
		{ "{\"msg_id\": \"r2\"}", "r2" },
		{ "{\"msg_id\": {\"$eq\": \"r2\"}}", "r2" },
		{ "{\"msg_id\": {\"$in\": [\"r3\", \"r0\", \"zz\", 5]}}",
		    "r0,r3" },
		{ "{\"msg_id\": {\"$in\": [\"r0\", \"r1\"]},"
		    " \"completed\": null}", "r1" },
		{ "{\"completed\": null}", "r1,r1b,r3" },
		{ "{\"completed\": {\"$eq\": null}}", "r1,r1b,r3" },
		{ "{\"completed\": {\"$ne\": null}}", "r0,r2" },
		{ "{\"completed\": {\"$exists\": true}}", "r0,r2" },
		{ "{\"completed\": {\"$exists\": false}}", "r1,r1b,r3" },
		{ "{\"engine_uuid\": \"e1\"}", "r0,r2" },
		{ "{\"engine_uuid\": {\"$ne\": \"e1\"}}", "r1,r1b,r3" },
		{ "{\"engine_uuid\": {\"$in\": [\"e2\", null]}}", "r1,r1b,r3" },
		{ "{\"engine_uuid\": {\"$nin\": [\"e1\", \"e2\"]}}", "r3" },
		{ "{\"engine_uuid\": \"e1\", \"completed\": {\"$ne\": null}}",
		    "r0,r2" },
		{ "{\"submitted\": {\"$gt\": \"" T1 "\"}}", "r2,r3" },
		{ "{\"submitted\": {\"$gte\": \"" T1 "\"}}", "r1,r1b,r2,r3" },
		{ "{\"submitted\": {\"$lt\": \"" T1 "\"}}", "r0" },
		{ "{\"submitted\": {\"$lte\": \"" T1 "\"}}", "r0,r1,r1b" },
		{ "{\"submitted\": {\"$gt\": \"" T0 "\", \"$lt\": \"" T3 "\"}}",
		    "r1,r1b,r2" },
		/* The same instants, written differently. */
		{ "{\"submitted\": \"2026-01-01T01:00:02+01:00\"}", "r2" },
		{ "{\"submitted\": {\"$eq\": \"2026-01-01T00:00:02Z\"}}",
		    "r2" },
		{ "{\"submitted\": {\"$in\": [\"2026-01-01T00:00:03.0Z\"]}}",
		    "r3" },
		{ "{\"completed\": {\"$gt\": \"2025-12-31T19:00:02-05:00\"}}",
		    "r2" },
		{ "{\"queue\": {\"$gt\": \"mux\"}}", "r0" },
		{ "{\"queue\": {\"$lte\": \"mux\"}}", "r1,r1b,r2" },
		{ "{\"execute_result\": {\"$gt\": 5}}", "r0,r1" },
		{ "{\"execute_result\": {\"$gte\": 4.0, \"$lt\": 8}}",
		    "r0,r2" },
		{ "{\"execute_result\": 8.0}", "r1" },
		{ "{\"execute_result\": {\"$mod\": [3, 1]}}", "r0,r2,r3" },
		{ "{\"execute_result\": {\"$mod\": [-3, -2]}}", "r0,r2,r3" },
		{ "{\"error\": {\"$all\": [\"a\", \"b\"]}}", "r0" },
		{ "{\"error\": {\"$all\": [\"a\"]}}", "r0,r1" },
		{ "{\"error\": [\"a\"]}", "r1" },
		{ "{\"header\": {\"msg_type\": \"apply_request\", \"n\": 0}}",
		    "r0" },
		{ "{\"header\": {}}", "" },
		{ "{\"stdout\": {\"$exists\": true}, \"msg_id\": \"r9\"}", "" },
		/* Malformed queries. */
		{ "[]", "EINVAL" },
		{ "{\"bogus\": 1}", "EINVAL" },
		{ "{\"buffers\": {\"$exists\": true}}", "EINVAL" },
		{ "{\"completed\": {\"$foo\": 1}}", "EINVAL" },
		{ "{\"header\": {\"$eq\": 1, \"msg_type\": 2}}", "EINVAL" },
		{ "{\"msg_id\": {\"$in\": \"r0\"}}", "EINVAL" },
		{ "{\"error\": {\"$all\": 1}}", "EINVAL" },
		{ "{\"execute_result\": {\"$mod\": [0, 1]}}", "EINVAL" },
		{ "{\"execute_result\": {\"$mod\": [3]}}", "EINVAL" },
		{ "{\"completed\": {\"$exists\": \"yes\"}}", "EINVAL" },
		{ "{\"submitted\": {\"$gt\": \"yesterday\"}}", "EINVAL" },
		{ "{\"submitted\": {\"$lt\": null}}", "EINVAL" },
		{ "{\"submitted\": 5}", "EINVAL" },
		{ "{\"queue\": {\"$lt\": [1]}}", "EINVAL" },
		/* A bad key fails even when an earlier one rules all out. */
		{ "{\"msg_id\": \"none\", \"bogus\": 1}", "EINVAL" },
	};
	size_t i;

	/* Out of submitted order on purpose; r1b ties with r1. */
	put(ops, h, "r2", "{\"submitted\": \"" T2 "\", \"completed\":"
	    " \"2026-01-01T00:00:02.5Z\", \"engine_uuid\": \"e1\","
	    " \"queue\": \"mux\", \"execute_result\": 4}", 1);
	put(ops, h, "r0", "{\"submitted\": \"" T0 "\", \"completed\": \"" T1
	    "\", \"engine_uuid\": \"e1\", \"queue\": \"task\","
	    " \"execute_result\": 7, \"error\": [\"c\", \"b\", \"a\"],"
	    " \"header\": {\"msg_type\": \"apply_request\", \"n\": 0.0}}", 0);
	put(ops, h, "r3", "{\"submitted\": \"" T3 "\","
	    " \"execute_result\": -5}", 0);
	put(ops, h, "r1", "{\"submitted\": \"" T1 "\", \"engine_uuid\":"
	    " \"e2\", \"queue\": \"mux\", \"execute_result\": 8,"
	    " \"error\": [\"a\"]}", 0);
	put(ops, h, "r1b", "{\"submitted\": \"" T1 "\", \"engine_uuid\":"
	    " \"e2\", \"queue\": \"mux\"}", 0);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[300];

		snprintf(name, sizeof(name), "%s: find %s", ops->name,
		    cases[i].query);
		is_str(find(ops, h, cases[i].query, 0), cases[i].want, name);
	}
	is_str(find(ops, h, "{}", 2), "r0,r1", "callback stops the scan");
	is_str(find(ops, h, "{\"msg_id\": {\"$in\": [\"r3\", \"r2\"]}}", 1),
	    "r2", "callback stops the msg_id scan");

	/* A later submitted moves a record in the order. */
	update(ops, h, "r0", "{\"submitted\": \"2026-01-01T00:00:09Z\"}", -1);
	is_str(find(ops, h, "{}", 0), "r1,r1b,r2,r3,r0",
	    "order follows an updated submitted");
	update(ops, h, "r0", "{\"submitted\": null}", -1);
	is_str(find(ops, h, "{}", 0), "r0,r1,r1b,r2,r3",
	    "null submitted sorts first");
}

static void	*busy_handle;
static const struct db_ops *busy_ops;
static int	 busy_put_rc, busy_put_errno, busy_get_rc;

static int
try_writes(void *arg, const struct db_record *r)
{
	struct db_record copy;

	busy_put_rc = busy_ops->put(busy_handle, r, why, sizeof(why));
	busy_put_errno = errno;
	busy_get_rc = busy_ops->get(busy_handle, "r2", &copy, why,
	    sizeof(why));
	if (busy_get_rc == 0)
		db_record_release(&copy);
	return 1;
}

static void
t_busy(const struct db_ops *ops, void *h)
{
	json_t *q = J("{}");

	busy_handle = h;
	busy_ops = ops;
	ok(ops->find(h, q, try_writes, NULL, why, sizeof(why)) == 0,
	    "%s: find with a writing callback", ops->name);
	ok(busy_put_rc == -1 && busy_put_errno == EBUSY,
	    "%s: put inside a find callback is EBUSY", ops->name);
	ok(busy_get_rc == 0, "%s: get inside a find callback works",
	    ops->name);
	json_decref(q);
}

/*
 * r0..r11 submitted in order; r0, r1 pending, r2, r3 completed but never
 * delivered, the rest completed and fetched.
 */
static void
t_cull_count(const struct db_ops *ops, const struct db_config *base)
{
	struct db_config cfg = *base;
	char id[16], extra[160];
	long n;
	void *h;
	int i;

	cfg.record_limit = 10;
	if ((h = fresh(ops, &cfg)) == NULL) {
		ok(0, "%s: open for culling: %s", ops->name, why);
		return;
	}
	for (i = 0; i < 12; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		snprintf(extra, sizeof(extra), "{\"submitted\":"
		    " \"2026-01-01T00:00:%02d.000000Z\"%s}", i, i < 2 ? "" :
		    ", \"completed\": \"2026-01-01T00:01:00Z\"");
		put(ops, h, id, extra, i >= 4);
	}
	is_int(ops->cull(h), 3, "record limit: culls to 90%");
	ops->stats(h, &n, NULL);
	is_int(n, 9, "9 records left");
	ok(has(ops, h, "r0") && has(ops, h, "r1"), "%s: pending records "
	    "survive", ops->name);
	ok(has(ops, h, "r2") && has(ops, h, "r3"), "%s: unfetched records "
	    "survive", ops->name);
	ok(!has(ops, h, "r4") && !has(ops, h, "r5") && !has(ops, h, "r6"),
	    "%s: oldest fetched completed records culled", ops->name);
	ok(has(ops, h, "r7") && has(ops, h, "r11"), "%s: newer records "
	    "kept", ops->name);
	is_int(ops->cull(h), 0, "under the limit: nothing culled");

	/* Fill with pending records: over the limit, nothing to drop. */
	for (i = 12; i < 20; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		put(ops, h, id, "{\"submitted\": \"2026-01-01T00:00:59Z\"}", 1);
	}
	is_int(ops->cull(h), 5, "culls only what is eligible");
	is_int(ops->cull(h), 0, "then nothing more");
	ops->stats(h, &n, NULL);
	is_int(n, 12, "store stays over its limit rather than lose tasks");
	ops->close(h);
}

static void
t_cull_size(const struct db_ops *ops, const struct db_config *base)
{
	struct db_config cfg = *base;
	struct db_record r;
	char buf[300] = { 0 }, id[16];
	long long bytes;
	long n;
	void *h;
	int i;

	cfg.size_limit = 1000;
	if ((h = fresh(ops, &cfg)) == NULL) {
		ok(0, "%s: open for size culling: %s", ops->name, why);
		return;
	}
	/* s0 pending, s1..s3 done and fetched, s4 done, never fetched. */
	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		db_record_init(&r);
		r.fields = record_fields(id, i == 0 ?
		    "{\"submitted\": \"" T0 "\"}" :
		    "{\"submitted\": \"" T1 "\", \"completed\": \"" T2 "\"}");
		db_bufs_add(&r.buffers, buf, 200);
		db_bufs_add(&r.result_buffers, buf, 100);
		r.fetched = i >= 1 && i <= 3;
		ops->put(h, &r, why, sizeof(why));
		db_record_release(&r);
	}
	ops->stats(h, &n, &bytes);
	is_int(bytes, 1500, "size: 1500 bytes stored");
	is_int(ops->cull(h), 2, "size limit: culls to 90%");
	ops->stats(h, &n, &bytes);
	ok(n == 3 && bytes == 900, "%s: 3 records, 900 bytes left",
	    ops->name);
	ok(has(ops, h, "s0") && has(ops, h, "s3") && has(ops, h, "s4") &&
	    !has(ops, h, "s1") && !has(ops, h, "s2"),
	    "%s: oldest fetched ones went", ops->name);
	ops->close(h);
}

static void
suite(const struct db_ops *ops, const struct db_config *cfg)
{
	void *h;

	if ((h = fresh(ops, cfg)) == NULL) {
		ok(0, "%s: open: %s", ops->name, why);
		return;
	}
	ok(1, "%s: open", ops->name);
	t_records(ops, h);
	ok(ops->begin(h) == 0, "%s: begin", ops->name);
	t_queries(ops, h);
	ok(ops->commit(h) == 0, "%s: commit", ops->name);
	t_busy(ops, h);
	ops->close(h);
	t_cull_count(ops, cfg);
	t_cull_size(ops, cfg);
}

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
	char dir[] = "/tmp/t_db.XXXXXX", path[64], side[80];
	struct db_config cfg = { NULL, 0, 0, NULL };

	t_common();
	suite(&db_memory_ops, &cfg);
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	snprintf(path, sizeof(path), "%s/tasks.db", dir);
	cfg.path = path;
	suite(&db_sqlite_ops, &cfg);
	t_sqlite_persists(path);
	t_sqlite_file(path);
	t_sqlite_modes(path);
	t_none();

	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	ok(rmdir(dir) == 0, "temp directory removed");
	return tap_done();
}
