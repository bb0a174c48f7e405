/*
 * simengines.c - many simulated ipyparallel engines in one process, to
 * load a controller (hubd or ipcontroller) for scale and speed tests.
 *
 * Each simulated engine registers on the registration socket, echoes
 * heartbeat pings under its own uuid and, when it has a shell, answers
 * execute_request and apply_request like an ipengine whose code does
 * nothing: status ok, the metadata the schedulers read, parent = the
 * request header, routing frames echoed as received.  Everything runs in
 * one zmq_poll loop; bench/ scripts drive it, together with tools/loadgen.
 *
 * The controller knows an engine by the routing identity of its heart
 * DEALER and of its shell ROUTER, so those cannot be shared.  Two budgets
 * shape the rest.  A process may hold only RLIMIT_NOFILE descriptors
 * (20,000 hard on the benchmark machine), and a libzmq socket costs a
 * mailbox descriptor besides its connections.  So:
 *   - hearts are not libzmq sockets but plain TCP connections speaking
 *     the ZMTP 3.0 handshake (NULL mechanism) as a DEALER: one descriptor
 *     each, written to directly, watched through one epoll set;
 *   - registration uses a small pool of shared DEALERs; replies come back
 *     in request order on each (ipcontroller leaves parent_header empty
 *     on registration_reply, so order is the only key that always works);
 *   - pings arrive on one SUB and are copied to every heart;
 *   - only the first --shells engines get a shell ROUTER (4 descriptors
 *     each: mailbox, mux, task, broadcast); the rest are heart-only, which
 *     is enough for registration and heartbeat load;
 *   - hearts connect a few at a time (--connects), so as not to overflow
 *     the controller's listen backlog.
 * The epoll set (hearts and the shells' ZMQ_FD) is one item of zmq_poll,
 * so the poll array stays small however many engines there are.
 *
 * Registered means confirmed by the controller: a registration_notification
 * for the engine's uuid on the notification PUB (found in the client file
 * next to the engine file).  Without that file an engine counts once it
 * has its reply and the controller's half of the heart handshake.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipp.h"
#include "lib/common.h"

#define ZMTP_GREETING	64	/* bytes of a ZMTP 3 greeting */
#define HEART_OUTMAX	8192	/* unsent pongs beyond this are dropped */
#define MAX_REGSOCKS	64
#define EPOLL_BATCH	512
#define FD_RESERVE	64	/* descriptors kept for zmq, files, stdio */

#ifndef MIN
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#endif

enum eng_state {
	ES_NEW,			/* not asked yet */
	ES_ASKED,		/* registration_request sent */
	ES_REPLIED,		/* has an id, heart and shell connecting */
	ES_REGISTERED,		/* the controller announced it */
	ES_GONE,		/* unregistered or heart connection lost */
	ES_FAILED		/* registration refused */
};

/*
 * A heart: one TCP connection to hb_pong speaking ZMTP as a DEALER.
 * Data may only follow once the controller's READY has arrived: libzmq
 * takes a data frame that reaches it before its own READY went out for
 * a malformed handshake command and drops the connection.  Until then
 * only the handshake (the first hslen bytes of out) is written.
 */
struct heart {
	int		 fd;		/* -1: none */
	int		 connected;	/* the TCP connect finished */
	int		 ready;		/* the controller's READY arrived */
	size_t		 nread;
	unsigned char	 hin[ZMTP_GREETING + 9]; /* greeting, command head */
	unsigned char	*out;		/* bytes not yet written */
	size_t		 outlen;
	size_t		 outcap;
	size_t		 hslen;		/* handshake bytes at the head of out */
	int		 armed;		/* EPOLLOUT requested */
};

struct sengine {
	char		 uuid[40];
	int		 id;
	enum eng_state	 state;
	struct heart	 hb;
	void		*shell;		/* ROUTER, or NULL: heart only */
	unsigned long	 counter;	/* msg_ids of replies */
	long		 exec_count;
};

/* Engines waiting for a registration_reply on one shared DEALER. */
struct regfifo {
	int		*v;
	int		 head;
	int		 n;
	int		 cap;
};

struct sim {
	/* options */
	int		 n;
	int		 nshells;
	double		 rate;
	int		 concurrency;
	int		 maxconnect;
	int		 nreg;
	double		 report;
	double		 duration;
	double		 timeout;
	int		 verify;
	int		 quiet;
	/* controller */
	struct ipp_conninfo ci;
	struct ipp_session sess;
	struct sockaddr_storage hbaddr;
	socklen_t	 hbaddrlen;
	void		*zctx;
	void		*ping;		/* SUB to hb_ping */
	void		*notif;		/* SUB to notification, or NULL */
	void		*reg[MAX_REGSOCKS];
	struct regfifo	 regq[MAX_REGSOCKS];
	int		 nextreg;
	int		 ep;		/* epoll: hearts and shell ZMQ_FDs */
	/* engines */
	struct sengine	*e;
	struct ipp_map	*by_uuid;
	int		 next_new;
	int		 inflight;	/* asked, no reply yet */
	int		 handshaking;	/* hearts not ready yet */
	int		*toconnect;	/* replied engines waiting for a heart */
	int		 ntoconnect, tchead;
	long		 nreplied, nregistered, nfailed, nlost, nunreg;
	long		 peak;		/* most registered at once */
	long		 npending;	/* not yet registered, refused or lost */
	/* traffic */
	long		 pings, pongs_dropped, requests, replies, bad;
	/* time */
	double		 t_start;	/* first registration_request */
	double		 t_done;	/* last engine registered, or 0 */
	double		 t_phase;	/* end of the registration phase */
	double		 next_report;
};

