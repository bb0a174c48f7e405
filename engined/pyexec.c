/*
 * pyexec.c - the Python thread: the embedded interpreter and the running
 * of one request at a time.
 *
 * The interpreter is initialised on this thread, which makes it Python's
 * main thread: SIGINT (blocked everywhere else) is delivered here, wakes
 * a sleeping call and surfaces as KeyboardInterrupt in the user's code,
 * while the engine carries on.  Requests arrive from the main thread on
 * a queue with a condition variable; everything this thread wants sent
 * goes back on another queue as struct out (iopub messages, the reply,
 * then "done"), with an eventfd to wake the main thread.  Messages made
 * after the user's code has returned wait for "done" and go in one
 * wake-up: on a small machine each wake-up is a context switch on both
 * sides, which cost more than building the messages.
 *
 * Output: engine.py's sys.stdout/sys.stderr call _engined.write(), which
 * appends to a buffer shared with the main thread under `outmtx`.  This
 * thread flushes it into a stream message before it posts anything else,
 * so the order on iopub is the order of events; while user code runs,
 * the main thread flushes it every STREAM_EVERY ms (pyexec_flush), so
 * output appears as it is written, not at the end.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <sys/eventfd.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engined.h"
#include "engine_py.h"		/* engine.py as a C string, made by make */

/*
 * The Python thread's state: one documented singleton, since CPython
 * calls _engined's functions (write, publish...) with no context of ours.
 * The queues and output buffers are shared with the main thread under
 * their mutexes; the rest is touched by the Python thread only.
 */
static struct pythread {
	struct eng	*E;		/* this thread's view of the engine */
	struct ipp_session psess;
	PyObject	*mod;		/* engine.py's namespace */
	PyObject	*jsonmod;	/* Python's json, for user_expressions */
	struct job	*cur_job;	/* the request running now */
	/* the two queues, main -> python (jobs), python -> main (outs) */
	pthread_mutex_t	 qmtx;
	pthread_cond_t	 jobcv;
	struct jobq	 jobs;
	struct outq	 outs;
	int		 outs_woken;	/* py_fd written since the last py_take */
	/* output shared with the main thread, index 1 stdout, 2 stderr */
	pthread_mutex_t	 outmtx;
	char		*obuf[3];
	size_t		 olen[3], ocap[3];
} P = {
	.qmtx = PTHREAD_MUTEX_INITIALIZER,
	.jobcv = PTHREAD_COND_INITIALIZER,
	.jobs = TAILQ_HEAD_INITIALIZER(P.jobs),
	.outs = TAILQ_HEAD_INITIALIZER(P.outs),
	.outmtx = PTHREAD_MUTEX_INITIALIZER,
};

/*
 * Queue frames for the main thread.  With wake, make sure it looks soon;
 * without, they go with the next wake-up (at the latest "done").
 */
static void
post(enum out_kind k, struct ipp_frames *fr, struct job *j, int wake)
{
	struct out *o = xcalloc(1, sizeof(*o));
	uint64_t one = 1;
	int w = 0;

	o->kind = k;
	o->job = j;
	ipp_frames_init(&o->fr);
	if (fr != NULL) {
		o->fr = *fr;
		ipp_frames_init(fr);
	}
	pthread_mutex_lock(&P.qmtx);
	TAILQ_INSERT_TAIL(&P.outs, o, q);
	if (wake && !P.outs_woken)
		w = P.outs_woken = 1;
	pthread_mutex_unlock(&P.qmtx);
	if (w && write(P.E->py_fd, &one, sizeof(one)) != sizeof(one) &&
	    errno != EAGAIN)
		fatal("Python thread: cannot wake the main thread");
}

/*
 * Main thread: take everything posted so far.  The eventfd is read
 * before the queue is taken, so a post that comes in between either is
 * in what we take or writes the eventfd again.
 */
