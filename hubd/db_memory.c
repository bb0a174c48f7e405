/*
 * db_memory.c - the in-memory task history (hubd --dictdb), the C side of
 * ipyparallel's DictDB.  Records live in a hash table keyed by msg_id and
 * on a list kept in submitted order, which is the order find() reports
 * and the order culling drops the oldest from.  Nothing survives a
 * restart.
 *
 * Records are validated the way the SQLite backend must store them
 * (known keys, ISO dates, strings in the text columns) and every absent
 * key is filled in as null, so both backends hand back the same record
 * for the same put.
 */
#include <sys/queue.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipp.h"
#include "db.h"

struct mem_rec {
	TAILQ_ENTRY(mem_rec)	 entry;		/* submitted order */
	struct mem_rec		*hnext;		/* hash chain */
	char			*id;		/* owned; == fields.msg_id */
	unsigned long		 hash;
	double			 when;		/* submitted; -inf when null */
	size_t			 bytes;		/* both buffer lists */
	struct db_record	 rec;
};

TAILQ_HEAD(mem_order, mem_rec);

struct memdb {
	struct mem_rec		**bucket;
	size_t			  nbucket;	/* a power of two */
	struct mem_order	  order;
	struct db_usage		  use;
	/* Set while find() runs a callback: a write then could free the
	 * record the iteration stands on. */
	int			  busy;
};

static unsigned long
hash_id(const char *s)
{
	unsigned long h = 2166136261UL;		/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619UL;
	return h;
}

