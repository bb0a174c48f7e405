/*
 * dbraw.c - task records built on the DB thread from the raw frames.
 *
 * A task's record is made of its request's header, metadata and content
 * and, at the end, of its reply's.  Building those JSON trees on the loop
 * cost more than relaying the messages, so on the load-balanced path the
 * loop reads the few keys it needs with libipp's scanner and hands the
 * frames themselves to the DB thread (zmq_msg_copy shares a frame, it
 * does not copy it), which parses them and builds the same fields.  The
 * builders are shared with the loop's own paths (task.c) so a record is
 * the same whichever side made it.
 *
 * With SQLite, which stores those parts as JSON text, the thread does
 * not even parse them: db_raw_scan() reads the few scalar fields a record
 * takes from them (dates, session, engine) with the scanner and passes
 * the parts on as texts.
 *
 * The builders are pure: they touch only the objects they are given, so
 * either thread may call them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubd.h"

struct db_raw {
	zmq_msg_t	 part[3];	/* header, metadata, content */
	int		 result;	/* 0: a request, 1: its reply */
	enum task_queue	 q;		/* request */
	char		 engine[IPP_UUID_MAX];	/* "" none */
	char		 received[40];	/* reply: when the hub saw it */
	json_t		*io;		/* reply: iopub output so far */
};

static const char *
queue_name(enum task_queue q)
{
	return q == TQ_MUX ? "mux" : q == TQ_TASK ? "task" : "broadcast";
}

json_t *
record_request_fields(json_t *header, json_t *metadata, json_t *content,
    enum task_queue q)
{
	json_t *date = json_object_get(header, "date");
	json_t *sess = json_object_get(header, "session");
	json_t *id = json_object_get(header, "msg_id");
	json_t *r;

	r = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:n, s:n, s:n, s:n, "
	    "s:n, s:n, s:n, s:n, s:s, s:n, s:n, s:n, s:s, s:s}",
	    "msg_id", id != NULL ? id : json_null(), "header", header,
	    "metadata", metadata, "content", content, "submitted",
	    json_is_string(date) ? date : json_null(), "client_uuid",
	    json_is_string(sess) ? sess : json_null(), "engine_uuid",
	    "started", "completed", "resubmitted", "received",
	    "result_header", "result_metadata", "result_content", "queue",
	    queue_name(q), "execute_input", "execute_result", "error",
	    "stdout", "", "stderr", "");
	if (r == NULL)
		fatalx("out of memory building a task record");
	return r;
}

json_t *
record_result_fields(json_t *header, json_t *md, json_t *content,
    const char *received, const char *engine_uuid, const json_t *io)
{
	json_t *f, *eng = json_object_get(md, "engine");
	json_t *date = json_object_get(header, "date");
	json_t *started = json_object_get(md, "started");

	f = json_pack("{s:O, s:O, s:O, s:O, s:O, s:s}", "result_header",
	    header, "result_metadata", md, "result_content", content,
	    "completed", date != NULL ? date : json_null(), "started",
	    started != NULL ? started : json_null(), "received", received);
	if (f == NULL)
		fatalx("out of memory");
	if (json_is_string(eng))
		json_object_set(f, "engine_uuid", eng);
	else if (engine_uuid != NULL && engine_uuid[0] != '\0')
		json_object_set_new(f, "engine_uuid",
		    json_string(engine_uuid));
	if (io != NULL)
		json_object_update(f, (json_t *)io);
	return f;
}

static struct db_raw *
raw_new(const struct ipp_msg *m)
{
	struct db_raw *r = xcalloc(1, sizeof(*r));
	static const int which[3] = { 0, 2, 3 };	/* header md content */
	int i;

	for (i = 0; i < 3; i++) {
		zmq_msg_init(&r->part[i]);
		if (zmq_msg_copy(&r->part[i],
		    &m->fr.f[m->sig + 1 + which[i]]) == -1)
			fatalx("out of memory sharing a frame");
	}
	return r;
}

struct db_raw *
db_raw_request(const struct ipp_msg *m, enum task_queue q,
    const char *engine_uuid)
{
	struct db_raw *r = raw_new(m);

	r->q = q;
	if (engine_uuid != NULL)
		snprintf(r->engine, sizeof(r->engine), "%s", engine_uuid);
	return r;
}

struct db_raw *
db_raw_result(const struct ipp_msg *reply, const char *engine_uuid,
    const json_t *io)
{
	struct db_raw *r = raw_new(reply);

	r->result = 1;
	ipp_iso_now(r->received, sizeof(r->received));
	if (engine_uuid != NULL)
		snprintf(r->engine, sizeof(r->engine), "%s", engine_uuid);
	/* the loop goes on adding to its io: the thread gets a copy */
	if (io != NULL && (r->io = json_deep_copy(io)) == NULL)
		fatalx("out of memory");
	return r;
}

void
db_raw_free(struct db_raw *r)
{
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < 3; i++)
		zmq_msg_close(&r->part[i]);
	json_decref(r->io);
	free(r);
}

/*
 * The record fields r stands for; NULL (with why) when a part is not a
 * JSON object - which the loop's scanner already ruled out, so only a
 * failing allocation gets here.
 */