void
py_take(struct eng *e, struct outq *l)
{
	uint64_t n;

	TAILQ_INIT(l);
	if (read(e->py_fd, &n, sizeof(n)) == -1 && errno != EAGAIN &&
	    errno != EINTR)
		fatal("read from the Python thread's eventfd");
	pthread_mutex_lock(&P.qmtx);
	TAILQ_CONCAT(l, &P.outs, q);
	P.outs_woken = 0;
	pthread_mutex_unlock(&P.qmtx);
}

/* Main thread: hand a job over. */
void
py_submit(struct eng *e, struct job *j)
{
	pthread_mutex_lock(&P.qmtx);
	TAILQ_INSERT_TAIL(&P.jobs, j, q);
	pthread_cond_signal(&P.jobcv);
	pthread_mutex_unlock(&P.qmtx);
}

/*
 * An iopub message of type `type` with parent `parent` (JSON text).  From
 * this thread (direct NULL) it is posted; from the main thread it is
 * sent directly with the main thread's session.
 */
static void
pub(struct ipp_session *s, void *direct, const char *kind, const char *type,
    const char *parent, const char *md, const char *content, int wake)
{
	struct ipp_frames fr;
	struct ipp_buf topic;
	char t[64];

	eng_topic(P.E, kind, t, sizeof(t));
	topic.data = t;
	topic.len = strlen(t);
	ipp_frames_init(&fr);
	if (eng_msg_build(s, &fr, &topic, 1, type, parent, md != NULL ? md :
	    P.E->md_engine, content) == 0) {
		if (direct != NULL)
			ipp_frames_send(direct, &fr, 0, ZMQ_DONTWAIT);
		else
			post(OUT_IOPUB, &fr, NULL, wake);
	}
	ipp_frames_release(&fr);
}

/*
 * Turn buffered output into stream messages.  From this thread they are
 * posted (ordered with everything else, and sent with what follows
 * them); from the main thread they are sent directly on iopub with the
 * main thread's session.
 */
static void
flush_streams(struct ipp_session *s, void *direct, const char *parent)
{
	static const char *names[3] = { NULL, "stdout", "stderr" };
	char *text, *c;
	int i;

	for (i = 1; i <= 2; i++) {
		pthread_mutex_lock(&P.outmtx);
		if (P.olen[i] == 0) {
			pthread_mutex_unlock(&P.outmtx);
			continue;
		}
		text = P.obuf[i];
		text[P.olen[i]] = '\0';
		P.obuf[i] = NULL;
		P.olen[i] = P.ocap[i] = 0;
		pthread_mutex_unlock(&P.outmtx);
		c = eng_dump(json_pack("{s:s, s:s}", "name", names[i], "text",
		    text));
		pub(s, direct, names[i], "stream", parent, NULL, c, 0);
		free(c);
		free(text);
	}
}

/* Main thread, between polls: stream what running code has written. */
void
pyexec_flush(struct eng *e)
{
	int pending, output;

	if (e->running == NULL || e->running->kind != JOB_SHELL)
		return;
	/* anything this thread posted earlier must go out first */
	pthread_mutex_lock(&P.qmtx);
	pending = !TAILQ_EMPTY(&P.outs);
	pthread_mutex_unlock(&P.qmtx);
	if (pending)
		return;
	pthread_mutex_lock(&P.outmtx);
	output = P.olen[1] > 0 || P.olen[2] > 0;
	pthread_mutex_unlock(&P.outmtx);
	if (output || ipp_monotonic() - e->running->started >=
	    STREAM_EVERY / 1000.0)
		shell_announce(e);
	if (output)
		flush_streams(&e->sess, e->iopub, e->running->parent);
}

static PyObject *
py_write(PyObject *self, PyObject *args)
{
	const char *s;
	Py_ssize_t n;
	int which;

	if (!PyArg_ParseTuple(args, "is#", &which, &s, &n))
		return NULL;
	if (which != 1 && which != 2) {
		PyErr_SetString(PyExc_ValueError, "stream must be 1 or 2");
		return NULL;
	}
	pthread_mutex_lock(&P.outmtx);
	if (P.olen[which] + (size_t)n + 1 > P.ocap[which]) {
		size_t nc = P.ocap[which] ? P.ocap[which] : 4096;

		while (nc < P.olen[which] + (size_t)n + 1)
			nc *= 2;
		P.obuf[which] = xrealloc(P.obuf[which], nc, 1);
		P.ocap[which] = nc;
	}
	memcpy(P.obuf[which] + P.olen[which], s, (size_t)n);
	P.olen[which] += (size_t)n;
	pthread_mutex_unlock(&P.outmtx);
	Py_RETURN_NONE;
}

