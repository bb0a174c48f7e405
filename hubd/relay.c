/*
 * relay.c - the direct channels: mux, control and iopub.
 *
 * mux and control are ROUTER<->ROUTER relays.  A client's DEALER sends
 * [engine_uuid, DELIM, ...]; our client-side ROUTER prepends the client's
 * routing id, and swapping the first two frames gives
 * [engine_uuid, client_rid, DELIM, ...], which the engine-side ROUTER
 * routes to the engine.  Replies come back the same way reversed.  The
 * bytes of the message are never re-encoded, so signatures stay valid;
 * but hubd checks every signature before relaying, so unsigned, forged or
 * replayed messages go nowhere.
 *
 * iopub is SUB (engines publish) -> PUB (clients subscribe), forwarded
 * verbatim and tapped for task records and for shutdown_reply, which
 * means the engine is going away.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hubd.h"

/*
 * Receive and verify one message that must carry `nids` routing frames
 * (-1: any), and parse it when `parse`: 1 done, 0 nothing waiting, -1
 * received but rejected (already logged and dropped).
 */
static int
recv_msg(struct hub *h, void *sock, struct ipp_msg *m, const char *what,
    int nids, int parse)
{
	char why[256];

	if (ipp_frames_recv(sock, &m->fr, ZMQ_DONTWAIT) == -1) {
		if (errno == EAGAIN || errno == EINTR || errno == ETERM)
			return 0;
		hub_badinput(h,
		    "dropped message on %s socket: receive: %s", what,
		    zmq_strerror(errno));
		return -1;
	}
	if (ipp_msg_verify(&h->sess, m, why, sizeof(why)) == -1 ||
	    (parse && ipp_msg_parse(m, why, sizeof(why)) == -1)) {
		hub_badinput(h, "dropped message on %s socket: %s", what, why);
		return -1;
	}
	if (nids >= 0 && m->nids != nids) {
		hub_badinput(h,
		    "dropped %s on %s socket: %d routing frames, want %d",
		    parse ? m->msg_type : "message", what, m->nids, nids);
		return -1;
	}
	return 1;
}

int
hub_recv(struct hub *h, void *sock, struct ipp_msg *m, const char *what,
    int nids)
{
	int rc = recv_msg(h, sock, m, what, nids, 1);

	if (rc == 1 && h->lost != NULL)
		recover_deliver(h, sock, m);
	return rc;
}

/*
 * The four parts of a verified m through the scanner: 0 when it vouches
 * for all of them and the strings fit, -1 when m must be parsed.
 */
static int
scan_parts(struct ipp_msg *m, const char *const *mdkeys, int nmd,
    struct scanned *sc)
{
	static const char *const hkeys[] = { "msg_id", "msg_type" };
	static const char *const pkeys[] = { "msg_id" };
	struct ipp_jval hv[2], pv[1];

	if (ipp_json_scan(ipp_msg_part(m, 0), ipp_msg_partlen(m, 0), hkeys, 2,
	    hv) == -1 || ipp_jval_str(&hv[0], sc->idbuf,
	    sizeof(sc->idbuf)) == -1 || ipp_jval_str(&hv[1], sc->typebuf,
	    sizeof(sc->typebuf)) == -1)
		return -1;
	if (ipp_json_scan(ipp_msg_part(m, 1), ipp_msg_partlen(m, 1), pkeys, 1,
	    pv) == -1)
		return -1;
	sc->pidbuf[0] = '\0';
	if (pv[0].type == IPP_JSTR && ipp_jval_str(&pv[0], sc->pidbuf,
	    sizeof(sc->pidbuf)) == -1)
		return -1;
	if (ipp_json_scan(ipp_msg_part(m, 2), ipp_msg_partlen(m, 2), mdkeys,
	    nmd, sc->md) == -1 ||
	    ipp_json_scan(ipp_msg_part(m, 3), ipp_msg_partlen(m, 3), NULL, 0,
	    NULL) == -1)
		return -1;
	sc->msg_id = sc->idbuf;
	sc->msg_type = sc->typebuf;
	sc->parent_id = sc->pidbuf;
	sc->parsed = 0;
	return 0;
}

/*
 * The task path's receive: as hub_recv, but the JSON parts are checked
 * and read by libipp's scanner rather than parsed into trees, which was
 * most of the loop's work per message; what the scanner cannot vouch
 * for is parsed as before, with the same checks and the same log lines.
 */
