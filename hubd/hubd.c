/*
 * hubd.c - main(), the sockets and the one event loop of the controller.
 *
 * Start-up: parse ipcontroller-compatible options (options.c), resolve
 * the profile, bind every channel (reusing the ports of existing
 * connection files under --reuse), write ipcontroller-{client,engine}.json,
 * start the DB thread, then loop.  The loop polls all sockets, drains each
 * readable one in bounded batches so no peer can starve the heartbeat,
 * and runs timers (heartbeat beats, task timeouts, lingering records)
 * between polls.  Signal handlers only set hub->quit.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "hubd.h"

#define BATCH	256	/* messages taken from one socket per loop turn */
#define REPLAY_HISTORY	65536	/* signed messages remembered, as jupyter */
#define PUB_HWM		256	/* messages queued per subscriber */


static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* Bind sock on the configured interface; *port 0 picks one (pool or OS). */
static void
bind_sock(struct hub *h, void *sock, int *port, const char *what)
{
	char url[512], ep[512];
	size_t len = sizeof(ep);
	const char *p;

	if (*port == 0 && h->cfg.nports > 0)
		*port = h->cfg.ports[--h->cfg.nports];
	if (h->cfg.curve) {
		int one = 1;

		if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one,
		    sizeof(one)) == -1 || zmq_setsockopt(sock,
		    ZMQ_CURVE_SECRETKEY, h->curve_secret, 40) == -1)
			fatalx("cannot enable CURVE on %s socket: %s", what,
			    zmq_strerror(errno));
	}
	if (*port != 0)
		ipp_conninfo_url(&h->ci, *port, url, sizeof(url));
	else if (strcmp(h->cfg.transport, "ipc") == 0)
		fatalx("ipc transport needs --ports or --reuse");
	else
		snprintf(url, sizeof(url), "%s:*", h->ci.interface);
	if (zmq_bind(sock, url) == -1)
		fatalx("cannot bind %s socket to '%s': %s", what, url,
		    zmq_strerror(errno));
	if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &len) == -1 ||
	    (p = strrchr(ep, strcmp(h->cfg.transport, "ipc") == 0 ? '-' :
	    ':')) == NULL)
		fatalx("cannot read endpoint of %s socket", what);
	*port = atoi(p + 1);
	log_debug("%s bound to %s", what, ep);
}

static void *
new_sock(struct hub *h, int type, const char *identity)
{
	void *s;
	int zero = 0, linger = 1000, backlog = 4096, hwm = PUB_HWM;

	if ((s = zmq_socket(h->zctx, type)) == NULL)
		fatalx("zmq_socket: %s", zmq_strerror(errno));
	/*
	 * ipyparallel's relays are unbounded: a full queue must never drop.
	 * Publishers are another matter: a subscriber that never reads would
	 * hold everything ever published.  Their queues are bounded as
	 * ipcontroller's (zmq's default); on iopub and notification,
	 * publish() notices when one is full.  Heartbeat pings just drop.
	 */
	if (type == ZMQ_PUB || type == ZMQ_XPUB)
		zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	else
		zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	/* thousands of engines connect at once: libzmq's backlog is 100 */
	zmq_setsockopt(s, ZMQ_BACKLOG, &backlog, sizeof(backlog));
	if (identity != NULL)
		zmq_setsockopt(s, ZMQ_ROUTING_ID, identity, strlen(identity));
	/*
	 * No ZMQ_ROUTER_HANDOVER: with it, anyone who can reach a port and
	 * has read a routing id (engine uuids and client sessions travel in
	 * every iopub message) takes that peer's traffic, and the real peer
	 * stays orphaned after the intruder leaves.  Without it, a second
	 * connection with a live id is left unrouted and the first keeps
	 * it; a peer whose old connection is gone (a restart of either
	 * side, a dropped TCP connection) gets its id back, since libzmq
	 * frees the id with the pipe.
	 */
	return s;
}

/*
 * Publish on a PUB socket.  Its subscribers' queues hold PUB_HWM messages
 * each; the socket is set to refuse (ZMQ_XPUB_NODROP) rather than drop, so
 * a full queue shows as EAGAIN on the first part.  Then the message goes
 * out in lossy mode, reaching every subscriber with room, and the event
 * is counted.  libzmq sets a full subscriber aside until it has read half
 * its queue, so the count is of times a subscriber fell behind, a lower
 * bound of the messages it missed.
 */
