/*
 * codec.c - the codec layer: frames <-> struct ipp_msg.
 *
 * Decoding is where untrusted bytes become structs, so every check lives
 * here: the delimiter and part count (frame.c), the signature over the raw
 * JSON bytes, and that header, parent_header, metadata and content are
 * JSON objects and the header names a string msg_type and msg_id.  What a
 * daemon sees past ipp_msg_decode() is well-formed in that sense; the
 * meaning of the content is still the daemon's to check.
 *
 * Building signs exactly the bytes that are sent.  Two builders: from
 * jansson trees (ipp_msg_build), and from JSON text with the header
 * written directly (ipp_msg_build_text, for engined's hot path); the
 * second is byte for byte the first (tests/unit/t_encode.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipp.h"

#define JSON_DUMP_FLAGS	(JSON_COMPACT | JSON_REAL_PRECISION(17))

void
ipp_msg_init(struct ipp_msg *m)
{
	memset(m, 0, sizeof(*m));
	ipp_frames_init(&m->fr);
}

static void
msg_drop_json(struct ipp_msg *m)
{
	json_decref(m->header);
	json_decref(m->parent);
	json_decref(m->metadata);
	json_decref(m->content);
	m->header = m->parent = m->metadata = m->content = NULL;
	m->msg_type = m->msg_id = NULL;
}

/* Empty m for the next receive, keeping its array of parts. */
void
ipp_msg_clear(struct ipp_msg *m)
{
	msg_drop_json(m);
	ipp_frames_clear(&m->fr);
}

void
ipp_msg_release(struct ipp_msg *m)
{
	msg_drop_json(m);
	ipp_frames_release(&m->fr);
	ipp_msg_init(m);
}