static void
usage(void)
{
	fprintf(stderr,
"usage: simengines [-n N] [--file ENGINE_JSON | --profile-dir DIR\n"
"           [--cluster-id ID]] [--client-file CLIENT_JSON] [--rate R]\n"
"           [--concurrency C] [--connects M] [--shells S]\n"
"           [--reg-sockets K] [--report[=SEC]] [--duration SEC]\n"
"           [--timeout SEC] [--verify] [-q]\n"
"\n"
"Simulates N engines against a controller.  --rate limits registrations\n"
"started per second (0: no limit); --concurrency (default 1000) bounds\n"
"registrations between request and heart; --connects (default 64) bounds\n"
"heart connections not yet through the handshake.  --shells: engines with\n"
"a shell ROUTER (default: as many as the descriptor limit allows); the\n"
"others only register and heartbeat.  --duration: seconds to keep running\n"
"once registration is over (0: until SIGINT/SIGTERM).  --timeout bounds\n"
"the registration phase (default 60).  --verify checks the signature of\n"
"every request.\n");
	exit(2);
}

/* ---------------------------------------------------------------- util */


static void
fifo_push(struct regfifo *q, int v)
{
	if (q->n == q->cap) {
		int ncap = q->cap ? q->cap * 2 : 64, i;
		int *nv = xcalloc((size_t)ncap, sizeof(int));

		for (i = 0; i < q->n; i++)
			nv[i] = q->v[(q->head + i) % q->cap];
		free(q->v);
		q->v = nv;
		q->cap = ncap;
		q->head = 0;
	}
	q->v[(q->head + q->n) % q->cap] = v;
	q->n++;
}

/* Remove v (or the head when v < 0); returns it, or -1 when absent. */
static int
fifo_take(struct regfifo *q, int v)
{
	int i, k, r;

	if (q->n == 0)
		return -1;
	if (v < 0 || q->v[q->head] == v) {
		r = q->v[q->head];
		q->head = (q->head + 1) % q->cap;
		q->n--;
		return r;
	}
	for (i = 1; i < q->n; i++) {
		if (q->v[(q->head + i) % q->cap] != v)
			continue;
		for (k = i; k + 1 < q->n; k++)
			q->v[(q->head + k) % q->cap] =
			    q->v[(q->head + k + 1) % q->cap];
		q->n--;
		return v;
	}
	return -1;
}

/* -------------------------------------------------------------- hearts */

static void
heart_arm(struct sim *s, struct sengine *e, int out)
{
	struct epoll_event ev;

	if (e->hb.armed == out)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.u64 = (uint64_t)(e - s->e) << 1;
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, e->hb.fd, &ev) == 0)
		e->hb.armed = out;
}

static void
heart_close(struct sim *s, struct sengine *e)
{
	if (e->hb.fd < 0)
		return;
	if (!e->hb.ready)
		s->handshaking--;
	close(e->hb.fd);	/* also leaves the epoll set */
	e->hb.fd = -1;
	free(e->hb.out);
	e->hb.out = NULL;
	e->hb.outlen = e->hb.outcap = 0;
}

static void
engine_lost(struct sim *s, struct sengine *e, const char *why)
{
	if (e->state == ES_GONE)
		return;
	if (!s->quiet && s->nlost + s->nunreg < 10)
		fprintf(stderr, "simengines: engine %d (%s) lost: %s\n", e->id,
		    e->uuid, why);
	if (e->state == ES_REGISTERED)
		s->nregistered--;
	else if (e->state == ES_ASKED || e->state == ES_REPLIED)
		s->npending--;
	e->state = ES_GONE;
	heart_close(s, e);
}

static void
engine_registered(struct sim *s, struct sengine *e)
{
	e->state = ES_REGISTERED;
	s->npending--;
	if (++s->nregistered > s->peak)
		s->peak = s->nregistered;
	if (s->nregistered == s->n)
		s->t_done = ipp_monotonic();
}

