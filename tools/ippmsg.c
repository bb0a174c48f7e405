/*
 * ippmsg - make and check signed Jupyter wire messages with libipp, so
 * that another implementation (jupyter_client, in
 * tests/t0100-jupyter-client-crosscheck.sh) can be held against ours byte
 * for byte.  A whole multipart message is written as one JSON array of
 * hex-encoded frames, which survives shells and pipes unchanged.
 *
 *   ippmsg sign KEY MSG_TYPE CONTENT_JSON [BUFFER_HEX ...]
 *	Build a message with ipp_msg_build (no routing ids) and the given
 *	buffers, and print it as ["<hex frame>", ...].
 *   ippmsg verify KEY
 *	Read one or more such arrays from stdin and decode each with
 *	ipp_msg_decode, replay protection on across them.  For each prints
 *	"msg_type T", "content JSON" (compact, sorted keys) and one
 *	"buffer HEX" line per buffer.  Exit 1 at the first rejected message
 *	with the reason on stderr.
 *   ippmsg hmac KEY HEADER PARENT METADATA CONTENT
 *	Print the hex signature of the four parts.
 *
 * An empty KEY means unsigned messages.  Exit status: 0 ok, 1 rejected,
 * 2 usage or unreadable input.
 */
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipp.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: ippmsg sign KEY MSG_TYPE CONTENT_JSON "
	    "[BUFFER_HEX ...]\n"
	    "       ippmsg verify KEY < frames.json\n"
	    "       ippmsg hmac KEY HEADER PARENT METADATA CONTENT\n");
	exit(2);
}

static int
unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode hex into a new buffer; NULL with EINVAL on odd length or non-hex. */
static unsigned char *
hex_decode(const char *s, size_t slen, size_t *outlen)
{
	unsigned char *out;
	size_t i;

	if (slen % 2 != 0) {
		errno = EINVAL;
		return NULL;
	}
	out = xmalloc(slen / 2 + 1);
	for (i = 0; i < slen / 2; i++) {
		int hi = unhex((unsigned char)s[2 * i]);
		int lo = unhex((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(out);
			errno = EINVAL;
			return NULL;
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*outlen = slen / 2;
	return out;
}

static void
print_hex(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++)
		printf("%02x", p[i]);
}

static int
cmd_sign(int argc, char **argv)
{
	struct ipp_session s;
	struct ipp_frames fr;
	json_error_t jerr;
	json_t *content;
	unsigned char *b;
	size_t blen;
	int i;

	if (argc < 4)
		usage();
	if ((content = json_loads(argv[3], 0, &jerr)) == NULL)
		errx(2, "CONTENT_JSON: %s", jerr.text);
	if (!json_is_object(content))
		errx(2, "CONTENT_JSON is not a JSON object");
	if (ipp_session_init(&s, argv[1], NULL) == -1)
		err(2, "session");
	ipp_frames_init(&fr);
	if (ipp_msg_build(&s, &fr, NULL, 0, argv[2], NULL, NULL, NULL,
	    content) == -1)
		err(2, "ipp_msg_build");
	for (i = 4; i < argc; i++) {
		if ((b = hex_decode(argv[i], strlen(argv[i]), &blen)) == NULL)
			errx(2, "buffer %d is not hex", i - 4);
		if (ipp_frames_add(&fr, b, blen) == -1)
			err(2, "ipp_frames_add");
		free(b);
	}
	putchar('[');
	for (i = 0; i < fr.n; i++) {
		printf("%s\"", i ? ", " : "");
		print_hex(ipp_frame_data(&fr, i), ipp_frame_len(&fr, i));
		putchar('"');
	}
	printf("]\n");
	ipp_frames_release(&fr);
	ipp_session_release(&s);
	return 0;
}

static char *
read_all(FILE *fp, size_t *lenp)
{
	size_t len = 0, cap = 65536, n;
	char *buf;

	buf = xmalloc(cap);
	while ((n = fread(buf + len, 1, cap - len, fp)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap, 1);
		}
	}
	if (ferror(fp))
		err(2, "read stdin");
	*lenp = len;
	return buf;
}

/* One JSON array of hex strings into frames; -1 when it is not one. */
static int
array_to_frames(json_t *a, struct ipp_frames *fr)
{
	unsigned char *b;
	size_t i, blen;
	json_t *v;

	if (!json_is_array(a))
		return -1;
	ipp_frames_clear(fr);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || (b = hex_decode(json_string_value(v),
		    json_string_length(v), &blen)) == NULL)
			return -1;
		if (ipp_frames_add(fr, b, blen) == -1)
			err(2, "ipp_frames_add");
		free(b);
	}
	return 0;
}

static int
cmd_verify(int argc, char **argv)
{
	struct ipp_session s;
	struct ipp_msg m;
	json_error_t jerr;
	json_t *a;
	char why[512], *in, *txt;
	size_t len, off = 0;
	int i, nmsg = 0, rc = 0;

	if (argc != 2)
		usage();
	if (ipp_session_init(&s, argv[1], NULL) == -1 ||
	    ipp_session_enable_replay(&s, 65536) == -1)
		err(2, "session");
	ipp_msg_init(&m);
	in = read_all(stdin, &len);
	for (;;) {
		while (off < len && isspace((unsigned char)in[off]))
			off++;
		if (off == len)
			break;
		a = json_loadb(in + off, len - off, JSON_DISABLE_EOF_CHECK,
		    &jerr);
		if (a == NULL)
			errx(2, "message %d: %s", nmsg, jerr.text);
		off += jerr.position;
		if (array_to_frames(a, &m.fr) == -1)
			errx(2, "message %d: not an array of hex strings",
			    nmsg);
		json_decref(a);
		if (ipp_msg_decode(&s, &m, why, sizeof(why)) == -1) {
			fprintf(stderr, "ippmsg: message %d rejected: %s\n",
			    nmsg, why);
			rc = 1;
			break;
		}
		if ((txt = json_dumps(m.content, JSON_COMPACT |
		    JSON_SORT_KEYS)) == NULL)
			err(2, "json_dumps");
		printf("msg_type %s\ncontent %s\n", m.msg_type, txt);
		free(txt);
		for (i = m.buf0; i < m.fr.n; i++) {
			printf("buffer ");
			print_hex(ipp_frame_data(&m.fr, i),
			    ipp_frame_len(&m.fr, i));
			putchar('\n');
		}
		nmsg++;
	}
	if (nmsg == 0 && rc == 0)
		errx(2, "no message on stdin");
	free(in);
	ipp_msg_release(&m);
	ipp_session_release(&s);
	return rc;
}

static int
cmd_hmac(int argc, char **argv)
{
	struct ipp_session s;
	const void *parts[4];
	size_t lens[4];
	char sig[IPP_SIG_HEXLEN + 1];
	int i;

	if (argc != 6)
		usage();
	for (i = 0; i < 4; i++) {
		parts[i] = argv[2 + i];
		lens[i] = strlen(argv[2 + i]);
	}
	if (ipp_session_init(&s, argv[1], NULL) == -1)
		err(2, "session");
	ipp_sign(&s, parts, lens, sig);
	printf("%s\n", sig);
	ipp_session_release(&s);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "hmac") == 0)
		return cmd_hmac(argc - 1, argv + 1);
	usage();
}
