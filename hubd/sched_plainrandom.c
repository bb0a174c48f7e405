/*
 * sched_plainrandom.c - a uniformly random eligible engine.  Also holds
 * sched_random(), the uniform source the random schemes share
 * (libsodium's, so there is no modulo bias and nothing to seed).
 */
#include <sodium.h>

#include "hubd.h"

int
sched_random(int n)
{
	return n <= 1 ? 0 : (int)randombytes_uniform((uint32_t)n);
}

static int
plainrandom_choose(const int *loads, int n)
{
	return sched_random(n);
}

const struct sched_ops sched_plainrandom_ops = {
	.name = "plainrandom",
	.choose = plainrandom_choose,
};
