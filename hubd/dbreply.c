/*
 * dbreply.c - the answers to the history queries, built on the DB thread.
 *
 * db.c hands each query (result_request, history_request, db_request,
 * purge_request, resubmit_request) to dbreply_answer() in order with the
 * writes, so a query sees every write queued before it.  The answer is
 * the complete signed reply, built here with the thread's own session so
 * that the loop only sends it; a resubmission instead fetches the
 * records, and the loop sends them to the scheduler (query.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbthread.h"

static void
answer(struct hubdb *db, struct dbop *op, const char *type, json_t *c_new,
    const struct db_bufs *bufs)
{
	struct ipp_buf id = { op->rid, op->ridlen };
	int i;

	if (ipp_msg_build(&db->sess, &op->out, &id, 1, type, NULL, op->header,
	    NULL, c_new) == -1) {
		log_warn("cannot build %s", type);
		return;
	}
	for (i = 0; bufs != NULL && i < bufs->n; i++)
		ipp_frames_add(&op->out, bufs->v[i].data, bufs->v[i].len);
}

static json_t *
db_error(int e, const char *why)
{
	if (e == ENODATA)
		return ipp_error_content("NoData", "%s", why);
	return ipp_error_content(e == ENOENT ? "KeyError" : "RuntimeError",
	    "%s", why);
}

static int
json_has_str(json_t *a, const char *s)
{
	json_t *x;
	size_t i;

	json_array_foreach(a, i, x)
		if (json_is_string(x) && strcmp(json_string_value(x), s) == 0)
			return 1;
	return 0;
}

static json_t *
io_extract(const json_t *f)
{
	static const char *k[] = { "header", "metadata", "result_metadata",
	    "result_header", "result_content", "received" };
	static const char *io[] = { "execute_input", "execute_result",
	    "error", "stdout", "stderr" };
	json_t *c = json_object(), *d = json_object(), *v;
	size_t i;

	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		v = json_object_get(f, k[i]);
		json_object_set(c, k[i], v ? v : json_null());
	}
	for (i = 0; i < sizeof(io) / sizeof(io[0]); i++) {
		v = json_object_get(f, io[i]);
		json_object_set(d, io[i], v ? v : json_null());
	}
	json_object_set_new(c, "io", d);
	return c;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
do_result(struct hubdb *db, struct dbop *op)
{
	json_t *ids = json_object_get(op->content, "msg_ids"), *x, *pend, *c;
	json_t *pending = json_object_get(op->extra, "pending");
	int status_only = json_is_true(json_object_get(op->content,
	    "status_only"));
	struct db_bufs bufs = { NULL, 0 };
	struct db_record rec;
	const char **v;
	char why[512];
	size_t i, n = 0;

	if (!json_is_array(ids)) {
		answer(db, op, "result_reply", ipp_error_content("TypeError",
		    "result_request needs a list msg_ids"), NULL);
		return;
	}
	v = xcalloc(json_array_size(ids) + 1, sizeof(*v));
	json_array_foreach(ids, i, x)
		if (json_is_string(x))
			v[n++] = json_string_value(x);
	qsort(v, n, sizeof(*v), cmp_str);
	c = json_pack("{s:s, s:[], s:[]}", "status", "ok", "pending",
	    "completed");
	pend = json_object_get(c, "pending");
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		if (json_has_str(pending, v[i])) {
			json_array_append_new(pend, json_string(v[i]));
			continue;
		}
		db_record_init(&rec);
		if (db->ops->get(db->be, v[i], &rec, why, sizeof(why)) == -1) {
			int e = errno;

			json_decref(c);
			c = e == ENOENT ? ipp_error_content("KeyError",
			    "No such message: %s", v[i]) : db_error(e, why);
			db_bufs_release(&bufs);
			break;
		}
		x = json_object_get(rec.fields, "completed");
		if (x == NULL || json_is_null(x)) {
			json_array_append_new(pend, json_string(v[i]));
		} else {
			json_array_append_new(json_object_get(c, "completed"),
			    json_string(v[i]));
			if (!status_only) {
				int k;

				json_object_set_new(c, v[i],
				    io_extract(rec.fields));
				for (k = 0; k < rec.result_buffers.n; k++)
					db_bufs_add(&bufs,
					    rec.result_buffers.v[k].data,
					    rec.result_buffers.v[k].len);
				if (!rec.fetched)
					db->ops->update(db->be, v[i], NULL,
					    NULL, 1, NULL, 0);
			}
		}
		db_record_release(&rec);
	}
	free(v);
	answer(db, op, "result_reply", c, &bufs);
	db_bufs_release(&bufs);
}

struct collect {
	json_t		*out;		/* records or ids */
	json_t		*keys;		/* projection, or NULL */
	struct db_bufs	 bufs;
	json_t		*blens, *rblens;
	int		 ids_only;
};

