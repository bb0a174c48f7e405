/*
 * t_sign.c - unit tests of libipp's HMAC signing (session.c):
 * the spec's test vector, keys at and past SHA-256's block size against
 * digests computed independently with Python's hmac module, and the
 * replay history, in memory and kept in a file; hmac.c against
 * libsodium's HMAC for every key length up to two blocks and messages
 * around the block boundaries, and from two threads sharing one key
 * (ipp_hmac promises they may).  One of the libipp unit
 * tests split by theme (libipp_test.h has their shared helpers).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ipp.h"
#include "tap.h"
#include "libipp_test.h"

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
	char path[] = "/tmp/t_sign-digests.XXXXXX";
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

/* libsodium's HMAC of parts[0..n), the reference. */
static void
sodium_mac(const unsigned char *key, size_t keylen, const void *const *parts,
    const size_t *lens, int n, unsigned char mac[32])
{
	crypto_auth_hmacsha256_state st;
	int i;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	for (i = 0; i < n; i++)
		crypto_auth_hmacsha256_update(&st, parts[i], lens[i]);
	crypto_auth_hmacsha256_final(&st, mac);
}

static void
test_hmac_vs_sodium(void)
{
	static const size_t mlens[] = { 0, 1, 55, 56, 63, 64, 65, 119, 120,
	    127, 128, 129, 700, 5000 };
	unsigned char key[130], msg[5000], a[32], b[32];
	const void *parts[3];
	size_t lens[3], kl, j;
	struct ipp_hmac *m;
	int bad = 0, cases = 0, n;

	if (sodium_init() < 0)
		fatal("sodium_init");
	for (j = 0; j < sizeof(msg); j++)
		msg[j] = (unsigned char)(j * 131 + 7);
	for (kl = 1; kl <= sizeof(key); kl++) {
		for (j = 0; j < kl; j++)
			key[j] = (unsigned char)(kl * 17 + j);
		if ((m = ipp_hmac_new(key, kl)) == NULL)
			fatal("ipp_hmac_new");
		for (j = 0; j < sizeof(mlens) / sizeof(mlens[0]); j++) {
			/* the message in one, two or three parts */
			for (n = 1; n <= 3; n++) {
				parts[0] = msg;
				lens[0] = n == 1 ? mlens[j] : mlens[j] / 3;
				parts[1] = msg + lens[0];
				lens[1] = n == 2 ? mlens[j] - lens[0] :
				    mlens[j] / 3;
				parts[2] = msg + lens[0] + lens[1];
				lens[2] = mlens[j] - lens[0] - lens[1];
				ipp_hmac_sha256(m, parts, lens, n, a);
				sodium_mac(key, kl, parts, lens, n, b);
				cases++;
				if (memcmp(a, b, 32) != 0) {
					if (bad++ < 5)
						diag("key %zu bytes, message %zu "
						    "in %d parts: differs", kl,
						    mlens[j], n);
				}
			}
		}
		ipp_hmac_free(&m);
	}
	ok(m == NULL, "ipp_hmac_free clears the pointer");
	diag("%d cases: keys of 1-130 bytes, messages of 0-5,000 in 1-3 "
	    "parts", cases);
	is_int(bad, 0, "hmac.c and libsodium agree");
}

struct mac_job {
	const struct ipp_hmac *m;
	unsigned char	 want[32];
	int		 bad;
};

static void *
mac_many(void *arg)
{
	struct mac_job *j = arg;
	const void *parts[1] = { TV_HEADER };
	size_t lens[1] = { strlen(TV_HEADER) };
	unsigned char mac[32];
	int i;

	for (i = 0; i < 20000; i++) {
		ipp_hmac_sha256(j->m, parts, lens, 1, mac);
		if (memcmp(mac, j->want, 32) != 0)
			j->bad++;
	}
	return NULL;
}

static void
test_hmac_threads(void)
{
	const void *parts[1] = { TV_HEADER };
	size_t lens[1] = { strlen(TV_HEADER) };
	struct mac_job j[2];
	struct ipp_hmac *m = ipp_hmac_new("a shared key", 12);
	pthread_t th[2];
	int i;

	if (m == NULL)
		fatal("ipp_hmac_new");
	for (i = 0; i < 2; i++) {
		j[i].m = m;
		j[i].bad = 0;
		sodium_mac((const unsigned char *)"a shared key", 12, parts,
		    lens, 1, j[i].want);
	}
	for (i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, mac_many, &j[i]) != 0)
			fatal("pthread_create");
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	is_int(j[0].bad + j[1].bad, 0,
	    "two threads sharing one key: 40,000 MACs, all right");
	ipp_hmac_free(&m);
}

int
main(void)
{
	test_sign();
	test_hmac_vs_sodium();
	test_hmac_threads();
	test_replay();
	test_replay_file();
	return tap_done();
}