json_t *
db_raw_fields(struct db_raw *r, char *why, size_t whylen)
{
	json_t *obj[3], *f = NULL;
	json_error_t jerr;
	int i;

	for (i = 0; i < 3; i++) {
		obj[i] = json_loadb(zmq_msg_data(&r->part[i]),
		    zmq_msg_size(&r->part[i]), JSON_ALLOW_NUL, &jerr);
		if (obj[i] == NULL || !json_is_object(obj[i])) {
			json_decref(obj[i]);
			snprintf(why, whylen, "part %d of the %s is not a "
			    "JSON object", i, r->result ? "reply" : "request");
			goto out;
		}
	}
	if (r->result)
		f = record_result_fields(obj[0], obj[1], obj[2], r->received,
		    r->engine, r->io);
	else {
		f = record_request_fields(obj[0], obj[1], obj[2], r->q);
		if (r->engine[0] != '\0')
			json_object_set_new(f, "engine_uuid",
			    json_string(r->engine));
	}
out:
	while (i-- > 0)
		json_decref(obj[i]);
	if (f == NULL)
		errno = EBADMSG;
	return f;
}

/* A scanned string or null into *out (a new reference); -1 otherwise. */
static int
str_or_null(const struct ipp_jval *v, json_t **out)
{
	char buf[256];

	if (v->type == IPP_JNONE || v->type == IPP_JNULL) {
		*out = json_null();
		return 0;
	}
	if (ipp_jval_str(v, buf, sizeof(buf)) == -1 ||
	    (*out = json_string(buf)) == NULL)
		return -1;
	return 0;
}

static void
add_text(struct db_texts *tx, const char *key, const zmq_msg_t *part)
{
	tx->key[tx->n] = key;
	tx->p[tx->n] = zmq_msg_data((zmq_msg_t *)part);
	tx->len[tx->n] = zmq_msg_size((zmq_msg_t *)part);
	tx->n++;
}

int
db_raw_scan(struct db_raw *r, json_t **fields, struct db_texts *tx)
{
	static const char *const rq[] = { "msg_id", "date", "session" };
	static const char *const rs[] = { "date" };
	static const char *const md[] = { "started", "engine" };
	static const char *const texts[2][3] = {
	    { "header", "metadata", "content" },
	    { "result_header", "result_metadata", "result_content" } };
	struct ipp_jval hv[3], mv[2];
	json_t *a = NULL, *b = NULL, *c = NULL, *f;
	int i;

	if (tx->n + 3 > DB_TEXTS_MAX ||
	    ipp_json_scan(zmq_msg_data(&r->part[0]), zmq_msg_size(&r->part[0]),
	    r->result ? rs : rq, r->result ? 1 : 3, hv) == -1 ||
	    ipp_json_scan(zmq_msg_data(&r->part[1]), zmq_msg_size(&r->part[1]),
	    md, 2, mv) == -1)
		return -1;
	if (!r->result) {
		/* as record_request_fields: a non-string date/session is null */
		if (hv[0].type != IPP_JSTR || str_or_null(&hv[0], &a) == -1 ||
		    (hv[1].type == IPP_JSTR && str_or_null(&hv[1], &b) == -1) ||
		    (hv[2].type == IPP_JSTR && str_or_null(&hv[2], &c) == -1))
			goto unsure;
		f = json_pack("{s:o, s:o, s:o, s:n, s:n, s:n, s:n, s:n, s:n, "
		    "s:n, s:n, s:s, s:n, s:n, s:n, s:s, s:s}", "msg_id", a,
		    "submitted", b != NULL ? b : json_null(), "client_uuid",
		    c != NULL ? c : json_null(), "engine_uuid", "started",
		    "completed", "resubmitted", "received", "result_header",
		    "result_metadata", "result_content", "queue",
		    queue_name(r->q), "execute_input", "execute_result",
		    "error", "stdout", "", "stderr", "");
		if (f != NULL && r->engine[0] != '\0')
			json_object_set_new(f, "engine_uuid",
			    json_string(r->engine));
	} else {
		/* dates of other types than these: parse, and let the
		 * backend refuse them as before */
		if (str_or_null(&hv[0], &a) == -1 ||
		    str_or_null(&mv[0], &b) == -1 ||
		    (mv[1].type == IPP_JSTR && str_or_null(&mv[1], &c) == -1))
			goto unsure;
		f = json_pack("{s:o, s:o, s:s}", "completed", a, "started", b,
		    "received", r->received);
		if (f != NULL && (c != NULL || r->engine[0] != '\0'))
			json_object_set_new(f, "engine_uuid", c != NULL ? c :
			    json_string(r->engine));
		if (f != NULL && r->io != NULL)
			json_object_update(f, r->io);
	}
	if (f == NULL)
		fatalx("out of memory");
	for (i = 0; i < 3; i++)
		add_text(tx, texts[r->result][i], &r->part[i]);
	*fields = f;
	return 0;
unsure:
	json_decref(a);
	json_decref(b);
	json_decref(c);
	return -1;
}
