/*
 * t_sched.c - the task scheduler's pure parts: each load-balancing
 * scheme's choice (hubd/sched_*.c, found by name as --scheme finds them)
 * and ipyparallel's Dependency rules over the outcome table (hubd/dep.c):
 * after/follow with all/any, success/failure, and impossible
 * dependencies.  Each scheme is checked for what tells it from every
 * other, so two schemes with swapped choose functions fail here.
 */
#include <stdio.h>
#include <string.h>

#include "../../hubd/hubd.h"
#include "tap.h"

#define DRAWS	4000

/* How often each index is chosen in DRAWS calls with these loads. */
static void
histogram(const struct sched_ops *s, const int *loads, int n, int *count)
{
	int i;

	memset(count, 0, sizeof(int) * (size_t)n);
	for (i = 0; i < DRAWS; i++) {
		int c = s->choose(loads, n);

		if (c < 0 || c >= n) {
			ok(0, "%s chose %d of %d", s->name, c, n);
			return;
		}
		count[c]++;
	}
}

static const struct sched_ops *
scheme(const char *name)
{
	const struct sched_ops *s = sched_lookup(name);

	ok(s != NULL && strcmp(s->name, name) == 0, "scheme %s found", name);
	return s;
}

static void
test_schemes(void)
{
	static const int skewed[4] = { 3, 1, 2, 1 };
	static const int first_busy[4] = { 9, 0, 0, 0 };
	static const int flat[4] = { 0, 0, 0, 0 };
	static const int first_idle[4] = { 0, 100, 100, 100 };
	static const int one_two[2] = { 1, 2 };
	const struct sched_ops *s;
	int c[4], i;

	ok(sched_lookup("nosuch") == NULL, "unknown scheme: NULL");

	/* leastload: the fewest outstanding, ties to the least recent */
	s = scheme("leastload");
	is_int(s->choose(skewed, 4), 1, "leastload: lowest load, first tie");
	is_int(s->choose(first_busy, 4), 1, "leastload: skips the busy one");
	histogram(s, one_two, 2, c);
	is_int(c[0], DRAWS, "leastload: always the lighter of 1 and 2");
	ok(!s->pure, "leastload is not pure");

	/* lru: always the least recently used, whatever the loads */
	s = scheme("lru");
	is_int(s->choose(first_busy, 4), 0, "lru: first even when busiest");
	ok(!s->pure, "lru is not pure");

	/* pure: LRU order with no HWM, dependencies or targets */
	s = scheme("pure");
	is_int(s->choose(first_busy, 4), 0, "pure: first in LRU order");
	ok(s->pure, "pure has the pure flag");

	/* plainrandom: uniform, blind to load */
	s = scheme("plainrandom");
	histogram(s, first_busy, 4, c);
	for (i = 0; i < 4; i++)
		ok(c[i] > DRAWS / 4 * 7 / 10 && c[i] < DRAWS / 4 * 13 / 10,
		    "plainrandom: index %d chosen %d of %d (uniform)", i, c[i],
		    DRAWS);
	ok(!s->pure, "plainrandom is not pure");

	/* twobin: the lower of two random indices: 7:5:3:1 for four */
	s = scheme("twobin");
	histogram(s, first_busy, 4, c);
	ok(c[0] > DRAWS * 7 / 16 * 8 / 10 && c[0] < DRAWS * 7 / 16 * 12 / 10,
	    "twobin: index 0 chosen %d (about 7/16, blind to its load)", c[0]);
	ok(c[3] > DRAWS / 16 / 2 && c[3] < DRAWS / 16 * 2,
	    "twobin: index 3 chosen %d (about 1/16)", c[3]);
	ok(c[0] > c[1] && c[1] > c[2] && c[2] > c[3],
	    "twobin: falls with recency (%d %d %d %d)", c[0], c[1], c[2],
	    c[3]);
	histogram(s, flat, 4, c);
	ok(c[0] > c[3] * 3, "twobin: skewed to LRU on equal loads too");

	/* weighted: two draws weighted by 1/load, the lighter of them */
	s = scheme("weighted");
	histogram(s, first_idle, 4, c);
	ok(c[0] > DRAWS * 99 / 100, "weighted: idle engine %d of %d", c[0],
	    DRAWS);
	histogram(s, one_two, 2, c);
	ok(c[1] > DRAWS / 9 / 2 && c[1] < DRAWS / 9 * 2,
	    "weighted: load 2 beside load 1 chosen %d (about 1/9)", c[1]);
	histogram(s, flat, 4, c);
	for (i = 0; i < 4; i++)
		ok(c[i] > DRAWS / 4 * 7 / 10 && c[i] < DRAWS / 4 * 13 / 10,
		    "weighted: equal loads, index %d chosen %d (uniform)", i,
		    c[i]);
}

/* A dependency read from JSON text, as a task's metadata carries it. */
static int
dep_from(struct dep *d, const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	char why[128] = "";
	int rc = dep_parse(d, v, why, sizeof(why));

	json_decref(v);
	return rc;
}

static void
check_dep(struct idtab *oc, const char *text, int met, int unreachable)
{
	struct dep d;

	if (dep_from(&d, text) == -1) {
		ok(0, "parse %s", text);
		dep_release(&d);
		return;
	}
	is_int(dep_met(oc, &d, -1), met, text);
	is_int(dep_unreachable(oc, &d), unreachable, text);
	dep_release(&d);
}

