/*
 * tasks.c - the task table (struct fstask): small integer ids (what
 * users type) mapped to the msg_ids of execute_requests, with state,
 * output and result.
 *
 * A task learns its fate from three places.  iopub says when it starts
 * (status busy), what it prints (stream), its value (execute_result) and
 * its traceback (error); the execute_reply on mux or task says how it
 * ended.  As iopub and the reply travel on different sockets, a task is
 * terminal only once both the reply and iopub's "idle" arrived, or one
 * second after the reply, whichever is first; otherwise a fast reader
 * could see "done" with the result still in flight.  Tasks whose reply
 * goes elsewhere (resubmitted by the hub, or found in the controller's
 * history at start-up) are completed by polling result_request.
 * A task made by tasks/clone starts as a draft: it has an id and takes
 * its code and scheduling parameters (t->spec) before it is sent, and
 * only then gets a msg_id.
 * Waiters are not listed here: parked reads are retried after every loop
 * turn (ippfs.c), so a state change needs no explicit wake-up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ippfs.h"

#define POLL_PERIOD	0.5	/* result_request for poll_hub tasks */
#define IDLE_GRACE	1.0	/* reply without iopub idle: wait this long */


const char *
tstate_name(enum tstate s)
{
	static const char *names[] = { "draft", "queued", "running", "done",
	    "failed", "aborted", "lost", "timeout" };

	return names[s];
}

static int
terminal(const struct fstask *t)
{
	return t->state >= T_DONE;
}

struct fstask *
fstask_get(int id)
{
	if (id < 1 || id > fs.ntasks)
		return NULL;
	return fs.tasks[id - 1];
}

struct fstask *
fstask_bymsg(const char *msg_id)
{
	return ipp_map_get(fs.bymsg, msg_id);
}

struct fstask *
fstask_new(const char *msg_id, int engine, int lb, const char *code)
{
	struct fstask *t;

	t = xcalloc(1, sizeof(*t));
	t->id = fs.ntasks + 1;
	snprintf(t->msg_id, sizeof(t->msg_id), "%s", msg_id != NULL ? msg_id :
	    "");
	t->engine = engine;
	t->lb = lb;
	t->state = T_QUEUED;
	t->submitted = ipp_now();
	t->code = xstrdup(code != NULL ? code : "");
	/* doubling: one realloc per task was an mremap each past 16,000 */
	if (fs.ntasks == fs.tasks_cap) {
		fs.tasks_cap = fs.tasks_cap ? fs.tasks_cap * 2 : 1024;
		fs.tasks = xrealloc(fs.tasks, (size_t)fs.tasks_cap,
		    sizeof(*fs.tasks));
	}
	fs.tasks[fs.ntasks++] = t;
	if (msg_id == NULL)
		t->state = T_DRAFT;
	fs.nstate[t->state]++;
	if (msg_id == NULL)
		return t;
	if (ipp_map_put(fs.bymsg, t->msg_id, t) == -1)
		fatal("ipp_map_put");
	return t;
}

void
fstask_setstate(struct fstask *t, enum tstate s)
{
	struct fsengine *e;

	if (t->state == s || terminal(t))
		return;
	fs.nstate[t->state]--;
	fs.nstate[s]++;
	t->state = s;
	if (s == T_RUNNING && t->started == 0)
		t->started = ipp_now();
	if (terminal(t)) {
		/* a record from the controller may have said when */
		if (t->ended == 0)
			t->ended = ipp_now();
		/* the engine is free for a question it could not answer */
		if ((e = fsengine_get(t->engine)) != NULL)
			fsengine_where(e, NULL);
		metrics_task_ended(t);
	}
	if (t->engine >= 0 && s == T_RUNNING)
		event_add("task %d running %d", t->id, t->engine);
	else
		event_add("task %d %s", t->id, tstate_name(s));
}

/* Traceback lines joined, ANSI colour sequences dropped (ipengine's). */
static void
add_traceback(struct buf *b, json_t *tb)
{
	size_t i;
	json_t *v;
	const char *s;

	json_array_foreach(tb, i, v) {
		if ((s = json_string_value(v)) == NULL)
			continue;
		while (*s != '\0') {
			if (s[0] == '\033' && s[1] == '[') {
				s += 2;
				while (*s != '\0' && (*s < '@' || *s > '~'))
					s++;
				if (*s != '\0')
					s++;
				continue;
			}
			buf_add(b, s, 1);
			s++;
		}
		if (b->len > 0 && b->p[b->len - 1] != '\n')
			buf_add(b, "\n", 1);
	}
}

