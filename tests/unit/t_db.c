/*
 * t_db.c - unit tests for hubd's task-history backends (hubd/db_*.c).
 * One suite runs against the memory and the SQLite backend (a file in a
 * private temp directory, removed at the end), so both answer every
 * query the same way: records, queries, writes from inside a find, and
 * culling by count and by size.  t_dbfile.c checks SQLite's file itself,
 * the none backend and the shared helpers; db_test.h has what both use.
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

#define MB	(1024 * 1024)

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

int
main(void)
{
	char dir[] = "/tmp/t_db.XXXXXX", path[64];
	struct db_config cfg = { NULL, 0, 0, NULL };

	suite(&db_memory_ops, &cfg);
	if (db_tmp_make(dir, path, sizeof(path)) == -1) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	cfg.path = path;
	suite(&db_sqlite_ops, &cfg);
	ok(db_tmp_remove(dir, path) == 0, "temp directory removed");
	return tap_done();
}
