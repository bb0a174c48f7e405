/*
 * hub.c - ippfs as a client of the controller.
 *
 * Like ipyparallel.Client: DEALERs to the query (registration), mux,
 * task and control ports, SUBs to iopub and notification.  Requests
 * whose answer a file is waiting for are sent with client_request(), which
 * remembers a callback under the request's msg_id; replies on any DEALER
 * are matched by parent_header.msg_id, first against the task table
 * (execute replies) and then against those callbacks.  A request that
 * gets no answer within the reply timeout (/ctl settings) is answered
 * ETIMEDOUT by the timer, and one sent to an engine that dies is
 * answered EHOSTDOWN at once rather than waiting for that timer.
 * iopub messages are matched to tasks the same way; notifications keep
 * the engine table.  Replies of tasks and iopub messages are first
 * offered to the fast path (fast.c), which reads them off the raw
 * frames.  At start-up connection_request is answered synchronously so a
 * wrong connection file fails before the first file operation.
 * Its functions are named client_*: hubd's hub_* are the controller's
 * side of these sockets.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ippfs.h"

#define BATCH	256
#define TUNNEL_WAIT	30	/* seconds for ssh to log in and forward */

struct pending {
	char	 msg_id[160];
	char	 uuid[IPP_UUID_MAX];	/* engine addressed, "" for the hub */
	client_cb	 cb;
	void	*arg;
	double	 deadline;
};


struct fsengine *
fsengine_get(int id)
{
	if (id < 0 || id >= fs.nengines)
		return NULL;
	return fs.engines[id];
}

int
fsengines_up(void)
{
	int i, n = 0;

	for (i = 0; i < fs.nengines; i++)
		if (fs.engines[i] != NULL && fs.engines[i]->state == E_UP)
			n++;
	return n;
}

/*
 * Engine slot of a uuid, or -1.  Asked for every reply and most iopub
 * messages, so a map rather than a walk of the engine table.
 */
int
fsengine_byuuid(const char *uuid)
{
	void *v;

	if (uuid == NULL || fs.byuuid == NULL ||
	    (v = ipp_map_get(fs.byuuid, uuid)) == NULL)
		return -1;
	return (int)(intptr_t)v - 1;
}

/* info: the controller's {"host", "pid"} of the engine, or NULL */
static void
fsengine_up(int id, const char *uuid, json_t *info)
{
	struct fsengine *e;

	if (id < 0 || id > 1000000)
		return;
	/* cut down, it would address no engine (hubd refuses such uuids;
	   ipcontroller does not) */
	if (strlen(uuid) >= IPP_UUID_MAX) {
		log_warnx("engine %d left out: its uuid is %zu bytes, at most "
		    "%d are kept", id, strlen(uuid), IPP_UUID_MAX - 1);
		return;
	}
	if (id >= fs.nengines) {
		fs.engines = xrealloc(fs.engines, (size_t)id + 1,
		    sizeof(*fs.engines));
		memset(fs.engines + fs.nengines, 0, ((size_t)id + 1 -
		    (size_t)fs.nengines) * sizeof(*fs.engines));
		fs.nengines = id + 1;
	}
	if ((e = fs.engines[id]) == NULL) {
		e = fs.engines[id] = xcalloc(1, sizeof(*e));
		e->id = id;
		e->foreign = -1;
	}
	/* a dead engine's uuid still names it, for late messages */
	if (fs.byuuid == NULL)
		fs.byuuid = ipp_map_new();
	if (e->uuid[0] != '\0' && strcmp(e->uuid, uuid) != 0) {
		if (fsengine_byuuid(e->uuid) == id)
			ipp_map_del(fs.byuuid, e->uuid);
		/* another engine under the same id */
		e->host[0] = '\0';
		e->pid = 0;
		e->asked = 0;
	}
	snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
	if (ipp_map_put(fs.byuuid, e->uuid, (void *)(intptr_t)(id + 1)) == -1)
		fatal("ipp_map_put");
	if (e->state != E_UP || e->registered == 0) {
		e->running[0] = '\0';
		e->state = E_UP;
		e->registered = ipp_now();
		event_add("engine %d up", id);
	}
	fsengine_where(e, info);
}