static int
publish(struct hub *h, void *sock, struct ipp_frames *fr)
{
	int zero = 0, one = 1, rc;

	if (fr->n == 0)
		return 0;
	if (zmq_msg_send(&fr->f[0], sock, ZMQ_DONTWAIT |
	    (fr->n > 1 ? ZMQ_SNDMORE : 0)) != -1)
		return ipp_frames_send(sock, fr, 1, ZMQ_DONTWAIT);
	if (errno != EAGAIN)
		return ipp_frames_send(sock, fr, 0, ZMQ_DONTWAIT);
	h->pub_full++;
	log_rate_warnx(&h->slowsub, "%s: a subscriber has %d messages queued "
	    "and misses messages until it catches up (%ld times so far)",
	    sock == h->iopub_c ? "iopub" : "notification", PUB_HWM,
	    h->pub_full);
	zmq_setsockopt(sock, ZMQ_XPUB_NODROP, &zero, sizeof(zero));
	rc = ipp_frames_send(sock, fr, 0, ZMQ_DONTWAIT);
	zmq_setsockopt(sock, ZMQ_XPUB_NODROP, &one, sizeof(one));
	return rc;
}

int
hub_send(struct hub *h, void *sock, struct ipp_frames *fr)
{
	int rc;

	hub_sent(h, sock);
	if (sock == h->iopub_c || sock == h->notif)
		rc = publish(h, sock, fr);
	else
		rc = ipp_frames_send(sock, fr, 0, ZMQ_DONTWAIT);
	if (rc == -1) {
		if (errno != EHOSTUNREACH)
			log_warnx("send failed: %s", zmq_strerror(errno));
		return -1;
	}
	return 0;
}

void
hub_reply(struct hub *h, void *sock, const void *rid, size_t ridlen,
    const char *msg_type, const json_t *parent, json_t *content_new,
    const struct ipp_buf *bufs, int nbufs)
{
	struct ipp_frames out;
	struct ipp_buf id = { rid, ridlen };
	int i;

	ipp_frames_init(&out);
	if (ipp_msg_build(&h->sess, &out, &id, rid ? 1 : 0, msg_type, NULL,
	    parent, NULL, content_new) == -1) {
		log_warn("cannot build %s", msg_type);
		ipp_frames_release(&out);
		return;
	}
	for (i = 0; i < nbufs; i++)
		ipp_frames_add(&out, bufs[i].data, bufs[i].len);
	hub_send(h, sock, &out);
	ipp_frames_release(&out);
}

void
hub_notify(struct hub *h, const char *msg_type, json_t *content_new)
{
	hub_reply(h, h->notif, NULL, 0, msg_type, NULL, content_new, NULL, 0);
}

static void
setup_interface(struct hub *h)
{
	char host[256];

	if (strcmp(h->cfg.transport, "ipc") == 0)
		snprintf(h->ci.interface, sizeof(h->ci.interface), "ipc://%s",
		    h->cfg.ip);
	else
		snprintf(h->ci.interface, sizeof(h->ci.interface), "%s://%s",
		    h->cfg.transport, h->cfg.ip);
	if (h->cfg.location[0] == '\0') {
		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(h->ci.location, sizeof(h->ci.location), "%s", host);
	} else
		snprintf(h->ci.location, sizeof(h->ci.location), "%s",
		    h->cfg.location);
	snprintf(h->ci.signature_scheme, sizeof(h->ci.signature_scheme),
	    "hmac-sha256");
	snprintf(h->ci.task_scheme, sizeof(h->ci.task_scheme), "%s",
	    h->cfg.scheme);
}

/*
 * --reuse: take ports and key from the files a previous run left, so
 * engines and clients that still hold them reconnect to us.  Client-side
 * ports come from the client file, engine-side ones from the engine file.
 */
