/*
 * registry.c - engines: registration, heartbeats, death, engines.json.
 *
 * Registration follows ipyparallel 7.1: the engine sends
 * registration_request on the query socket and gets its id at once; it
 * counts as registered when its heart first echoes one of our pings.
 * ipcontroller waits for the next full beat (1-2 periods, about 4 s with
 * the default 3 s period); hubd sends extra "fast" pings while engines are
 * waiting, so registration completes within milliseconds.
 *
 * Death has three signals: unregistration_request (sent by ipengine's
 * nanny when the engine process dies), a shutdown_reply seen on iopub,
 * and silence.  Silence is measured in beats: an engine whose heart has
 * not echoed the previous beat's ping misses one; more than max_misses in
 * a row and it is dead.  Because a killed engine's TCP connection closes
 * at once, hubd also watches the heartbeat socket for disconnects: the
 * engines behind that connection become suspects and get a probe ping;
 * one that does not echo it within PROBE_WAIT is dead.  Probing instead
 * of trusting the event guards against file descriptor reuse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubd.h"

#define PROBE_WAIT	0.5	/* seconds a suspect has to echo the probe */
#define PROBE_GAP	0.01	/* gathers disconnects into one probe */
#define SAVE_EVERY	0.2	/* engines.json at most this often */

/* h->by_fd maps a heart's connection fd to its engine: O(1) disconnects */
static void
fd_index_set(struct hub *h, struct engine *e, int fd)
{
	if (e->hb_fd >= 0 && e->hb_fd < h->nby_fd &&
	    h->by_fd[e->hb_fd] == e)
		h->by_fd[e->hb_fd] = NULL;
	e->hb_fd = fd;
	if (fd < 0)
		return;
	if (fd >= h->nby_fd) {
		int n = h->nby_fd ? h->nby_fd : 1024;

		while (n <= fd)
			n *= 2;
		h->by_fd = xrealloc(h->by_fd, (size_t)n, sizeof(*h->by_fd));
		memset(&h->by_fd[h->nby_fd], 0, (size_t)(n - h->nby_fd) *
		    sizeof(*h->by_fd));
		h->nby_fd = n;
	}
	h->by_fd[fd] = e;
}

struct engine *
engine_by_uuid(struct hub *h, const char *uuid)
{
	return ipp_map_get(h->engines_by_uuid, uuid);
}

struct engine *
engine_by_id(struct hub *h, long id)
{
	if (id < 0 || id >= h->nengine_slots)
		return NULL;
	return h->engines_by_id[id];
}

static int
id_in_use(struct hub *h, long id)
{
	return engine_by_id(h, id) != NULL;
}

static struct engine *
engine_new(struct hub *h, const char *uuid, int id)
{
	struct engine *e = xcalloc(1, sizeof(*e));

	snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
	e->id = id;
	e->hb_fd = -1;
	TAILQ_INIT(&e->mux_pending);
	TAILQ_INIT(&e->task_pending);
	if (id >= h->nengine_slots) {
		int n = h->nengine_slots ? h->nengine_slots : 64;

		while (n <= id)
			n *= 2;
		h->engines_by_id = xrealloc(h->engines_by_id, (size_t)n,
		    sizeof(*h->engines_by_id));
		memset(&h->engines_by_id[h->nengine_slots], 0,
		    (size_t)(n - h->nengine_slots) * sizeof(struct engine *));
		h->nengine_slots = n;
	}
	h->engines_by_id[id] = e;
	if (ipp_map_put(h->engines_by_uuid, e->uuid, e) == -1)
		fatalx("out of memory");
	if (id >= h->next_id)
		h->next_id = id + 1;
	return e;
}

static void
engine_free(struct hub *h, struct engine *e)
{
	fd_index_set(h, e, -1);
	ipp_map_del(h->engines_by_uuid, e->uuid);
	if (e->id < h->nengine_slots && h->engines_by_id[e->id] == e)
		h->engines_by_id[e->id] = NULL;
	free(e);
}

