/*
 * pyexec.c - the Python thread's life: the embedded interpreter, what
 * passes between it and the main thread, iopub, and the _engined
 * module.  The thread's loop over requests and the shell socket are
 * pyshell.c's, what each request does is pyreq.c's (py_run_job); this
 * file starts the thread and the interpreter, hands it jobs and takes
 * back what the main thread must send, and keeps iopub one sender at a
 * time (engined.h says who owns which socket).
 *
 * The interpreter is initialised on this thread, which makes it Python's
 * main thread: SIGINT (blocked everywhere else) is delivered here, wakes
 * a sleeping call and surfaces as KeyboardInterrupt in the user's code,
 * while the engine carries on.
 *
 * Output: engine.py's sys.stdout/sys.stderr call _engined.write(), which
 * appends to a buffer shared with the main thread under `outmtx`.  This
 * thread flushes it into a stream message before it publishes anything
 * else, so the order on iopub is the order of events; while user code
 * runs longer than STREAM_EVERY ms, the main thread flushes it every
 * STREAM_EVERY ms (pyexec_flush), so output appears as it is written,
 * not at the end.  Both do it holding `iomtx` from taking the text to
 * sending it, so nothing the other thread sends can overtake it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engined.h"
#include "engine_py.h"		/* engine.py as a C string, made by make */

/*
 * The Python thread's state, the documented singleton (engined.h says
 * what it holds and who touches what).
 */
struct pythread P = {
	.wake_fd = -1,
	.stream_fd = -1,
	.qmtx = PTHREAD_MUTEX_INITIALIZER,
	.jobs = TAILQ_HEAD_INITIALIZER(P.jobs),
	.outs = TAILQ_HEAD_INITIALIZER(P.outs),
	.iomtx = PTHREAD_MUTEX_INITIALIZER,
	.outmtx = PTHREAD_MUTEX_INITIALIZER,
};

static void
wake(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one) && errno != EAGAIN)
		fatal("cannot wake the other thread");
}

/*
 * Python thread: frames (or "done") for the main thread, which is woken
 * to send them.  Only control replies and the thread's own life go this
 * way; the shell and iopub are sent on directly.
 */
void
py_post(enum out_kind k, struct ipp_frames *fr, struct job *j)
{
	struct out *o = xcalloc(1, sizeof(*o));
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
	if (!P.outs_woken)
		w = P.outs_woken = 1;
	pthread_mutex_unlock(&P.qmtx);
	if (w)
		wake(P.E->py_fd);
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

/* Main thread: hand a job over; it runs after the request running now. */
void
py_submit(struct eng *e, struct job *j)
{
	pthread_mutex_lock(&P.qmtx);
	TAILQ_INSERT_TAIL(&P.jobs, j, q);
	pthread_mutex_unlock(&P.qmtx);
	wake(P.wake_fd);
}

/*
 * Main thread: the shell socket is the Python thread's from now on (once
 * the interpreter is up, and again after a re-registration made a new
 * one: the thread closes the old one when it takes the new).
 */
void
py_give_shell(struct eng *e, void *sock)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = JOB_SHELL_OWN;
	ipp_msg_init(&j->req);
	j->sock = sock;
	e->shell_given = 1;
	py_submit(e, j);
}

/*
 * Main thread: abort_request.  Named requests are answered "aborted" when
 * their turn comes; with none named, everything waiting on the shell
 * socket is, as soon as the Python thread is between requests.
 */
void
py_abort(struct eng *e, const json_t *ids, const char *date)
{
	const json_t *x;
	size_t i;
	int all = 0;

	pthread_mutex_lock(&P.qmtx);
	if (json_is_string(ids))
		ipp_map_put(P.aborted, json_string_value(ids), (void *)1);
	else if (json_array_size(ids) > 0)
		json_array_foreach(ids, i, x) {
			if (json_is_string(x))
				ipp_map_put(P.aborted, json_string_value(x),
				    (void *)1);
		}
	else {
		all = P.abort_all = 1;
		/* the abort's own date, to tell what its client sent after */
		snprintf(P.abort_until, sizeof(P.abort_until), "%s",
		    date != NULL ? date : "");
	}
	pthread_mutex_unlock(&P.qmtx);
	if (all)
		wake(P.wake_fd);
}

/* Either thread, iomtx held: send on iopub (none while re-connecting). */
static void
iopub_send_locked(struct ipp_frames *fr)
{
	if (P.E->iopub != NULL)
		ipp_frames_send(P.E->iopub, fr, 0, ZMQ_DONTWAIT);
}

void
py_iopub_send(struct ipp_frames *fr)
{
	pthread_mutex_lock(&P.iomtx);
	iopub_send_locked(fr);
	pthread_mutex_unlock(&P.iomtx);
}

/* Main thread: a new iopub socket (NULL: none), the old one closed. */
void
py_iopub_set(struct eng *e, void *sock)
{
	pthread_mutex_lock(&P.iomtx);
	if (e->iopub != NULL)
		zmq_close(e->iopub);
	e->iopub = sock;
	pthread_mutex_unlock(&P.iomtx);
}