static void
fsengine_down(int id)
{
	struct fsengine *e;

	if ((e = fsengine_get(id)) == NULL || e->state == E_DEAD)
		return;
	e->state = E_DEAD;
	event_add("engine %d down", id);
	fstasks_engine_died(id);
	client_fail_engine(e->uuid, EHOSTDOWN);
}

/* "ename: evalue" of an error reply, into buf. */
const char *
reply_error(struct ipp_msg *m, char *buf, size_t len)
{
	json_t *c = m->content;

	snprintf(buf, len, "%s: %s",
	    json_string_value(json_object_get(c, "ename")) ?
	    json_string_value(json_object_get(c, "ename")) : "error",
	    json_string_value(json_object_get(c, "evalue")) ?
	    json_string_value(json_object_get(c, "evalue")) : "");
	return buf;
}

/*
 * The sockets are waited for with poll(2) on their ZMQ_FDs (libipp's
 * zpoll.c); the loop polls them beside the FUSE device.
 */
#define NSOCK	CLIENT_NSOCK
#define SWEEP_MS	100

static int	 client_drain(void *);


/* The sockets' fds, into pfd[0..NSOCK - 1]. */
int
client_pollfds(struct pollfd *pfd)
{
	if (ipp_zpoll_init(&fs.zp, fs.socks, NSOCK, pfd, SWEEP_MS) == -1)
		fatalx("zmq_getsockopt ZMQ_FD: %s", zmq_strerror(errno));
	return NSOCK;
}

/* Read the sockets whose fd fired or that may hold more. */
void
client_recv(void)
{
	int i;

	for (i = 0; i < NSOCK; i++)
		if (ipp_zpoll_pending(&fs.zp, i))
			ipp_zpoll_drained(&fs.zp, i, client_drain(fs.socks[i]));
}

/* Before sleeping: 0 when some socket has messages waiting. */
int
client_idle(void)
{
	return ipp_zpoll_idle(&fs.zp, ipp_monotonic());
}

/* After a failed poll: no socket fired. */
void
client_poll_failed(void)
{
	ipp_zpoll_clear(&fs.zp);
}

/* client_send, plus zbuf (may be NULL): a last frame shared, not copied. */
static int
send_msg(void *sock, const char *uuid, const char *msg_type,
    json_t *content_new, json_t *metadata_new, const struct ipp_buf *bufs,
    int nbufs, zmq_msg_t *zbuf, char *msg_id, size_t idlen)
{
	struct ipp_frames fr;
	struct ipp_buf id;
	json_t *hdr;
	int i, nids = 0;

	if (fs.hub_gone) {
		json_decref(content_new);
		json_decref(metadata_new);
		errno = ENOTCONN;
		return -1;
	}
	if (uuid != NULL) {
		id.data = uuid;
		id.len = strlen(uuid);
		nids = 1;
	}
	if ((hdr = ipp_header_new(&fs.sess, msg_type)) == NULL) {
		json_decref(content_new);
		json_decref(metadata_new);
		return -1;
	}
	if (msg_id != NULL)
		snprintf(msg_id, idlen, "%s", json_string_value(
		    json_object_get(hdr, "msg_id")));
	ipp_frames_init(&fr);
	if (ipp_msg_build(&fs.sess, &fr, &id, nids, msg_type, hdr, NULL,
	    metadata_new != NULL ? metadata_new : json_object(),
	    content_new) == -1) {
		ipp_frames_release(&fr);
		return -1;
	}
	for (i = 0; i < nbufs; i++)
		if (ipp_frames_add(&fr, bufs[i].data, bufs[i].len) == -1) {
			ipp_frames_release(&fr);
			return -1;
		}
	if (zbuf != NULL && ipp_frames_add_msg(&fr, zbuf) == -1) {
		ipp_frames_release(&fr);
		return -1;
	}
	ipp_zpoll_sent(&fs.zp, sock);
	if (ipp_frames_send(sock, &fr, 0, ZMQ_DONTWAIT) == -1) {
		log_warnx("cannot send %s: %s", msg_type, zmq_strerror(errno));
		ipp_frames_release(&fr);
		errno = ENOTCONN;
		return -1;
	}
	ipp_frames_release(&fr);
	return 0;
}

