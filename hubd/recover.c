/*
 * recover.c - tasks a previous hubd left unfinished when it died.
 *
 * A task is pending only inside the hub that took it, so at start every
 * record of the history without `completed` was lost with a hub that
 * stopped (killed, crashed, or shut down with tasks queued) before the
 * task ended.  Each is finished here, once,
 * before the loop starts: its record gets a TaskAborted error result, and
 * with --reuse that error is also sent to the client that submitted it.
 *
 * Why an error and not a second run: the history cannot say whether such
 * a task reached an engine.  Its dispatch is written up to ~70 ms late
 * (db.c), an engine may have run it and sent a reply the dead hub never
 * read, or may still be running it.  Running it again could run user code
 * twice, which ipyparallel does only when asked (retries, resubmit).  The
 * error says so, and Client.resubmit() runs the task again from the
 * request the record holds.
 *
 * Why the error waits for the client: ipyparallel's Client gives its
 * DEALER sockets no routing identity.  After a restart they reconnect on
 * their own, but the new ROUTERs name them afresh, so the identity a task
 * was submitted from reaches no one, and a ROUTER learns a peer's new one
 * only from a message (ZMQ_ROUTER_NOTIFY is a draft option Debian's
 * libzmq lacks).  So the errors of a client session are kept until that
 * session sends anything on the mux, task or broadcast socket (all three
 * feed the Client's reply handler), and are then sent to it there.  A
 * query meanwhile (result_status, get_result, db_query) already finds the
 * records finished.
 *
 * A reply must never reach a Client twice: a second one for a task whose
 * result it holds is printed as stale or, while the task's output is
 * still awaited (its "idle" lost with the hub), raises inside the reply
 * handler and stops the Client's reply stream for good.  Results are relayed at once but recorded up to ~70 ms
 * later, so a killed hub may have delivered results its history still
 * shows pending.  Hence the delivery ring, a file beside the history
 * holding a hash of each of the last RING_SLOTS msg_ids whose reply went
 * to a client, stored before the reply is sent (into a shared mapping,
 * which survives the hub's death though not the host's).  A lost
 * task found in the ring gets its error record but no reply.
 *
 * Broadcast records are finished but not answered: the Client waits for
 * the coalesced reply of the original request, which no record holds.
 */
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hubd.h"

/* More than a hub relays in the ~70 ms a kill can lose, at any rate. */
#define RING_SLOTS	65536

struct recovery {
	struct hub	*h;
	json_t		*lost;		/* array of entries, see collect() */
	uint64_t	*ring;		/* sorted hashes of delivered msg_ids */
	size_t		 nring;
	json_t		*keep;		/* delivered, not recorded: ring them */
	char		 now[40];
};

/* The ring's hash of a msg_id; 0 marks an empty slot, so never 0. */
static uint64_t
ring_hash(const char *msg_id)
{
	/* a fixed key: the hashes must mean the same to the next run */
	static const unsigned char key[crypto_shorthash_KEYBYTES];
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(out, (const unsigned char *)msg_id, strlen(msg_id),
	    key);
	memcpy(&v, out, sizeof(v));
	return v != 0 ? v : 1;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The previous run's ring, sorted; none when there is no file. */
static void
ring_load(struct recovery *r, const char *path)
{
	size_t n = 0;
	ssize_t got;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("cannot read delivery ring '%s'", path);
		return;
	}
	r->ring = xcalloc(RING_SLOTS, sizeof(*r->ring));
	while (n < RING_SLOTS && (got = read(fd, r->ring + n,
	    (RING_SLOTS - n) * sizeof(*r->ring))) > 0)
		n += (size_t)got / sizeof(*r->ring);
	close(fd);
	qsort(r->ring, n, sizeof(*r->ring), cmp_u64);
	r->nring = n;
}

static int
ring_has(const struct recovery *r, const char *msg_id)
{
	uint64_t v = ring_hash(msg_id);

	return r->nring > 0 && bsearch(&v, r->ring, r->nring,
	    sizeof(v), cmp_u64) != NULL;
}

/*
 * An empty ring for this run, mapped shared: a store into it is in the
 * page cache at once, and the kernel writes it back whatever becomes of
 * the process, at the cost of a memory write per reply.  Without a ring,
 * lost tasks are recorded at the next start but never sent.
 */
static void
ring_open(struct hub *h, const char *path)
{
	size_t len = RING_SLOTS * sizeof(uint64_t);
	void *p = MAP_FAILED;
	int fd;

	/* blocks allocated now, so a full disk is no SIGBUS later */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd != -1 && ftruncate(fd, 0) == 0 && ftruncate(fd, len) == 0 &&
	    (errno = posix_fallocate(fd, 0, (off_t)len)) == 0)
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		log_warn("cannot set up delivery ring '%s'", path);
	else
		h->ring = p;
	if (fd != -1)
		close(fd);
}

