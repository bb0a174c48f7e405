/*
 * t_util.c - unit tests of libipp's small pieces (util.c,
 * map.c): ISO 8601 dates both ways, message and session ids, and the
 * hash map.  One of the libipp unit tests split by theme (libipp_test.h
 * has their shared helpers).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipp.h"
#include "tap.h"
#include "libipp_test.h"

static void
iso_is(const char *in, double want, const char *name)
{
	double got = ipp_iso_parse(in);

	ok(got > want - 1e-6 && got < want + 1e-6, "%s: %s", name, in);
	if (!(got > want - 1e-6 && got < want + 1e-6))
		diag("got %.6f want %.6f", got, want);
}

/*
 * The date through gmtime_r, as ipp_iso_format wrote it before it did
 * the digits itself, but with the year in four digits as Python's
 * isoformat() writes it (strftime's %Y has no leading zeros before 1000).
 */
static void
iso_ref(long long sec, long usec, char *buf, size_t len)
{
	time_t t = (time_t)sec;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, usec);
}

/*
 * The calendar arithmetic against gmtime_r: every day boundary from
 * 1600 to 2500 (leap days, centuries, 1970 from both sides), a million
 * pseudo-random instants from year 0 to 9999, and the years beyond,
 * which go the slow way.
 */
static void
test_iso_calendar(void)
{
	static const long long edges[] = { -62167219200LL, -62135596800LL,
	    -1, 0, 1, 951782400LL, 951868799LL, 4107542400LL,
	    253402300799LL, 253402300800LL };
	char got[64], want[64];
	unsigned long long x = 88172645463325252ULL;
	long long sec, bad = 0, n = 0;
	size_t i;

	for (sec = -11676096000LL; sec < 16725225600LL; sec += 86400, n++) {
		ipp_iso_format((double)sec, got, sizeof(got));
		iso_ref(sec, 0, want, sizeof(want));
		if (strcmp(got, want) != 0 && bad++ == 0)
			diag("%lld: got %s want %s", sec, got, want);
		ipp_iso_format((double)(sec - 1), got, sizeof(got));
		iso_ref(sec - 1, 0, want, sizeof(want));
		if (strcmp(got, want) != 0 && bad++ == 0)
			diag("%lld: got %s want %s", sec - 1, got, want);
	}
	ok(bad == 0, "every day's first and last second, 1600-2500 (%lld "
	    "days, %lld wrong)", n, bad);
	for (bad = 0, n = 0; n < 1000000; n++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* whole seconds: a double far from 1970 has no microseconds */
		sec = (long long)(x % 315537897600ULL) - 62167219200LL;
		ipp_iso_format((double)sec, got, sizeof(got));
		iso_ref(sec, 0, want, sizeof(want));
		if (strcmp(got, want) != 0 && bad++ == 0)
			diag("%lld: got %s want %s", sec, got, want);
	}
	ok(bad == 0, "a million seconds in years 0-9999 (%lld wrong)", bad);
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		ipp_iso_format((double)edges[i], got, sizeof(got));
		iso_ref(edges[i], 0, want, sizeof(want));
		ok(strcmp(got, want) == 0, "edge %lld: %s", edges[i], got);
		if (strcmp(got, want) != 0)
			diag("want %s", want);
	}
	ipp_iso_format(-0x1p63, got, sizeof(got));
	ok(strcmp(got, "0000-01-01T00:00:00.000000Z") == 0,
	    "the earliest time_t: the nearest ISO date (%s)", got);
	ipp_iso_format(1795311502.130239, got, 11);
	is_str(got, "2026-11-22", "cut to the buffer, NUL-terminated");
}