/*
 * _engined.publish(kind, msg_type, content_json, buffers): an iopub
 * message on topic engine.N.kind with the running request as parent
 * (display_data, data_message, clear_output).
 */
static PyObject *
py_publish(PyObject *self, PyObject *args)
{
	const char *kind, *type, *ctext;
	PyObject *bufs;
	struct ipp_frames fr;
	struct ipp_buf topic;
	json_t *content;
	char t[64], *ctxt;
	Py_ssize_t i;
	int rc;

	if (!PyArg_ParseTuple(args, "sssO!", &kind, &type, &ctext,
	    &PyList_Type, &bufs))
		return NULL;
	if ((content = json_loads(ctext, 0, NULL)) == NULL) {
		PyErr_SetString(PyExc_ValueError, "content is not JSON");
		return NULL;
	}
	/* output written so far goes first */
	flush_streams(&P.psess, NULL, P.cur_job ? P.cur_job->parent : NULL);
	eng_topic(P.E, kind, t, sizeof(t));
	topic.data = t;
	topic.len = strlen(t);
	ipp_frames_init(&fr);
	ctxt = eng_dump(content);
	rc = eng_msg_build(&P.psess, &fr, &topic, 1, type, P.cur_job ?
	    P.cur_job->parent : NULL, P.E->md_engine, ctxt);
	free(ctxt);
	if (rc == -1) {
		ipp_frames_release(&fr);
		PyErr_SetString(PyExc_RuntimeError, "cannot build message");
		return NULL;
	}
	for (i = 0; i < PyList_Size(bufs); i++)
		if (pybuf_add(&fr, PyList_GetItem(bufs, i)) == -1) {
			ipp_frames_release(&fr);
			return NULL;
		}
	post(OUT_IOPUB, &fr, NULL, 1);	/* display output: now */
	ipp_frames_release(&fr);
	Py_RETURN_NONE;
}

static PyMethodDef engined_methods[] = {
	{ "write", py_write, METH_VARARGS, "write(1|2, text): to iopub" },
	{ "publish", py_publish, METH_VARARGS,
	    "publish(kind, msg_type, content_json, [buffers]): to iopub" },
	{ NULL, NULL, 0, NULL }
};

static struct PyModuleDef engined_module = {
	PyModuleDef_HEAD_INIT, "_engined", NULL, -1, engined_methods,
	NULL, NULL, NULL, NULL
};

static PyObject *
init_engined_module(void)
{
	PyObject *m = PyModule_Create(&engined_module);

	if (m != NULL && pybuf_init(m) == -1)
		Py_CLEAR(m);
	return m;
}

/* Call engine.py's function `name` with a tuple of args (stolen). */
static PyObject *
call(const char *name, PyObject *args)
{
	PyObject *fn = PyDict_GetItemString(P.mod, name), *r;

	if (fn == NULL || args == NULL) {
		Py_XDECREF(args);
		return NULL;
	}
	r = PyObject_CallObject(fn, args);
	Py_DECREF(args);
	if (r == NULL) {
		PyErr_Print();
		return NULL;
	}
	return r;
}

/* A stray SIGINT that arrived between requests must not hit the next. */
static void
drop_pending_interrupt(void)
{
	if (PyErr_CheckSignals() == -1)
		PyErr_Clear();
}

