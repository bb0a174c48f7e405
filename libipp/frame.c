/*
 * frame.c - the framing layer: whole ZeroMQ multipart messages as arrays of
 * zmq_msg_t, and the one structural rule of the Jupyter wire format that
 * does not need JSON: routing identities, then the 9-byte "<IDS|MSG>"
 * delimiter, then at least five parts (signature, header, parent,
 * metadata, content), then any number of raw buffers.
 *
 * Parts stay zmq_msg_t so a relay (hubd's mux, a scheduler) forwards large
 * buffers by reference without copying them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipp.h"

/*
 * ZMQ_ZERO_COPY_RECV is a context option of libzmq's draft API (4.3),
 * which Debian's libzmq5 is built with; zmq.h shows it only to builds
 * that ask for drafts, hence the number.  With it off, a part that fits
 * in the receive batch is copied into a block of its own size (one
 * memcpy of under 8 KiB); larger parts are read into their own block
 * either way, so big buffers still travel without a copy.  A libzmq
 * without the option refuses it, and we carry on with its default.
 */
#define ZERO_COPY_RECV	10

void *
ipp_zctx_new(void)
{
	void *ctx;
	int off = 0;

	if ((ctx = zmq_ctx_new()) == NULL)
		return NULL;
	if (zmq_ctx_set(ctx, ZERO_COPY_RECV, off) == -1)
		log_debug("libzmq keeps zero-copy receive: %s",
		    zmq_strerror(errno));
	return ctx;
}

void
ipp_frames_init(struct ipp_frames *fr)
{
	fr->f = NULL;
	fr->n = 0;
	fr->cap = 0;
}

void
ipp_frames_clear(struct ipp_frames *fr)
{
	int i;

	for (i = 0; i < fr->n; i++)
		zmq_msg_close(&fr->f[i]);
	fr->n = 0;
}

void
ipp_frames_release(struct ipp_frames *fr)
{
	ipp_frames_clear(fr);
	free(fr->f);
	ipp_frames_init(fr);
}

static int
frames_grow(struct ipp_frames *fr, int want)
{
	zmq_msg_t *nf;
	int ncap;

	if (want > IPP_MAX_FRAMES) {
		errno = E2BIG;
		return -1;
	}
	if (want <= fr->cap)
		return 0;
	/*
	 * 15 parts (960 bytes) fit most messages and stay below glibc's
	 * large-chunk size: a request of 1 KiB or more makes malloc
	 * consolidate its fast bins, which showed up as a quarter of hubd's
	 * time per message.
	 */
	ncap = fr->cap ? fr->cap : 15;
	while (ncap < want)
		ncap *= 2;
	if (ncap > IPP_MAX_FRAMES)
		ncap = IPP_MAX_FRAMES;
	if ((nf = realloc(fr->f, (size_t)ncap * sizeof(*nf))) == NULL)
		return -1;
	fr->f = nf;
	fr->cap = ncap;
	return 0;
}

/*
 * A message that exceeds IPP_MAX_FRAMES is drained to its end and
 * reported as E2BIG, so the next receive starts at a message boundary.
 */
int
ipp_frames_recv(void *sock, struct ipp_frames *fr, int flags)
{
	int more, err = 0;
	size_t sz;

	ipp_frames_clear(fr);
	do {
		zmq_msg_t tmp, *m;

		if (err == 0 && frames_grow(fr, fr->n + 1) == -1)
			err = errno;
		m = err == 0 ? &fr->f[fr->n] : &tmp;
		zmq_msg_init(m);
		if (zmq_msg_recv(m, sock, flags) == -1) {
			int e = errno;

			zmq_msg_close(m);
			if (fr->n == 0 || e != EINTR) {
				ipp_frames_clear(fr);
				errno = e;
				return -1;
			}
			/* interrupted mid-message: the rest is queued, go on */
			continue;
		}
		flags &= ~ZMQ_DONTWAIT;	/* the rest of a message is already here */
		sz = sizeof(more);
		more = 0;
		zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
		if (m == &tmp)
			zmq_msg_close(&tmp);
		else
			fr->n++;
	} while (more);
	if (err != 0) {
		ipp_frames_clear(fr);
		errno = err;
		return -1;
	}
	ipp_trace("in", sock, fr, 0);
	return fr->n;
}

int
ipp_frames_send(void *sock, struct ipp_frames *fr, int from, int flags)
{
	int i, rc = 0, e = 0;

	ipp_trace("out", sock, fr, from);
	for (i = from; i < fr->n; i++) {
		int fl = flags | (i + 1 < fr->n ? ZMQ_SNDMORE : 0);

		if (rc == 0 && zmq_msg_send(&fr->f[i], sock, fl) == -1) {
			rc = -1;
			e = errno;
		}
	}
	ipp_frames_clear(fr);
	if (rc == -1)
		errno = e;
	return rc;
}

int
ipp_frames_add(struct ipp_frames *fr, const void *data, size_t len)
{
	return ipp_frames_insert(fr, fr->n, data, len);
}

int
ipp_frames_insert(struct ipp_frames *fr, int at, const void *data, size_t len)
{
	zmq_msg_t m;

	if (at < 0 || at > fr->n) {
		errno = EINVAL;
		return -1;
	}
	if (frames_grow(fr, fr->n + 1) == -1)
		return -1;
	if (zmq_msg_init_size(&m, len) == -1)
		return -1;
	if (len > 0)
		memcpy(zmq_msg_data(&m), data, len);
	memmove(&fr->f[at + 1], &fr->f[at], (size_t)(fr->n - at) * sizeof(m));
	fr->f[at] = m;
	fr->n++;
	return 0;
}

int
ipp_frames_add_msg(struct ipp_frames *fr, zmq_msg_t *shared)
{
	if (frames_grow(fr, fr->n + 1) == -1)
		return -1;
	zmq_msg_init(&fr->f[fr->n]);
	if (zmq_msg_copy(&fr->f[fr->n], shared) == -1) {
		zmq_msg_close(&fr->f[fr->n]);
		return -1;
	}
	fr->n++;
	return 0;
}

void
ipp_frames_remove(struct ipp_frames *fr, int at)
{
	if (at < 0 || at >= fr->n)
		return;
	zmq_msg_close(&fr->f[at]);
	memmove(&fr->f[at], &fr->f[at + 1],
	    (size_t)(fr->n - at - 1) * sizeof(fr->f[0]));
	fr->n--;
}

void
ipp_frames_swap(struct ipp_frames *fr, int a, int b)
{
	zmq_msg_t t;

	if (a < 0 || b < 0 || a >= fr->n || b >= fr->n)
		return;
	t = fr->f[a];
	fr->f[a] = fr->f[b];
	fr->f[b] = t;
}

int
ipp_frames_delim(const struct ipp_frames *fr)
{
	int i;

	for (i = 0; i < fr->n && i <= IPP_MAX_IDS; i++) {
		if (zmq_msg_size(&fr->f[i]) == IPP_DELIM_LEN &&
		    memcmp(zmq_msg_data((zmq_msg_t *)&fr->f[i]), IPP_DELIM,
		    IPP_DELIM_LEN) == 0) {
			if (fr->n - i - 1 < 5)
				break;
			return i;
		}
	}
	errno = EPROTO;
	return -1;
}
