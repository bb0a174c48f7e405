/*
 * hmac_sodium.c - hmac.c's interface over libsodium's HMAC-SHA256, for
 * engined.
 *
 * hmac.c's OpenSSL SHA-256 is 7x faster per message, but linking
 * libcrypto costs a process 1.5 MiB of RSS from the start (its
 * relocations and initialisation, measured with an empty program), and
 * an idle engine has 20 MiB in all (issue 13).  An engine signs a few
 * messages per request, so at ~7 us each the faster hash would save it
 * less than the memory costs; hubd, which checks every message of every
 * engine and client, takes hmac.c.  The Makefile links this object into
 * engined ahead of libipp.a, so hmac.c is never pulled in there.
 *
 * The key's pads are hashed once here too: libsodium's state after its
 * init is copied for each MAC, and only read, so threads may share it.
 * engined's scenario tests check its signatures with the real Python
 * client and hubd; t_sign checks hmac.c against this same libsodium HMAC.
 */
#include <errno.h>
#include <stdlib.h>

#include <sodium.h>

#include "ipp.h"

struct ipp_hmac {
	crypto_auth_hmacsha256_state keyed;	/* after init with the key */
};

struct ipp_hmac *
ipp_hmac_new(const void *key, size_t keylen)
{
	struct ipp_hmac *m;

	if (sodium_init() < 0) {
		errno = EAGAIN;		/* no usable randomness yet */
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	crypto_auth_hmacsha256_init(&m->keyed, key, keylen);
	return m;
}

void
ipp_hmac_free(struct ipp_hmac **mp)
{
	struct ipp_hmac *m = *mp;

	if (m == NULL)
		return;
	sodium_memzero(m, sizeof(*m));
	free(m);
	*mp = NULL;
}

void
ipp_hmac_sha256(const struct ipp_hmac *m, const void *const parts[],
    const size_t lens[], int n, unsigned char mac[32])
{
	crypto_auth_hmacsha256_state st = m->keyed;
	int i;

	for (i = 0; i < n; i++)
		crypto_auth_hmacsha256_update(&st, parts[i], lens[i]);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}
