/*
 * pyshell.c - the Python thread's loop: the shell socket and the jobs
 * the main thread hands over, one at a time.
 *
 * Once the interpreter is up the shell socket is this thread's
 * (JOB_SHELL_OWN): it receives each request itself, runs it (pyreq.c)
 * and sends the reply and the request's iopub messages itself, so a
 * request wakes only this thread and libzmq's I/O thread; the main
 * thread sleeps through it (engined.h).  Requests run in arrival order.
 * Between two requests the loop takes the main thread's jobs first
 * (clear_request, startup code, a new shell socket, quit), so a clear
 * runs as soon as the request running now ends; then it answers
 * "aborted" to what abort_request asked for: each request whose msg_id
 * was named, when its turn comes, or with no ids, everything waiting on
 * the socket then.  A failed execute_request with stop_on_error aborts
 * what waits behind it, as ipykernel does.
 *
 * The shell is used here outside the blocking poll only under P.qmtx and
 * only while the main thread has not given up on this thread at exit
 * (P.abandoned: it then closes the socket itself).  The GIL is released
 * while the thread waits, so threads the user's code started run then.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <sys/timerfd.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engined.h"

/* Send a reply on the shell, after the running request's busy. */
void
py_reply(struct job *j, struct ipp_frames *fr)
{
	pthread_mutex_lock(&P.iomtx);
	py_announce_locked(&P.psess, P.cur_job);
	pthread_mutex_unlock(&P.iomtx);
	pthread_mutex_lock(&P.qmtx);
	if (P.shell != NULL && !P.abandoned)
		ipp_frames_send(P.shell, fr, 0, ZMQ_DONTWAIT);
	pthread_mutex_unlock(&P.qmtx);
	ipp_frames_release(fr);
}

/* One request waiting on the shell, or NULL when none is. */
static struct job *
shell_recv(void)
{
	struct job *j;
	char why[256];
	int rc;

	for (;;) {
		j = xcalloc(1, sizeof(*j));
		j->kind = JOB_SHELL;
		ipp_msg_init(&j->req);
		pthread_mutex_lock(&P.qmtx);
		if (P.shell == NULL || P.abandoned) {
			rc = -1;
			errno = EAGAIN;
		} else
			rc = ipp_frames_recv(P.shell, &j->req.fr, ZMQ_DONTWAIT);
		pthread_mutex_unlock(&P.qmtx);
		if (rc != -1 && ipp_msg_decode(&P.psess, &j->req, why,
		    sizeof(why)) == 0)
			return j;
		if (rc == -1 && errno == EAGAIN) {
			job_free(j);
			return NULL;
		}
		if (rc == -1)
			snprintf(why, sizeof(why), "receive: %s",
			    zmq_strerror(errno));
		log_warnx("dropped message on shell: %s", why);
		job_free(j);
	}
}

/* busy, the "aborted" reply and idle, as ipykernel answers one. */
static void
send_aborted(struct job *j)
{
	json_t *md = eng_metadata(P.E, j->req.metadata);

	json_object_set_new(md, "status", json_string("aborted"));
	py_pub("status", "status", j->parent, NULL,
	    "{\"execution_state\":\"busy\"}");
	py_reply_build(j, json_pack("{s:s}", "status", "aborted"), md, NULL);
	py_pub("status", "status", j->parent, NULL,
	    "{\"execution_state\":\"idle\"}");
}

/*
 * Whether request j was sent after until, an abort_request's date (its
 * client's clock, the same format): only then is it not aborted.  A date
 * that cannot be compared (none, another format) counts as before.
 */
static int
sent_after(const struct job *j, const char *until)
{
	const char *d = json_string_value(json_object_get(j->req.header,
	    "date"));

	return until[0] != '\0' && d != NULL && strlen(d) == strlen(until) &&
	    strcmp(d, until) > 0;
}

/*
 * Answer the requests waiting on the shell now with "aborted", up to the
 * first one sent after until (NULL: none is); that one is returned, to
 * run as usual (abort-all aborts what was queued when it was asked,
 * as ipykernel does, not what its client sent after the reply).
 */
static struct job *
abort_waiting(const char *until)
{
	struct job *j;

	while ((j = shell_recv()) != NULL) {
		if (until != NULL && sent_after(j, until))
			return j;
		if ((j->parent = ipp_json_dump(j->req.header)) == NULL)
			j->parent = xstrdup("{}");
		send_aborted(j);
		job_free(j);
	}
	return NULL;
}

/*
 * What the request is, and what ipykernel publishes before its code runs
 * (execute_input with the new execution_count), ready to go out with
 * the busy status when something follows them.
 */
static void
shell_start(struct job *j)
{
	json_t *c = j->req.content, *sh, *soe;
	const char *t = j->req.msg_type, *code;
	int store;

	j->started = ipp_monotonic();
	if (strcmp(t, "execute_request") == 0) {
		j->what = json_is_object(json_object_get(j->req.metadata,
		    "ipp_data")) ? SH_DATA : SH_EXECUTE;
		soe = json_object_get(c, "stop_on_error");
		j->stop_on_error = soe == NULL || json_is_true(soe);
	} else if (strcmp(t, "apply_request") == 0)
		j->what = SH_APPLY;
	else
		j->what = SH_OTHER;
	if (j->what == SH_EXECUTE) {
		j->silent = json_is_true(json_object_get(c, "silent"));
		sh = json_object_get(c, "store_history");
		store = sh == NULL ? !j->silent : json_is_true(sh) &&
		    !j->silent;
		if (store)
			P.exec_count++;
		if ((code = json_string_value(json_object_get(c, "code"))) ==
		    NULL)
			code = "";
		if (!j->silent)
			j->input = eng_dump(json_pack("{s:s, s:i}", "code",
			    code, "execution_count", P.exec_count));
	}
	j->exec_count = P.exec_count;
}

