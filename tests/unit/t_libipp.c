/*
 * t_libipp.c - unit tests of libipp, the protocol library every daemon
 * links.  Covers the framing rules (delimiter search, part counts), HMAC
 * signing against the spec's test vector and against digests computed
 * independently with Python's hmac module, every way ipp_msg_decode
 * rejects a message, build/decode/reseal round trips with buffers, dates,
 * ids, connection files, profile directories, the hash map and the replay
 * history.  Runs under valgrind too; every resource it takes is given back
 * so that leak reports point at libipp.
 *
 * The interop side (jupyter_client producing and checking the same bytes)
 * is tests/t0100-jupyter-client-crosscheck.sh.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipp.h"
#include "tap.h"

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

static char tmpdir[256];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
add_str(struct ipp_frames *fr, const char *s)
{
	if (ipp_frames_add(fr, s, strlen(s)) == -1)
		fatal("ipp_frames_add");
}

/* nids identities, the delimiter, then nafter parts named p0, p1... */
static void
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

static int
frame_is(const struct ipp_frames *fr, int i, const void *data, size_t len)
{
	return i < fr->n && ipp_frame_len(fr, i) == len &&
	    (len == 0 || memcmp(ipp_frame_data(fr, i), data, len) == 0);
}

/*
 * A message on the wire built by hand: two routing ids, then the given
 * signature and parts.  sig NULL means "sign the parts correctly with s".
 */
static void
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

static void
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

static int
is_hex(const char *s, size_t n)
{
	return strspn(s, "0123456789abcdef") == n;
}

/* 8 hex, '-', 24 hex: jupyter_client's new_id(). */
static int
is_new_id(const char *s)
{
	return strlen(s) == 33 && is_hex(s, 8) && s[8] == '-' &&
	    is_hex(s + 9, 24);
}

static void
test_frames(void)
{
	struct ipp_frames fr;
	zmq_msg_t zm;
	int i, d, bad = 0;

	ipp_frames_init(&fr);

	for (i = 0; i <= IPP_MAX_IDS; i++) {
		make_frames(&fr, i, 5);
		if ((d = ipp_frames_delim(&fr)) != i) {
			diag("%d identities: delimiter at %d", i, d);
			bad++;
		}
	}
	ok(bad == 0, "delimiter found after 0..%d identities", IPP_MAX_IDS);

	make_frames(&fr, IPP_MAX_IDS + 1, 5);
	errno = 0;
	ok(ipp_frames_delim(&fr) == -1 && errno == EPROTO,
	    "more than IPP_MAX_IDS identities: EPROTO");

	make_frames(&fr, 2, 4);
	errno = 0;
	ok(ipp_frames_delim(&fr) == -1 && errno == EPROTO,
	    "exactly 4 parts after the delimiter: EPROTO");
	make_frames(&fr, 0, 4);
	errno = 0;
	ok(ipp_frames_delim(&fr) == -1 && errno == EPROTO,
	    "4 parts after a leading delimiter: EPROTO");
	make_frames(&fr, 3, 0);
	errno = 0;
	ok(ipp_frames_delim(&fr) == -1 && errno == EPROTO,
	    "delimiter as the last part: EPROTO");
	make_frames(&fr, 1, 6);
	is_int(ipp_frames_delim(&fr), 1,
	    "6 parts after the delimiter (a buffer)");

	ipp_frames_clear(&fr);
	errno = 0;
	ok(ipp_frames_delim(&fr) == -1 && errno == EPROTO,
	    "empty message: EPROTO");
	for (i = 0; i < 7; i++)
		add_str(&fr, "x");
	errno = 0;
	ok(ipp_frames_delim(&fr) == -1 && errno == EPROTO,
	    "no delimiter at all: EPROTO");

	/* near misses must not be taken for the delimiter */
	ipp_frames_clear(&fr);
	add_str(&fr, "<IDS|MSX>");
	add_str(&fr, "<IDS|MSG>x");
	add_str(&fr, "<IDS|MSG");
	add_str(&fr, IPP_DELIM);
	for (i = 0; i < 5; i++)
		add_str(&fr, "p");
	is_int(ipp_frames_delim(&fr), 3, "near-miss identities are skipped");

	/* receivers split at the first delimiter, as feed_identities does */
	make_frames(&fr, 1, 5);
	add_str(&fr, IPP_DELIM);
	add_str(&fr, "p");
	is_int(ipp_frames_delim(&fr), 1, "the first delimiter wins");

	/* editing operations */
	make_frames(&fr, 0, 2);		/* DELIM p0 p1 */
	ok(ipp_frames_insert(&fr, 0, "zero", 4) == 0 &&
	    frame_is(&fr, 0, "zero", 4) && frame_is(&fr, 1, IPP_DELIM,
	    IPP_DELIM_LEN) && fr.n == 4, "insert at 0 shifts the rest");
	ok(ipp_frames_insert(&fr, fr.n, "", 0) == 0 && frame_is(&fr, 4, "", 0),
	    "insert an empty part at the end");
	errno = 0;
	ok(ipp_frames_insert(&fr, fr.n + 1, "x", 1) == -1 && errno == EINVAL &&
	    fr.n == 5, "insert past the end: EINVAL, unchanged");
	errno = 0;
	ok(ipp_frames_insert(&fr, -1, "x", 1) == -1 && errno == EINVAL,
	    "insert at -1: EINVAL");
	ipp_frames_swap(&fr, 0, 2);
	ok(frame_is(&fr, 0, "p0", 2) && frame_is(&fr, 2, "zero", 4),
	    "swap exchanges two parts");
	ipp_frames_swap(&fr, 0, 99);	/* ignored */
	ipp_frames_remove(&fr, 1);
	ok(fr.n == 4 && frame_is(&fr, 0, "p0", 2) && frame_is(&fr, 1, "zero",
	    4) && frame_is(&fr, 2, "p1", 2), "remove closes the gap");
	ipp_frames_remove(&fr, 99);
	is_int(fr.n, 4, "remove out of range is ignored");

	/* add_msg shares the data of a zmq_msg_t the caller keeps */
	if (zmq_msg_init_size(&zm, 100000) == -1)
		fatal("zmq_msg_init_size");
	memset(zmq_msg_data(&zm), 'b', 100000);
	ok(ipp_frames_add_msg(&fr, &zm) == 0 && fr.n == 5 &&
	    ipp_frame_len(&fr, 4) == 100000 &&
	    ((const char *)ipp_frame_data(&fr, 4))[99999] == 'b',
	    "add_msg appends a shared part");
	zmq_msg_close(&zm);
	ok(((const char *)ipp_frame_data(&fr, 4))[0] == 'b',
	    "shared part outlives the caller's reference");

	/* growth well past the initial capacity */
	ipp_frames_clear(&fr);
	for (i = 0; i < 1000; i++)
		if (ipp_frames_add(&fr, &i, sizeof(i)) == -1)
			break;
	ok(fr.n == 1000 && *(const int *)ipp_frame_data(&fr, 999) == 999,
	    "1000 parts");
	ipp_frames_clear(&fr);
	ok(fr.n == 0 && fr.cap >= 1000, "clear keeps the storage");
	ipp_frames_release(&fr);
	ok(fr.f == NULL && fr.n == 0 && fr.cap == 0, "release empties");
}

