/*
 * idtab.c - a compact table from msg_id to a small integer.
 *
 * The scheduler remembers every msg_id it was ever given (dependencies may
 * name any of them, at any later time), so this table only grows, and
 * after a million tasks it is most of what hubd holds (issue 13 asks for
 * at most 40 MiB then).  A string map costs a node, a key copy and malloc
 * overhead per id - about 100 bytes - and scatters long-lived small
 * blocks among the short-lived task records, which keeps glibc from ever
 * returning the records' pages.  Here an id is reduced to a 64-bit keyed
 * hash (SipHash through libsodium, with a random key, so a peer cannot
 * aim collisions), of which the high 56 bits are kept with the value in
 * one array.  Two ids sharing those 56 bits would share a value; with a
 * million ids the chance is about 7e-6 (n^2 / 2^57), which we accept.
 *
 * Density is what this file is about.  The first version held 16-byte
 * slots at most 70% full in a power-of-two array: 23-46 bytes an id,
 * 32 MiB at a million.  Now:
 *   - a slot is 10 bytes: 56 bits of the hash and a 24-bit value
 *     (outcome bits and engine, dep.c: engines up to 2^21 - 2).  A
 *     value that does not fit is kept exactly in a side map, and the
 *     slot says so, so no answer is ever truncated.  (12-byte slots,
 *     the whole hash and 32 bits of value, were 2.5 MiB more at a
 *     million ids for a collision chance 250 times smaller but just
 *     as negligible);
 *   - Robin Hood linear probing, which tolerates a table 7/8 full: an
 *     entry never yields its place to one nearer its home, so a probe
 *     for an absent id stops at the first entry nearer its home than the
 *     probe has come, and present ids are found in a few slots;
 *   - the array grows by a quarter, not double: the home slot is the
 *     hash's high half scaled to the size (multiply and shift), so any
 *     size works.  Between growths the table is 70% to 87.5% full.
 * That is 11.4-14.3 bytes an id, 11-13.6 MiB at a million; while it grows
 * the old array (4/5 of the new one) lives until the copy is done.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "hubd.h"

#define FIRST_SLOTS	1024
#define VBITS		24
#define WIDE		((1u << VBITS) - 1)	/* the value is in the side map */
#define HMASK		(~(uint64_t)0xff)	/* the hash bits a slot keeps */

/*
 * hv: the hash's high 56 bits, and the value's low 8 bits below them;
 * vx: the value's high 16 bits.  All zero: empty (a hash is never 0 in
 * its high 56 bits).  Packed to 10 bytes, aligned to 2: x86 loads the
 * word unaligned at no cost, other machines byte by byte.
 */
struct idslot {
	uint64_t	 hv;
	uint16_t	 vx;
} __attribute__((packed, aligned(2)));

struct idtab {
	struct idslot	*slot;
	size_t		 nslot;		/* < 2^32: homes are 32-bit products */
	size_t		 n;
	struct ipp_map	*wide;		/* hash -> uint64_t *, values >= WIDE */
	unsigned char	 key[crypto_shorthash_KEYBYTES];
};

static uint64_t
id_hash(const struct idtab *t, const char *id)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, (const unsigned char *)id, strlen(id), t->key);
	memcpy(&h, out, sizeof(h));
	h &= HMASK;
	return h != 0 ? h : (uint64_t)1 << 8;
}

static uint64_t
slot_hash(const struct idslot *s)
{
	return s->hv & HMASK;
}

static uint32_t
slot_value(const struct idslot *s)
{
	return (uint32_t)s->vx << 8 | (uint32_t)(s->hv & 0xff);
}

static struct idslot
slot_make(uint64_t h, uint32_t v)
{
	struct idslot s;

	s.hv = h | (v & 0xff);
	s.vx = (uint16_t)(v >> 8);
	return s;
}

static int
slot_empty(const struct idslot *s)
{
	return s->hv == 0 && s->vx == 0;
}

/* The home slot of hash h among nslot: its high half scaled to nslot. */
static size_t
home(uint64_t h, size_t nslot)
{
	return (size_t)(((h >> 32) * (uint64_t)nslot) >> 32);
}

/* How far slot i lies past the home of the hash it holds. */
static size_t
dist(size_t i, uint64_t h, size_t nslot)
{
	size_t hm = home(h, nslot);

	return i >= hm ? i - hm : i + nslot - hm;
}

struct idtab *
idtab_new(void)
{
	struct idtab *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->slot = calloc(FIRST_SLOTS, sizeof(*t->slot))) == NULL) {
		free(t);
		return NULL;
	}
	t->nslot = FIRST_SLOTS;
	randombytes_buf(t->key, sizeof(t->key));
	return t;
}

