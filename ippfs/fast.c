/*
 * fast.c - ippfs's fast path for the messages a task costs: its reply
 * and its iopub output, read off the raw frames.
 *
 * hub.c drains the sockets and hands every iopub message to iopub_fast()
 * and every reply on a DEALER to reply_fast() before decoding it; what
 * these leave (return 0) hub.c decodes whole.  They feed the same tables
 * as the slow path: fstask_reply, fstask_status and fstask_iopub (tasks.c),
 * fsengine_output and fsengine_status (hub.c).  The frames
 * are read only through libipp (ipp_msg_locate, ipp_msg_peek,
 * ipp_msg_part_object), which knows where each part lies.
 */
#include <string.h>

#include "ippfs.h"

/*
 * The fast path.  A task costs ippfs its reply and four or five iopub
 * messages (status busy, execute_input, execute_result, status idle),
 * and decoding each whole, four JSON parts into trees of small
 * allocations, was the largest part of ippfs's user time in a
 * tasks/batch run.  Yet a task needs little of them: the header's
 * msg_type, the parent's msg_id, the engine's uuid and a status or
 * execution_state, all top-level strings that ipp_msg_peek reads off
 * the text, and the content of the few messages that carry output.  So
 * messages are read raw first: one about no task here (execute_input
 * echoes, requests of other clients) is dropped unverified, as nothing
 * is done with it; one about a task is verified and then only its
 * content is parsed, and only when a string will not do.  Anything
 * else, and whatever the peeks cannot read, is decoded whole as before.
 */

/* The content part as an object; NULL (logged) when it is not one. */
static json_t *
content(const struct ipp_msg *m)
{
	char why[256];
	json_t *v;

	if ((v = ipp_msg_part_object(m, 3, why, sizeof(why))) == NULL)
		log_warnx("dropping a message: %s", why);
	return v;
}

/* Engine slot named by metadata.engine, else (iopub) header.session. */
static int
peek_engine(const struct ipp_msg *m, int session)
{
	char uuid[IPP_UUID_MAX];

	if (ipp_msg_peek(m, 2, "engine", uuid, sizeof(uuid)) == 0 ||
	    (session && ipp_msg_peek(m, 0, "session", uuid, sizeof(uuid)) ==
	    0))
		return fsengine_byuuid(uuid);
	return -1;
}

static int
verified(struct ipp_msg *m)
{
	char why[256];

	if (ipp_msg_verify(&fs.sess, m, why, sizeof(why)) == -1) {
		log_warnx("dropping a message: %s", why);
		return 0;
	}
	return 1;
}

/* An iopub status, read off the text, for fsengine_status (hub.c). */
static void
fsengine_state(struct ipp_msg *m)
{
	char state[16], ptype[64], pid[160];

	if (ipp_msg_peek(m, 3, "execution_state", state, sizeof(state)) ==
	    -1 || ipp_msg_peek(m, 1, "msg_id", pid, sizeof(pid)) == -1)
		return;
	if (ipp_msg_peek(m, 1, "msg_type", ptype, sizeof(ptype)) == -1)
		ptype[0] = '\0';
	fsengine_status(peek_engine(m, 1), state, pid, ptype);
}

/* An iopub message: 1 when it was dealt with (or dropped) here. */
int
iopub_fast(struct ipp_msg *m)
{
	char type[64], pid[160], state[32];
	struct fsengine *e;
	struct fstask *t = NULL;
	json_t *c;
	int eng = -1;

	if (ipp_msg_locate(m) == -1 || ipp_msg_peek(m, 0, "msg_type", type,
	    sizeof(type)) == -1)
		return 0;
	if (strcmp(type, "execute_input") == 0)
		return 1;
	if (ipp_msg_peek(m, 1, "msg_id", pid, sizeof(pid)) == 0)
		t = fstask_bymsg(pid);
	if (t == NULL) {
		/*
		 * The status of another client's request: whether the
		 * engine is busy (fsengine_state), and an engine that could
		 * not say where it runs (busy) may answer now.
		 */
		if (strcmp(type, "status") == 0) {
			if (!verified(m))
				return 1;
			fsengine_state(m);
			e = fsengine_get(peek_engine(m, 1));
			if (e != NULL && e->host[0] == '\0' && !e->asked)
				fsengine_where(e, NULL);
			return 1;
		}
		/* stream output of an engine goes to its files */
		if (strcmp(type, "stream") != 0)
			return 1;
		if (!verified(m))
			return 1;
		if ((eng = peek_engine(m, 1)) >= 0 &&
		    (c = content(m)) != NULL) {
			fsengine_output(eng, c);
			json_decref(c);
		}
		return 1;
	}
	if (!verified(m))
		return 1;
	if (strcmp(type, "status") == 0)
		fsengine_state(m);
	if (t->engine < 0)
		eng = peek_engine(m, 1);
	if (strcmp(type, "status") == 0 && ipp_msg_peek(m, 3,
	    "execution_state", state, sizeof(state)) == 0) {
		fstask_status(t, state, eng);
		return 1;
	}
	if ((c = content(m)) != NULL) {
		fstask_iopub(t, type, c, eng);
		json_decref(c);
	}
	return 1;
}

/* A reply on a DEALER: 1 when it was a task's and dealt with here. */
int
reply_fast(struct ipp_msg *m)
{
	char type[64], pid[160], st[16];
	struct fstask *t;
	json_t *c;
	int eng;

	if (ipp_msg_locate(m) == -1 || ipp_msg_peek(m, 0, "msg_type", type,
	    sizeof(type)) == -1 || (strcmp(type, "execute_reply") != 0 &&
	    strcmp(type, "apply_reply") != 0) || ipp_msg_peek(m, 1, "msg_id",
	    pid, sizeof(pid)) == -1 || (t = fstask_bymsg(pid)) == NULL)
		return 0;
	if (!verified(m))
		return 1;
	eng = peek_engine(m, 0);
	if (ipp_msg_peek(m, 3, "status", st, sizeof(st)) == 0 &&
	    strcmp(st, "ok") == 0)
		fstask_reply(t, NULL, eng);
	else if ((c = content(m)) != NULL) {
		fstask_reply(t, c, eng);
		json_decref(c);
	}
	return 1;
}