/* Whole multipart messages through a real socket pair. */
static void
test_frames_io(void)
{
	struct ipp_frames fr;
	void *ctx, *a, *b;
	char *big;
	int i, rc;

	ctx = zmq_ctx_new();
	a = zmq_socket(ctx, ZMQ_PAIR);
	b = zmq_socket(ctx, ZMQ_PAIR);
	if (zmq_bind(a, "inproc://t_libipp") == -1 ||
	    zmq_connect(b, "inproc://t_libipp") == -1)
		fatal("zmq inproc");
	ipp_frames_init(&fr);
	big = xmalloc(1 << 20);
	memset(big, 'z', 1 << 20);

	add_str(&fr, "one");
	ipp_frames_add(&fr, "", 0);
	ipp_frames_add(&fr, big, 1 << 20);
	add_str(&fr, "skipped");
	ipp_frames_swap(&fr, 0, 3);	/* "skipped" first, sent from 1 */
	rc = ipp_frames_send(a, &fr, 1, 0);
	ok(rc == 0 && fr.n == 0, "send from part 1; frames empty after");
	rc = ipp_frames_recv(b, &fr, 0);
	ok(rc == 3 && frame_is(&fr, 0, "", 0) && frame_is(&fr, 1, big,
	    1 << 20) && frame_is(&fr, 2, "one", 3),
	    "recv gets the 3 parts sent");
	errno = 0;
	ok(ipp_frames_recv(b, &fr, ZMQ_DONTWAIT) == -1 && errno == EAGAIN &&
	    fr.n == 0, "recv with nothing queued: EAGAIN, empty frames");

	/*
	 * One part over IPP_MAX_FRAMES: E2BIG, and the whole message is
	 * drained so that the next receive starts at the following one.
	 */
	for (i = 0; i <= IPP_MAX_FRAMES; i++)
		zmq_send(a, "f", 1, i < IPP_MAX_FRAMES ? ZMQ_SNDMORE : 0);
	zmq_send(a, "next", 4, 0);
	errno = 0;
	ok(ipp_frames_recv(b, &fr, 0) == -1 && errno == E2BIG && fr.n == 0,
	    "message of IPP_MAX_FRAMES+1 parts: E2BIG");
	ok(ipp_frames_recv(b, &fr, 0) == 1 && frame_is(&fr, 0, "next", 4),
	    "the next message is received whole after E2BIG");

	for (i = 0; i < IPP_MAX_FRAMES; i++)
		zmq_send(a, "f", 1, i + 1 < IPP_MAX_FRAMES ? ZMQ_SNDMORE : 0);
	is_int(ipp_frames_recv(b, &fr, 0), IPP_MAX_FRAMES,
	    "message of exactly IPP_MAX_FRAMES parts is accepted");

	free(big);
	ipp_frames_release(&fr);
	zmq_close(a);
	zmq_close(b);
	zmq_ctx_term(ctx);
}

static void
test_sign(void)
{
	struct ipp_session s;
	struct ipp_msg m;
	const void *parts[4] = { TV_HEADER, "{}", "{}", "{}" };
	size_t lens[4] = { strlen(TV_HEADER), 2, 2, 2 };
	char sig[IPP_SIG_HEXLEN + 1];
	char k64[65], k65[66];

	ipp_msg_init(&m);
	ipp_session_init(&s, TV_KEY, NULL);
	ipp_sign(&s, parts, lens, sig);
	is_str(sig, TV_SIG, "HMAC-SHA256 test vector of spec 4.1a");
	ok(ipp_session_verify(&s, TV_SIG, IPP_SIG_HEXLEN, parts, lens) == 0,
	    "test vector verifies");
	hand_msg(&m, &s, TV_SIG, TV_HEADER, "{}", "{}", "{}");
	ok(ipp_msg_decode(&s, &m, NULL, 0) == 0, "test vector message decodes");
	is_str(m.msg_type, "connection_request", "its msg_type");
	is_str(m.msg_id, "c1_1_0", "its msg_id");
	ipp_session_release(&s);

	sign_str(LK_103, TV_HEADER, "{}", "{}", "{}", sig);
	is_str(sig, LK_103_SIG, "103-byte key (hashed first, RFC 2104)");
	memset(k64, 'K', 64);
	k64[64] = '\0';
	sign_str(k64, TV_HEADER, "{}", "{}", "{}", sig);
	is_str(sig, LK_64_SIG, "64-byte key (exactly one block)");
	memset(k65, 'K', 65);
	k65[65] = '\0';
	sign_str(k65, TV_HEADER, "{}", "{}", "{}", sig);
	is_str(sig, LK_65_SIG, "65-byte key (one byte over the block)");

	/* the split between parts must not matter, only the concatenation */
	ipp_session_init(&s, TV_KEY, NULL);
	parts[0] = "{\"msg_id\": ";
	lens[0] = strlen(parts[0]);
	parts[1] = &TV_HEADER[lens[0]];
	lens[1] = strlen(TV_HEADER) - lens[0];
	parts[2] = "{}{}";
	lens[2] = 4;
	parts[3] = "{}";
	lens[3] = 2;
	ipp_sign(&s, parts, lens, sig);
	is_str(sig, TV_SIG, "signature covers the plain concatenation");
	ipp_session_release(&s);

	/* no key: unsigned, and nothing is checked */
	ipp_session_init(&s, "", NULL);
	ipp_sign(&s, parts, lens, sig);
	is_str(sig, "", "empty key signs with an empty string");
	ok(ipp_session_verify(&s, "", 0, parts, lens) == 0 &&
	    ipp_session_verify(&s, "junk", 4, parts, lens) == 0,
	    "empty key accepts any signature");
	ipp_session_release(&s);
	ipp_session_init(&s, NULL, NULL);
	ok(s.key == NULL && s.keylen == 0, "NULL key is no key");
	ipp_session_release(&s);
	ipp_msg_release(&m);
}

static int
json_str_is(json_t *o, const char *k, const char *want)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static int
no_json(const struct ipp_msg *m)
{
	return m->header == NULL && m->parent == NULL && m->metadata == NULL &&
	    m->content == NULL && m->msg_type == NULL && m->msg_id == NULL;
}

