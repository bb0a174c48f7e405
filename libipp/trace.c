/*
 * trace.c - the message printer: one line per message a program sends or
 * receives, at --log-level=debug.
 *
 * Every multipart message of hubd, engined, ippfs and launch passes
 * through ipp_frames_recv() or ipp_frames_send() (frame.c), which call
 * ipp_trace() here; so one printer traces every program the same way:
 *
 *   msg in  ROUTER tcp://127.0.0.1:40123 execute_request id=ID parent=PID
 *	 ids=2 parts=9 bytes=1234
 *
 * The message type and ids are read through the codec, which knows
 * where each part lies (ipp_msg_locate, ipp_msg_peek: top-level string
 * values, no JSON tree), and nothing at all is done unless debug logging
 * is on, so the relay paths pay one comparison.  A multipart message
 * without the "<IDS|MSG>" delimiter (a heartbeat, a topic probe) is
 * printed as "raw" with its sizes.
 */
#include <string.h>

#include "ipp.h"

/* Printable name of a socket type, for the trace line. */
static const char *
sock_type(void *sock)
{
	static const char *const names[] = {
		[ZMQ_PAIR] = "PAIR", [ZMQ_PUB] = "PUB", [ZMQ_SUB] = "SUB",
		[ZMQ_REQ] = "REQ", [ZMQ_REP] = "REP", [ZMQ_DEALER] = "DEALER",
		[ZMQ_ROUTER] = "ROUTER", [ZMQ_PULL] = "PULL",
		[ZMQ_PUSH] = "PUSH", [ZMQ_XPUB] = "XPUB", [ZMQ_XSUB] = "XSUB",
	};
	int type = -1;
	size_t sz = sizeof(type);

	if (zmq_getsockopt(sock, ZMQ_TYPE, &type, &sz) == -1 || type < 0 ||
	    (size_t)type >= sizeof(names) / sizeof(names[0]) ||
	    names[type] == NULL)
		return "?";
	return names[type];
}

/* A top-level string of part i (0 header, 1 parent) of m, or "-". */
static void
peek(const struct ipp_msg *m, int i, const char *key, char *out,
    size_t outlen)
{
	if (ipp_msg_peek(m, i, key, out, outlen) == -1)
		snprintf(out, outlen, "-");
}

int
ipp_trace_on(void)
{
	return log_getlevel() <= LOG_LVL_DEBUG;
}

void
ipp_trace(const char *dir, void *sock, const struct ipp_frames *fr, int from)
{
	char ep[128] = "", type[64], id[128], parent[128];
	size_t sz = sizeof(ep), bytes = 0;
	struct ipp_msg m;
	int i;

	if (!ipp_trace_on())
		return;
	m = (struct ipp_msg){ .fr = *fr };	/* a view: fr stays the caller's */
	if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &sz) == -1 ||
	    ep[0] == '\0')
		snprintf(ep, sizeof(ep), "-");
	for (i = from; i < fr->n; i++)
		bytes += ipp_frame_len(fr, i);
	if (ipp_msg_locate(&m) == -1 || m.nids < from) {
		log_debug("msg %-3s %s %s raw parts=%d bytes=%zu", dir,
		    sock_type(sock), ep, fr->n - from, bytes);
		return;
	}
	peek(&m, 0, "msg_type", type, sizeof(type));
	peek(&m, 0, "msg_id", id, sizeof(id));
	peek(&m, 1, "msg_id", parent, sizeof(parent));
	log_debug("msg %-3s %s %s %s id=%s parent=%s ids=%d parts=%d "
	    "bytes=%zu", dir, sock_type(sock), ep, type, id, parent,
	    m.nids - from, fr->n - from, bytes);
}
