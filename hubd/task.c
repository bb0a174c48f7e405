/*
 * task.c - requests in flight and their history records.
 *
 * Every mux, task and broadcast request becomes a struct task when it
 * arrives and a record in the task DB (written by the DB thread).  When
 * the reply passes through, the record gets the result; output that the
 * engine publishes on iopub is folded into the record too.  Because iopub
 * and the reply travel on different sockets, output may arrive after the
 * reply: a finished task therefore lingers (without its frames) until the
 * engine's "idle" status for it, or LINGER seconds, whichever is first.
 * A history that keeps nothing (NoDB: hubdb_forgets) gets no records and
 * no output; its tasks linger only so that a late duplicate is known.
 *
 * Engine death: pending direct (mux) requests get an EngineError record;
 * the Python client makes its own EngineError for them on the
 * unregistration notification, as with ipcontroller.  Load-balanced ones
 * are handed back to the scheduler (sched.c), which retries or answers
 * the client with EngineError at once (ipcontroller waits 5 s).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubd.h"

#define LINGER	2.0

struct task *
task_find(struct hub *h, const char *msg_id)
{
	return ipp_map_get(h->tasks, msg_id);
}

struct task *
task_new(struct hub *h, const char *msg_id, enum task_queue q)
{
	struct task *t = xcalloc(1, sizeof(*t));

	t->msg_id = xstrdup(msg_id);
	t->queue = q;
	t->state = TS_WAITING;
	ipp_frames_init(&t->frames);
	if (h->tasks == NULL && (h->tasks = ipp_map_new()) == NULL)
		fatalx("out of memory");
	if (ipp_map_put(h->tasks, t->msg_id, t) == -1)
		fatalx("out of memory");
	return t;
}

static void
strv_free(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Everything t holds for running its request; its output stays. */
static void
task_drop_request(struct task *t)
{
	ipp_frames_release(&t->frames);
	json_decref(t->header);
	json_decref(t->reqmeta);
	t->header = t->reqmeta = NULL;
	dep_release(&t->after);
	dep_release(&t->follow);
	strv_free(t->targets, t->ntargets);
	strv_free(t->blacklist, t->nblacklist);
	t->targets = t->blacklist = NULL;
	t->ntargets = t->nblacklist = 0;
	free(t->engine_uuid);
	free(t->client_rid);
	t->engine_uuid = t->client_rid = NULL;
	t->client_ridlen = 0;
}

void
task_free(struct task *t)
{
	if (t == NULL)
		return;
	task_drop_request(t);
	json_decref(t->io);
	free(t->out[0].p);
	free(t->out[1].p);
	free(t->msg_id);
	free(t);
}

/* The client t answers to: a routing id of len bytes. */
void
task_set_rid(struct task *t, const void *rid, size_t len)
{
	free(t->client_rid);
	t->client_rid = xmalloc(len > 0 ? len : 1);
	memcpy(t->client_rid, rid, len);
	t->client_ridlen = len;
	t->has_client = 1;
}

void
task_set_client(struct task *t, const struct ipp_msg *m)
{
	task_set_rid(t, ipp_frame_data(&m->fr, 0), ipp_frame_len(&m->fr, 0));
}

/* The engine t was sent to, for its record. */
void
task_set_engine_uuid(struct task *t, const char *uuid)
{
	free(t->engine_uuid);
	t->engine_uuid = xstrdup(uuid);
}

static const char *const stream_names[2] = { "stdout", "stderr" };

/*
 * t's stdout and stderr as record fields, into f (a new object when f
 * is NULL and there is output); f, or NULL when there is nothing.
 */
static json_t *
io_streams(const struct task *t, json_t *f)
{
	json_t *v;
	int k;

	for (k = 0; k < 2; k++) {
		if (t->out[k].p == NULL)
			continue;
		if (f == NULL)
			f = json_object();
		/* valid JSON strings joined: valid UTF-8 */
		if ((v = json_stringn(t->out[k].p, t->out[k].len)) == NULL)
			fatalx("out of memory");
		json_object_set_new(f, stream_names[k], v);
	}
	return f;
}

/* What iopub gave t, as record fields (new), or NULL. */
static json_t *
io_fields(const struct task *t)
{
	return io_streams(t, t->io != NULL ? json_copy(t->io) : NULL);
}

/* Unlink from every list and free. */
void
task_forget(struct hub *h, struct task *t)
{
	json_t *upd;

	/*
	 * Output that came after the reply amends the final record once,
	 * here (at the engine's "idle" or the end of lingering), rather than
	 * with the whole text again at every message.
	 */
	if (t->state == TS_DONE && t->io_late &&
	    (upd = io_streams(t, NULL)) != NULL)
		hubdb_update(h->db, t->msg_id, upd, NULL, -1);
	if (t->state == TS_DONE)
		TAILQ_REMOVE(&h->lingering, t, q);
	else if (t->engine != NULL)
		TAILQ_REMOVE(t->queue == TQ_TASK ? &t->engine->task_pending :
		    &t->engine->mux_pending, t, q);
	if (t->waiting) {
		TAILQ_REMOVE(&h->waiting, t, wq);
		h->nwaiting--;
	}
	ipp_map_del(h->tasks, t->msg_id);
	task_free(t);
}

