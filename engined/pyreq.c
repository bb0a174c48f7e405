/*
 * pyreq.c - the Python thread's request handlers: what one job does.
 *
 * py_run_job() is called by the Python thread's loop (pyshell.c,
 * py_serve) for each request it receives and each job the main thread
 * hands over, with the interpreter up and the GIL held.  It calls
 * engine.py's functions (run_execute, run_apply, data_op, clear,
 * startup) and sends the messages that answer the request itself: iopub
 * output and errors (py_pub, py_output) and the shell reply
 * (py_reply_build); only clear's reply, on the control socket, goes
 * through the main thread (py_post).  The interpreter's life, iopub and
 * the _engined module are pyexec.c's; the state both use is the
 * singleton P (engined.h).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engined.h"

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
void
py_drop_pending_interrupt(void)
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

/*
 * Send the reply to j, with the parts of bufs (may be NULL) as its
 * buffers; content and metadata are stolen.
 */
void
py_reply_build(struct job *j, json_t *content_new, json_t *md_new,
    struct ipp_frames *bufs)
{
	struct ipp_buf ids[IPP_MAX_IDS];
	struct ipp_frames fr;
	char type[128], *md, *content;
	int i, k;

	for (k = 0; k < j->req.nids && k < IPP_MAX_IDS; k++) {
		ids[k].data = ipp_frame_data(&j->req.fr, k);
		ids[k].len = ipp_frame_len(&j->req.fr, k);
	}
	(void)ipp_reply_type(j->req.msg_type, type, sizeof(type));
	md = eng_dump(md_new);
	content = eng_dump(content_new);
	ipp_frames_init(&fr);
	if (ipp_msg_build_text(&P.psess, &fr, ids, k, type, j->parent, md,
	    content) == -1)
		fatalx("cannot build %s", type);
	free(md);
	free(content);
	for (i = 0; bufs != NULL && i < bufs->n; i++)
		if (ipp_frames_add_msg(&fr, &bufs->f[i]) == -1)
			fatal("cannot build %s", type);
	py_reply(j, &fr);
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
/* The end of a handler: status into md, the reply out, r released. */
static void
reply_done(struct job *j, json_t *rc, json_t *md, struct ipp_frames *out,
    PyObject *r)
{
	finish_md(md, json_string_value(json_object_get(rc, "status")), rc);
	py_reply_build(j, rc, md, out);
	ipp_frames_release(out);
	if (PyErr_Occurred())
		PyErr_Clear();
	Py_XDECREF(r);
}

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
	reply_done(j, rc, md, &out, r);
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

/* The count and execute_input were set by shell_start (pyshell.c). */
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
	py_output(j->parent);
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
			py_pub("execute_result",
			    "execute_result", j->parent, "{}", txt);
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
		py_pub("error", "error", j->parent, NULL, txt);
		free(txt);
		j->failed = 1;
	}
	if (PyErr_Occurred())
		PyErr_Clear();
	Py_XDECREF(r);
	/* the shell's post_execute: inline figures follow the result */
	Py_XDECREF(call("post_execute", PyTuple_New(0)));
	py_output(j->parent);
	finish_md(md, json_string_value(json_object_get(rc, "status")), rc);
	py_reply_build(j, rc, md, NULL);
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
	py_output(j->parent);
	if (r == NULL)
		rc = ipp_error_content("SystemError", "engined internal error "
		    "running the request");
	else if (strcmp(PyUnicode_AsUTF8(PyTuple_GetItem(r, 0)), "ok") == 0)
		rc = json_pack("{s:s}", "status", "ok");
	else {
		char *txt;

		rc = error_content(PyTuple_GetItem(r, 2), "apply");
		txt = ipp_json_dump(rc);
		py_pub("error", "error", j->parent, NULL, txt);
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
	reply_done(j, rc, md, &out, r);
}

/*
 * Run one job.  A shell request's busy, execute_input and idle are
 * pyshell.c's (shell_run); clear_request's busy and idle are sent here,
 * around the user's code it runs (__del__ methods).
 */
void
py_run_job(struct job *j)
{
	const char *t = j->req.msg_type;
	char *p;

	switch (j->kind) {
	case JOB_STARTUP: {
		PyObject *r = call("startup", Py_BuildValue("(si)", j->text,
		    j->is_file));

		py_output(NULL);
		Py_XDECREF(r);
		break;
	}
	case JOB_CLEAR: {
		struct ipp_buf ids[IPP_MAX_IDS];
		struct ipp_frames fr;
		int k;

		p = ipp_json_dump(j->req.header);
		py_pub("status", "status", p, NULL,
		    "{\"execution_state\":\"busy\"}");
		Py_XDECREF(call("clear", PyTuple_New(0)));
		for (k = 0; k < j->req.nids && k < IPP_MAX_IDS; k++) {
			ids[k].data = ipp_frame_data(&j->req.fr, k);
			ids[k].len = ipp_frame_len(&j->req.fr, k);
		}
		ipp_frames_init(&fr);
		if (ipp_msg_build_text(&P.psess, &fr, ids, k, "clear_reply", p,
		    P.E->md_engine, "{\"status\":\"ok\"}") == 0)
			py_post(OUT_CONTROL, &fr, NULL);
		ipp_frames_release(&fr);
		py_pub("status", "status", p, NULL,
		    "{\"execution_state\":\"idle\"}");
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
			if (ipp_is_request(t))
				py_reply_build(j, ipp_error_content(
				    "NotImplementedError",
				    "engined does not handle '%s'", t),
				    json_pack("{s:s, s:s}", "engine", P.E->uuid,
				    "status", "error"), NULL);
			break;
		}
		break;
	case JOB_SHELL_OWN:
	case JOB_QUIT:
		break;
	}
}

void
job_free(struct job *j)
{
	ipp_msg_release(&j->req);
	free(j->parent);
	free(j->input);
	free(j->text);
	free(j);
}