static json_t *
error_content(PyObject *err, const char *method)
{
	PyObject *tb = PyTuple_GetItem(err, 2);
	json_t *c, *lines = json_array();
	Py_ssize_t i;

	for (i = 0; tb != NULL && i < PyList_Size(tb); i++)
		json_array_append_new(lines, json_string(PyUnicode_AsUTF8(
		    PyList_GetItem(tb, i))));
	c = json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:i, s:s}}", "status",
	    "error", "ename", PyUnicode_AsUTF8(PyTuple_GetItem(err, 0)),
	    "evalue", PyUnicode_AsUTF8(PyTuple_GetItem(err, 1)), "traceback",
	    lines, "engine_info", "engine_uuid", P.E->uuid, "engine_id", P.E->id,
	    "method", method);
	return c;
}

/* The reply to j, with the parts of bufs (may be NULL) as its buffers. */
static void
reply_shell(struct job *j, json_t *content_new, json_t *md_new,
    struct ipp_frames *bufs)
{
	struct ipp_buf ids[IPP_MAX_IDS];
	struct ipp_frames fr;
	char type[128], *md, *content;
	size_t n = strlen(j->req.msg_type);
	int i, k;

	for (k = 0; k < j->req.nids && k < IPP_MAX_IDS; k++) {
		ids[k].data = ipp_frame_data(&j->req.fr, k);
		ids[k].len = ipp_frame_len(&j->req.fr, k);
	}
	snprintf(type, sizeof(type), "%.*s_reply", (int)(n > 8 ? n - 8 : n),
	    j->req.msg_type);
	md = eng_dump(md_new);
	content = eng_dump(content_new);
	ipp_frames_init(&fr);
	if (eng_msg_build(&P.psess, &fr, ids, k, type, j->parent, md,
	    content) == -1)
		fatalx("cannot build %s", type);
	free(md);
	free(content);
	for (i = 0; bufs != NULL && i < bufs->n; i++)
		if (ipp_frames_add_msg(&fr, &bufs->f[i]) == -1)
			fatal("cannot build %s", type);
	post(OUT_SHELL, &fr, NULL, 0);	/* goes with "done" */
}

static void
finish_md(json_t *md, const char *status, json_t *content)
{
	const char *en = json_string_value(json_object_get(content, "ename"));

	json_object_set_new(md, "status", json_string(status));
	if (strcmp(status, "error") == 0) {
		json_object_set_new(md, "engine_info", json_pack("{s:s, s:i}",
		    "engine_uuid", P.E->uuid, "engine_id", P.E->id));
		if (en != NULL && strcmp(en, "UnmetDependency") == 0)
			json_object_set_new(md, "dependencies_met",
			    json_false());
	}
}

/*
 * The error reply when a result could not be made into message parts
 * (pybuf_add failed: the Python exception says why).
 */
static json_t *
buffer_error(const char *method)
{
	PyObject *t, *v, *tb, *s;
	json_t *c;

	PyErr_Fetch(&t, &v, &tb);
	s = v != NULL ? PyObject_Str(v) : NULL;
	c = ipp_error_content("SystemError", "engined cannot send a result "
	    "buffer: %s", s != NULL ? PyUnicode_AsUTF8(s) : "unknown error");
	json_object_set_new(c, "engine_info", json_pack("{s:s, s:i, s:s}",
	    "engine_uuid", P.E->uuid, "engine_id", P.E->id, "method", method));
	Py_XDECREF(s);
	Py_XDECREF(t);
	Py_XDECREF(v);
	Py_XDECREF(tb);
	PyErr_Clear();
	return c;
}

/*
 * The data path (doc/data-path.md): an execute_request whose metadata
 * carries "ipp_data" reads or writes one name in the namespace as raw
 * bytes or JSON, without pickle.  Its code raises NotImplementedError, so
 * an engine that does not know the extension answers with that error.
 */