/* The record of a new request, as ipcontroller's init_record. */
json_t *
task_record_fields(struct ipp_msg *m, enum task_queue q)
{
	return record_request_fields(m->header, m->metadata, m->content, q);
}

void
task_record_new(struct hub *h, struct ipp_msg *m, const char *msg_id,
    enum task_queue q, const char *engine_uuid)
{
	struct db_record rec;
	int i;

	if (hubdb_forgets(h->db))
		return;
	db_record_init(&rec);
	for (i = m->buf0; i < m->fr.n; i++)
		if (db_bufs_add_frame(&rec.buffers, &m->fr.f[i]) == -1)
			fatalx("out of memory copying buffers");
	if (m->header == NULL) {
		/* scanned, not parsed: the DB thread builds the fields */
		hubdb_put_raw(h->db, msg_id, db_raw_request(m, q, engine_uuid),
		    &rec.buffers);
		return;
	}
	rec.fields = task_record_fields(m, q);
	if (engine_uuid != NULL)
		json_object_set_new(rec.fields, "engine_uuid",
		    json_string(engine_uuid));
	hubdb_put(h->db, &rec);
}

static void
linger(struct hub *h, struct task *t)
{
	t->state = TS_DONE;
	t->linger_until = ipp_monotonic() + LINGER;
	/*
	 * Only iopub output can still arrive: keep nothing else.  At
	 * thousands of tasks a second the lingering ones are thousands, so
	 * what each keeps is most of the loop's heap.
	 */
	task_drop_request(t);
	TAILQ_INSERT_TAIL(&h->lingering, t, q);
}

/*
 * Record a reply (real or made up) for t and move t to lingering.
 * `reply` is borrowed; its frames must still be intact.
 */
void
task_complete(struct hub *h, struct task *t, struct ipp_msg *reply,
    int delivered)
{
	struct db_bufs rb = { NULL, 0 };
	char now[40];
	json_t *f, *io;
	int i;

	if (hubdb_forgets(h->db))
		goto recorded;
	io = io_fields(t);
	for (i = reply->buf0; i < reply->fr.n; i++)
		if (db_bufs_add_frame(&rb, &reply->fr.f[i]) == -1)
			fatalx("out of memory copying buffers");
	if (reply->header == NULL)
		/* scanned, not parsed: the DB thread builds the fields */
		hubdb_update_raw(h->db, t->msg_id, db_raw_result(reply,
		    t->engine_uuid, io), &rb, delivered);
	else {
		ipp_iso_now(now, sizeof(now));
		f = record_result_fields(reply->header, reply->metadata,
		    reply->content, now, t->engine_uuid, io);
		hubdb_update(h->db, t->msg_id, f, &rb, delivered);
	}
	json_decref(io);
recorded:
	if (delivered)
		recover_delivered(h, t->msg_id);
	if (t->engine != NULL) {
		TAILQ_REMOVE(t->queue == TQ_TASK ? &t->engine->task_pending :
		    &t->engine->mux_pending, t, q);
		t->engine->ncompleted++;
		t->engine = NULL;
	}
	linger(h, t);
}

/*
 * An engine's status for a request: "idle" after the reply means nothing
 * more will come for it, so a finished task stops lingering.
 */
static void
status_seen(struct hub *h, struct task *t, const char *state)
{
	if (t->state == TS_DONE && strcmp(state, "idle") == 0)
		task_forget(h, t);
}

void
task_iopub_status(struct hub *h, const char *parent_id, const char *state)
{
	struct task *t = task_find(h, parent_id);

	if (t != NULL)
		status_seen(h, t, state);
}

/* Room for `more` bytes and a NUL at the end of b. */
static char *
iotext_room(struct iotext *b, size_t more)
{
	size_t want = b->len + more + 1;

	if (want > b->cap) {
		b->cap = b->cap ? b->cap : 256;
		while (b->cap < want)
			b->cap *= 2;
		b->p = xrealloc(b->p, b->cap, 1);
	}
	return b->p + b->len;
}

static int
stream_index(const char *name)
{
	return strcmp(name, "stdout") == 0 ? 0 :
	    strcmp(name, "stderr") == 0 ? 1 : -1;
}

/* Output grew: a final record is amended when t is forgotten. */
static void
stream_grew(struct task *t)
{
	if (t->state == TS_DONE)
		t->io_late = 1;
}

int
task_iopub_stream(struct hub *h, struct task *t, const char *name,
    const struct ipp_jval *text)
{
	int k = stream_index(name);
	struct iotext *b;
	char *at;

	if (k < 0)
		return 0;
	b = &t->out[k];
	/* the text unescaped is never longer than its JSON form */
	at = iotext_room(b, text->len);
	if (ipp_jval_str(text, at, text->len + 1) == -1)
		return -1;
	b->len += strlen(at);
	stream_grew(t);
	return 0;
}