static json_t *
parse_object(const struct ipp_frames *fr, int i, const char *what, char *why,
    size_t whylen)
{
	json_error_t jerr;
	json_t *v;

	v = json_loadb(ipp_frame_data(fr, i), ipp_frame_len(fr, i),
	    JSON_ALLOW_NUL, &jerr);
	if (v == NULL) {
		if (why != NULL)
			snprintf(why, whylen, "%s is not JSON: %s", what,
			    jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		if (why != NULL)
			snprintf(why, whylen, "%s is not a JSON object", what);
		json_decref(v);
		return NULL;
	}
	return v;
}

int
ipp_msg_verify(struct ipp_session *s, struct ipp_msg *m, char *why,
    size_t whylen)
{
	const void *parts[4];
	size_t lens[4];
	int d, i;

	msg_drop_json(m);
	if ((d = ipp_frames_delim(&m->fr)) == -1) {
		if (why != NULL)
			snprintf(why, whylen, "no '%s' delimiter followed by 5 "
			    "parts in %d-part message", IPP_DELIM, m->fr.n);
		errno = EPROTO;
		return -1;
	}
	for (i = 0; i < 4; i++) {
		parts[i] = ipp_frame_data(&m->fr, d + 2 + i);
		lens[i] = ipp_frame_len(&m->fr, d + 2 + i);
	}
	if (ipp_session_verify(s, ipp_frame_data(&m->fr, d + 1),
	    ipp_frame_len(&m->fr, d + 1), parts, lens) == -1) {
		int e = errno;

		if (why != NULL)
			snprintf(why, whylen, "%s", e == EALREADY ?
			    "duplicate signature (replayed message)" :
			    ipp_frame_len(&m->fr, d + 1) == 0 ?
			    "unsigned message" : "invalid signature");
		errno = e;
		return -1;
	}
	m->nids = d;
	m->sig = d + 1;
	m->buf0 = d + 6;
	return 0;
}

/* What the four JSON parts are called in why texts. */
static const char *const part_names[4] = { "header", "parent_header",
    "metadata", "content" };

int
ipp_msg_parse(struct ipp_msg *m, char *why, size_t whylen)
{
	json_t *obj[4] = { NULL, NULL, NULL, NULL };
	json_t *t, *id;
	int i;

	msg_drop_json(m);
	for (i = 0; i < 4; i++) {
		if ((obj[i] = parse_object(&m->fr, m->sig + 1 + i,
		    part_names[i], why, whylen)) == NULL)
			goto bad;
	}
	t = json_object_get(obj[0], "msg_type");
	id = json_object_get(obj[0], "msg_id");
	if (!json_is_string(t) || !json_is_string(id)) {
		if (why != NULL)
			snprintf(why, whylen, "header lacks string msg_type "
			    "or msg_id");
		goto bad;
	}
	/* as C strings they would be cut short: two ids, one key */
	if (memchr(json_string_value(t), '\0', json_string_length(t)) ||
	    memchr(json_string_value(id), '\0', json_string_length(id))) {
		if (why != NULL)
			snprintf(why, whylen, "msg_type or msg_id holds a NUL");
		goto bad;
	}
	m->header = obj[0];
	m->parent = obj[1];
	m->metadata = obj[2];
	m->content = obj[3];
	m->msg_type = json_string_value(t);
	m->msg_id = json_string_value(id);
	return 0;
bad:
	for (i = 0; i < 4; i++)
		json_decref(obj[i]);
	errno = EBADMSG;
	return -1;
}

int
ipp_msg_decode(struct ipp_session *s, struct ipp_msg *m, char *why,
    size_t whylen)
{
	if (ipp_msg_verify(s, m, why, whylen) == -1)
		return -1;
	return ipp_msg_parse(m, why, whylen);
}

/*
 * Where the parts of m lie, without checking the signature, for paths
 * that peek at a message to decide whether it is worth verifying: sets
 * nids, sig and buf0 as ipp_msg_verify does.  -1/EPROTO (m unchanged)
 * without a delimiter followed by 5 parts.
 */
int
ipp_msg_locate(struct ipp_msg *m)
{
	int d;

	if ((d = ipp_frames_delim(&m->fr)) == -1)
		return -1;
	m->nids = d;
	m->sig = d + 1;
	m->buf0 = d + 6;
	return 0;
}

/* ipp_json_peek of part (0 header ... 3 content) of a located m. */
int
ipp_msg_peek(const struct ipp_msg *m, int part, const char *key, char *out,
    size_t outlen)
{
	if (part < 0 || part > 3) {
		errno = EINVAL;
		return -1;
	}
	return ipp_json_peek(ipp_msg_part(m, part), ipp_msg_partlen(m, part),
	    key, out, outlen);
}

/*
 * One JSON part (0 header ... 3 content) of a located m parsed alone,
 * when a peek will not do; NULL/EBADMSG, with why, when it is not a JSON
 * object.
 */
json_t *
ipp_msg_part_object(const struct ipp_msg *m, int part, char *why,
    size_t whylen)
{
	json_t *v;

	if (part < 0 || part > 3) {
		errno = EINVAL;
		return NULL;
	}
	if ((v = parse_object(&m->fr, m->sig + 1 + part, part_names[part],
	    why, whylen)) == NULL)
		errno = EBADMSG;
	return v;
}

int
ipp_msg_recv(struct ipp_session *s, void *sock, struct ipp_msg *m, int flags,
    char *why, size_t whylen)
{
	msg_drop_json(m);
	if (ipp_frames_recv(sock, &m->fr, flags) == -1) {
		if (why != NULL)
			snprintf(why, whylen, "receive: %s", zmq_strerror(errno));
		return -1;
	}
	if (ipp_msg_decode(s, m, why, whylen) == -1) {
		int e = errno;

		ipp_frames_clear(&m->fr);
		errno = e;
		return -1;
	}
	return 0;
}

char *
ipp_json_dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_DUMP_FLAGS);

	if (s == NULL)
		errno = ENOMEM;
	return s;
}

json_t *
ipp_header_new(struct ipp_session *s, const char *msg_type)
{
	char id[160], date[40];

	ipp_session_msg_id(s, id, sizeof(id));
	ipp_iso_now(date, sizeof(date));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "msg_id", id,
	    "msg_type", msg_type, "username", s->username, "session",
	    s->session, "date", date, "version", IPP_PROTOCOL_VERSION);
}

/*
 * The rule ipykernel and ipyparallel's engine apply to the request they
 * answer, so that a reply one of our programs makes, or makes up for a
 * lost engine, is typed as theirs would be.
 */