static void
test_iso(void)
{
	char b[64], b2[64];
	double t;

	ipp_iso_format(0, b, sizeof(b));
	is_str(b, "1970-01-01T00:00:00.000000Z", "format epoch");
	ipp_iso_format(T2026 + 0.25, b, sizeof(b));
	is_str(b, "2026-01-01T00:00:00.250000Z", "format fractional");
	ipp_iso_format(T2026 - 0.0000001, b, sizeof(b));
	is_str(b, "2026-01-01T00:00:00.000000Z",
	    "format rounds up to the next second");
	ipp_iso_format(1795311502.130239, b, sizeof(b));
	is_str(b, "2026-11-22T01:38:22.130239Z", "format microseconds");
	ipp_iso_format(-0.5, b, sizeof(b));
	is_str(b, "1969-12-31T23:59:59.500000Z", "format before the epoch");

	iso_is("2026-01-01T00:00:00.000000Z", T2026, "Z");
	iso_is("2026-01-01T00:00:00Z", T2026, "Z without fraction");
	iso_is("2026-01-01T00:00:00+00:00", T2026, "+00:00");
	iso_is("2026-01-01T00:00:00", T2026, "naive is UTC");
	iso_is("2026-01-01T01:00:00+01:00", T2026, "+01:00");
	iso_is("2026-01-01T01:00:00+0100", T2026, "+0100");
	iso_is("2025-12-31T18:30:00-05:30", T2026, "-05:30");
	iso_is("2026-01-01T00:00:00.123456Z", T2026 + 0.123456, "fraction Z");
	iso_is("2026-01-01T00:00:00.5+00:00", T2026 + 0.5, "fraction +00:00");
	iso_is("2026-01-01T00:00:00.25", T2026 + 0.25, "fraction naive");
	iso_is("2026-01-01T02:00:00.75+02:00", T2026 + 0.75,
	    "fraction with offset");
	ok(ipp_iso_parse("yesterday") == -1, "garbage: -1");
	ok(ipp_iso_parse(NULL) == -1, "NULL: -1");
	ok(ipp_iso_parse("") == -1, "empty: -1");
	ok(ipp_iso_parse("2026-01-01T00:00:00junk") == -1, "trailing junk: -1");
	ok(ipp_iso_parse("2026-01-01T00:00:00.Z") == -1,
	    "'.' without digits: -1");
	ok(ipp_iso_parse("2026-01-01T00:00:00.5e3Z") == -1,
	    "exponent in the fraction: -1");
	ok(ipp_iso_parse("2026-01-01T00:00:00+xx") == -1, "bad offset: -1");

	ipp_iso_format(ipp_iso_parse("2026-11-22T01:27:08.130239Z"), b,
	    sizeof(b));
	is_str(b, "2026-11-22T01:27:08.130239Z", "parse/format round trip");
	ipp_iso_now(b, sizeof(b));
	t = ipp_iso_parse(b);
	ok(t > ipp_now() - 5 && t <= ipp_now() + 1e-3, "iso_now parses to now");
	ipp_iso_format(t, b2, sizeof(b2));
	is_str(b2, b, "iso_now matches iso_format");
	ok(strlen(b) == 27 && b[26] == 'Z', "iso_now has 6 digits and Z");
	t = ipp_monotonic();
	ok(t > 0 && ipp_monotonic() >= t, "monotonic clock");
}

static void
test_ids(void)
{
	struct ipp_session s;
	char a[128], b[128], h[80], want[128];
	char *saved;
	json_t *hd;

	saved = getenv("USER") ? xstrdup(getenv("USER")) : NULL;
	ipp_new_id(a, sizeof(a));
	ipp_new_id(b, sizeof(b));
	ok(is_new_id(a), "new_id is 8 hex '-' 24 hex: %s", a);
	ok(strcmp(a, b) != 0, "two new_ids differ");
	ipp_new_key(a, sizeof(a));
	ok(is_new_id(a), "new_key has the same shape: %s", a);
	ipp_random_hex(h, 20);
	ok(strlen(h) == 40 && is_hex(h, 40), "random_hex of 20 bytes");

	setenv("USER", "tester", 1);
	ipp_session_init(&s, "k", NULL);
	ok(is_new_id(s.session), "default session id is a new_id");
	is_str(s.username, "tester", "username from $USER");
	/* the counter is process-wide (engined's two threads share ids) */
	ipp_session_msg_id(&s, a, sizeof(a));
	snprintf(want, sizeof(want), "%s_%ld_%lu", s.session, (long)getpid(),
	    s.counter);
	is_str(a, want, "first msg_id");
	ipp_session_msg_id(&s, a, sizeof(a));
	snprintf(want, sizeof(want), "%s_%ld_%lu", s.session, (long)getpid(),
	    s.counter);
	is_str(a, want, "second msg_id");
	hd = ipp_header_new(&s, "ping");
	ok(json_str_is(hd, "msg_type", "ping") && json_str_is(hd, "username",
	    "tester") && json_str_is(hd, "session", s.session) &&
	    json_str_is(hd, "version", "5.3") && json_object_size(hd) == 6,
	    "header_new has the six jupyter fields");
	json_decref(hd);
	ipp_session_release(&s);

	unsetenv("USER");
	ipp_session_init(&s, "k", "engine-uuid-1");
	is_str(s.username, "username", "no $USER: \"username\"");
	is_str(s.session, "engine-uuid-1", "explicit session id");
	ipp_session_release(&s);
	if (saved != NULL) {
		setenv("USER", saved, 1);
		free(saved);
	}
}

