/*
 * watch.c - learn which engines registered by acting as a client of the
 * hub, exactly as ipyparallel.Client does: a SUB socket on the hub's
 * notification channel for registration_notification and
 * unregistration_notification, and a DEALER on the registration channel
 * for connection_request, whose reply lists every registered engine.
 *
 * A SUB socket misses what is published before its subscription reaches
 * the hub (ZeroMQ's slow joiner), so the watch asks connection_request
 * again every 200 ms while it waits and merges both sources into one set
 * of engine ids.  Nothing here depends on which controller runs.
 *
 * A controller whose file names an ssh server and that listens where
 * this host cannot reach it (its loopback, on another host: the ssh
 * controller of sshctl.c) is reached through an ssh tunnel
 * (libipp/tunnel.c), as ipyparallel's Client does; the tunnel lives as
 * long as the watch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "launch.h"

#define TUNNEL_WAIT	30	/* seconds for ssh to log in and forward */

struct watch {
	struct ipp_tunnel tun;
	void		*ctx;
	void		*reg;		/* DEALER: connection_request */
	void		*sub;		/* SUB: notifications */
	struct ipp_session sess;
	struct ipp_map	*ids;		/* "3" -> (void *)1 */
	double		 asked;		/* last connection_request */
	int		 shown;		/* last count printed */
	int		 replied;	/* connection_replies seen */
};

static int
ask(struct watch *w)
{
	struct ipp_frames fr;
	int rc;

	ipp_frames_init(&fr);
	rc = ipp_msg_build(&w->sess, &fr, NULL, 0, "connection_request",
	    NULL, NULL, NULL, json_object());
	if (rc == 0)
		rc = ipp_frames_send(w->reg, &fr, 0, ZMQ_DONTWAIT);
	ipp_frames_release(&fr);
	w->asked = ipp_monotonic();
	return rc;
}

/*
 * As ipyparallel's Client: the file's ssh server is used unless the
 * controller listens on loopback at a location that is this host.
 */
static int
needs_tunnel(const struct ipp_conninfo *ci)
{
	const char *ip = ci->interface + strcspn(ci->interface, ":") + 3;

	if (ci->ssh[0] == '\0')
		return 0;
	return !((strncmp(ip, "127.", 4) == 0 || strcmp(ip, "localhost") ==
	    0) && ipp_host_is_local(ci->location));
}