int
hub_recv_scan(struct hub *h, void *sock, struct ipp_msg *m, const char *what,
    int nids, const char *const *mdkeys, int nmd, struct scanned *sc)
{
	char why[256];
	json_t *pid;
	int rc;

	if ((rc = recv_msg(h, sock, m, what, nids, 0)) <= 0)
		return rc;
	/* a restart's lost replies go by the session in the header */
	if (h->lost == NULL && scan_parts(m, mdkeys, nmd, sc) == 0)
		return 1;
	if (ipp_msg_parse(m, why, sizeof(why)) == -1) {
		hub_badinput(h, "dropped message on %s socket: %s", what, why);
		return -1;
	}
	if (h->lost != NULL)
		recover_deliver(h, sock, m);
	sc->parsed = 1;
	sc->msg_id = m->msg_id;
	sc->msg_type = m->msg_type;
	pid = json_object_get(m->parent, "msg_id");
	sc->parent_id = json_is_string(pid) ? json_string_value(pid) : "";
	return 1;
}

/*
 * The engine a routing frame names.  Registration refuses uuids of
 * IPP_UUID_MAX bytes or more, so a longer frame names no engine; it is never
 * cut down to one that might.
 */
struct engine *
engine_by_frame(struct hub *h, const struct ipp_frames *fr, int i)
{
	char uuid[IPP_UUID_MAX];
	size_t n = ipp_frame_len(fr, i);

	if (n >= sizeof(uuid) || memchr(ipp_frame_data(fr, i), '\0', n))
		return NULL;
	memcpy(uuid, ipp_frame_data(fr, i), n);
	uuid[n] = '\0';
	return engine_by_uuid(h, uuid);
}

/* Shell requests are answered by a *_reply; other types (comm_*) are not. */
static int
has_reply(const char *type)
{
	size_t n = strlen(type);

	return n > 8 && strcmp(type + n - 8, "_request") == 0;
}

int
relay_mux_client(struct hub *h, int arg)
{
	struct ipp_msg m;
	struct engine *e;
	struct task *t;
	int rc;

	ipp_msg_init(&m);
	/* the client's routing id and the engine's uuid */
	if ((rc = hub_recv(h, h->mux_c, &m, "mux", 2)) <= 0)
		goto out;
	if (task_find(h, m.msg_id) != NULL) {
		hub_badinput(h,
		    "dropped %s on mux: msg_id '%s' already in flight",
		    m.msg_type, m.msg_id);
		goto out;
	}
	e = engine_by_frame(h, &m.fr, 1);
	if (!has_reply(m.msg_type)) {
		/* comm messages and the like: relay, nothing to track */
		if (e != NULL && e->state == ENGINE_REGISTERED) {
			ipp_frames_swap(&m.fr, 0, 1);
			hub_send(h, h->mux_e, &m.fr);
		}
		goto out;
	}
	t = task_new(h, m.msg_id, TQ_MUX);
	task_set_client(t, &m);
	t->header = json_incref(m.header);
	task_record_new(h, &m, m.msg_id, TQ_MUX, e ? e->uuid : NULL);
	if (e == NULL || e->state != ENGINE_REGISTERED) {
		task_fabricate_reply(h, t, ipp_error_content("EngineError",
		    "no registered engine with uuid '%.*s'%s",
		    (int)(ipp_frame_len(&m.fr, 1) < 200 ?
		    ipp_frame_len(&m.fr, 1) : 200),
		    (const char *)ipp_frame_data(&m.fr, 1),
		    ipp_frame_len(&m.fr, 1) > 200 ? "..." : ""), NULL, 1);
		goto out;
	}
	t->engine = e;
	t->state = TS_RUNNING;
	task_set_engine_uuid(t, e->uuid);
	TAILQ_INSERT_TAIL(&e->mux_pending, t, q);
	ipp_frames_swap(&m.fr, 0, 1);
	hub_send(h, h->mux_e, &m.fr);
out:
	ipp_msg_release(&m);
	return rc != 0;
}

/* A reply from an engine on mux or task: find its task. */
struct task *
reply_task(struct hub *h, struct ipp_msg *m)
{
	json_t *pid = json_object_get(m->parent, "msg_id");

	if (!json_is_string(pid))
		return NULL;
	return reply_task_id(h, json_string_value(pid));
}

struct task *
reply_task_id(struct hub *h, const char *parent_id)
{
	struct task *t = task_find(h, parent_id);

	return t != NULL && t->state != TS_DONE ? t : NULL;
}

