/*
 * sched_lru.c - always the least recently used eligible engine.
 */
#include "hubd.h"

static int
lru_choose(const int *loads, int n)
{
	return 0;
}

const struct sched_ops sched_lru_ops = {
	.name = "lru",
	.choose = lru_choose,
};