static void
set_error(struct fstask *t, json_t *c)
{
	char line[1024];
	const char *en, *ev;

	if (t->error.len > 0)
		return;
	add_traceback(&t->error, json_object_get(c, "traceback"));
	en = json_string_value(json_object_get(c, "ename"));
	ev = json_string_value(json_object_get(c, "evalue"));
	if (t->error.len == 0 && en != NULL) {
		snprintf(line, sizeof(line), "%s: %s\n", en, ev ? ev : "");
		buf_add(&t->error, line, strlen(line));
	}
}

/* content NULL: a reply whose status is "ok", nothing more to read */
static void
finish(struct fstask *t, json_t *content)
{
	const char *st, *en;

	if (content == NULL) {
		fstask_setstate(t, T_DONE);
		return;
	}
	st = json_string_value(json_object_get(content, "status"));
	en = json_string_value(json_object_get(content, "ename"));
	if (st != NULL && strcmp(st, "ok") == 0)
		fstask_setstate(t, T_DONE);
	else if (st != NULL && strcmp(st, "aborted") == 0)
		fstask_setstate(t, T_ABORTED);
	else {
		set_error(t, content);
		if (en != NULL && strcmp(en, "EngineError") == 0)
			fstask_setstate(t, T_LOST);
		else if (en != NULL && strcmp(en, "TaskTimeout") == 0)
			fstask_setstate(t, T_TIMEOUT);
		else if (en != NULL && strcmp(en, "TaskAborted") == 0)
			fstask_setstate(t, T_ABORTED);
		else
			fstask_setstate(t, T_FAILED);
	}
}

/*
 * The execute_reply (or the scheduler's apply_reply) of t, from engine
 * (-1: not said).  content is borrowed; NULL stands for a reply whose
 * status is "ok", which fast.c reads without parsing the message.
 */
void
fstask_reply(struct fstask *t, json_t *content, int engine)
{

	if (terminal(t))
		return;
	if (engine >= 0)
		t->engine = engine;
	t->replied = 1;
	t->replied_at = ipp_monotonic();
	if (t->idle)
		finish(t, content);
	else {
		/* iopub may still carry the result: finish at idle */
		if (content == NULL && fs.ok_content == NULL &&
		    (fs.ok_content = json_pack("{s:s}", "status", "ok")) ==
		    NULL)
			fatalx("out of memory");
		json_decref(t->reply);
		t->reply = json_incref(content != NULL ? content :
		    fs.ok_content);
	}
}

static void
fstask_complete_held(struct fstask *t)
{
	json_t *c = t->reply;

	if (c == NULL)
		return;
	t->reply = NULL;
	finish(t, c);
	json_decref(c);
}

/* An iopub status message of t: execution_state s (may be NULL). */
void
fstask_status(struct fstask *t, const char *s, int engine)
{
	if (engine >= 0 && t->engine < 0)
		t->engine = engine;
	if (s != NULL && strcmp(s, "busy") == 0 && t->state == T_QUEUED)
		fstask_setstate(t, T_RUNNING);
	else if (s != NULL && strcmp(s, "idle") == 0) {
		t->idle = 1;
		if (t->replied)
			fstask_complete_held(t);
	}
}

/* Any other iopub message of t; c is its content, borrowed. */
void
fstask_iopub(struct fstask *t, const char *type, json_t *c, int engine)
{
	struct fsengine *e;
	const char *s, *name;
	struct buf *b;

	if (strcmp(type, "status") == 0) {
		fstask_status(t, json_string_value(json_object_get(c,
		    "execution_state")), engine);
		return;
	}
	if (engine >= 0 && t->engine < 0)
		t->engine = engine;
	if (strcmp(type, "stream") == 0) {
		s = json_string_value(json_object_get(c, "text"));
		name = json_string_value(json_object_get(c, "name"));
		if (s == NULL)
			return;
		b = name != NULL && strcmp(name, "stderr") == 0 ? &t->err :
		    &t->out;
		buf_add(b, s, strlen(s));
		if ((e = fsengine_get(t->engine)) != NULL) {
			buf_add(&e->log, s, strlen(s));
			buf_trim_front(&e->log, RETAIN_MAX);
		}
		if (t->state == T_QUEUED)
			fstask_setstate(t, T_RUNNING);
	} else if (strcmp(type, "execute_result") == 0) {
		s = json_string_value(json_object_get(json_object_get(c,
		    "data"), "text/plain"));
		if (s != NULL) {
			buf_reset(&t->result);
			buf_add(&t->result, s, strlen(s));
			buf_add(&t->result, "\n", 1);
		}
	} else if (strcmp(type, "error") == 0)
		set_error(t, c);
}

