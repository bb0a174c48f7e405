/*
 * t_frame.c - unit tests of libipp's framing (frame.c): the
 * delimiter search and part-count rules, and whole multipart messages
 * through a real socket pair.  One of the libipp unit tests split by theme
 * (libipp_test.h has their shared helpers; the jupyter_client interop
 * side is tests/t0100-jupyter-client-crosscheck.sh).  Runs under valgrind
 * too; every resource it takes is given back.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipp.h"
#include "tap.h"
#include "libipp_test.h"

static void
test_frames(void)
{
	struct ipp_frames fr;
	zmq_msg_t zm;
	int i, d, bad = 0;

	ipp_frames_init(&fr);

	for (i = 0; i <= IPP_MAX_IDS; i++) {
		make_frames(&fr, i, 5);
		if ((d = ipp_frames_delim(&fr)) != i) {
			diag("%d identities: delimiter at %d", i, d);
			bad++;
		}
	}
	ok(bad == 0, "delimiter found after 0..%d identities", IPP_MAX_IDS);

	make_frames(&fr, IPP_MAX_IDS + 1, 5);
	errno = 0;
	ok(ipp_frames_delim(&fr) == -1 && errno == EPROTO,
	    "more than IPP_MAX_IDS identities: EPROTO");

	make_frames(&fr, 2, 4);
	errno = 0;
	ok(ipp_frames_delim(&fr) == -1 && errno == EPROTO,
	    "exactly 4 parts after the delimiter: EPROTO");
	make_frames(&fr, 0, 4);
	errno = 0;
	ok(ipp_frames_delim(&fr) == -1 && errno == EPROTO,
	    "4 parts after a leading delimiter: EPROTO");
	make_frames(&fr, 3, 0);
	errno = 0;
	ok(ipp_frames_delim(&fr) == -1 && errno == EPROTO,
	    "delimiter as the last part: EPROTO");
	make_frames(&fr, 1, 6);
	is_int(ipp_frames_delim(&fr), 1,
	    "6 parts after the delimiter (a buffer)");

	ipp_frames_clear(&fr);
	errno = 0;
	ok(ipp_frames_delim(&fr) == -1 && errno == EPROTO,
	    "empty message: EPROTO");
	for (i = 0; i < 7; i++)
		add_str(&fr, "x");
	errno = 0;
	ok(ipp_frames_delim(&fr) == -1 && errno == EPROTO,
	    "no delimiter at all: EPROTO");

	/* near misses must not be taken for the delimiter */
	ipp_frames_clear(&fr);
	add_str(&fr, "<IDS|MSX>");
	add_str(&fr, "<IDS|MSG>x");
	add_str(&fr, "<IDS|MSG");
	add_str(&fr, IPP_DELIM);
	for (i = 0; i < 5; i++)
		add_str(&fr, "p");
	is_int(ipp_frames_delim(&fr), 3, "near-miss identities are skipped");

	/* receivers split at the first delimiter, as feed_identities does */
	make_frames(&fr, 1, 5);
	add_str(&fr, IPP_DELIM);
	add_str(&fr, "p");
	is_int(ipp_frames_delim(&fr), 1, "the first delimiter wins");

	/* editing operations */
	make_frames(&fr, 0, 2);		/* DELIM p0 p1 */
	ok(ipp_frames_insert(&fr, 0, "zero", 4) == 0 &&
	    frame_is(&fr, 0, "zero", 4) && frame_is(&fr, 1, IPP_DELIM,
	    IPP_DELIM_LEN) && fr.n == 4, "insert at 0 shifts the rest");
	ok(ipp_frames_insert(&fr, fr.n, "", 0) == 0 && frame_is(&fr, 4, "", 0),
	    "insert an empty part at the end");
	errno = 0;
	ok(ipp_frames_insert(&fr, fr.n + 1, "x", 1) == -1 && errno == EINVAL &&
	    fr.n == 5, "insert past the end: EINVAL, unchanged");
	errno = 0;
	ok(ipp_frames_insert(&fr, -1, "x", 1) == -1 && errno == EINVAL,
	    "insert at -1: EINVAL");
	ipp_frames_swap(&fr, 0, 2);
	ok(frame_is(&fr, 0, "p0", 2) && frame_is(&fr, 2, "zero", 4),
	    "swap exchanges two parts");
	ipp_frames_swap(&fr, 0, 99);	/* ignored */
	ipp_frames_remove(&fr, 1);
	ok(fr.n == 4 && frame_is(&fr, 0, "p0", 2) && frame_is(&fr, 1, "zero",
	    4) && frame_is(&fr, 2, "p1", 2), "remove closes the gap");
	ipp_frames_remove(&fr, 99);
	is_int(fr.n, 4, "remove out of range is ignored");

	/* add_msg shares the data of a zmq_msg_t the caller keeps */
	if (zmq_msg_init_size(&zm, 100000) == -1)
		fatal("zmq_msg_init_size");
	memset(zmq_msg_data(&zm), 'b', 100000);
	ok(ipp_frames_add_msg(&fr, &zm) == 0 && fr.n == 5 &&
	    ipp_frame_len(&fr, 4) == 100000 &&
	    ((const char *)ipp_frame_data(&fr, 4))[99999] == 'b',
	    "add_msg appends a shared part");
	zmq_msg_close(&zm);
	ok(((const char *)ipp_frame_data(&fr, 4))[0] == 'b',
	    "shared part outlives the caller's reference");

	/* growth well past the initial capacity */
	ipp_frames_clear(&fr);
	for (i = 0; i < 1000; i++)
		if (ipp_frames_add(&fr, &i, sizeof(i)) == -1)
			break;
	ok(fr.n == 1000 && *(const int *)ipp_frame_data(&fr, 999) == 999,
	    "1000 parts");
	ipp_frames_clear(&fr);
	ok(fr.n == 0 && fr.cap >= 1000, "clear keeps the storage");
	ipp_frames_release(&fr);
	ok(fr.f == NULL && fr.n == 0 && fr.cap == 0, "release empties");
}