static void
test_decode(void)
{
	static const char *hdr = "{\"msg_id\":\"m1\",\"msg_type\":\"t\"}";
	struct ipp_session s, un;
	struct ipp_msg m;
	char why[256], sig[IPP_SIG_HEXLEN + 1];
	int rc;

	ipp_msg_init(&m);
	ipp_session_init(&s, "secret", NULL);
	ipp_session_enable_replay(&s, 1000);

	hand_msg(&m, &s, NULL, hdr, "{\"msg_id\":\"p\"}", "{\"k\":1}",
	    "{\"x\":[1,2]}");
	why[0] = '\0';
	rc = ipp_msg_decode(&s, &m, why, sizeof(why));
	ok(rc == 0, "good message decodes (%s)", why);
	ok(m.nids == 2 && m.sig == 3 && m.buf0 == 8 && ipp_msg_nbufs(&m) == 0,
	    "nids, sig, buf0 and nbufs");
	is_str(m.msg_type, "t", "msg_type");
	is_str(m.msg_id, "m1", "msg_id");
	ok(json_str_is(m.parent, "msg_id", "p") &&
	    json_integer_value(json_object_get(m.metadata, "k")) == 1 &&
	    json_array_size(json_object_get(m.content, "x")) == 2,
	    "parent, metadata and content parsed");

	why[0] = '\0';
	errno = 0;
	rc = ipp_msg_decode(&s, &m, why, sizeof(why));
	ok(rc == -1 && errno == EALREADY, "same message again: EALREADY");
	ok(strstr(why, "replay") != NULL, "why: %s", why);
	ok(no_json(&m), "no JSON left after a failed decode");

	hand_msg(&m, &s, "", hdr, "{}", "{}", "{}");
	errno = 0;
	rc = ipp_msg_decode(&s, &m, why, sizeof(why));
	ok(rc == -1 && errno == EACCES, "missing signature: EACCES");
	ok(strstr(why, "unsigned") != NULL, "why: %s", why);

	sign_str("secret", hdr, "{}", "{}", "{}", sig);
	sig[10] = sig[10] == '0' ? '1' : '0';
	hand_msg(&m, &s, sig, hdr, "{}", "{}", "{}");
	errno = 0;
	rc = ipp_msg_decode(&s, &m, why, sizeof(why));
	ok(rc == -1 && errno == EACCES, "wrong signature: EACCES");
	ok(strstr(why, "invalid signature") != NULL, "why: %s", why);

	sign_str("other key", hdr, "{}", "{}", "{}", sig);
	hand_msg(&m, &s, sig, hdr, "{}", "{}", "{}");
	errno = 0;
	ok(ipp_msg_decode(&s, &m, NULL, 0) == -1 && errno == EACCES,
	    "signed with another key: EACCES");

	sign_str("secret", hdr, "{}", "{}", "{}", sig);
	hand_msg(&m, &s, sig, hdr, "{}", "{}", "{\"x\":1}");
	errno = 0;
	ok(ipp_msg_decode(&s, &m, NULL, 0) == -1 && errno == EACCES,
	    "content changed after signing: EACCES");

	sig[IPP_SIG_HEXLEN - 1] = '\0';
	hand_msg(&m, &s, sig, hdr, "{}", "{}", "{}");
	errno = 0;
	ok(ipp_msg_decode(&s, &m, NULL, 0) == -1 && errno == EACCES,
	    "63-character signature: EACCES");
	hand_msg(&m, &s, "zz5445d374a41e6c4bfd6acd2eabcdc585da065aa919e3443b30"
	    "ab74f1ce6d70", hdr, "{}", "{}", "{}");
	errno = 0;
	ok(ipp_msg_decode(&s, &m, NULL, 0) == -1 && errno == EACCES,
	    "non-hex signature: EACCES");

	/* correctly signed, so these get past the signature to the JSON */
	hand_msg(&m, &s, NULL, hdr, "{}", "{}", "{not json");
	errno = 0;
	rc = ipp_msg_decode(&s, &m, why, sizeof(why));
	ok(rc == -1 && errno == EBADMSG, "non-JSON content: EBADMSG");
	ok(strstr(why, "content is not JSON") != NULL, "why: %s", why);
	ok(no_json(&m), "nothing kept from the parts that did parse");

	hand_msg(&m, &s, NULL, hdr, "{}", "[1, 2]", "{}");
	errno = 0;
	rc = ipp_msg_decode(&s, &m, why, sizeof(why));
	ok(rc == -1 && errno == EBADMSG, "metadata a JSON array: EBADMSG");
	ok(strstr(why, "metadata is not a JSON object") != NULL, "why: %s",
	    why);

	hand_msg(&m, &s, NULL, "[]", "{}", "{}", "{}");
	errno = 0;
	ok(ipp_msg_decode(&s, &m, NULL, 0) == -1 && errno == EBADMSG,
	    "header a JSON array: EBADMSG");
	hand_msg(&m, &s, NULL, "\"t\"", "{}", "{}", "{}");
	errno = 0;
	ok(ipp_msg_decode(&s, &m, NULL, 0) == -1 && errno == EBADMSG,
	    "header a JSON string: EBADMSG");

	hand_msg(&m, &s, NULL, "{\"msg_id\":\"m2\"}", "{}", "{}", "{}");
	errno = 0;
	rc = ipp_msg_decode(&s, &m, why, sizeof(why));
	ok(rc == -1 && errno == EBADMSG, "header without msg_type: EBADMSG");
	ok(strstr(why, "msg_type") != NULL, "why: %s", why);
	hand_msg(&m, &s, NULL, "{\"msg_id\":\"m3\",\"msg_type\":7}", "{}",
	    "{}", "{}");
	errno = 0;
	ok(ipp_msg_decode(&s, &m, NULL, 0) == -1 && errno == EBADMSG,
	    "numeric msg_type: EBADMSG");
	hand_msg(&m, &s, NULL, "{\"msg_type\":\"t\"}", "{}", "{}", "{}");
	errno = 0;
	ok(ipp_msg_decode(&s, &m, NULL, 0) == -1 && errno == EBADMSG,
	    "header without msg_id: EBADMSG");
	hand_msg(&m, &s, NULL, hdr, "{}", "{}", "{\"a\": [1, 2");
	errno = 0;
	ok(ipp_msg_decode(&s, &m, NULL, 0) == -1 && errno == EBADMSG,
	    "content cut short mid-JSON: EBADMSG");
	hand_msg(&m, &s, NULL, hdr, "{}", "{}", "");
	errno = 0;
	ok(ipp_msg_decode(&s, &m, NULL, 0) == -1 && errno == EBADMSG,
	    "empty content part: EBADMSG");

	/* truncated: the content part never arrived */
	hand_msg(&m, &s, NULL, "{\"msg_id\":\"m4\",\"msg_type\":\"t\"}", "{}",
	    "{}", "{}");
	ipp_frames_remove(&m.fr, m.fr.n - 1);
	errno = 0;
	rc = ipp_msg_decode(&s, &m, why, sizeof(why));
	ok(rc == -1 && errno == EPROTO,
	    "truncated message (4 parts after the delimiter): EPROTO");
	ok(strstr(why, "7-part") != NULL, "why: %s", why);
	ipp_frames_clear(&m.fr);
	add_str(&m.fr, "id");
	errno = 0;
	ok(ipp_msg_decode(&s, &m, NULL, 0) == -1 && errno == EPROTO,
	    "identity only: EPROTO");

	/* unicode and embedded NULs are data, not errors */
	hand_msg(&m, &s, NULL, "{\"msg_id\":\"m5\",\"msg_type\":\"t\"}", "{}",
	    "{}", "{\"s\":\"caf\xc3\xa9 \\u0000 end\"}");
	ok(ipp_msg_decode(&s, &m, NULL, 0) == 0 &&
	    json_string_length(json_object_get(m.content, "s")) == 11,
	    "UTF-8 and \\u0000 in strings decode");

	/* a session without key checks nothing, not even the format */
	ipp_session_init(&un, NULL, NULL);
	hand_msg(&m, &un, "not a signature", "{\"msg_id\":\"u\",\"msg_type\""
	    ":\"t\"}", "{}", "{}", "{}");
	ok(ipp_msg_decode(&un, &m, NULL, 0) == 0,
	    "keyless session accepts any signature");
	ok(ipp_msg_decode(&un, &m, NULL, 0) == 0,
	    "keyless session keeps no replay history");
	ipp_session_release(&un);

	ipp_msg_release(&m);
	ipp_session_release(&s);
}

