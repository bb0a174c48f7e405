/*
 * dep.c - task outcomes and ipyparallel's Dependency rules, for the task
 * scheduler (sched.c).
 *
 * The scheduler remembers every load-balanced msg_id it was given in an
 * idtab (idtab.c), one word per id: seen, finished ok or failed, and the
 * engine it finished on.  A dependency (struct dep, hubd.h) is a list of
 * msg_ids with ipyparallel's flags: `all` (every id, or any one),
 * `success` and `failure` (which outcomes count).  The rules here are
 * Dependency.check and Dependency.unreachable of ipyparallel 7.1,
 * computed from that table alone, so they are unit-tested without a hub
 * (tests/unit/t_sched.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubd.h"

uint64_t
outcome_get(const struct idtab *oc, const char *msg_id)
{
	return idtab_get(oc, msg_id);
}

void
outcome_seen(struct idtab *oc, const char *msg_id)
{
	if (idtab_set(oc, msg_id, OC_SEEN) == -1)
		fatalx("out of memory");
}

void
outcome_done(struct idtab *oc, const char *msg_id, int ok, long engine)
{
	uint64_t v = OC_SEEN | (ok ? OC_OK : OC_FAIL) |
	    ((uint64_t)(engine >= 0 ? engine + 1 : 0) << OC_SHIFT);

	if (idtab_set(oc, msg_id, v) == -1)
		fatalx("out of memory");
}

int
outcome_ended(const struct idtab *oc, const char *msg_id)
{
	return (outcome_get(oc, msg_id) & (OC_OK | OC_FAIL)) != 0;
}

/* Engine id a finished task ran on, or -1. */
long
outcome_engine(uint64_t v)
{
	return (long)(v >> OC_SHIFT) - 1;
}

/*
 * Read a dependency from a task's metadata: null, a msg_id, a list of
 * them, or {dependencies, all, success, failure}.  On failure why says
 * what was wrong; d holds what was read so far and is released by the
 * caller as always.
 */
int
dep_parse(struct dep *d, json_t *v, char *why, size_t whylen)
{
	json_t *ids = v, *x;
	size_t i;

	memset(d, 0, sizeof(*d));
	d->all = d->success = 1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_object(v)) {
		ids = json_object_get(v, "dependencies");
		if ((x = json_object_get(v, "all")) != NULL)
			d->all = json_is_true(x);
		if ((x = json_object_get(v, "success")) != NULL)
			d->success = json_is_true(x);
		if ((x = json_object_get(v, "failure")) != NULL)
			d->failure = json_is_true(x);
	}
	if (json_is_string(ids)) {
		d->ids = xcalloc(1, sizeof(char *));
		d->ids[d->n++] = xstrdup(json_string_value(ids));
		return 0;
	}
	if (ids == NULL || json_is_null(ids))
		return 0;
	if (!json_is_array(ids)) {
		snprintf(why, whylen, "dependency is not a list of msg_ids");
		return -1;
	}
	d->ids = xcalloc(json_array_size(ids) + 1, sizeof(char *));
	json_array_foreach(ids, i, x) {
		if (!json_is_string(x)) {
			snprintf(why, whylen, "dependency holds a non-string");
			return -1;
		}
		d->ids[d->n++] = xstrdup(json_string_value(x));
	}
	return 0;
}

/* id finished in a way d counts, on engine `engine` (any when -1)? */
int
dep_counts(const struct idtab *oc, const struct dep *d, const char *id,
    long engine)
{
	uint64_t v = outcome_get(oc, id);

	if (engine >= 0 && outcome_engine(v) != engine)
		return 0;
	return (d->success && (v & OC_OK)) || (d->failure && (v & OC_FAIL));
}

/* Dependency.check, globally (engine -1) or against what ran on engine */
int
dep_met(const struct idtab *oc, const struct dep *d, long engine)
{
	int i;

	if (d->n == 0)
		return 1;
	for (i = 0; i < d->n; i++) {
		int in = dep_counts(oc, d, d->ids[i], engine);

		if (d->all && !in)
			return 0;
		if (!d->all && in)
			return 1;
	}
	return d->all;
}

/* Dependency.unreachable: finished the way it must not have */
int
dep_unreachable(const struct idtab *oc, const struct dep *d)
{
	int i;

	if (d->n == 0)
		return 0;
	for (i = 0; i < d->n; i++) {
		uint64_t v = outcome_get(oc, d->ids[i]);
		int bad = (!d->success && (v & OC_OK)) ||
		    (!d->failure && (v & OC_FAIL));

		if (d->all && bad)
			return 1;
		if (!d->all && !bad)
			return 0;
	}
	return !d->all;
}

/* Drop the ids already satisfied (an `after` that is met needs no wait). */
void
dep_collapse(const struct idtab *oc, struct dep *d)
{
	int i, j;

	if (!d->all)
		return;
	for (i = j = 0; i < d->n; i++) {
		if (dep_counts(oc, d, d->ids[i], -1))
			free(d->ids[i]);
		else
			d->ids[j++] = d->ids[i];
	}
	d->n = j;
}

void
dep_release(struct dep *d)
{
	int i;

	for (i = 0; i < d->n; i++)
		free(d->ids[i]);
	free(d->ids);
	d->ids = NULL;
	d->n = 0;
}
