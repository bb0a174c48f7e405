/*
 * session.c - who signs: the HMAC key, our session id, msg_id and date
 * generation, and the replay history.
 *
 * Signatures follow jupyter_client: lowercase hex HMAC-SHA256 over header,
 * parent_header, metadata and content concatenated, exactly as the bytes
 * travel (never re-serialised before checking), computed by hmac.c.
 *
 * Replay protection keeps the digests of recently accepted messages, as
 * jupyter_client does (65,536 by default).  When full, the oldest tenth is
 * forgotten; jupyter_client forgets a random tenth, which gives no stronger
 * guarantee.  The history may live in a file mapped MAP_SHARED (hubd keeps
 * it in the security directory): every digest is in the page cache before
 * the message is acted on, so a restart, even after kill -9, does not
 * reopen the door to messages captured before it.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pwd.h>

#include <sodium.h>

#include "ipp.h"

/*
 * Open-addressing set of 32-byte digests plus a FIFO for eviction.  The
 * FIFO and its header are one block, in memory or a file mapping; the
 * index is rebuilt from the FIFO when a file is loaded.
 */
#define REPLAY_MAGIC	"ippdgst1"

struct replay_fifo {
	char		 magic[8];
	uint64_t	 cap, head, count;
	unsigned char	 d[][32];
};

struct ipp_replay {
	struct replay_fifo *f;
	size_t		 flen;
	int		 mapped;
	size_t		 cap;
	uint32_t	*slot;		/* 1 + fifo index, 0 empty, UINT32_MAX gone */
	size_t		 nslot;
};

static int sodium_ready;

static void
lib_init(void)
{
	if (!sodium_ready) {
		if (sodium_init() < 0)
			abort();	/* no usable randomness: nothing is safe */
		sodium_ready = 1;
	}
}

int
ipp_session_init(struct ipp_session *s, const char *key, const char *sid)
{
	const char *u;
	size_t kl = key ? strlen(key) : 0;

	lib_init();
	memset(s, 0, sizeof(*s));
	if (kl > 0) {
		if ((s->key = malloc(kl)) == NULL)
			return -1;
		memcpy(s->key, key, kl);
		s->keylen = kl;
		if ((s->hmac = ipp_hmac_new(s->key, kl)) == NULL) {
			sodium_memzero(s->key, kl);
			free(s->key);
			memset(s, 0, sizeof(*s));
			errno = ENOMEM;
			return -1;
		}
	}
	if (sid != NULL && *sid != '\0')
		snprintf(s->session, sizeof(s->session), "%s", sid);
	else
		ipp_new_id(s->session, sizeof(s->session));
	if ((u = getenv("USER")) == NULL || *u == '\0')
		u = "username";
	snprintf(s->username, sizeof(s->username), "%s", u);
	s->pid = (long)getpid();
	return 0;
}

static void
replay_free(struct ipp_replay *r)
{
	if (r == NULL)
		return;
	if (r->mapped)
		munmap(r->f, r->flen);
	else
		free(r->f);
	free(r->slot);
	free(r);
}

void
ipp_session_release(struct ipp_session *s)
{
	if (s->key != NULL) {
		sodium_memzero(s->key, s->keylen);
		free(s->key);
	}
	ipp_hmac_free(&s->hmac);
	replay_free(s->replay);
	memset(s, 0, sizeof(*s));
}

static void replay_reindex(struct ipp_replay *);

