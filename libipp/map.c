/*
 * map.c - a string-keyed hash table with chaining, used wherever the
 * daemons look things up by msg_id, engine uuid or name.  Keys are copied;
 * values are borrowed pointers whose lifetime the caller manages.
 * Iteration order is unspecified and removal during ipp_map_foreach is not
 * allowed (collect keys first).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipp.h"

struct map_ent {
	struct map_ent	*next;
	uint64_t	 hash;
	void		*val;
	size_t		 klen;
	char		 key[];
};

struct ipp_map {
	struct map_ent	**tab;
	size_t		 nbucket;
	size_t		 count;
};

/* FNV-1a: short keys (msg_ids, uuids) and no adversarial collisions that
 * matter here, since only authenticated peers choose keys. */
static uint64_t
map_hash(const void *k, size_t len)
{
	const unsigned char *p = k;
	uint64_t h = 1469598103934665603ULL;

	while (len--) {
		h ^= *p++;
		h *= 1099511628211ULL;
	}
	return h;
}

struct ipp_map *
ipp_map_new(void)
{
	struct ipp_map *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->nbucket = 64;
	if ((m->tab = calloc(m->nbucket, sizeof(*m->tab))) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
ipp_map_free(struct ipp_map *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nbucket; i++) {
		struct map_ent *e = m->tab[i], *n;

		for (; e != NULL; e = n) {
			n = e->next;
			free(e);
		}
	}
	free(m->tab);
	free(m);
}

static struct map_ent **
map_find(const struct ipp_map *m, const void *k, size_t len, uint64_t h)
{
	struct map_ent **pp = &m->tab[h & (m->nbucket - 1)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->klen == len &&
		    memcmp((*pp)->key, k, len) == 0)
			return pp;
	return pp;
}

static void
map_grow(struct ipp_map *m)
{
	struct map_ent **nt, *e, *n;
	size_t nb = m->nbucket * 2, i;

	if ((nt = calloc(nb, sizeof(*nt))) == NULL)
		return;		/* keep working with longer chains */
	for (i = 0; i < m->nbucket; i++)
		for (e = m->tab[i]; e != NULL; e = n) {
			n = e->next;
			e->next = nt[e->hash & (nb - 1)];
			nt[e->hash & (nb - 1)] = e;
		}
	free(m->tab);
	m->tab = nt;
	m->nbucket = nb;
}

void *
ipp_map_getn(const struct ipp_map *m, const void *k, size_t len)
{
	struct map_ent **pp = map_find(m, k, len, map_hash(k, len));

	return *pp ? (*pp)->val : NULL;
}

void *
ipp_map_get(const struct ipp_map *m, const char *k)
{
	return ipp_map_getn(m, k, strlen(k));
}

int
ipp_map_putn(struct ipp_map *m, const void *k, size_t len, void *val)
{
	uint64_t h = map_hash(k, len);
	struct map_ent **pp = map_find(m, k, len, h), *e;

	if (*pp != NULL) {
		(*pp)->val = val;
		return 0;
	}
	if ((e = malloc(sizeof(*e) + len + 1)) == NULL)
		return -1;
	e->next = NULL;
	e->hash = h;
	e->val = val;
	e->klen = len;
	memcpy(e->key, k, len);
	e->key[len] = '\0';
	*pp = e;
	if (++m->count > m->nbucket)
		map_grow(m);
	return 0;
}

int
ipp_map_put(struct ipp_map *m, const char *k, void *val)
{
	return ipp_map_putn(m, k, strlen(k), val);
}

void *
ipp_map_deln(struct ipp_map *m, const void *k, size_t len)
{
	struct map_ent **pp = map_find(m, k, len, map_hash(k, len)), *e;
	void *v;

	if ((e = *pp) == NULL)
		return NULL;
	*pp = e->next;
	v = e->val;
	free(e);
	m->count--;
	return v;
}

void *
ipp_map_del(struct ipp_map *m, const char *k)
{
	return ipp_map_deln(m, k, strlen(k));
}

size_t
ipp_map_count(const struct ipp_map *m)
{
	return m->count;
}

void
ipp_map_foreach(const struct ipp_map *m, void (*fn)(void *arg,
    const char *key, void *val), void *arg)
{
	size_t i;
	struct map_ent *e;

	for (i = 0; i < m->nbucket; i++)
		for (e = m->tab[i]; e != NULL; e = e->next)
			fn(arg, e->key, e->val);
}