int
client_send(void *sock, const char *uuid, const char *msg_type,
    json_t *content_new, json_t *metadata_new, const struct ipp_buf *bufs,
    int nbufs, char *msg_id, size_t idlen)
{
	return send_msg(sock, uuid, msg_type, content_new, metadata_new, bufs,
	    nbufs, NULL, msg_id, idlen);
}

static int
request_msg(void *sock, const char *uuid, const char *msg_type,
    json_t *content_new, json_t *metadata_new, const struct ipp_buf *bufs,
    int nbufs, zmq_msg_t *zbuf, client_cb cb, void *arg)
{
	struct pending *p;

	p = xcalloc(1, sizeof(*p));
	if (send_msg(sock, uuid, msg_type, content_new, metadata_new, bufs,
	    nbufs, zbuf, p->msg_id, sizeof(p->msg_id)) == -1) {
		free(p);
		return -1;
	}
	p->cb = cb;
	p->arg = arg;
	if (uuid != NULL)
		snprintf(p->uuid, sizeof(p->uuid), "%s", uuid);
	p->deadline = ipp_monotonic() + fs.req_timeout;
	if (ipp_map_put(fs.pending, p->msg_id, p) == -1)
		fatal("ipp_map_put");
	return 0;
}

int
client_request(void *sock, const char *uuid, const char *msg_type,
    json_t *content_new, json_t *metadata_new, const struct ipp_buf *bufs,
    int nbufs, client_cb cb, void *arg)
{
	return request_msg(sock, uuid, msg_type, content_new, metadata_new,
	    bufs, nbufs, NULL, cb, arg);
}

/*
 * client_request with one buffer frame that libzmq shares instead of
 * copying: zbuf (from buf_give) keeps its own reference, and libzmq's
 * I/O thread drops the one it takes once the bytes are on the wire.  A
 * 100 MB push then costs no copy and no fresh pages here.
 */
int
client_request_msg(void *sock, const char *uuid, const char *msg_type,
    json_t *content_new, json_t *metadata_new, zmq_msg_t *zbuf, client_cb cb,
    void *arg)
{
	return request_msg(sock, uuid, msg_type, content_new, metadata_new,
	    NULL, 0, zbuf, cb, arg);
}

static const char *
parent_id(struct ipp_msg *m)
{
	return json_string_value(json_object_get(m->parent, "msg_id"));
}

/* A decoded reply: a task's end, or the answer to a client_request. */
static void
on_reply(struct ipp_msg *m)
{
	const char *pid = parent_id(m);
	struct pending *p;
	struct fstask *t;

	if (pid == NULL)
		return;
	/* ipcontroller's scheduler fails tasks with an apply_reply */
	if ((t = fstask_bymsg(pid)) != NULL && (strcmp(m->msg_type,
	    "execute_reply") == 0 || strcmp(m->msg_type, "apply_reply") == 0)) {
		fstask_reply(t, m->content, fsengine_byuuid(json_string_value(
		    json_object_get(m->metadata, "engine"))));
		return;
	}
	if ((p = ipp_map_del(fs.pending, pid)) != NULL) {
		p->cb(p->arg, m, 0);
		free(p);
		return;
	}
	log_debug("reply %s to unknown request %s", m->msg_type, pid);
}

/* Output of requests made by other clients: the engine's log only. */
void
fsengine_output(int eng, json_t *c)
{
	struct fsengine *e = fsengine_get(eng);
	const char *txt = json_string_value(json_object_get(c, "text"));

	if (e == NULL || txt == NULL)
		return;
	buf_add(&e->log, txt, strlen(txt));
	buf_trim_front(&e->log, RETAIN_MAX);
}

