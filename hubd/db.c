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
 * before it.  This file is the thread, its transactions and the loop
 * side (batching writes, handing them over, sending the answers);
 * dbreply.c builds the answers, and dbthread.h is what the two share.
 *
 * Ownership: an op belongs to the loop until it is sent, then to the
 * thread, then (queries only) to the loop again, which frees it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbthread.h"

#define BATCH_MAX	4096	/* ops per transaction */
#define CULL_EVERY	1024	/* writes between retention checks */
#define COMMIT_MS	50	/* longest a write waits for its commit */
#define FLUSH_MS	20	/* longest a write waits in the loop */
#define FLUSH_MAX	512	/* writes handed over in one message */

static void
dbop_free(struct dbop *op)
{
	int i, n;

	if (op == NULL)
		return;
	db_record_release(&op->rec);
	db_raw_free(op->raw);
	db_raw_free(op->res);
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

/* ---------------------------------------------------- thread: the loop */

/*
 * The fields of raw frames r: with a backend that stores text, the few
 * scalar ones, the parts going into op->texts; else the whole trees.
 */
static int
raw_fields(struct hubdb *db, struct dbop *op, struct db_raw *r, json_t **f,
    char *why, size_t whylen)
{
	if (db->ops->update_texts != NULL &&
	    db_raw_scan(r, f, &op->texts) == 0)
		return 0;
	return (*f = db_raw_fields(r, why, whylen)) == NULL ? -1 : 0;
}

/*
 * The fields of a write whose parts came raw (see struct dbop): -1
 * with why when they cannot be built.  *fields is replaced.
 */
static int
build_fields(struct hubdb *db, struct dbop *op, json_t **fields, char *why,
    size_t whylen)
{
	json_t *f;
	int k;

	if (op->raw != NULL) {
		json_decref(*fields);
		if (raw_fields(db, op, op->raw, fields, why, whylen) == -1)
			return -1;
	}
	if (op->res != NULL) {
		if (raw_fields(db, op, op->res, &f, why, whylen) == -1)
			return -1;
		if (*fields == NULL)
			*fields = f;
		else {
			json_object_update(*fields, f);
			json_decref(f);
		}
	}
	if ((op->raw != NULL || op->res != NULL) && op->fields != NULL) {
		/* a later update of a key given as text wins */
		for (k = 0; k < op->texts.n; )
			if (json_object_get(op->fields, op->texts.key[k])) {
				op->texts.n--;
				op->texts.key[k] = op->texts.key[op->texts.n];
				op->texts.p[k] = op->texts.p[op->texts.n];
				op->texts.len[k] = op->texts.len[op->texts.n];
			} else
				k++;
		json_object_update(*fields, op->fields);
		json_decref(op->fields);
		op->fields = NULL;
	}
	return 0;
}

static void
run_op(struct hubdb *db, struct dbop *op, long *writes)
{
	char why[512];
	json_t *f = NULL;
	int rc;

	switch (op->kind) {
	case DBOP_PUT:
		rc = build_fields(db, op, &op->rec.fields, why, sizeof(why));
		op->rec.texts = op->texts.n > 0 ? &op->texts : NULL;
		if (rc == -1 ||
		    db->ops->put(db->be, &op->rec, why, sizeof(why)) == -1)
			log_warnx("cannot store task record: %s", why);
		(*writes)++;
		dbop_free(op);
		break;
	case DBOP_UPDATE:
		if (op->res != NULL) {
			if (build_fields(db, op, &f, why, sizeof(why)) == -1) {
				log_warnx("cannot update task record '%s': "
				    "%s", op->msg_id, why);
				goto done;
			}
			json_decref(op->fields);
			op->fields = f;
		}
		if ((op->texts.n > 0 ? db->ops->update_texts(db->be,
		    op->msg_id, op->fields, &op->texts, op->has_rbufs ?
		    &op->rbufs : NULL, op->fetched, why, sizeof(why)) :
		    db->ops->update(db->be, op->msg_id, op->fields,
		    op->has_rbufs ? &op->rbufs : NULL, op->fetched, why,
		    sizeof(why))) == -1 && errno != ENOENT && errno != ENODATA)
			log_warnx("cannot update task record '%s': %s",
			    op->msg_id, why);
done:
		(*writes)++;
		dbop_free(op);
		break;
	case DBOP_QUERY:
		dbreply_answer(db, op);
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
			__atomic_add_fetch(&db->taken, (long)nops,
			    __ATOMIC_RELEASE);
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
	/* so that top -H and /proc/PID/task tell it from the loop */
	pthread_setname_np(db->thr, "hubd-db");
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
		log_info("DB thread: %ld operations, at most %ld waiting",
		    db->handed, db->peak);
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

int
hubdb_forgets(const struct hubdb *db)
{
	return db->ops->forgets;
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
	db->handed += db->npend;
	db->npend = 0;
	db->flush_at = 1e300;
	if (hubdb_backlog(db) > db->peak)
		db->peak = hubdb_backlog(db);
	if (db->pendput != NULL && ipp_map_count(db->pendput) > 0) {
		ipp_map_free(db->pendput);
		db->pendput = NULL;
	}
	if (db->pendupd != NULL && ipp_map_count(db->pendupd) > 0) {
		ipp_map_free(db->pendupd);
		db->pendupd = NULL;
	}
}

/* Ops handed over or pending here that the DB thread has not taken up. */
long
hubdb_backlog(struct hubdb *db)
{
	return db->handed + db->npend -
	    __atomic_load_n(&db->taken, __ATOMIC_ACQUIRE);
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

/* Queue op, findable under key in *map until the flush. */
static void
pend(struct hubdb *db, struct ipp_map **map, const char *key,
    struct dbop *op)
{
	if (*map == NULL && (*map = ipp_map_new()) == NULL)
		fatalx("out of memory");
	if (ipp_map_put(*map, key, op) == -1)
		fatalx("out of memory");
	enqueue(db, op);
}

void
hubdb_put(struct hubdb *db, struct db_record *rec)
{
	struct dbop *op = dbop_new(DBOP_PUT);
	const char *id;

	op->rec = *rec;
	db_record_init(rec);
	id = json_string_value(json_object_get(op->rec.fields, "msg_id"));
	if (id != NULL)
		pend(db, &db->pendput, id, op);
	else
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
	json_t **into;

	if (db->pendput != NULL &&
	    (op = ipp_map_get(db->pendput, msg_id)) != NULL) {
		/* fields built on the thread come first: queue behind them */
		into = op->raw != NULL || op->res != NULL ? &op->fields :
		    &op->rec.fields;
		if (*into == NULL && fields != NULL &&
		    (*into = json_object()) == NULL)
			return 0;
		return merge_into(*into, &op->rec.result_buffers,
		    &op->rec.fetched, NULL, fields, rbufs, fetched);
	}
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

/*
 * A reply's raw fields join a pending write only when nothing was merged
 * into it after its own fields, since they are built after those.
 * 1 merged (res taken), 0 no pending write, -1 one that cannot take it.
 */
static int
merge_raw(struct hubdb *db, const char *msg_id, struct db_raw *res,
    struct db_bufs *rbufs, int fetched)
{
	struct dbop *op;

	if (db->pendput != NULL &&
	    (op = ipp_map_get(db->pendput, msg_id)) != NULL) {
		if (op->res != NULL || op->fields != NULL)
			return -1;
		op->res = res;
		merge_into(NULL, &op->rec.result_buffers, &op->rec.fetched,
		    NULL, NULL, rbufs, fetched);
		return 1;
	}
	if (db->pendupd != NULL &&
	    (op = ipp_map_get(db->pendupd, msg_id)) != NULL) {
		if (op->res != NULL || op->fields != NULL)
			return -1;
		op->res = res;
		merge_into(NULL, &op->rbufs, &op->fetched, &op->has_rbufs,
		    NULL, rbufs, fetched);
		return 1;
	}
	return 0;
}

/* An update of msg_id taking rbufs (may be NULL), without its fields. */
static struct dbop *
update_op(const char *msg_id, struct db_bufs *rbufs, int fetched)
{
	struct dbop *op = dbop_new(DBOP_UPDATE);

	op->msg_id = xstrdup(msg_id);
	if (rbufs != NULL) {
		op->rbufs = *rbufs;
		op->has_rbufs = 1;
		rbufs->v = NULL;
		rbufs->n = 0;
	}
	op->fetched = fetched;
	return op;
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
	op = update_op(msg_id, rbufs, fetched);
	/* a copy of our own, so that later updates can be merged into it */
	op->fields = fields_new != NULL ? json_copy(fields_new) : NULL;
	json_decref(fields_new);
	pend(db, &db->pendupd, op->msg_id, op);
}

void
hubdb_put_raw(struct hubdb *db, const char *msg_id, struct db_raw *raw,
    struct db_bufs *bufs)
{
	struct dbop *op = dbop_new(DBOP_PUT);

	op->raw = raw;
	op->msg_id = xstrdup(msg_id);
	op->rec.buffers = *bufs;
	bufs->v = NULL;
	bufs->n = 0;
	pend(db, &db->pendput, op->msg_id, op);
}

void
hubdb_update_raw(struct hubdb *db, const char *msg_id, struct db_raw *res,
    struct db_bufs *rbufs, int fetched)
{
	struct dbop *op;
	char why[256];
	json_t *f;
	int rc = merge_raw(db, msg_id, res, rbufs, fetched);

	if (rc == 1)
		return;
	if (rc == -1) {
		/* rare: an update already waits behind it; build it here */
		f = db_raw_fields(res, why, sizeof(why));
		db_raw_free(res);
		if (f == NULL)
			log_warnx("cannot update task record '%s': %s", msg_id,
			    why);
		hubdb_update(db, msg_id, f, rbufs, fetched);
		return;
	}
	op = update_op(msg_id, rbufs, fetched);
	op->res = res;
	pend(db, &db->pendupd, op->msg_id, op);
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
	db->handed++;
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
