/*
 * t_encode.c - libipp's fast text encoder (codec.c: ipp_header_text,
 * ipp_msg_build_text) against the full encoder and decoder.
 *
 * engined builds every message it sends from JSON text, without jansson
 * trees; a peer must not be able to tell.  So for names that need every
 * kind of JSON escape: the text header is byte for byte what
 * ipp_json_dump makes of ipp_header_new's object (same keys, order and
 * formats), the whole message is byte for byte what ipp_msg_build makes
 * of the same header and parts (signature included), and ipp_msg_decode
 * takes it back with every field as given.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ipp.h"
#include "tap.h"

#define KEY	"5ad5a7b0-encode-test-key"

/* JSON text to a tree (NULL, said, when it is not JSON). */
static json_t *
parse(const char *txt)
{
	json_error_t err;
	json_t *v = json_loads(txt, 0, &err);

	if (v == NULL)
		diag("not JSON: %s: %s", txt, err.text);
	return v;
}

/* Whether v is the JSON text txt (NULL: {}). */
static int
same_json(const json_t *v, const char *txt)
{
	json_t *w = txt != NULL ? parse(txt) : json_object();
	int same = json_equal(v, w);

	json_decref(w);
	return same;
}

static int
same_frames(const struct ipp_frames *a, const struct ipp_frames *b)
{
	int i, same = 1;

	if (a->n != b->n) {
		diag("%d parts, want %d", a->n, b->n);
		return 0;
	}
	for (i = 0; i < a->n; i++)
		if (ipp_frame_len(a, i) != ipp_frame_len(b, i) ||
		    memcmp(ipp_frame_data(a, i), ipp_frame_data(b, i),
		    ipp_frame_len(a, i)) != 0) {
			diag("part %d differs: %.*s / %.*s", i,
			    (int)ipp_frame_len(a, i),
			    (const char *)ipp_frame_data(a, i),
			    (int)ipp_frame_len(b, i),
			    (const char *)ipp_frame_data(b, i));
			same = 0;
		}
	return same;
}

/*
 * The header text against ipp_header_new: the two make their own msg_id
 * and date, so the full encoder's object gets the text's (json_object_set
 * keeps a key's place) before it is dumped.
 */
static void
header_case(struct ipp_session *s, const char *type, const char *what)
{
	char hdr[2048], *want = NULL;
	json_t *got, *full;

	ok(ipp_header_text(s, type, hdr, sizeof(hdr)) == 0,
	    "%s: the text header is made", what);
	got = parse(hdr);
	full = ipp_header_new(s, type);
	ok(got != NULL && full != NULL, "%s: both headers exist", what);
	if (got == NULL || full == NULL)
		goto out;
	ok(ipp_iso_parse(json_string_value(json_object_get(got, "date"))) >
	    0, "%s: its date parses", what);
	ok(strlen(json_string_value(json_object_get(got, "msg_id"))) > 0,
	    "%s: it has a msg_id", what);
	json_object_set(full, "msg_id", json_object_get(got, "msg_id"));
	json_object_set(full, "date", json_object_get(got, "date"));
	want = ipp_json_dump(full);
	is_str(hdr, want, what);
out:
	free(want);
	json_decref(got);
	json_decref(full);
}

/*
 * A whole message: ipp_msg_build_text's frames against ipp_msg_build's
 * from the same header and parts, then decoded.
 */
