/*
 * bcast.c - the broadcast view (client.broadcast_view()).
 *
 * ipcontroller runs a binary tree of broadcast schedulers; the client and
 * the engines only see its two ends, so hubd is root and leaves at once.
 * A request [client_rid, DELIM, ...] whose metadata lists
 * targets [[uuid, id], ...] is copied to each target with header.msg_id
 * "<original>_<uuid>", metadata.targets narrowed to that engine and
 * metadata.original_msg_id set, re-signed, and sent on the leaf socket the
 * engine is connected to (engine id modulo the number of leaves).
 *
 * Non-coalescing: each engine's reply goes to the client as it arrives,
 * without a routing frame.  Coalescing: the replies are gathered and one
 * message goes back, carrying the last reply's header, parent and content,
 * metadata.broadcast_targets, and every reply's buffers concatenated in
 * target order.  Unlike ipyparallel 7.1, every per-engine message is
 * recorded in the task DB (queue "broadcast").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubd.h"

struct bcast {
	char		*orig;		/* the client's msg_id, any length */
	char		 client_rid[IPP_RID_MAX];
	size_t		 client_ridlen;
	int		 coalescing;
	json_t		*targets;	/* [[uuid, id], ...] still expected */
	int		 n, nreplied;
	struct ipp_frames *bufs;	/* per target, in target order */
	struct ipp_msg	 last;		/* last reply (json parts only) */
};

static void
bcast_free(struct bcast *b)
{
	int i;

	json_decref(b->targets);
	for (i = 0; i < b->n; i++)
		ipp_frames_release(&b->bufs[i]);
	free(b->bufs);
	ipp_msg_release(&b->last);
	free(b->orig);
	free(b);
}

static int
target_index(struct bcast *b, const char *uuid)
{
	json_t *t;
	size_t i;

	json_array_foreach(b->targets, i, t)
		if (json_is_string(json_array_get(t, 0)) &&
		    strcmp(json_string_value(json_array_get(t, 0)), uuid) == 0)
			return (int)i;
	return -1;
}

/* All replies are in: one message for the client. */
static void
coalesce(struct hub *h, struct bcast *b)
{
	struct ipp_frames out;
	struct ipp_buf id = { b->client_rid, b->client_ridlen };
	json_t *md;
	int i, k;

	ipp_frames_init(&out);
	md = json_deep_copy(b->last.metadata ? b->last.metadata :
	    json_object());
	json_object_set(md, "broadcast_targets", b->targets);
	if (b->last.header == NULL || ipp_msg_build(&h->sess, &out, &id, 1,
	    "apply_reply", json_deep_copy(b->last.header), b->last.parent, md,
	    json_deep_copy(b->last.content)) == -1) {
		log_warnx("cannot coalesce broadcast %s", b->orig);
		ipp_frames_release(&out);
		return;
	}
	for (i = 0; i < b->n; i++)
		for (k = 0; k < b->bufs[i].n; k++)
			ipp_frames_add_msg(&out, &b->bufs[i].f[k]);
	hub_send(h, h->bc_c, &out);
	ipp_frames_release(&out);
}

/* One engine's reply (real or fabricated) for broadcast b. */
static void
bcast_reply(struct hub *h, struct bcast *b, const char *uuid,
    struct ipp_msg *m)
{
	int i = target_index(b, uuid), k;

	if (i < 0 || b->bufs[i].n == -1)
		return;
	for (k = m->buf0; k < m->fr.n; k++)
		ipp_frames_add_msg(&b->bufs[i], &m->fr.f[k]);
	ipp_msg_release(&b->last);
	b->last.header = json_incref(m->header);
	b->last.parent = json_incref(m->parent);
	b->last.metadata = json_incref(m->metadata);
	b->last.content = json_incref(m->content);
	if (++b->nreplied < b->n)
		return;
	coalesce(h, b);
	ipp_map_del(h->bcasts, b->orig);
	bcast_free(b);
}

