/*
 * control.c - the main thread's request handling: the shell queue and
 * the control channel.
 *
 * Shell requests run one at a time, in arrival order, on the Python
 * thread.  An abort_request names msg_ids that are answered "aborted"
 * when their turn comes (or, with no ids, empties the queue now).  A
 * failed execute_request with stop_on_error aborts what is queued behind
 * it, as ipykernel does.  Control requests never wait for the running
 * code: they are answered here in C, except clear_request, which needs
 * the interpreter and runs as soon as the current request ends.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engined.h"

json_t *
eng_metadata(struct eng *e, const json_t *rmd)
{
	char now[40];
	json_t *v;

	ipp_iso_now(now, sizeof(now));
	v = json_object_get(rmd, "original_msg_id");
	return json_pack("{s:s, s:b, s:s, s:b, s:b, s:O}", "started", now,
	    "dependencies_met", 1, "engine", e->uuid, "is_broadcast",
	    json_is_true(json_object_get(rmd, "is_broadcast")),
	    "is_coalescing", json_is_true(json_object_get(rmd,
	    "is_coalescing")), "original_msg_id", json_is_string(v) ? v :
	    json_string(""));
}

/* Ids of a request, as struct ipp_buf, for building its reply. */
static int
req_ids(struct ipp_msg *m, struct ipp_buf *ids, int max)
{
	int i;

	for (i = 0; i < m->nids && i < max; i++) {
		ids[i].data = ipp_frame_data(&m->fr, i);
		ids[i].len = ipp_frame_len(&m->fr, i);
	}
	return i;
}

/* Send a reply to request m on sock; content and metadata are stolen. */
static void
reply(struct eng *e, void *sock, struct ipp_msg *m, json_t *content_new,
    json_t *md_new)
{
	struct ipp_buf ids[IPP_MAX_IDS];
	struct ipp_frames out;
	char type[128];
	int n = req_ids(m, ids, IPP_MAX_IDS);

	/* the request types engined answers are short: the type fits */
	(void)ipp_reply_type(m->msg_type, type, sizeof(type));
	if (md_new == NULL)
		md_new = json_pack("{s:s}", "engine", e->uuid);
	ipp_frames_init(&out);
	if (ipp_msg_build(&e->sess, &out, ids, n, type, NULL, m->header,
	    md_new, content_new) == 0)
		ipp_frames_send(sock, &out, 0, ZMQ_DONTWAIT);
	ipp_frames_release(&out);
}

/*
 * Dump and decref a JSON part.  NULL (a json_pack that failed) is {}, as
 * ipp_msg_build takes it; never NULL, so a caller need not check.
 */
char *
eng_dump(json_t *v)
{
	char *t = v != NULL ? ipp_json_dump(v) : NULL;

	json_decref(v);
	return t != NULL ? t : xstrdup("{}");
}

/* An iopub message on topic engine.N.kind, sent now (main thread only). */
void
eng_iopub(struct eng *e, const char *kind, const char *type,
    const char *parent, const char *md, const char *content)
{
	struct ipp_frames out;
	struct ipp_buf topic;
	char t[64];

	eng_topic(e, kind, t, sizeof(t));
	topic.data = t;
	topic.len = strlen(t);
	ipp_frames_init(&out);
	if (ipp_msg_build_text(&e->sess, &out, &topic, 1, type, parent,
	    md != NULL ? md : e->md_engine, content) == 0)
		ipp_frames_send(e->iopub, &out, 0, ZMQ_DONTWAIT);
	ipp_frames_release(&out);
}

static void
status_text(struct eng *e, const char *parent, const char *state)
{
	char c[64];

	snprintf(c, sizeof(c), "{\"execution_state\":\"%s\"}", state);
	eng_iopub(e, "status", "status", parent, NULL, c);
}

void
publish_status(struct eng *e, const json_t *parent, const char *state)
{
	char *p = parent != NULL ? ipp_json_dump(parent) : NULL;

	status_text(e, p, state);
	free(p);
}

void
send_aborted(struct eng *e, void *sock, struct ipp_msg *m)
{
	json_t *md = eng_metadata(e, m->metadata);

	json_object_set_new(md, "status", json_string("aborted"));
	publish_status(e, m->header, "busy");
	reply(e, sock, m, json_pack("{s:s}", "status", "aborted"), md);
	publish_status(e, m->header, "idle");
}

static void
job_free(struct job *j)
{
	ipp_msg_release(&j->req);
	free(j->parent);
	free(j->input);
	free(j->text);
	free(j);
}

void
shell_enqueue(struct eng *e, struct job *j)
{
	json_t *soe = json_object_get(j->req.content, "stop_on_error");

	j->stop_on_error = strcmp(j->req.msg_type, "execute_request") == 0 &&
	    (soe == NULL || json_is_true(soe));
	TAILQ_INSERT_TAIL(&e->queue, j, q);
}

