/*
 * jscan.c - scanners for the top-level keys of a JSON object, read from
 * the text without building a jansson tree: a checking one
 * (ipp_json_scan) and a quick one that only finds a string
 * (ipp_json_peek, at the end).
 *
 * hubd relays several messages per task and needs only a handful of
 * fields of each (msg_id, msg_type, the parent's msg_id, a few metadata
 * keys).  Building jansson trees for all four parts was a third of its
 * loop.  ipp_json_scan() walks the text once, without allocating, and
 * does two things: it checks the whole text the way jansson's decoder
 * would, and it notes where the values of the wanted top-level keys lie.
 *
 * It only vouches for what it fully understands.  Anything in the grey
 * zone of the decoders - \u escapes of surrogates, numbers that might
 * overflow, escapes in keys, deep nesting, control bytes - makes it
 * answer "cannot tell" (-1), and the
 * caller then parses with jansson, which decides.  So: 0 from the
 * scanner means jansson accepts the text and finds the same values
 * (tests/unit/t_jscan.c checks this on many messages); -1 means nothing.
 *
 * ipp_json_splice() builds on a vouched scan: it replaces the values of
 * a few top-level keys (or adds them) in the text, so a relay changes a
 * field of a message without re-encoding the rest.
 */
#include <errno.h>
#include <string.h>

#include "ipp.h"

#define JSCAN_MAX_DEPTH	64
#define JSCAN_MAX_NUM	24	/* longer numbers: let jansson judge */

static size_t
ws(const char *b, size_t n, size_t i)
{
	while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' ||
	    b[i] == '\r'))
		i++;
	return i;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The code unit of \uXXXX at b[i] ('u'); -1 when malformed. */