int
bcast_client(struct hub *h, int arg)
{
	struct ipp_msg m;
	struct ipp_frames out;
	struct bcast *b;
	struct engine *e;
	struct task *t;
	json_t *targets, *tg, *orig_id;
	char *sub;
	size_t i;
	int rc, k;

	ipp_msg_init(&m);
	ipp_frames_init(&out);
	if ((rc = hub_recv(h, h->bc_c, &m, "broadcast", 1)) <= 0)
		goto out;
	targets = json_object_get(m.metadata, "targets");
	if (!json_is_array(targets) || !is_task_type(m.msg_type)) {
		hub_badinput(h,
		    "dropped %s on broadcast: want an apply or execute "
		    "request with metadata.targets", m.msg_type);
		goto out;
	}
	orig_id = json_object_get(m.metadata, "original_msg_id");
	if (h->bcasts == NULL && (h->bcasts = ipp_map_new()) == NULL)
		fatalx("out of memory");
	b = xcalloc(1, sizeof(*b));
	b->orig = xstrdup(json_is_string(orig_id) ?
	    json_string_value(orig_id) : m.msg_id);
	b->client_ridlen = ipp_frame_len(&m.fr, 0);
	if (b->client_ridlen > sizeof(b->client_rid))
		fatalx("routing id of %zu bytes", b->client_ridlen);
	memcpy(b->client_rid, ipp_frame_data(&m.fr, 0), b->client_ridlen);
	b->coalescing = json_is_true(json_object_get(m.metadata,
	    "is_coalescing"));
	b->targets = json_deep_copy(targets);
	b->n = (int)json_array_size(targets);
	b->bufs = xcalloc((size_t)b->n + 1, sizeof(*b->bufs));
	ipp_msg_init(&b->last);
	for (k = 0; k < b->n; k++)
		ipp_frames_init(&b->bufs[k]);
	if (b->coalescing && b->n > 0)
		ipp_map_put(h->bcasts, b->orig, b);
	json_object_set_new(m.metadata, "original_msg_id",
	    json_string(b->orig));

	json_array_foreach(b->targets, i, tg) {
		const char *uuid = json_string_value(json_array_get(tg, 0));

		if (uuid == NULL)
			continue;
		if (asprintf(&sub, "%s_%s", b->orig, uuid) == -1)
			fatalx("out of memory");
		json_object_set_new(m.header, "msg_id", json_string(sub));
		json_object_set_new(m.metadata, "targets",
		    json_pack("[O]", tg));
		if (ipp_msg_reseal(&h->sess, &m) == -1)
			fatalx("out of memory");
		e = engine_by_uuid(h, uuid);
		t = task_find(h, sub) == NULL ? task_new(h, sub, TQ_BCAST) :
		    NULL;
		free(sub);
		if (t == NULL)
			continue;
		task_set_rid(t, b->client_rid, b->client_ridlen);
		t->header = json_deep_copy(m.header);
		t->reqmeta = json_deep_copy(m.metadata);
		task_record_new(h, &m, m.msg_id, TQ_BCAST, e ? e->uuid : NULL);
		if (e == NULL || e->state != ENGINE_REGISTERED) {
			bcast_engine_lost(h, t, uuid);
			continue;
		}
		t->engine = e;
		t->state = TS_RUNNING;
		task_set_engine_uuid(t, uuid);
		TAILQ_INSERT_TAIL(&e->mux_pending, t, q);
		ipp_frames_add(&out, uuid, strlen(uuid));
		for (k = 0; k < m.fr.n; k++)
			ipp_frames_add_msg(&out, &m.fr.f[k]);
		hub_send(h, h->bc_e[e->id % HUB_MAX_LEAVES], &out);
	}
	if (!b->coalescing || b->n == 0)
		bcast_free(b);
out:
	ipp_frames_release(&out);
	ipp_msg_release(&m);
	return rc != 0;
}

static void
deliver(struct hub *h, struct ipp_msg *m, const char *uuid)
{
	json_t *orig = json_object_get(m->metadata, "original_msg_id");
	struct bcast *b;

	if (json_is_true(json_object_get(m->metadata, "is_coalescing"))) {
		if (json_is_string(orig) && h->bcasts != NULL &&
		    (b = ipp_map_get(h->bcasts, json_string_value(orig)))
		    != NULL)
			bcast_reply(h, b, uuid, m);
		return;
	}
	/* the client's DEALER gets [DELIM, ...]: drop the engine frame */
	if (m->nids == 2)
		ipp_frames_remove(&m->fr, 0);
	hub_send(h, h->bc_c, &m->fr);
}

int
bcast_engine(struct hub *h, int leaf)
{
	struct ipp_msg m;
	struct task *t;
	char uuid[IPP_UUID_MAX];
	size_t n;
	int rc;

	ipp_msg_init(&m);
	if ((rc = hub_recv(h, h->bc_e[leaf], &m, "broadcast (engine side)",
	    2)) <= 0)
		goto out;
	/* no engine has a uuid this long: never cut it down to one */
	if ((n = ipp_frame_len(&m.fr, 0)) >= sizeof(uuid)) {
		hub_badinput(h, "dropped %s on broadcast (engine side) socket: "
		    "routing id of %zu bytes is no engine's", m.msg_type, n);
		goto out;
	}
	memcpy(uuid, ipp_frame_data(&m.fr, 0), n);
	uuid[n] = '\0';
	if ((t = reply_task(h, &m)) != NULL)
		task_complete(h, t, &m, 1);
	deliver(h, &m, uuid);
out:
	ipp_msg_release(&m);
	return rc != 0;
}

/*
 * Engine uuid is gone (or never was): answer for it with EngineError so
 * the client, and a coalescing gather, are not left waiting.
 */
void
bcast_engine_lost(struct hub *h, struct task *t, const char *uuid)
{
	struct ipp_msg m;
	struct ipp_buf id = { t->client_rid, t->client_ridlen };
	json_t *rq = t->reqmeta, *rmd;
	char now[40];

	ipp_iso_now(now, sizeof(now));
	ipp_msg_init(&m);
	rmd = json_pack("{s:s, s:s, s:s, s:b, s:O, s:O}", "status", "error",
	    "engine", uuid, "date", now, "is_broadcast", 1, "is_coalescing",
	    json_is_true(json_object_get(rq, "is_coalescing")) ? json_true() :
	    json_false(), "original_msg_id", json_object_get(rq,
	    "original_msg_id") ? json_object_get(rq, "original_msg_id") :
	    json_null());
	if (ipp_msg_build(&h->sess, &m.fr, &id, 1, "apply_reply", NULL,
	    t->header, rmd, ipp_error_content("EngineError",
	    "engine '%s' is not registered or died", uuid)) == -1 ||
	    ipp_msg_decode(&h->sess, &m, NULL, 0) == -1) {
		log_warnx("cannot build EngineError for broadcast %s",
		    t->msg_id);
		ipp_msg_release(&m);
		return;
	}
	task_complete(h, t, &m, 1);
	deliver(h, &m, uuid);
	ipp_msg_release(&m);
}