/*
 * An iopub status of any request on engine eng, from the fast path
 * (fast.c) or the slow (on_iopub) alike, so that one the other reads
 * cannot leave an engine busy: which execute or apply request (of type
 * ptype) the engine runs, whoever sent it, so that ns/ of a busy engine
 * need not wait behind it (fsengine_busy).  Control requests (abort,
 * clear) say busy and idle while one runs: they do not count.
 */
void
fsengine_status(int eng, const char *state, const char *pid,
    const char *ptype)
{
	struct fsengine *e = fsengine_get(eng);

	if (e == NULL || state == NULL || pid == NULL)
		return;
	/* not our own ns/ requests: their idle may come after the reply */
	if (strcmp(state, "idle") == 0 && strcmp(e->running, pid) == 0)
		e->running[0] = '\0';
	else if (strcmp(state, "busy") == 0 &&
	    ipp_map_get(fs.pending, pid) == NULL && ptype != NULL &&
	    (strcmp(ptype, "execute_request") == 0 ||
	    strcmp(ptype, "apply_request") == 0))
		snprintf(e->running, sizeof(e->running), "%s", pid);
}

/* A decoded iopub message. */
static void
on_iopub(struct ipp_msg *m)
{
	const char *pid = parent_id(m), *uuid;
	struct fstask *t;
	int eng;

	uuid = json_string_value(json_object_get(m->metadata, "engine"));
	if (uuid == NULL)
		uuid = json_string_value(json_object_get(m->header,
		    "session"));
	eng = fsengine_byuuid(uuid);
	if (strcmp(m->msg_type, "status") == 0)
		fsengine_status(eng, json_string_value(json_object_get(
		    m->content, "execution_state")), pid, json_string_value(
		    json_object_get(m->parent, "msg_type")));
	if (pid != NULL && (t = fstask_bymsg(pid)) != NULL)
		fstask_iopub(t, m->msg_type, m->content, eng);
	else if (strcmp(m->msg_type, "stream") == 0)
		fsengine_output(eng, m->content);
}

static void
on_notification(struct ipp_msg *m)
{
	json_t *id = json_object_get(m->content, "id");
	const char *uuid = json_string_value(json_object_get(m->content,
	    "uuid"));

	if (strcmp(m->msg_type, "registration_notification") == 0 &&
	    json_is_integer(id) && uuid != NULL)
		fsengine_up((int)json_integer_value(id), uuid, m->content);
	else if (strcmp(m->msg_type, "unregistration_notification") == 0 &&
	    json_is_integer(id))
		fsengine_down((int)json_integer_value(id));
	else if (strcmp(m->msg_type, "shutdown_notification") == 0) {
		fs.hub_gone = 1;
		event_add("hub shutdown");
	}
}

/* Decode m whole and hand it on (what the fast path of fast.c left). */
static void
decode(void *sock, struct ipp_msg *m)
{
	char why[256];

	if (ipp_msg_decode(&fs.sess, m, why, sizeof(why)) == -1)
		log_warnx("dropping a message: %s", why);
	else if (sock == fs.iopub)
		on_iopub(m);
	else if (sock == fs.notif)
		on_notification(m);
	else
		on_reply(m);
}

/*
 * Take up to BATCH messages from sock without blocking: 1 when there
 * may be more, 0 when it said EAGAIN.  One struct ipp_msg serves them
 * all, so its array of parts is allocated once.
 */
static int
client_drain(void *sock)
{
	struct ipp_msg *m = &fs.drain_msg;
	int i;

	if (!fs.drain_ready) {
		ipp_msg_init(m);
		fs.drain_ready = 1;
	}
	for (i = 0; i < BATCH; i++) {
		if (ipp_frames_recv(sock, &m->fr, ZMQ_DONTWAIT) == -1) {
			ipp_frames_clear(&m->fr);
			if (errno == EAGAIN)
				return 0;
			log_warnx("dropping a message: receive: %s",
			    zmq_strerror(errno));
			continue;
		}
		if (sock == fs.iopub ? !iopub_fast(m) : sock == fs.notif ||
		    !reply_fast(m))
			decode(sock, m);
		ipp_msg_clear(m);	/* keeps the array of parts */
	}
	return 1;
}

