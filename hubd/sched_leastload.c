/*
 * sched_leastload.c - the default scheme: the engine with the fewest
 * outstanding tasks; ties go to the least recently used, which comes
 * first in the list.
 */
#include "hubd.h"

static int
leastload_choose(const int *loads, int n)
{
	int i, best = 0;

	for (i = 1; i < n; i++)
		if (loads[i] < loads[best])
			best = i;
	return best;
}

const struct sched_ops sched_leastload_ops = {
	.name = "leastload",
	.choose = leastload_choose,
};