static int
collect_cb(void *arg, const struct db_record *rec)
{
	struct collect *cl = arg;
	json_t *r, *x;
	size_t i;
	int k;

	if (cl->ids_only) {
		json_array_append(cl->out, json_object_get(rec->fields,
		    "msg_id"));
		return 0;
	}
	if (cl->keys == NULL) {
		json_array_append_new(cl->out, json_deep_copy(rec->fields));
		return 0;
	}
	r = json_object();
	json_object_set(r, "msg_id", json_object_get(rec->fields, "msg_id"));
	json_array_foreach(cl->keys, i, x) {
		const char *key = json_string_value(x);
		const struct db_bufs *b = NULL;

		if (strcmp(key, "buffers") == 0) {
			b = &rec->buffers;
			json_array_append_new(cl->blens, json_integer(b->n));
		} else if (strcmp(key, "result_buffers") == 0) {
			b = &rec->result_buffers;
			json_array_append_new(cl->rblens, json_integer(b->n));
		} else {
			json_t *v = json_object_get(rec->fields, key);

			json_object_set(r, key, v ? v : json_null());
		}
		for (k = 0; b != NULL && k < b->n; k++)
			db_bufs_add(&cl->bufs, b->v[k].data, b->v[k].len);
	}
	json_array_append_new(cl->out, r);
	return 0;
}

static int
valid_key(const char *k)
{
	int i;

	if (strcmp(k, "buffers") == 0 || strcmp(k, "result_buffers") == 0)
		return 1;
	for (i = 0; db_record_keys[i] != NULL; i++)
		if (strcmp(db_record_keys[i], k) == 0)
			return 1;
	return 0;
}

static void
do_db(struct hubdb *db, struct dbop *op)
{
	json_t *query = json_object_get(op->content, "query");
	json_t *keys = json_object_get(op->content, "keys"), *x, *c;
	json_t *empty = NULL;
	struct collect cl;
	char why[512];
	size_t i;

	memset(&cl, 0, sizeof(cl));
	if (query == NULL || json_is_null(query))
		query = NULL;
	if (keys != NULL && json_is_null(keys))
		keys = NULL;
	if (keys != NULL) {
		if (!json_is_array(keys)) {
			answer(db, op, "db_reply", ipp_error_content(
			    "TypeError", "keys must be a list"), NULL);
			return;
		}
		json_array_foreach(keys, i, x)
			if (!json_is_string(x) ||
			    !valid_key(json_string_value(x))) {
				char *s = ipp_json_dump(x);

				answer(db, op, "db_reply", ipp_error_content(
				    "KeyError", "no such record key: %s",
				    s ? s : "?"), NULL);
				free(s);
				return;
			}
		cl.keys = keys;
		if (json_has_str(keys, "buffers"))
			cl.blens = json_array();
		if (json_has_str(keys, "result_buffers"))
			cl.rblens = json_array();
	}
	cl.out = json_array();
	if (query == NULL)
		query = empty = json_object();
	if (db_query_check(query, why, sizeof(why)) == -1 ||
	    db->ops->find(db->be, query, collect_cb, &cl, why,
	    sizeof(why)) == -1) {
		json_decref(empty);
		c = db_error(errno, why);
		json_decref(cl.out);
		json_decref(cl.blens);
		json_decref(cl.rblens);
		db_bufs_release(&cl.bufs);
		answer(db, op, "db_reply", c, NULL);
		return;
	}
	c = json_pack("{s:s, s:o, s:o, s:o}", "status", "ok", "records", cl.out,
	    "buffer_lens", cl.blens ? cl.blens : json_null(),
	    "result_buffer_lens", cl.rblens ? cl.rblens : json_null());
	json_decref(empty);
	answer(db, op, "db_reply", c, &cl.bufs);
	db_bufs_release(&cl.bufs);
}

static void
do_history(struct hubdb *db, struct dbop *op)
{
	struct collect cl;
	json_t *q = json_object();
	char why[512];

	memset(&cl, 0, sizeof(cl));
	cl.ids_only = 1;
	cl.out = json_array();
	if (db->ops->find(db->be, q, collect_cb, &cl, why, sizeof(why)) == -1) {
		json_decref(cl.out);
		answer(db, op, "history_reply", db_error(errno, why), NULL);
	} else
		answer(db, op, "history_reply", json_pack("{s:s, s:o}",
		    "status", "ok", "history", cl.out), NULL);
	json_decref(q);
}