static void
heart_flush(struct sim *s, struct sengine *e)
{
	struct heart *h = &e->hb;
	size_t lim;
	ssize_t w;

	while (h->connected && h->outlen > 0) {
		lim = h->ready ? h->outlen : h->hslen;
		if (lim == 0)
			break;
		w = write(h->fd, h->out, lim);
		if (w > 0) {
			h->outlen -= (size_t)w;
			h->hslen -= (size_t)w < h->hslen ? (size_t)w : h->hslen;
			memmove(h->out, h->out + w, h->outlen);
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		s->nlost++;
		engine_lost(s, e, strerror(errno));
		return;
	}
	heart_arm(s, e, !h->connected ||
	    (h->outlen > 0 && (h->ready || h->hslen > 0)));
}

/*
 * Queue bytes on a heart.  A frame is queued whole or not at all, so the
 * ZMTP stream stays well formed when a slow controller makes us drop.
 */
static int
heart_put(struct sengine *e, const void *data, size_t len)
{
	struct heart *h = &e->hb;

	if (h->outlen + len > HEART_OUTMAX && h->outlen > 0)
		return -1;
	if (h->outlen + len > h->outcap) {
		size_t ncap = h->outcap ? h->outcap : 256;

		while (ncap < h->outlen + len)
			ncap *= 2;
		h->out = xrealloc(h->out, ncap, 1);
		h->outcap = ncap;
	}
	memcpy(h->out + h->outlen, data, len);
	h->outlen += len;
	return 0;
}

/* ZMTP 3.0: greeting, then a READY command naming us DEALER and our id. */
static void
heart_handshake(struct sengine *e)
{
	unsigned char g[ZMTP_GREETING], cmd[512];
	size_t n = 0, ul = strlen(e->uuid);
	uint32_t vl;

	memset(g, 0, sizeof(g));
	g[0] = 0xff;
	g[9] = 0x7f;
	g[10] = 3;		/* major version */
	g[11] = 0;		/* minor: 3.0, no PING commands */
	memcpy(g + 12, "NULL", 4);
	heart_put(e, g, sizeof(g));

	cmd[n++] = 0x04;	/* short command frame */
	cmd[n++] = 0;		/* size, filled in below */
	cmd[n++] = 5;
	memcpy(cmd + n, "READY", 5);
	n += 5;
	cmd[n++] = 11;
	memcpy(cmd + n, "Socket-Type", 11);
	n += 11;
	vl = htonl(6);
	memcpy(cmd + n, &vl, 4);
	n += 4;
	memcpy(cmd + n, "DEALER", 6);
	n += 6;
	cmd[n++] = 8;
	memcpy(cmd + n, "Identity", 8);
	n += 8;
	vl = htonl((uint32_t)ul);
	memcpy(cmd + n, &vl, 4);
	n += 4;
	memcpy(cmd + n, e->uuid, ul);
	n += ul;
	cmd[1] = (unsigned char)(n - 2);
	heart_put(e, cmd, n);
	e->hb.hslen = e->hb.outlen;
}

static int
heart_open(struct sim *s, struct sengine *e)
{
	struct epoll_event ev;
	int fd, one = 1;

	fd = socket(s->hbaddr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	e->hb.fd = fd;
	e->hb.connected = 0;
	e->hb.ready = 0;
	e->hb.nread = 0;
	e->hb.armed = 1;
	s->handshaking++;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.u64 = (uint64_t)(e - s->e) << 1;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		heart_close(s, e);
		return -1;
	}
	heart_handshake(e);
	if (connect(fd, (struct sockaddr *)&s->hbaddr, s->hbaddrlen) == 0) {
		e->hb.connected = 1;
		heart_flush(s, e);
	} else if (errno != EINPROGRESS) {
		heart_close(s, e);
		return -1;
	}
	return 0;
}

/* Has the controller's greeting and its first command (READY) arrived? */
static int
handshake_done(const struct heart *h)
{
	const unsigned char *c = h->hin + ZMTP_GREETING;
	uint64_t size = 0;
	int i;

	if (h->nread < ZMTP_GREETING + 2)
		return 0;
	if (!(c[0] & 0x02))
		return h->nread >= ZMTP_GREETING + 2 + (size_t)c[1];
	if (h->nread < ZMTP_GREETING + 9)
		return 0;
	for (i = 1; i <= 8; i++)
		size = size << 8 | c[i];
	return h->nread >= ZMTP_GREETING + 9 + size;
}

static void
heart_event(struct sim *s, struct sengine *e, uint32_t events)
{
	struct heart *h = &e->hb;
	char buf[4096];
	ssize_t r;
	int err = 0;
	socklen_t el = sizeof(err);

	if (h->fd < 0)
		return;
	if (!h->connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1 ||
		    err != 0) {
			s->nlost++;
			engine_lost(s, e, err ? strerror(err) : "connect");
			return;
		}
		h->connected = 1;
	}
	if (events & EPOLLIN) {
		/* the controller's greeting and READY; nothing else comes */
		for (;;) {
			r = read(h->fd, buf, sizeof(buf));
			if (r > 0) {
				if (h->nread < sizeof(h->hin))
					memcpy(h->hin + h->nread, buf,
					    MIN((size_t)r, sizeof(h->hin) -
					    h->nread));
				h->nread += (size_t)r;
				continue;
			}
			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK))
				break;
			s->nlost++;
			engine_lost(s, e, r == 0 ? "controller closed the "
			    "heart connection" : strerror(errno));
			return;
		}
		if (!h->ready && handshake_done(h)) {
			h->ready = 1;
			s->handshaking--;
			if (s->notif == NULL && e->state == ES_REPLIED)
				engine_registered(s, e);
		}
	}
	heart_flush(s, e);
}

