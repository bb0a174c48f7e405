/*
 * bcast.c - the broadcast view (client.broadcast_view()).
 *
 * ipcontroller runs a binary tree of broadcast schedulers; the client and
 * the engines only see its two ends, so hubd is root and leaves at once.
 * A request [client_rid, DELIM, ...] whose metadata lists
 * targets [[uuid, id], ...] is copied to each target with header.msg_id
 * "<original>_<uuid>", metadata.targets narrowed to that engine and
 * metadata.original_msg_id set, re-signed, and sent on the leaf socket the
 * engine is connected to (engine id modulo the number of leaves).
 *
 * Non-coalescing: each engine's reply goes to the client as it arrives,
 * without a routing frame.  Coalescing: the replies are gathered and one
 * message goes back, carrying the last reply's header, parent and content,
 * metadata.broadcast_targets, and every reply's buffers concatenated in
 * target order.  Unlike ipyparallel 7.1, every per-engine message is
 * recorded in the task DB (queue "broadcast").
 *
 * Both directions read messages with the scanner (relay.c's
 * hub_recv_scan).  The per-engine copies are made by splicing the
 * client's header and metadata texts - three values replaced - rather
 * than by re-encoding trees; only the targets list is parsed, once per
 * broadcast.  What the splice cannot do simply (texts that need escapes,
 * or too long for its buffers) goes the old way, through the decoder's
 * trees and ipp_msg_reseal, decided before any engine is sent anything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubd.h"

/* the splice's buffers: larger texts take the tree path */
#define BC_HDR_MAX	2048
#define BC_MD_MAX	8192
#define BC_TG_MAX	512
#define BC_ID_MAX	512

struct bcast {
	char		*orig;		/* the client's msg_id, any length */
	char		 client_rid[IPP_RID_MAX];
	size_t		 client_ridlen;
	int		 coalescing;
	json_t		*targets;	/* [[uuid, id], ...] still expected */
	int		 n, nreplied;
	struct ipp_frames *bufs;	/* per target, in target order */
	struct ipp_frames last;		/* last reply's JSON parts, shared */
};

/* What the relays read of a broadcast's metadata. */
static const char *const req_keys[] = { "targets", "original_msg_id",
    "is_coalescing" };
enum { RQ_TARGETS, RQ_ORIG, RQ_COAL, RQ_N };
static const char *const rep_keys[] = { "is_coalescing", "original_msg_id" };
enum { RP_COAL, RP_ORIG, RP_N };

static void
bcast_free(struct bcast *b)
{
	int i;

	json_decref(b->targets);
	for (i = 0; i < b->n; i++)
		ipp_frames_release(&b->bufs[i]);
	free(b->bufs);
	ipp_frames_release(&b->last);
	free(b->orig);
	free(b);
}

static int
target_index(struct bcast *b, const char *uuid)
{
	json_t *t;
	size_t i;

	json_array_foreach(b->targets, i, t)
		if (json_is_string(json_array_get(t, 0)) &&
		    strcmp(json_string_value(json_array_get(t, 0)), uuid) == 0)
			return (int)i;
	return -1;
}

/* All replies are in: one message for the client. */
static void
coalesce(struct hub *h, struct bcast *b)
{
	struct ipp_frames out;
	struct ipp_buf id = { b->client_rid, b->client_ridlen };
	json_t *p[4] = { NULL, NULL, NULL, NULL };
	int i, k;

	ipp_frames_init(&out);
	/* the last reply was checked on its way in: parse it once, here */
	for (i = 0; i < 4 && b->last.n == 4; i++)
		if ((p[i] = json_loadb(ipp_frame_data(&b->last, i),
		    ipp_frame_len(&b->last, i), JSON_ALLOW_NUL, NULL)) == NULL ||
		    !json_is_object(p[i]))
			break;
	if (i < 4) {
		log_warnx("cannot coalesce broadcast %s", b->orig);
		for (i = 0; i < 4; i++)
			json_decref(p[i]);
		return;
	}
	json_object_set(p[2], "broadcast_targets", b->targets);
	if (ipp_msg_build(&h->sess, &out, &id, 1, "apply_reply", p[0], p[1],
	    p[2], p[3]) == -1) {
		log_warnx("cannot coalesce broadcast %s", b->orig);
		json_decref(p[1]);
		ipp_frames_release(&out);
		return;
	}
	json_decref(p[1]);
	for (i = 0; i < b->n; i++)
		for (k = 0; k < b->bufs[i].n; k++)
			ipp_frames_add_msg(&out, &b->bufs[i].f[k]);
	hub_send(h, h->bc_c, &out);
	ipp_frames_release(&out);
}