/* iomtx held: build an iopub message with session s and send it. */
void
py_pub_locked(struct ipp_session *s, const char *kind, const char *type,
    const char *parent, const char *md, const char *content)
{
	struct ipp_frames fr;
	struct ipp_buf topic;
	char t[64];

	eng_topic(P.E, kind, t, sizeof(t));
	topic.data = t;
	topic.len = strlen(t);
	ipp_frames_init(&fr);
	if (ipp_msg_build_text(s, &fr, &topic, 1, type, parent, md != NULL ? md :
	    P.E->md_engine, content) == 0)
		iopub_send_locked(&fr);
	ipp_frames_release(&fr);
}

/*
 * iomtx held: publish the shell request j's busy status and execute_input,
 * if not done yet.  They are held back until something follows them: the
 * first message of the request (for a short request, its end, so that
 * all its messages leave in one burst and wake libzmq's I/O thread once,
 * not twice), output to stream, any control request, or STREAM_EVERY ms
 * of running.  Their order on iopub, and what they carry, are as if sent
 * at once.
 */
void
py_announce_locked(struct ipp_session *s, struct job *j)
{
	if (j == NULL || j->kind != JOB_SHELL || j->announced)
		return;
	j->announced = 1;
	py_pub_locked(s, "status", "status", j->parent,  NULL,
	    "{\"execution_state\":\"busy\"}");
	if (j->input != NULL)
		py_pub_locked(s, "execute_input", "execute_input", j->parent, NULL,
		    j->input);
}

void
py_announce(struct eng *e)
{
	pthread_mutex_lock(&P.iomtx);
	py_announce_locked(&e->sess, P.cur_job);
	pthread_mutex_unlock(&P.iomtx);
}

/*
 * Python thread: an iopub message of type `type` with parent `parent`
 * (JSON text), after the running request's busy.
 */
void
py_pub(const char *kind, const char *type, const char *parent,
    const char *md, const char *content)
{
	pthread_mutex_lock(&P.iomtx);
	py_announce_locked(&P.psess, P.cur_job);
	py_pub_locked(&P.psess, kind, type, parent, md, content);
	pthread_mutex_unlock(&P.iomtx);
}

/* iomtx held: turn buffered output into stream messages, sent now. */
void
py_flush_locked(struct ipp_session *s, const char *parent)
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
		py_pub_locked(s, names[i], "stream", parent, NULL, c);
		free(c);
		free(text);
	}
}

/* Python thread: the output written so far, after the request's busy. */
void
py_output(const char *parent)
{
	pthread_mutex_lock(&P.iomtx);
	py_announce_locked(&P.psess, P.cur_job);
	py_flush_locked(&P.psess, parent);
	pthread_mutex_unlock(&P.iomtx);
}

/*
 * Main thread, woken by the stream timer or anything else: stream what
 * running code has written.  While a request runs long, the timer is set
 * again, so this comes back every STREAM_EVERY ms until it ends (a
 * request younger than that has its own timer, set when it started).
 */
void
pyexec_flush(struct eng *e)
{
	struct itimerspec again = { .it_value = { 0, STREAM_EVERY * 1000000L } };
	struct job *j;
	int output, long_running;

	pthread_mutex_lock(&P.iomtx);
	if ((j = P.cur_job) != NULL && j->kind == JOB_SHELL) {
		pthread_mutex_lock(&P.outmtx);
		output = P.olen[1] > 0 || P.olen[2] > 0;
		pthread_mutex_unlock(&P.outmtx);
		long_running = ipp_monotonic() - j->started >=
		    STREAM_EVERY / 1000.0;
		if (output || long_running)
			py_announce_locked(&e->sess, j);
		if (output)
			py_flush_locked(&e->sess, j->parent);
		if (long_running)
			timerfd_settime(P.stream_fd, 0, &again, NULL);
	}
	pthread_mutex_unlock(&P.iomtx);
}

/*
 * Main thread: the stream timer's fd, readable when a request has run
 * STREAM_EVERY ms (then read it, and call pyexec_flush).
 */
