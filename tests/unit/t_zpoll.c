/*
 * t_zpoll.c - libipp's ZMQ_FD poll set (zpoll.c): the rules that keep an
 * edge-like ZMQ_FD from losing a message.  A message whose signal was
 * taken by a send on the same socket must still be found before the loop
 * sleeps: by the sent mark, or at the latest by the sweep.
 */
#include <errno.h>
#include <string.h>

#include "ipp.h"
#include "tap.h"

/* Wait (bounded) until sock's ZMQ_FD fires; does not consume the signal. */
static int
fd_fires(struct pollfd *p)
{
	return poll(p, 1, 2000) == 1 && (p->revents & POLLIN);
}

static int
recv_all(void *sock)
{
	char buf[16];
	int n = 0;

	while (zmq_recv(sock, buf, sizeof(buf), ZMQ_DONTWAIT) >= 0)
		n++;
	return n;
}

/*
 * a sends to b; once b's fd has fired, b sends to a, which takes the
 * signal: b now holds a message its fd need not announce again.  The poll
 * set is not told of the fd firing: only the sent mark or the sweep may
 * find the message.
 */
static void
hide_message(void *a, void *b, struct pollfd *bfd)
{
	struct pollfd p = *bfd;

	zmq_send(a, "x", 1, 0);
	ok(fd_fires(&p), "the message's arrival fires b's fd");
	zmq_send(b, "y", 1, 0);
	recv_all(a);
	/* usually b's fd is quiet now; libzmq does not promise it either way */
	p = *bfd;
	p.revents = 0;
	if (poll(&p, 1, 0) != 0)
		diag("b's fd still fires after its send");
}

int
main(void)
{
	void *ctx = zmq_ctx_new(), *a, *b, *socks[IPP_ZPOLL_MAX + 1];
	struct pollfd pfd[IPP_ZPOLL_MAX + 1];
	struct ipp_zpoll zp;
	double now = ipp_monotonic();
	int i;

	a = zmq_socket(ctx, ZMQ_PAIR);
	b = zmq_socket(ctx, ZMQ_PAIR);
	zmq_bind(a, "inproc://t_zpoll");
	zmq_connect(b, "inproc://t_zpoll");
	for (i = 0; i <= IPP_ZPOLL_MAX; i++)
		socks[i] = b;

	errno = 0;
	ok(ipp_zpoll_init(&zp, socks, IPP_ZPOLL_MAX + 1, pfd, 0) == -1 &&
	    errno == EINVAL, "more than IPP_ZPOLL_MAX sockets: EINVAL");

	ok(ipp_zpoll_init(&zp, socks, 1, pfd, 50) == 0, "init");
	ok(pfd[0].events == POLLIN && pfd[0].fd >= 0, "pfd filled");
	ok(!ipp_zpoll_idle(&zp, now), "every socket starts ready");
	ok(ipp_zpoll_pending(&zp, 0), "so it is read first");
	is_int(recv_all(b), 0, "nothing there");
	ipp_zpoll_drained(&zp, 0, 0);
	ok(ipp_zpoll_idle(&zp, now), "drained: idle");
	ok(!ipp_zpoll_pending(&zp, 0), "nothing pending without revents");

	zmq_send(a, "x", 1, 0);
	ok(poll(pfd, 1, 2000) == 1, "a message wakes poll");
	ok(ipp_zpoll_pending(&zp, 0), "and makes the socket pending");
	is_int(recv_all(b), 1, "one message read");
	ipp_zpoll_drained(&zp, 0, 0);
	ipp_zpoll_clear(&zp);
	ok(!ipp_zpoll_pending(&zp, 0), "clear forgets revents");

	hide_message(a, b, &pfd[0]);
	ipp_zpoll_sent(&zp, b);
	ok(!ipp_zpoll_idle(&zp, now + 0.01), "a socket sent on is asked: "
	    "the hidden message is found");
	ok(ipp_zpoll_pending(&zp, 0), "and read");
	is_int(recv_all(b), 1, "one message read");
	ipp_zpoll_drained(&zp, 0, 0);

	hide_message(a, b, &pfd[0]);
	ok(ipp_zpoll_idle(&zp, now + 0.02), "not reported sent, before the "
	    "sweep: not seen");
	ok(ipp_zpoll_next_sweep(&zp) <= now + 0.05 + 1e-9,
	    "next sweep within sweep_ms");
	ok(!ipp_zpoll_idle(&zp, now + 0.06), "the sweep finds it");
	is_int(recv_all(b), 1, "one message read");
	ipp_zpoll_drained(&zp, 0, 0);
	ok(ipp_zpoll_idle(&zp, now + 0.07), "idle again");

	ok(ipp_zpoll_init(&zp, socks, 1, pfd, 0) == 0 &&
	    ipp_zpoll_next_sweep(&zp) > now + 1e6, "sweep_ms 0: no sweep");

	zmq_close(a);
	zmq_close(b);
	zmq_ctx_term(ctx);
	return tap_done();
}