static void
load_reused(struct hub *h, struct ipp_conninfo *cli, struct ipp_conninfo *eng)
{
	char why[512];

	memset(cli, 0, sizeof(*cli));
	memset(eng, 0, sizeof(*eng));
	if (!h->cfg.reuse)
		return;
	if (ipp_conninfo_load(h->client_file, cli, why, sizeof(why)) == -1 ||
	    ipp_conninfo_load(h->engine_file, eng, why, sizeof(why)) == -1) {
		log_info("--reuse: no usable connection files (%s); "
		    "starting fresh", why);
		memset(cli, 0, sizeof(*cli));
		memset(eng, 0, sizeof(*eng));
		return;
	}
	snprintf(h->ci.key, sizeof(h->ci.key), "%s", cli->key);
	h->key_reused = h->ci.key[0] != '\0';
	log_info("reusing connection files in %s", h->prof.security);
}

/*
 * CurveZMQ as ipyparallel 7.1 does it: every bound socket is a CURVE
 * server; peers learn the public key from the connection files.  Message
 * signing is then off (key "") unless a key came from --reuse.  The
 * keypair comes from IPP_CURVE_SECRETKEY/IPP_CURVE_PUBLICKEY (Z85) when
 * set, so a restarted controller can keep it, else it is new.
 */
static void
setup_curve(struct hub *h)
{
	const char *pub = getenv("IPP_CURVE_PUBLICKEY");
	const char *sec = getenv("IPP_CURVE_SECRETKEY");

	if (!zmq_has("curve"))
		fatalx("CURVE requested but libzmq was built without it");
	if (pub != NULL && sec != NULL && strlen(pub) == 40 &&
	    strlen(sec) == 40) {
		memcpy(h->curve_public, pub, 41);
		memcpy(h->curve_secret, sec, 41);
	} else if (zmq_curve_keypair(h->curve_public, h->curve_secret) == -1)
		fatalx("cannot make a CURVE keypair: %s", zmq_strerror(errno));
	snprintf(h->ci.curve_serverkey, sizeof(h->ci.curve_serverkey), "%s",
	    h->curve_public);
	log_info("using CURVE security; message signing is off");
}