static void
do_data(struct job *j, json_t *spec)
{
	const char *op = json_string_value(json_object_get(spec, "op"));
	const char *name = json_string_value(json_object_get(spec, "name"));
	const char *fmt = json_string_value(json_object_get(spec, "format"));
	json_t *md = eng_metadata(P.E, j->req.metadata), *rc;
	PyObject *raw = Py_None, *r;
	struct ipp_frames out;
	char *val = NULL;

	if (op == NULL)
		op = "";
	if (name == NULL)
		name = "";
	if (fmt == NULL)
		fmt = "json";
	if (json_object_get(spec, "value") != NULL)
		val = json_dumps(json_object_get(spec, "value"),
		    JSON_ENCODE_ANY | JSON_COMPACT);
	if (ipp_msg_nbufs(&j->req) > 0)
		raw = pybuf_request(&j->req.fr, j->req.buf0);
	else
		Py_INCREF(raw);
	r = raw == NULL ? NULL : call("data_op", Py_BuildValue("(ssszN)", op,
	    name, fmt, val, raw));
	free(val);
	if (r == NULL)
		rc = ipp_error_content("SystemError", "engined internal error");
	else if (strcmp(PyUnicode_AsUTF8(PyTuple_GetItem(r, 0)), "ok") == 0) {
		PyObject *js = PyTuple_GetItem(r, 1);
		json_t *d = json_pack("{s:s, s:s}", "op", op, "name", name);

		if (js != Py_None)
			json_object_set_new(d, "value", json_loads(
			    PyUnicode_AsUTF8(js), JSON_DECODE_ANY, NULL));
		rc = json_pack("{s:s, s:i, s:{}, s:[], s:o}", "status", "ok",
		    "execution_count", j->exec_count, "user_expressions",
		    "payload", "ipp_data", d);
	} else {
		rc = error_content(PyTuple_GetItem(r, 3), "execute");
		j->failed = 1;
	}
	ipp_frames_init(&out);
	if (r != NULL && PyTuple_GetItem(r, 2) != Py_None &&
	    pybuf_add(&out, PyTuple_GetItem(r, 2)) == -1) {
		json_decref(rc);
		rc = buffer_error("execute");
		j->failed = 1;
	}
	finish_md(md, json_string_value(json_object_get(rc, "status")), rc);
	reply_shell(j, rc, md, &out);
	ipp_frames_release(&out);
	if (PyErr_Occurred())
		PyErr_Clear();
	Py_XDECREF(r);
}

/*
 * user_expressions to Python and back.  Almost every request has none:
 * then there is no round trip through JSON text at all.
 */
static PyObject *
uexprs_in(json_t *ue)
{
	PyObject *r;
	char *txt;

	if (json_object_size(ue) == 0 || P.jsonmod == NULL)
		Py_RETURN_NONE;
	if ((txt = ipp_json_dump(ue)) == NULL)
		Py_RETURN_NONE;
	r = PyObject_CallMethod(P.jsonmod, "loads", "s", txt);
	free(txt);
	if (r == NULL) {
		PyErr_Clear();
		Py_RETURN_NONE;
	}
	return r;
}

static json_t *
uexprs_out(PyObject *d)
{
	PyObject *dumped;
	json_t *v;

	if (d == NULL || !PyDict_Check(d) || PyDict_Size(d) == 0 ||
	    P.jsonmod == NULL)
		return json_object();
	if ((dumped = PyObject_CallMethod(P.jsonmod, "dumps", "O", d)) == NULL)
		return json_object();
	v = json_loads(PyUnicode_AsUTF8(dumped), 0, NULL);
	Py_DECREF(dumped);
	return v != NULL ? v : json_object();
}