static void
message_case(struct ipp_session *s, const char *type, const char *parent,
    const char *md, const char *content, const char *what)
{
	struct ipp_buf ids[2] = { { "engine.0.stream", 15 }, { "\0\1rid", 5 } };
	struct ipp_frames fast, full;
	struct ipp_session peer;
	struct ipp_msg m;
	json_t *hdr, *ptree = NULL;

	ipp_frames_init(&fast);
	ipp_frames_init(&full);
	ipp_msg_init(&m);
	ok(ipp_msg_build_text(s, &fast, ids, 2, type, parent, md, content) ==
	    0, "%s: built from text", what);
	if (fast.n < 8) {
		ok(0, "%s: the message has its 8 parts", what);
		goto out;
	}
	hdr = json_loadb(ipp_frame_data(&fast, 4), ipp_frame_len(&fast, 4), 0,
	    NULL);
	if (parent != NULL)
		ptree = parse(parent);	/* borrowed by ipp_msg_build */
	ok(ipp_msg_build(s, &full, ids, 2, type, hdr, ptree, md ? parse(md) : NULL, content ? parse(content) : NULL) == 0,
	    "%s: built by the full encoder", what);
	ok(same_frames(&fast, &full), "%s: the same bytes on the wire", what);

	ipp_session_init(&peer, KEY, "peer");
	m.fr = fast;
	ipp_frames_init(&fast);
	ok(ipp_msg_decode(&peer, &m, NULL, 0) == 0, "%s: decodes", what);
	ok(m.nids == 2, "%s: with its 2 ids", what);
	is_str(m.msg_type, type, "msg_type as given");
	is_str(json_string_value(json_object_get(m.header, "username")),
	    s->username, "username as given");
	is_str(json_string_value(json_object_get(m.header, "session")),
	    s->session, "session as given");
	is_str(json_string_value(json_object_get(m.header, "version")),
	    IPP_PROTOCOL_VERSION, "version");
	ok(same_json(m.parent, parent), "%s: parent as given", what);
	ok(same_json(m.metadata, md), "%s: metadata as given", what);
	ok(same_json(m.content, content), "%s: content as given", what);
	ipp_session_release(&peer);
out:
	json_decref(ptree);
	ipp_msg_release(&m);
	ipp_frames_release(&fast);
	ipp_frames_release(&full);
}

int
main(void)
{
	/* every escape JSON has, and what must pass through unescaped */
	static const char *odd = "q\"b\\s/n\nt\tr\rb\bf\fc\001\037del\177"
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	struct ipp_session s;
	struct ipp_frames out;
	char longtype[400], hdr[2048];

	if (ipp_session_init(&s, KEY, "c0ffee-session") == -1)
		fatal("ipp_session_init");
	header_case(&s, "execute_reply", "plain header");
	header_case(&s, odd, "msg_type with every escape");
	snprintf(s.username, sizeof(s.username), "%s", odd);
	header_case(&s, "status", "username with every escape");
	snprintf(s.session, sizeof(s.session), "s\"\\\001");
	header_case(&s, odd, "session and msg_type with escapes");

	message_case(&s, "execute_reply", "{\"msg_id\":\"x\",\"n\":1}",
	    "{\"engine\":\"u\"}", "{\"status\":\"ok\",\"f\":0.5}",
	    "a reply");
	message_case(&s, "stream", NULL, NULL, NULL, "empty parts");
	message_case(&s, odd, "{}", "{\"k\":[1,2]}", "{\"t\":\"\\u0001\"}",
	    "odd msg_type");

	/* too long: -1 ENAMETOOLONG, and nothing left behind */
	memset(longtype, '\001', sizeof(longtype) - 1);
	longtype[sizeof(longtype) - 1] = '\0';
	errno = 0;
	ok(ipp_header_text(&s, longtype, hdr, sizeof(hdr)) == -1 &&
	    errno == ENAMETOOLONG, "an over-long msg_type: ENAMETOOLONG");
	ok(ipp_header_text(&s, "status", hdr, 40) == -1 &&
	    errno == ENAMETOOLONG, "a buffer too small: ENAMETOOLONG");
	ipp_frames_init(&out);
	ipp_frames_add(&out, "stale", 5);
	errno = 0;
	ok(ipp_msg_build_text(&s, &out, NULL, 0, longtype, NULL, NULL,
	    NULL) == -1 && errno == ENAMETOOLONG && out.n == 0,
	    "ipp_msg_build_text fails cleanly, out empty");
	ipp_frames_release(&out);
	ipp_session_release(&s);
	return tap_done();
}