/*
 * Run j with P.cur_job set (the main thread streams its output and
 * interrupts it through that).  A shell request's idle goes with the
 * clearing, so the main thread streams nothing after it.
 */
static void
run(struct job *j)
{
	static const struct itimerspec off;

	/*
	 * A stray SIGINT from before must not hit j; one sent once j is
	 * published (py_interrupt, under iomtx) must.
	 */
	py_drop_pending_interrupt();
	pthread_mutex_lock(&P.iomtx);
	P.cur_job = j;
	pthread_mutex_unlock(&P.iomtx);
	py_run_job(j);
	pthread_mutex_lock(&P.iomtx);
	if (j->kind == JOB_SHELL) {
		py_announce_locked(&P.psess, j);
		py_pub_locked(&P.psess, "status", "status", j->parent, NULL,
		    "{\"execution_state\":\"idle\"}");
		/* a request that ended sooner than STREAM_EVERY wakes no one */
		timerfd_settime(P.stream_fd, 0, &off, NULL);
	}
	P.cur_job = NULL;
	pthread_mutex_unlock(&P.iomtx);
}

static void
shell_run(struct job *j)
{
	/* the main thread streams output from STREAM_EVERY ms on */
	static const struct itimerspec first = {
		.it_value = { 0, STREAM_EVERY * 1000000L }
	};
	int aborted;

	if ((j->parent = ipp_json_dump(j->req.header)) == NULL)
		j->parent = xstrdup("{}");
	pthread_mutex_lock(&P.qmtx);
	aborted = ipp_map_del(P.aborted, j->req.msg_id) != NULL;
	pthread_mutex_unlock(&P.qmtx);
	if (aborted) {
		send_aborted(j);
		return;
	}
	shell_start(j);
	timerfd_settime(P.stream_fd, 0, &first, NULL);
	run(j);
	if (j->failed && j->stop_on_error)
		(void)abort_waiting(NULL);	/* NULL: returns none */
}

/* A new shell socket from the main thread; the old one is closed. */
static void
take_shell(struct job *j)
{
	pthread_mutex_lock(&P.qmtx);
	if (P.shell != NULL)
		zmq_close(P.shell);
	if (P.abandoned)	/* the engine is exiting: zmq_ctx_term waits on it */
		zmq_close(j->sock);
	P.shell = P.abandoned ? NULL : j->sock;
	j->sock = NULL;
	pthread_mutex_unlock(&P.qmtx);
}

/*
 * The main thread's next job, and whether it asked to abort everything
 * (kept until the shell is ours: requests wait on it until then).
 */
static struct job *
next_job(int *abort_all, char *until, size_t untilsz)
{
	struct job *j;

	pthread_mutex_lock(&P.qmtx);
	if ((j = TAILQ_FIRST(&P.jobs)) != NULL)
		TAILQ_REMOVE(&P.jobs, j, q);
	*abort_all = P.abort_all && P.shell != NULL;
	if (*abort_all) {
		P.abort_all = 0;
		snprintf(until, untilsz, "%s", P.abort_until);
	}
	pthread_mutex_unlock(&P.qmtx);
	return j;
}

/*
 * Sleep, GIL released, until a request or a job comes.  A signal (SIGINT
 * between requests) ends the wait early; Python only notes it.
 */
static void
wait_for_work(void)
{
	zmq_pollitem_t it[2];
	uint64_t n;
	int rc;

	memset(it, 0, sizeof(it));
	it[0].fd = P.wake_fd;
	it[0].events = ZMQ_POLLIN;
	it[1].socket = P.shell;
	it[1].fd = -1;
	it[1].events = ZMQ_POLLIN;
	Py_BEGIN_ALLOW_THREADS
	rc = zmq_poll(it, P.shell != NULL ? 2 : 1, -1);
	Py_END_ALLOW_THREADS
	if (rc == -1 && errno != EINTR)
		fatalx("Python thread: zmq_poll: %s", zmq_strerror(errno));
	if (rc > 0 && (it[0].revents & ZMQ_POLLIN) &&
	    read(P.wake_fd, &n, sizeof(n)) == -1 && errno != EAGAIN &&
	    errno != EINTR)
		fatal("Python thread: read from the main thread's eventfd");
}

/* The loop, until JOB_QUIT (whose job goes back to the main thread). */
void
py_serve(void)
{
	struct job *j, *k;
	char until[sizeof(P.abort_until)];
	int all;

	for (;;) {
		j = next_job(&all, until, sizeof(until));
		if (all && (k = abort_waiting(until)) != NULL) {
			shell_run(k);
			job_free(k);
		}
		if (j != NULL) {
			switch (j->kind) {
			case JOB_QUIT:
				pthread_mutex_lock(&P.qmtx);
				if (P.shell != NULL)
					zmq_close(P.shell);
				P.shell = NULL;
				pthread_mutex_unlock(&P.qmtx);
				py_post(OUT_DONE, NULL, j);
				return;
			case JOB_SHELL_OWN:
				take_shell(j);
				break;
			default:
				run(j);
				break;
			}
			job_free(j);
			continue;
		}
		if ((j = shell_recv()) != NULL) {
			shell_run(j);
			job_free(j);
			continue;
		}
		wait_for_work();
	}
}