/* One engine's reply (real or fabricated) for broadcast b. */
static void
bcast_reply(struct hub *h, struct bcast *b, const char *uuid,
    struct ipp_msg *m)
{
	int i = target_index(b, uuid), k;

	if (i < 0 || b->bufs[i].n == -1)
		return;
	for (k = m->buf0; k < m->fr.n; k++)
		ipp_frames_add_msg(&b->bufs[i], &m->fr.f[k]);
	ipp_frames_clear(&b->last);
	for (k = 0; k < 4; k++)
		if (ipp_frames_add_msg(&b->last, &m->fr.f[m->sig + 1 + k]) ==
		    -1)
			fatalx("out of memory");
	if (++b->nreplied < b->n)
		return;
	coalesce(h, b);
	ipp_map_del(h->bcasts, b->orig);
	bcast_free(b);
}

/* A gather for the client whose request is m; targets_new is taken. */
static struct bcast *
bcast_new(struct hub *h, const struct ipp_msg *m, const char *orig,
    int coalescing, json_t *targets_new)
{
	struct bcast *b;
	int k;

	if (h->bcasts == NULL && (h->bcasts = ipp_map_new()) == NULL)
		fatalx("out of memory");
	b = xcalloc(1, sizeof(*b));
	b->orig = xstrdup(orig);
	b->client_ridlen = ipp_frame_len(&m->fr, 0);
	if (b->client_ridlen > sizeof(b->client_rid))
		fatalx("routing id of %zu bytes", b->client_ridlen);
	memcpy(b->client_rid, ipp_frame_data(&m->fr, 0), b->client_ridlen);
	b->coalescing = coalescing;
	b->targets = targets_new;
	b->n = (int)json_array_size(targets_new);
	b->bufs = xcalloc((size_t)b->n + 1, sizeof(*b->bufs));
	ipp_frames_init(&b->last);
	for (k = 0; k < b->n; k++)
		ipp_frames_init(&b->bufs[k]);
	if (b->coalescing && b->n > 0)
		ipp_map_put(h->bcasts, b->orig, b);
	return b;
}

/*
 * The copy of the request for engine uuid is made: rec is it as recorded
 * ([client_rid, DELIM, ...]), out as sent ([uuid, client_rid, DELIM,
 * ...]; emptied here).  header_new and reqmeta_new are its trees when it
 * was built from them; NULL keeps rec's frames to parse when needed.
 */