/* Whole multipart messages through a real socket pair. */
static void
test_frames_io(void)
{
	struct ipp_frames fr;
	void *ctx, *a, *b;
	char *big;
	int i, rc;

	ctx = zmq_ctx_new();
	a = zmq_socket(ctx, ZMQ_PAIR);
	b = zmq_socket(ctx, ZMQ_PAIR);
	if (zmq_bind(a, "inproc://t_frame") == -1 ||
	    zmq_connect(b, "inproc://t_frame") == -1)
		fatal("zmq inproc");
	ipp_frames_init(&fr);
	big = xmalloc(1 << 20);
	memset(big, 'z', 1 << 20);

	add_str(&fr, "one");
	ipp_frames_add(&fr, "", 0);
	ipp_frames_add(&fr, big, 1 << 20);
	add_str(&fr, "skipped");
	ipp_frames_swap(&fr, 0, 3);	/* "skipped" first, sent from 1 */
	rc = ipp_frames_send(a, &fr, 1, 0);
	ok(rc == 0 && fr.n == 0, "send from part 1; frames empty after");
	rc = ipp_frames_recv(b, &fr, 0);
	ok(rc == 3 && frame_is(&fr, 0, "", 0) && frame_is(&fr, 1, big,
	    1 << 20) && frame_is(&fr, 2, "one", 3),
	    "recv gets the 3 parts sent");
	errno = 0;
	ok(ipp_frames_recv(b, &fr, ZMQ_DONTWAIT) == -1 && errno == EAGAIN &&
	    fr.n == 0, "recv with nothing queued: EAGAIN, empty frames");

	/*
	 * One part over IPP_MAX_FRAMES: E2BIG, and the whole message is
	 * drained so that the next receive starts at the following one.
	 */
	for (i = 0; i <= IPP_MAX_FRAMES; i++)
		zmq_send(a, "f", 1, i < IPP_MAX_FRAMES ? ZMQ_SNDMORE : 0);
	zmq_send(a, "next", 4, 0);
	errno = 0;
	ok(ipp_frames_recv(b, &fr, 0) == -1 && errno == E2BIG && fr.n == 0,
	    "message of IPP_MAX_FRAMES+1 parts: E2BIG");
	ok(ipp_frames_recv(b, &fr, 0) == 1 && frame_is(&fr, 0, "next", 4),
	    "the next message is received whole after E2BIG");

	for (i = 0; i < IPP_MAX_FRAMES; i++)
		zmq_send(a, "f", 1, i + 1 < IPP_MAX_FRAMES ? ZMQ_SNDMORE : 0);
	is_int(ipp_frames_recv(b, &fr, 0), IPP_MAX_FRAMES,
	    "message of exactly IPP_MAX_FRAMES parts is accepted");

	free(big);
	ipp_frames_release(&fr);
	zmq_close(a);
	zmq_close(b);
	zmq_ctx_term(ctx);
}