static void
load_engines_file(struct hub *h)
{
	json_error_t jerr;
	json_t *o, *engs, *v;
	const char *k;

	if ((o = json_load_file(h->engines_file, 0, &jerr)) == NULL) {
		log_info("no engines to restore (%s)", jerr.text);
		return;
	}
	engs = json_object_get(o, "engines");
	json_object_foreach(engs, k, v) {
		char *end;
		long id = strtol(k, &end, 10);

		if (*end != '\0' || id < 0 || id > ENGINE_ID_MAX ||
		    !json_is_string(v) || strlen(json_string_value(v)) >=
		    IPP_UUID_MAX)
			continue;
		ipp_map_put(h->restored, json_string_value(v),
		    (void *)(intptr_t)(id + 1));
		if (id >= h->next_id)
			h->next_id = (int)id + 1;
	}
	v = json_object_get(o, "next_id");
	if (json_is_integer(v) && json_integer_value(v) > h->next_id &&
	    json_integer_value(v) <= ENGINE_ID_MAX)
		h->next_id = (int)json_integer_value(v);
	log_info("restoring %zu engines from '%s'",
	    ipp_map_count(h->restored), h->engines_file);
	json_decref(o);
}

void
registry_init(struct hub *h)
{
	h->engines_by_uuid = ipp_map_new();
	h->restored = ipp_map_new();
	if (h->engines_by_uuid == NULL || h->restored == NULL)
		fatalx("out of memory");
	TAILQ_INIT(&h->lru);
	h->t0 = ipp_monotonic();
	h->next_beat = h->t0 + h->cfg.ping_ms / 1000.0;
	h->last_beat = h->t0;
	if (h->cfg.reuse)
		load_engines_file(h);
}

void
registry_release(struct hub *h)
{
	int i;

	for (i = 0; i < h->nengine_slots; i++)
		if (h->engines_by_id[i] != NULL)
			engine_free(h, h->engines_by_id[i]);
	free(h->engines_by_id);
	h->engines_by_id = NULL;
	ipp_map_free(h->engines_by_uuid);
	ipp_map_free(h->restored);
}

/* id -> uuid of the registered engines; info: id -> where they run */
json_t *
registry_engines_json(struct hub *h, int info)
{
	json_t *o = json_object();
	struct engine *e;
	char k[32];

	TAILQ_FOREACH(e, &h->lru, lru) {
		snprintf(k, sizeof(k), "%d", e->id);
		json_object_set_new(o, k, info ? registry_engine_info(e) :
		    json_string(e->uuid));
	}
	return o;
}

/*
 * {"host": ..., "pid": ...} of an engine, from what engined puts in its
 * registration_request (ipengine sends neither: then {}).  Extra keys of
 * registration_notification and connection_reply ("engine_info"), which
 * ipyparallel's Client ignores, and by which ippfs shows where each
 * engine runs.
 */
json_t *
registry_engine_info(const struct engine *e)
{
	json_t *o = json_object();

	if (e->host[0] != '\0')
		json_object_set_new(o, "host", json_string(e->host));
	if (e->pid > 0)
		json_object_set_new(o, "pid", json_integer(e->pid));
	return o;
}

void
registry_save_if_dirty(struct hub *h)
{
	json_t *o;
	char *txt;
	double now = ipp_monotonic();

	if (!h->engines_dirty || (now - h->last_save < SAVE_EVERY && !h->quit))
		return;
	o = json_pack("{s:o, s:i}", "engines", registry_engines_json(h, 0),
	    "next_id", h->next_id);
	if (o == NULL || (txt = json_dumps(o, JSON_COMPACT)) == NULL)
		fatalx("out of memory");
	if (ipp_write_file(h->engines_file, txt, strlen(txt), 0600) == -1)
		log_warn("cannot write '%s'", h->engines_file);
	free(txt);
	json_decref(o);
	h->engines_dirty = 0;
	h->last_save = now;
}

static void
send_ping(struct hub *h, double now)
{
	char *p = h->pings[h->ping_head];

	/* like ipcontroller: the decimal seconds since start; unique */
	snprintf(p, sizeof(h->pings[0]), "%.6f", now - h->t0);
	h->ping_t[h->ping_head] = now;
	h->ping_head = (h->ping_head + 1) % HUB_PING_RING;
	if (zmq_send(h->hb_ping, p, strlen(p), ZMQ_DONTWAIT) == -1)
		log_warnx("heartbeat send: %s", zmq_strerror(errno));
}