/*
 * Fold an iopub message of one of the kinds a record keeps (stream,
 * error, execute_input, execute_result) into t's record; content is
 * borrowed.  Streams are appended to t->out, so a chatty task costs
 * linear time, not a copy of all its output per message.
 */
void
task_iopub(struct hub *h, struct task *t, const char *type, json_t *content)
{
	json_t *upd, *v;

	if (strcmp(type, "status") == 0) {
		v = json_object_get(content, "execution_state");
		if (json_is_string(v))
			status_seen(h, t, json_string_value(v));
		return;
	}
	if (strcmp(type, "stream") == 0) {
		json_t *name = json_object_get(content, "name");
		json_t *text = json_object_get(content, "text");
		size_t n;
		int k;

		if (!json_is_string(name) || !json_is_string(text) ||
		    (k = stream_index(json_string_value(name))) < 0)
			return;
		n = json_string_length(text);
		memcpy(iotext_room(&t->out[k], n), json_string_value(text), n);
		t->out[k].len += n;
		stream_grew(t);
		return;
	}
	upd = json_object();
	if (strcmp(type, "error") == 0)
		json_object_set(upd, "error", content);
	else if (strcmp(type, "execute_input") == 0)
		json_object_set(upd, "execute_input",
		    json_object_get(content, "code"));
	else if (strcmp(type, "execute_result") == 0)
		json_object_set(upd, "execute_result", content);
	else {
		json_decref(upd);
		return;
	}
	if (t->io == NULL)
		t->io = json_object();
	json_object_update(t->io, upd);
	if (t->state == TS_DONE) {
		/* the record is already final: amend it */
		hubdb_update(h->db, t->msg_id, upd, NULL, -1);
		return;
	}
	json_decref(upd);
}

json_t *
task_request_part(const struct task *t, int i)
{
	json_t *v;

	if (t->frames.n <= 2 + i)
		return NULL;
	/* the scanner vouched for it: only memory can fail */
	if ((v = json_loadb(ipp_frame_data(&t->frames, 2 + i),
	    ipp_frame_len(&t->frames, 2 + i), JSON_ALLOW_NUL, NULL)) == NULL)
		fatalx("out of memory parsing a request's part");
	return v;
}

/*
 * Build a reply on behalf of an engine or the scheduler, record it, and
 * deliver it to the client when to_client: the reply type mirrors the
 * request's.  The message is decoded again so task_complete() sees it as
 * it would a real reply.
 */
void
task_fabricate_reply(struct hub *h, struct task *t, json_t *content_new,
    json_t *metadata_new, int to_client)
{
	const char *rt;
	char *type;
	struct ipp_msg m;
	struct ipp_buf id = { t->client_rid != NULL ? t->client_rid : "",
	    t->client_ridlen };
	size_t n;

	/* a scanned request's header is parsed only now that it is needed */
	if (t->header == NULL)
		t->header = task_request_part(t, 0);
	rt = json_string_value(json_object_get(t->header, "msg_type"));
	if (rt == NULL)
		rt = "apply_request";
	n = strlen(rt) + 7;	/* room for any "_reply" type */
	type = xmalloc(n);
	(void)ipp_reply_type(rt, type, n);
	ipp_msg_init(&m);
	if (ipp_msg_build(&h->sess, &m.fr, &id, 1, type, NULL, t->header,
	    metadata_new, content_new) == -1 ||
	    ipp_msg_decode(&h->sess, &m, NULL, 0) == -1) {
		log_warn("cannot build reply for %s", t->msg_id);
		ipp_msg_release(&m);
		free(type);
		return;
	}
	free(type);
	task_complete(h, t, &m, to_client && t->has_client);
	if (to_client && t->has_client)
		hub_send(h, t->queue == TQ_MUX ? h->mux_c : h->task_c, &m.fr);
	ipp_msg_release(&m);
}

/* An engine is gone: settle everything that was running on it. */
void
task_fail_engine(struct hub *h, struct engine *e)
{
	struct task *t;
	char now[40];

	ipp_iso_now(now, sizeof(now));
	while ((t = TAILQ_FIRST(&e->mux_pending)) != NULL)
		if (t->queue == TQ_BCAST)
			bcast_engine_lost(h, t, e->uuid);
		else
			task_fabricate_reply(h, t, ipp_error_content("EngineError",
		    "Engine %d died while running task '%s'", e->id,
		    t->msg_id), json_pack("{s:s, s:s, s:s}", "status", "error",
		    "engine", e->uuid, "date", now), 0);
	while ((t = TAILQ_FIRST(&e->task_pending)) != NULL)
		sched_engine_lost_task(h, e, t);
}

void
task_tick(struct hub *h, double now)
{
	struct task *t;

	while ((t = TAILQ_FIRST(&h->lingering)) != NULL &&
	    t->linger_until <= now)
		task_forget(h, t);
	sched_check_timeouts(h, now);
}

double
task_next_wake(struct hub *h)
{
	struct task *t = TAILQ_FIRST(&h->lingering);
	double w = t != NULL ? t->linger_until : 1e300, s;

	if ((s = sched_next_timeout(h)) < w)
		w = s;
	return w;
}