/* The count and execute_input were done by the main thread. */
static void
do_execute(struct job *j)
{
	json_t *c = j->req.content, *md, *rc;
	const char *code = json_string_value(json_object_get(c, "code"));
	PyObject *r;
	char *txt;

	md = eng_metadata(P.E, j->req.metadata);
	if (code == NULL)
		code = "";
	r = call("run_execute", Py_BuildValue("(siiN)", code, j->exec_count,
	    j->silent, uexprs_in(json_object_get(c, "user_expressions"))));
	flush_streams(&P.psess, NULL, j->parent);
	if (r == NULL) {
		rc = ipp_error_content("SystemError", "engined internal error "
		    "running the request");
	} else if (strcmp(PyUnicode_AsUTF8(PyTuple_GetItem(r, 0)), "ok") == 0) {
		PyObject *res = PyTuple_GetItem(r, 1);
		json_t *bundle = res != Py_None ? json_loads(PyUnicode_AsUTF8(
		    res), 0, NULL) : NULL;

		if (bundle != NULL) {
			json_object_set_new(bundle, "execution_count",
			    json_integer(j->exec_count));
			txt = eng_dump(bundle);
			pub(&P.psess, NULL, "execute_result", "execute_result",
			    j->parent, "{}", txt, 0);
			free(txt);
		}
		rc = json_pack("{s:s, s:i, s:o, s:[]}", "status", "ok",
		    "execution_count", j->exec_count, "user_expressions",
		    uexprs_out(PyTuple_GetItem(r, 3)), "payload");
	} else {
		rc = error_content(PyTuple_GetItem(r, 2), "execute");
		json_object_set_new(rc, "execution_count",
		    json_integer(j->exec_count));
		txt = ipp_json_dump(rc);
		pub(&P.psess, NULL, "error", "error", j->parent, NULL, txt, 0);
		free(txt);
		j->failed = 1;
	}
	if (PyErr_Occurred())
		PyErr_Clear();
	Py_XDECREF(r);
	/* the shell's post_execute: inline figures follow the result */
	Py_XDECREF(call("post_execute", PyTuple_New(0)));
	flush_streams(&P.psess, NULL, j->parent);
	finish_md(md, json_string_value(json_object_get(rc, "status")), rc);
	reply_shell(j, rc, md, NULL);
}

/*
 * The request's buffers go to Python as memoryviews that keep them alive
 * (pybuf.c: the function's arguments and what it stores may be built on
 * them without a copy); the result's buffers come back copied once into
 * the reply.
 */
static void
do_apply(struct job *j)
{
	PyObject *bufs, *r = NULL, *b;
	json_t *md = eng_metadata(P.E, j->req.metadata), *rc;
	struct ipp_frames out;
	int i, n = ipp_msg_nbufs(&j->req);
	Py_ssize_t k;

	bufs = PyList_New(n);
	for (i = 0; bufs != NULL && i < n; i++) {
		if ((b = pybuf_request(&j->req.fr, j->req.buf0 + i)) == NULL) {
			PyErr_Print();
			Py_CLEAR(bufs);
			break;
		}
		PyList_SET_ITEM(bufs, i, b);
	}
	if (bufs != NULL)
		r = call("run_apply", Py_BuildValue("(N)", bufs));
	flush_streams(&P.psess, NULL, j->parent);
	if (r == NULL)
		rc = ipp_error_content("SystemError", "engined internal error "
		    "running the request");
	else if (strcmp(PyUnicode_AsUTF8(PyTuple_GetItem(r, 0)), "ok") == 0)
		rc = json_pack("{s:s}", "status", "ok");
	else {
		char *txt;

		rc = error_content(PyTuple_GetItem(r, 2), "apply");
		txt = ipp_json_dump(rc);
		pub(&P.psess, NULL, "error", "error", j->parent, NULL, txt, 0);
		free(txt);
		j->failed = 1;
	}
	ipp_frames_init(&out);
	for (k = 0; !j->failed && r != NULL && k < PyList_Size(
	    PyTuple_GetItem(r, 1)); k++)
		if (pybuf_add(&out, PyList_GetItem(PyTuple_GetItem(r, 1),
		    k)) == -1) {
			ipp_frames_release(&out);
			json_decref(rc);
			rc = buffer_error("apply");
			j->failed = 1;
		}
	finish_md(md, json_string_value(json_object_get(rc, "status")), rc);
	reply_shell(j, rc, md, &out);
	ipp_frames_release(&out);
	if (PyErr_Occurred())
		PyErr_Clear();
	Py_XDECREF(r);
}

/*
 * Run one job.  Everything posted here waits for "done", with these
 * exceptions: clear_request's messages, which frame code of the user's
 * (__del__ methods) and so must not wait for it, and display output.
 * A shell job's busy and idle statuses are the main thread's.
 */