/* Send time of the ping whose echo this is, or -1. */
static double
ping_time(struct hub *h, const void *data, size_t len)
{
	int i;

	for (i = 0; i < HUB_PING_RING; i++)
		if (strlen(h->pings[i]) == len &&
		    memcmp(h->pings[i], data, len) == 0)
			return h->ping_t[i];
	return -1;
}

static void
finish_registration(struct hub *h, struct engine *e)
{
	if (e->state == ENGINE_INCOMING)
		h->nincoming--;
	e->state = ENGINE_REGISTERED;
	e->misses = 0;
	/* head of the line, as ipcontroller's scheduler: the next task goes
	 * to the newcomer (dispatch moves engines to the tail) */
	TAILQ_INSERT_HEAD(&h->lru, e, lru);
	h->nregistered++;
	h->engines_dirty = 1;
	log_info("engine %d registered (%s)", e->id, e->uuid);
	notify_registered(h, e);
	sched_engine_added(h, e);
}

void
registry_register(struct hub *h, const void *rid, size_t ridlen,
    struct ipp_msg *m)
{
	json_t *juuid = json_object_get(m->content, "uuid");
	json_t *jid = json_object_get(m->content, "id");
	const char *uuid;
	struct engine *e;
	json_t *ci;
	long id;
	int i;

	if (!json_is_string(juuid) || *json_string_value(juuid) == '\0' ||
	    strlen(json_string_value(juuid)) >= IPP_UUID_MAX ||
	    strlen(json_string_value(juuid)) != json_string_length(juuid)) {
		hub_reply(h, h->reg, rid, ridlen, "registration_reply",
		    m->header, ipp_error_content("ValueError",
		    "registration_request needs a string uuid"), NULL, 0);
		return;
	}
	/*
	 * Ids index an array: one of 9999999 would cost 80 MB.  ipengine
	 * asks for one only when told to (--id, MPI ranks).
	 */
	if (jid != NULL && !json_is_null(jid) && (!json_is_integer(jid) ||
	    json_integer_value(jid) < 0 ||
	    json_integer_value(jid) > ENGINE_ID_MAX)) {
		hub_badinput(h, "registration refused: engine id out of range");
		hub_reply(h, h->reg, rid, ridlen, "registration_reply",
		    m->header, ipp_error_content("ValueError",
		    "engine id must be an integer from 0 to %d", ENGINE_ID_MAX),
		    NULL, 0);
		return;
	}
	uuid = json_string_value(juuid);
	if (engine_by_uuid(h, uuid) != NULL) {
		hub_badinput(h,
		    "registration refused: uuid '%s' already in use",
		    uuid);
		hub_reply(h, h->reg, rid, ridlen, "registration_reply",
		    m->header, ipp_error_content("KeyError",
		    "uuid '%s' already registered", uuid), NULL, 0);
		return;
	}
	id = -1;
	if (json_is_integer(jid) &&
	    !id_in_use(h, (long)json_integer_value(jid)))
		id = (long)json_integer_value(jid);
	else if (ipp_map_get(h->restored, uuid) != NULL &&
	    !id_in_use(h, (intptr_t)ipp_map_get(h->restored, uuid) - 1))
		id = (intptr_t)ipp_map_get(h->restored, uuid) - 1;
	if (id < 0) {
		while (id_in_use(h, h->next_id))
			h->next_id++;
		id = h->next_id++;
	}
	e = engine_new(h, uuid, (int)id);
	e->state = ENGINE_INCOMING;
	if (json_is_string(json_object_get(m->content, "host")))
		snprintf(e->host, sizeof(e->host), "%s", json_string_value(
		    json_object_get(m->content, "host")));
	if (json_is_integer(json_object_get(m->content, "pid")))
		e->pid = (long)json_integer_value(json_object_get(m->content,
		    "pid"));
	e->registered_at = ipp_monotonic();
	h->nincoming++;
	/*
	 * No ping of its own: during a flood of registrations that would
	 * be one ping (and N pongs) per registration.  The fast-ping timer
	 * (fast_interval) serves every incoming engine at once.
	 */