static void
free_wide(void *arg, const char *key, void *val)
{
	free(val);
}

void
idtab_destroy(struct idtab **tp)
{
	struct idtab *t = *tp;

	if (t == NULL)
		return;
	if (t->wide != NULL) {
		ipp_map_foreach(t->wide, free_wide, NULL);
		ipp_map_free(t->wide);
	}
	free(t->slot);
	free(t);
	*tp = NULL;
}

/*
 * The slot holding h, or (*found 0) the slot where h belongs, with *d its
 * distance from h's home: the first empty slot or the first entry nearer
 * its own home than d (Robin Hood: h would have taken that place).
 */
static size_t
probe(const struct idtab *t, uint64_t h, size_t *d, int *found)
{
	size_t i = home(h, t->nslot), k = 0;
	const struct idslot *s;

	for (;;) {
		s = &t->slot[i];
		if (slot_empty(s))
			break;
		if (slot_hash(s) == h) {
			*found = 1;
			*d = k;
			return i;
		}
		if (dist(i, slot_hash(s), t->nslot) < k)
			break;
		if (++i == t->nslot)
			i = 0;
		k++;
	}
	*found = 0;
	*d = k;
	return i;
}

/*
 * Put e at slot i, d from its home: whoever is there and nearer its own
 * home moves on, and so on until a slot is empty.  The table must have
 * an empty slot.
 */
static void
place(struct idslot *slot, size_t nslot, size_t i, size_t d, struct idslot e)
{
	struct idslot tmp;
	size_t sd;

	while (!slot_empty(&slot[i])) {
		sd = dist(i, slot_hash(&slot[i]), nslot);
		if (sd < d) {
			tmp = slot[i];
			slot[i] = e;
			e = tmp;
			d = sd;
		}
		if (++i == nslot)
			i = 0;
		d++;
	}
	slot[i] = e;
}

static int
grow(struct idtab *t)
{
	size_t i, nn = t->nslot + t->nslot / 4;
	struct idslot *ns;
	uint64_t h;

	if (nn > UINT32_MAX || (ns = calloc(nn, sizeof(*ns))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < t->nslot; i++) {
		if (slot_empty(&t->slot[i]))
			continue;
		h = slot_hash(&t->slot[i]);
		place(ns, nn, home(h, nn), 0, t->slot[i]);
	}
	free(t->slot);
	t->slot = ns;
	t->nslot = nn;
	return 0;
}

uint64_t
idtab_get(const struct idtab *t, const char *id)
{
	uint64_t h = id_hash(t, id), *w;
	size_t i, d;
	int found;

	i = probe(t, h, &d, &found);
	if (!found)
		return 0;
	if (slot_value(&t->slot[i]) != WIDE)
		return slot_value(&t->slot[i]);
	w = ipp_map_getn(t->wide, &h, sizeof(h));
	return w != NULL ? *w : 0;
}

/* Keep v for h in the side map (v >= WIDE), or drop h from it. */
static int
set_wide(struct idtab *t, uint64_t h, uint64_t v)
{
	uint64_t *w;

	if (v < WIDE) {
		if (t->wide != NULL)
			free(ipp_map_deln(t->wide, &h, sizeof(h)));
		return 0;
	}
	if (t->wide == NULL && (t->wide = ipp_map_new()) == NULL)
		return -1;
	if ((w = ipp_map_getn(t->wide, &h, sizeof(h))) != NULL) {
		*w = v;
		return 0;
	}
	if ((w = malloc(sizeof(*w))) == NULL)
		return -1;
	*w = v;
	if (ipp_map_putn(t->wide, &h, sizeof(h), w) == -1) {
		free(w);
		return -1;
	}
	return 0;
}

int
idtab_set(struct idtab *t, const char *id, uint64_t v)
{
	uint64_t h = id_hash(t, id);
	struct idslot e;
	size_t i, d;
	int found;

	i = probe(t, h, &d, &found);
	if (!found && (t->n + 1) * 8 > t->nslot * 7) {
		if (grow(t) == -1)
			return -1;
		i = probe(t, h, &d, &found);
	}
	if (set_wide(t, h, v) == -1) {
		errno = ENOMEM;
		return -1;
	}
	e = slot_make(h, v < WIDE ? (uint32_t)v : WIDE);
	if (found)
		t->slot[i] = e;
	else {
		place(t->slot, t->nslot, i, d, e);
		t->n++;
	}
	return 0;
}

size_t
idtab_count(const struct idtab *t)
{
	return t->n;
}

size_t
idtab_bytes(const struct idtab *t)
{
	return t->nslot * sizeof(*t->slot);
}