void
recover_close(struct hub *h)
{
	if (h->ring != NULL)
		munmap(h->ring, RING_SLOTS * sizeof(uint64_t));
	h->ring = NULL;
	json_decref(h->lost);
	h->lost = NULL;
}

void
recover_delivered(struct hub *h, const char *msg_id)
{
	if (h->ring != NULL)
		h->ring[h->ring_next++ % RING_SLOTS] = ring_hash(msg_id);
}

/*
 * One unfinished record: its error reply, as parts of a message (the
 * reply's header, the request's header as parent, metadata, content),
 * and the client session it goes to.
 */
static int
collect(void *arg, const struct db_record *rec)
{
	struct recovery *r = arg;
	const json_t *f = rec->fields;
	json_t *hdr = json_object_get(f, "header"), *sess, *eng, *md, *e;
	const char *id = json_string_value(json_object_get(f, "msg_id"));
	const char *rt = json_string_value(json_object_get(hdr, "msg_type"));
	char type[128];
	int sent;

	if (id == NULL || !json_is_object(hdr))
		return 0;
	sent = ring_has(r, id);
	sess = json_object_get(f, "client_uuid");
	if (!json_is_string(sess))
		sess = json_object_get(hdr, "session");
	/* as task_fabricate_reply; a type too long for a task is apply's */
	if (ipp_reply_type(rt != NULL ? rt : "apply_request", type,
	    sizeof(type)) == -1)
		snprintf(type, sizeof(type), "apply_reply");
	md = json_pack("{s:s, s:s}", "status", "error", "date", r->now);
	eng = json_object_get(f, "engine_uuid");
	if (md != NULL && json_is_string(eng))
		json_object_set(md, "engine", eng);
	e = json_pack("{s:s, s:O, s:s?, s:b, s:o, s:O, s:o, s:o}", "msg_id",
	    id, "session", json_is_string(sess) ? sess : json_null(),
	    "queue", json_string_value(json_object_get(f, "queue")), "sent",
	    sent, "header", ipp_header_new(&r->h->sess, type), "parent", hdr,
	    "metadata", md, "content", sent ? ipp_error_content("TaskAborted",
	    "hubd stopped before it recorded the result of task '%s'; the "
	    "result had been sent to the client", id) :
	    ipp_error_content("TaskAborted", "hubd stopped before task '%s' "
	    "finished; it may or may not have run on an engine: resubmit it "
	    "(Client.resubmit) to run it again", id));
	if (e == NULL || json_array_append_new(r->lost, e) == -1)
		fatalx("out of memory recovering lost tasks");
	return 0;
}

/*
 * Give each lost record its error result, in one transaction, and drop
 * from r->lost what could not be recorded (a full disk): those stay
 * pending, for the next start, and no client hears of them meanwhile,
 * so that none is told of a result the history lacks.
 */
static void
finish_records(const struct db_ops *ops, void *be, struct recovery *r)
{
	json_t *done = json_array(), *e, *f;
	char why[512] = "";
	size_t i;
	int began;

	if (done == NULL)
		fatalx("out of memory recovering lost tasks");
	began = ops->begin(be) == 0;
	json_array_foreach(r->lost, i, e) {
		f = json_pack("{s:s, s:O, s:O, s:O}", "completed", r->now,
		    "result_header", json_object_get(e, "header"),
		    "result_metadata", json_object_get(e, "metadata"),
		    "result_content", json_object_get(e, "content"));
		if (f == NULL)
			fatalx("out of memory recovering lost tasks");
		if (ops->update(be, json_string_value(json_object_get(e,
		    "msg_id")), f, NULL, json_is_true(json_object_get(e,
		    "sent")) ? 1 : -1, why, sizeof(why)) == 0)
			json_array_append(done, e);
		else if (json_is_true(json_object_get(e, "sent")))
			json_array_append(r->keep, json_object_get(e,
			    "msg_id"));
		json_decref(f);
	}
	if (began && ops->commit(be) == -1) {
		snprintf(why, sizeof(why), "commit: %s", strerror(errno));
		json_array_clear(done);
		json_array_clear(r->keep);
		json_array_foreach(r->lost, i, e)
			if (json_is_true(json_object_get(e, "sent")))
				json_array_append(r->keep,
				    json_object_get(e, "msg_id"));
	}
	if (json_array_size(done) < json_array_size(r->lost))
		log_warnx("%zu of %zu lost tasks cannot be recorded as "
		    "TaskAborted (%s): they stay pending until the next start",
		    json_array_size(r->lost) - json_array_size(done),
		    json_array_size(r->lost), why);
	json_decref(r->lost);
	r->lost = done;
}

/*
 * The replies still to send, by client session, for recover_deliver():
 * not those already sent, nor broadcasts.  Returns NULL when none.
 */
