/*
 * query.c - the registration/query socket: one ROUTER where engines
 * register and clients ask questions.  Requests are dispatched from a
 * table by msg_type; anything else gets a hub_error reply, as from
 * ipcontroller ("Bad Message Type").
 *
 * Questions about the task history (result, history, db, purge,
 * resubmit) need the DB, which lives on the DB thread: the loop adds what
 * only it knows (which ids are still pending, engine uuids) and hands the
 * request over; the thread answers through db_pair and the loop sends the
 * answer (query_db_result).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubd.h"

struct query_ctx {
	struct hub	*h;
	const void	*rid;
	size_t		 ridlen;
	struct ipp_msg	*m;
};

static void
reply(struct query_ctx *q, const char *type, json_t *content_new)
{
	hub_reply(q->h, q->h->reg, q->rid, q->ridlen, type, q->m->header,
	    content_new, NULL, 0);
}

static void
q_registration(struct query_ctx *q)
{
	registry_register(q->h, q->rid, q->ridlen, q->m);
}

static void
q_unregistration(struct query_ctx *q)
{
	json_t *id = json_object_get(q->m->content, "id");
	struct engine *e;

	/* no reply, as ipcontroller */
	if (!json_is_integer(id) || (e = engine_by_id(q->h,
	    (long)json_integer_value(id))) == NULL) {
		hub_badinput(q->h, "unregistration_request for unknown engine");
		return;
	}
	registry_unregister(q->h, e, "engine asked to unregister");
}

static void
q_connection(struct query_ctx *q)
{
	reply(q, "connection_reply", json_pack("{s:s, s:o, s:o}", "status",
	    "ok", "engines", registry_engines_json(q->h, 0), "engine_info",
	    registry_engines_json(q->h, 1)));
	notify_connection_replied(q->h);
}

/*
 * targets: null (all), an int, a uuid, or a list of those; fills ids[].
 * -1 with an error content ready in *err.
 */
static int
resolve_targets(struct hub *h, json_t *targets, struct engine ***out, int *n,
    json_t **err)
{
	struct engine *e, **v;
	json_t *x, *one = NULL;
	size_t i;
	int k = 0;

	if (targets == NULL || json_is_null(targets)) {
		v = xcalloc((size_t)h->nregistered + 1, sizeof(*v));
		for (i = 0; i < (size_t)h->nengine_slots; i++)
			if ((e = h->engines_by_id[i]) != NULL &&
			    e->state == ENGINE_REGISTERED)
				v[k++] = e;
		*out = v;
		*n = k;
		return 0;
	}
	if (!json_is_array(targets))
		targets = one = json_pack("[O]", targets);
	v = xcalloc(json_array_size(targets) + 1, sizeof(*v));
	json_array_foreach(targets, i, x) {
		e = json_is_integer(x) ? engine_by_id(h,
		    (long)json_integer_value(x)) : json_is_string(x) ?
		    engine_by_uuid(h, json_string_value(x)) : NULL;
		if (e == NULL || e->state != ENGINE_REGISTERED) {
			char *s = ipp_json_dump(x);

			*err = ipp_error_content("IndexError",
			    "No Such Engine: %s", s ? s : "?");
			free(s);
			free(v);
			json_decref(one);
			return -1;
		}
		v[k++] = e;
	}
	json_decref(one);
	if (k == 0) {
		*err = ipp_error_content("IndexError", "No Engines Registered");
		free(v);
		return -1;
	}
	*out = v;
	*n = k;
	return 0;
}

/* The engines a request's "targets" names, or NULL after answering the
 * client with hub_error. */
static struct engine **
query_targets(struct query_ctx *q, int *n)
{
	struct engine **v;
	json_t *err;

	if (resolve_targets(q->h, json_object_get(q->m->content, "targets"),
	    &v, n, &err) == -1) {
		reply(q, "hub_error", err);
		return NULL;
	}
	return v;
}

static json_t *
ids_of(struct taskq *tq, int queue, int verbose, long *count)
{
	json_t *a = verbose ? json_array() : NULL;
	struct task *t;
	long n = 0;

	TAILQ_FOREACH(t, tq, q) {
		if (queue >= 0 && (int)t->queue != queue)
			continue;
		n++;
		if (a != NULL)
			json_array_append_new(a, json_string(t->msg_id));
	}
	*count = n;
	return a;
}