struct sum {
	size_t		 n;
	uintptr_t	 total;
};

static void
sum_cb(void *arg, const char *key, void *val)
{
	struct sum *s = arg;

	s->n++;
	s->total += (uintptr_t)val;
}

static void
test_map(void)
{
	enum { N = 100000 };
	struct ipp_map *m;
	struct sum s = { 0, 0 };
	uintptr_t want = 0;
	char k[32];
	int i, bad;

	m = ipp_map_new();
	ok(m != NULL && ipp_map_count(m) == 0, "new map is empty");
	ok(ipp_map_get(m, "nothing") == NULL, "get on empty map");
	bad = 0;
	for (i = 0; i < N; i++) {
		snprintf(k, sizeof(k), "msg-%d", i);
		if (ipp_map_put(m, k, (void *)(uintptr_t)(i + 1)) == -1)
			bad++;
	}
	ok(bad == 0 && ipp_map_count(m) == N, "put %d keys (map grows)", N);
	bad = 0;
	for (i = 0; i < N; i++) {
		snprintf(k, sizeof(k), "msg-%d", i);
		if (ipp_map_get(m, k) != (void *)(uintptr_t)(i + 1))
			bad++;
	}
	ok(bad == 0, "get all %d keys back", N);
	ok(ipp_map_get(m, "msg-100000") == NULL && ipp_map_get(m, "msg-") ==
	    NULL && ipp_map_get(m, "") == NULL, "absent keys");

	ipp_map_put(m, "msg-5", (void *)(uintptr_t)77);
	ok(ipp_map_get(m, "msg-5") == (void *)(uintptr_t)77 &&
	    ipp_map_count(m) == N, "put on an existing key replaces");
	ipp_map_put(m, "msg-5", (void *)(uintptr_t)6);

	bad = 0;
	for (i = 0; i < N; i += 2) {
		snprintf(k, sizeof(k), "msg-%d", i);
		if (ipp_map_del(m, k) != (void *)(uintptr_t)(i + 1))
			bad++;
	}
	ok(bad == 0 && ipp_map_count(m) == N / 2,
	    "del every other key returns its value");
	bad = 0;
	for (i = 0; i < N; i++) {
		snprintf(k, sizeof(k), "msg-%d", i);
		if ((ipp_map_get(m, k) != NULL) != (i % 2 == 1))
			bad++;
		if (i % 2 == 1)
			want += (uintptr_t)(i + 1);
	}
	ok(bad == 0, "deleted keys gone, the others kept");
	ok(ipp_map_del(m, "msg-0") == NULL && ipp_map_count(m) == N / 2,
	    "del of an absent key");
	ipp_map_foreach(m, sum_cb, &s);
	ok(s.n == N / 2 && s.total == want, "foreach visits each entry once");

	/* keys are byte strings: embedded NULs and the empty key */
	ok(ipp_map_putn(m, "a\0b", 3, (void *)(uintptr_t)1) == 0 &&
	    ipp_map_putn(m, "a\0c", 3, (void *)(uintptr_t)2) == 0 &&
	    ipp_map_put(m, "a", (void *)(uintptr_t)3) == 0 &&
	    ipp_map_put(m, "", (void *)(uintptr_t)4) == 0, "binary keys");
	ok(ipp_map_getn(m, "a\0b", 3) == (void *)(uintptr_t)1 &&
	    ipp_map_getn(m, "a\0c", 3) == (void *)(uintptr_t)2 &&
	    ipp_map_get(m, "a") == (void *)(uintptr_t)3 &&
	    ipp_map_get(m, "") == (void *)(uintptr_t)4,
	    "NUL-containing keys are distinct");
	ok(ipp_map_deln(m, "a\0b", 3) == (void *)(uintptr_t)1 &&
	    ipp_map_getn(m, "a\0c", 3) == (void *)(uintptr_t)2,
	    "deln removes only its key");
	ipp_map_free(m);
	ipp_map_free(NULL);
}

int
main(void)
{
	test_iso();
	test_iso_calendar();
	test_ids();
	test_map();
	return tap_done();
}