struct expired {
	double		 now;
	const char	*uuid;		/* or: requests to this engine */
	struct pending	*list[64];
	int		 n;
};

static void
find_expired(void *arg, const char *key, void *val)
{
	struct expired *x = arg;
	struct pending *p = val;

	if (x->n < 64 && (x->uuid != NULL ? strcmp(p->uuid, x->uuid) == 0 :
	    p->deadline < x->now))
		x->list[x->n++] = p;
}

/*
 * Answer every request waiting on engine uuid with err.  The callbacks
 * run after the walk, as they may send requests and so change the map.
 */
void
client_fail_engine(const char *uuid, int err)
{
	struct expired x;
	int i;

	if (uuid[0] == '\0')
		return;
	do {
		x.uuid = uuid;
		x.n = 0;
		ipp_map_foreach(fs.pending, find_expired, &x);
		for (i = 0; i < x.n; i++) {
			ipp_map_del(fs.pending, x.list[i]->msg_id);
			x.list[i]->cb(x.list[i]->arg, NULL, err);
			free(x.list[i]);
		}
	} while (x.n == 64);
}

void
client_timers(double now)
{
	struct expired x;
	int i;

	ipp_tunnel_check(&fs.tun, now);
	x.now = now;
	x.uuid = NULL;
	x.n = 0;
	ipp_map_foreach(fs.pending, find_expired, &x);
	for (i = 0; i < x.n; i++) {
		ipp_map_del(fs.pending, x.list[i]->msg_id);
		x.list[i]->cb(x.list[i]->arg, NULL, fs.hub_gone ? ENOTCONN :
		    ETIMEDOUT);
		free(x.list[i]);
	}
	fstasks_timers(now);
}

static void *
connect_sock(int type, int port, const char *what)
{
	char url[512];
	void *s;
	int zero = 0, linger = 0;

	if ((s = zmq_socket(fs.zctx, type)) == NULL)
		fatalx("zmq_socket: %s", zmq_strerror(errno));
	zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	if (fs.ci.curve_serverkey[0] != '\0') {
		char pub[41], sec[41];

		if (zmq_curve_keypair(pub, sec) == -1 ||
		    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY,
		    fs.ci.curve_serverkey, 40) == -1 ||
		    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40) == -1 ||
		    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40) == -1)
			fatalx("cannot set up CURVE on the %s socket", what);
	}
	if (type == ZMQ_SUB)
		zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
	ipp_conninfo_url(&fs.ci, port, url, sizeof(url));
	if (zmq_connect(s, url) == -1)
		fatalx("cannot connect the %s socket to '%s': %s", what, url,
		    zmq_strerror(errno));
	return s;
}

/* Send a query and wait (bounded) for its reply; the loop is not running. */
static int
sync_query(const char *msg_type, json_t *content_new, struct ipp_msg *m,
    double timeout)
{
	char id[160], why[256];
	const char *pid;
	double end = ipp_monotonic() + timeout;
	zmq_pollitem_t it = { fs.query, 0, ZMQ_POLLIN, 0 };

	if (client_send(fs.query, NULL, msg_type, content_new, NULL, NULL, 0,
	    id, sizeof(id)) == -1)
		return -1;
	while (ipp_monotonic() < end) {
		if (zmq_poll(&it, 1, 100) <= 0)
			continue;
		ipp_msg_init(m);
		if (ipp_msg_recv(&fs.sess, fs.query, m, ZMQ_DONTWAIT, why,
		    sizeof(why)) == -1) {
			ipp_msg_release(m);
			continue;
		}
		if ((pid = parent_id(m)) != NULL && strcmp(pid, id) == 0)
			return 0;
		ipp_msg_release(m);
	}
	errno = ETIMEDOUT;
	return -1;
}

