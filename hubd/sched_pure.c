/*
 * sched_pure.c - ipcontroller's "pure" scheme is a plain ZeroMQ queue:
 * round robin, no high-water mark, no dependencies, targets or retries
 * (the Python client refuses to send those under pure).  hubd keeps its
 * own bookkeeping and simply rotates through the engines.
 */
#include "hubd.h"

static int
pure_choose(const int *loads, int n)
{
	return 0;	/* LRU order rotates, which is round robin */
}

const struct sched_ops sched_pure_ops = {
	.name = "pure",
	.choose = pure_choose,
	.pure = 1,
};
