/*
 * db.c - the DB thread: the only place a task-history backend runs.
 *
 * The event loop must never wait for a disk, so every DB operation is a
 * struct dbop handed to this thread over an inproc PAIR socket (the
 * pointer travels, not the data).  The thread takes whatever operations
 * are queued, runs them inside one transaction that it commits at most
 * COMMIT_MS later (so SQLite commits a few times a second, not once per
 * task) and, for queries, builds the complete signed
 * reply and hands the op back over the same PAIR; the loop only sends it.
 * Operations are processed in order, so a query sees every write queued
 * before it.
 *
 * Ownership: an op belongs to the loop until it is sent, then to the
 * thread, then (queries only) to the loop again, which frees it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubd.h"

#define BATCH_MAX	4096	/* ops per transaction */
#define CULL_EVERY	1024	/* writes between retention checks */
#define COMMIT_MS	50	/* longest a write waits for its commit */
#define FLUSH_MS	20	/* longest a write waits in the loop */
#define FLUSH_MAX	512	/* writes handed over in one message */

enum dbop_kind { DBOP_PUT, DBOP_UPDATE, DBOP_QUERY, DBOP_QUIT };

struct dbop {
	enum dbop_kind	 kind;
	struct db_record rec;		/* put */
	char		*msg_id;	/* update */
	json_t		*fields;
	struct db_bufs	 rbufs;
	int		 has_rbufs;
	int		 fetched;
	char		 rid[256];	/* query: who asked */
	size_t		 ridlen;
	char		 type[64];
	json_t		*header, *content, *extra;
	struct ipp_frames out;		/* the reply, built by the thread */
	json_t		*resub;		/* resubmit: records to send again */
	struct db_bufs	*resub_bufs;
};

struct hubdb {
	const struct db_ops *ops;
	void		*be;
	pthread_t	 thr;
	int		 running;
	void		*loop_end, *thr_end;
	struct ipp_session sess;	/* the thread signs its replies */
	pthread_mutex_t	 mtx;		/* guards the two counters */
	long		 records;
	long long	 bytes;
	struct dbop	**pend;		/* loop side: writes not yet handed over */
	int		 npend, pendcap;
	struct ipp_map	*pendput;	/* msg_id -> pending put, for merging */
	struct ipp_map	*pendupd;	/* msg_id -> pending update, likewise */
	struct hub	*hub;		/* whose loop polls loop_end */
	double		 flush_at;	/* monotonic; 1e300 when none pending */
};

static void
dbop_free(struct dbop *op)
{
	int i, n;

	if (op == NULL)
		return;
	db_record_release(&op->rec);
	free(op->msg_id);
	json_decref(op->fields);
	db_bufs_release(&op->rbufs);
	json_decref(op->header);
	json_decref(op->content);
	json_decref(op->extra);
	ipp_frames_release(&op->out);
	n = op->resub ? (int)json_array_size(op->resub) : 0;
	for (i = 0; op->resub_bufs != NULL && i < n; i++)
		db_bufs_release(&op->resub_bufs[i]);
	free(op->resub_bufs);
	json_decref(op->resub);
	free(op);
}

static struct dbop *
dbop_new(enum dbop_kind k)
{
	struct dbop *op = xcalloc(1, sizeof(*op));

	op->kind = k;
	db_record_init(&op->rec);
	ipp_frames_init(&op->out);
	return op;
}

static void
post(void *sock, struct dbop *op)
{
	while (zmq_send(sock, &op, sizeof(op), 0) == -1) {
		if (errno == EINTR)
			continue;
		log_warnx("DB queue: %s", zmq_strerror(errno));
		dbop_free(op);
		return;
	}
}

/* ----------------------------------------------------- thread: queries */

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

/* ---------------------------------------------------- thread: the loop */

static void
run_op(struct hubdb *db, struct dbop *op, long *writes)
{
	char why[512];
	size_t i;

	switch (op->kind) {
	case DBOP_PUT:
		if (db->ops->put(db->be, &op->rec, why, sizeof(why)) == -1)
			log_warnx("cannot store task record: %s", why);
		(*writes)++;
		dbop_free(op);
		break;
	case DBOP_UPDATE:
		if (db->ops->update(db->be, op->msg_id, op->fields,
		    op->has_rbufs ? &op->rbufs : NULL, op->fetched, why,
		    sizeof(why)) == -1 && errno != ENOENT && errno != ENODATA)
			log_warnx("cannot update task record '%s': %s",
			    op->msg_id, why);
		(*writes)++;
		dbop_free(op);
		break;
	case DBOP_QUERY:
		for (i = 0; i < sizeof(db_queries) / sizeof(db_queries[0]); i++)
			if (strcmp(db_queries[i].type, op->type) == 0)
				db_queries[i].fn(db, op);
		post(db->thr_end, op);
		break;
	case DBOP_QUIT:
		break;
	}
}