/*
 * Fill a task from a controller record: a db_request record or one
 * entry of a result_reply (whose iopub fields are under "io").
 */
void
fstask_record(struct fstask *t, json_t *rec)
{
	json_t *io = json_object_get(rec, "io"), *rc, *er;
	const char *s;

	if (io == NULL)
		io = rec;
	if (t->engine < 0)
		t->engine = fsengine_byuuid(json_string_value(
		    json_object_get(rec, "engine_uuid")));
	if (t->out.len == 0 && (s = json_string_value(json_object_get(io,
	    "stdout"))) != NULL)
		buf_add(&t->out, s, strlen(s));
	if (t->err.len == 0 && (s = json_string_value(json_object_get(io,
	    "stderr"))) != NULL)
		buf_add(&t->err, s, strlen(s));
	if (t->result.len == 0 && (s = json_string_value(json_object_get(
	    json_object_get(json_object_get(io, "execute_result"), "data"),
	    "text/plain"))) != NULL) {
		buf_add(&t->result, s, strlen(s));
		buf_add(&t->result, "\n", 1);
	}
	if ((er = json_object_get(io, "error")) != NULL && json_is_object(er))
		set_error(t, er);
	rc = json_object_get(rec, "result_content");
	if (json_is_object(rc) && json_object_get(rc, "status") != NULL) {
		/* the history's times, for the timeline and durations */
		if (t->started == 0 && (s = json_string_value(json_object_get(
		    rec, "started"))) != NULL)
			t->started = ipp_iso_parse(s);
		if (t->ended == 0 && (s = json_string_value(json_object_get(
		    rec, "completed"))) != NULL)
			t->ended = ipp_iso_parse(s);
		t->poll_hub = 0;
		finish(t, rc);
	}
}

void
fstasks_engine_died(int engine)
{
	int i;
	struct fstask *t;

	for (i = 0; i < fs.ntasks; i++) {
		/* purged tasks leave holes */
		if ((t = fs.tasks[i]) == NULL || t->engine != engine ||
		    terminal(t) || t->poll_hub)
			continue;
		if (t->error.len == 0)
			buf_printf(&t->error, "engine %d died while running "
			    "task %d\n", engine, t->id);
		fstask_setstate(t, T_LOST);
	}
}

static void
poll_done(void *arg, struct ipp_msg *m, int err)
{
	json_t *done, *v, *rec;
	struct fstask *t;
	size_t i;

	fs.poll_inflight = 0;
	if (m == NULL)
		return;
	done = json_object_get(m->content, "completed");
	json_array_foreach(done, i, v) {
		if (!json_is_string(v) ||
		    (t = fstask_bymsg(json_string_value(v))) == NULL)
			continue;
		rec = json_object_get(m->content, json_string_value(v));
		if (rec != NULL)
			fstask_record(t, rec);
	}
}

void
fstasks_timers(double now)
{
	json_t *ids = NULL;
	struct fstask *t;
	int i;

	/*
	 * This runs after every turn of the loop, i.e. after every FUSE
	 * request and every message: walking 10,000 tasks each time was
	 * the largest user-space cost of a tasks/batch run.  The grace and
	 * poll periods are 0.5-1 s, so a look every 50 ms is plenty, and
	 * tasks end roughly in order, so the finished prefix is skipped.
	 */
	if (now - fs.last_scan < 0.05)
		return;
	fs.last_scan = now;
	while (fs.first_live < fs.ntasks && (fs.tasks[fs.first_live] == NULL ||
	    terminal(fs.tasks[fs.first_live])))
		fs.first_live++;
	for (i = fs.first_live; i < fs.ntasks; i++) {
		if ((t = fs.tasks[i]) == NULL)
			continue;
		if (t->replied && !terminal(t) &&
		    now - t->replied_at > IDLE_GRACE)
			fstask_complete_held(t);
		if (t->poll_hub && !terminal(t)) {
			if (ids == NULL)
				ids = json_array();
			json_array_append_new(ids, json_string(t->msg_id));
		}
	}
	if (ids == NULL)
		return;
	if (fs.poll_inflight || now - fs.last_poll < POLL_PERIOD) {
		json_decref(ids);
		return;
	}
	fs.last_poll = now;
	if (client_request(fs.query, NULL, "result_request",
	    json_pack("{s:o,s:b}", "msg_ids", ids, "status_only", 0), NULL,
	    NULL, 0, poll_done, NULL) == 0)
		fs.poll_inflight = 1;
}

