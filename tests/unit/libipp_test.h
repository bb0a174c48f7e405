/*
 * libipp_test.h - what the libipp unit tests (t_frame, t_codec, t_sign,
 * t_util, t_connfile) share: the spec's HMAC test vector and long-key
 * digests, and small helpers that build frames and hand-made messages.
 * The helpers are static inline so each program takes only what it uses;
 * the header is not a test of its own.
 */
#ifndef LIBIPP_TEST_H
#define LIBIPP_TEST_H

#include <stdio.h>
#include <string.h>

#include "ipp.h"

/* Spec section 4.1a: observed with jupyter_client 7.4.9. */
#define TV_KEY		"0123abcd-4567ef0123456789abcdef01"
#define TV_HEADER	"{\"msg_id\": \"c1_1_0\", \"msg_type\": " \
			"\"connection_request\", \"username\": \"u\", " \
			"\"session\": \"c1\", \"date\": " \
			"\"2026-01-01T00:00:00.000000Z\", \"version\": \"5.3\"}"
#define TV_SIG		"455445d374a41e6c4bfd6acd2eabcdc585da065aa919e3443b30" \
			"ab74f1ce6d70"

/*
 * Keys at and past SHA-256's 64-byte block, where RFC 2104 switches to
 * hashing the key first.  Digests over TV_HEADER "{}" "{}" "{}" were
 * computed independently with CPython 3.11's hmac module:
 *   hmac.new(key, TV_HEADER + b'{}{}{}', hashlib.sha256).hexdigest()
 * with key = b'0123456789' * 10 + b'abc', b'K' * 64 and b'K' * 65.
 */
#define LK_103		"0123456789012345678901234567890123456789" \
			"0123456789012345678901234567890123456789" \
			"01234567890123456789abc"
#define LK_103_SIG	"628ccb5fa2059597fc646270444ed19a33bfcbdd2ae3408e31b8" \
			"d25005bddf7d"
#define LK_64_SIG	"20d3a26987dc92e68df22bb72f4563de96c97db7ec68057cf19c" \
			"2a4de25db783"
#define LK_65_SIG	"1ea26044ea11f59eae1ee5603a2c16f89094abee1ada6fd370a2" \
			"b280b52acbbd"

/* 2026-01-01T00:00:00Z */
#define T2026		1767225600.0

static inline void
add_str(struct ipp_frames *fr, const char *s)
{
	if (ipp_frames_add(fr, s, strlen(s)) == -1)
		fatal("ipp_frames_add");
}

/* nids identities, the delimiter, then nafter parts named p0, p1... */
static inline void
make_frames(struct ipp_frames *fr, int nids, int nafter)
{
	char b[32];
	int i;

	ipp_frames_clear(fr);
	for (i = 0; i < nids; i++) {
		snprintf(b, sizeof(b), "id%d", i);
		add_str(fr, b);
	}
	add_str(fr, IPP_DELIM);
	for (i = 0; i < nafter; i++) {
		snprintf(b, sizeof(b), "p%d", i);
		add_str(fr, b);
	}
}

static inline int
frame_is(const struct ipp_frames *fr, int i, const void *data, size_t len)
{
	return i < fr->n && ipp_frame_len(fr, i) == len &&
	    (len == 0 || memcmp(ipp_frame_data(fr, i), data, len) == 0);
}

/*
 * A message on the wire built by hand: two routing ids, then the given
 * signature and parts.  sig NULL means "sign the parts correctly with s".
 */
static inline void
hand_msg(struct ipp_msg *m, struct ipp_session *s, const char *sig,
    const char *h, const char *p, const char *md, const char *c)
{
	const void *parts[4] = { h, p, md, c };
	size_t lens[4] = { strlen(h), strlen(p), strlen(md), strlen(c) };
	char mysig[IPP_SIG_HEXLEN + 1];

	if (sig == NULL) {
		ipp_sign(s, parts, lens, mysig);
		sig = mysig;
	}
	ipp_msg_release(m);
	add_str(&m->fr, "router-id");
	add_str(&m->fr, "client-id");
	add_str(&m->fr, IPP_DELIM);
	add_str(&m->fr, sig);
	add_str(&m->fr, h);
	add_str(&m->fr, p);
	add_str(&m->fr, md);
	add_str(&m->fr, c);
}

static inline void
sign_str(const char *key, const char *h, const char *p, const char *md,
    const char *c, char out[IPP_SIG_HEXLEN + 1])
{
	struct ipp_session s;
	const void *parts[4] = { h, p, md, c };
	size_t lens[4] = { strlen(h), strlen(p), strlen(md), strlen(c) };

	if (ipp_session_init(&s, key, "signer") == -1)
		fatal("ipp_session_init");
	ipp_sign(&s, parts, lens, out);
	ipp_session_release(&s);
}

static inline int
is_hex(const char *s, size_t n)
{
	return strspn(s, "0123456789abcdef") == n;
}

/* 8 hex, '-', 24 hex: jupyter_client's new_id(). */
static inline int
is_new_id(const char *s)
{
	return strlen(s) == 33 && is_hex(s, 8) && s[8] == '-' &&
	    is_hex(s + 9, 24);
}

static inline int
json_str_is(json_t *o, const char *k, const char *want)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

#endif