/*
 * Small parts received from TCP, kept: how many sit right after the one
 * received before them (its 100 bytes and the 2-byte frame header of the
 * next), that is, inside one of libzmq's receive batches.
 */
static int
adjacent_parts(void *ctx)
{
	enum { N = 64, LEN = 100 };
	zmq_msg_t m[N];
	char ep[64], buf[LEN];
	size_t eplen = sizeof(ep);
	void *in, *out;
	int i, n = 0, adjacent = 0;

	in = zmq_socket(ctx, ZMQ_PULL);
	out = zmq_socket(ctx, ZMQ_PUSH);
	if (zmq_bind(in, "tcp://127.0.0.1:*") == -1 ||
	    zmq_getsockopt(in, ZMQ_LAST_ENDPOINT, ep, &eplen) == -1 ||
	    zmq_connect(out, ep) == -1)
		fatal("zmq tcp");
	memset(buf, 'p', sizeof(buf));
	for (i = 0; i < N; i++)
		zmq_send(out, buf, sizeof(buf), 0);
	for (n = 0; n < N; n++) {
		zmq_msg_init(&m[n]);
		if (zmq_msg_recv(&m[n], in, 0) != LEN)
			break;
	}
	for (i = 1; i < n; i++)
		if ((char *)zmq_msg_data(&m[i]) - (char *)zmq_msg_data(&m[i - 1])
		    == LEN + 2)
			adjacent++;
	for (i = 0; i < n && i < N; i++)
		zmq_msg_close(&m[i]);
	if (n < N)
		zmq_msg_close(&m[n]);
	zmq_close(in);
	zmq_close(out);
	return n == N ? adjacent : -1;
}

/*
 * ipp_zctx_new: a small part kept holds only its own block, not the
 * receive batch of every part decoded with it.  The same count on a
 * plain context shows the check can see sharing at all.
 */
static void
test_zctx(void)
{
	void *plain = zmq_ctx_new(), *ours = ipp_zctx_new();
	int shared, own;

	ok(ours != NULL, "ipp_zctx_new makes a context");
	/* ZMQ_ZERO_COPY_RECV (10) is draft API: a libzmq without it
	 * keeps its default, and there is nothing to check */
	if (zmq_ctx_get(ours, 10) == -1) {
		ok(1, "# SKIP libzmq has no ZMQ_ZERO_COPY_RECV");
		ok(1, "# SKIP libzmq has no ZMQ_ZERO_COPY_RECV");
		zmq_ctx_term(plain);
		zmq_ctx_term(ours);
		return;
	}
	shared = adjacent_parts(plain);
	own = adjacent_parts(ours);
	ok(shared > 0, "plain context: kept parts share a batch (%d of 63)",
	    shared);
	is_int(own, 0, "ipp_zctx_new: no kept part shares a batch");
	zmq_ctx_term(plain);
	zmq_ctx_term(ours);
}

int
main(void)
{
	test_frames();
	test_frames_io();
	test_zctx();
	return tap_done();
}