static long
hex4(const char *b, size_t n, size_t i)
{
	long v = 0;
	int k, d;

	if (i + 4 >= n)
		return -1;
	for (k = 1; k <= 4; k++) {
		if ((d = hexval((unsigned char)b[i + k])) < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * The UTF-8 sequence at b[i] (a byte above 0x7f): its length, or 0 when
 * jansson would refuse it - a stray continuation byte, an overlong form,
 * a surrogate, beyond U+10FFFF or cut short.  Clients send text as UTF-8
 * (jupyter_client does not escape it), so this keeps their non-ASCII
 * output and names on the scanner's path.
 */
static size_t
utf8(const char *b, size_t n, size_t i)
{
	unsigned char c = (unsigned char)b[i], d;
	size_t len, k;
	long u;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		u = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		u = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		u = c & 0x07;
	} else
		return 0;
	if (i + len > n)
		return 0;
	for (k = 1; k < len; k++) {
		d = (unsigned char)b[i + k];
		if ((d & 0xc0) != 0x80)
			return 0;
		u = (u << 6) | (d & 0x3f);
	}
	if ((len == 3 && (u < 0x800 || (u >= 0xd800 && u <= 0xdfff))) ||
	    (len == 4 && (u < 0x10000 || u > 0x10ffff)))
		return 0;
	return len;
}

/*
 * b[i] is '"': index past the closing quote, or 0 when the string is
 * not one we vouch for.  *esc is set when it holds escapes.
 */
static size_t
str(const char *b, size_t n, size_t i, int *esc)
{
	unsigned char c;
	size_t l;
	long u;

	for (i++; i < n; i++) {
		c = (unsigned char)b[i];
		if (c == '"')
			return i + 1;
		if (c < 0x20)
			return 0;
		if (c >= 0x80) {
			if ((l = utf8(b, n, i)) == 0)
				return 0;
			i += l - 1;
			continue;
		}
		if (c != '\\')
			continue;
		*esc = 1;
		if (++i >= n)
			return 0;
		switch (b[i]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			break;
		case 'u':
			if ((u = hex4(b, n, i)) < 0 ||
			    (u >= 0xd800 && u <= 0xdfff))
				return 0;
			i += 4;
			break;
		default:
			return 0;
		}
	}
	return 0;
}

static int
digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A number at b[i]: index past it, or 0. */
static size_t
num(const char *b, size_t n, size_t i)
{
	size_t s = i, e;

	if (i < n && b[i] == '-')
		i++;
	if (i >= n || !digit(b[i]))
		return 0;
	if (b[i] == '0')
		i++;
	else
		while (i < n && digit(b[i]))
			i++;
	if (i < n && b[i] == '.') {
		if (++i >= n || !digit(b[i]))
			return 0;
		while (i < n && digit(b[i]))
			i++;
	}
	if (i < n && (b[i] == 'e' || b[i] == 'E')) {
		if (++i < n && (b[i] == '+' || b[i] == '-'))
			i++;
		e = i;
		while (i < n && digit(b[i]))
			i++;
		/* no digits, or an exponent that may overflow a double */
		if (i == e || i - e > 2)
			return 0;
	}
	/* long integers may overflow json_int_t: jansson's call */
	if (i - s > JSCAN_MAX_NUM || (i - s > 15 && memchr(b + s, '.',
	    i - s) == NULL && memchr(b + s, 'e', i - s) == NULL &&
	    memchr(b + s, 'E', i - s) == NULL))
		return 0;
	return i;
}

static size_t
lit(const char *b, size_t n, size_t i, const char *w)
{
	size_t l = strlen(w);

	return i + l <= n && memcmp(b + i, w, l) == 0 ? i + l : 0;
}

static size_t value(const char *, size_t, size_t, int, int *);

/* Object or array at b[i]; depth is that of the container. */
static size_t
container(const char *b, size_t n, size_t i, int depth)
{
	char close = b[i] == '{' ? '}' : ']';
	int esc, type;

	if (depth > JSCAN_MAX_DEPTH)
		return 0;
	i = ws(b, n, i + 1);
	if (i < n && b[i] == close)
		return i + 1;
	for (;;) {
		if (close == '}') {
			esc = 0;
			if (i >= n || b[i] != '"' ||
			    (i = str(b, n, i, &esc)) == 0 || esc)
				return 0;
			i = ws(b, n, i);
			if (i >= n || b[i] != ':')
				return 0;
			i = ws(b, n, i + 1);
		}
		if ((i = value(b, n, i, depth + 1, &type)) == 0)
			return 0;
		i = ws(b, n, i);
		if (i < n && b[i] == close)
			return i + 1;
		if (i >= n || b[i] != ',')
			return 0;
		i = ws(b, n, i + 1);
	}
}

static size_t
value(const char *b, size_t n, size_t i, int depth, int *type)
{
	int esc = 0;

	if (i >= n)
		return 0;
	switch (b[i]) {
	case '"':
		*type = IPP_JSTR;
		return str(b, n, i, &esc);
	case '{':
		*type = IPP_JOBJ;
		return container(b, n, i, depth);
	case '[':
		*type = IPP_JARR;
		return container(b, n, i, depth);
	case 't':
		*type = IPP_JTRUE;
		return lit(b, n, i, "true");
	case 'f':
		*type = IPP_JFALSE;
		return lit(b, n, i, "false");
	case 'n':
		*type = IPP_JNULL;
		return lit(b, n, i, "null");
	default:
		*type = IPP_JNUM;
		return num(b, n, i);
	}
}

int
ipp_json_scan(const char *b, size_t n, const char *const *keys, int nkeys,
    struct ipp_jval *vals)
{
	size_t i, ks, kl, vs;
	int k, esc, type;

	for (k = 0; k < nkeys; k++) {
		vals[k].p = NULL;
		vals[k].len = 0;
		vals[k].type = IPP_JNONE;
	}
	i = ws(b, n, 0);
	if (i >= n || b[i] != '{')
		goto unsure;
	i = ws(b, n, i + 1);
	if (i < n && b[i] == '}') {
		i++;
		goto end;
	}
	for (;;) {
		esc = 0;
		if (i >= n || b[i] != '"' || (i = str(b, n, i, &esc)) == 0 ||
		    esc)
			goto unsure;
		ks = 0;
		kl = 0;
		for (vs = i - 2; b[vs] != '"'; vs--)
			kl++;
		ks = vs + 1;
		i = ws(b, n, i);
		if (i >= n || b[i] != ':')
			goto unsure;
		vs = i = ws(b, n, i + 1);
		if ((i = value(b, n, i, 1, &type)) == 0)
			goto unsure;
		/* a repeated key: the last one wins, as in jansson */
		for (k = 0; k < nkeys; k++)
			if (strlen(keys[k]) == kl &&
			    memcmp(keys[k], b + ks, kl) == 0) {
				vals[k].p = b + vs;
				vals[k].len = i - vs;
				vals[k].type = type;
			}
		i = ws(b, n, i);
		if (i < n && b[i] == '}') {
			i++;
			break;
		}
		if (i >= n || b[i] != ',')
			goto unsure;
		i = ws(b, n, i + 1);
	}
end:
	if (ws(b, n, i) != n)
		goto unsure;
	return 0;
unsure:
	errno = EBADMSG;
	return -1;
}

int
ipp_jval_str(const struct ipp_jval *v, char *out, size_t outlen)
{
	size_t i, o = 0, n;
	const char *b;
	long u;

	if (v->type != IPP_JSTR || outlen == 0) {
		errno = EINVAL;
		return -1;
	}
	b = v->p + 1;
	n = v->len - 2;
	for (i = 0; i < n; i++) {
		char c = b[i];

		if (c == '\\') {
			switch (b[++i]) {
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				u = hex4(b, n, i);
				i += 4;
				if (u == 0) {
					errno = EINVAL;	/* a NUL inside */
					return -1;
				}
				if (u >= 0x80) {
					/* 2 or 3 UTF-8 bytes (no surrogates here) */
					char t[3];
					int k, tl = u >= 0x800 ? 3 : 2;

					if (tl == 3) {
						t[0] = (char)(0xe0 | (u >> 12));
						t[1] = (char)(0x80 | ((u >> 6) & 0x3f));
						t[2] = (char)(0x80 | (u & 0x3f));
					} else {
						t[0] = (char)(0xc0 | (u >> 6));
						t[1] = (char)(0x80 | (u & 0x3f));
					}
					if (o + tl >= outlen)
						goto toolong;
					for (k = 0; k < tl; k++)
						out[o++] = t[k];
					continue;
				}
				c = (char)u;
				break;
			default:
				c = b[i];	/* " \ / */
			}
		}
		if (o + 1 >= outlen)
			goto toolong;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}

int
ipp_jval_is(const struct ipp_jval *v, const char *text)
{
	size_t l = strlen(text);

	return v->type != IPP_JNONE && v->len == l &&
	    memcmp(v->p, text, l) == 0;
}

/*
 * The quick scanner: one string field of JSON text, for hot paths that need a string
 * or two of a message and not the whole tree (the hub's iopub tap, the
 * load generator, the engine simulator).  It walks the top-level object
 * key by key, skipping values - strings with their escapes, nested
 * objects and arrays by depth - so a key inside a value never matches.
 * It checks structure only as far as it reads; it is not a validator.
 */
#define SCAN_FAIL	((size_t)-1)

/* b[i] is '"': the index past the closing quote; *esc set on escapes. */
static size_t
scan_str(const char *b, size_t n, size_t i, int *esc)
{
	for (i++; i < n; i++) {
		if (b[i] == '\\') {
			*esc = 1;
			i++;
		} else if (b[i] == '"')
			return i + 1;
	}
	return SCAN_FAIL;
}

static size_t
scan_value(const char *b, size_t n, size_t i)
{
	int depth = 0, esc = 0;
	size_t s = i;

	if (i >= n)
		return SCAN_FAIL;
	if (b[i] == '"')
		return scan_str(b, n, i, &esc);
	if (b[i] != '{' && b[i] != '[') {
		while (i < n && strchr(",}] \t\r\n", b[i]) == NULL)
			i++;
		return i > s ? i : SCAN_FAIL;
	}
	while (i < n) {
		if (b[i] == '"') {
			if ((i = scan_str(b, n, i, &esc)) == SCAN_FAIL)
				return SCAN_FAIL;
			continue;
		}
		if (b[i] == '{' || b[i] == '[')
			depth++;
		else if ((b[i] == '}' || b[i] == ']') && --depth == 0)
			return i + 1;
		i++;
	}
	return SCAN_FAIL;
}

/*
 * The string value of the top-level "key" of a JSON object in buf.  -1
 * when the text is not an object, the key is absent, its value is not a
 * string, holds escapes, or does not fit in out.
 */
int
ipp_json_peek(const char *buf, size_t len, const char *key, char *out,
    size_t outlen)
{
	size_t kl = strlen(key), i, ks, ke, vs;
	int esc;

	i = ws(buf, len, 0);
	if (i >= len || buf[i] != '{')
		return -1;
	for (i++;;) {
		i = ws(buf, len, i);
		if (i >= len || buf[i] != '"')
			return -1;
		esc = 0;
		ks = i + 1;
		if ((i = scan_str(buf, len, i, &esc)) == SCAN_FAIL)
			return -1;
		ke = i - 1;
		i = ws(buf, len, i);
		if (i >= len || buf[i] != ':')
			return -1;
		i = ws(buf, len, i + 1);
		if (!esc && ke - ks == kl && memcmp(buf + ks, key, kl) == 0) {
			if (i >= len || buf[i] != '"')
				return -1;
			vs = i + 1;
			if ((i = scan_str(buf, len, i, &esc)) == SCAN_FAIL ||
			    esc || i - 1 - vs >= outlen)
				return -1;
			memcpy(out, buf + vs, i - 1 - vs);
			out[i - 1 - vs] = '\0';
			return 0;
		}
		if ((i = scan_value(buf, len, i)) == SCAN_FAIL)
			return -1;
		i = ws(buf, len, i);
		if (i >= len || buf[i] != ',')
			return -1;	/* '}' too: the key is absent */
		i++;
	}
}

/* One change of ipp_json_splice: span [at, at+len) becomes with. */
struct jcut {
	size_t		 at, len;
	int		 k;		/* index of the key */
};

#define JSPLICE_MAX	8

size_t
ipp_json_splice(const char *b, size_t n, const char *const *keys,
    const struct ipp_jval *vals, const char *const *with, int nkeys,
    char *out, size_t cap)
{
	struct jcut c[JSPLICE_MAX], t;
	size_t end, o = 0, i = 0, l, kl;
	int k, j, nc = 0, empty;

	if (nkeys > JSPLICE_MAX) {
		errno = EINVAL;
		return 0;
	}
	/* the closing brace, and whether the object had any member */
	for (end = n; end > 0 && b[end - 1] != '}'; end--)
		;
	if (end == 0) {
		errno = EINVAL;
		return 0;
	}
	end--;
	for (l = end; l > 0 && (b[l - 1] == ' ' || b[l - 1] == '\t' ||
	    b[l - 1] == '\n' || b[l - 1] == '\r'); l--)
		;
	empty = l > 0 && b[l - 1] == '{';
	for (k = 0; k < nkeys; k++) {
		c[nc].k = k;
		if (vals[k].type != IPP_JNONE) {
			c[nc].at = (size_t)(vals[k].p - b);
			c[nc].len = vals[k].len;
		} else {
			c[nc].at = end;		/* added, in key order */
			c[nc].len = 0;
		}
		/* insertion sort by position; equal ones keep their order */
		for (j = nc++; j > 0 && c[j - 1].at > c[j].at; j--) {
			t = c[j];
			c[j] = c[j - 1];
			c[j - 1] = t;
		}
	}
	for (j = 0; j <= nc; j++) {
		l = (j < nc ? c[j].at : n) - i;
		if (o + l > cap)
			goto full;
		memcpy(out + o, b + i, l);
		o += l;
		if (j == nc)
			break;
		k = c[j].k;
		if (c[j].len == 0 && vals[k].type == IPP_JNONE) {
			/* "key": before the value, and a comma unless first */
			kl = strlen(keys[k]);
			if (o + kl + 4 > cap)
				goto full;
			if (!empty)
				out[o++] = ',';
			empty = 0;
			out[o++] = '"';
			memcpy(out + o, keys[k], kl);
			o += kl;
			out[o++] = '"';
			out[o++] = ':';
		}
		l = strlen(with[k]);
		if (o + l > cap)
			goto full;
		memcpy(out + o, with[k], l);
		o += l;
		i = c[j].at + c[j].len;
	}
	return o;
full:
	errno = ENOSPC;
	return 0;
}
