/*
 * reg.c - simengines' registration: registration_requests sent over a
 * pool of shared DEALERs (replies matched in request order, see
 * tools/simengines.c), replied engines' hearts and shells opened a few at
 * a time, and the controller's registration/unregistration
 * notifications.  tools/sim/sim.h has the shared state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipp.h"
#include "../lib/common.h"
#include "sim.h"

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

void
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

void
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

void
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