/* A ping from the controller: every heart echoes it, like ipengine's. */
static void
on_ping(struct sim *s)
{
	unsigned char fr[2 + 255];
	int len, i;

	while ((len = zmq_recv(s->ping, fr + 2, 255, ZMQ_DONTWAIT)) >= 0) {
		if (len > 255)
			continue;	/* truncated: not a ping of ours */
		s->pings++;
		fr[0] = 0x00;		/* last frame, short size */
		fr[1] = (unsigned char)len;
		for (i = 0; i < s->next_new; i++) {
			struct sengine *e = &s->e[i];
			ssize_t w;

			if (e->hb.fd < 0)
				continue;
			if (e->hb.outlen > 0 || !e->hb.ready) {
				if (heart_put(e, fr, (size_t)len + 2) == -1)
					s->pongs_dropped++;
				else
					heart_flush(s, e);
				continue;
			}
			/* fast path: straight to the kernel */
			w = write(e->hb.fd, fr, (size_t)len + 2);
			if (w == len + 2)
				continue;
			if (w < 0)
				w = 0;
			/* the rest of the frame must follow, or the stream breaks */
			heart_put(e, fr + w, (size_t)(len + 2 - w));
			heart_flush(s, e);
		}
	}
}

/* -------------------------------------------------------------- shells */

/*
 * Reply to one request on a shell.  The parent header is the request's
 * header frame itself; only the header, metadata and content are new.
 */
static void
shell_request(struct sim *s, struct sengine *e, struct ipp_frames *fr)
{
	static const unsigned char none_pickle[] = { 0x80, 0x04, 'N', '.' };
	char type[64], rtype[80], date[40], hdr[512], md[1024], ct[256];
	char sig[IPP_SIG_HEXLEN + 1], omid[300];
	const char *hp, *mp;
	const void *parts[4];
	size_t lens[4], hl, ml;
	struct ipp_frames out;
	int d, i, bc = 0, coal = 0;

	if ((d = ipp_frames_delim(fr)) == -1) {
		s->bad++;
		return;
	}
	hp = ipp_frame_data(fr, d + 2);
	hl = ipp_frame_len(fr, d + 2);
	mp = ipp_frame_data(fr, d + 4);
	ml = ipp_frame_len(fr, d + 4);
	if (s->verify) {
		for (i = 0; i < 4; i++) {
			parts[i] = ipp_frame_data(fr, d + 2 + i);
			lens[i] = ipp_frame_len(fr, d + 2 + i);
		}
		if (ipp_session_verify(&s->sess, ipp_frame_data(fr, d + 1),
		    ipp_frame_len(fr, d + 1), parts, lens) == -1) {
			s->bad++;
			return;
		}
	}
	if (ipp_json_peek(hp, hl, "msg_type", type, sizeof(type)) == -1 ||
	    strlen(type) < 9 ||
	    strcmp(type + strlen(type) - 8, "_request") != 0) {
		s->bad++;
		return;
	}
	s->requests++;
	snprintf(rtype, sizeof(rtype), "%.*s_reply",
	    (int)(strlen(type) - 8), type);
	omid[0] = '\0';
	if (ml > 2 && memmem(mp, ml, "\"is_broadcast\"", 14) != NULL) {
		json_t *m = json_loadb(mp, ml, 0, NULL);
		const char *o;

		/* broadcast replies carry these back up the tree */
		bc = json_is_true(json_object_get(m, "is_broadcast"));
		coal = json_is_true(json_object_get(m, "is_coalescing"));
		o = json_string_value(json_object_get(m, "original_msg_id"));
		if (o != NULL && strlen(o) < sizeof(omid) &&
		    strpbrk(o, "\"\\") == NULL)
			snprintf(omid, sizeof(omid), "%s", o);
		json_decref(m);
	}
	ipp_iso_now(date, sizeof(date));
	lens[0] = (size_t)snprintf(hdr, sizeof(hdr), "{\"msg_id\":\"%s_%ld_"
	    "%lu\",\"msg_type\":\"%s\",\"username\":\"%s\",\"session\":"
	    "\"%s\",\"date\":\"%s\",\"version\":\"%s\"}", e->uuid,
	    s->sess.pid, ++e->counter, rtype, s->sess.username, e->uuid, date,
	    IPP_PROTOCOL_VERSION);
	lens[1] = hl;
	lens[2] = (size_t)snprintf(md, sizeof(md), "{\"started\":\"%s\","
	    "\"dependencies_met\":true,\"engine\":\"%s\",\"is_broadcast\":%s,"
	    "\"is_coalescing\":%s,\"original_msg_id\":\"%s\",\"status\":"
	    "\"ok\"}", date, e->uuid, bc ? "true" : "false",
	    coal ? "true" : "false", omid);
	if (strcmp(type, "execute_request") == 0)
		lens[3] = (size_t)snprintf(ct, sizeof(ct), "{\"status\":\"ok\","
		    "\"execution_count\":%ld,\"user_expressions\":{},"
		    "\"payload\":[]}", ++e->exec_count);
	else
		lens[3] = (size_t)snprintf(ct, sizeof(ct), "{\"status\":"
		    "\"ok\"}");
	parts[0] = hdr;
	parts[1] = hp;
	parts[2] = md;
	parts[3] = ct;
	ipp_sign(&s->sess, parts, lens, sig);

	ipp_frames_init(&out);
	for (i = 0; i < d; i++)
		if (ipp_frames_add_msg(&out, &fr->f[i]) == -1)
			goto fail;
	if (ipp_frames_add(&out, IPP_DELIM, IPP_DELIM_LEN) == -1 ||
	    ipp_frames_add(&out, sig, strlen(sig)) == -1 ||
	    ipp_frames_add(&out, hdr, lens[0]) == -1 ||
	    ipp_frames_add_msg(&out, &fr->f[d + 2]) == -1 ||
	    ipp_frames_add(&out, md, lens[2]) == -1 ||
	    ipp_frames_add(&out, ct, lens[3]) == -1)
		goto fail;
	/* apply's result is a serialized object: None */
	if (strcmp(type, "apply_request") == 0 &&
	    ipp_frames_add(&out, none_pickle, sizeof(none_pickle)) == -1)
		goto fail;
	if (ipp_frames_send(e->shell, &out, 0, ZMQ_DONTWAIT) == 0)
		s->replies++;
	else
		s->bad++;
fail:
	ipp_frames_release(&out);
}