/*
 * Commit what the open transaction holds and publish the new counters.
 * Retention is applied here, right after a commit, so that it never
 * drops a record whose final update is still in flight.
 */
static void
db_commit(struct hubdb *db, long writes, long *since_cull, int force_cull)
{
	long culled, recs;
	long long bytes;

	db->ops->commit(db->be);
	if (writes - *since_cull >= CULL_EVERY || force_cull) {
		*since_cull = writes;
		if ((culled = db->ops->cull(db->be)) > 0)
			log_info("task history limit reached: dropped "
			    "%ld finished, fetched records", culled);
	}
	db->ops->stats(db->be, &recs, &bytes);
	pthread_mutex_lock(&db->mtx);
	db->records = recs;
	db->bytes = bytes;
	pthread_mutex_unlock(&db->mtx);
}

/*
 * A transaction stays open for at most COMMIT_MS after its first write:
 * at a few hundred tasks a second a commit per wake-up costs more than
 * the writes themselves (WAL pages rewritten for one or two rows), while
 * a short timer groups them.  ipcontroller commits every 2 s; we bound
 * what a kill -9 can lose to COMMIT_MS.  Queries run inside the open
 * transaction and so see every earlier write.
 */
static void *
db_thread(void *arg)
{
	struct hubdb *db = arg;
	struct dbop **ops;
	zmq_pollitem_t pi = { .events = ZMQ_POLLIN };
	zmq_msg_t zm;
	long writes = 0, since_cull = 0;
	double opened = 0, left;
	size_t i, nops;
	int n, rc, quit = 0, in_txn = 0;

	pi.socket = db->thr_end;
	zmq_msg_init(&zm);
	while (!quit) {
		left = in_txn ? opened + COMMIT_MS / 1e3 - ipp_monotonic() : -1;
		if (in_txn && left <= 0)
			rc = 0;
		else
			rc = zmq_poll(&pi, 1, in_txn ? (long)(left * 1e3) + 1 :
			    -1);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			break;
		if (rc == 0) {
			if (in_txn)
				db_commit(db, writes, &since_cull, 0);
			in_txn = 0;
			continue;
		}
		for (n = 0; n < BATCH_MAX && !quit; ) {
			if (zmq_msg_recv(&zm, db->thr_end, ZMQ_DONTWAIT) == -1)
				break;
			ops = zmq_msg_data(&zm);
			nops = zmq_msg_size(&zm) / sizeof(*ops);
			for (i = 0; i < nops; i++, n++) {
				if (ops[i]->kind == DBOP_QUIT) {
					dbop_free(ops[i]);
					quit = 1;
					continue;
				}
				if (!in_txn) {
					db->ops->begin(db->be);
					in_txn = 1;
					opened = ipp_monotonic();
				}
				run_op(db, ops[i], &writes);
			}
		}
		if (in_txn && (n >= BATCH_MAX || quit)) {
			db_commit(db, writes, &since_cull, quit);
			in_txn = 0;
		}
	}
	if (in_txn)
		db_commit(db, writes, &since_cull, 0);
	zmq_msg_close(&zm);
	return NULL;
}

/* ------------------------------------------------------- loop side API */

struct hubdb *
hubdb_open(struct hub *h, const struct db_ops *ops,
    const struct db_config *cfg, char *why, size_t whylen)
{
	struct hubdb *db = xcalloc(1, sizeof(*db));
	char ep[64];
	int zero = 0;

	db->ops = ops;
	db->hub = h;
	db->flush_at = 1e300;
	if ((db->be = ops->open(cfg, why, whylen)) == NULL) {
		free(db);
		return NULL;
	}
	if (ipp_session_init(&db->sess, h->ci.key, NULL) == -1)
		fatal("session");
	pthread_mutex_init(&db->mtx, NULL);
	snprintf(ep, sizeof(ep), "inproc://hubd-db-%p", (void *)db);
	db->loop_end = zmq_socket(h->zctx, ZMQ_PAIR);
	db->thr_end = zmq_socket(h->zctx, ZMQ_PAIR);
	zmq_setsockopt(db->loop_end, ZMQ_SNDHWM, &zero, sizeof(zero));
	zmq_setsockopt(db->loop_end, ZMQ_RCVHWM, &zero, sizeof(zero));
	zmq_setsockopt(db->thr_end, ZMQ_SNDHWM, &zero, sizeof(zero));
	zmq_setsockopt(db->thr_end, ZMQ_RCVHWM, &zero, sizeof(zero));
	if (zmq_bind(db->thr_end, ep) == -1 ||
	    zmq_connect(db->loop_end, ep) == -1)
		fatalx("DB queue: %s", zmq_strerror(errno));
	if (pthread_create(&db->thr, NULL, db_thread, db) != 0)
		fatalx("cannot start the DB thread");
	db->running = 1;
	return db;
}

