/*
 * zpoll.c - waiting for ZeroMQ sockets with poll(2) on their ZMQ_FDs.
 *
 * zmq_poll asks every socket for ZMQ_EVENTS before and after it sleeps,
 * a poll(2) and a getpid each: with a dozen sockets that was ~50 system
 * calls per loop turn in hubd and most of ippfs's per task, more than the
 * messages themselves cost.  So the daemons poll the sockets' ZMQ_FDs
 * themselves, beside their other fds, and this file keeps the rules that
 * makes that correct.
 *
 * ZMQ_FD is edge-like: it says that commands reached the socket, and
 * libzmq consumes that signal in any call on the socket.  Hence:
 *   - a socket is drained until EAGAIN (then its next message signals
 *     again), or stays "ready" when a turn stops early;
 *   - a socket sent on is asked for ZMQ_EVENTS before the loop sleeps
 *     (ipp_zpoll_idle), as the send may have taken the signal of a
 *     message that arrived meanwhile: callers report sends with
 *     ipp_zpoll_sent;
 *   - every sweep_ms all sockets are asked, so that a signal lost any
 *     other way (a receive cut short by a signal) costs a delay, never a
 *     hang.
 */
#include <errno.h>
#include <string.h>

#include "ipp.h"

int
ipp_zpoll_init(struct ipp_zpoll *zp, void *const *socks, int n,
    struct pollfd *pfd, int sweep_ms)
{
	size_t len;
	int i, fd[IPP_ZPOLL_MAX];

	if (n < 0 || n > IPP_ZPOLL_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		len = sizeof(fd[i]);
		if (zmq_getsockopt(socks[i], ZMQ_FD, &fd[i], &len) == -1)
			return -1;
	}
	memset(zp, 0, sizeof(*zp));
	zp->n = n;
	zp->pfd = pfd;
	zp->sweep = sweep_ms / 1e3;
	for (i = 0; i < n; i++) {
		zp->socks[i] = socks[i];
		zp->ready[i] = 1;	/* nothing is known yet: look */
		pfd[i].fd = fd[i];
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	return 0;
}

void
ipp_zpoll_sent(struct ipp_zpoll *zp, const void *sock)
{
	int i;

	for (i = 0; i < zp->n; i++)
		if (zp->socks[i] == sock) {
			zp->sent[i] = 1;
			return;
		}
}

double
ipp_zpoll_next_sweep(const struct ipp_zpoll *zp)
{
	return zp->sweep > 0 ? zp->swept + zp->sweep : 1e300;
}

int
ipp_zpoll_idle(struct ipp_zpoll *zp, double now)
{
	uint32_t ev;
	size_t len;
	int i, all = 0, idle = 1;

	if (zp->sweep > 0 && now >= zp->swept + zp->sweep) {
		all = 1;
		zp->swept = now;
	}
	for (i = 0; i < zp->n; i++) {
		if ((zp->sent[i] || all) && !zp->ready[i]) {
			len = sizeof(ev);
			if (zmq_getsockopt(zp->socks[i], ZMQ_EVENTS, &ev,
			    &len) == 0 && (ev & ZMQ_POLLIN))
				zp->ready[i] = 1;
		}
		zp->sent[i] = 0;
		if (zp->ready[i])
			idle = 0;
	}
	return idle;
}

int
ipp_zpoll_pending(const struct ipp_zpoll *zp, int i)
{
	return zp->ready[i] || (zp->pfd[i].revents & POLLIN);
}

void
ipp_zpoll_drained(struct ipp_zpoll *zp, int i, int more)
{
	zp->ready[i] = more != 0;
}

void
ipp_zpoll_clear(struct ipp_zpoll *zp)
{
	int i;

	for (i = 0; i < zp->n; i++)
		zp->pfd[i].revents = 0;
}