static void
test_build(void)
{
	static const struct ipp_buf ids[2] = {
		{ "engine-uuid", 11 }, { "\0\1\2", 3 }
	};
	struct ipp_session snd, rcv, rcv2, un;
	struct ipp_msg m;
	unsigned char bin[1000];
	const void *parts[4];
	size_t lens[4];
	char why[256], want[64], sig[IPP_SIG_HEXLEN + 1];
	json_t *parent, *h;
	double date;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7);
	ipp_msg_init(&m);
	ipp_session_init(&snd, "k3y", "sender");
	ipp_session_init(&rcv, "k3y", "receiver");
	ipp_session_enable_replay(&rcv, 100);
	parent = json_pack("{s:s, s:s}", "msg_id", "p1", "msg_type",
	    "apply_request");

	rc = ipp_msg_build(&snd, &m.fr, ids, 2, "execute_request", NULL,
	    parent, json_pack("{s:b}", "m", 1), json_pack("{s:s, s:i}",
	    "code", "x=1", "n", 3));
	ok(rc == 0 && m.fr.n == 8, "build: 2 ids + delimiter + 5 parts");
	ok(parent->refcount == 1, "parent is borrowed, not stolen");
	ok(frame_is(&m.fr, 0, "engine-uuid", 11) && frame_is(&m.fr, 1,
	    "\0\1\2", 3) && frame_is(&m.fr, 2, IPP_DELIM, IPP_DELIM_LEN),
	    "ids then the delimiter");
	for (i = 0; i < 4; i++) {
		parts[i] = ipp_frame_data(&m.fr, 4 + (int)i);
		lens[i] = ipp_frame_len(&m.fr, 4 + (int)i);
	}
	ipp_sign(&snd, parts, lens, sig);
	ok(frame_is(&m.fr, 3, sig, IPP_SIG_HEXLEN),
	    "signature is over exactly the bytes sent");

	ipp_frames_add(&m.fr, "abc", 3);
	ipp_frames_add(&m.fr, "", 0);
	ipp_frames_add(&m.fr, bin, sizeof(bin));
	why[0] = '\0';
	rc = ipp_msg_decode(&rcv, &m, why, sizeof(why));
	ok(rc == 0, "round trip decodes (%s)", why);
	is_str(m.msg_type, "execute_request", "msg_type");
	snprintf(want, sizeof(want), "sender_%ld_1", (long)getpid());
	is_str(m.msg_id, want, "msg_id is <session>_<pid>_<n>");
	ok(json_str_is(m.header, "session", "sender") &&
	    json_str_is(m.header, "version", IPP_PROTOCOL_VERSION) &&
	    json_is_string(json_object_get(m.header, "username")),
	    "header session, version, username");
	date = ipp_iso_parse(json_string_value(json_object_get(m.header,
	    "date")));
	ok(date > ipp_now() - 60 && date < ipp_now() + 1, "header date is now");
	ok(json_equal(m.parent, parent), "parent header round trip");
	ok(json_is_true(json_object_get(m.metadata, "m")), "metadata");
	ok(json_str_is(m.content, "code", "x=1") &&
	    json_integer_value(json_object_get(m.content, "n")) == 3,
	    "content");
	is_int(ipp_msg_nbufs(&m), 3, "3 buffers");
	ok(frame_is(&m.fr, m.buf0, "abc", 3) && frame_is(&m.fr, m.buf0 + 1,
	    "", 0) && frame_is(&m.fr, m.buf0 + 2, bin, sizeof(bin)),
	    "buffers unchanged, binary and empty ones included");
	is_int(m.nids, 2, "nids");

	/* reseal: a relay rewrites the header and signs again */
	json_object_set_new(m.header, "msg_type", json_string("apply_request"));
	json_object_set_new(m.metadata, "resubmitted", json_true());
	rc = ipp_msg_reseal(&snd, &m);
	ok(rc == 0, "reseal");
	is_str(m.msg_type, "apply_request", "reseal updates msg_type");
	ok(!frame_is(&m.fr, m.sig, sig, IPP_SIG_HEXLEN),
	    "reseal changed the signature");
	is_int(m.fr.n, 11, "reseal keeps the part count");
	rc = ipp_msg_decode(&rcv, &m, why, sizeof(why));
	ok(rc == 0, "resealed message verifies (%s)", why);
	is_str(m.msg_type, "apply_request", "new msg_type on the wire");
	ok(json_is_true(json_object_get(m.metadata, "resubmitted")),
	    "new metadata on the wire");
	ok(frame_is(&m.fr, 0, "engine-uuid", 11) && frame_is(&m.fr, 1,
	    "\0\1\2", 3) && frame_is(&m.fr, m.buf0 + 2, bin, sizeof(bin)),
	    "ids and buffers survive a reseal");
	errno = 0;
	ok(ipp_msg_decode(&rcv, &m, NULL, 0) == -1 && errno == EALREADY,
	    "the resealed message is remembered too");

	/* the failed decode dropped the JSON: nothing to reseal from */
	errno = 0;
	ok(ipp_msg_reseal(&snd, &m) == -1 && errno == EINVAL,
	    "reseal without decoded JSON: EINVAL");

	/* reseal with another session re-signs with that key */
	ipp_session_init(&un, "another", NULL);
	ipp_session_init(&rcv2, "k3y", NULL);
	ok(ipp_msg_decode(&rcv2, &m, NULL, 0) == 0 &&
	    ipp_msg_reseal(&un, &m) == 0, "reseal under another key");
	errno = 0;
	ok(ipp_msg_decode(&rcv2, &m, NULL, 0) == -1 && errno == EACCES,
	    "resealed under another key: EACCES for the old key");
	ok(ipp_msg_decode(&un, &m, NULL, 0) == 0,
	    "and accepted under the new one");
	ipp_session_release(&un);
	ipp_session_release(&rcv2);

	/* a supplied header is used as is; NULL metadata/content become {} */
	h = json_pack("{s:s, s:s}", "msg_id", "fixed-id", "msg_type", "x");
	rc = ipp_msg_build(&snd, &m.fr, NULL, 0, "ignored", h, NULL, NULL,
	    NULL);
	ok(rc == 0 && m.fr.n == 6, "build without ids: 6 parts");
	ok(frame_is(&m.fr, 3, "{}", 2) && frame_is(&m.fr, 4, "{}", 2) &&
	    frame_is(&m.fr, 5, "{}", 2),
	    "NULL parent, metadata and content are {}");
	ok(ipp_msg_decode(&rcv, &m, NULL, 0) == 0 && strcmp(m.msg_id,
	    "fixed-id") == 0 && strcmp(m.msg_type, "x") == 0,
	    "supplied header kept (msg_type argument ignored)");

	/* build clears what the frames held */
	rc = ipp_msg_build(&snd, &m.fr, ids, 1, "y", NULL, NULL, NULL, NULL);
	ok(rc == 0 && m.fr.n == 7 && ipp_msg_decode(&rcv, &m, NULL, 0) == 0 &&
	    m.nids == 1, "build into used frames replaces them");
	snprintf(want, sizeof(want), "sender_%ld_2", (long)getpid());
	is_str(m.msg_id, want, "msg_id counter advances per header");

	/* unsigned: empty signature part; a keyed peer refuses it */
	ipp_session_init(&un, NULL, NULL);
	rc = ipp_msg_build(&un, &m.fr, NULL, 0, "z", NULL, NULL, NULL, NULL);
	ok(rc == 0 && frame_is(&m.fr, 1, "", 0),
	    "keyless build sends an empty signature");
	ok(ipp_msg_decode(&un, &m, NULL, 0) == 0, "keyless peer accepts it");
	errno = 0;
	ok(ipp_msg_decode(&rcv, &m, NULL, 0) == -1 && errno == EACCES,
	    "keyed peer refuses it");
	ipp_session_release(&un);

	json_decref(parent);
	ipp_msg_release(&m);
	ipp_session_release(&snd);
	ipp_session_release(&rcv);
}