/*
 * Take everything a shell holds.  ZMQ_FD only signals edges, and a send
 * can swallow one, so the drain ends with ZMQ_EVENTS saying "empty".
 */
static void
shell_drain(struct sim *s, struct sengine *e)
{
	struct ipp_frames fr;
	int ev;
	size_t sz;

	ipp_frames_init(&fr);
	for (;;) {
		while (ipp_frames_recv(e->shell, &fr, ZMQ_DONTWAIT) > 0)
			shell_request(s, e, &fr);
		sz = sizeof(ev);
		if (zmq_getsockopt(e->shell, ZMQ_EVENTS, &ev, &sz) == -1 ||
		    !(ev & ZMQ_POLLIN))
			break;
	}
	ipp_frames_release(&fr);
}

static void
shell_open(struct sim *s, struct sengine *e)
{
	struct epoll_event ev;
	char url[512];
	int zero = 0, fd, port;
	size_t sz = sizeof(fd);

	if ((e->shell = zmq_socket(s->zctx, ZMQ_ROUTER)) == NULL) {
		fprintf(stderr, "simengines: shell socket: %s\n",
		    zmq_strerror(errno));
		return;
	}
	zmq_setsockopt(e->shell, ZMQ_ROUTING_ID, e->uuid, strlen(e->uuid));
	zmq_setsockopt(e->shell, ZMQ_SNDHWM, &zero, sizeof(zero));
	zmq_setsockopt(e->shell, ZMQ_RCVHWM, &zero, sizeof(zero));
	zmq_setsockopt(e->shell, ZMQ_LINGER, &zero, sizeof(zero));
	ipp_conninfo_url(&s->ci, s->ci.mux, url, sizeof(url));
	zmq_connect(e->shell, url);
	ipp_conninfo_url(&s->ci, s->ci.task, url, sizeof(url));
	zmq_connect(e->shell, url);
	if (s->ci.nbroadcast > 0) {
		port = s->ci.broadcast[e->id % s->ci.nbroadcast];
		ipp_conninfo_url(&s->ci, port, url, sizeof(url));
		zmq_connect(e->shell, url);
	}
	if (zmq_getsockopt(e->shell, ZMQ_FD, &fd, &sz) == -1)
		fatalx("ZMQ_FD: %s", zmq_strerror(errno));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = ((uint64_t)(e - s->e) << 1) | 1;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		fatal("epoll_ctl");
}

/* -------------------------------------------------------- registration */

/* 0 sent, -1 the socket cannot take it yet (not connected). */
static int
ask(struct sim *s, struct sengine *e)
{
	struct ipp_frames out;
	json_t *hdr;
	char id[160], date[40];
	int k = s->nextreg;

	s->nextreg = (s->nextreg + 1) % s->nreg;
	snprintf(id, sizeof(id), "%s_%ld_0", e->uuid, s->sess.pid);
	ipp_iso_now(date, sizeof(date));
	/* the header's session is the engine's uuid, as ipengine's */
	hdr = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "msg_id", id,
	    "msg_type", "registration_request", "username", s->sess.username,
	    "session", e->uuid, "date", date, "version", IPP_PROTOCOL_VERSION);
	ipp_frames_init(&out);
	if (hdr == NULL || ipp_msg_build(&s->sess, &out, NULL, 0,
	    "registration_request", hdr, NULL, NULL,
	    json_pack("{s:s}", "uuid", e->uuid)) == -1)
		fatal("cannot build registration_request");
	if (ipp_frames_send(s->reg[k], &out, 0, ZMQ_DONTWAIT) == -1) {
		if (errno != EAGAIN)
			fatalx("registration send: %s", zmq_strerror(errno));
		ipp_frames_release(&out);
		return -1;
	}
	ipp_frames_release(&out);
	fifo_push(&s->regq[k], (int)(e - s->e));
	e->state = ES_ASKED;
	s->inflight++;
	if (s->t_start == 0)
		s->t_start = ipp_monotonic();
	return 0;
}

