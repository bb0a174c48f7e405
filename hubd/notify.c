/*
 * notify.c - the notification channel and its late subscribers.
 *
 * Clients learn of engines from two places: the engine list in their
 * connection_reply, and registration_notification on the notification
 * PUB socket.  ipyparallel 7.1's Client connects its SUB socket only
 * after that reply has arrived, and a PUB socket drops what it sends
 * before a subscription reaches it, so an engine that registers in
 * between is in neither: the client never sees it, and
 * wait_for_engines(n) times out (ipcontroller has the same hole; it
 * shows when a cluster's engines start together with its client, as
 * ipyparallel's Cluster.start_and_connect does).
 *
 * So the socket is an XPUB that hands us every subscription
 * (ZMQ_XPUB_VERBOSE), and a new subscriber is told again of the engines
 * that registered since the oldest connection_reply not yet followed by
 * a subscription.  Re-announcing is harmless to those who already knew:
 * a Client (and ippfs) treats a registration of a known id and uuid as
 * no news.  Subscribers that never asked for a connection (or clients
 * that never subscribe) only skew which reply a subscription is matched
 * with; replies are forgotten after REPLY_TTL seconds and a subscription
 * with none pending gets the last NOREPLY_WINDOW seconds, so the error
 * is always towards announcing more, bounded in time.
 */
#include <errno.h>
#include <string.h>

#include "hubd.h"

#define REPLY_TTL	30.0	/* seconds a reply waits for its subscriber */
#define NOREPLY_WINDOW	1.0	/* seconds re-announced without a reply */
#define SLACK		0.05	/* registrations just before the reply */


void
notify_init(struct hub *h)
{
	int one = 1;

	if (zmq_setsockopt(h->notif, ZMQ_XPUB_VERBOSE, &one,
	    sizeof(one)) == -1)
		fatalx("notification socket: ZMQ_XPUB_VERBOSE: %s",
		    zmq_strerror(errno));
}

void
notify_connection_replied(struct hub *h)
{
	struct notify_replies *r = &h->replies;

	if (r->count == NOTIFY_REPLIES) {	/* the oldest is the least useful */
		r->head = (r->head + 1) % NOTIFY_REPLIES;
		r->count--;
	}
	r->t[(r->head + r->count) % NOTIFY_REPLIES] = ipp_monotonic();
	r->count++;
}

static void
announce(struct hub *h, const struct engine *e)
{
	json_t *c = registry_engine_info(e);

	json_object_set_new(c, "id", json_integer(e->id));
	json_object_set_new(c, "uuid", json_string(e->uuid));
	hub_notify(h, "registration_notification", c);
}

void
notify_registered(struct hub *h, struct engine *e)
{
	e->announced_at = ipp_monotonic();
	announce(h, e);
}

/* Start of the period a subscription arriving now may have missed. */
static double
missed_since(struct notify_replies *r, double now)
{
	double t;

	while (r->count > 0 && r->t[r->head] < now - REPLY_TTL) {
		r->head = (r->head + 1) % NOTIFY_REPLIES;
		r->count--;
	}
	if (r->count == 0)
		return now - NOREPLY_WINDOW;
	t = r->t[r->head];
	r->head = (r->head + 1) % NOTIFY_REPLIES;
	r->count--;
	return t - SLACK;
}

static void
reannounce(struct hub *h, double since)
{
	struct engine *e;
	int i, n = 0;

	for (i = 0; i < h->nengine_slots; i++) {
		e = h->engines_by_id[i];
		if (e == NULL || e->state != ENGINE_REGISTERED ||
		    e->announced_at < since)
			continue;
		announce(h, e);
		n++;
	}
	if (n > 0)
		log_debug("new subscriber: %d recent registration%s announced "
		    "again", n, n == 1 ? "" : "s");
}

/*
 * A frame from the XPUB: 1 + topic for a subscription, 0 + topic for an
 * unsubscription.  Clients subscribe to everything (empty topic).
 */
int
notify_on_subscribe(struct hub *h, int arg)
{
	unsigned char buf[64];
	size_t len = sizeof(int);
	int n, more = 0;

	(void)arg;
	if ((n = zmq_recv(h->notif, buf, sizeof(buf), ZMQ_DONTWAIT)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warnx("notification socket: %s",
			    zmq_strerror(errno));
		return 0;
	}
	/* an XSUB peer may send anything: only a lone frame subscribes */
	if (zmq_getsockopt(h->notif, ZMQ_RCVMORE, &more, &len) == 0 && more) {
		while (more && zmq_recv(h->notif, buf, sizeof(buf),
		    ZMQ_DONTWAIT) >= 0)
			if (zmq_getsockopt(h->notif, ZMQ_RCVMORE, &more,
			    &len) == -1)
				more = 0;
		return 1;
	}
	if (n >= 1 && buf[0] == 1)
		reannounce(h, missed_since(&h->replies, ipp_monotonic()));
	return 1;
}