static void
test_error_content(void)
{
	json_t *c;
	char *s;

	c = ipp_error_content("KeyError", "no such %s: %d", "engine", 7);
	ok(c != NULL && json_str_is(c, "status", "error") && json_str_is(c,
	    "ename", "KeyError") && json_str_is(c, "evalue",
	    "no such engine: 7"), "error content status, ename, evalue");
	ok(json_array_size(json_object_get(c, "traceback")) == 1 &&
	    json_is_object(json_object_get(c, "engine_info")),
	    "traceback list and engine_info");
	s = ipp_json_dump(json_object_get(c, "engine_info"));
	is_str(s, "{}", "ipp_json_dump is compact");
	free(s);
	json_decref(c);
}

static void
iso_is(const char *in, double want, const char *name)
{
	double got = ipp_iso_parse(in);

	ok(got > want - 1e-6 && got < want + 1e-6, "%s: %s", name, in);
	if (!(got > want - 1e-6 && got < want + 1e-6))
		diag("got %.6f want %.6f", got, want);
}

static void
test_iso(void)
{
	char b[64], b2[64];
	double t;

	ipp_iso_format(0, b, sizeof(b));
	is_str(b, "1970-01-01T00:00:00.000000Z", "format epoch");
	ipp_iso_format(T2026 + 0.25, b, sizeof(b));
	is_str(b, "2026-01-01T00:00:00.250000Z", "format fractional");
	ipp_iso_format(T2026 - 0.0000001, b, sizeof(b));
	is_str(b, "2026-01-01T00:00:00.000000Z",
	    "format rounds up to the next second");
	ipp_iso_format(1795311502.130239, b, sizeof(b));
	is_str(b, "2026-11-22T01:38:22.130239Z", "format microseconds");
	ipp_iso_format(-0.5, b, sizeof(b));
	is_str(b, "1969-12-31T23:59:59.500000Z", "format before the epoch");

	iso_is("2026-01-01T00:00:00.000000Z", T2026, "Z");
	iso_is("2026-01-01T00:00:00Z", T2026, "Z without fraction");
	iso_is("2026-01-01T00:00:00+00:00", T2026, "+00:00");
	iso_is("2026-01-01T00:00:00", T2026, "naive is UTC");
	iso_is("2026-01-01T01:00:00+01:00", T2026, "+01:00");
	iso_is("2026-01-01T01:00:00+0100", T2026, "+0100");
	iso_is("2025-12-31T18:30:00-05:30", T2026, "-05:30");
	iso_is("2026-01-01T00:00:00.123456Z", T2026 + 0.123456, "fraction Z");
	iso_is("2026-01-01T00:00:00.5+00:00", T2026 + 0.5, "fraction +00:00");
	iso_is("2026-01-01T00:00:00.25", T2026 + 0.25, "fraction naive");
	iso_is("2026-01-01T02:00:00.75+02:00", T2026 + 0.75,
	    "fraction with offset");
	ok(ipp_iso_parse("yesterday") == -1, "garbage: -1");
	ok(ipp_iso_parse(NULL) == -1, "NULL: -1");
	ok(ipp_iso_parse("") == -1, "empty: -1");
	ok(ipp_iso_parse("2026-01-01T00:00:00junk") == -1, "trailing junk: -1");
	ok(ipp_iso_parse("2026-01-01T00:00:00.Z") == -1,
	    "'.' without digits: -1");
	ok(ipp_iso_parse("2026-01-01T00:00:00.5e3Z") == -1,
	    "exponent in the fraction: -1");
	ok(ipp_iso_parse("2026-01-01T00:00:00+xx") == -1, "bad offset: -1");

	ipp_iso_format(ipp_iso_parse("2026-11-22T01:27:08.130239Z"), b,
	    sizeof(b));
	is_str(b, "2026-11-22T01:27:08.130239Z", "parse/format round trip");
	ipp_iso_now(b, sizeof(b));
	t = ipp_iso_parse(b);
	ok(t > ipp_now() - 5 && t <= ipp_now() + 1e-3, "iso_now parses to now");
	ipp_iso_format(t, b2, sizeof(b2));
	is_str(b2, b, "iso_now matches iso_format");
	ok(strlen(b) == 27 && b[26] == 'Z', "iso_now has 6 digits and Z");
	t = ipp_monotonic();
	ok(t > 0 && ipp_monotonic() >= t, "monotonic clock");
}

static void
test_ids(void)
{
	struct ipp_session s;
	char a[128], b[128], h[80], want[128];
	char *saved;
	json_t *hd;

	saved = getenv("USER") ? xstrdup(getenv("USER")) : NULL;
	ipp_new_id(a, sizeof(a));
	ipp_new_id(b, sizeof(b));
	ok(is_new_id(a), "new_id is 8 hex '-' 24 hex: %s", a);
	ok(strcmp(a, b) != 0, "two new_ids differ");
	ipp_new_key(a, sizeof(a));
	ok(is_new_id(a), "new_key has the same shape: %s", a);
	ipp_random_hex(h, 20);
	ok(strlen(h) == 40 && is_hex(h, 40), "random_hex of 20 bytes");

	setenv("USER", "tester", 1);
	ipp_session_init(&s, "k", NULL);
	ok(is_new_id(s.session), "default session id is a new_id");
	is_str(s.username, "tester", "username from $USER");
	/* the counter is process-wide (engined's two threads share ids) */
	ipp_session_msg_id(&s, a, sizeof(a));
	snprintf(want, sizeof(want), "%s_%ld_%lu", s.session, (long)getpid(),
	    s.counter);
	is_str(a, want, "first msg_id");
	ipp_session_msg_id(&s, a, sizeof(a));
	snprintf(want, sizeof(want), "%s_%ld_%lu", s.session, (long)getpid(),
	    s.counter);
	is_str(a, want, "second msg_id");
	hd = ipp_header_new(&s, "ping");
	ok(json_str_is(hd, "msg_type", "ping") && json_str_is(hd, "username",
	    "tester") && json_str_is(hd, "session", s.session) &&
	    json_str_is(hd, "version", "5.3") && json_object_size(hd) == 6,
	    "header_new has the six jupyter fields");
	json_decref(hd);
	ipp_session_release(&s);

	unsetenv("USER");
	ipp_session_init(&s, "k", "engine-uuid-1");
	is_str(s.username, "username", "no $USER: \"username\"");
	is_str(s.session, "engine-uuid-1", "explicit session id");
	ipp_session_release(&s);
	if (saved != NULL) {
		setenv("USER", saved, 1);
		free(saved);
	}
}

