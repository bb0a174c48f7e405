/*
 * sched_schemes.c - the table of load-balancing schemes by name, as
 * `--scheme` and ipyparallel's TaskScheduler.scheme_name spell them.  A
 * new scheme is one sched_NAME.c file defining its ops and one row here.
 */
#include <string.h>

#include "hubd.h"

static const struct sched_ops *const schemes[] = {
	&sched_leastload_ops, &sched_lru_ops, &sched_plainrandom_ops,
	&sched_twobin_ops, &sched_weighted_ops, &sched_pure_ops,
};

const struct sched_ops *
sched_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strcmp(schemes[i]->name, name) == 0)
			return schemes[i];
	return NULL;
}
