/*
 * sched_twobin.c - pick two engines at random and take the one used less
 * recently (the lower index): "power of two choices" on recency.
 */
#include "hubd.h"

static int
twobin_choose(const int *loads, int n)
{
	int a = sched_random(n), b = sched_random(n);

	return a < b ? a : b;
}

const struct sched_ops sched_twobin_ops = {
	.name = "twobin",
	.choose = twobin_choose,
};
