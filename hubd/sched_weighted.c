/*
 * sched_weighted.c - two picks, each with probability proportional to
 * 1/(load + 1e-6), keeping the less loaded of the two.  An idle engine
 * thus outweighs a busy one by about a million to one, as in
 * ipyparallel's weighted scheme.
 */
#include <sodium.h>

#include "hubd.h"

static int
weighted_pick(const int *loads, int n, double total)
{
	double x = randombytes_uniform(1u << 30) / (double)(1u << 30) * total;
	double sum = 0;
	int i;

	for (i = 0; i < n; i++) {
		sum += 1.0 / (loads[i] + 1e-6);
		if (sum >= x)
			return i;
	}
	return n - 1;
}

static int
weighted_choose(const int *loads, int n)
{
	double total = 0;
	int i, a, b;

	for (i = 0; i < n; i++)
		total += 1.0 / (loads[i] + 1e-6);
	a = weighted_pick(loads, n, total);
	b = weighted_pick(loads, n, total);
	return loads[b] < loads[a] ? b : a;
}

const struct sched_ops sched_weighted_ops = {
	.name = "weighted",
	.choose = weighted_choose,
};