int
relay_mux_engine(struct hub *h, int arg)
{
	struct ipp_msg m;
	struct task *t;
	int rc;

	ipp_msg_init(&m);
	if ((rc = hub_recv(h, h->mux_e, &m, "mux (engine side)", 2)) <= 0)
		goto out;
	if ((t = reply_task(h, &m)) != NULL)
		task_complete(h, t, &m, 1);
	ipp_frames_swap(&m.fr, 0, 1);
	hub_send(h, h->mux_c, &m.fr);
out:
	ipp_msg_release(&m);
	return rc != 0;
}

static int
relay_swap(struct hub *h, void *from, void *to, const char *what)
{
	struct ipp_msg m;
	int rc;

	ipp_msg_init(&m);
	if ((rc = hub_recv(h, from, &m, what, 2)) <= 0)
		goto out;
	ipp_frames_swap(&m.fr, 0, 1);
	hub_send(h, to, &m.fr);
out:
	ipp_msg_release(&m);
	return rc != 0;
}

int
relay_ctl_client(struct hub *h, int arg)
{
	return relay_swap(h, h->ctl_c, h->ctl_e, "control");
}

int
relay_ctl_engine(struct hub *h, int arg)
{
	return relay_swap(h, h->ctl_e, h->ctl_c, "control (engine side)");
}

/*
 * An engine publishes four or more messages per request.  The tap needs
 * only their type, their parent's msg_id and, for the kinds a record
 * keeps, their content: those are read with the scanner and one parse,
 * not four JSON trees.  1 when handled, 0 when the message needs the full
 * decode (other kinds), -1 when its content does not parse.
 */
static int
iopub_tap(struct hub *h, struct ipp_msg *m)
{
	static const char *const kept[] = { "stream", "error",
	    "execute_input", "execute_result" };
	char type[32], pidbuf[256], *pid = pidbuf, state[16];
	size_t i, plen = ipp_msg_partlen(m, 1);
	struct task *t;
	json_t *c;
	int rc = 1;

	if (ipp_json_peek(ipp_msg_part(m, 0), ipp_msg_partlen(m, 0),
	    "msg_type", type, sizeof(type)) == -1)
		return 0;
	/* a msg_id of any length: the parent part bounds it */
	if (plen >= sizeof(pidbuf))
		pid = xmalloc(plen + 1);
	if (ipp_json_peek(ipp_msg_part(m, 1), plen, "msg_id", pid,
	    pid == pidbuf ? sizeof(pidbuf) : plen + 1) == -1)
		pid[0] = '\0';
	if (strcmp(type, "status") == 0) {
		if (pid[0] == '\0' || ipp_json_peek(ipp_msg_part(m, 3),
		    ipp_msg_partlen(m, 3), "execution_state", state,
		    sizeof(state)) == -1)
			rc = 0;
		else
			task_iopub_status(h, pid, state);
		goto out;
	}
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (strcmp(type, kept[i]) == 0)
			break;
	if (i == sizeof(kept) / sizeof(kept[0])) {
		rc = 0;
		goto out;
	}
	/* output of no task we know (another client's, or long gone) */
	if (pid[0] == '\0' || (t = task_find(h, pid)) == NULL)
		goto out;
	if ((c = json_loadb(ipp_msg_part(m, 3), ipp_msg_partlen(m, 3),
	    JSON_ALLOW_NUL, NULL)) == NULL || !json_is_object(c)) {
		json_decref(c);
		rc = -1;
		goto out;
	}
	task_iopub(h, t, type, c);
	json_decref(c);
out:
	if (pid != pidbuf)
		free(pid);
	return rc;
}

int
relay_iopub(struct hub *h, int arg)
{
	struct ipp_msg m;
	struct engine *e;
	const char *sess;
	char why[256];
	int rc, tap;

	ipp_msg_init(&m);
	if ((rc = recv_msg(h, h->iopub_e, &m, "iopub", -1, 0)) <= 0)
		goto out;
	if ((tap = iopub_tap(h, &m)) == -1) {
		hub_badinput(h,
		    "dropped message on iopub socket: content is not "
		    "a JSON object");
		goto out;
	}
	if (tap == 0) {
		if (ipp_msg_parse(&m, why, sizeof(why)) == -1) {
			hub_badinput(h,
			    "dropped message on iopub socket: %s", why);
			goto out;
		}
		if (strcmp(m.msg_type, "shutdown_reply") == 0 &&
		    (sess = json_string_value(json_object_get(m.header,
		    "session"))) != NULL &&
		    (e = engine_by_uuid(h, sess)) != NULL)
			registry_unregister(h, e, "engine shut down");
	}
	hub_send(h, h->iopub_c, &m.fr);
out:
	ipp_msg_release(&m);
	return rc != 0;
}
