/*
 * heart.c - simengines' hearts: one plain TCP connection per simulated
 * engine to the controller's hb_pong, speaking the ZMTP 3.0 handshake as
 * a DEALER and echoing every ping that arrives on the one hb_ping SUB.
 * Also an engine's registered/lost transitions, which the heart decides
 * when no notification socket confirms them.  See tools/simengines.c
 * for why hearts are not libzmq sockets, and tools/sim/sim.h.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipp.h"
#include "../lib/common.h"
#include "sim.h"

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

void
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

void
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

void
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

int
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

void
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
void
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