static void
fill_conninfo(struct ipp_conninfo *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->interface, sizeof(c->interface), "tcp://127.0.0.1");
	snprintf(c->location, sizeof(c->location), "vm");
	snprintf(c->key, sizeof(c->key), "c6192e12-512daf0c192c539cfa06abcd");
	snprintf(c->signature_scheme, sizeof(c->signature_scheme),
	    "hmac-sha256");
	snprintf(c->task_scheme, sizeof(c->task_scheme), "lru");
	c->registration = 55019;
	c->control = 51397;
	c->mux = 58989;
	c->task = 60455;
	c->iopub = 50329;
	c->notification = 35751;
	c->hb_ping = 38109;
	c->hb_pong = 37133;
}

static int
file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	return (int)(st.st_mode & 07777);
}

static void
write_text(const char *path, const char *text)
{
	if (ipp_write_file(path, text, strlen(text), 0644) == -1)
		fatal("write %s", path);
}

static void
load_fails(const char *text, int want_errno, const char *name)
{
	struct ipp_conninfo c, orig;
	char path[512], why[512];
	int rc;

	snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
	write_text(path, text);
	memset(&c, 0x5a, sizeof(c));
	orig = c;
	why[0] = '\0';
	errno = EBUSY;		/* a stale errno must not leak through */
	rc = ipp_conninfo_load(path, &c, why, sizeof(why));
	ok(rc == -1 && errno == want_errno && why[0] != '\0' &&
	    memcmp(&c, &orig, sizeof(c)) == 0, "load rejects %s: %s", name,
	    why);
	if (rc != -1 || errno != want_errno)
		diag("rc %d errno %d (%s)", rc, errno, strerror(errno));
}