/*
 * Through ssh, as ipyparallel's Client: with --sshserver or --sshkey,
 * else with the file's "ssh" unless the controller listens on loopback
 * at a location that is this host (then it is ours, no tunnel needed).
 * Opened before the ZeroMQ context exists: ssh is forked from a
 * one-thread process.
 */
static int
client_tunnel(const char *connfile)
{
	const char *ip = fs.ci.interface + strcspn(fs.ci.interface, ":") + 3;
	const char *server = fs.sshserver;

	ipp_tunnel_init(&fs.tun);
	if (server[0] == '\0' && fs.sshkey[0] == '\0') {
		if (fs.ci.ssh[0] == '\0' || ((strncmp(ip, "127.", 4) == 0 ||
		    strcmp(ip, "localhost") == 0) &&
		    ipp_host_is_local(fs.ci.location)))
			return 0;
		server = fs.ci.ssh;
	}
	if (ipp_tunnel_open(&fs.tun, server, fs.sshkey, &fs.ci,
	    TUNNEL_WAIT) == -1) {
		log_warnx("cannot reach the controller of '%s' through ssh "
		    "to '%s'", connfile, server[0] ? server : "its host");
		return -1;
	}
	return 0;
}

int
client_start(const char *connfile)
{
	struct ipp_msg m;
	const char *k;
	json_t *v, *engines;
	char url[512];

	if (ipp_session_init(&fs.sess, fs.ci.key, NULL) == -1) {
		log_warn("cannot create the session");
		return -1;
	}
	if (client_tunnel(connfile) == -1)
		return -1;
	if ((fs.zctx = ipp_zctx_new()) == NULL)
		fatalx("zmq_ctx_new: %s", zmq_strerror(errno));
	fs.query = connect_sock(ZMQ_DEALER, fs.ci.registration, "query");
	fs.mux = connect_sock(ZMQ_DEALER, fs.ci.mux, "mux");
	fs.task = connect_sock(ZMQ_DEALER, fs.ci.task, "task");
	fs.control = connect_sock(ZMQ_DEALER, fs.ci.control, "control");
	fs.iopub = connect_sock(ZMQ_SUB, fs.ci.iopub, "iopub");
	fs.notif = connect_sock(ZMQ_SUB, fs.ci.notification, "notification");
	fs.socks[0] = fs.query;
	fs.socks[1] = fs.mux;
	fs.socks[2] = fs.task;
	fs.socks[3] = fs.control;
	fs.socks[4] = fs.iopub;
	fs.socks[5] = fs.notif;

	ipp_conninfo_url(&fs.ci, fs.ci.registration, url, sizeof(url));
	if (sync_query("connection_request", json_object(), &m, 10) == -1) {
		log_warnx("no answer to connection_request from the "
		    "controller at '%s' (from '%s')", url, connfile);
		ipp_tunnel_close(&fs.tun);
		return -1;
	}
	engines = json_object_get(m.content, "engines");
	json_object_foreach(engines, k, v)
		if (json_is_string(v))
			fsengine_up(atoi(k), json_string_value(v),
			    json_object_get(json_object_get(m.content,
			    "engine_info"), k));
	ipp_msg_release(&m);
	if (fstasks_load_history() == -1)
		log_warnx("no task history from the controller");
	return 0;
}

/* Used by tasks.c to read the history before the loop runs. */
int
client_sync_query(const char *msg_type, json_t *content_new, struct ipp_msg *m,
    double timeout)
{
	return sync_query(msg_type, content_new, m, timeout);
}

void
client_stop(void)
{
	int i;

	for (i = 0; i < NSOCK; i++)
		if (fs.socks[i] != NULL)
			zmq_close(fs.socks[i]);
	if (fs.zctx != NULL)
		zmq_ctx_term(fs.zctx);
	ipp_tunnel_close(&fs.tun);
	ipp_session_release(&fs.sess);
}