static void
on_reg_reply(struct sim *s, int k)
{
	struct ipp_msg m;
	struct sengine *e = NULL;
	const char *pid, *st;
	char why[256], uuid[40], *txt;
	int idx;

	ipp_msg_init(&m);
	while (ipp_msg_recv(&s->sess, s->reg[k], &m, ZMQ_DONTWAIT, why,
	    sizeof(why)) == 0) {
		/* hubd names the request in parent_header; ipcontroller not */
		pid = json_string_value(json_object_get(m.parent, "msg_id"));
		idx = -1;
		if (pid != NULL && sscanf(pid, "%39[^_]", uuid) == 1 &&
		    (e = ipp_map_get(s->by_uuid, uuid)) != NULL)
			idx = fifo_take(&s->regq[k], (int)(e - s->e));
		if (idx < 0)
			idx = fifo_take(&s->regq[k], -1);
		if (idx < 0) {
			fprintf(stderr, "simengines: unexpected %s\n",
			    m.msg_type);
			continue;
		}
		e = &s->e[idx];
		s->inflight--;
		st = json_string_value(json_object_get(m.content, "status"));
		if (strcmp(m.msg_type, "registration_reply") != 0 ||
		    !json_is_integer(json_object_get(m.content, "id")) ||
		    st == NULL || strcmp(st, "ok") != 0) {
			if (s->nfailed++ < 5 &&
			    (txt = ipp_json_dump(m.content)) != NULL) {
				fprintf(stderr, "simengines: registration of "
				    "%s refused: %s\n", e->uuid, txt);
				free(txt);
			}
			e->state = ES_FAILED;
			s->npending--;
			continue;
		}
		e->id = (int)json_integer_value(json_object_get(m.content,
		    "id"));
		e->state = ES_REPLIED;
		s->nreplied++;
		s->toconnect[s->ntoconnect++] = idx;
	}
	ipp_msg_release(&m);
}

/*
 * Open hearts (and shells) for replied engines, a few at a time: the
 * controller's listen backlog is small (libzmq's default is 100), and a
 * connection beyond it has its SYN dropped and retried a second or more
 * later, which is what a flood of real engines would see too.
 */
static void
connect_hearts(struct sim *s)
{
	struct sengine *e;
	int idx;

	while (s->tchead < s->ntoconnect && s->handshaking < s->maxconnect) {
		idx = s->toconnect[s->tchead++];
		e = &s->e[idx];
		if (e->state != ES_REPLIED)
			continue;
		if (heart_open(s, e) == -1) {
			s->nlost++;
			engine_lost(s, e, strerror(errno));
			continue;
		}
		if (idx < s->nshells)
			shell_open(s, e);
	}
}

static void
on_notification(struct sim *s)
{
	struct ipp_msg m;
	struct sengine *e;
	const char *uuid;
	char why[256];

	ipp_msg_init(&m);
	while (ipp_msg_recv(&s->sess, s->notif, &m, ZMQ_DONTWAIT, why,
	    sizeof(why)) == 0) {
		uuid = json_string_value(json_object_get(m.content, "uuid"));
		if (uuid == NULL || (e = ipp_map_get(s->by_uuid, uuid)) ==
		    NULL)
			continue;
		if (strcmp(m.msg_type, "registration_notification") == 0 &&
		    e->state == ES_REPLIED)
			engine_registered(s, e);
		else if (strcmp(m.msg_type,
		    "unregistration_notification") == 0 &&
		    e->state != ES_GONE) {
			s->nunreg++;
			engine_lost(s, e, "controller unregistered it");
		}
	}
	ipp_msg_release(&m);
}

static void
start_registrations(struct sim *s, double now)
{
	long allowed = s->n;

	if (s->rate > 0 && s->t_start > 0)
		allowed = (long)((now - s->t_start) * s->rate) + 1;
	connect_hearts(s);
	while (s->next_new < s->n && s->next_new < allowed &&
	    s->inflight + (s->ntoconnect - s->tchead) < s->concurrency &&
	    ask(s, &s->e[s->next_new]) == 0)
		s->next_new++;
}

/* ------------------------------------------------------------- set-up */

static void
raise_fd_limit(struct sim *s)
{
	struct rlimit rl;
	long avail, fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	avail = (long)rl.rlim_cur - FD_RESERVE - s->nreg * 2 - s->n;
	if (avail < 0)
		fatalx("%d engines need more than the %ld descriptors "
		    "RLIMIT_NOFILE allows", s->n, (long)rl.rlim_cur);
	fit = avail / 4;	/* shell: mailbox + mux, task, broadcast */
	if (s->nshells < 0)
		s->nshells = fit < s->n ? (int)fit : s->n;
	else if (s->nshells > fit) {
		fprintf(stderr, "simengines: only %ld shells fit in the "
		    "descriptor limit\n", fit);
		s->nshells = (int)fit;
	}
	if (s->nshells > s->n)
		s->nshells = s->n;
}

