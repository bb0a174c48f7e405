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
 * The relays' receive: as hub_recv, but the JSON parts are checked and
 * read by libipp's scanner rather than parsed into trees, which was most
 * of the loop's work per message; what the scanner cannot vouch for is
 * parsed as before, with the same checks and the same log lines.
 */
int
hub_recv_scan(struct hub *h, void *sock, struct ipp_msg *m, const char *what,
    int nids, const char *const *mdkeys, int nmd, struct scanned *sc)
{
	char why[256];
	json_t *pid;
	int rc;

	if ((rc = recv_msg(h, sock, m, what, -1, 0)) <= 0)
		return rc;
	/* a restart's lost replies go by the session in the header */
	if (h->lost == NULL && scan_parts(m, mdkeys, nmd, sc) == 0)
		goto scanned;
	if (ipp_msg_parse(m, why, sizeof(why)) == -1) {
		hub_badinput(h, "dropped message on %s socket: %s", what, why);
		return -1;
	}
	sc->parsed = 1;
	sc->msg_id = m->msg_id;
	sc->msg_type = m->msg_type;
	pid = json_object_get(m->parent, "msg_id");
	sc->parent_id = json_is_string(pid) ? json_string_value(pid) : "";
scanned:
	/* as recv_msg would have said after a parse */
	if (nids >= 0 && m->nids != nids) {
		hub_badinput(h,
		    "dropped %s on %s socket: %d routing frames, want %d",
		    sc->msg_type, what, m->nids, nids);
		return -1;
	}
	if (sc->parsed && h->lost != NULL)
		recover_deliver(h, sock, m);
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

int
relay_mux_client(struct hub *h, int arg)
{
	struct ipp_msg *m = &h->rx;
	struct scanned sc;
	struct engine *e;
	struct task *t;
	int rc, i;

	/* the client's routing id and the engine's uuid */
	if ((rc = hub_recv_scan(h, h->mux_c, m, "mux", 2, NULL, 0, &sc)) <= 0)
		goto out;
	if (task_find(h, sc.msg_id) != NULL) {
		hub_badinput(h,
		    "dropped %s on mux: msg_id '%s' already in flight",
		    sc.msg_type, sc.msg_id);
		goto out;
	}
	e = engine_by_frame(h, &m->fr, 1);
	if (!ipp_is_request(sc.msg_type)) {
		/* comm messages and the like: relay, nothing to track */
		if (e != NULL && e->state == ENGINE_REGISTERED) {
			ipp_frames_swap(&m->fr, 0, 1);
			hub_send(h, h->mux_e, &m->fr);
		}
		goto out;
	}
	t = task_new(h, sc.msg_id, TQ_MUX);
	task_set_client(t, m);
	t->header = json_incref(m->header);
	/*
	 * Scanned: keep [DELIM, sig, header] (shared, not copied), from
	 * which an EngineError reply parses the header if it is ever needed.
	 */
	for (i = m->nids; t->header == NULL && i <= m->sig + 1; i++)
		if (ipp_frames_add_msg(&t->frames, &m->fr.f[i]) == -1)
			fatalx("out of memory");
	task_record_new(h, m, sc.msg_id, TQ_MUX, e ? e->uuid : NULL);
	if (e == NULL || e->state != ENGINE_REGISTERED) {
		task_fabricate_reply(h, t, ipp_error_content("EngineError",
		    "no registered engine with uuid '%.*s'%s",
		    (int)(ipp_frame_len(&m->fr, 1) < 200 ?
		    ipp_frame_len(&m->fr, 1) : 200),
		    (const char *)ipp_frame_data(&m->fr, 1),
		    ipp_frame_len(&m->fr, 1) > 200 ? "..." : ""), NULL, 1);
		goto out;
	}
	t->engine = e;
	t->state = TS_RUNNING;
	task_set_engine_uuid(t, e->uuid);
	TAILQ_INSERT_TAIL(&e->mux_pending, t, q);
	ipp_frames_swap(&m->fr, 0, 1);
	hub_send(h, h->mux_e, &m->fr);
out:
	ipp_msg_clear(m);
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
	struct ipp_msg *m = &h->rx;
	struct scanned sc;
	struct task *t;
	int rc;

	if ((rc = hub_recv_scan(h, h->mux_e, m, "mux (engine side)", 2, NULL,
	    0, &sc)) <= 0)
		goto out;
	t = sc.parent_id[0] != '\0' ? reply_task_id(h, sc.parent_id) : NULL;
	if (t != NULL)
		task_complete(h, t, m, 1);
	ipp_frames_swap(&m->fr, 0, 1);
	hub_send(h, h->mux_c, &m->fr);
out:
	ipp_msg_clear(m);
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
 * An engine publishes four or more messages per request; hubd forwards
 * them verbatim and taps them for task records, for the "idle" that ends
 * a finished task's lingering, and for shutdown_reply, which means the
 * engine is going away.  The tap reads what it needs with the scanner -
 * the header's type and session, the parent's msg_id, a few content keys
 * - which also checks every part as the decoder would; only the kinds a
 * record keeps whole (error, execute_input, execute_result) parse their
 * content.  0 when the scanner cannot vouch for the message: parse it
 * and use iopub_tap_tree.
 */
static const char *const io_hkeys[] = { "msg_type", "session", "msg_id" };
static const char *const io_pkeys[] = { "msg_id" };
static const char *const io_ckeys[] = { "execution_state", "name", "text" };
enum { IOC_STATE, IOC_NAME, IOC_TEXT, IOC_N };

static int
io_part(const struct ipp_msg *m, int i, const char *const *keys, int nkeys,
    struct ipp_jval *v)
{
	return ipp_json_scan(ipp_msg_part(m, i), ipp_msg_partlen(m, i), keys,
	    nkeys, v);
}

/*
 * Kinds a record keeps (task_iopub), besides status; none when the
 * history keeps nothing.
 */
static int
io_kept(struct hub *h, const char *type)
{
	if (hubdb_forgets(h->db))
		return 0;
	return strcmp(type, "stream") == 0 || strcmp(type, "error") == 0 ||
	    strcmp(type, "execute_input") == 0 ||
	    strcmp(type, "execute_result") == 0;
}

static void
io_shutdown(struct hub *h, const char *session)
{
	struct engine *e;

	if (session != NULL && (e = engine_by_uuid(h, session)) != NULL)
		registry_unregister(h, e, "engine shut down");
}

static int
iopub_tap_scan(struct hub *h, struct ipp_msg *m)
{
	struct ipp_jval hv[3], pv[1], cv[IOC_N];
	char type[64], pid[256], state[16], name[8], sess[IPP_UUID_MAX];
	char id[256];
	struct task *t;
	json_t *c;

	/* the decoder's checks: four objects, string msg_type and msg_id */
	if (io_part(m, 0, io_hkeys, 3, hv) == -1 ||
	    io_part(m, 1, io_pkeys, 1, pv) == -1 ||
	    io_part(m, 2, NULL, 0, NULL) == -1 ||
	    io_part(m, 3, io_ckeys, IOC_N, cv) == -1 ||
	    ipp_jval_str(&hv[0], type, sizeof(type)) == -1 ||
	    ipp_jval_str(&hv[2], id, sizeof(id)) == -1)
		return 0;
	/* a longer msg_id than fits: the decoder's business */
	pid[0] = '\0';
	if (pv[0].type == IPP_JSTR && ipp_jval_str(&pv[0], pid,
	    sizeof(pid)) == -1)
		return 0;
	if (strcmp(type, "status") == 0) {
		if (pid[0] != '\0' && ipp_jval_str(&cv[IOC_STATE], state,
		    sizeof(state)) == 0)
			task_iopub_status(h, pid, state);
		return 1;
	}
	if (strcmp(type, "shutdown_reply") == 0) {
		/* a session too long for a uuid names no engine */
		if (ipp_jval_str(&hv[1], sess, sizeof(sess)) == 0)
			io_shutdown(h, sess);
		return 1;
	}
	/* output of no task we know (another client's, or long gone) */
	if (!io_kept(h, type) || pid[0] == '\0' ||
	    (t = task_find(h, pid)) == NULL)
		return 1;
	if (strcmp(type, "stream") == 0) {
		if (ipp_jval_str(&cv[IOC_NAME], name, sizeof(name)) == -1 ||
		    cv[IOC_TEXT].type != IPP_JSTR)
			return 1;	/* not stdout or stderr, or no text */
		if (task_iopub_stream(h, t, name, &cv[IOC_TEXT]) == 0)
			return 1;
		/* a NUL in the text: the content as a tree below */
	}
	if ((c = json_loadb(ipp_msg_part(m, 3), ipp_msg_partlen(m, 3),
	    JSON_ALLOW_NUL, NULL)) == NULL)
		fatalx("out of memory parsing iopub content");	/* vouched */
	task_iopub(h, t, type, c);
	json_decref(c);
	return 1;
}

/* The same for a message the decoder parsed. */
static void
iopub_tap_tree(struct hub *h, struct ipp_msg *m)
{
	json_t *pid = json_object_get(m->parent, "msg_id"), *st;
	struct task *t;

	if (strcmp(m->msg_type, "status") == 0) {
		st = json_object_get(m->content, "execution_state");
		if (json_is_string(pid) && json_is_string(st))
			task_iopub_status(h, json_string_value(pid),
			    json_string_value(st));
	} else if (strcmp(m->msg_type, "shutdown_reply") == 0)
		io_shutdown(h, json_string_value(json_object_get(m->header,
		    "session")));
	else if (io_kept(h, m->msg_type) && json_is_string(pid) &&
	    (t = task_find(h, json_string_value(pid))) != NULL)
		task_iopub(h, t, m->msg_type, m->content);
}

int
relay_iopub(struct hub *h, int arg)
{
	struct ipp_msg *m = &h->rx;
	char why[256];
	int rc;

	if ((rc = recv_msg(h, h->iopub_e, m, "iopub", -1, 0)) <= 0)
		goto out;
	if (iopub_tap_scan(h, m) == 0) {
		if (ipp_msg_parse(m, why, sizeof(why)) == -1) {
			hub_badinput(h,
			    "dropped message on iopub socket: %s", why);
			goto out;
		}
		iopub_tap_tree(h, m);
	}
	hub_send(h, h->iopub_c, &m->fr);
out:
	ipp_msg_clear(m);
	return rc != 0;
}