/* Answer everything queued with "aborted". */
static void
abort_queue(struct eng *e)
{
	struct job *j;

	while ((j = TAILQ_FIRST(&e->queue)) != NULL &&
	    j->kind == JOB_SHELL) {
		TAILQ_REMOVE(&e->queue, j, q);
		send_aborted(e, e->shell, &j->req);
		job_free(j);
	}
}

/*
 * A shell request is about to run.  What ipykernel publishes before the
 * code runs (busy, and execute_input with the new execution_count) is
 * made here, so the Python thread has nothing to hand back before the
 * code ends.  The count is kept here for the same reason; requests run
 * one at a time, so the job carries the count it runs under.
 */
static void
shell_start(struct eng *e, struct job *j)
{
	json_t *c = j->req.content, *sh;
	const char *t = j->req.msg_type, *code;
	int store;

	if ((j->parent = ipp_json_dump(j->req.header)) == NULL)
		j->parent = xstrdup("{}");
	j->started = ipp_monotonic();
	if (strcmp(t, "execute_request") == 0)
		j->what = json_is_object(json_object_get(j->req.metadata,
		    "ipp_data")) ? SH_DATA : SH_EXECUTE;
	else if (strcmp(t, "apply_request") == 0)
		j->what = SH_APPLY;
	else
		j->what = SH_OTHER;
	if (j->what == SH_EXECUTE) {
		j->silent = json_is_true(json_object_get(c, "silent"));
		sh = json_object_get(c, "store_history");
		store = sh == NULL ? !j->silent : json_is_true(sh) &&
		    !j->silent;
		if (store)
			e->exec_count++;
		if ((code = json_string_value(json_object_get(c, "code"))) ==
		    NULL)
			code = "";
		if (!j->silent)
			j->input = eng_dump(json_pack("{s:s, s:i}", "code",
			    code, "execution_count", e->exec_count));
	}
	j->exec_count = e->exec_count;
}

/*
 * Publish the running shell request's busy status and execute_input, if
 * not done yet.  They are held back until something follows them: the
 * first message of the request back from the Python thread (for a short
 * request, its end, so that all the request's messages leave in one
 * burst and wake libzmq's I/O thread once, not twice), output to stream,
 * any control request, or STREAM_EVERY ms of running.  Their order on
 * iopub, and what they carry, are as if sent at once.
 */
void
shell_announce(struct eng *e)
{
	struct job *j = e->running;

	if (j == NULL || j->kind != JOB_SHELL || j->announced)
		return;
	j->announced = 1;
	status_text(e, j->parent, "busy");
	if (j->input != NULL)
		eng_iopub(e, "execute_input", "execute_input", j->parent, NULL,
		    j->input);
}

void
shell_next(struct eng *e)
{
	struct job *j;

	if (!TAILQ_EMPTY(&e->queue)) {
		if (py_launch(e) == -1)
			fatal("cannot start the Python interpreter's thread");
		py_hurry(e);	/* a request waits for the interpreter */
	}
	while (e->running == NULL && e->py_ready &&
	    (j = TAILQ_FIRST(&e->queue)) != NULL) {
		TAILQ_REMOVE(&e->queue, j, q);
		if (j->kind == JOB_SHELL && ipp_map_del(e->aborted,
		    j->req.msg_id) != NULL) {
			send_aborted(e, e->shell, &j->req);
			job_free(j);
			continue;
		}
		e->running = j;
		if (j->kind == JOB_SHELL)
			shell_start(e, j);
		py_submit(e, j);
	}
}

void
shell_done(struct eng *e, struct job *j)
{
	if (e->running == j)
		e->running = NULL;
	if (j->kind == JOB_SHELL) {
		shell_announce(e);
		status_text(e, j->parent, "idle");
	}
	if (j->failed && j->stop_on_error)
		abort_queue(e);
	job_free(j);
}

static void
c_kernel_info(struct eng *e, struct ipp_msg *m)
{
	reply(e, e->control, m, json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, "
	    "s:s, s:s}, s:s, s:[]}", "status", "ok", "protocol_version",
	    IPP_PROTOCOL_VERSION, "implementation", "engined",
	    "implementation_version", "0.1", "language_info", "name", "python",
	    "version", e->py_version, "mimetype", "text/x-python",
	    "file_extension", ".py", "banner", "engined (IPython Parallel "
	    "engine in C)", "help_links"), NULL);
}

static void
c_abort(struct eng *e, struct ipp_msg *m)
{
	json_t *ids = json_object_get(m->content, "msg_ids"), *x;
	size_t i;

	if (json_is_string(ids))
		ipp_map_put(e->aborted, json_string_value(ids), (void *)1);
	else if (json_array_size(ids) > 0)
		json_array_foreach(ids, i, x) {
			if (json_is_string(x))
				ipp_map_put(e->aborted, json_string_value(x),
				    (void *)1);
		}
	else
		abort_queue(e);
	reply(e, e->control, m, json_pack("{s:s}", "status", "ok"), NULL);
}

