/*
 * names.c - the names under engines/N/ns/: which may be used, the table
 * that gives each one the key its inode numbers carry (tree.c), and the
 * names known to be in each engine's namespace.
 *
 * A name is a Python identifier, optionally with .json or .raw, of at
 * most NAME_MAX bytes in all: a longer one fails with ENAMETOOLONG
 * rather than being cut (two names were one variable), anything else
 * with EINVAL.  Dunder names (__builtins__, __name__) belong to the
 * interpreter: writing or removing one fails with EPERM unless /ctl
 * says "settings ns_dunder 1" (writing __builtins__ broke every later
 * exec).
 *
 * Any valid name looks up as present, so if each lookup kept its name,
 * every stat(2) of a name nobody has would grow ippfs for good.  The
 * table is bounded instead: past NAMES_MAX names, the next slot (in
 * turn) that no open file holds is given to the new name, and the
 * slot's generation, part of the key, changes, so an inode of the old
 * name stops resolving (ENOENT) rather than naming the new one.
 *
 * The known names of an engine are those of its last listing, kept up
 * to date by the pushes, pulls and removals made here.  A listing of
 * ns/ while the engine is busy is answered from them: a request would
 * wait behind the running task (up to the reply timeout).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ippfs.h"

#define NAMES_MAX	4096		/* slots, unless all are held open */
#define SLOT_BITS	16
#define SLOT_MASK	((1 << SLOT_BITS) - 1)
#define GEN_MASK	0x7fff		/* keys stay positive ints */

/* A Python identifier, optionally with .json or .raw. */
static int
valid_name(const char *s)
{
	const char *p;

	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (p = s; isalnum((unsigned char)*p) || *p == '_'; p++)
		;
	return *p == '\0' || strcmp(p, ".json") == 0 || strcmp(p, ".raw") == 0;
}

/* 0 when s may name a variable under ns/, else the errno to give. */
int
ns_name_check(const char *s)
{
	if (strlen(s) > NAME_MAX)
		return ENAMETOOLONG;
	return valid_name(s) ? 0 : EINVAL;
}

/* EPERM when s (a checked name) is a dunder name that may not change. */
int
ns_name_denied(const char *s)
{
	size_t n = strcspn(s, ".");

	if (fs.ns_dunder || n <= 4 || strncmp(s, "__", 2) != 0 ||
	    strncmp(s + n - 2, "__", 2) != 0)
		return 0;
	return EPERM;
}

static int
key(int slot)
{
	return (int)((fs.names[slot].gen & GEN_MASK) << SLOT_BITS) | slot;
}

/* The name of a key, or NULL when its slot went to another name. */
const char *
ns_name(int k)
{
	int slot = k & SLOT_MASK;

	if (k < 0 || slot >= fs.nnames || key(slot) != k)
		return NULL;
	return fs.names[slot].s;
}

/* The key of name s (checked), giving it a slot; -1 (ENFILE) if none. */
int
ns_name_index(const char *s)
{
	struct nsname *n;
	void *v;
	int i, slot = -1;

	if ((v = ipp_map_get(fs.nameidx, s)) != NULL)
		return key((int)(intptr_t)v - 1);
	for (i = 0; fs.nnames >= NAMES_MAX && i < fs.nnames; i++) {
		n = &fs.names[fs.nameclock];
		fs.nameclock = (fs.nameclock + 1) % fs.nnames;
		if (n->refs == 0) {
			slot = (int)(n - fs.names);
			ipp_map_del(fs.nameidx, n->s);
			free(n->s);
			n->gen++;
			break;
		}
	}
	if (slot == -1) {
		if (fs.nnames > SLOT_MASK) {
			errno = ENFILE;
			return -1;
		}
		fs.names = xrealloc(fs.names, (size_t)fs.nnames + 1,
		    sizeof(*fs.names));
		slot = fs.nnames++;
		memset(&fs.names[slot], 0, sizeof(fs.names[slot]));
	}
	n = &fs.names[slot];
	n->s = xstrdup(s);
	if (ipp_map_put(fs.nameidx, s, (void *)(intptr_t)(slot + 1)) == -1)
		fatal("ipp_map_put");
	return key(slot);
}

/* An open file holds its name's slot: the name must not change under it. */
void
ns_name_hold(int k)
{
	if (ns_name(k) != NULL)
		fs.names[k & SLOT_MASK].refs++;
}

void
ns_name_drop(int k)
{
	if (ns_name(k) != NULL && fs.names[k & SLOT_MASK].refs > 0)
		fs.names[k & SLOT_MASK].refs--;
}

/* Engine id has name (without its suffix), or has not. */
void
ns_known(int id, const char *name, int present)
{
	struct fsengine *e = fsengine_get(id);

	if (e == NULL || name[0] == '\0')
		return;
	if (e->nsknown == NULL)
		e->nsknown = json_object();
	if (present)
		json_object_set_new(e->nsknown, name, json_true());
	else
		json_object_del(e->nsknown, name);
}

/* A listing of engine id came: it replaces what was known. */
void
ns_known_reset(int id)
{
	struct fsengine *e = fsengine_get(id);

	if (e != NULL && e->nsknown != NULL)
		json_object_clear(e->nsknown);
}

/* Add the names known on engine id to the listing of fh. */
void
ns_known_dir(struct fh *fh, int id)
{
	struct fsengine *e = fsengine_get(id);
	const char *name;
	json_t *v;

	if (e == NULL || e->nsknown == NULL)
		return;
	json_object_foreach(e->nsknown, name, v)
		ns_dir_add(fh, name);
}