static json_t *
by_session(json_t *lost)
{
	json_t *m = json_object(), *e, *l;
	const char *s, *q;
	size_t i;

	if (m == NULL)
		fatalx("out of memory recovering lost tasks");
	json_array_foreach(lost, i, e) {
		q = json_string_value(json_object_get(e, "queue"));
		if ((s = json_string_value(json_object_get(e, "session"))) ==
		    NULL || json_is_true(json_object_get(e, "sent")) ||
		    q == NULL || (strcmp(q, "task") != 0 &&
		    strcmp(q, "mux") != 0))
			continue;
		if ((l = json_object_get(m, s)) == NULL &&
		    json_object_set_new(m, s, l = json_array()) == -1)
			fatalx("out of memory recovering lost tasks");
		json_array_append(l, e);
	}
	if (json_object_size(m) == 0) {
		json_decref(m);
		m = NULL;
	}
	return m;
}

/*
 * Name the lost tasks whose result went to libzmq before the stop: not
 * answered again, they are the ones a client may still wait for, when
 * the kill came while the reply sat in libzmq's queue, before its I/O
 * thread wrote it to the connection (hubd(8), CRASH RECOVERY).
 */
static void
log_handed(json_t *lost)
{
	size_t i, n = 0;
	json_t *e;

	json_array_foreach(lost, i, e) {
		if (!json_is_true(json_object_get(e, "sent")))
			continue;
		if (n++ < 100)
			log_info("task %s: its result was handed to libzmq "
			    "before the stop, so it is not sent again",
			    json_string_value(json_object_get(e, "msg_id")));
	}
	if (n > 100)
		log_info("and %zu more tasks whose results were handed to "
		    "libzmq before the stop", n - 100);
}

int
recover_lost_tasks(struct hub *h, const struct db_ops *ops,
    const struct db_config *cfg, char *why, size_t whylen)
{
	struct recovery r = { h, NULL, NULL, 0, NULL, "" };
	char ring[1100];
	json_t *q, *v;
	void *be;
	size_t i;
	int rc;

	if (ops != &db_sqlite_ops || cfg->path == NULL)
		return 0;	/* nothing outlives the hub */
	snprintf(ring, sizeof(ring), "%s-delivered", cfg->path);
	if ((be = ops->open(cfg, why, whylen)) == NULL)
		return -1;
	ring_load(&r, ring);
	ipp_iso_now(r.now, sizeof(r.now));
	if ((r.lost = json_array()) == NULL ||
	    (r.keep = json_array()) == NULL ||
	    (q = json_pack("{s:n}", "completed")) == NULL)
		fatalx("out of memory recovering lost tasks");
	rc = ops->find(be, q, collect, &r, why, whylen);
	json_decref(q);
	free(r.ring);
	if (rc == 0 && json_array_size(r.lost) > 0)
		finish_records(ops, be, &r);
	ops->close(be);
	if (rc == -1) {
		json_decref(r.lost);
		json_decref(r.keep);
		return -1;
	}
	ring_open(h, ring);
	/* still pending, and the next start must know they were sent */
	json_array_foreach(r.keep, i, v)
		recover_delivered(h, json_string_value(v));
	json_decref(r.keep);
	log_handed(r.lost);
	if (json_array_size(r.lost) > 0) {
		log_warnx("%zu tasks were unfinished when the last hubd "
		    "stopped: recorded as TaskAborted%s",
		    json_array_size(r.lost), h->cfg.reuse ? ", and sent to "
		    "their clients when they next send a request" : "");
		/* without --reuse the key is new: those clients are gone */
		if (h->cfg.reuse)
			h->lost = by_session(r.lost);
	}
	json_decref(r.lost);
	return 0;
}

void
recover_deliver(struct hub *h, void *sock, struct ipp_msg *m)
{
	const char *s = json_string_value(json_object_get(m->header,
	    "session"));
	struct ipp_buf id;
	struct ipp_frames out;
	json_t *l, *e;
	size_t i;

	if (s == NULL || (sock != h->mux_c && sock != h->task_c &&
	    sock != h->bc_c) || (l = json_object_get(h->lost, s)) == NULL)
		return;
	id.data = ipp_frame_data(&m->fr, 0);
	id.len = ipp_frame_len(&m->fr, 0);
	ipp_frames_init(&out);
	json_array_foreach(l, i, e) {
		if (ipp_msg_build(&h->sess, &out, &id, 1, "", json_incref(
		    json_object_get(e, "header")), json_object_get(e,
		    "parent"), json_incref(json_object_get(e, "metadata")),
		    json_incref(json_object_get(e, "content"))) == -1) {
			log_warn("cannot build the TaskAborted reply of %s",
			    json_string_value(json_object_get(e, "msg_id")));
			continue;
		}
		if (hub_send(h, sock, &out) == 0)
			hubdb_update(h->db, json_string_value(
			    json_object_get(e, "msg_id")), NULL, NULL, 1);
	}
	ipp_frames_release(&out);
	log_info("sent %zu TaskAborted replies of lost tasks to client "
	    "session %s", json_array_size(l), s);
	json_object_del(h->lost, s);
	if (json_object_size(h->lost) == 0) {
		json_decref(h->lost);
		h->lost = NULL;
	}
}
