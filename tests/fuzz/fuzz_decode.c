/*
 * fuzz_decode.c - libFuzzer target for libipp's receive path: the bytes a
 * peer controls become struct ipp_frames and go through ipp_msg_decode,
 * as in every daemon's receive loop.  Built and run by run-fuzz.sh.
 *
 * The input is a sequence of frames, each a 2-byte little-endian length
 * and then that many bytes (the last one cut at the end of the input).
 * Every input is decoded twice: by a keyed session with replay protection,
 * which exercises the signature and replay checks (the seeds carry valid
 * signatures for FUZZ_KEY), and by a keyless one, so that mutated JSON
 * reaches the parser rather than stopping at the HMAC.  A message the
 * keyless session accepts is resealed and must then verify, and its date
 * goes through ipp_iso_parse.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipp.h"

#define FUZZ_KEY	"fuzz-key-0123456789abcdef"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct ipp_session keyed, keyless, sealer;
static int ready;

static void
setup(void)
{
	if (ipp_session_init(&keyed, FUZZ_KEY, "fuzz") == -1 ||
	    ipp_session_enable_replay(&keyed, 1024) == -1 ||
	    ipp_session_init(&keyless, NULL, "fuzz") == -1 ||
	    ipp_session_init(&sealer, FUZZ_KEY, "fuzz") == -1)
		abort();
	ready = 1;
}

/* What a successful decode promises its caller; abort() when broken. */
static void
check_decoded(const struct ipp_msg *m)
{
	json_t *date;

	if (m->msg_type == NULL || m->msg_id == NULL ||
	    !json_is_object(m->header) || !json_is_object(m->parent) ||
	    !json_is_object(m->metadata) || !json_is_object(m->content) ||
	    m->nids < 0 || m->nids > IPP_MAX_IDS || m->sig != m->nids + 1 ||
	    m->buf0 != m->sig + 5 || ipp_msg_nbufs(m) < 0 ||
	    ipp_frame_len(&m->fr, m->nids) != IPP_DELIM_LEN ||
	    memcmp(ipp_frame_data(&m->fr, m->nids), IPP_DELIM,
	    IPP_DELIM_LEN) != 0)
		abort();
	date = json_object_get(m->header, "date");
	if (json_is_string(date))
		(void)ipp_iso_parse(json_string_value(date));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipp_msg m;
	char why[256];
	size_t len;

	if (!ready)
		setup();
	ipp_msg_init(&m);
	while (size > 0) {
		len = data[0];
		if (size > 1)
			len |= (size_t)data[1] << 8;
		data += size > 1 ? 2 : 1;
		size -= size > 1 ? 2 : 1;
		if (len > size)
			len = size;
		if (ipp_frames_add(&m.fr, data, len) == -1)
			abort();
		data += len;
		size -= len;
	}

	if (ipp_msg_decode(&keyed, &m, why, sizeof(why)) == 0)
		check_decoded(&m);
	if (ipp_msg_decode(&keyless, &m, why, sizeof(why)) == 0) {
		check_decoded(&m);
		/* a resealed message must verify under the sealing key */
		if (ipp_msg_reseal(&sealer, &m) == -1 ||
		    ipp_msg_decode(&sealer, &m, why, sizeof(why)) == -1) {
			fprintf(stderr, "resealed message rejected: %s\n", why);
			abort();
		}
		check_decoded(&m);
	}
	ipp_msg_release(&m);
	return 0;
}