static void
test_connfile(void)
{
	struct ipp_conninfo c, got;
	char path[512], why[256], url[300];
	json_t *o;

	snprintf(path, sizeof(path), "%s/client.json", tmpdir);
	write_text(path, "old contents");	/* mode 0644, replaced */
	fill_conninfo(&c);
	c.broadcast[0] = 39277;
	c.nbroadcast = 1;
	ok(ipp_conninfo_save(path, &c, 0) == 0, "save client file");
	is_int(file_mode(path), 0600, "client file mode 0600");
	memset(&got, 0, sizeof(got));
	ok(ipp_conninfo_load(path, &got, why, sizeof(why)) == 0,
	    "load client file");
	ok(strcmp(got.interface, c.interface) == 0 &&
	    strcmp(got.location, "vm") == 0 && strcmp(got.key, c.key) == 0 &&
	    strcmp(got.ssh, "") == 0 && strcmp(got.signature_scheme,
	    "hmac-sha256") == 0 && strcmp(got.task_scheme, "lru") == 0 &&
	    strcmp(got.curve_serverkey, "") == 0, "client strings round trip");
	ok(got.registration == 55019 && got.control == 51397 &&
	    got.mux == 58989 && got.task == 60455 && got.iopub == 50329 &&
	    got.notification == 35751, "client ports round trip");
	ok(got.nbroadcast == 1 && got.broadcast[0] == 39277,
	    "client broadcast is one port");
	ok(got.hb_ping == 0 && got.hb_pong == 0, "no heartbeat in client file");
	o = json_load_file(path, 0, NULL);
	ok(o != NULL && json_is_null(json_object_get(o, "curve_serverkey")) &&
	    json_str_is(o, "pack", "json") &&
	    json_str_is(o, "unpack", "json") &&
	    json_is_integer(json_object_get(o, "broadcast")) &&
	    json_object_get(o, "hb_ping") == NULL,
	    "client file has ipyparallel's shape");
	json_decref(o);

	snprintf(path, sizeof(path), "%s/engine.json", tmpdir);
	fill_conninfo(&c);
	c.broadcast[0] = 34129;
	c.broadcast[1] = 33339;
	c.nbroadcast = 2;
	snprintf(c.curve_serverkey, sizeof(c.curve_serverkey),
	    "rq:rM>}U?@Lns47E1%%kR.o@n%%FcmmsL/@{H8]yf7");
	ok(ipp_conninfo_save(path, &c, 1) == 0, "save engine file");
	is_int(file_mode(path), 0600, "engine file mode 0600");
	memset(&got, 0, sizeof(got));
	ok(ipp_conninfo_load(path, &got, why, sizeof(why)) == 0,
	    "load engine file");
	ok(got.hb_ping == 38109 && got.hb_pong == 37133 &&
	    got.registration == 55019 && got.mux == 58989,
	    "engine ports round trip");
	ok(got.nbroadcast == 2 && got.broadcast[0] == 34129 &&
	    got.broadcast[1] == 33339, "engine broadcast is a list");
	ok(got.notification == 0 && strcmp(got.task_scheme, "leastload") == 0,
	    "no notification/task_scheme in engine file (defaults)");
	is_str(got.curve_serverkey, c.curve_serverkey, "curve key round trip");

	load_fails("this is not json", EINVAL, "garbage");
	load_fails("", EINVAL, "an empty file");
	load_fails("[1, 2]", EINVAL, "a JSON array");
	load_fails("{\"interface\": \"tcp://127.0.0.1\"}", EINVAL,
	    "no registration port");
	load_fails("{\"interface\": \"tcp://x\", \"registration\": 70000}",
	    EINVAL, "port out of range");
	load_fails("{\"registration\": 5}", EINVAL, "no interface");
	load_fails("{\"interface\": \"tcp://x\", \"registration\": 5, "
	    "\"signature_scheme\": \"hmac-md5\"}", ENOTSUP, "hmac-md5");
	{
		char big[400];

		snprintf(big, sizeof(big), "{\"interface\": \"tcp://x\", "
		    "\"registration\": 5, \"key\": \"%0300d\"}", 7);
		load_fails(big, ENAMETOOLONG, "a 300-byte key (never cut)");
	}
	snprintf(path, sizeof(path), "%s/absent.json", tmpdir);
	errno = 0;
	ok(ipp_conninfo_load(path, &got, NULL, 0) == -1 && errno == ENOENT,
	    "missing file: ENOENT");

	snprintf(path, sizeof(path), "%s/extra.json", tmpdir);
	write_text(path, "{\"interface\": \"tcp://10.0.0.1\", \"registration\""
	    ": 1234, \"future_field\": [1], \"broadcast\": [1, \"x\", 3]}");
	ok(ipp_conninfo_load(path, &got, NULL, 0) == 0 &&
	    got.registration == 1234 && got.nbroadcast == 2 &&
	    got.broadcast[1] == 3, "unknown fields and odd entries ignored");

	ipp_conninfo_url(&got, 5555, url, sizeof(url));
	is_str(url, "tcp://10.0.0.1:5555", "tcp url joins with ':'");
	snprintf(got.interface, sizeof(got.interface), "ipc:///tmp/ipp");
	ipp_conninfo_url(&got, 5555, url, sizeof(url));
	is_str(url, "ipc:///tmp/ipp-5555", "ipc url joins with '-'");
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void
restore_env(const char *name, char *saved)
{
	if (saved != NULL) {
		setenv(name, saved, 1);
		free(saved);
	} else
		unsetenv(name);
}

static void
test_profile(void)
{
	struct ipp_profile p, orig;
	char want[1200], path[1200], big[2000];
	char *saved_ipd, *saved_home;
	int rc;

	saved_ipd = getenv("IPYTHONDIR") ? xstrdup(getenv("IPYTHONDIR")) : NULL;
	saved_home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;

	/* an explicit --profile-dir wins over IPYTHONDIR */
	snprintf(want, sizeof(want), "%s/ipd", tmpdir);
	setenv("IPYTHONDIR", want, 1);
	snprintf(want, sizeof(want), "%s/explicit", tmpdir);
	rc = ipp_profile_init(&p, want, "ignored", NULL, 1);
	ok(rc == 0, "profile with --profile-dir");
	is_str(p.dir, want, "--profile-dir used as is");
	snprintf(want, sizeof(want), "%s/explicit/security", tmpdir);
	is_str(p.security, want, "security dir inside it");
	is_int(file_mode(p.security), 0700, "security dir mode 0700");
	ok(is_dir(p.log) && is_dir(p.pid), "log and pid dirs created");
	ipp_profile_connfile(&p, "client", path, sizeof(path));
	snprintf(want, sizeof(want), "%s/explicit/security/"
	    "ipcontroller-client.json", tmpdir);
	is_str(path, want, "connection file without cluster id");

	/* an existing, too open security dir is tightened */
	chmod(p.security, 0755);
	rc = ipp_profile_init(&p, p.dir, NULL, "", 1);
	ok(rc == 0 && file_mode(p.security) == 0700,
	    "existing 0755 security dir becomes 0700");

	rc = ipp_profile_init(&p, NULL, "foo", "1795311502-ykf5", 1);
	snprintf(want, sizeof(want), "%s/ipd/profile_foo", tmpdir);
	ok(rc == 0, "profile from IPYTHONDIR");
	is_str(p.dir, want, "$IPYTHONDIR/profile_<name>");
	ok(is_dir(want) && file_mode(p.security) == 0700,
	    "created with a 0700 security dir");
	ipp_profile_connfile(&p, "engine", path, sizeof(path));
	snprintf(want, sizeof(want), "%s/ipd/profile_foo/security/"
	    "ipcontroller-1795311502-ykf5-engine.json", tmpdir);
	is_str(path, want, "cluster id spliced into the file name");
	is_str(p.cluster_id, "1795311502-ykf5", "cluster id kept");

	rc = ipp_profile_init(&p, NULL, NULL, NULL, 0);
	snprintf(want, sizeof(want), "%s/ipd/profile_default", tmpdir);
	ok(rc == 0, "no name");
	is_str(p.dir, want, "no name means profile_default");
	ok(!is_dir(want), "create=0 makes nothing");

	unsetenv("IPYTHONDIR");
	snprintf(want, sizeof(want), "%s/home", tmpdir);
	setenv("HOME", want, 1);
	rc = ipp_profile_init(&p, NULL, "", NULL, 0);
	snprintf(want, sizeof(want), "%s/home/.ipython/profile_default",
	    tmpdir);
	ok(rc == 0, "no IPYTHONDIR");
	is_str(p.dir, want, "falls back to ~/.ipython");

	/* failures leave the profile untouched */
	orig = p;
	snprintf(path, sizeof(path), "%s/afile", tmpdir);
	write_text(path, "x");
	errno = 0;
	rc = ipp_profile_init(&p, path, NULL, NULL, 1);
	ok(rc == -1 && errno == ENOTDIR && memcmp(&p, &orig, sizeof(p)) == 0,
	    "profile dir that is a file: ENOTDIR, untouched");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '/';
	errno = 0;
	rc = ipp_profile_init(&p, big, NULL, NULL, 0);
	ok(rc == -1 && errno == ENAMETOOLONG &&
	    memcmp(&p, &orig, sizeof(p)) == 0,
	    "overlong profile dir: ENAMETOOLONG, untouched");

	restore_env("IPYTHONDIR", saved_ipd);
	restore_env("HOME", saved_home);
}

struct sum {
	size_t		 n;
	uintptr_t	 total;
};

static void
sum_cb(void *arg, const char *key, void *val)
{
	struct sum *s = arg;

	s->n++;
	s->total += (uintptr_t)val;
}

static void
test_map(void)
{
	enum { N = 100000 };
	struct ipp_map *m;
	struct sum s = { 0, 0 };
	uintptr_t want = 0;
	char k[32];
	int i, bad;

	m = ipp_map_new();
	ok(m != NULL && ipp_map_count(m) == 0, "new map is empty");
	ok(ipp_map_get(m, "nothing") == NULL, "get on empty map");
	bad = 0;
	for (i = 0; i < N; i++) {
		snprintf(k, sizeof(k), "msg-%d", i);
		if (ipp_map_put(m, k, (void *)(uintptr_t)(i + 1)) == -1)
			bad++;
	}
	ok(bad == 0 && ipp_map_count(m) == N, "put %d keys (map grows)", N);
	bad = 0;
	for (i = 0; i < N; i++) {
		snprintf(k, sizeof(k), "msg-%d", i);
		if (ipp_map_get(m, k) != (void *)(uintptr_t)(i + 1))
			bad++;
	}
	ok(bad == 0, "get all %d keys back", N);
	ok(ipp_map_get(m, "msg-100000") == NULL && ipp_map_get(m, "msg-") ==
	    NULL && ipp_map_get(m, "") == NULL, "absent keys");

	ipp_map_put(m, "msg-5", (void *)(uintptr_t)77);
	ok(ipp_map_get(m, "msg-5") == (void *)(uintptr_t)77 &&
	    ipp_map_count(m) == N, "put on an existing key replaces");
	ipp_map_put(m, "msg-5", (void *)(uintptr_t)6);

	bad = 0;
	for (i = 0; i < N; i += 2) {
		snprintf(k, sizeof(k), "msg-%d", i);
		if (ipp_map_del(m, k) != (void *)(uintptr_t)(i + 1))
			bad++;
	}
	ok(bad == 0 && ipp_map_count(m) == N / 2,
	    "del every other key returns its value");
	bad = 0;
	for (i = 0; i < N; i++) {
		snprintf(k, sizeof(k), "msg-%d", i);
		if ((ipp_map_get(m, k) != NULL) != (i % 2 == 1))
			bad++;
		if (i % 2 == 1)
			want += (uintptr_t)(i + 1);
	}
	ok(bad == 0, "deleted keys gone, the others kept");
	ok(ipp_map_del(m, "msg-0") == NULL && ipp_map_count(m) == N / 2,
	    "del of an absent key");
	ipp_map_foreach(m, sum_cb, &s);
	ok(s.n == N / 2 && s.total == want, "foreach visits each entry once");

	/* keys are byte strings: embedded NULs and the empty key */
	ok(ipp_map_putn(m, "a\0b", 3, (void *)(uintptr_t)1) == 0 &&
	    ipp_map_putn(m, "a\0c", 3, (void *)(uintptr_t)2) == 0 &&
	    ipp_map_put(m, "a", (void *)(uintptr_t)3) == 0 &&
	    ipp_map_put(m, "", (void *)(uintptr_t)4) == 0, "binary keys");
	ok(ipp_map_getn(m, "a\0b", 3) == (void *)(uintptr_t)1 &&
	    ipp_map_getn(m, "a\0c", 3) == (void *)(uintptr_t)2 &&
	    ipp_map_get(m, "a") == (void *)(uintptr_t)3 &&
	    ipp_map_get(m, "") == (void *)(uintptr_t)4,
	    "NUL-containing keys are distinct");
	ok(ipp_map_deln(m, "a\0b", 3) == (void *)(uintptr_t)1 &&
	    ipp_map_getn(m, "a\0c", 3) == (void *)(uintptr_t)2,
	    "deln removes only its key");
	ipp_map_free(m);
	ipp_map_free(NULL);
}

/* Verify one of a family of distinct, correctly signed messages. */
static int
verify_nth(struct ipp_session *s, int n)
{
	char h[64], sig[IPP_SIG_HEXLEN + 1];
	const void *parts[4];
	size_t lens[4];

	snprintf(h, sizeof(h), "{\"msg_id\":\"r%d\",\"msg_type\":\"t\"}", n);
	parts[0] = h;
	parts[1] = parts[2] = parts[3] = "{}";
	lens[0] = strlen(h);
	lens[1] = lens[2] = lens[3] = 2;
	ipp_sign(s, parts, lens, sig);
	errno = 0;
	return ipp_session_verify(s, sig, strlen(sig), parts, lens);
}

static void
test_replay(void)
{
	struct ipp_session s;
	int i, bad;

	ipp_session_init(&s, "replay-key", NULL);
	ipp_session_enable_replay(&s, 16);
	bad = 0;
	for (i = 0; i < 16; i++)
		if (verify_nth(&s, i) != 0)
			bad++;
	ok(bad == 0, "16 distinct messages fill a 16-entry history");
	bad = 0;
	for (i = 0; i < 16; i++)
		if (verify_nth(&s, i) != -1 || errno != EALREADY)
			bad++;
	ok(bad == 0, "all 16 are replays while the history is not over");

	/* one more: the oldest tenth (16/10+1 = 2 digests) is forgotten */
	ok(verify_nth(&s, 16) == 0, "17th message accepted");
	ok(verify_nth(&s, 0) == 0 && verify_nth(&s, 1) == 0,
	    "the two oldest were evicted, so they pass again");
	ok(verify_nth(&s, 16) == -1 && errno == EALREADY,
	    "the newest is still remembered");
	/* re-adding 0 and 1 overflowed again and dropped 2 and 3 */
	ok(verify_nth(&s, 2) == 0, "eviction goes on in FIFO order");
	ok(verify_nth(&s, 4) == -1 && errno == EALREADY,
	    "a digest younger than the evicted ones stays");

	/* many rounds of eviction keep the index consistent */
	bad = 0;
	for (i = 100; i < 5100; i++)
		if (verify_nth(&s, i) != 0)
			bad++;
	ok(bad == 0, "5000 more distinct messages accepted");
	bad = 0;
	for (i = 5100 - 14; i < 5100; i++)
		if (verify_nth(&s, i) != -1 || errno != EALREADY)
			bad++;
	ok(bad == 0, "the 14 newest are replays");
	ok(verify_nth(&s, 100) == 0, "an old one is forgotten");

	/* a forged message is refused before it can enter the history */
	{
		const void *parts[4] = { "{}", "{}", "{}", "{}" };
		size_t lens[4] = { 2, 2, 2, 2 };
		char bad_sig[] = "00000000000000000000000000000000"
		    "00000000000000000000000000000000";

		errno = 0;
		ok(ipp_session_verify(&s, bad_sig, 64, parts, lens) == -1 &&
		    errno == EACCES && ipp_session_verify(&s, bad_sig, 64,
		    parts, lens) == -1 && errno == EACCES,
		    "bad signatures are EACCES, never EALREADY");
	}

	/* enabling again starts an empty history (and frees the old one) */
	ok(ipp_session_enable_replay(&s, 1) == 0 && verify_nth(&s, 5099) == 0,
	    "re-enabling resets the history");
	ipp_session_release(&s);
}

/* A history kept in a file outlives the session that wrote it. */
static void
test_replay_file(void)
{
	struct ipp_session s;
	char path[] = "/tmp/t_libipp-digests.XXXXXX";
	struct stat st;
	int fd, i, bad = 0;

	if ((fd = mkstemp(path)) == -1) {
		ok(0, "mkstemp");
		return;
	}
	close(fd);
	ipp_session_init(&s, "secret", NULL);
	ok(ipp_session_enable_replay_file(&s, 16, path, 0) == 0,
	    "history file created");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "history file is 0600");
	for (i = 0; i < 20; i++)
		if (verify_nth(&s, i) != 0)
			bad++;
	ok(bad == 0, "20 messages accepted into a 16-entry file");
	ipp_session_release(&s);

	ipp_session_init(&s, "secret", NULL);
	ok(ipp_session_enable_replay_file(&s, 16, path, 1) == 0,
	    "history file loaded");
	ok(verify_nth(&s, 19) == -1 && errno == EALREADY &&
	    verify_nth(&s, 5) == -1 && errno == EALREADY,
	    "a new session refuses what the old one accepted");
	ok(verify_nth(&s, 0) == 0, "what the old one forgot passes");
	ipp_session_release(&s);

	ipp_session_init(&s, "secret", NULL);
	ok(ipp_session_enable_replay_file(&s, 32, path, 1) == 0 &&
	    verify_nth(&s, 19) == 0, "another capacity starts over");
	ok(ipp_session_enable_replay_file(&s, 32, path, 0) == 0 &&
	    verify_nth(&s, 19) == 0, "keep=0 starts over");
	ipp_session_release(&s);
	unlink(path);
}