/* Map path as the FIFO; keep its digests when it holds a valid one. */
static int
replay_map(struct ipp_replay *r, const char *path, int keep)
{
	struct stat st;
	void *p;
	int fd, e;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || fchmod(fd, 0600) == -1)
		goto fail;
	if (!keep || (size_t)st.st_size != r->flen) {
		if (ftruncate(fd, 0) == -1 ||
		    ftruncate(fd, (off_t)r->flen) == -1)
			goto fail;
	}
	/*
	 * Every block allocated now: a store into a hole of a mapped file
	 * on a full disk is a SIGBUS, here it is a clear error at start.
	 */
	if ((e = posix_fallocate(fd, 0, (off_t)r->flen)) != 0) {
		errno = e;
		goto fail;
	}
	p = mmap(NULL, r->flen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	close(fd);
	r->f = p;
	r->mapped = 1;
	return 0;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
ipp_session_enable_replay_file(struct ipp_session *s, size_t cap,
    const char *path, int keep)
{
	struct ipp_replay *r;
	struct replay_fifo *f;

	if (cap < 16)
		cap = 16;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->cap = cap;
	r->nslot = 1;
	while (r->nslot < cap * 2)
		r->nslot <<= 1;
	r->flen = sizeof(struct replay_fifo) + cap * 32;
	if (path != NULL && replay_map(r, path, keep) == -1) {
		replay_free(r);
		return -1;
	}
	if (path == NULL)
		r->f = calloc(1, r->flen);
	r->slot = calloc(r->nslot, sizeof(*r->slot));
	if (r->f == NULL || r->slot == NULL) {
		replay_free(r);
		errno = ENOMEM;
		return -1;
	}
	f = r->f;
	if (memcmp(f->magic, REPLAY_MAGIC, 8) != 0 || f->cap != cap ||
	    f->head >= cap || f->count > cap) {
		memset(f, 0, sizeof(*f));
		memcpy(f->magic, REPLAY_MAGIC, 8);
		f->cap = cap;
	}
	replay_reindex(r);
	replay_free(s->replay);
	s->replay = r;
	return 0;
}

int
ipp_session_enable_replay(struct ipp_session *s, size_t cap)
{
	return ipp_session_enable_replay_file(s, cap, NULL, 0);
}

static size_t
replay_hash(const unsigned char *d, size_t mask)
{
	uint64_t h;

	memcpy(&h, d, sizeof(h));	/* digests are uniformly distributed */
	return (size_t)h & mask;
}

/* Rebuild the index from the FIFO: used after eviction left tombstones. */
static void
replay_reindex(struct ipp_replay *r)
{
	size_t i, mask = r->nslot - 1;

	memset(r->slot, 0, r->nslot * sizeof(*r->slot));
	for (i = 0; i < r->f->count; i++) {
		size_t fi = (r->f->head + i) % r->cap;
		size_t h = replay_hash(r->f->d[fi], mask);

		while (r->slot[h] != 0)
			h = (h + 1) & mask;
		r->slot[h] = (uint32_t)fi + 1;
	}
}

/* 1 when the digest was seen before; otherwise remember it and return 0. */
static int
replay_check_add(struct ipp_replay *r, const unsigned char d[32])
{
	size_t mask = r->nslot - 1, h = replay_hash(d, mask), fi;

	while (r->slot[h] != 0) {
		uint32_t v = r->slot[h];

		if (v != UINT32_MAX && memcmp(r->f->d[v - 1], d, 32) == 0)
			return 1;
		h = (h + 1) & mask;
	}
	if (r->f->count == r->cap) {
		size_t drop = r->cap / 10 + 1;

		r->f->head = (r->f->head + drop) % r->cap;
		r->f->count -= drop;
		replay_reindex(r);
		h = replay_hash(d, mask);
		while (r->slot[h] != 0)
			h = (h + 1) & mask;
	}
	/* the digest first, then the count: a crash between loses nothing
	 * acted on, since the message is only handled after we return */
	fi = (r->f->head + r->f->count) % r->cap;
	memcpy(r->f->d[fi], d, 32);
	r->slot[h] = (uint32_t)fi + 1;
	r->f->count++;
	return 0;
}

static const char hexdig[] = "0123456789abcdef";

static void
hexify(const unsigned char *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void
ipp_sign(const struct ipp_session *s, const void *const parts[4],
    const size_t lens[4], char out[IPP_SIG_HEXLEN + 1])
{
	unsigned char mac[32];

	if (s->keylen == 0) {
		out[0] = '\0';
		return;
	}
	ipp_hmac_sha256(s->hmac, parts, lens, 4, mac);
	hexify(mac, sizeof(mac), out);
}

/* Comparison is constant time on the decoded digest. */
int
ipp_session_verify(struct ipp_session *s, const void *sig, size_t siglen,
    const void *const parts[4], const size_t lens[4])
{
	unsigned char mac[32], got[32];
	size_t bin = 0;

	if (s->keylen == 0)
		return 0;
	if (siglen != IPP_SIG_HEXLEN ||
	    sodium_hex2bin(got, sizeof(got), sig, siglen, NULL, &bin,
	    NULL) != 0 || bin != sizeof(got)) {
		errno = EACCES;
		return -1;
	}
	ipp_hmac_sha256(s->hmac, parts, lens, 4, mac);
	if (sodium_memcmp(mac, got, sizeof(mac)) != 0) {
		errno = EACCES;
		return -1;
	}
	if (s->replay != NULL && replay_check_add(s->replay, mac)) {
		errno = EALREADY;
		return -1;
	}
	return 0;
}

void
ipp_random_hex(char *out, size_t nbytes)
{
	unsigned char b[64];

	lib_init();
	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	randombytes_buf(b, nbytes);
	hexify(b, nbytes, out);
}

void
ipp_new_id(char *buf, size_t len)
{
	char h[33];

	ipp_random_hex(h, 16);
	snprintf(buf, len, "%.8s-%.24s", h, h + 8);
}

void
ipp_new_key(char *buf, size_t len)
{
	ipp_new_id(buf, len);
}

/*
 * The counter is process-wide (and atomic) so that several sessions with
 * the same id in different threads, as in engined, never repeat a msg_id.
 */
void
ipp_session_msg_id(struct ipp_session *s, char *buf, size_t len)
{
	static unsigned long counter;

	s->counter = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	snprintf(buf, len, "%s_%ld_%lu", s->session, s->pid, s->counter);
}

double
ipp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double
ipp_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* v's last n decimal digits at p, then c; returns the end. */
static char *
digits(char *p, long long v, int n, char c)
{
	int i;

	for (i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	p[n] = c;
	return p + n + 1;
}

/*
 * sec.usec as ISO 8601 in UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ".  Every
 * message header carries one, so the digits are written here from the
 * day count (the proleptic Gregorian calendar's civil-from-days
 * arithmetic) rather than by gmtime_r, strftime and snprintf, which took
 * about 4% of an engine's CPU per execute (gmtime_r also takes a lock).
 * Years outside 0-9999 go the slow way.  t_util checks the two agree.
 */
static void
iso_write(time_t sec, long usec, char *buf, size_t len)
{
	long long days, z, era, doe, yoe, y, doy, mp, m, d, sod;
	struct tm tm;
	char b[32], *p = b;

	days = sec / 86400;		/* floor: before 1970 too */
	if (sec % 86400 < 0)
		days--;
	sod = sec - days * 86400;
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	if (y < 0 || y > 9999) {
		/* beyond even struct tm's int year: the nearest ISO date */
		if (gmtime_r(&sec, &tm) == NULL)
			snprintf(buf, len, "%s", sec < 0 ?
			    "0000-01-01T00:00:00.000000Z" :
			    "9999-12-31T23:59:59.999999Z");
		else {
			strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
			snprintf(buf, len, "%s.%06ldZ", b, usec);
		}
		return;
	}
	p = digits(p, y, 4, '-');
	p = digits(p, m, 2, '-');
	p = digits(p, d, 2, 'T');
	p = digits(p, sod / 3600, 2, ':');
	p = digits(p, sod / 60 % 60, 2, ':');
	p = digits(p, sod % 60, 2, '.');
	p = digits(p, usec, 6, 'Z');
	*p = '\0';
	if (len > 0) {
		if ((size_t)(p - b) >= len)
			p = b + len - 1;
		memcpy(buf, b, (size_t)(p - b));
		buf[p - b] = '\0';
	}
}

void
ipp_iso_format(double t, char *buf, size_t len)
{
	/* floor, not truncation: before 1970 the fraction must stay >= 0 */
	time_t sec = (time_t)floor(t);
	long usec = (long)((t - (double)sec) * 1e6 + 0.5);

	if (usec >= 1000000) {
		sec++;
		usec -= 1000000;
	}
	iso_write(sec, usec, buf, len);
}

void
ipp_iso_now(char *buf, size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	iso_write(ts.tv_sec, ts.tv_nsec / 1000, buf, len);
}

double
ipp_iso_parse(const char *s)
{
	struct tm tm;
	double frac = 0;
	const char *p;
	long off = 0;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	/*
	 * Digits only: strtod would also take an exponent ("00.5e3" is 500
	 * seconds) and follows LC_NUMERIC's decimal point.
	 */
	if (*p == '.') {
		long num = 0, den = 1;

		if (!isdigit((unsigned char)p[1]))
			return -1;
		/* digits past nanoseconds cannot change a double this size */
		for (p++; isdigit((unsigned char)*p); p++)
			if (den < 1000000000L) {
				num = num * 10 + (*p - '0');
				den *= 10;
			}
		frac = (double)num / (double)den;
	}
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, hh = 0, mm = 0;

		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) < 1 &&
		    sscanf(p + 1, "%2d%2d", &hh, &mm) < 1)
			return -1;
		off = sign * (hh * 3600L + mm * 60L);
	} else if (*p != 'Z' && *p != '\0')
		return -1;
	return (double)timegm(&tm) - (double)off + frac;
}