static void
test_deps(void)
{
	struct idtab *oc = idtab_new();
	struct dep d;

	outcome_seen(oc, "a");
	outcome_seen(oc, "b");
	outcome_seen(oc, "c");
	outcome_done(oc, "a", 1, 0);		/* ok on engine 0 */
	outcome_done(oc, "b", 0, 1);		/* failed on engine 1 */
	/* c: seen, still running */
	ok(outcome_ended(oc, "a") && outcome_ended(oc, "b") &&
	    !outcome_ended(oc, "c"), "a and b ended, c not");
	is_int(outcome_engine(outcome_get(oc, "a")), 0, "a ran on engine 0");
	is_int(outcome_engine(outcome_get(oc, "c")), -1, "c ran nowhere yet");
	ok(outcome_get(oc, "zz") == 0, "never seen: 0");

	/* parsing */
	ok(dep_from(&d, "null") == 0 && d.n == 0, "null: no dependency");
	dep_release(&d);
	ok(dep_from(&d, "\"a\"") == 0 && d.n == 1 && d.all && d.success &&
	    !d.failure, "a msg_id: all, success only");
	dep_release(&d);
	ok(dep_from(&d, "{\"dependencies\": [\"a\", \"b\"], \"all\": false,"
	    " \"success\": false, \"failure\": true}") == 0 && d.n == 2 &&
	    !d.all && !d.success && d.failure, "object form with flags");
	dep_release(&d);
	ok(dep_from(&d, "7") == -1, "a number is refused");
	dep_release(&d);
	ok(dep_from(&d, "[\"a\", 7]") == -1, "a non-string id is refused");
	dep_release(&d);

	/* met / unreachable:                            met unreachable */
	check_dep(oc, "[]",						1, 0);
	check_dep(oc, "[\"a\"]",					1, 0);
	check_dep(oc, "[\"c\"]",					0, 0);
	check_dep(oc, "[\"b\"]",					0, 1);
	check_dep(oc, "[\"a\", \"b\"]",					0, 1);
	check_dep(oc, "[\"a\", \"c\"]",					0, 0);
	check_dep(oc, "{\"dependencies\": [\"a\", \"b\"], \"all\": false}", 1, 0);
	check_dep(oc, "{\"dependencies\": [\"b\", \"c\"], \"all\": false}", 0, 0);
	check_dep(oc, "{\"dependencies\": [\"b\"], \"all\": false}",	0, 1);
	check_dep(oc, "{\"dependencies\": [\"b\"], \"success\": false,"
	    " \"failure\": true}",					1, 0);
	check_dep(oc, "{\"dependencies\": [\"a\"], \"success\": false,"
	    " \"failure\": true}",					0, 1);
	check_dep(oc, "{\"dependencies\": [\"a\", \"b\"],"
	    " \"failure\": true}",					1, 0);
	check_dep(oc, "{\"dependencies\": [\"c\"], \"failure\": true}",	0, 0);

	/* follow: met only against the engine the ids ran on */
	dep_from(&d, "[\"a\"]");
	ok(dep_met(oc, &d, 0) && !dep_met(oc, &d, 1),
	    "follow a: engine 0 yes, engine 1 no");
	dep_release(&d);
	dep_from(&d, "{\"dependencies\": [\"a\", \"b\"], \"all\": false,"
	    " \"failure\": true}");
	ok(dep_met(oc, &d, 0) && dep_met(oc, &d, 1) && !dep_met(oc, &d, 2),
	    "follow any of a, b: engines 0 and 1, not 2");
	dep_release(&d);

	/* collapse: ids already satisfied need no wait */
	dep_from(&d, "[\"a\", \"c\"]");
	dep_collapse(oc, &d);
	ok(d.n == 1 && strcmp(d.ids[0], "c") == 0, "collapse [a, c] -> [c]");
	dep_release(&d);

	/* impossible later: c waits, then fails */
	dep_from(&d, "[\"c\"]");
	ok(!dep_met(oc, &d, -1) && !dep_unreachable(oc, &d),
	    "after c: waits while c runs");
	outcome_done(oc, "c", 0, 0);
	ok(!dep_met(oc, &d, -1) && dep_unreachable(oc, &d),
	    "after c: impossible once c failed");
	dep_release(&d);

	/*
	 * engine ids too wide for the idtab's 24-bit values still come
	 * back whole: the first past the limit, and one far past
	 */
	outcome_seen(oc, "u");
	outcome_done(oc, "u", 0, (1L << 21) - 2);
	is_int(outcome_engine(outcome_get(oc, "u")), (1L << 21) - 2,
	    "u ran on engine 2^21-2, the last that fits a slot");
	outcome_seen(oc, "v");
	outcome_done(oc, "v", 1, (1L << 21) - 1);
	is_int(outcome_engine(outcome_get(oc, "v")), (1L << 21) - 1,
	    "v ran on engine 2^21-1, the first kept in the side map");
	outcome_seen(oc, "w");
	outcome_done(oc, "w", 1, 2147483646L);
	is_int(outcome_engine(outcome_get(oc, "w")), 2147483646L,
	    "w ran on engine 2^31-2");
	dep_from(&d, "[\"w\"]");
	ok(dep_met(oc, &d, 2147483646L) && !dep_met(oc, &d, 0),
	    "follow w: only that engine");
	dep_release(&d);
	idtab_destroy(&oc);
}

int
main(void)
{
	test_schemes();
	test_deps();
	return tap_done();
}
