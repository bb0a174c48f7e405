/*
 * hmac.c - the HMAC-SHA256 that signs and checks every message
 * (session.c), with the key's work done once.
 *
 * Each message a daemon relays is checked and each one it makes is
 * signed, so at thousands of tasks a second this is on every path.
 * libsodium's HMAC runs a portable C SHA-256: 8.2 us for a 700-byte task
 * message on this project's machines, a quarter of hubd's loop per task.
 * OpenSSL's SHA-256 uses the CPU's SHA extensions where it has them.
 * OpenSSL's own HMAC needs a context per call: re-keyed (2.1 us, and
 * mutable, so one per thread) or duplicated from a keyed one (4.4 us).
 * So RFC 2104's construction is written out here over OpenSSL's digest:
 * the inner and outer pads of the key are hashed once, in ipp_hmac_new,
 * and each MAC starts from copies of those two states (1.4 us).  The
 * states are only read after that, so threads may share one ipp_hmac
 * (hubd's loop checks requests while its DB thread signs query
 * replies).  tests/unit/t_sign.c checks the result against libsodium's
 * HMAC for keys and messages around every block boundary.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ipp.h"

#define BLOCK	64	/* SHA-256's block */

struct ipp_hmac {
	EVP_MD_CTX	*inner;		/* state after H(key ^ ipad) */
	EVP_MD_CTX	*outer;		/* state after H(key ^ opad) */
};

/* A digest state that has taken in key ^ pad; NULL when out of memory. */
static EVP_MD_CTX *
pad_state(const unsigned char k[BLOCK], unsigned char pad)
{
	unsigned char b[BLOCK];
	EVP_MD_CTX *c;
	int i;

	for (i = 0; i < BLOCK; i++)
		b[i] = k[i] ^ pad;
	if ((c = EVP_MD_CTX_new()) == NULL)
		return NULL;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, b, sizeof(b)) != 1) {
		EVP_MD_CTX_free(c);
		c = NULL;
	}
	OPENSSL_cleanse(b, sizeof(b));
	return c;
}

struct ipp_hmac *
ipp_hmac_new(const void *key, size_t keylen)
{
	unsigned char k[BLOCK];
	unsigned int klen;
	struct ipp_hmac *m;

	/* a key longer than a block is replaced by its hash */
	memset(k, 0, sizeof(k));
	if (keylen > BLOCK) {
		if (EVP_Digest(key, keylen, k, &klen, EVP_sha256(), NULL) != 1) {
			errno = ENOMEM;
			return NULL;
		}
	} else if (keylen > 0)
		memcpy(k, key, keylen);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		goto fail;
	if ((m->inner = pad_state(k, 0x36)) == NULL ||
	    (m->outer = pad_state(k, 0x5c)) == NULL) {
		ipp_hmac_free(&m);
		goto fail;
	}
	OPENSSL_cleanse(k, sizeof(k));
	return m;
fail:
	OPENSSL_cleanse(k, sizeof(k));
	errno = ENOMEM;
	return NULL;
}

void
ipp_hmac_free(struct ipp_hmac **mp)
{
	struct ipp_hmac *m = *mp;

	if (m == NULL)
		return;
	EVP_MD_CTX_free(m->inner);
	EVP_MD_CTX_free(m->outer);
	free(m);
	*mp = NULL;
}

int
ipp_hmac_sha256(const struct ipp_hmac *m, const void *const parts[],
    const size_t lens[], int n, unsigned char mac[32])
{
	unsigned char ih[EVP_MAX_MD_SIZE];
	unsigned int ilen, olen;
	EVP_MD_CTX *c;
	int i, ok;

	if ((c = EVP_MD_CTX_new()) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	ok = EVP_MD_CTX_copy_ex(c, m->inner) == 1;
	for (i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(c, parts[i], lens[i]) == 1;
	ok = ok && EVP_DigestFinal_ex(c, ih, &ilen) == 1 &&
	    EVP_MD_CTX_copy_ex(c, m->outer) == 1 &&
	    EVP_DigestUpdate(c, ih, ilen) == 1 &&
	    EVP_DigestFinal_ex(c, mac, &olen) == 1 && olen == 32;
	EVP_MD_CTX_free(c);
	if (!ok) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}