struct watch *
watch_open(const char *clientfile, char *why, size_t whylen)
{
	struct ipp_conninfo ci;
	struct watch *w;
	char url[600], sid[40];
	int zero = 0;

	if (ipp_conninfo_load(clientfile, &ci, why, whylen) == -1)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	ipp_tunnel_init(&w->tun);
	/* before the ZeroMQ context: ssh forks from a one-thread process */
	if (needs_tunnel(&ci) && ipp_tunnel_open(&w->tun, ci.ssh, NULL, &ci,
	    TUNNEL_WAIT) == -1) {
		snprintf(why, whylen, "cannot reach the controller of '%s' "
		    "through ssh to '%s'", clientfile, ci.ssh);
		free(w);
		return NULL;
	}
	ipp_new_id(sid, sizeof(sid));
	if (ipp_session_init(&w->sess, ci.key, sid) == -1) {
		snprintf(why, whylen, "cannot make a session: %s",
		    strerror(errno));
		ipp_tunnel_close(&w->tun);
		free(w);
		return NULL;
	}
	w->ids = ipp_map_new();
	w->ctx = zmq_ctx_new();
	w->reg = zmq_socket(w->ctx, ZMQ_DEALER);
	w->sub = zmq_socket(w->ctx, ZMQ_SUB);
	zmq_setsockopt(w->reg, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(w->sub, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(w->sub, ZMQ_SUBSCRIBE, "", 0);
	ipp_conninfo_url(&ci, ci.notification, url, sizeof(url));
	if (zmq_connect(w->sub, url) == -1)
		goto fail;
	ipp_conninfo_url(&ci, ci.registration, url, sizeof(url));
	if (zmq_connect(w->reg, url) == -1)
		goto fail;
	if (ask(w) == -1)
		goto fail;
	return w;
fail:
	snprintf(why, whylen, "cannot connect to '%s': %s", url,
	    zmq_strerror(errno));
	watch_close(&w);
	return NULL;
}

void
watch_close(struct watch **wp)
{
	struct watch *w = *wp;

	if (w == NULL)
		return;
	zmq_close(w->reg);
	zmq_close(w->sub);
	zmq_ctx_term(w->ctx);
	ipp_map_free(w->ids);
	ipp_session_release(&w->sess);
	ipp_tunnel_close(&w->tun);
	free(w);
	*wp = NULL;
}

int
watch_count(const struct watch *w)
{
	return (int)ipp_map_count(w->ids);
}

static void
note(struct watch *w, json_t *id, int add)
{
	char key[32];

	if (!json_is_integer(id))
		return;
	snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(id));
	if (add)
		ipp_map_put(w->ids, key, (void *)1);
	else
		ipp_map_del(w->ids, key);
}

/* Drain one socket; replies and notifications update the id set. */
static void
drain(struct watch *w, void *sock)
{
	struct ipp_msg m;
	const char *k;
	json_t *v, *engines;
	char why[256];

	for (;;) {
		ipp_msg_init(&m);
		if (ipp_msg_recv(&w->sess, sock, &m, ZMQ_DONTWAIT, why,
		    sizeof(why)) == -1) {
			ipp_msg_release(&m);
			if (errno == EAGAIN)
				return;
			continue;
		}
		if (strcmp(m.msg_type, "connection_reply") == 0) {
			w->replied++;
			engines = json_object_get(m.content, "engines");
			json_object_foreach(engines, k, v)
				if (ipp_map_get(w->ids, k) == NULL)
					ipp_map_put(w->ids, k, (void *)1);
		} else if (strcmp(m.msg_type, "registration_notification") == 0)
			note(w, json_object_get(m.content, "id"), 1);
		else if (strcmp(m.msg_type,
		    "unregistration_notification") == 0)
			note(w, json_object_get(m.content, "id"), 0);
		ipp_msg_release(&m);
	}
}

static void
progress(struct watch *w, int target, int tty, int final)
{
	int have = watch_count(w), i, width = 30, fill;

	if (have == w->shown && (!final || !tty))
		return;
	if (have == w->shown) {		/* final, on a terminal */
		fputc('\n', stderr);
		return;
	}
	w->shown = have;
	if (!tty) {
		fprintf(stderr, "launch: engines registered: %d/%d\n", have,
		    target);
		return;
	}
	fill = target > 0 ? (have > target ? target : have) * width / target :
	    width;
	fputs("\rengines [", stderr);
	for (i = 0; i < width; i++)
		fputc(i < fill ? '#' : ' ', stderr);
	fprintf(stderr, "] %d/%d", have, target);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

int
watch_wait(struct watch *w, int target, double deadline, int tty,
    int (*check)(void *), void *arg)
{
	zmq_pollitem_t items[2];
	double now, next_check = 0;
	int ms;

	items[0].socket = w->reg;
	items[1].socket = w->sub;
	items[0].events = items[1].events = ZMQ_POLLIN;
	w->shown = -1;
	for (;;) {
		drain(w, w->reg);
		drain(w, w->sub);
		progress(w, target, tty, 0);
		if (watch_count(w) >= target) {
			progress(w, target, tty, 1);
			return 0;
		}
		now = ipp_monotonic();
		ipp_tunnel_check(&w->tun, now);
		if (now >= next_check) {
			if (check != NULL && check(arg) == -1) {
				progress(w, target, tty, 1);
				errno = ECHILD;
				return -1;
			}
			next_check = now + 0.02;
		}
		if (now >= deadline) {
			progress(w, target, tty, 1);
			errno = ETIMEDOUT;
			return -1;
		}
		if (now - w->asked >= 0.2)
			ask(w);
		ms = (int)((next_check - now) * 1000) + 1;
		zmq_poll(items, 2, ms);
	}
}

/* Wait for the hub's first connection_reply: the engines already in. */
int
watch_sync(struct watch *w, double timeout)
{
	zmq_pollitem_t item = { w->reg, 0, ZMQ_POLLIN, 0 };
	double deadline = ipp_monotonic() + timeout;

	while (w->replied == 0) {
		if (ipp_monotonic() > deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		zmq_poll(&item, 1, 10);
		drain(w, w->reg);
	}
	drain(w, w->sub);
	return 0;
}