	ci = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:[]}",
	    "interface", h->ci.interface, "registration", h->ci.registration,
	    "control", h->eports.control, "mux", h->eports.mux, "task",
	    h->eports.task, "iopub", h->eports.iopub, "hb_ping",
	    h->eports.hb_ping, "hb_pong", h->eports.hb_pong, "broadcast");
	for (i = 0; i < h->eports.nbroadcast; i++)
		json_array_append_new(json_object_get(ci, "broadcast"),
		    json_integer(h->eports.broadcast[i]));
	hub_reply(h, h->reg, rid, ridlen, "registration_reply", m->header,
	    json_pack("{s:s, s:i, s:i, s:o}", "status", "ok", "id", e->id,
	    "hb_period", h->cfg.ping_ms, "connection_info", ci), NULL, 0);
	log_debug("engine %d (%s) registering", e->id, uuid);
}

void
registry_unregister(struct hub *h, struct engine *e, const char *why)
{
	if (e->state == ENGINE_REGISTERED) {
		TAILQ_REMOVE(&h->lru, e, lru);
		h->nregistered--;
		e->state = ENGINE_DEAD;
		h->engines_dirty = 1;
		log_info("engine %d unregistered: %s", e->id, why);
		hub_notify(h, "unregistration_notification",
		    json_pack("{s:i, s:s}", "id", e->id, "uuid", e->uuid));
		sched_engine_removed(h, e);
		task_fail_engine(h, e);
	} else {
		if (e->state == ENGINE_INCOMING)
			h->nincoming--;
		log_info("engine %d dropped before registering: %s", e->id,
		    why);
	}
	engine_free(h, e);
}

static struct engine *
restore_engine(struct hub *h, const char *uuid)
{
	void *v = ipp_map_get(h->restored, uuid);
	long id = (intptr_t)v - 1;
	struct engine *e;

	if (v == NULL || id_in_use(h, id))
		return NULL;
	ipp_map_del(h->restored, uuid);
	e = engine_new(h, uuid, (int)id);
	e->state = ENGINE_DEAD;		/* not incoming: no counter */
	log_info("engine %ld (%s) restored from engines file", id, uuid);
	return e;
}

int
registry_on_pong(struct hub *h, int arg)
{
	/* every engine echoes every ping: the relays' buffer, no malloc */
	struct ipp_frames *fr = &h->rx.fr;
	struct engine *e;
	char uuid[IPP_UUID_MAX];
	double t;
	int fd;

	if (ipp_frames_recv(h->hb_pong, fr, ZMQ_DONTWAIT) == -1)
		return 0;
	if (fr->n != 2 || ipp_frame_len(fr, 0) >= IPP_UUID_MAX)
		goto out;	/* not a heart: ignore */
	snprintf(uuid, sizeof(uuid), "%.*s", (int)ipp_frame_len(fr, 0),
	    (const char *)ipp_frame_data(fr, 0));
	if ((t = ping_time(h, ipp_frame_data(fr, 1),
	    ipp_frame_len(fr, 1))) < 0)
		goto out;	/* stale or foreign payload */
	if ((e = engine_by_uuid(h, uuid)) == NULL &&
	    (e = restore_engine(h, uuid)) == NULL)
		goto out;
	if ((fd = zmq_msg_get(&fr->f[1], ZMQ_SRCFD)) >= 0 && fd != e->hb_fd)
		fd_index_set(h, e, fd);
	if (t > e->last_pong)
		e->last_pong = t;
	if (e->suspect_until > 0 && t >= e->suspect_until - PROBE_WAIT)
		e->suspect_until = 0;
	if (e->state != ENGINE_REGISTERED)
		finish_registration(h, e);
out:
	ipp_frames_clear(fr);
	return 1;
}

