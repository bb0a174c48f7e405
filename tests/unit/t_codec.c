/*
 * t_codec.c - unit tests of libipp's message codec (codec.c):
 * every way ipp_msg_decode rejects a message, build/decode/reseal
 * round trips with buffers, request and reply types, and error
 * contents.  One of the libipp unit tests split by theme
 * (libipp_test.h has their shared helpers; the jupyter_client interop
 * side is tests/t0100-jupyter-client-crosscheck.sh).
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
#include "libipp_test.h"

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
	/* clear: empty for the next receive, the parts array kept */
	{
		zmq_msg_t *parts = m.fr.f;

		ipp_msg_clear(&m);
		ok(m.fr.n == 0 && m.header == NULL && m.content == NULL &&
		    m.msg_type == NULL && m.msg_id == NULL && m.fr.f == parts,
		    "ipp_msg_clear drops parts and JSON, keeps the array");
		hand_msg(&m, &un, "x", "{\"msg_id\":\"c\",\"msg_type\":\"t\"}",
		    "{}", "{}", "{}");
		ok(ipp_msg_decode(&un, &m, NULL, 0) == 0 &&
		    strcmp(m.msg_id, "c") == 0, "a cleared message is reused");
	}
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

/* ipp_reply_type: the engine's rule (rsplit at the last '_') */
static void
test_reply_type(void)
{
	static const struct {
		const char *req, *reply;
	} cases[] = {
		{ "apply_request", "apply_reply" },
		{ "execute_request", "execute_reply" },
		{ "abort_request", "abort_reply" },
		{ "data_pub_request", "data_pub_reply" },
		{ "frob", "frob_reply" },
		{ "_request", "_reply" },
	};
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		ok(ipp_reply_type(cases[i].req, buf, sizeof(buf)) == 0 &&
		    strcmp(buf, cases[i].reply) == 0, "reply type of %s: %s",
		    cases[i].req, buf);
	}
	errno = 0;
	ok(ipp_reply_type("execute_request", buf, 13) == -1 &&
	    errno == ENAMETOOLONG, "a reply type that does not fit: "
	    "ENAMETOOLONG");
	ok(ipp_reply_type("execute_request", buf, 14) == 0 &&
	    strcmp(buf, "execute_reply") == 0, "one that just fits");
}

/* ipp_is_request: which messages a peer answers */
static void
test_is_request(void)
{
	static const struct {
		const char *type;
		int is;
	} cases[] = {
		{ "execute_request", 1 },
		{ "apply_request", 1 },
		{ "x_request", 1 },
		{ "_request", 0 },
		{ "request", 0 },
		{ "comm_msg", 0 },
		{ "execute_reply", 0 },
		{ "execute_request_", 0 },
		{ "", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(ipp_is_request(cases[i].type) == cases[i].is,
		    "'%s' is %sa request", cases[i].type,
		    cases[i].is ? "" : "not ");
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

/*
 * ipp_msg_locate / ipp_msg_peek / ipp_msg_part_object: what a fast path
 * reads before verifying must be what the full decoder reads.
 */
static void
test_msg_peek(void)
{
	static const struct ipp_buf ids[2] = {
		{ "engine-uuid", 11 }, { "\0\1\2", 3 }
	};
	struct ipp_session snd, rcv;
	struct ipp_msg m;
	char out[160], why[256];
	json_t *parent, *c;

	ipp_msg_init(&m);
	ipp_session_init(&snd, "k3y", "sender");
	ipp_session_init(&rcv, "k3y", "receiver");
	parent = json_pack("{s:s, s:s}", "msg_id", "p1", "msg_type",
	    "execute_request");

	/* no delimiter: nothing located, m unchanged */
	ipp_frames_add(&m.fr, "a", 1);
	ipp_frames_add(&m.fr, "b", 1);
	m.sig = 42;
	errno = 0;
	ok(ipp_msg_locate(&m) == -1 && errno == EPROTO && m.sig == 42,
	    "locate: no delimiter, -1/EPROTO, m unchanged");

	ok(ipp_msg_build(&snd, &m.fr, ids, 2, "status", NULL, parent,
	    json_pack("{s:s}", "engine", "e-1"), json_pack("{s:s, s:[i]}",
	    "execution_state", "busy", "x", 1)) == 0, "build");
	ipp_frames_add(&m.fr, "buf", 3);
	ok(ipp_msg_locate(&m) == 0 && m.nids == 2 && m.sig == 3 &&
	    m.buf0 == 8, "locate: nids, sig and buf0 from the delimiter");
	ok(ipp_msg_peek(&m, 0, "msg_type", out, sizeof(out)) == 0 &&
	    strcmp(out, "status") == 0, "peek header msg_type");
	ok(ipp_msg_peek(&m, 1, "msg_id", out, sizeof(out)) == 0 &&
	    strcmp(out, "p1") == 0, "peek parent msg_id");
	ok(ipp_msg_peek(&m, 2, "engine", out, sizeof(out)) == 0 &&
	    strcmp(out, "e-1") == 0, "peek metadata engine");
	ok(ipp_msg_peek(&m, 3, "execution_state", out, sizeof(out)) == 0 &&
	    strcmp(out, "busy") == 0, "peek content execution_state");
	errno = 0;
	ok(ipp_msg_peek(&m, 4, "msg_type", out, sizeof(out)) == -1 &&
	    errno == EINVAL, "peek: part out of range, -1/EINVAL");
	c = ipp_msg_part_object(&m, 3, why, sizeof(why));

	/* the same answers as the full decoder's */
	ok(ipp_msg_decode(&rcv, &m, why, sizeof(why)) == 0, "decode (%s)",
	    why);
	ok(c != NULL && json_equal(c, m.content),
	    "part_object(content) equals the decoded content");
	json_decref(c);
	ok(ipp_msg_peek(&m, 0, "msg_id", out, sizeof(out)) == 0 &&
	    strcmp(out, m.msg_id) == 0, "peek msg_id equals the decoded one");
	c = ipp_msg_part_object(&m, 1, why, sizeof(why));
	ok(c != NULL && json_equal(c, m.parent), "part_object(parent)");
	json_decref(c);

	/* a content that is not an object, or not JSON */
	ipp_frames_remove(&m.fr, m.sig + 4);
	ipp_frames_insert(&m.fr, m.sig + 4, "[1]", 3);
	errno = 0;
	ok(ipp_msg_part_object(&m, 3, why, sizeof(why)) == NULL &&
	    errno == EBADMSG && strstr(why, "content is not a JSON object") !=
	    NULL, "part_object: array content (%s)", why);
	ipp_frames_remove(&m.fr, m.sig + 4);
	ipp_frames_insert(&m.fr, m.sig + 4, "{bad", 4);
	ok(ipp_msg_part_object(&m, 3, why, sizeof(why)) == NULL &&
	    strstr(why, "content is not JSON") != NULL,
	    "part_object: broken content (%s)", why);
	ok(ipp_msg_part_object(&m, -1, why, sizeof(why)) == NULL &&
	    errno == EINVAL, "part_object: part out of range");

	json_decref(parent);
	ipp_msg_release(&m);
	ipp_session_release(&snd);
	ipp_session_release(&rcv);
}

int
main(void)
{
	test_decode();
	test_build();
	test_error_content();
	test_msg_peek();
	test_reply_type();
	test_is_request();
	return tap_done();
}
