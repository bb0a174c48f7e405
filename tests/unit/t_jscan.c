/*
 * t_jscan.c - unit tests of libipp's key scanner (jscan.c) against
 * jansson, the decoder it stands in for on hubd's relay paths.  The rule
 * checked everywhere: when ipp_json_scan() vouches for a text (0),
 * jansson accepts it as an object and every scanned key has the value
 * jansson finds; when jansson rejects a text, the scanner never vouches.
 * Inputs: real Jupyter/ipyparallel parts, hand-made edge cases (escapes,
 * nesting, repeated keys, numbers, literals, broken texts) and many
 * random mutations of the real parts.  Also held to jansson: the
 * splice (ipp_json_splice) hubd's broadcast makes its per-engine copies
 * with, and the bound the iopub tap relies on when it unescapes a
 * stream's text in place (never longer than its JSON form).  And the
 * quick scanner, ipp_json_peek (test_peek).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipp.h"
#include "tap.h"

static const char *const keys[] = { "msg_id", "msg_type", "session",
    "date", "targets", "retries", "timeout", "after", "follow", "status",
    "dependencies_met", "engine", "started", "a", "" };
#define NKEYS	(int)(sizeof(keys) / sizeof(keys[0]))

static const char *const valid[] = {
	"{\"msg_id\":\"5f1e-3\",\"msg_type\":\"apply_request\","
	    "\"username\":\"u\",\"session\":\"s-1\",\"date\":"
	    "\"2026-11-22T01:27:08.130239Z\",\"version\":\"5.3\"}",
	"{\"after\": [], \"follow\": [], \"timeout\": null, \"targets\": [],"
	    " \"retries\": 0, \"is_broadcast\": false, \"is_coalescing\": "
	    "false}",
	"{\"after\":{\"dependencies\":[\"a\",\"b\"],\"all\":true,"
	    "\"success\":true,\"failure\":false},\"follow\":[],"
	    "\"targets\":[\"e1\",\"e2\"],\"retries\":3,\"timeout\":2.5}",
	"{\"status\":\"ok\",\"engine\":\"e-uuid\",\"started\":"
	    "\"2026-11-22T01:27:08.1Z\",\"dependencies_met\":true}",
	"{\"dependencies_met\":false,\"status\":\"error\"}",
	"{}", " { } ", "\n{\"a\" : 1 }\n", "{\"a\":-0}", "{\"a\":1.5e10}",
	"{\"a\":-12.25E-3}", "{\"a\":123456789012345}", "{\"a\":1e+99}",
	"{\"msg_id\":\"q\\\"uote\\\\back\\/slash\\n\\t\\b\\f\\r\"}",
	"{\"msg_id\":\"\\u00e9t\\u20acx\\u0041\"}",
	"{\"msg_id\":\"\\u0000nul\"}",
	"{\"a\":1,\"a\":\"two\"}",
	"{\"a\":{\"msg_id\":\"inner\"},\"msg_id\":\"outer\"}",
	"{\"x\":[[[{\"a\":[1,2,{\"b\":\"}]\"}]}]]],\"a\":[true,false,null]}",
	"{\"\":\"empty key\",\"a\":\"\"}",
	"{\"a\":\"[{\\\"msg_id\\\":1}]\",\"msg_id\":\"m\"}",
	"{\"content\":{\"code\":\"print('hi')\\n\",\"silent\":false}}",
	/* UTF-8 as clients send it: 2, 3 and 4 bytes, in keys too */
	"{\"msg_id\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\","
	    "\"\xc3\xa9t\xc3\xa9\":[\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"]}",
	"{\"name\":\"stdout\",\"text\":\"\xc3\xa9t\xc3\xa9\\n\"}",
};

static const char *const broken[] = {
	"", "[]", "\"s\"", "1", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
	"{,}", "{\"a\":1 \"b\":2}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
	"{\"a\":1e}", "{\"a\":+1}", "{\"a\":tru}", "{\"a\":nul}",
	"{\"a\":\"unterminated}", "{\"a\":\"bad \\x escape\"}",
	"{\"a\":\"\\u12g4\"}", "{\"a\":[1,2}", "{\"a\":{\"b\":1]}",
	"{\"a\":1} x", "{\"a\":1}{}", "{a:1}", "{'a':1}",
	"{\"a\":\"tab\there\"}", "{\"a\":1e999}",
	"{\"a\":99999999999999999999999}", "{\"a\":\"\\ud800\"}",
	"{\"a\":\"\xff\"}", "{\"a\":NaN}", "{\"a\":Infinity}",
	/* UTF-8 jansson refuses: stray, overlong, surrogate, too high, cut */
	"{\"a\":\"\x80\"}", "{\"a\":\"\xc0\x80\"}", "{\"a\":\"\xc1\xbf\"}",
	"{\"a\":\"\xe0\x80\x80\"}", "{\"a\":\"\xed\xa0\x80\"}",
	"{\"a\":\"\xf0\x80\x80\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
	"{\"a\":\"\xf5\x80\x80\x80\"}", "{\"a\":\"\xe2\x82\"}",
	"{\"a\":\"\xc3\"}", "{\"\xc3\":1}", "{\"a\":1\xc3\xa9}",
};