static void
run_job(struct job *j)
{
	const char *t = j->req.msg_type;
	char *p;

	drop_pending_interrupt();
	P.cur_job = j;
	switch (j->kind) {
	case JOB_STARTUP: {
		PyObject *r = call("startup", Py_BuildValue("(si)", j->text,
		    j->is_file));

		flush_streams(&P.psess, NULL, NULL);
		Py_XDECREF(r);
		break;
	}
	case JOB_CLEAR: {
		struct ipp_buf ids[IPP_MAX_IDS];
		struct ipp_frames fr;
		int k;

		p = ipp_json_dump(j->req.header);
		pub(&P.psess, NULL, "status", "status", p, NULL,
		    "{\"execution_state\":\"busy\"}", 1);
		Py_XDECREF(call("clear", PyTuple_New(0)));
		for (k = 0; k < j->req.nids && k < IPP_MAX_IDS; k++) {
			ids[k].data = ipp_frame_data(&j->req.fr, k);
			ids[k].len = ipp_frame_len(&j->req.fr, k);
		}
		ipp_frames_init(&fr);
		if (eng_msg_build(&P.psess, &fr, ids, k, "clear_reply", p,
		    P.E->md_engine, "{\"status\":\"ok\"}") == 0)
			post(OUT_CONTROL, &fr, NULL, 1);
		ipp_frames_release(&fr);
		pub(&P.psess, NULL, "status", "status", p, NULL,
		    "{\"execution_state\":\"idle\"}", 1);
		free(p);
		break;
	}
	case JOB_SHELL:
		switch (j->what) {
		case SH_DATA:
			do_data(j, json_object_get(j->req.metadata,
			    "ipp_data"));
			break;
		case SH_EXECUTE:
			do_execute(j);
			break;
		case SH_APPLY:
			do_apply(j);
			break;
		case SH_OTHER:
			if (strcmp(t + (strlen(t) > 8 ? strlen(t) - 8 : 0),
			    "_request") == 0)
				reply_shell(j, ipp_error_content(
				    "NotImplementedError",
				    "engined does not handle '%s'", t),
				    json_pack("{s:s, s:s}", "engine", P.E->uuid,
				    "status", "error"), NULL);
			break;
		}
		break;
	case JOB_QUIT:
		break;
	}
	P.cur_job = NULL;
	post(OUT_DONE, NULL, j, 1);
}

static void *
py_main(void *arg)
{
	struct eng *e = arg;
	PyConfig config;
	PyObject *code, *g;
	PyStatus st;
	sigset_t set;
	struct job *j;

	P.E = e;
	/*
	 * A shell starts background jobs with SIGINT ignored, and Python
	 * leaves an ignored SIGINT alone; we want its KeyboardInterrupt.
	 * SIGINT is still blocked in every thread, so nothing fires yet.
	 */
	signal(SIGINT, SIG_DFL);
	PyConfig_InitPythonConfig(&config);
	config.install_signal_handlers = 1;
	config.parse_argv = 0;
	/* Debian's interpreter, whatever python3 comes first on PATH */
	PyConfig_SetString(&config, &config.program_name, L"/usr/bin/python3");
	if (PyImport_AppendInittab("_engined", init_engined_module) == -1)
		fatalx("cannot register the _engined module");
	st = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(st))
		fatalx("cannot initialise Python: %s", st.err_msg ?
		    st.err_msg : "unknown error");
	g = PyDict_New();
	PyDict_SetItemString(g, "__builtins__", PyEval_GetBuiltins());
	PyDict_SetItemString(g, "__name__", PyUnicode_FromString("_engine"));
	PyDict_SetItemString(g, "__file__", PyUnicode_FromString("<engined>"));
	code = Py_CompileString(engine_py, "<engined>", Py_file_input);
	if (code == NULL || PyEval_EvalCode(code, g, g) == NULL) {
		PyErr_Print();
		fatalx("cannot load engined's Python side");
	}
	Py_DECREF(code);
	P.mod = g;
	P.jsonmod = PyImport_ImportModule("json");	/* engine.py has it */
	if (P.jsonmod == NULL)
		PyErr_Clear();
	/* now SIGINT and the user signals may come: they are Python's */
	engined_user_signals(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	post(OUT_DONE, NULL, NULL, 1);	/* ready */
	for (;;) {
		/* a signal handler may run meanwhile: Python only notes it */
		Py_BEGIN_ALLOW_THREADS
		pthread_mutex_lock(&P.qmtx);
		while ((j = TAILQ_FIRST(&P.jobs)) == NULL)
			pthread_cond_wait(&P.jobcv, &P.qmtx);
		TAILQ_REMOVE(&P.jobs, j, q);
		pthread_mutex_unlock(&P.qmtx);
		Py_END_ALLOW_THREADS
		if (j->kind == JOB_QUIT) {
			post(OUT_DONE, NULL, j, 1);
			break;
		}
		run_job(j);
	}
	engined_user_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return NULL;
}