int
ipp_reply_type(const char *req, char *buf, size_t len)
{
	const char *us = strrchr(req, '_');
	int n = us != NULL ? (int)(us - req) : (int)strlen(req);

	if (snprintf(buf, len, "%.*s_reply", n, req) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * Whether a peer answers a message of this type with a *_reply: the
 * shell and control requests do, comm_* and the like do not.  A bare
 * "_request" names no request.
 */
int
ipp_is_request(const char *msg_type)
{
	size_t n = strlen(msg_type);

	return n > 8 && strcmp(msg_type + n - 8, "_request") == 0;
}

/*
 * JSON string literal of s, quotes included.  Escapes what JSON requires
 * and nothing else, as jansson does without JSON_ENSURE_ASCII.  -1 when
 * it does not fit.
 */
static int
json_quote(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";	/* as jansson */
	size_t o = 0;
	unsigned char c;

	if (len < 3)
		return -1;
	buf[o++] = '"';
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (o + 7 > len)
			return -1;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20) {
			buf[o++] = '\\';
			switch (c) {
			case '\b': buf[o++] = 'b'; break;
			case '\f': buf[o++] = 'f'; break;
			case '\n': buf[o++] = 'n'; break;
			case '\r': buf[o++] = 'r'; break;
			case '\t': buf[o++] = 't'; break;
			default:
				memcpy(buf + o, "u00", 3);
				buf[o + 3] = hex[c >> 4];
				buf[o + 4] = hex[c & 15];
				o += 5;
			}
		} else
			buf[o++] = (char)c;
	}
	if (o + 2 > len)
		return -1;
	buf[o++] = '"';
	buf[o] = '\0';
	return 0;
}

/*
 * The header of a new message as JSON text: the keys, order and formats
 * of ipp_header_new() dumped by ipp_json_dump(), byte for byte
 * (tests/unit/t_encode.c checks it), without a jansson tree.
 */
int
ipp_header_text(struct ipp_session *s, const char *msg_type, char *buf,
    size_t len)
{
	char id[160], date[40];
	char qid[sizeof(id) * 6 + 3], qtype[128 * 6 + 3];
	char quser[sizeof(s->username) * 6 + 3];
	char qsess[sizeof(s->session) * 6 + 3];
	int n;

	ipp_session_msg_id(s, id, sizeof(id));
	ipp_iso_now(date, sizeof(date));
	if (json_quote(qid, sizeof(qid), id) == -1 ||
	    json_quote(qtype, sizeof(qtype), msg_type) == -1 ||
	    json_quote(quser, sizeof(quser), s->username) == -1 ||
	    json_quote(qsess, sizeof(qsess), s->session) == -1)
		goto toolong;
	n = snprintf(buf, len, "{\"msg_id\":%s,\"msg_type\":%s,"
	    "\"username\":%s,\"session\":%s,\"date\":\"%s\","
	    "\"version\":\"%s\"}", qid, qtype, quser, qsess, date,
	    IPP_PROTOCOL_VERSION);
	if (n < 0 || (size_t)n >= len)
		goto toolong;
	return 0;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}

/*
 * ipp_msg_build from JSON text: a sender whose messages are mostly the
 * same few texts (engined: the request's header as parent, its
 * {"engine": uuid}, a status) dumps them once, or never, rather than
 * building jansson trees and dumping them for every message.
 */
int
ipp_msg_build_text(struct ipp_session *s, struct ipp_frames *out,
    const struct ipp_buf *ids, int nids, const char *msg_type,
    const char *parent, const char *md, const char *content)
{
	char hdr[2048], sig[IPP_SIG_HEXLEN + 1];
	const void *parts[4];
	size_t lens[4];
	int i;

	ipp_frames_clear(out);
	if (ipp_header_text(s, msg_type, hdr, sizeof(hdr)) == -1)
		return -1;
	parts[0] = hdr;
	parts[1] = parent != NULL ? parent : "{}";
	parts[2] = md != NULL ? md : "{}";
	parts[3] = content != NULL ? content : "{}";
	for (i = 0; i < 4; i++)
		lens[i] = strlen(parts[i]);
	ipp_sign(s, parts, lens, sig);
	for (i = 0; i < nids; i++)
		if (ipp_frames_add(out, ids[i].data, ids[i].len) == -1)
			goto fail;
	if (ipp_frames_add(out, IPP_DELIM, IPP_DELIM_LEN) == -1 ||
	    ipp_frames_add(out, sig, IPP_SIG_HEXLEN) == -1)
		goto fail;
	for (i = 0; i < 4; i++)
		if (ipp_frames_add(out, parts[i], lens[i]) == -1)
			goto fail;
	return 0;
fail:
	ipp_frames_clear(out);
	return -1;
}

