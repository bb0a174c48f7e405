/*
 * t_trace.c - libipp's message printer (trace.c): the line each message
 * sent or received gets at debug level, read through the codec's view of
 * the parts.  Messages go out through a real socket pair with routing
 * ids, from the first part and from a later one (as a relay sends), and
 * as raw multipart without a delimiter; the lines are read back from the
 * log file.  tests/t0130 follows one message through every program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipp.h"
#include "tap.h"
#include "libipp_test.h"

/* The log's lines since offset *off, into buf; moves *off on. */
static void
read_log(const char *path, long *off, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (fp == NULL)
		return;
	if (fseek(fp, *off, SEEK_SET) == 0)
		n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
	*off += (long)n;
	fclose(fp);
}

int
main(void)
{
	char path[] = "/tmp/t_trace.XXXXXX", log[4096], want[256];
	struct ipp_session s;
	struct ipp_frames fr;
	struct ipp_buf ids[2] = { { "engine-1", 8 }, { "client-2", 8 } };
	json_t *parent = json_pack("{s:s}", "msg_id", "P1");
	void *ctx = zmq_ctx_new(), *a = zmq_socket(ctx, ZMQ_PAIR),
	    *b = zmq_socket(ctx, ZMQ_PAIR);
	long off = 0;
	int fd;

	if ((fd = mkstemp(path)) == -1)
		fatal("mkstemp");
	close(fd);
	if (zmq_bind(a, "inproc://t_trace") == -1 ||
	    zmq_connect(b, "inproc://t_trace") == -1)
		fatal("zmq inproc");
	if (ipp_session_init(&s, "k", "sess") == -1)
		fatal("session");
	ipp_frames_init(&fr);

	/* nothing at all below debug */
	log_init("t_trace", LOG_LVL_INFO, path);
	ok(!ipp_trace_on(), "no trace at info level");
	ipp_msg_build(&s, &fr, ids, 2, "apply_request", NULL, parent, NULL,
	    NULL);
	ipp_frames_send(a, &fr, 0, 0);
	ipp_frames_recv(b, &fr, 0);
	ipp_frames_clear(&fr);
	read_log(path, &off, log, sizeof(log));
	is_str(log, "", "an info-level log has no message lines");

	log_setlevel(LOG_LVL_DEBUG);
	ok(ipp_trace_on(), "trace at debug level");
	ipp_msg_build(&s, &fr, ids, 2, "apply_request", NULL, parent, NULL,
	    json_pack("{s:i}", "x", 1));
	ipp_frames_add(&fr, "buffer", 6);
	ipp_frames_send(a, &fr, 0, 0);
	ipp_frames_recv(b, &fr, 0);
	read_log(path, &off, log, sizeof(log));
	ok(strstr(log, "msg out PAIR inproc://t_trace apply_request id=") !=
	    NULL && strstr(log, " parent=P1 ids=2 parts=9 bytes=") != NULL,
	    "sent: type, ids, parts");
	ok(strstr(log, "msg in  PAIR inproc://t_trace apply_request id=") !=
	    NULL, "received: the same type");
	ok(strstr(log, "id=- ") == NULL, "the message's id is read");

	/* a relay sends from its second part: one routing id goes */
	ipp_frames_send(b, &fr, 1, 0);
	ipp_frames_recv(a, &fr, 0);
	read_log(path, &off, log, sizeof(log));
	ok(strstr(log, " parent=P1 ids=1 parts=8 bytes=") != NULL,
	    "sent from part 1: ids and parts counted from there");
	ipp_frames_clear(&fr);

	/* no delimiter, or one with fewer than 5 parts after it: raw */
	add_str(&fr, "ping");
	ipp_frames_send(a, &fr, 0, 0);
	ipp_frames_recv(b, &fr, 0);
	ipp_frames_clear(&fr);
	make_frames(&fr, 1, 4);
	ipp_frames_send(a, &fr, 0, 0);
	ipp_frames_recv(b, &fr, 0);
	ipp_frames_clear(&fr);
	read_log(path, &off, log, sizeof(log));
	snprintf(want, sizeof(want), "msg out PAIR inproc://t_trace raw "
	    "parts=1 bytes=4");
	ok(strstr(log, want) != NULL, "a frame without delimiter is raw");
	ok(strstr(log, "raw parts=6 ") != NULL,
	    "a delimiter with 4 parts after it is raw");

	/* parts that are not JSON objects: "-" for what cannot be read */
	make_frames(&fr, 0, 5);
	ipp_frames_send(a, &fr, 0, 0);
	ipp_frames_recv(b, &fr, 0);
	ipp_frames_clear(&fr);
	read_log(path, &off, log, sizeof(log));
	ok(strstr(log, " - id=- parent=- ids=0 parts=6 ") != NULL,
	    "unreadable header and parent print as -");

	log_init("t_trace", LOG_LVL_INFO, NULL);
	unlink(path);
	json_decref(parent);
	ipp_frames_release(&fr);
	ipp_session_release(&s);
	zmq_close(a);
	zmq_close(b);
	zmq_ctx_term(ctx);
	return tap_done();
}