static void
bcast_one(struct hub *h, struct bcast *b, struct ipp_msg *rec,
    struct ipp_frames *out, const char *sub, const char *uuid,
    json_t *header_new, json_t *reqmeta_new)
{
	struct engine *e = engine_by_uuid(h, uuid);
	struct task *t;
	int i;

	if (task_find(h, sub) != NULL) {
		json_decref(header_new);
		json_decref(reqmeta_new);
		ipp_frames_clear(out);
		return;
	}
	t = task_new(h, sub, TQ_BCAST);
	task_set_rid(t, b->client_rid, b->client_ridlen);
	t->header = header_new;
	t->reqmeta = reqmeta_new;
	/* [DELIM, sig, header, parent, metadata]: task_request_part */
	for (i = rec->nids; header_new == NULL && i <= rec->sig + 3; i++)
		if (ipp_frames_add_msg(&t->frames, &rec->fr.f[i]) == -1)
			fatalx("out of memory");
	task_record_new(h, rec, sub, TQ_BCAST, e ? e->uuid : NULL);
	if (e == NULL || e->state != ENGINE_REGISTERED) {
		ipp_frames_clear(out);
		bcast_engine_lost(h, t, uuid);
		return;
	}
	t->engine = e;
	t->state = TS_RUNNING;
	task_set_engine_uuid(t, uuid);
	TAILQ_INSERT_TAIL(&e->mux_pending, t, q);
	hub_send(h, h->bc_e[e->id % HUB_MAX_LEAVES], out);
}

static void
fresh(json_t **v)
{
	json_t *c;

	if ((c = json_deep_copy(*v)) == NULL)
		fatalx("out of memory");
	json_decref(*v);
	*v = c;
}

/* The old way: a decoded request, its trees changed and re-signed. */
static void
bcast_tree(struct hub *h, struct ipp_msg *m)
{
	struct ipp_frames *out = &h->tx.fr;
	json_t *targets, *tg, *orig_id;
	struct bcast *b;
	char *sub;
	size_t i;
	int k;

	targets = json_object_get(m->metadata, "targets");
	if (!json_is_array(targets) || !is_task_type(m->msg_type)) {
		hub_badinput(h,
		    "dropped %s on broadcast: want an apply or execute "
		    "request with metadata.targets", m->msg_type);
		return;
	}
	orig_id = json_object_get(m->metadata, "original_msg_id");
	b = bcast_new(h, m, json_is_string(orig_id) ?
	    json_string_value(orig_id) : m->msg_id,
	    json_is_true(json_object_get(m->metadata, "is_coalescing")),
	    json_deep_copy(targets));
	json_object_set_new(m->metadata, "original_msg_id",
	    json_string(b->orig));
	json_array_foreach(b->targets, i, tg) {
		const char *uuid = json_string_value(json_array_get(tg, 0));

		if (uuid == NULL)
			continue;
		if (asprintf(&sub, "%s_%s", b->orig, uuid) == -1)
			fatalx("out of memory");
		/*
		 * The previous copy's record holds m's trees (the DB thread
		 * reads them later): change fresh ones, not those.
		 */
		fresh(&m->header);
		fresh(&m->metadata);
		json_object_set_new(m->header, "msg_id", json_string(sub));
		json_object_set_new(m->metadata, "targets",
		    json_pack("[O]", tg));
		if (ipp_msg_reseal(&h->sess, m) == -1)
			fatalx("out of memory");
		ipp_frames_clear(out);
		if (ipp_frames_add(out, uuid, strlen(uuid)) == -1)
			fatalx("out of memory");
		for (k = 0; k < m->fr.n; k++)
			if (ipp_frames_add_msg(out, &m->fr.f[k]) == -1)
				fatalx("out of memory");
		bcast_one(h, b, m, out, sub, uuid, json_incref(m->header),
		    json_incref(m->metadata));
		free(sub);
	}
	if (!b->coalescing || b->n == 0)
		bcast_free(b);
}