void
hubdb_close(struct hubdb **dbp)
{
	struct hubdb *db = *dbp;
	struct dbop *op;
	int zero = 0;

	if (db == NULL)
		return;
	if (db->running) {
		hubdb_flush(db);
		post(db->loop_end, dbop_new(DBOP_QUIT));
		pthread_join(db->thr, NULL);
	}
	/* query answers nobody will send any more */
	while (zmq_recv(db->loop_end, &op, sizeof(op), ZMQ_DONTWAIT) ==
	    sizeof(op))
		dbop_free(op);
	zmq_setsockopt(db->loop_end, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(db->thr_end, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_close(db->loop_end);
	zmq_close(db->thr_end);
	db->ops->close(db->be);
	ipp_session_release(&db->sess);
	pthread_mutex_destroy(&db->mtx);
	free(db->pend);
	if (db->pendput != NULL)
		ipp_map_free(db->pendput);
	if (db->pendupd != NULL)
		ipp_map_free(db->pendupd);
	free(db);
	*dbp = NULL;
}

void *
hubdb_socket(struct hubdb *db)
{
	return db->loop_end;
}

void
hubdb_stats(struct hubdb *db, long *records, long long *bytes)
{
	pthread_mutex_lock(&db->mtx);
	*records = db->records;
	*bytes = db->bytes;
	pthread_mutex_unlock(&db->mtx);
}

/*
 * Writes wait in the loop for up to FLUSH_MS and then travel together, as
 * one message of pointers: handing each over on its own costs a wake-up
 * of the DB thread per message (a few per task), which at a few hundred
 * tasks a second is most of what the thread does.  Anything that must
 * see them - a query, the end - flushes first, so order is kept.
 */
void
hubdb_flush(struct hubdb *db)
{
	size_t len = (size_t)db->npend * sizeof(*db->pend);
	int i;

	if (db->npend == 0)
		return;
	hub_sent(db->hub, db->loop_end);
	while (zmq_send(db->loop_end, db->pend, len, 0) == -1) {
		if (errno == EINTR)
			continue;
		log_warnx("DB queue: %s", zmq_strerror(errno));
		for (i = 0; i < db->npend; i++)
			dbop_free(db->pend[i]);
		break;
	}
	db->npend = 0;
	db->flush_at = 1e300;
	if (db->pendput != NULL && ipp_map_count(db->pendput) > 0) {
		ipp_map_free(db->pendput);
		db->pendput = NULL;
	}
	if (db->pendupd != NULL && ipp_map_count(db->pendupd) > 0) {
		ipp_map_free(db->pendupd);
		db->pendupd = NULL;
	}
}

double
hubdb_next_flush(struct hubdb *db)
{
	return db->flush_at;
}

static void
enqueue(struct hubdb *db, struct dbop *op)
{
	if (db->npend == db->pendcap) {
		db->pendcap = db->pendcap ? db->pendcap * 2 : 64;
		db->pend = xrealloc(db->pend, db->pendcap,
		    sizeof(*db->pend));
	}
	db->pend[db->npend++] = op;
	if (db->npend == 1)
		db->flush_at = ipp_monotonic() + FLUSH_MS / 1e3;
	if (db->npend >= FLUSH_MAX)
		hubdb_flush(db);
}

void
hubdb_put(struct hubdb *db, struct db_record *rec)
{
	struct dbop *op = dbop_new(DBOP_PUT);
	const char *id;

	op->rec = *rec;
	db_record_init(rec);
	id = json_string_value(json_object_get(op->rec.fields, "msg_id"));
	if (id != NULL) {
		if (db->pendput == NULL && (db->pendput = ipp_map_new()) == NULL)
			fatalx("out of memory");
		if (ipp_map_put(db->pendput, id, op) == -1)
			fatalx("out of memory");
	}
	enqueue(db, op);
}

/*
 * Most tasks end within FLUSH_MS of their submission, so their updates
 * meet the insert still waiting here: fold them in, and the DB thread
 * writes one row once instead of inserting and then rewriting it.  A task
 * that waited longer in a queue still sends its start, its outputs and
 * its end within a few milliseconds: those fold into one pending update.
 * Either way the result is what the updates would have made of the
 * stored record, in order, since a later field simply replaces an
 * earlier one.  fields and rbufs are taken.
 */
static int
merge_into(json_t *into, struct db_bufs *into_rbufs, int *into_fetched,
    int *has_rbufs, json_t *fields, struct db_bufs *rbufs, int fetched)
{
	if (fields != NULL && json_object_update(into, fields) == -1)
		return 0;
	if (rbufs != NULL) {
		db_bufs_release(into_rbufs);
		*into_rbufs = *rbufs;
		rbufs->v = NULL;
		rbufs->n = 0;
		if (has_rbufs != NULL)
			*has_rbufs = 1;
	}
	if (fetched >= 0)
		*into_fetched = fetched;
	return 1;
}

static int
merge_update(struct hubdb *db, const char *msg_id, json_t *fields,
    struct db_bufs *rbufs, int fetched)
{
	struct dbop *op;

	if (db->pendput != NULL &&
	    (op = ipp_map_get(db->pendput, msg_id)) != NULL)
		return merge_into(op->rec.fields, &op->rec.result_buffers,
		    &op->rec.fetched, NULL, fields, rbufs, fetched);
	if (db->pendupd != NULL &&
	    (op = ipp_map_get(db->pendupd, msg_id)) != NULL) {
		if (op->fields == NULL && fields != NULL &&
		    (op->fields = json_object()) == NULL)
			return 0;
		return merge_into(op->fields, &op->rbufs, &op->fetched,
		    &op->has_rbufs, fields, rbufs, fetched);
	}
	return 0;
}

void
hubdb_update(struct hubdb *db, const char *msg_id, json_t *fields_new,
    struct db_bufs *rbufs, int fetched)
{
	struct dbop *op;

	if (merge_update(db, msg_id, fields_new, rbufs, fetched)) {
		json_decref(fields_new);
		return;
	}
	op = dbop_new(DBOP_UPDATE);
	op->msg_id = xstrdup(msg_id);
	/* a copy of our own, so that later updates can be merged into it */
	op->fields = fields_new != NULL ? json_copy(fields_new) : NULL;
	json_decref(fields_new);
	if (rbufs != NULL) {
		op->rbufs = *rbufs;
		op->has_rbufs = 1;
		rbufs->v = NULL;
		rbufs->n = 0;
	}
	op->fetched = fetched;
	if (db->pendupd == NULL && (db->pendupd = ipp_map_new()) == NULL)
		fatalx("out of memory");
	if (ipp_map_put(db->pendupd, op->msg_id, op) == -1)
		fatalx("out of memory");
	enqueue(db, op);
}

void
hubdb_query(struct hubdb *db, const void *rid, size_t ridlen,
    struct ipp_msg *req, json_t *extra_new)
{
	struct dbop *op = dbop_new(DBOP_QUERY);

	op->ridlen = ridlen < sizeof(op->rid) ? ridlen : sizeof(op->rid);
	memcpy(op->rid, rid, op->ridlen);
	snprintf(op->type, sizeof(op->type), "%s", req->msg_type);
	op->header = json_incref(req->header);
	op->content = json_incref(req->content);
	op->extra = extra_new;
	hubdb_flush(db);
	hub_sent(db->hub, db->loop_end);	/* the loop polls this PAIR */
	post(db->loop_end, op);
}

/* An answer from the DB thread: send it (resubmissions first run here). */
int
query_db_result(struct hub *h, int arg)
{
	struct dbop *op;

	if (zmq_recv(h->db_pair, &op, sizeof(op), ZMQ_DONTWAIT) != sizeof(op))
		return 0;
	if (op->out.n == 0 && op->resub != NULL)
		query_resubmit(h, op->rid, op->ridlen, op->header, op->resub,
		    op->resub_bufs);
	else if (op->out.n > 0)
		hub_send(h, h->reg, &op->out);
	dbop_free(op);
	return 1;
}