/* ipp_json_peek: top-level keys only, values skipped whole. */
static void
test_peek(void)
{
	static const char doc[] = "{ \"a\": {\"msg_type\": \"inner\", "
	    "\"x\": [1, \"]}\", {\"y\": 2}]}, \"s\": \"say \\\"msg_type\\\"\", "
	    "\"n\": -1.5e3, \"t\": true, \"msg_type\" : \"status\", "
	    "\"e\": \"a\\nb\"}";
	char out[32];

	ok(ipp_json_peek(doc, strlen(doc), "msg_type", out, sizeof(out)) == 0
	    && strcmp(out, "status") == 0,
	    "peek finds the top-level key past nested and escaped values");
	ok(ipp_json_peek(doc, strlen(doc), "x", out, sizeof(out)) == -1,
	    "peek ignores keys of nested objects");
	ok(ipp_json_peek(doc, strlen(doc), "e", out, sizeof(out)) == -1,
	    "peek refuses values with escapes");
	ok(ipp_json_peek(doc, strlen(doc), "n", out, sizeof(out)) == -1,
	    "peek refuses non-string values");
	ok(ipp_json_peek(doc, strlen(doc), "zz", out, sizeof(out)) == -1,
	    "peek: absent key");
	ok(ipp_json_peek(doc, strlen(doc), "msg_type", out, 6) == -1,
	    "peek: value longer than the buffer");
	ok(ipp_json_peek(doc, 40, "msg_type", out, sizeof(out)) == -1,
	    "peek: truncated text");
	ok(ipp_json_peek("[\"msg_type\", \"x\"]", 17, "msg_type", out,
	    sizeof(out)) == -1, "peek: not an object");
	ok(ipp_json_peek("{}", 2, "msg_type", out, sizeof(out)) == -1,
	    "peek: empty object");
}

int
main(void)
{
	const char *td;

	td = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/t_libipp.XXXXXX",
	    td != NULL && *td != '\0' ? td : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		fatal("mkdtemp %s", tmpdir);

	test_frames();
	test_frames_io();
	test_sign();
	test_decode();
	test_peek();
	test_build();
	test_error_content();
	test_iso();
	test_ids();
	test_connfile();
	test_profile();
	test_map();
	test_replay();
	test_replay_file();

	rm_rf(tmpdir);
	return tap_done();
}
