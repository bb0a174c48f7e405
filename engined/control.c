/*
 * control.c - the main thread's request handling: the control channel.
 *
 * Control requests never wait for the running code: they are answered
 * here in C, except clear_request, which needs the interpreter and runs
 * as soon as the current request ends.  The shell requests themselves
 * are the Python thread's (pyshell.c); an abort_request hands it the
 * msg_ids to answer "aborted" when their turn comes (or, with no ids,
 * tells it to answer everything waiting on the shell socket so, as soon
 * as the request running now, if any, ends).
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
	/* "s" copies the text: no reference to take or to leak */
	return json_pack("{s:s, s:b, s:s, s:b, s:b, s:s}", "started", now,
	    "dependencies_met", 1, "engine", e->uuid, "is_broadcast",
	    json_is_true(json_object_get(rmd, "is_broadcast")),
	    "is_coalescing", json_is_true(json_object_get(rmd,
	    "is_coalescing")), "original_msg_id", json_is_string(v) ?
	    json_string_value(v) : "");
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

/* An iopub message on topic engine.N.kind, sent now (main thread). */
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
		py_iopub_send(&out);
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
	py_abort(e, json_object_get(m->content, "msg_ids"),
	    json_string_value(json_object_get(m->header, "date")));
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
	py_submit(e, j);
	py_hurry(e);
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
		py_iopub_send(&out);
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
	py_announce(e);		/* what was sent before this, goes before */
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