static void
resolve_heart(struct sim *s)
{
	struct addrinfo hints, *ai;
	char host[256], port[16];
	const char *p = s->ci.interface;
	int rc;

	if (strncmp(p, "tcp://", 6) != 0)
		fatalx("hearts need a tcp:// interface, not '%s'", p);
	snprintf(host, sizeof(host), "%s", p + 6);
	if (strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	snprintf(port, sizeof(port), "%d", s->ci.hb_pong);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
		fatalx("%s: %s", host, gai_strerror(rc));
	memcpy(&s->hbaddr, ai->ai_addr, ai->ai_addrlen);
	s->hbaddrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static void
setup(struct sim *s, const char *client_file)
{
	struct ipp_conninfo cc;
	char why[256];
	int i;

	if (ipp_session_init(&s->sess, s->ci.key, NULL) == -1)
		fatal("session");
	if ((s->zctx = zmq_ctx_new()) == NULL)
		fatalx("zmq_ctx_new");
	zmq_ctx_set(s->zctx, ZMQ_MAX_SOCKETS, s->nshells + s->nreg + 16);
	zmq_ctx_set(s->zctx, ZMQ_IO_THREADS, 1);
	if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	resolve_heart(s);
	s->ping = tool_socket_port(s->zctx, ZMQ_SUB, &s->ci, s->ci.hb_ping);
	if (client_file != NULL && ipp_conninfo_load(client_file, &cc, why,
	    sizeof(why)) == 0 && cc.notification > 0)
		s->notif = tool_socket_port(s->zctx, ZMQ_SUB, &s->ci,
		    cc.notification);
	else if (!s->quiet)
		fprintf(stderr, "simengines: no client file: registration is "
		    "not confirmed by notifications\n");
	for (i = 0; i < s->nreg; i++)
		s->reg[i] = tool_socket_port(s->zctx, ZMQ_DEALER, &s->ci,
		    s->ci.registration);
	s->e = xcalloc((size_t)s->n, sizeof(*s->e));
	s->npending = s->n;
	s->toconnect = xcalloc((size_t)s->n, sizeof(int));
	if ((s->by_uuid = ipp_map_new()) == NULL)
		fatalx("out of memory");
	for (i = 0; i < s->n; i++) {
		ipp_new_id(s->e[i].uuid, sizeof(s->e[i].uuid));
		s->e[i].hb.fd = -1;
		s->e[i].id = -1;
		if (ipp_map_put(s->by_uuid, s->e[i].uuid, &s->e[i]) == -1)
			fatalx("out of memory");
	}
	/* SUBs join late: give the subscriptions time to reach the PUBs */
	usleep(200000);
}

static void
print_report(struct sim *s, double now)
{
	printf("report t=%.1f asked=%d replied=%ld registered=%ld "
	    "handshaking=%d failed=%ld lost=%ld unregistered=%ld pings=%ld "
	    "requests=%ld\n", s->t_start ? now - s->t_start : 0.0,
	    s->next_new, s->nreplied, s->nregistered, s->handshaking,
	    s->nfailed, s->nlost, s->nunreg, s->pings, s->requests);
}

static void
run(struct sim *s)
{
	struct epoll_event evs[EPOLL_BATCH];
	zmq_pollitem_t items[3 + MAX_REGSOCKS];
	int nitems = 0, i, k, nev, timeout, regdone = 0;
	double now, wake;

	items[nitems++] = (zmq_pollitem_t){ s->ping, 0, ZMQ_POLLIN, 0 };
	items[nitems++] = (zmq_pollitem_t){ NULL, s->ep, ZMQ_POLLIN, 0 };
	if (s->notif != NULL)
		items[nitems++] = (zmq_pollitem_t){ s->notif, 0, ZMQ_POLLIN,
		    0 };
	for (k = 0; k < s->nreg; k++)
		items[nitems++] = (zmq_pollitem_t){ s->reg[k], 0, ZMQ_POLLIN,
		    0 };
	now = ipp_monotonic();
	s->next_report = now + s->report;
	start_registrations(s, now);
	while (!tool_quit) {
		now = ipp_monotonic();
		wake = now + 0.1;
		if (s->report > 0 && s->next_report < wake)
			wake = s->next_report;
		timeout = wake <= now ? 0 : (int)((wake - now) * 1000) + 1;
		if (zmq_poll(items, nitems, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		}
		if (items[0].revents & ZMQ_POLLIN)
			on_ping(s);
		if (items[1].revents & ZMQ_POLLIN) {
			nev = epoll_wait(s->ep, evs, EPOLL_BATCH, 0);
			for (i = 0; i < nev; i++) {
				struct sengine *e = &s->e[evs[i].data.u64 >> 1];

				if (evs[i].data.u64 & 1)
					shell_drain(s, e);
				else
					heart_event(s, e, evs[i].events);
			}
		}
		for (k = nitems - s->nreg; k < nitems; k++)
			if (items[k].revents & ZMQ_POLLIN)
				on_reg_reply(s, k - (nitems - s->nreg));
		if (s->notif != NULL && (items[2].revents & ZMQ_POLLIN))
			on_notification(s);
		now = ipp_monotonic();
		start_registrations(s, now);
		if (s->report > 0 && now >= s->next_report) {
			print_report(s, now);
			s->next_report = now + s->report;
		}
		if (!regdone) {
			if (s->npending == 0 ||
			    (s->t_start > 0 && now - s->t_start > s->timeout)) {
				regdone = 1;
				s->t_phase = now;
				printf("phase steady registered=%ld t=%.3f\n",
				    s->nregistered, now - s->t_start);
			}
		} else if (s->duration > 0 && now - s->t_phase >= s->duration)
			break;
	}
	if (!regdone)
		s->t_phase = ipp_monotonic();
}

static void
teardown(struct sim *s)
{
	int i;

	for (i = 0; i < s->n; i++) {
		heart_close(s, &s->e[i]);
		if (s->e[i].shell != NULL)
			zmq_close(s->e[i].shell);
	}
	for (i = 0; i < s->nreg; i++) {
		zmq_close(s->reg[i]);
		free(s->regq[i].v);
	}
	zmq_close(s->ping);
	if (s->notif != NULL)
		zmq_close(s->notif);
	zmq_ctx_term(s->zctx);
	close(s->ep);
	ipp_map_free(s->by_uuid);
	free(s->e);
	free(s->toconnect);
	ipp_session_release(&s->sess);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		TOOL_CONN_OPTS,
		{ "client-file", required_argument, NULL, 'C' },
		{ "rate", required_argument, NULL, 'r' },
		{ "concurrency", required_argument, NULL, 'j' },
		{ "connects", required_argument, NULL, 'J' },
		{ "shells", required_argument, NULL, 's' },
		{ "reg-sockets", required_argument, NULL, 'k' },
		{ "report", optional_argument, NULL, 'R' },
		{ "duration", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verify", no_argument, NULL, 'V' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sim *s = xcalloc(1, sizeof(*s));
	struct tool_conn conn = { "", NULL, NULL };
	char cfile[1200] = "", *file = conn.file, *p;
	double now, regtime;
	int ch;

	s->n = 1;
	s->nshells = -1;
	s->concurrency = 1000;
	s->maxconnect = 64;
	s->nreg = 4;
	s->timeout = 60;
	while ((ch = getopt_long(argc, argv, "n:hq", opts, NULL)) != -1) {
		if (tool_conn_opt(&conn, ch, optarg))
			continue;
		switch (ch) {
		case 'n':
			s->n = atoi(optarg);
			break;
		case 'C':
			snprintf(cfile, sizeof(cfile), "%s", optarg);
			break;
		case 'r':
			s->rate = atof(optarg);
			break;
		case 'j':
			s->concurrency = atoi(optarg);
			break;
		case 'J':
			s->maxconnect = atoi(optarg);
			break;
		case 's':
			s->nshells = atoi(optarg);
			break;
		case 'k':
			s->nreg = atoi(optarg);
			break;
		case 'R':
			s->report = optarg ? atof(optarg) : 1.0;
			break;
		case 'd':
			s->duration = atof(optarg);
			break;
		case 't':
			s->timeout = atof(optarg);
			break;
		case 'V':
			s->verify = 1;
			break;
		case 'q':
			s->quiet = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || s->n < 1 || s->concurrency < 1 ||
	    s->maxconnect < 1 ||
	    s->nreg < 1 || s->nreg > MAX_REGSOCKS)
		usage();
	if (file[0] == '\0') {
		tool_connfile(&conn, "engine", file, sizeof(conn.file));
		tool_connfile(&conn, "client", cfile, sizeof(cfile));
	} else if (cfile[0] == '\0' && (p = strstr(file, "-engine.json")) !=
	    NULL && strlen(p) == 12)
		snprintf(cfile, sizeof(cfile), "%.*s-client.json",
		    (int)(p - file), file);
	tool_conninfo_load(file, &s->ci);
	if (s->ci.hb_ping == 0 || s->ci.hb_pong == 0)
		fatalx("%s is not an engine connection file", file);
	tool_start("simengines");
	/* hearts are plain sockets: a dead controller must not kill us */
	signal(SIGPIPE, SIG_IGN);

	raise_fd_limit(s);
	setup(s, cfile[0] ? cfile : NULL);
	run(s);

	now = ipp_monotonic();
	regtime = s->t_done > 0 ? s->t_done - s->t_start : -1;
	printf("engines %d\n", s->n);
	printf("shells %d\n", s->nshells);
	printf("confirmed %d\n", s->notif != NULL);
	printf("replied %ld\n", s->nreplied);
	printf("registered_max %ld\n", s->peak);
	printf("registration_s %.3f\n", regtime);
	printf("failed %ld\n", s->nfailed);
	printf("lost %ld\n", s->nlost);
	printf("unregistered %ld\n", s->nunreg);
	printf("still_registered %ld\n", s->nregistered);
	printf("steady_s %.1f\n", now - s->t_phase);
	printf("pings %ld\n", s->pings);
	printf("pongs_dropped %ld\n", s->pongs_dropped);
	printf("requests %ld\n", s->requests);
	printf("replies %ld\n", s->replies);
	printf("bad %ld\n", s->bad);
	tool_print_cpu();
	if (regtime >= 0)
		printf("simengines: %d of %d engines registered in %.2f s; "
		    "%ld still registered after %.1f s\n", s->n, s->n,
		    regtime, s->nregistered, now - s->t_phase);
	else
		printf("simengines: %ld of %d engines registered (not all "
		    "within %.0f s); %ld still registered after %.1f s\n",
		    s->peak, s->n, s->timeout, s->nregistered,
		    now - s->t_phase);
	teardown(s);
	free(s);
	return 0;
}
