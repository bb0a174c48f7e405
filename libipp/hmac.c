/*
 * hmac.c - the HMAC-SHA256 that signs and checks every message
 * (session.c), with the key's work done once.
 *
 * Each message a daemon relays is checked and each one it makes is
 * signed, so at thousands of tasks a second this is on every path.
 * libsodium's HMAC runs a portable C SHA-256: 8.2 us for a 700-byte task
 * message on this project's machines, a quarter of hubd's loop per task.
 * OpenSSL's SHA-256 uses the CPU's SHA extensions where it has them.
 * RFC 2104's construction is written out here over it: the inner and
 * outer pads of the key are hashed once, in ipp_hmac_new, and each MAC
 * starts from copies of those two states (1.0 us).  The states are only
 * read after that, so any number of threads may use one ipp_hmac at
 * once.
 *
 * Why OpenSSL's SHA256_* and not its HMAC or EVP interfaces, which 3.0
 * prefers (and marks these deprecated; Debian 12 ships 3.0): an HMAC
 * context is mutable, so it would have to be re-keyed per call (2.1 us)
 * or duplicated from a keyed one (4.4 us), and the first EVP call loads
 * OpenSSL's providers and configuration - 2.3 ms and 2.3 MiB, which put
 * engined's idle RSS over its 20 MiB and slowed its first apply.  These
 * functions are plain state on the stack: no allocation, no failure.
 * tests/unit/t_sign.c checks the result against libsodium's HMAC for
 * keys and messages around every block boundary, and from two threads.
 */
#define OPENSSL_SUPPRESS_DEPRECATED	/* see above */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "ipp.h"

#define BLOCK	64	/* SHA-256's block */

struct ipp_hmac {
	SHA256_CTX	 inner;		/* state after H(key ^ ipad) */
	SHA256_CTX	 outer;		/* state after H(key ^ opad) */
};

static void
pad_state(SHA256_CTX *c, const unsigned char k[BLOCK], unsigned char pad)
{
	unsigned char b[BLOCK];
	int i;

	for (i = 0; i < BLOCK; i++)
		b[i] = k[i] ^ pad;
	SHA256_Init(c);
	SHA256_Update(c, b, sizeof(b));
	OPENSSL_cleanse(b, sizeof(b));
}

struct ipp_hmac *
ipp_hmac_new(const void *key, size_t keylen)
{
	unsigned char k[BLOCK];
	struct ipp_hmac *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	/* a key longer than a block is replaced by its hash */
	memset(k, 0, sizeof(k));
	if (keylen > BLOCK)
		SHA256(key, keylen, k);
	else if (keylen > 0)
		memcpy(k, key, keylen);
	pad_state(&m->inner, k, 0x36);
	pad_state(&m->outer, k, 0x5c);
	OPENSSL_cleanse(k, sizeof(k));
	return m;
}

void
ipp_hmac_free(struct ipp_hmac **mp)
{
	struct ipp_hmac *m = *mp;

	if (m == NULL)
		return;
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
	*mp = NULL;
}

void
ipp_hmac_sha256(const struct ipp_hmac *m, const void *const parts[],
    const size_t lens[], int n, unsigned char mac[32])
{
	unsigned char ih[SHA256_DIGEST_LENGTH];
	SHA256_CTX c;
	int i;

	c = m->inner;
	for (i = 0; i < n; i++)
		SHA256_Update(&c, parts[i], lens[i]);
	SHA256_Final(ih, &c);
	c = m->outer;
	SHA256_Update(&c, ih, sizeof(ih));
	SHA256_Final(mac, &c);
	OPENSSL_cleanse(&c, sizeof(c));
}