/* A heart connection closed: probe the engines that used it. */
int
registry_on_monitor_event(struct hub *h, int arg)
{
	struct ipp_frames fr;
	struct engine *e;
	uint16_t ev;
	uint32_t fd;
	double now = ipp_monotonic();

	ipp_frames_init(&fr);
	if (ipp_frames_recv(h->hb_mon, &fr, ZMQ_DONTWAIT) == -1) {
		ipp_frames_release(&fr);
		return 0;
	}
	if (fr.n == 2 && ipp_frame_len(&fr, 0) == 6) {
		memcpy(&ev, ipp_frame_data(&fr, 0), 2);
		memcpy(&fd, (const char *)ipp_frame_data(&fr, 0) + 2, 4);
		if (ev == ZMQ_EVENT_DISCONNECTED && (int)fd < h->nby_fd &&
		    (e = h->by_fd[fd]) != NULL && e->state == ENGINE_REGISTERED &&
		    e->suspect_until == 0) {
			/*
			 * One probe ping serves every suspect of the next
			 * PROBE_GAP: when thousands of engines go at once,
			 * that is a handful of pings, not one each.
			 */
			e->suspect_until = now + PROBE_WAIT;
			h->nsuspects++;
			if (h->probe_due == 0)
				h->probe_due = now + PROBE_GAP;
			log_debug("engine %d: heart connection %u closed, "
			    "probing", e->id, fd);
		}
	}
	ipp_frames_release(&fr);
	return 1;
}

/* Interval between fast pings: frequent for few engines, gentler at scale. */
static double
fast_interval(struct hub *h)
{
	double iv = 0.02 + (h->nregistered + h->nincoming) / 20000.0;

	return iv > 0.5 ? 0.5 : iv;
}

void
registry_tick(struct hub *h, double now)
{
	struct engine *e, *next;
	double period = h->cfg.ping_ms / 1000.0;
	int i;

	if (h->probe_due > 0 && now >= h->probe_due) {
		send_ping(h, now);
		h->probe_due = 0;
	}
	/* suspects that did not answer their probe */
	if (h->nsuspects > 0) {
		h->nsuspects = 0;
		for (e = TAILQ_FIRST(&h->lru); e != NULL; e = next) {
			next = TAILQ_NEXT(e, lru);
			if (e->suspect_until > 0 && now >= e->suspect_until)
				registry_unregister(h, e, "connection closed "
				    "and no heartbeat after it");
			else if (e->suspect_until > 0)
				h->nsuspects++;
		}
	}
	if (now >= h->next_beat) {
		/* judge the beat that just ended, then start a new one */
		for (e = TAILQ_FIRST(&h->lru); e != NULL; e = next) {
			next = TAILQ_NEXT(e, lru);
			if (e->last_pong >= h->last_beat) {
				e->misses = 0;
				continue;
			}
			if (++e->misses > h->cfg.max_misses)
				registry_unregister(h, e, "heartbeat missed");
			else if (e->misses == 1)
				log_debug("engine %d missed a heartbeat",
				    e->id);
		}
		h->last_beat = now;
		h->next_beat = now + period;
		send_ping(h, now);
		/* stalled registrations */
		for (i = 0; i < h->nengine_slots && h->nincoming > 0; i++) {
			e = h->engines_by_id[i];
			if (e != NULL && e->state == ENGINE_INCOMING &&
			    now - e->registered_at > h->cfg.registration_timeout)
				registry_unregister(h, e, "no heartbeat "
				    "after registration");
		}
	}
	if (h->nincoming > 0 && now >= h->next_fast_ping) {
		send_ping(h, now);
		h->next_fast_ping = now + fast_interval(h);
	}
}

double
registry_next_wake(struct hub *h)
{
	double w = h->next_beat;
	struct engine *e;

	if (h->nincoming > 0 && h->next_fast_ping < w)
		w = h->next_fast_ping;
	if (h->probe_due > 0 && h->probe_due < w)
		w = h->probe_due;
	if (h->nsuspects > 0)
		TAILQ_FOREACH(e, &h->lru, lru)
			if (e->suspect_until > 0 && e->suspect_until < w)
				w = e->suspect_until;
	return w;
}