int
py_stream_fd(struct eng *e)
{
	return P.stream_fd;
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
	const char *parent;
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
	/*
	 * From user threads too: the GIL keeps P.cur_job (its parent) alive
	 * while this runs.
	 */
	parent = P.cur_job ? P.cur_job->parent : NULL;
	eng_topic(P.E, kind, t, sizeof(t));
	topic.data = t;
	topic.len = strlen(t);
	ipp_frames_init(&fr);
	ctxt = eng_dump(content);
	rc = ipp_msg_build_text(&P.psess, &fr, &topic, 1, type, parent,
	    P.E->md_engine, ctxt);
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
	/* display output goes now, after the output written before it */
	pthread_mutex_lock(&P.iomtx);
	py_announce_locked(&P.psess, P.cur_job);
	py_flush_locked(&P.psess, parent);
	iopub_send_locked(&fr);
	pthread_mutex_unlock(&P.iomtx);
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


/* The Python thread: idle priority, unless a request already waits. */
static void
py_idle(int on)
{
	struct sched_param sp = { 0 };

	pthread_mutex_lock(&P.qmtx);
	if (!on || !P.hurried)
		P.idle = pthread_setschedparam(pthread_self(), on ? SCHED_IDLE :
		    SCHED_OTHER, &sp) == 0 && on;
	pthread_mutex_unlock(&P.qmtx);
}

/* engine.py's warm(): import what the first apply needs. */
static PyObject *
call_warm(PyObject *g)
{
	PyObject *fn = PyDict_GetItemString(g, "warm"), *r;

	if (fn == NULL)
		return NULL;
	if ((r = PyObject_CallNoArgs(fn)) == NULL)
		PyErr_Print();
	return r;
}

static void *
py_main(void *arg)
{
	struct eng *e = arg;
	PyConfig config;
	PyObject *code, *g;
	PyStatus st;
	sigset_t set;

	P.E = e;
	py_idle(1);
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
	/* what the first apply needs, now rather than in its time */
	Py_XDECREF(call_warm(g));
	py_idle(0);
	P.jsonmod = PyImport_ImportModule("json");	/* engine.py has it */
	if (P.jsonmod == NULL)
		PyErr_Clear();
	/* now SIGINT and the user signals may come: they are Python's */
	engined_user_signals(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	py_post(OUT_DONE, NULL, NULL);		/* ready */
	py_serve();				/* until JOB_QUIT */
	engined_user_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return NULL;
}

int
py_start(struct eng *e)
{
	/* shell requests are checked against their own replay history */
	if (ipp_session_init(&P.psess, e->ci.key, e->uuid) == -1 ||
	    ipp_session_enable_replay(&P.psess, 65536) == -1)
		return -1;
	if ((P.aborted = ipp_map_new()) == NULL)
		return -1;
	if ((P.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (P.stream_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		return -1;
	/* set here, not by the thread: kernel_info may be asked at once */
	snprintf(e->py_version, sizeof(e->py_version), "%d.%d.%d",
	    PY_MAJOR_VERSION, PY_MINOR_VERSION, PY_MICRO_VERSION);
	if ((e->py_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return -1;
	return 0;
}

/*
 * Start the interpreter's thread, once the engine has registered.  It
 * starts at SCHED_IDLE: starting Python and importing what the first
 * apply needs is most of an engine's start-up CPU (60-80 ms here), and
 * a hundred engines coming up at once on a few cores register far
 * sooner when none of them spends it while anything else wants the CPU.
 * Yet a client's first request, which comes a little after (a client
 * takes far longer to connect), finds the interpreter ready instead of
 * paying for it.  The thread goes back to normal priority when it is
 * ready, or at once when a request is waiting (py_hurry).  Registration,
 * heartbeats, kernel_info and control requests are all answered in C
 * meanwhile.
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
	/* top, perf and /proc/PID/task tell the two threads apart */
	pthread_setname_np(e->py_thread, "engined-py");
	e->py_launched = 1;
	return 0;
}

/*
 * Main thread: a request waits, the interpreter's start is urgent now.
 * (glibc takes no SCHED_IDLE in a thread's attributes, so the thread
 * lowers itself, py_main: whichever of the two comes first decides.)
 */
void
py_hurry(struct eng *e)
{
	struct sched_param sp = { 0 };

	if (!e->py_launched || e->py_hurried)
		return;
	e->py_hurried = 1;
	pthread_mutex_lock(&P.qmtx);
	if (P.idle)
		pthread_setschedparam(e->py_thread, SCHED_OTHER, &sp);
	P.hurried = 1;
	pthread_mutex_unlock(&P.qmtx);
}


/* SIGINT to the Python thread, only while it runs user code. */
void
py_interrupt(struct eng *e)
{
	/*
	 * Under iomtx, so the request cannot end and the next start between
	 * the look and the signal; one that lands after its request ended is
	 * dropped before the next is published (pyshell.c, run()).
	 */
	pthread_mutex_lock(&P.iomtx);
	if (P.cur_job != NULL && P.cur_job->kind == JOB_SHELL)
		pthread_kill(e->py_thread, SIGINT);
	pthread_mutex_unlock(&P.iomtx);
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
	/*
	 * The thread still has j: leave it, the process is exiting.  Its
	 * shell socket is closed here, and it will not touch it again
	 * (pyshell.c checks `abandoned` under qmtx before each use).
	 */
	log_info("Python thread still busy at exit");
	pthread_mutex_lock(&P.qmtx);
	P.abandoned = 1;
	if (P.shell != NULL)
		zmq_close(P.shell);
	P.shell = NULL;
	TAILQ_FOREACH(j, &P.jobs, q)	/* one it has not taken yet */
		if (j->kind == JOB_SHELL_OWN && j->sock != NULL) {
			zmq_close(j->sock);
			j->sock = NULL;
		}
	pthread_mutex_unlock(&P.qmtx);
}