static void
c_clear(struct eng *e, struct ipp_msg *m)
{
	struct job *j = xcalloc(1, sizeof(*j));

	/* the interpreter is needed: run first thing after the current job */
	j->kind = JOB_CLEAR;
	j->req = *m;
	ipp_msg_init(m);
	TAILQ_INSERT_HEAD(&e->queue, j, q);
	shell_next(e);
}

static void
c_shutdown(struct eng *e, struct ipp_msg *m)
{
	struct ipp_frames out;
	struct ipp_buf topic;
	json_t *restart = json_object_get(m->content, "restart");
	char t[64];

	reply(e, e->control, m, json_pack("{s:s, s:b}", "status", "ok",
	    "restart", json_is_true(restart)), NULL);
	/* the copy on iopub is how the hub learns we are going */
	eng_topic(e, "shutdown", t, sizeof(t));
	topic.data = t;
	topic.len = strlen(t);
	ipp_frames_init(&out);
	if (ipp_msg_build(&e->sess, &out, &topic, 1, "shutdown_reply", NULL,
	    m->header, json_pack("{s:s}", "engine", e->uuid),
	    json_pack("{s:s, s:b}", "status", "ok", "restart",
	    json_is_true(restart))) == 0)
		ipp_frames_send(e->iopub, &out, 0, ZMQ_DONTWAIT);
	ipp_frames_release(&out);
	log_info("shutdown requested");
	e->quit = 1;
}

static int
signal_number(json_t *v)
{
	static const struct { const char *n; int s; } names[] = {
		{ "SIGINT", SIGINT }, { "SIGTERM", SIGTERM },
		{ "SIGKILL", SIGKILL }, { "SIGUSR1", SIGUSR1 },
		{ "SIGUSR2", SIGUSR2 }, { "SIGHUP", SIGHUP },
	};
	size_t i;

	if (json_is_integer(v) && json_integer_value(v) > 0 &&
	    json_integer_value(v) < NSIG)
		return (int)json_integer_value(v);
	for (i = 0; json_is_string(v) && i < sizeof(names) / sizeof(names[0]);
	    i++)
		if (strcmp(names[i].n, json_string_value(v)) == 0)
			return names[i].s;
	return -1;
}

static void
c_signal(struct eng *e, struct ipp_msg *m)
{
	int sig = strcmp(m->msg_type, "interrupt_request") == 0 ? SIGINT :
	    signal_number(json_object_get(m->content, "sig"));

	if (sig == -1) {
		reply(e, e->control, m, ipp_error_content("ValueError",
		    "no such signal"), NULL);
		return;
	}
	if (sig == SIGINT)
		py_interrupt(e);	/* KeyboardInterrupt in the user code */
	else if (kill(getpid(), sig) == -1) {
		reply(e, e->control, m, ipp_error_content("OSError",
		    "kill(%d): %s", sig, strerror(errno)), NULL);
		return;
	}
	reply(e, e->control, m, json_pack("{s:s}", "status", "ok"), NULL);
}

static const struct {
	const char	*type;
	void		 (*fn)(struct eng *, struct ipp_msg *);
} control_table[] = {
	{ "kernel_info_request", c_kernel_info },
	{ "abort_request", c_abort },
	{ "clear_request", c_clear },
	{ "shutdown_request", c_shutdown },
	{ "signal_request", c_signal },
	{ "interrupt_request", c_signal },
};

/* One control message: 1 handled, 0 none waiting. */
int
control_dispatch(struct eng *e)
{
	struct ipp_msg m;
	char why[256];
	size_t i;

	ipp_msg_init(&m);
	if (ipp_msg_recv(&e->sess, e->control, &m, ZMQ_DONTWAIT, why,
	    sizeof(why)) == -1) {
		int again = errno == EAGAIN;

		ipp_msg_release(&m);
		if (again)
			return 0;
		log_warnx("dropped message on control: %s", why);
		return 1;
	}
	shell_announce(e);	/* what was sent before this, goes before */
	for (i = 0; i < sizeof(control_table) / sizeof(control_table[0]); i++)
		if (strcmp(control_table[i].type, m.msg_type) == 0) {
			int quiet = strcmp(m.msg_type, "clear_request") == 0;

			if (!quiet)
				publish_status(e, m.header, "busy");
			control_table[i].fn(e, &m);
			if (!quiet)
				publish_status(e, m.header, "idle");
			ipp_msg_release(&m);
			return 1;
		}
	log_warnx("unknown control message '%s'", m.msg_type);
	reply(e, e->control, &m, ipp_error_content("KeyError",
	    "engined does not handle '%s'", m.msg_type), NULL);
	ipp_msg_release(&m);
	return 1;
}