/* The engines a query names (*v, *n) and its reply so far, or NULL. */
static json_t *
targets_reply(struct query_ctx *q, struct engine ***v, int *n)
{
	if ((*v = query_targets(q, n)) == NULL)
		return NULL;
	return json_pack("{s:s}", "status", "ok");
}

/*
 * The reply of a query about engines: "status": "ok" and, keyed by each
 * named engine's id as text, what entry() says of it; NULL if the query
 * named no valid engine (query_targets has answered it then).
 */
static json_t *
per_engine(struct query_ctx *q, json_t *(*entry)(struct engine *, int),
    int verbose)
{
	struct engine **v;
	json_t *c;
	char key[32];
	int n, i;

	if ((c = targets_reply(q, &v, &n)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		/* ipyparallel keys load_reply by bytes(id), which is useless */
		snprintf(key, sizeof(key), "%d", v[i]->id);
		json_object_set_new(c, key, entry(v[i], verbose));
	}
	free(v);
	return c;
}

static json_t *
queue_entry(struct engine *e, int verbose)
{
	json_t *qa, *ta;
	long nq, nt;

	qa = ids_of(&e->mux_pending, -1, verbose, &nq);
	ta = ids_of(&e->task_pending, -1, verbose, &nt);
	/* verbose completed lists would need the whole history */
	return json_pack("{s:o, s:o, s:I}", "queue", verbose ? qa :
	    json_integer(nq), "tasks", verbose ? ta : json_integer(nt),
	    "completed", (json_int_t)e->ncompleted);
}

static json_t *
load_entry(struct engine *e, int verbose)
{
	long nq, nt;

	(void)verbose;
	ids_of(&e->mux_pending, -1, 0, &nq);
	ids_of(&e->task_pending, -1, 0, &nt);
	return json_integer(nq + nt);
}

static void
q_queue(struct query_ctx *q)
{
	int verbose = json_is_true(json_object_get(q->m->content, "verbose"));
	json_t *c;

	if ((c = per_engine(q, queue_entry, verbose)) == NULL)
		return;
	if (verbose) {
		json_t *ua = json_array();
		struct task *t;

		TAILQ_FOREACH(t, &q->h->waiting, wq)
			json_array_append_new(ua, json_string(t->msg_id));
		json_object_set_new(c, "unassigned", ua);
	} else
		json_object_set_new(c, "unassigned",
		    json_integer(q->h->nwaiting));
	reply(q, "queue_reply", c);
}

static void
q_load(struct query_ctx *q)
{
	json_t *c;

	if ((c = per_engine(q, load_entry, 0)) != NULL)
		reply(q, "load_reply", c);
}

static void
q_shutdown(struct query_ctx *q)
{
	reply(q, "shutdown_reply", json_pack("{s:s}", "status", "ok"));
	hub_notify(q->h, "shutdown_notification", json_pack("{s:s}",
	    "status", "ok"));
	log_info("shutdown requested by a client");
	/* give the replies a moment on the wire before sockets close */
	q->h->shutdown_at = ipp_monotonic() + 0.1;
}

/* Which of these msg_ids are still in flight (only the loop knows). */
static json_t *
pending_of(struct hub *h, json_t *ids)
{
	json_t *p = json_array(), *x;
	struct task *t;
	size_t i;

	if (json_is_string(ids)) {
		t = task_find(h, json_string_value(ids));
		if (t != NULL && t->state != TS_DONE)
			json_array_append(p, ids);
		return p;
	}
	json_array_foreach(ids, i, x)
		if (json_is_string(x) && (t = task_find(h,
		    json_string_value(x))) != NULL && t->state != TS_DONE)
			json_array_append(p, x);
	return p;
}

static void
q_to_db(struct query_ctx *q)
{
	json_t *extra = json_object(), *eids, *x, *uuids;
	struct engine *e;
	size_t i;

	json_object_set_new(extra, "pending", pending_of(q->h,
	    json_object_get(q->m->content, "msg_ids")));
	if (strcmp(q->m->msg_type, "purge_request") == 0 &&
	    json_is_array(eids = json_object_get(q->m->content,
	    "engine_ids"))) {
		uuids = json_array();
		json_array_foreach(eids, i, x) {
			e = json_is_integer(x) ? engine_by_id(q->h,
			    (long)json_integer_value(x)) : NULL;
			if (e == NULL) {
				char *s = ipp_json_dump(x);

				reply(q, "purge_reply", ipp_error_content(
				    "IndexError", "No such engine: %s",
				    s ? s : "?"));
				free(s);
				json_decref(uuids);
				json_decref(extra);
				return;
			}
			json_array_append_new(uuids, json_string(e->uuid));
		}
		json_object_set_new(extra, "engine_uuids", uuids);
	}
	hubdb_query(q->h->db, q->rid, q->ridlen, q->m, extra);
}

static const struct {
	const char	*type;
	void		 (*fn)(struct query_ctx *);
} query_table[] = {
	{ "registration_request", q_registration },
	{ "unregistration_request", q_unregistration },
	{ "connection_request", q_connection },
	{ "queue_request", q_queue },
	{ "load_request", q_load },
	{ "result_request", q_to_db },
	{ "history_request", q_to_db },
	{ "db_request", q_to_db },
	{ "purge_request", q_to_db },
	{ "resubmit_request", q_to_db },
	{ "shutdown_request", q_shutdown },
};

int
query_dispatch(struct hub *h, int arg)
{
	struct query_ctx q;
	struct ipp_msg m;
	size_t i;
	int rc;

	ipp_msg_init(&m);
	if ((rc = hub_recv(h, h->reg, &m, "query", 1)) <= 0) {
		ipp_msg_release(&m);
		return rc != 0;
	}
	q.h = h;
	q.m = &m;
	q.rid = ipp_frame_data(&m.fr, 0);
	q.ridlen = ipp_frame_len(&m.fr, 0);
	for (i = 0; i < sizeof(query_table) / sizeof(query_table[0]); i++)
		if (strcmp(query_table[i].type, m.msg_type) == 0) {
			log_debug("query %s", m.msg_type);
			query_table[i].fn(&q);
			goto out;
		}
	hub_badinput(h,
	    "unknown message type '%s' on query socket", m.msg_type);
	reply(&q, "hub_error", ipp_error_content("KeyError",
	    "Bad Message Type: '%s'", m.msg_type));
out:
	ipp_msg_release(&m);
	return 1;
}

/*
 * Send tasks again under new msg_ids, as ipcontroller does: the old
 * header with a fresh msg_id and date, the old header as parent, the old
 * content and buffers, load-balanced whatever queue they first went
 * through.  Results land in the DB only; clients poll result_request.
 */
void
query_resubmit(struct hub *h, const void *rid, size_t ridlen,
    const json_t *parent, json_t *records, struct db_bufs *bufs)
{
	json_t *map = json_object(), *r;
	struct ipp_msg m;
	char id[256], date[40];
	size_t i;
	int k;

	json_array_foreach(records, i, r) {
		json_t *old = json_object_get(r, "header");
		json_t *hdr = json_deep_copy(old);

		if (!json_is_object(hdr)) {
			json_decref(hdr);
			continue;
		}
		ipp_session_msg_id(&h->sess, id, sizeof(id));
		ipp_iso_now(date, sizeof(date));
		json_object_set_new(hdr, "msg_id", json_string(id));
		json_object_set_new(hdr, "date", json_string(date));
		ipp_msg_init(&m);
		if (ipp_msg_build(&h->sess, &m.fr, NULL, 0, NULL, hdr, old,
		    NULL, json_deep_copy(json_object_get(r, "content"))) == -1)
			fatalx("out of memory");
		for (k = 0; k < bufs[i].n; k++)
			ipp_frames_add(&m.fr, bufs[i].v[k].data,
			    bufs[i].v[k].len);
		if (ipp_msg_decode(&h->sess, &m, NULL, 0) == 0) {
			sched_submit(h, &m, 0, NULL);
			json_object_set_new(map, json_string_value(
			    json_object_get(r, "msg_id")), json_string(id));
			hubdb_update(h->db, json_string_value(
			    json_object_get(r, "msg_id")), json_pack("{s:s}",
			    "resubmitted", id), NULL, -1);
		}
		ipp_msg_release(&m);
	}
	hub_reply(h, h->reg, rid, ridlen, "resubmit_reply", parent,
	    json_pack("{s:s, s:o}", "status", "ok", "resubmitted", map),
	    NULL, 0);
}