int
py_start(struct eng *e)
{
	if (ipp_session_init(&P.psess, e->ci.key, e->uuid) == -1)
		return -1;
	/* set here, not by the thread: kernel_info may be asked at once */
	snprintf(e->py_version, sizeof(e->py_version), "%d.%d.%d",
	    PY_MAJOR_VERSION, PY_MINOR_VERSION, PY_MICRO_VERSION);
	if ((e->py_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return -1;
	return 0;
}

/*
 * Start the interpreter's thread.  The main thread does this when the
 * first job is ready to run, not at start: starting Python is most of an
 * engine's start-up CPU (about 25 ms here), and a hundred engines coming
 * up at once on a few cores register far sooner when none of them spends
 * it before it is needed.  Registration, heartbeats, kernel_info and
 * control requests are all answered in C meanwhile.
 */
int
py_launch(struct eng *e)
{
	sigset_t term, old;
	int rc;

	if (e->py_launched)
		return 0;
	/*
	 * The thread is made after registration, when the main thread takes
	 * SIGTERM; it must not inherit that, or a SIGTERM delivered to it
	 * would not wake the main thread's poll.
	 */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, &old);
	rc = pthread_create(&e->py_thread, NULL, py_main, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	e->py_launched = 1;
	return 0;
}

/* SIGINT to the Python thread, only while it runs user code. */
void
py_interrupt(struct eng *e)
{
	if (e->running != NULL && e->running->kind == JOB_SHELL)
		pthread_kill(e->py_thread, SIGINT);
}

/*
 * Stop the Python thread.  It may be deep in user code: interrupt it,
 * and if it does not come back soon, leave it (the process is exiting).
 */
void
py_stop(struct eng *e)
{
	struct job *j;
	struct pollfd pfd;
	struct outq l;
	struct out *o;
	double until = ipp_monotonic() + 1.0;
	int found = 0;

	if (e->py_fd == -1 || !e->py_launched)	/* Python never ran */
		return;
	if (!e->py_ready) {
		/*
		 * Stopped while the interpreter starts (a cluster stopped as
		 * it comes up): it would see JOB_QUIT only once up, tens of
		 * ms of CPU later on a busy machine, and nothing of the
		 * user's can be pending yet.  Leave without it.
		 */
		log_info("exiting before Python was up");
		fflush(NULL);
		_exit(e->exit_status);
	}
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_QUIT;
	ipp_msg_init(&j->req);
	py_submit(e, j);
	py_interrupt(e);
	pfd.fd = e->py_fd;
	pfd.events = POLLIN;
	while (!found && ipp_monotonic() < until) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		py_take(e, &l);
		while ((o = TAILQ_FIRST(&l)) != NULL) {
			TAILQ_REMOVE(&l, o, q);
			if (o->kind == OUT_DONE && o->job == j)
				found = 1;
			ipp_frames_release(&o->fr);
			free(o);
		}
	}
	if (found) {
		pthread_join(e->py_thread, NULL);
		free(j);
		close(e->py_fd);
		e->py_fd = -1;
		return;
	}
	/* the thread still has j: leave it, the process is exiting */
	log_info("Python thread still busy at exit");
}