/* Every task before this index is over (a lower bound, for scans). */
int
fstasks_first_live(void)
{
	return fs.first_live;
}

/* Submit code; engine -1 load-balances.  Returns the task id or -1. */
int
fstask_submit(int engine, const char *code, size_t len)
{
	struct fsengine *e = NULL;
	struct fstask *t;
	char msg_id[160], *src;
	json_t *c, *md = NULL;

	if (engine >= 0 && ((e = fsengine_get(engine)) == NULL ||
	    e->state != E_UP)) {
		errno = e == NULL ? ENOENT : EHOSTDOWN;
		return -1;
	}
	src = xmalloc(len + 1);
	memcpy(src, code, len);
	src[len] = '\0';
	c = json_pack("{s:s,s:b,s:b,s:{},s:b,s:b}", "code", src, "silent", 0,
	    "store_history", 1, "user_expressions", "allow_stdin", 0,
	    "stop_on_error", 0);
	if (c == NULL) {
		/* not UTF-8 */
		free(src);
		errno = EILSEQ;
		return -1;
	}
	if (e == NULL)
		md = json_pack("{s:[],s:[],s:o,s:[],s:i}", "after", "follow",
		    "timeout", fs.task_timeout > 0 ? json_real(fs.task_timeout) :
		    json_null(), "targets", "retries", fs.task_retries);
	if (client_send(e != NULL ? fs.mux : fs.task,
	    e != NULL ? e->uuid : NULL, "execute_request", c, md, NULL, 0,
	    msg_id, sizeof(msg_id)) == -1) {
		free(src);
		return -1;
	}
	t = fstask_new(msg_id, engine, e == NULL, src);
	free(src);
	event_add("task %d queued", t->id);
	return t->id;
}

/* A new draft task (tasks/clone), load-balanced once submitted. */
struct fstask *
fstask_draft(void)
{
	struct fstask *t;

	t = fstask_new(NULL, -1, 1, "");
	t->spec = json_pack("{s:[],s:[],s:[],s:n,s:i}", "targets", "after",
	    "follow", "timeout", "retries", 0);
	event_add("task %d draft", t->id);
	return t;
}