static void
setup_sockets(struct hub *h)
{
	struct ipp_conninfo cli, eng;
	int port, i, one = 1, hwm;

	load_reused(h, &cli, &eng);
	if (h->cfg.curve)
		setup_curve(h);
	else if (h->ci.key[0] == '\0')
		ipp_new_key(h->ci.key, sizeof(h->ci.key));

	h->reg = new_sock(h, ZMQ_ROUTER, NULL);
	h->ci.registration = cli.registration;
	bind_sock(h, h->reg, &h->ci.registration, "registration");
	h->notif = new_sock(h, ZMQ_XPUB, NULL);
	notify_init(h);
	h->ci.notification = cli.notification;
	bind_sock(h, h->notif, &h->ci.notification, "notification");

	/* client side and engine side of each relay: different ports */
	h->mux_c = new_sock(h, ZMQ_ROUTER, "mux_in");
	h->mux_e = new_sock(h, ZMQ_ROUTER, "mux_out");
	h->ctl_c = new_sock(h, ZMQ_ROUTER, "control_in");
	h->ctl_e = new_sock(h, ZMQ_ROUTER, "control_out");
	h->task_c = new_sock(h, ZMQ_ROUTER, "task_in");
	h->task_e = new_sock(h, ZMQ_ROUTER, "task_out");
	h->iopub_e = new_sock(h, ZMQ_SUB, NULL);
	zmq_setsockopt(h->iopub_e, ZMQ_SUBSCRIBE, "", 0);
	/* iopub is lossy anyway: a publisher faster than we read waits in
	 * its own queue, not ours (the bound is per connection) */
	hwm = PUB_HWM;
	zmq_setsockopt(h->iopub_e, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	h->iopub_c = new_sock(h, ZMQ_PUB, NULL);
	if (zmq_setsockopt(h->iopub_c, ZMQ_XPUB_NODROP, &one,
	    sizeof(one)) == -1 || zmq_setsockopt(h->notif, ZMQ_XPUB_NODROP,
	    &one, sizeof(one)) == -1)
		fatalx("ZMQ_XPUB_NODROP: %s", zmq_strerror(errno));
	h->bc_c = new_sock(h, ZMQ_ROUTER, "sub_scheduler_0");
	for (i = 0; i < HUB_MAX_LEAVES; i++) {
		char ident[32];

		snprintf(ident, sizeof(ident), "sub_scheduler_0%d", i);
		h->bc_e[i] = new_sock(h, ZMQ_ROUTER, ident);
	}
	h->hb_ping = new_sock(h, ZMQ_PUB, NULL);
	h->hb_pong = new_sock(h, ZMQ_ROUTER, NULL);

	port = cli.mux; bind_sock(h, h->mux_c, &port, "mux (client)");
	h->ci.mux = port;
	port = cli.control; bind_sock(h, h->ctl_c, &port, "control (client)");
	h->ci.control = port;
	port = cli.task; bind_sock(h, h->task_c, &port, "task (client)");
	h->ci.task = port;
	port = cli.iopub; bind_sock(h, h->iopub_c, &port, "iopub (client)");
	h->ci.iopub = port;
	port = cli.nbroadcast ? cli.broadcast[0] : 0;
	bind_sock(h, h->bc_c, &port, "broadcast (client)");
	h->ci.broadcast[0] = port;
	h->ci.nbroadcast = 1;

	/* engine-side ports are written to the engine file only */
	h->eports.mux = eng.mux;
	bind_sock(h, h->mux_e, &h->eports.mux, "mux (engine)");
	h->eports.control = eng.control;
	bind_sock(h, h->ctl_e, &h->eports.control, "control (engine)");
	h->eports.task = eng.task;
	bind_sock(h, h->task_e, &h->eports.task, "task (engine)");
	h->eports.iopub = eng.iopub;
	bind_sock(h, h->iopub_e, &h->eports.iopub, "iopub (engine)");
	h->eports.hb_ping = eng.hb_ping;
	bind_sock(h, h->hb_ping, &h->eports.hb_ping, "heartbeat ping");
	h->eports.hb_pong = eng.hb_pong;
	bind_sock(h, h->hb_pong, &h->eports.hb_pong, "heartbeat pong");
	for (i = 0; i < HUB_MAX_LEAVES; i++) {
		h->eports.broadcast[i] = i < eng.nbroadcast ?
		    eng.broadcast[i] : 0;
		bind_sock(h, h->bc_e[i], &h->eports.broadcast[i],
		    "broadcast (engine)");
	}
	h->eports.nbroadcast = HUB_MAX_LEAVES;

	/*
	 * Watch the heartbeat socket for dropped connections: a killed
	 * engine's TCP connection closes at once, long before it misses
	 * enough beats.
	 */
	if (zmq_socket_monitor(h->hb_pong, "inproc://hubd-hbmon",
	    ZMQ_EVENT_DISCONNECTED) == -1)
		fatalx("zmq_socket_monitor: %s", zmq_strerror(errno));
	h->hb_mon = zmq_socket(h->zctx, ZMQ_PAIR);
	if (zmq_connect(h->hb_mon, "inproc://hubd-hbmon") == -1)
		fatalx("monitor connect: %s", zmq_strerror(errno));
}

static void
write_connection_files(struct hub *h)
{
	struct ipp_conninfo c = h->ci;

	snprintf(c.ssh, sizeof(c.ssh), "%s", h->cfg.ssh);
	if (ipp_conninfo_save(h->client_file, &c, 0) == -1)
		fatal("cannot write '%s'", h->client_file);
	c.mux = h->eports.mux;
	c.control = h->eports.control;
	c.task = h->eports.task;
	c.iopub = h->eports.iopub;
	c.hb_ping = h->eports.hb_ping;
	c.hb_pong = h->eports.hb_pong;
	memcpy(c.broadcast, h->eports.broadcast, sizeof(c.broadcast));
	c.nbroadcast = h->eports.nbroadcast;
	snprintf(c.ssh, sizeof(c.ssh), "%s", h->cfg.enginessh);
	if (ipp_conninfo_save(h->engine_file, &c, 1) == -1)
		fatal("cannot write '%s'", h->engine_file);
	log_info("connection files written to %s", h->prof.security);
}

/* The dispatch table: which handler drains which socket. */
struct sock_handler {
	size_t	 off;		/* offset of the socket in struct hub */
	int	 (*fn)(struct hub *, int arg);
	int	 arg;
	const char *name;
};

#define HS(field, fn, arg) { offsetof(struct hub, field), fn, arg, #field }

/*
 * The client iopub PUB is only written to, but libzmq frees a gone
 * subscriber's queue (up to PUB_HWM messages) only when the socket
 * processes its commands: asking for ZMQ_EVENTS does that, when they
 * arrive, rather than at the next publication.
 */
static int
pub_commands(struct hub *h, int arg)
{
	uint32_t ev;
	size_t len = sizeof(ev);

	zmq_getsockopt(h->iopub_c, ZMQ_EVENTS, &ev, &len);
	return 0;
}

static const struct sock_handler handlers[] = {
	HS(hb_pong, registry_on_pong, 0),
	HS(hb_mon, registry_on_monitor_event, 0),
	HS(reg, query_dispatch, 0),
	HS(notif, notify_on_subscribe, 0),
	HS(db_pair, query_db_result, 0),
	HS(mux_c, relay_mux_client, 0),
	HS(mux_e, relay_mux_engine, 0),
	HS(task_c, relay_task_client, 0),
	HS(task_e, sched_engine_reply, 0),
	HS(ctl_c, relay_ctl_client, 0),
	HS(ctl_e, relay_ctl_engine, 0),
	HS(bc_c, bcast_client, 0),
	HS(bc_e[0], bcast_engine, 0),
	HS(bc_e[1], bcast_engine, 1),
	HS(iopub_e, relay_iopub, 0),
	HS(iopub_c, pub_commands, 0),
};
#define NHANDLERS (int)(sizeof(handlers) / sizeof(handlers[0]))

static void *
handler_sock(struct hub *h, const struct sock_handler *hs)
{
	return *(void **)((char *)h + hs->off);
}

/* The loop's sockets, waited for with poll(2) on their ZMQ_FDs (zpoll.c). */
#define SWEEP_MS	100
#define TRIM_IDLE	1.0	/* seconds without input before malloc_trim */
#define TRIM_BUSY	10.0	/* and at most this long apart while busy */
/*
 * The DB thread's queue is unbounded, and each write holds its task's
 * frames: a history slower than the clients (big buffers, a slow disk,
 * a table grown past SQLite's cache) would make hubd's memory grow with
 * the backlog.  So past --db-backlog operations waiting, the loop stops
 * taking new requests from clients (replies, heartbeats and queries go
 * on) until the thread is down to a quarter of that; the requests wait in
 * the clients' queues, as they would behind ipcontroller's synchronous
 * writes.
 */
#define HOLD_POLL_MS	2	/* how often a held loop looks at the backlog */

void
hub_sent(struct hub *h, void *sock)
{
	ipp_zpoll_sent(&h->zp, sock);
}

/* Drain socket i for one turn: 1 when it may hold more. */
static int
drain(struct hub *h, int i)
{
	int k;

	for (k = 0; k < BATCH; k++)
		/* -1 is a dropped message: there may be more behind it */
		if (handlers[i].fn(h, handlers[i].arg) == 0)
			return 0;
	return 1;
}

/* Sockets new requests arrive on: the ones a DB hold stops reading. */
static int
is_intake(struct hub *h, void *sock)
{
	return sock == h->mux_c || sock == h->task_c || sock == h->bc_c;
}

/*
 * Hold or release client intake for the DB backlog (see above): a held
 * socket is left out of poll(2) and of the loop's idea of work to do, and
 * is looked at again when released.  1 while held.
 */
static int
db_hold(struct hub *h, int held, void *const *socks, struct pollfd *pfd)
{
	long b = hubdb_backlog(h->db), max = h->cfg.db_backlog;
	int i, now_held = max > 0 && (held ? b > max / 4 : b >= max);

	/* what waits in the loop counts too: hand it over now */
	if (now_held)
		hubdb_flush(h->db);
	if (now_held == held)
		return held;
	if (now_held)
		h->db_holds++;
	for (i = 0; i < NHANDLERS; i++)
		if (is_intake(h, socks[i])) {
			pfd[i].events = now_held ? 0 : POLLIN;
			pfd[i].revents = 0;
			if (!now_held)
				h->zp.ready[i] = 1;
		}
	return now_held;
}

/* Is any socket but held intake ones known to hold messages? */
static int
ready_unheld(struct hub *h, void *const *socks)
{
	int i;

	for (i = 0; i < NHANDLERS; i++)
		if (h->zp.ready[i] && !is_intake(h, socks[i]))
			return 1;
	return 0;
}

static void
run_loop(struct hub *h)
{
	struct pollfd pfd[NHANDLERS];
	void *socks[NHANDLERS];
	int i, n, timeout, any, busy = 0, held = 0;
	double now, wake, last_in = 0, last_trim = 0;

	for (i = 0; i < NHANDLERS; i++)
		socks[i] = handler_sock(h, &handlers[i]);
	if (ipp_zpoll_init(&h->zp, socks, NHANDLERS, pfd, SWEEP_MS) == -1)
		fatalx("zmq_getsockopt ZMQ_FD: %s", zmq_strerror(errno));
	while (!h->quit) {
		if (h->db != NULL)
			held = db_hold(h, held, socks, pfd);
		now = ipp_monotonic();
		wake = registry_next_wake(h);
		if (task_next_wake(h) < wake)
			wake = task_next_wake(h);
		if (h->shutdown_at > 0 && h->shutdown_at < wake)
			wake = h->shutdown_at;
		if (h->db != NULL && hubdb_next_flush(h->db) < wake)
			wake = hubdb_next_flush(h->db);
		if (busy && last_in + TRIM_IDLE < wake)
			wake = last_in + TRIM_IDLE;
		any = !ipp_zpoll_idle(&h->zp, now);
		if (held)
			any = ready_unheld(h, socks);
		if (ipp_zpoll_next_sweep(&h->zp) < wake)
			wake = ipp_zpoll_next_sweep(&h->zp);
		timeout = any || wake <= now ? 0 :
		    (int)((wake - now) * 1000) + 1;
		if (h->engines_dirty && timeout > 100)
			timeout = 100;
		if (held && timeout > HOLD_POLL_MS)
			timeout = HOLD_POLL_MS;
		if ((n = poll(pfd, NHANDLERS, timeout)) == -1) {
			if (errno != EINTR)
				fatal("poll");
			n = 0;
			ipp_zpoll_clear(&h->zp);
		}
		if (got_signal) {
			log_info("signal %d: shutting down", (int)got_signal);
			break;
		}
		for (i = 0; i < NHANDLERS; i++)
			if (ipp_zpoll_pending(&h->zp, i) &&
			    !(held && is_intake(h, socks[i])))
				ipp_zpoll_drained(&h->zp, i, drain(h, i));
		n += any;
		now = ipp_monotonic();
		registry_tick(h, now);
		task_tick(h, now);
		log_rate_flush(&h->badin, now);
		log_rate_flush(&h->slowsub, now);
		if (h->rescan)
			sched_run_queue(h);
		registry_save_if_dirty(h);
		if (h->db != NULL && hubdb_next_flush(h->db) <= now)
			hubdb_flush(h->db);
		if (h->shutdown_at > 0 && now >= h->shutdown_at)
			h->quit = 1;
		/*
		 * A burst of tasks leaves freed records in both threads'
		 * malloc arenas; glibc keeps them mapped.  Hand them back
		 * once the loop has had no input for a second, so RSS
		 * follows the work actually held.  Not sooner: trimming
		 * between two bursts of a busy run gave the pages back only
		 * to fault them in again (5% of the loop under load).
		 * A run that never pauses is trimmed every TRIM_BUSY
		 * seconds: what a million tasks leave free in the heaps
		 * (6 MiB of 39) is handed back at the cost of faulting in
		 * what is reused, a few ms in ten seconds.
		 */
		if (n > 0) {
			if (!busy)
				last_trim = now;
			busy = 1;
			last_in = now;
		}
		if (busy && (now - last_in >= TRIM_IDLE ||
		    now - last_trim >= TRIM_BUSY)) {
			malloc_trim(0);
			last_trim = now;
			busy = now - last_in < TRIM_IDLE;
		}
	}
}

static void
cleanup(struct hub *h)
{
	void **socks[] = { &h->reg, &h->notif, &h->mux_c, &h->mux_e,
	    &h->ctl_c, &h->ctl_e, &h->task_c, &h->task_e, &h->bc_c,
	    &h->bc_e[0], &h->bc_e[1], &h->iopub_e, &h->iopub_c, &h->hb_ping,
	    &h->hb_pong, &h->hb_mon };
	size_t i;

	registry_save_if_dirty(h);
	if (h->db_holds > 0)
		log_info("new requests were held %ld times while the DB "
		    "thread caught up", h->db_holds);
	hubdb_close(&h->db);
	recover_close(h);
	if (!h->cfg.reuse) {
		unlink(h->client_file);
		unlink(h->engine_file);
	}
	/*
	 * libzmq's I/O thread sends monitor events blocking; with thousands
	 * of engines gone at once the pipe is full and stopping the monitor
	 * would wait for it forever.  Shutting the context down first makes
	 * that send fail with ETERM.
	 */
	zmq_ctx_shutdown(h->zctx);
	zmq_socket_monitor(h->hb_pong, NULL, 0);
	for (i = 0; i < sizeof(socks) / sizeof(socks[0]); i++)
		if (*socks[i] != NULL) {
			zmq_close(*socks[i]);
			*socks[i] = NULL;
		}
	registry_release(h);
	ipp_msg_release(&h->rx);
	ipp_msg_release(&h->tx);
	zmq_ctx_term(h->zctx);
	ipp_session_release(&h->sess);
}

/*
 * The task history cannot be opened (errno says why): say which file,
 * and, when SQLite found it damaged, what to do, since a restart alone
 * will meet the same file.
 */
static void __attribute__((noreturn))
db_unusable(const struct db_ops *dbo, const struct db_config *dbc,
    const char *why)
{
	if (dbc->path == NULL || strcmp(dbo->name, "sqlite") != 0)
		fatalx("cannot open task database: %s", why);
	if (errno != EBADMSG)
		fatalx("cannot open task history '%s': %s", dbc->path, why);
	fatalx("task history is damaged: %s. Move it aside with its -wal "
	    "and -shm files (mv '%s' '%s.damaged'...) and start again with "
	    "an empty history, or start hubd with --nodb, --dictdb or "
	    "another --db-path", why, dbc->path, dbc->path);
}

/*
 * One hubd per profile and cluster id: a second would rewrite the
 * connection files under the first, remove them when it stops, and
 * truncate the replay history and delivery ring the first has mapped
 * (its next store into them would die of SIGBUS).  The lock is an flock
 * held by an open descriptor until we exit, however we exit, so a hubd
 * killed with -9 leaves nothing to clean up.  The file holds the pid, for
 * the error.
 */
static void
lock_profile(struct hub *h)
{
	char path[1100], pid[32] = "";
	ssize_t n;

	snprintf(path, sizeof(path), "%s/hubd%s%s.lock", h->prof.security,
	    h->cfg.cluster_id[0] ? "-" : "", h->cfg.cluster_id);
	if ((h->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		fatal("cannot open lock file '%s'", path);
	if (flock(h->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			fatal("cannot lock '%s'", path);
		if ((n = read(h->lock_fd, pid, sizeof(pid) - 1)) > 0)
			pid[strcspn(pid, "\n")] = '\0';
		fatalx("profile '%s'%s%s is in use by hubd pid %s (%s): stop "
		    "it, or give another --cluster-id", h->prof.dir,
		    h->cfg.cluster_id[0] ? ", cluster id " : "",
		    h->cfg.cluster_id, pid[0] ? pid : "unknown", path);
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(h->lock_fd, 0) == -1 ||
	    pwrite(h->lock_fd, pid, strlen(pid), 0) == -1)
		log_warn("cannot write the pid into '%s'", path);
}

int
main(int argc, char **argv)
{
	struct hub *h = xcalloc(1, sizeof(*h));
	struct sigaction sa;
	struct db_config dbc;
	const struct db_ops *dbo;
	char why[512], logpath[1200];

	h->started = ipp_monotonic();
	/* task data, keys and logs: nothing hubd writes is for other users */
	umask(077);
	log_init("hubd", LOG_LVL_INFO, NULL);
	hub_config_defaults(&h->cfg);
	hub_parse_args(&h->cfg, argc, argv);
	log_init("hubd", h->cfg.log_level, NULL);
	if ((h->sched = sched_lookup(h->cfg.scheme)) == NULL)
		fatalx("unknown scheme '%s'", h->cfg.scheme);
	if (ipp_profile_init(&h->prof, h->cfg.profile_dir, h->cfg.profile,
	    h->cfg.cluster_id, 1) == -1)
		fatal("cannot set up profile directory");
	lock_profile(h);
	if (h->cfg.log_to_file) {
		snprintf(logpath, sizeof(logpath), "%s/hubd-%s-%ld.log",
		    h->prof.log, h->cfg.cluster_id, (long)getpid());
		if (log_init("hubd", h->cfg.log_level, logpath) == -1)
			fatal("cannot open log file '%s'", logpath);
	}
	ipp_profile_connfile(&h->prof, "client", h->client_file,
	    sizeof(h->client_file));
	ipp_profile_connfile(&h->prof, "engine", h->engine_file,
	    sizeof(h->engine_file));
	if (h->cfg.db_path[0] == '\0')
		snprintf(h->cfg.db_path, sizeof(h->cfg.db_path),
		    "%s/hubd-tasks%s%s.db", h->prof.dir,
		    h->cfg.cluster_id[0] ? "-" : "", h->cfg.cluster_id);
	snprintf(h->engines_file, sizeof(h->engines_file),
	    "%s/engines%s.json", h->prof.log, h->cfg.cluster_id);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((h->zctx = ipp_zctx_new()) == NULL)
		fatalx("zmq_ctx_new failed");
	setup_interface(h);
	setup_sockets(h);
	/*
	 * Replay protection that outlives us: the digests of the last
	 * REPLAY_HISTORY signed messages live in a file next to the key.
	 * A run that keeps the key keeps them, so a message captured before
	 * a restart with --reuse (or a kill -9) is still refused; a new key
	 * makes every old message invalid anyway, and the file starts over.
	 */
	snprintf(h->digests_file, sizeof(h->digests_file),
	    "%s/hubd%s%s.digests", h->prof.security, h->cfg.cluster_id[0] ? "-" : "",
	    h->cfg.cluster_id);
	if (ipp_session_init(&h->sess, h->ci.key, NULL) == -1)
		fatal("session");
	if (h->sess.keylen > 0 && ipp_session_enable_replay_file(&h->sess,
	    REPLAY_HISTORY, h->digests_file, h->key_reused) == -1)
		fatal("cannot keep the replay history in '%s'",
		    h->digests_file);

	memset(&dbc, 0, sizeof(dbc));
	dbc.path = h->cfg.db_path[0] ? h->cfg.db_path : NULL;
	dbc.table = h->cfg.db_table[0] ? h->cfg.db_table : NULL;
	/* as ipyparallel's DictDB: memory is bounded by default, disk is not */
	dbc.record_limit = h->cfg.record_limit >= 0 ? h->cfg.record_limit :
	    strcmp(h->cfg.db, "memory") == 0 ? 1024 : 0;
	dbc.size_limit = h->cfg.size_limit >= 0 ? h->cfg.size_limit :
	    strcmp(h->cfg.db, "memory") == 0 ? 1LL << 30 : 0;
	if ((dbo = db_backend_lookup(h->cfg.db)) == NULL)
		fatalx("unknown db backend '%s'", h->cfg.db);
	if (recover_lost_tasks(h, dbo, &dbc, why, sizeof(why)) == -1 ||
	    (h->db = hubdb_open(h, dbo, &dbc, why, sizeof(why))) == NULL)
		db_unusable(dbo, &dbc, why);
	h->db_pair = hubdb_socket(h->db);
	registry_init(h);
	sched_init(h);
	if ((h->tasks = ipp_map_new()) == NULL)
		fatalx("out of memory");
	write_connection_files(h);
	log_info("hubd ready: registration %s:%d, scheme %s, db %s",
	    h->ci.interface, h->ci.registration, h->sched->name, dbo->name);
	run_loop(h);
	cleanup(h);
	free(h);
	return 0;
}
