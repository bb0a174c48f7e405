/*
 * shell.c - simengines' shells: the ROUTER of each of the first --shells
 * engines, connected to mux, task and a broadcast port, answering
 * execute_request and apply_request like an ipengine whose code does
 * nothing.  The shells' ZMQ_FDs sit in the epoll set that the loop in
 * tools/simengines.c watches; tools/sim/sim.h has the shared state.
 */
#include <sys/types.h>
#include <sys/epoll.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipp.h"
#include "../lib/common.h"
#include "sim.h"

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
	struct ipp_frames *out = &s->out;
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
	    !ipp_is_request(type)) {
		s->bad++;
		return;
	}
	s->requests++;
	/* rtype is longer than type: it fits */
	(void)ipp_reply_type(type, rtype, sizeof(rtype));
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

	ipp_frames_clear(out);
	for (i = 0; i < d; i++)
		if (ipp_frames_add_msg(out, &fr->f[i]) == -1)
			goto fail;
	if (ipp_frames_add(out, IPP_DELIM, IPP_DELIM_LEN) == -1 ||
	    ipp_frames_add(out, sig, strlen(sig)) == -1 ||
	    ipp_frames_add(out, hdr, lens[0]) == -1 ||
	    ipp_frames_add_msg(out, &fr->f[d + 2]) == -1 ||
	    ipp_frames_add(out, md, lens[2]) == -1 ||
	    ipp_frames_add(out, ct, lens[3]) == -1)
		goto fail;
	/* apply's result is a serialized object: None */
	if (strcmp(type, "apply_request") == 0 &&
	    ipp_frames_add(out, none_pickle, sizeof(none_pickle)) == -1)
		goto fail;
	if (ipp_frames_send(e->shell, out, 0, ZMQ_DONTWAIT) == 0)
		s->replies++;
	else
		s->bad++;
fail:
	ipp_frames_clear(out);
}

/*
 * Take everything a shell holds.  ZMQ_FD only signals edges, and a send
 * can swallow one, so the drain ends with ZMQ_EVENTS saying "empty".
 */
void
shell_drain(struct sim *s, struct sengine *e)
{
	struct ipp_frames *fr = &s->in;
	int ev;
	size_t sz;

	for (;;) {
		while (ipp_frames_recv(e->shell, fr, ZMQ_DONTWAIT) > 0)
			shell_request(s, e, fr);
		sz = sizeof(ev);
		if (zmq_getsockopt(e->shell, ZMQ_EVENTS, &ev, &sz) == -1 ||
		    !(ev & ZMQ_POLLIN))
			break;
	}
	ipp_frames_clear(fr);
}

void
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