/* s goes into JSON as it is, between quotes: printable ASCII, no " or \. */
static int
plain(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

/* The scanned request's texts for one engine and a signature. */
struct bc_texts {
	char		 hdr[BC_HDR_MAX], md[BC_MD_MAX], sig[IPP_SIG_HEXLEN + 1];
	size_t		 hlen, mlen;
};

/*
 * Splice the copy for target tg (its uuid, orig and the spans the scanner
 * found) into x, and its msg_id into sub: 0, or -1 when it does not fit
 * or needs escapes.
 */
static int
bc_make(const struct ipp_msg *m, const struct scanned *sc,
    const struct ipp_jval *idv, const char *orig, const json_t *tg,
    const char *uuid, char *sub, struct bc_texts *x)
{
	static const char *const hkey[] = { "msg_id" };
	static const char *const mkeys[] = { "targets", "original_msg_id" };
	char subq[BC_ID_MAX + 2], tgq[BC_TG_MAX + 2], oq[BC_ID_MAX / 2 + 2];
	const char *hw[1] = { subq }, *mw[2] = { tgq, oq };
	const struct ipp_jval mv[2] = { sc->md[RQ_TARGETS], sc->md[RQ_ORIG] };
	size_t tl;
	int sl;

	if (!plain(uuid) || (sl = snprintf(subq, sizeof(subq), "\"%s_%s\"",
	    orig, uuid)) >= (int)sizeof(subq))
		return -1;
	snprintf(sub, BC_ID_MAX, "%.*s", sl - 2, subq + 1);
	/* metadata.targets narrowed to [tg] */
	tgq[0] = '[';
	if ((tl = json_dumpb(tg, tgq + 1, BC_TG_MAX - 1,
	    JSON_COMPACT | JSON_REAL_PRECISION(17))) == 0 || tl > BC_TG_MAX - 1)
		return -1;
	tgq[tl + 1] = ']';
	tgq[tl + 2] = '\0';
	snprintf(oq, sizeof(oq), "\"%s\"", orig);
	if ((x->hlen = ipp_json_splice(ipp_msg_part(m, 0),
	    ipp_msg_partlen(m, 0), hkey, idv, hw, 1, x->hdr,
	    sizeof(x->hdr))) == 0 ||
	    (x->mlen = ipp_json_splice(ipp_msg_part(m, 2),
	    ipp_msg_partlen(m, 2), mkeys, mv, mw, 2, x->md,
	    sizeof(x->md))) == 0)
		return -1;
	return 0;
}

/* Sign the spliced texts with the request's parent and content. */
static void
bc_sign(struct hub *h, const struct ipp_msg *m, struct bc_texts *x)
{
	const void *parts[4];
	size_t lens[4];
	int i;

	parts[0] = x->hdr;
	lens[0] = x->hlen;
	parts[2] = x->md;
	lens[2] = x->mlen;
	for (i = 1; i < 4; i += 2) {
		parts[i] = ipp_msg_part(m, i);
		lens[i] = ipp_msg_partlen(m, i);
	}
	ipp_sign(&h->sess, parts, lens, x->sig);
}

/*
 * The scanned request: 0 when every copy can be spliced and all went out,
 * -1 (nothing done) when the tree path must take it.
 */
static int
bcast_spliced(struct hub *h, struct ipp_msg *m, const struct scanned *sc,
    json_t *targets)
{
	static const char *const idkey[] = { "msg_id" };
	struct ipp_msg *rec = &h->tx;
	struct bc_texts x;
	struct ipp_jval idv;
	struct bcast *b;
	char orig[BC_ID_MAX / 2], sub[BC_ID_MAX];
	const char *uuid;
	json_t *tg;
	size_t i;
	int k, pass;

	if (sc->md[RQ_ORIG].type == IPP_JSTR) {
		if (ipp_jval_str(&sc->md[RQ_ORIG], orig, sizeof(orig)) == -1)
			return -1;
	} else if (snprintf(orig, sizeof(orig), "%s", sc->msg_id) >=
	    (int)sizeof(orig))
		return -1;
	if (!plain(orig) || ipp_json_scan(ipp_msg_part(m, 0),
	    ipp_msg_partlen(m, 0), idkey, 1, &idv) == -1)
		return -1;
	/* pass 0 only checks that every copy can be made */
	for (pass = 0, b = NULL; pass < 2; pass++) {
		if (pass == 1)
			b = bcast_new(h, m, orig, sc->md[RQ_COAL].type ==
			    IPP_JTRUE, json_incref(targets));
		json_array_foreach(targets, i, tg) {
			if ((uuid = json_string_value(json_array_get(tg, 0))) ==
			    NULL)
				continue;
			if (bc_make(m, sc, &idv, orig, tg, uuid, sub,
			    &x) == -1) {
				if (pass == 0)
					return -1;
				fatalx("broadcast copy changed size");
			}
			if (pass == 0)
				continue;
			bc_sign(h, m, &x);
			/* [uuid, client_rid, DELIM, sig, h, p, md, c, bufs] */
			ipp_frames_clear(&rec->fr);
			if (ipp_frames_add(&rec->fr, uuid, strlen(uuid)) == -1 ||
			    ipp_frames_add_msg(&rec->fr, &m->fr.f[0]) == -1 ||
			    ipp_frames_add_msg(&rec->fr, &m->fr.f[m->nids]) ==
			    -1 ||
			    ipp_frames_add(&rec->fr, x.sig, strlen(x.sig)) ==
			    -1 ||
			    ipp_frames_add(&rec->fr, x.hdr, x.hlen) == -1 ||
			    ipp_frames_add_msg(&rec->fr, &m->fr.f[m->sig + 2]) ==
			    -1 ||
			    ipp_frames_add(&rec->fr, x.md, x.mlen) == -1 ||
			    ipp_frames_add_msg(&rec->fr, &m->fr.f[m->sig + 4]) ==
			    -1)
				fatalx("out of memory");
			for (k = m->buf0; k < m->fr.n; k++)
				if (ipp_frames_add_msg(&rec->fr, &m->fr.f[k]) ==
				    -1)
					fatalx("out of memory");
			rec->nids = 2;
			rec->sig = 3;
			rec->buf0 = 8;
			bcast_one(h, b, rec, &rec->fr, sub, uuid, NULL, NULL);
		}
	}
	if (!b->coalescing || b->n == 0)
		bcast_free(b);
	return 0;
}

int
bcast_client(struct hub *h, int arg)
{
	struct ipp_msg *m = &h->rx;
	const struct ipp_jval *tv;
	struct scanned sc;
	json_t *targets;
	char why[256];
	int rc, spliced;

	if ((rc = hub_recv_scan(h, h->bc_c, m, "broadcast", 1, req_keys, RQ_N,
	    &sc)) <= 0)
		goto out;
	if (!sc.parsed) {
		tv = &sc.md[RQ_TARGETS];
		if (tv->type != IPP_JARR || !is_task_type(sc.msg_type)) {
			hub_badinput(h,
			    "dropped %s on broadcast: want an apply or execute "
			    "request with metadata.targets", sc.msg_type);
			goto out;
		}
		/* the one tree of the way: the list of targets */
		if ((targets = json_loadb(tv->p, tv->len, JSON_DECODE_ANY |
		    JSON_ALLOW_NUL, NULL)) == NULL)
			fatalx("out of memory");	/* the scanner vouched */
		spliced = bcast_spliced(h, m, &sc, targets) == 0;
		json_decref(targets);
		if (spliced)
			goto out;
		if (ipp_msg_parse(m, why, sizeof(why)) == -1) {
			hub_badinput(h, "dropped message on broadcast socket: "
			    "%s", why);
			goto out;
		}
	}
	bcast_tree(h, m);
out:
	ipp_frames_clear(&h->tx.fr);
	ipp_msg_clear(m);
	return rc != 0;
}

/* A reply from engine uuid (or made up for it): to the client or a gather. */
static void
deliver(struct hub *h, struct ipp_msg *m, const char *uuid,
    const struct scanned *sc)
{
	char obuf[256];
	const char *orig = NULL;
	struct bcast *b;
	int coal;

	if (sc != NULL && !sc->parsed) {
		coal = sc->md[RP_COAL].type == IPP_JTRUE;
		if (coal && ipp_jval_str(&sc->md[RP_ORIG], obuf,
		    sizeof(obuf)) == 0)
			orig = obuf;
		else if (coal && sc->md[RP_ORIG].type == IPP_JSTR &&
		    ipp_msg_parse(m, NULL, 0) == 0)
			sc = NULL;	/* longer than obuf: read the tree */
	}
	if (sc == NULL || sc->parsed) {
		coal = json_is_true(json_object_get(m->metadata,
		    "is_coalescing"));
		orig = json_string_value(json_object_get(m->metadata,
		    "original_msg_id"));
	}
	if (coal) {
		if (orig != NULL && h->bcasts != NULL &&
		    (b = ipp_map_get(h->bcasts, orig)) != NULL)
			bcast_reply(h, b, uuid, m);
		return;
	}
	/* the client's DEALER gets [DELIM, ...]: drop the engine frame */
	if (m->nids == 2)
		ipp_frames_remove(&m->fr, 0);
	hub_send(h, h->bc_c, &m->fr);
}

int
bcast_engine(struct hub *h, int leaf)
{
	struct ipp_msg *m = &h->rx;
	struct scanned sc;
	struct task *t;
	char uuid[IPP_UUID_MAX];
	size_t n;
	int rc;

	if ((rc = hub_recv_scan(h, h->bc_e[leaf], m, "broadcast (engine side)",
	    2, rep_keys, RP_N, &sc)) <= 0)
		goto out;
	/* no engine has a uuid this long: never cut it down to one */
	if ((n = ipp_frame_len(&m->fr, 0)) >= sizeof(uuid)) {
		hub_badinput(h, "dropped %s on broadcast (engine side) socket: "
		    "routing id of %zu bytes is no engine's", sc.msg_type, n);
		goto out;
	}
	memcpy(uuid, ipp_frame_data(&m->fr, 0), n);
	uuid[n] = '\0';
	if (sc.parent_id[0] != '\0' &&
	    (t = reply_task_id(h, sc.parent_id)) != NULL)
		task_complete(h, t, m, 1);
	deliver(h, m, uuid, &sc);
out:
	ipp_msg_clear(m);
	return rc != 0;
}

/*
 * Engine uuid is gone (or never was): answer for it with EngineError so
 * the client, and a coalescing gather, are not left waiting.
 */
void
bcast_engine_lost(struct hub *h, struct task *t, const char *uuid)
{
	struct ipp_msg m;
	struct ipp_buf id = { t->client_rid, t->client_ridlen };
	json_t *rq, *rmd;
	char now[40];

	/* a spliced request's trees are made only now that they are needed */
	if (t->header == NULL)
		t->header = task_request_part(t, 0);
	if (t->reqmeta == NULL)
		t->reqmeta = task_request_part(t, 2);
	rq = t->reqmeta;
	ipp_iso_now(now, sizeof(now));
	ipp_msg_init(&m);
	rmd = json_pack("{s:s, s:s, s:s, s:b, s:O, s:O}", "status", "error",
	    "engine", uuid, "date", now, "is_broadcast", 1, "is_coalescing",
	    json_is_true(json_object_get(rq, "is_coalescing")) ? json_true() :
	    json_false(), "original_msg_id", json_object_get(rq,
	    "original_msg_id") ? json_object_get(rq, "original_msg_id") :
	    json_null());
	if (ipp_msg_build(&h->sess, &m.fr, &id, 1, "apply_reply", NULL,
	    t->header, rmd, ipp_error_content("EngineError",
	    "engine '%s' is not registered or died", uuid)) == -1 ||
	    ipp_msg_decode(&h->sess, &m, NULL, 0) == -1) {
		log_warnx("cannot build EngineError for broadcast %s",
		    t->msg_id);
		ipp_msg_release(&m);
		return;
	}
	task_complete(h, t, &m, 1);
	deliver(h, &m, uuid, NULL);
	ipp_msg_release(&m);
}