static struct mem_rec **
slot(struct memdb *m, const char *id, unsigned long h)
{
	struct mem_rec **pp;

	for (pp = &m->bucket[h & (m->nbucket - 1)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if ((*pp)->hash == h && strcmp((*pp)->id, id) == 0)
			break;
	return pp;
}

/* Best effort: a table that cannot grow still works, with longer chains. */
static void
grow(struct memdb *m)
{
	struct mem_rec **nb, *r, *next;
	size_t n = m->nbucket * 2, i;

	if ((size_t)m->use.nrec < m->nbucket ||
	    (nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < m->nbucket; i++) {
		for (r = m->bucket[i]; r != NULL; r = next) {
			next = r->hnext;
			r->hnext = nb[r->hash & (n - 1)];
			nb[r->hash & (n - 1)] = r;
		}
	}
	free(m->bucket);
	m->bucket = nb;
	m->nbucket = n;
}

static double
submitted_of(const json_t *fields)
{
	const json_t *v = json_object_get(fields, "submitted");

	return json_is_string(v) ? ipp_iso_parse(json_string_value(v)) :
	    -INFINITY;
}

/* Records mostly arrive in submitted order, so search from the tail.
 * Equal instants keep arrival order, as SQLite's rowid does. */
static void
place(struct memdb *m, struct mem_rec *r)
{
	struct mem_rec *p;

	for (p = TAILQ_LAST(&m->order, mem_order); p != NULL;
	    p = TAILQ_PREV(p, mem_order, entry))
		if (p->when <= r->when)
			break;
	if (p == NULL)
		TAILQ_INSERT_HEAD(&m->order, r, entry);
	else
		TAILQ_INSERT_AFTER(&m->order, p, r, entry);
}

static void
free_rec(struct mem_rec *r)
{
	db_record_release(&r->rec);
	free(r->id);
	free(r);
}

static void
unlink_rec(struct memdb *m, struct mem_rec **pp)
{
	struct mem_rec *r = *pp;

	*pp = r->hnext;
	TAILQ_REMOVE(&m->order, r, entry);
	m->use.nrec--;
	m->use.bytes -= r->bytes;
	free_rec(r);
}

static void *
mem_open(const struct db_config *cfg, char *why, size_t whylen)
{
	struct memdb *m;

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->bucket = calloc(64, sizeof(*m->bucket))) == NULL) {
		free(m);
		db_fail(ENOMEM, why, whylen, "out of memory");
		return NULL;
	}
	m->nbucket = 64;
	TAILQ_INIT(&m->order);
	db_usage_init(&m->use, cfg);
	return m;
}

static void
mem_close(void *h)
{
	struct memdb *m = h;
	struct mem_rec *r;

	if (m == NULL)
		return;
	while ((r = TAILQ_FIRST(&m->order)) != NULL) {
		TAILQ_REMOVE(&m->order, r, entry);
		free_rec(r);
	}
	free(m->bucket);
	free(m);
}

static int
mem_put(void *h, const struct db_record *rec, char *why, size_t whylen)
{
	struct memdb *m = h;
	struct mem_rec *r, **pp;
	const char *id;
	size_t i;

	if (m->busy)
		return db_fail(EBUSY, why, whylen, "put during find");
	if (db_check_fields(rec->fields, NULL, why, whylen) == -1)
		return -1;
	id = json_string_value(json_object_get(rec->fields, "msg_id"));
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto nomem;
	if ((r->id = strdup(id)) == NULL ||
	    db_record_copy(&r->rec, rec) == -1) {
		free(r->id);
		free(r);
		goto nomem;
	}
	for (i = 0; db_record_keys[i] != NULL; i++) {
		const char *key = db_record_keys[i];

		if (strcmp(key, "buffers") == 0 ||
		    strcmp(key, "result_buffers") == 0 ||
		    json_object_get(r->rec.fields, key) != NULL)
			continue;
		if (json_object_set_new(r->rec.fields, key, json_null()) ==
		    -1) {
			free_rec(r);
			goto nomem;
		}
	}
	r->rec.fetched = rec->fetched != 0;
	r->hash = hash_id(r->id);
	r->when = submitted_of(r->rec.fields);
	r->bytes = db_bufs_size(&r->rec.buffers) +
	    db_bufs_size(&r->rec.result_buffers);

	/* Nothing can fail from here on. */
	if (*(pp = slot(m, r->id, r->hash)) != NULL)
		unlink_rec(m, pp);
	grow(m);
	pp = &m->bucket[r->hash & (m->nbucket - 1)];
	r->hnext = *pp;
	*pp = r;
	place(m, r);
	m->use.nrec++;
	m->use.bytes += r->bytes;
	return 0;
nomem:
	return db_fail(ENOMEM, why, whylen, "out of memory storing '%s'", id);
}

static int
mem_update(void *h, const char *msg_id, const json_t *fields,
    const struct db_bufs *rbufs, int fetched, char *why, size_t whylen)
{
	struct memdb *m = h;
	struct mem_rec *r;
	struct db_bufs nb = { NULL, 0 };
	json_t *merged = NULL, *add = NULL;
	size_t oldr;

	if (m->busy)
		return db_fail(EBUSY, why, whylen, "update during find");
	if (fields != NULL &&
	    db_check_fields(fields, msg_id, why, whylen) == -1)
		return -1;
	if ((r = *slot(m, msg_id, hash_id(msg_id))) == NULL)
		return db_fail(ENOENT, why, whylen, "no such msg_id '%s'",
		    msg_id);
	if (fields != NULL) {
		/* A shallow copy shares the untouched values with the old
		 * fields; the caller's values are deep-copied since the
		 * caller may change them after we return. */
		if ((merged = json_copy(r->rec.fields)) == NULL ||
		    (add = json_deep_copy(fields)) == NULL ||
		    json_object_update(merged, add) == -1)
			goto nomem;
		json_decref(add);
		add = NULL;
	}
	if (rbufs != NULL && db_bufs_copy(&nb, rbufs) == -1)
		goto nomem;

	if (merged != NULL) {
		json_decref(r->rec.fields);
		r->rec.fields = merged;
		if (json_object_get(fields, "submitted") != NULL) {
			TAILQ_REMOVE(&m->order, r, entry);
			r->when = submitted_of(merged);
			place(m, r);
		}
	}
	if (rbufs != NULL) {
		oldr = db_bufs_size(&r->rec.result_buffers);
		db_bufs_release(&r->rec.result_buffers);
		r->rec.result_buffers = nb;
		r->bytes = r->bytes - oldr + db_bufs_size(&nb);
		m->use.bytes = m->use.bytes - oldr + db_bufs_size(&nb);
	}
	if (fetched >= 0)
		r->rec.fetched = fetched != 0;
	return 0;
nomem:
	json_decref(merged);
	json_decref(add);
	return db_fail(ENOMEM, why, whylen, "out of memory updating '%s'",
	    msg_id);
}

static int
mem_get(void *h, const char *msg_id, struct db_record *out, char *why,
    size_t whylen)
{
	struct memdb *m = h;
	struct mem_rec *r;

	if ((r = *slot(m, msg_id, hash_id(msg_id))) == NULL)
		return db_fail(ENOENT, why, whylen, "no such msg_id '%s'",
		    msg_id);
	if (db_record_copy(out, &r->rec) == -1)
		return db_fail(ENOMEM, why, whylen,
		    "out of memory copying '%s'", msg_id);
	return 0;
}

static int
mem_find(void *h, const json_t *query, db_iter_fn fn, void *arg, char *why,
    size_t whylen)
{
	struct memdb *m = h;
	struct mem_rec *r;

	if (m->busy)
		return db_fail(EBUSY, why, whylen, "find during find");
	if (db_query_check(query, why, whylen) == -1)
		return -1;
	m->busy = 1;
	TAILQ_FOREACH(r, &m->order, entry) {
		if (db_query_match(query, r->rec.fields, NULL, 0) == 1 &&
		    fn(arg, &r->rec) != 0)
			break;
	}
	m->busy = 0;
	return 0;
}

static int
mem_drop(void *h, const char *msg_id, char *why, size_t whylen)
{
	struct memdb *m = h;
	struct mem_rec **pp;

	if (m->busy)
		return db_fail(EBUSY, why, whylen, "drop during find");
	if (*(pp = slot(m, msg_id, hash_id(msg_id))) == NULL)
		return db_fail(ENOENT, why, whylen, "no such msg_id '%s'",
		    msg_id);
	unlink_rec(m, pp);
	return 0;
}

static int
mem_begin(void *h)
{
	return 0;
}

static int
mem_commit(void *h)
{
	return 0;
}

/*
 * Drop the oldest records that nobody can still ask for (completed and
 * delivered) until the store is down to db_usage_targets.  Pending or
 * undelivered records are never dropped, even when that leaves the store
 * over its limits.
 */
static long
mem_cull(void *h)
{
	struct memdb *m = h;
	struct mem_rec *r, *next;
	long target_n, culled = 0;
	long long target_b;
	const json_t *done;

	if (m->busy) {
		errno = EBUSY;
		return -1;
	}
	db_usage_targets(&m->use, &target_n, &target_b);
	for (r = TAILQ_FIRST(&m->order); r != NULL &&
	    (m->use.nrec > target_n || m->use.bytes > target_b); r = next) {
		next = TAILQ_NEXT(r, entry);
		done = json_object_get(r->rec.fields, "completed");
		if (!r->rec.fetched || done == NULL || json_is_null(done))
			continue;
		unlink_rec(m, slot(m, r->id, r->hash));
		culled++;
	}
	return culled;
}

static void
mem_stats(void *h, long *records, long long *bytes)
{
	struct memdb *m = h;

	db_usage_stats(&m->use, records, bytes);
}

const struct db_ops db_memory_ops = {
	.name = "memory",
	.open = mem_open,
	.close = mem_close,
	.put = mem_put,
	.update = mem_update,
	.get = mem_get,
	.find = mem_find,
	.drop = mem_drop,
	.begin = mem_begin,
	.commit = mem_commit,
	.cull = mem_cull,
	.stats = mem_stats,
};