/* jansson's value of key k, or NULL. */
static int
check_one(const char *txt, size_t len, const char *what)
{
	struct ipp_jval v[NKEYS];
	json_t *j, *jv, *sv;
	char buf[512];
	int k, rc, good = 1;

	rc = ipp_json_scan(txt, len, keys, NKEYS, v);
	j = json_loadb(txt, len, JSON_ALLOW_NUL, NULL);
	if (rc == 0 && (j == NULL || !json_is_object(j))) {
		diag("scanner vouched for what jansson rejects: %s %.*s",
		    what, (int)len, txt);
		json_decref(j);
		return 0;
	}
	if (rc != 0) {
		json_decref(j);
		return 1;
	}
	for (k = 0; k < NKEYS; k++) {
		jv = json_object_get(j, keys[k]);
		if ((jv == NULL) != (v[k].type == IPP_JNONE)) {
			diag("%s: key '%s' presence differs", what, keys[k]);
			good = 0;
			continue;
		}
		if (jv == NULL)
			continue;
		sv = json_loadb(v[k].p, v[k].len,
		    JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (sv == NULL || !json_equal(sv, jv)) {
			diag("%s: key '%s' value differs", what, keys[k]);
			good = 0;
		}
		json_decref(sv);
		/* room for the text between the quotes is room enough */
		if (json_is_string(jv) && memchr(json_string_value(jv), '\0',
		    json_string_length(jv)) == NULL && v[k].len - 1 <=
		    sizeof(buf) && ipp_jval_str(&v[k], buf, v[k].len - 1) == -1) {
			diag("%s: key '%s' longer unescaped", what, keys[k]);
			good = 0;
		}
		if (json_is_string(jv)) {
			int want = memchr(json_string_value(jv), '\0',
			    json_string_length(jv)) != NULL ||
			    json_string_length(jv) >= sizeof(buf);

			if ((ipp_jval_str(&v[k], buf, sizeof(buf)) == -1) !=
			    want || (!want && strcmp(buf,
			    json_string_value(jv)) != 0)) {
				diag("%s: key '%s' string differs", what,
				    keys[k]);
				good = 0;
			}
		} else if (ipp_jval_str(&v[k], buf, sizeof(buf)) != -1) {
			diag("%s: key '%s' is no string", what, keys[k]);
			good = 0;
		}
	}
	json_decref(j);
	return good;
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

/*
 * ipp_json_splice on a vouched text: the result is the object jansson
 * makes by setting those keys.  1 when it agrees (or the text is not
 * vouched for), 0 and a diagnostic when not.
 */
static int
check_splice(const char *txt, size_t len, const char *what)
{
	static const char *const sk[] = { "msg_id", "targets", "new key" };
	static const char *const with[] = { "\"a_b\"", "[[\"u\",1]]",
	    "{\"x\":[1,null]}" };
	struct ipp_jval v[3];
	char out[2048];
	json_t *want, *got;
	size_t n;
	int k, good;

	if (ipp_json_scan(txt, len, sk, 3, v) == -1)
		return 1;
	if ((n = ipp_json_splice(txt, len, sk, v, with, 3, out,
	    sizeof(out))) == 0) {
		diag("%s: splice failed: %.*s", what, (int)len, txt);
		return 0;
	}
	want = json_loadb(txt, len, JSON_ALLOW_NUL, NULL);
	for (k = 0; k < 3; k++)
		json_object_set_new(want, sk[k], json_loads(with[k],
		    JSON_DECODE_ANY, NULL));
	got = json_loadb(out, n, JSON_ALLOW_NUL, NULL);
	good = got != NULL && json_equal(want, got) &&
	    ipp_json_scan(out, n, NULL, 0, NULL) == 0;
	if (!good)
		diag("%s: splice of %.*s gave %.*s", what, (int)len, txt,
		    (int)n, out);
	json_decref(want);
	json_decref(got);
	return good;
}

int
main(void)
{
	struct ipp_jval v[3];
	static const char *const k3[] = { "msg_id", "msg_type", "a" };
	char buf[64], mut[1024];
	size_t i, n, len;
	int bad = 0, vouched = 0, r;

	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		ok(ipp_json_scan(valid[i], strlen(valid[i]), keys, NKEYS,
		    (struct ipp_jval[NKEYS]){ 0 }) == 0, "vouches for %s",
		    valid[i]);
		ok(check_one(valid[i], strlen(valid[i]), "valid"),
		    "agrees with jansson on %s", valid[i]);
	}
	for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		struct ipp_jval w[NKEYS];

		ok(ipp_json_scan(broken[i], strlen(broken[i]), keys, NKEYS,
		    w) == -1, "does not vouch for %s", broken[i]);
		ok(check_one(broken[i], strlen(broken[i]), "broken"),
		    "agrees with jansson on %s", broken[i]);
	}

	/* values as the relays read them */
	ok(ipp_json_scan(valid[0], strlen(valid[0]), k3, 3, v) == 0 &&
	    ipp_jval_str(&v[0], buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "5f1e-3") == 0 && v[2].type == IPP_JNONE,
	    "msg_id read, absent key is IPP_JNONE");
	ok(ipp_jval_str(&v[1], buf, 5) == -1, "too long for out: -1");
	ok(ipp_json_scan(valid[16], strlen(valid[16]), k3, 3, v) == 0 &&
	    ipp_jval_str(&v[2], buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "two") == 0, "a repeated key: the last one wins");
	ok(ipp_json_scan(valid[17], strlen(valid[17]), k3, 3, v) == 0 &&
	    ipp_jval_str(&v[0], buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "outer") == 0, "a nested key never matches");
	ok(ipp_json_scan(valid[15], strlen(valid[15]), k3, 3, v) == 0 &&
	    ipp_jval_str(&v[0], buf, sizeof(buf)) == -1,
	    "a string holding \\u0000 is refused by ipp_jval_str");
	ok(ipp_json_scan(valid[1], strlen(valid[1]), keys, NKEYS,
	    (struct ipp_jval[NKEYS]){ 0 }) == 0, "metadata vouched");
	{
		struct ipp_jval w[NKEYS];

		ipp_json_scan(valid[1], strlen(valid[1]), keys, NKEYS, w);
		ok(ipp_jval_is(&w[4], "[]") && ipp_jval_is(&w[6], "null") &&
		    ipp_jval_is(&w[5], "0") && !ipp_jval_is(&w[11], "[]"),
		    "ipp_jval_is compares the value's text");
	}

	/* the splice, as broadcast uses it */
	for (i = 0, r = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		r += !check_splice(valid[i], strlen(valid[i]), "valid");
	is_int(r, 0, "splice agrees with jansson's set on every valid text");
	{
		static const char *const k1[] = { "msg_id" };
		static const char *const w1[] = { "\"longer id\"" };
		struct ipp_jval w[1];

		ipp_json_scan(valid[0], strlen(valid[0]), k1, 1, w);
		ok(ipp_json_splice(valid[0], strlen(valid[0]), k1, w, w1, 1,
		    mut, strlen(valid[0])) == 0 && errno == ENOSPC,
		    "splice: no room, 0 and ENOSPC");
		ok(ipp_json_splice("{ }", 3, k1, (struct ipp_jval[1]){
		    { NULL, 0, IPP_JNONE } }, w1, 1, mut, sizeof(mut)) == 23 &&
		    memcmp(mut, "{ \"msg_id\":\"longer id\"}", 23) == 0,
		    "splice into an empty object: no comma");
	}

	/* random mutations of the valid texts: never vouch wrongly */
	srandom(13);
	for (r = 0; r < 200000; r++) {
		const char *src = valid[random() % (sizeof(valid) /
		    sizeof(valid[0]))];
		int nm = 1 + (int)(random() % 3), k;
		static const char pool[] = "{}[]\",:\\u0123456789eE.-+ tfnalrsx"
		    "\x80\xc3\xa9\xe2\x82\xac\xed\xa0\xf0\x9f\xbf\xc0\t\n";

		len = strlen(src);
		memcpy(mut, src, len);
		for (k = 0; k < nm; k++) {
			n = (size_t)random() % (len + 1);
			switch (random() % 3) {
			case 0:		/* replace */
				if (n < len)
					mut[n] = pool[random() %
					    (sizeof(pool) - 1)];
				break;
			case 1:		/* delete */
				if (n < len) {
					memmove(mut + n, mut + n + 1,
					    len - n - 1);
					len--;
				}
				break;
			default:	/* insert */
				if (len + 1 < sizeof(mut)) {
					memmove(mut + n + 1, mut + n, len - n);
					mut[n] = pool[random() %
					    (sizeof(pool) - 1)];
					len++;
				}
			}
		}
		if (ipp_json_scan(mut, len, keys, NKEYS,
		    (struct ipp_jval[NKEYS]){ 0 }) == 0)
			vouched++;
		if (!check_one(mut, len, "mutated") ||
		    !check_splice(mut, len, "mutated"))
			bad++;
	}
	is_int(bad, 0, "200,000 mutated texts: the scanner never disagrees "
	    "with jansson");
	ok(vouched > 10000, "and vouches for many of them (%d)", vouched);
	test_peek();
	return tap_done();
}