/* Drop every record matching q; -1 with why on a backend error. */
static int
drop_matching(struct hubdb *db, json_t *q_new, char *why, size_t whylen)
{
	struct collect cl;
	json_t *x;
	size_t i;
	int rc = 0;

	memset(&cl, 0, sizeof(cl));
	cl.ids_only = 1;
	cl.out = json_array();
	if (db->ops->find(db->be, q_new, collect_cb, &cl, why, whylen) == -1)
		rc = -1;
	json_array_foreach(cl.out, i, x)
		if (db->ops->drop(db->be, json_string_value(x), why, whylen)
		    == -1 && errno != ENOENT) {
			rc = -1;
			break;
		}
	json_decref(cl.out);
	json_decref(q_new);
	return rc;
}

static void
do_purge(struct hubdb *db, struct dbop *op)
{
	json_t *ids = json_object_get(op->content, "msg_ids"), *x;
	json_t *pending = json_object_get(op->extra, "pending");
	json_t *uuids = json_object_get(op->extra, "engine_uuids");
	char why[512];
	size_t i;

	if (json_is_string(ids) && strcmp(json_string_value(ids), "all") == 0) {
		if (drop_matching(db, json_pack("{s:{s:n}}", "completed",
		    "$ne"), why, sizeof(why)) == -1)
			goto fail;
	} else if (json_array_size(pending) > 0) {
		answer(db, op, "purge_reply", ipp_error_content("IndexError",
		    "msg pending: '%s'", json_string_value(
		    json_array_get(pending, 0))), NULL);
		return;
	} else if (json_is_array(ids)) {
		json_array_foreach(ids, i, x)
			if (json_is_string(x) && db->ops->drop(db->be,
			    json_string_value(x), why, sizeof(why)) == -1 &&
			    errno != ENOENT)
				goto fail;
	}
	json_array_foreach(uuids, i, x)
		if (drop_matching(db, json_pack("{s:O, s:{s:n}}",
		    "engine_uuid", x, "completed", "$ne"), why,
		    sizeof(why)) == -1)
			goto fail;
	log_info("purged task records");
	answer(db, op, "purge_reply", json_pack("{s:s}", "status", "ok"),
	    NULL);
	return;
fail:
	answer(db, op, "purge_reply", db_error(errno, why), NULL);
}

/* Fetch what resubmission needs; the loop does the sending. */
static void
do_resubmit(struct hubdb *db, struct dbop *op)
{
	json_t *ids = json_object_get(op->content, "msg_ids"), *x, *missing;
	struct db_record rec;
	char why[512];
	size_t i, n;

	if (!json_is_array(ids)) {
		answer(db, op, "resubmit_reply", ipp_error_content(
		    "TypeError", "resubmit_request needs a list msg_ids"),
		    NULL);
		return;
	}
	n = json_array_size(ids);
	op->resub = json_array();
	op->resub_bufs = xcalloc(n + 1, sizeof(*op->resub_bufs));
	missing = json_array();
	json_array_foreach(ids, i, x) {
		db_record_init(&rec);
		if (!json_is_string(x) || db->ops->get(db->be,
		    json_string_value(x), &rec, why, sizeof(why)) == -1) {
			if (json_is_string(x) && errno != ENOENT) {
				json_decref(missing);
				answer(db, op, "resubmit_reply",
				    db_error(errno, why), NULL);
				return;
			}
			json_array_append(missing, x);
			continue;
		}
		json_array_append_new(op->resub, json_pack("{s:O, s:O, s:O}",
		    "msg_id", x, "header", json_object_get(rec.fields,
		    "header"), "content", json_object_get(rec.fields,
		    "content")));
		op->resub_bufs[json_array_size(op->resub) - 1] = rec.buffers;
		rec.buffers.v = NULL;
		rec.buffers.n = 0;
		db_record_release(&rec);
	}
	if (json_array_size(missing) > 0) {
		char *s = ipp_json_dump(missing);

		answer(db, op, "resubmit_reply", ipp_error_content("KeyError",
		    "No such msg(s): %s", s ? s : "?"), NULL);
		free(s);
	}
	json_decref(missing);
}

static const struct {
	const char	*type;
	void		 (*fn)(struct hubdb *, struct dbop *);
} db_queries[] = {
	{ "result_request", do_result },
	{ "history_request", do_history },
	{ "db_request", do_db },
	{ "purge_request", do_purge },
	{ "resubmit_request", do_resubmit },
};

void
dbreply_answer(struct hubdb *db, struct dbop *op)
{
	size_t i;

	for (i = 0; i < sizeof(db_queries) / sizeof(db_queries[0]); i++)
		if (strcmp(db_queries[i].type, op->type) == 0)
			db_queries[i].fn(db, op);
}
