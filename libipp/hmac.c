/*
 * hmac.c - the HMAC-SHA256 that signs and checks every message
 * (session.c), with the key's work done once.
 *
 * Each message a daemon relays is checked and each one it makes is
 * signed, so at thousands of tasks a second this is on every path.
 * libsodium's HMAC runs a portable C SHA-256: 6.7-8.2 us for a 700-byte
 * task message on this project's machines, a quarter of hubd's loop per
 * task and a tenth of an engine's Python thread.  Nettle (GnuTLS's
 * crypto library) picks its SHA-256 when it loads, from what the CPU
 * has: with the SHA extensions 1.0 us.  Its HMAC context holds the
 * states after the key's inner and outer pads, hashed once in
 * ipp_hmac_new; each MAC works on a copy (on the stack: no allocation,
 * no failure), so the keyed context is only read and any number of
 * threads may share one ipp_hmac.
 *
 * Why Nettle: OpenSSL's SHA-256 is as fast, but libcrypto costs a
 * process 1.5 MiB of RSS from the start (relocations, initialisation)
 * and its EVP interface another 2.3 MiB and 2.3 ms at its first call,
 * too much for an idle engine's 20 MiB; Nettle costs about 0.3 MiB.
 * tests/unit/t_sign.c checks the result against libsodium's HMAC for
 * keys and messages around every block boundary, and from two threads.
 */
#include <stdlib.h>
#include <string.h>

#include <nettle/hmac.h>

#include "ipp.h"

struct ipp_hmac {
	struct hmac_sha256_ctx keyed;	/* after set_key; only read then */
};

struct ipp_hmac *
ipp_hmac_new(const void *key, size_t keylen)
{
	struct ipp_hmac *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	/* a key longer than a block is hashed first (RFC 2104) */
	hmac_sha256_set_key(&m->keyed, keylen, keylen > 0 ? key : "");
	return m;
}

void
ipp_hmac_free(struct ipp_hmac **mp)
{
	struct ipp_hmac *m = *mp;

	if (m == NULL)
		return;
	explicit_bzero(m, sizeof(*m));
	free(m);
	*mp = NULL;
}

void
ipp_hmac_sha256(const struct ipp_hmac *m, const void *const parts[],
    const size_t lens[], int n, unsigned char mac[32])
{
	struct hmac_sha256_ctx c = m->keyed;
	int i;

	for (i = 0; i < n; i++)
		hmac_sha256_update(&c, lens[i], parts[i]);
	hmac_sha256_digest(&c, SHA256_DIGEST_SIZE, mac);
	explicit_bzero(&c, sizeof(c));
}