/*
 * Write delimiter, signature and the four dumped parts at the end of out.
 */
static int
append_signed(struct ipp_session *s, struct ipp_frames *out,
    const json_t *const obj[4])
{
	char *txt[4] = { NULL, NULL, NULL, NULL };
	const void *parts[4];
	size_t lens[4];
	char sig[IPP_SIG_HEXLEN + 1];
	int i, rc = -1;

	for (i = 0; i < 4; i++) {
		if ((txt[i] = ipp_json_dump(obj[i])) == NULL)
			goto out;
		parts[i] = txt[i];
		lens[i] = strlen(txt[i]);
	}
	ipp_sign(s, parts, lens, sig);
	if (ipp_frames_add(out, IPP_DELIM, IPP_DELIM_LEN) == -1 ||
	    ipp_frames_add(out, sig, strlen(sig)) == -1)
		goto out;
	for (i = 0; i < 4; i++)
		if (ipp_frames_add(out, parts[i], lens[i]) == -1)
			goto out;
	rc = 0;
out:
	for (i = 0; i < 4; i++)
		free(txt[i]);
	return rc;
}

int
ipp_msg_build(struct ipp_session *s, struct ipp_frames *out,
    const struct ipp_buf *ids, int nids, const char *msg_type,
    json_t *header_new, const json_t *parent, json_t *metadata_new,
    json_t *content_new)
{
	json_t *empty = json_object();
	const json_t *obj[4];
	int i, rc = -1, e = ENOMEM;

	ipp_frames_clear(out);
	if (header_new == NULL)
		header_new = ipp_header_new(s, msg_type);
	if (metadata_new == NULL)
		metadata_new = json_object();
	if (content_new == NULL)
		content_new = json_object();
	if (empty == NULL || header_new == NULL || metadata_new == NULL ||
	    content_new == NULL)
		goto out;
	obj[0] = header_new;
	obj[1] = parent ? parent : empty;
	obj[2] = metadata_new;
	obj[3] = content_new;
	for (i = 0; i < nids; i++)
		if (ipp_frames_add(out, ids[i].data, ids[i].len) == -1)
			goto out;
	if (append_signed(s, out, obj) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		ipp_frames_clear(out);
	json_decref(empty);
	json_decref(header_new);
	json_decref(metadata_new);
	json_decref(content_new);
	if (rc == -1)
		errno = e;
	return rc;
}

int
ipp_msg_reseal(struct ipp_session *s, struct ipp_msg *m)
{
	struct ipp_frames tail;
	const json_t *obj[4] = { m->header, m->parent, m->metadata,
	    m->content };
	int i, rc = -1;

	/* only a successfully decoded message has the JSON and a sig index */
	if (m->header == NULL || m->parent == NULL || m->metadata == NULL ||
	    m->content == NULL || m->sig < 1 || m->sig + 4 >= m->fr.n) {
		errno = EINVAL;
		return -1;
	}
	ipp_frames_init(&tail);
	if (append_signed(s, &tail, obj) == -1)
		goto out;
	/* tail = delim sig h p md c: replace parts delim..content in place */
	for (i = 0; i < 6; i++) {
		zmq_msg_close(&m->fr.f[m->sig - 1 + i]);
		m->fr.f[m->sig - 1 + i] = tail.f[i];
		zmq_msg_init(&tail.f[i]);
	}
	/* the caller may have replaced these strings in the header */
	m->msg_type = json_string_value(json_object_get(m->header, "msg_type"));
	m->msg_id = json_string_value(json_object_get(m->header, "msg_id"));
	rc = 0;
out:
	ipp_frames_release(&tail);
	return rc;
}

json_t *
ipp_error_content(const char *ename, const char *fmt, ...)
{
	char evalue[1024], tb[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(evalue, sizeof(evalue), fmt, ap);
	va_end(ap);
	snprintf(tb, sizeof(tb), "%s: %s", ename, evalue);
	return json_pack("{s:s, s:s, s:s, s:[s], s:{}}", "status", "error",
	    "ename", ename, "evalue", evalue, "traceback", tb, "engine_info");
}
