/*
 * t_idtab.c - hubd's table of every msg_id the scheduler has seen
 * (hubd/idtab.c): every id put in is found with its latest value, no id
 * left out is found, values wider than a slot's 24 bits come back whole,
 * and the table stays as dense as its header promises - at a million ids
 * well under the 32 MiB the first version took (issue 13, acceptance 6).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../hubd/hubd.h"
#include "tap.h"

#define MANY	1000000

/* A value like dep.c's: outcome bits and an engine, varied per id. */
static uint64_t
val(long i, int round)
{
	return (uint64_t)((i * 7 + round) % 100000 + 1) << 3 |
	    (uint64_t)(1 + (i + round) % 5);
}

static void
mkid(char *buf, size_t len, const char *prefix, long i)
{
	/* the shape of a Client's msg_id: session, pid, counter */
	snprintf(buf, len, "%s-4c0b1f5e-8d3a-4b7e-9f21-0c6d2a1e7b33_4242_%ld",
	    prefix, i);
}

static void
test_basic(void)
{
	struct idtab *t = idtab_new();

	ok(t != NULL, "new table");
	ok(idtab_get(t, "nosuch") == 0 && idtab_count(t) == 0,
	    "empty: absent ids read 0");
	ok(idtab_set(t, "a", 1) == 0 && idtab_get(t, "a") == 1,
	    "set then get");
	ok(idtab_set(t, "a", 3) == 0 && idtab_get(t, "a") == 3 &&
	    idtab_count(t) == 1, "a second set replaces, count stays 1");
	ok(idtab_get(t, "b") == 0 && idtab_get(t, "") == 0,
	    "other ids still absent");
	idtab_destroy(&t);
	ok(t == NULL, "destroy clears the pointer");
	idtab_destroy(&t);
}

/*
 * Values of 24 bits and more (an engine id of 2^21 - 1 or more in dep.c's
 * word), and the widest that fit.
 */
static void
test_wide(void)
{
	static const uint64_t vs[] = {
		(1 << 24) - 2, (1 << 24) - 1, 1 << 24, 0xabcdef,
		UINT32_MAX - 1, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
		(uint64_t)1 << 40 | 7, UINT64_MAX,
		((uint64_t)INT32_MAX + 1) << 3 | 2,
	};
	struct idtab *t = idtab_new();
	char id[128];
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
		mkid(id, sizeof(id), "wide", (long)i);
		if (idtab_set(t, id, vs[i]) == -1)
			bad++;
	}
	/* enough others to make the table grow around the wide ones */
	for (i = 0; i < 20000; i++) {
		mkid(id, sizeof(id), "narrow", (long)i);
		idtab_set(t, id, val((long)i, 0));
	}
	for (i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
		mkid(id, sizeof(id), "wide", (long)i);
		if (idtab_get(t, id) != vs[i])
			bad++;
	}
	is_int(bad, 0, "wide values come back whole after growth");
	mkid(id, sizeof(id), "wide", 7);
	ok(idtab_set(t, id, 5) == 0 && idtab_get(t, id) == 5,
	    "a wide value replaced by a narrow one");
	ok(idtab_set(t, id, UINT64_MAX - 1) == 0 &&
	    idtab_get(t, id) == UINT64_MAX - 1, "and by a wide one again");
	is_int((long long)idtab_count(t), 20000 + 10, "count");
	idtab_destroy(&t);
}

static void
test_many(void)
{
	struct idtab *t = idtab_new();
	char id[128];
	long i, missing = 0, wrong = 0, ghosts = 0, sparse = 0;
	double per;

	for (i = 0; i < MANY; i++) {
		mkid(id, sizeof(id), "s", i);
		if (idtab_set(t, id, val(i, 0)) == -1) {
			ok(0, "set %ld", i);
			break;
		}
		/* between growths 70% to 87.5% full: <= 14.3 bytes an id */
		if (i >= 2000 && idtab_bytes(t) * 10 > (size_t)(i + 1) * 143)
			sparse++;
	}
	is_int(sparse, 0, "never more than 14.3 bytes an id past 2,000 ids");
	is_int((long long)idtab_count(t), MANY, "count after a million");
	per = (double)idtab_bytes(t) / MANY;
	diag("%zu bytes for %d ids: %.1f an id", idtab_bytes(t), MANY, per);
	ok(idtab_bytes(t) <= (size_t)14 << 20, "a million ids in <= 14 MiB");

	/* every second id finishes: its value changes in place */
	for (i = 0; i < MANY; i += 2) {
		mkid(id, sizeof(id), "s", i);
		idtab_set(t, id, val(i, 1));
	}
	for (i = 0; i < MANY; i++) {
		uint64_t v;

		mkid(id, sizeof(id), "s", i);
		v = idtab_get(t, id);
		if (v == 0)
			missing++;
		else if (v != val(i, i % 2 == 0))
			wrong++;
	}
	is_int(missing, 0, "every id found");
	is_int(wrong, 0, "every id with its latest value");
	is_int((long long)idtab_count(t), MANY, "updates add no ids");
	for (i = 0; i < MANY; i++) {
		mkid(id, sizeof(id), "other", i);
		if (idtab_get(t, id) != 0)
			ghosts++;
	}
	is_int(ghosts, 0, "a million ids never set are absent");
	idtab_destroy(&t);
}

int
main(void)
{
	test_basic();
	test_wide();
	test_many();
	return tap_done();
}