/* Task ids of a clone parameter as msg_ids; why says what is wrong. */
static json_t *
dep_ids(json_t *ids, char *why, size_t len)
{
	json_t *out = json_array(), *v;
	struct fstask *d;
	size_t i;

	json_array_foreach(ids, i, v) {
		if ((d = fstask_get((int)json_integer_value(v))) == NULL) {
			snprintf(why, len, "no task %d", (int)
			    json_integer_value(v));
			errno = ENOENT;
			goto fail;
		}
		if (d->state == T_DRAFT) {
			snprintf(why, len, "task %d is a draft", d->id);
			errno = EINVAL;
			goto fail;
		}
		json_array_append_new(out, json_string(d->msg_id));
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/*
 * Send a draft to the task scheduler with its parameters turned into
 * what the controller knows: engine uuids and msg_ids.  -1 with errno
 * and a reason in why when a parameter no longer resolves.
 */
int
fstask_send_draft(struct fstask *t, char *why, size_t len)
{
	json_t *md, *c, *targets, *after = NULL, *follow = NULL, *v;
	struct fsengine *e;
	char msg_id[160];
	size_t i;

	targets = json_array();
	json_array_foreach(json_object_get(t->spec, "targets"), i, v) {
		if ((e = fsengine_get((int)json_integer_value(v))) == NULL ||
		    e->state != E_UP) {
			snprintf(why, len, "engine %d is %s", (int)
			    json_integer_value(v), e == NULL ? "unknown" :
			    "down");
			errno = e == NULL ? ENOENT : EHOSTDOWN;
			goto fail;
		}
		json_array_append_new(targets, json_string(e->uuid));
	}
	if ((after = dep_ids(json_object_get(t->spec, "after"), why,
	    len)) == NULL || (follow = dep_ids(json_object_get(t->spec,
	    "follow"), why, len)) == NULL)
		goto fail;
	md = json_pack("{s:o,s:o,s:O,s:o,s:O}", "after", after, "follow",
	    follow, "timeout", json_object_get(t->spec, "timeout"), "targets",
	    targets, "retries", json_object_get(t->spec, "retries"));
	c = json_pack("{s:s,s:b,s:b,s:{},s:b,s:b}", "code", t->code,
	    "silent", 0, "store_history", 1, "user_expressions",
	    "allow_stdin", 0, "stop_on_error", 0);
	if (c == NULL) {
		json_decref(md);
		snprintf(why, len, "the code is not UTF-8");
		errno = EILSEQ;
		return -1;
	}
	if (client_send(fs.task, NULL, "execute_request", c, md, NULL, 0,
	    msg_id, sizeof(msg_id)) == -1) {
		snprintf(why, len, "cannot send: %s", strerror(errno));
		return -1;
	}
	snprintf(t->msg_id, sizeof(t->msg_id), "%s", msg_id);
	if (ipp_map_put(fs.bymsg, t->msg_id, t) == -1)
		fatal("ipp_map_put");
	t->submitted = ipp_now();
	fstask_setstate(t, T_QUEUED);
	return 0;
fail:
	json_decref(targets);
	json_decref(after);
	json_decref(follow);
	return -1;
}

/*
 * The history's msg_ids without the namespace operations of ippfs: with
 * an ipengine their code or repr carries the data (a 100 MB push is
 * 200 MB of hex in the history), so their records are told apart by
 * metadata first, and only the rest is fetched whole.  Steals hist.
 */
static json_t *
drop_ns_ops(json_t *hist)
{
	struct ipp_msg m;
	json_t *keep, *recs, *rec, *md;
	size_t i;

	if (client_sync_query("db_request", json_pack("{s:{s:{s:O}},s:[s,s]}",
	    "query", "msg_id", "$in", hist, "keys", "msg_id", "metadata"), &m,
	    30) == -1)
		return hist;	/* then fetch them all */
	keep = json_array();
	recs = json_object_get(m.content, "records");
	json_array_foreach(recs, i, rec) {
		md = json_object_get(rec, "metadata");
		if (json_object_get(md, "ipp_data") != NULL ||
		    json_object_get(md, "ippfs") != NULL)
			continue;
		json_array_append(keep, json_object_get(rec, "msg_id"));
	}
	ipp_msg_release(&m);
	json_decref(hist);
	return keep;
}

/* Tasks submitted before this mount, from history_request + db_request. */
int
fstasks_load_history(void)
{
	struct ipp_msg m;
	json_t *hist, *recs, *byid, *v, *rec, *keys;
	struct fstask *t;
	const char *code, *sub;
	size_t i;

	if (client_sync_query("history_request", json_object(), &m, 10) == -1)
		return -1;
	hist = json_object_get(m.content, "history");
	if (!json_is_array(hist)) {
		char why[256];

		log_warnx("history_request: %s", reply_error(&m, why,
		    sizeof(why)));
		ipp_msg_release(&m);
		return -1;
	}
	hist = json_incref(hist);
	ipp_msg_release(&m);
	if (json_array_size(hist) > 0)
		hist = drop_ns_ops(hist);
	if (json_array_size(hist) == 0) {
		json_decref(hist);
		return 0;
	}
	keys = json_pack("[s,s,s,s,s,s,s,s,s,s,s]", "msg_id", "content",
	    "engine_uuid", "submitted", "started", "completed",
	    "result_content",
	    "execute_result", "error", "stdout", "stderr");
	if (client_sync_query("db_request", json_pack("{s:{s:{s:O}},s:o}",
	    "query", "msg_id", "$in", hist, "keys", keys), &m, 30) == -1) {
		json_decref(hist);
		return -1;
	}
	recs = json_object_get(m.content, "records");
	byid = json_object();
	json_array_foreach(recs, i, rec)
		if (json_is_string(json_object_get(rec, "msg_id")))
			json_object_set(byid, json_string_value(
			    json_object_get(rec, "msg_id")), rec);
	json_array_foreach(hist, i, v) {
		if (!json_is_string(v) || (rec = json_object_get(byid,
		    json_string_value(v))) == NULL)
			continue;
		/* ns/ operations are silent requests, not tasks */
		if (json_is_true(json_object_get(json_object_get(rec,
		    "content"), "silent")))
			continue;
		code = json_string_value(json_object_get(json_object_get(rec,
		    "content"), "code"));
		t = fstask_new(json_string_value(v), -1, 0, code);
		if ((sub = json_string_value(json_object_get(rec,
		    "submitted"))) != NULL)
			t->submitted = ipp_iso_parse(sub);
		t->poll_hub = 1;
		fstask_record(t, rec);
	}
	log_info("%d tasks in the controller's history", fs.ntasks);
	json_decref(byid);
	json_decref(hist);
	ipp_msg_release(&m);
	return 0;
}
