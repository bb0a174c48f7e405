/*
 * idtab.c - a compact table from msg_id to a small integer.
 *
 * The scheduler remembers every msg_id it was ever given (dependencies may
 * name any of them, at any later time), so this table only grows.  A
 * string map costs a node, a key copy and malloc overhead per id - about
 * 100 bytes - and scatters long-lived small blocks among the short-lived
 * task records, which keeps glibc from ever returning the records' pages.
 * Here an id is reduced to a 64-bit keyed hash (SipHash through libsodium,
 * with a random key, so a peer cannot aim collisions) stored with its
 * value in one open-addressing array: 16 bytes per slot, at most 70%
 * full, one allocation.  Two ids sharing a 64-bit hash would share a value;
 * with a million ids the chance is about 3e-8, which we accept.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "hubd.h"

struct idslot {
	uint64_t	 h;	/* 0: empty */
	uint64_t	 v;
};

struct idtab {
	struct idslot	*slot;
	size_t		 mask;	/* nslots - 1, nslots a power of two */
	size_t		 n;
	unsigned char	 key[crypto_shorthash_KEYBYTES];
};

static uint64_t
id_hash(const struct idtab *t, const char *id)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, (const unsigned char *)id, strlen(id), t->key);
	memcpy(&h, out, sizeof(h));
	return h != 0 ? h : 1;
}

struct idtab *
idtab_new(void)
{
	struct idtab *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->slot = calloc(1024, sizeof(*t->slot))) == NULL) {
		free(t);
		return NULL;
	}
	t->mask = 1023;
	randombytes_buf(t->key, sizeof(t->key));
	return t;
}

void
idtab_destroy(struct idtab **tp)
{
	if (*tp == NULL)
		return;
	free((*tp)->slot);
	free(*tp);
	*tp = NULL;
}

static struct idslot *
find(struct idslot *slot, size_t mask, uint64_t h)
{
	size_t i = (size_t)h & mask;

	while (slot[i].h != 0 && slot[i].h != h)
		i = (i + 1) & mask;
	return &slot[i];
}

static int
grow(struct idtab *t)
{
	size_t i, nmask = t->mask * 2 + 1;
	struct idslot *ns, *s;

	if ((ns = calloc(nmask + 1, sizeof(*ns))) == NULL)
		return -1;
	for (i = 0; i <= t->mask; i++) {
		if (t->slot[i].h == 0)
			continue;
		s = find(ns, nmask, t->slot[i].h);
		*s = t->slot[i];
	}
	free(t->slot);
	t->slot = ns;
	t->mask = nmask;
	return 0;
}

uint64_t
idtab_get(const struct idtab *t, const char *id)
{
	return find(t->slot, t->mask, id_hash(t, id))->v;
}

int
idtab_set(struct idtab *t, const char *id, uint64_t v)
{
	uint64_t h = id_hash(t, id);
	struct idslot *s;

	s = find(t->slot, t->mask, h);
	if (s->h == 0) {
		if ((t->n + 1) * 10 > (t->mask + 1) * 7) {
			if (grow(t) == -1) {
				errno = ENOMEM;
				return -1;
			}
			s = find(t->slot, t->mask, h);
		}
		s->h = h;
		t->n++;
	}
	s->v = v;
	return 0;
}

size_t
idtab_count(const struct idtab *t)
{
	return t->n;
}
