/*
 * fsbench - time file operations on ippfs (or any FUSE mount) from C, so
 * that what is measured is the file system and not a shell's fork and
 * exec.  Used by bench/b-ippfs.sh.
 *
 *	fsbench stat PATH [-n N]	  stat(PATH)
 *	fsbench read PATH [-n N]	  open, read to EOF, close
 *	fsbench exec MNT ENGINE [-n N] [-c CODE] [-r]
 *		open engines/ENGINE/exec, write CODE, read the task id
 *		(which submits it), close; then open tasks/ID/result, read
 *		to EOF (blocks until the task ended), close; with -r, read
 *		the result record on the exec fd after the id's end of file
 *		instead, then close
 *	fsbench batch MNT [-n N] [-c CODE] [-r]
 *		N tasks in one write to tasks/batch, read back the N ids,
 *		then read every tasks/ID/result in turn; with -r, read the
 *		results from the same fd instead, as they end ("ID STATE
 *		SIZE" records after the ids' end of file; ippfs(1))
 *	fsbench push PATH [-s MB] [-n N] [-b CHUNK_KB]
 *		write MB megabytes (10^6 bytes) to PATH in CHUNK_KB writes
 *		and close it; the close returns when the engine has the
 *		value (ns/x.raw), so open-to-close is the push
 *	fsbench pull PATH [-n N] [-b CHUNK_KB]
 *		open PATH, read it to EOF in CHUNK_KB reads into one
 *		buffer, close; mb_per_s as for push
 *
 * Each operation of stat, read and exec is timed with clock_gettime
 * (CLOCK_MONOTONIC) after -w warm-up rounds (default 20, 1 for push);
 * the output is "key value" lines: n, errors, p50_us, p90_us, p99_us,
 * max_us (exec: also submit_p50_us, the exec file alone), and for batch tasks_per_s, submit_s, results_s, total_s, for
 * push mb_per_s (the median round), s_p50 and write_s_p50 (the writes
 * alone, before the close); pull prints bytes and mb_per_s.  Exit status 1 when any operation failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int	 nerrors;
static char	 lastval[256];
static double	 t_submitted;	/* exec: when the task id was read */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return n > 0 ? v[i] : 0;
}

static void
report(double *us, int n)
{
	qsort(us, (size_t)n, sizeof(*us), cmp);
	printf("n %d\nerrors %d\np50_us %.1f\np90_us %.1f\np99_us %.1f\n"
	    "max_us %.1f\n", n, nerrors, pct(us, n, 0.5), pct(us, n, 0.9),
	    pct(us, n, 0.99), n > 0 ? us[n - 1] : 0);
}

static void
fail(const char *what, const char *path)
{
	if (nerrors++ < 5)
		fprintf(stderr, "fsbench: %s %s: %s\n", what, path,
		    strerror(errno));
}

/* Read fd to EOF into buf (len bytes); the total, or -1 on error. */
static ssize_t
slurp(int fd, char *buf, size_t len)
{
	ssize_t n, tot = 0;

	/* the first read's bytes stay at buf; later ones are scratch */
	while ((n = read(fd, buf + (tot > 0 ? len / 2 : 0), len / 2)) > 0)
		tot += n;
	if (n == -1)
		return -1;
	return tot;
}

static int
one_stat(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		fail("stat", path);
		return -1;
	}
	return 0;
}

static int
one_read(const char *path)
{
	char buf[8192];
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1) {
		fail("open", path);
		return -1;
	}
	if (slurp(fd, buf, sizeof(buf)) == -1) {
		fail("read", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * The result record that follows the id's end of file on a code file's
 * fd: "ID STATE SIZE\n", SIZE bytes, "\n".  Its body goes to lastval.
 */
static int
exec_record(int fd, const char *path)
{
	char buf[8192], *nl;
	size_t have = 0;
	ssize_t n;
	long size;

	if (read(fd, buf, sizeof(buf)) != 0) {	/* the ids' end of file */
		errno = EPROTO;
		fail("no end of file after the id", path);
		return -1;
	}
	for (;;) {
		if ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) <= 0) {
			errno = n == 0 ? EPROTO : errno;
			fail("read result", path);
			return -1;
		}
		have += (size_t)n;
		buf[have] = '\0';
		if ((nl = strchr(buf, '\n')) != NULL &&
		    sscanf(buf, "%*d %*s %ld", &size) == 1 &&
		    have >= (size_t)(nl - buf) + 1 + (size_t)size + 1)
			break;
	}
	snprintf(lastval, sizeof(lastval), "%.*s", (int)(size < 200 ? size :
	    200), nl + 1);
	return 0;
}

/*
 * Submit code to an engine, then read its result: from tasks/ID/result,
 * or with stream from the same fd after the id.
 */
static int
one_exec(const char *mnt, const char *engine, const char *code, int stream)
{
	char path[1024], id[64], buf[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/engines/%s/exec", mnt, engine);
	if ((fd = open(path, O_RDWR)) == -1) {
		fail("open", path);
		return -1;
	}
	if (write(fd, code, strlen(code)) != (ssize_t)strlen(code) ||
	    (n = read(fd, id, sizeof(id) - 1)) <= 0) {
		fail("write/read", path);
		close(fd);
		return -1;
	}
	t_submitted = now();
	if (stream) {
		n = exec_record(fd, path);
		close(fd);
		return (int)n;
	}
	close(fd);
	id[n] = '\0';
	id[strcspn(id, "\n")] = '\0';
	snprintf(path, sizeof(path), "%s/tasks/%s/result", mnt, id);
	if ((fd = open(path, O_RDONLY)) == -1) {
		fail("open", path);
		return -1;
	}
	if ((n = slurp(fd, buf, sizeof(buf))) == -1) {
		fail("read", path);
		close(fd);
		return -1;
	}
	close(fd);
	snprintf(lastval, sizeof(lastval), "%.*s", (int)(n < 200 ? n : 200),
	    buf);
	return 0;
}

static void
timed_loop(const char *mode, int n, int warm, const char *a, const char *b,
    const char *code, int stream)
{
	double *us = calloc((size_t)n, sizeof(*us)), t0;
	double *sub = calloc((size_t)n, sizeof(*sub));
	int i, rc = 0;

	if (us == NULL || sub == NULL)
		exit(2);
	for (i = -warm; i < n; i++) {
		t0 = now();
		if (strcmp(mode, "stat") == 0)
			rc = one_stat(a);
		else if (strcmp(mode, "read") == 0)
			rc = one_read(a);
		else
			rc = one_exec(a, b, code, stream);
		if (i >= 0) {
			us[i] = (now() - t0) * 1e6;
			sub[i] = (t_submitted - t0) * 1e6;
		}
		(void)rc;
	}
	report(us, n);
	if (strcmp(mode, "exec") == 0) {
		/* the part up to the id: open, write, read, close of exec */
		qsort(sub, (size_t)n, sizeof(*sub), cmp);
		printf("submit_p50_us %.1f\n", pct(sub, n, 0.5));
	}
	free(sub);
	if (lastval[0] != '\0')
		printf("last_result %.*s\n", (int)strcspn(lastval, "\n"),
		    lastval);
	free(us);
}

/*
 * The results stream of a tasks/batch fd: records "ID STATE SIZE\n",
 * SIZE bytes, "\n", until end of file.  Counts the records whose state
 * is done; every record is checked for shape.
 */
static int
batch_stream(int fd, const char *path)
{
	enum { CAP = 1 << 20 };
	char *buf = malloc(CAP);
	size_t have = 0, need, off;
	ssize_t r;
	char *nl, st[32];
	long id, size;
	int got = 0, eof = 0;

	if (buf == NULL)
		exit(2);
	for (;;) {
		/* whole records out of what is there */
		off = 0;
		while ((nl = memchr(buf + off, '\n', have - off)) != NULL) {
			*nl = '\0';
			if (sscanf(buf + off, "%ld %31s %ld", &id, st, &size) !=
			    3 || size < 0) {
				errno = EPROTO;
				fail("parse", path);
				goto out;
			}
			need = (size_t)(nl - buf) + 1 + (size_t)size + 1;
			if (need > have) {
				*nl = '\n';
				break;
			}
			if (strcmp(st, "done") == 0) {
				got++;
				snprintf(lastval, sizeof(lastval), "%.*s",
				    (int)(size < 200 ? size : 200), nl + 1);
			}
			off = need;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		if (eof)
			break;
		if (have == CAP) {
			errno = EMSGSIZE;
			fail("record", path);
			goto out;
		}
		if ((r = read(fd, buf + have, CAP - have)) == -1) {
			fail("read", path);
			goto out;
		}
		have += (size_t)r;
		eof = r == 0;
	}
	if (have != 0) {
		errno = EPROTO;
		fail("trailing bytes", path);
	}
out:
	free(buf);
	return got;
}

static void
batch(const char *mnt, int n, const char *code, int stream)
{
	char path[1024], rpath[1024], buf[8192], *in, *out = NULL, *p;
	size_t clen = strlen(code), len = 0, cap = 0;
	ssize_t r;
	double t0, t1, t2;
	int fd, i, got = 0;

	if ((in = malloc((clen + 3) * (size_t)n + 1)) == NULL)
		exit(2);
	for (i = 0, p = in; i < n; i++) {
		memcpy(p, code, clen);
		p += clen;
		/* records end at a line holding only 0x1e */
		if (i < n - 1) {
			memcpy(p, "\n\036\n", 3);
			p += 3;
		}
	}
	snprintf(path, sizeof(path), "%s/tasks/batch", mnt);
	t0 = now();
	if ((fd = open(path, O_RDWR)) == -1 ||
	    write(fd, in, (size_t)(p - in)) != p - in) {
		fail("open/write", path);
		exit(1);
	}
	for (;;) {
		if (len + 65536 > cap && (out = realloc(out,
		    cap = cap * 2 + 65536)) == NULL)
			exit(2);
		if ((r = read(fd, out + len, 65536)) <= 0)
			break;
		len += (size_t)r;
	}
	if (r == -1)
		fail("read", path);
	out[len] = '\0';
	t1 = now();
	if (stream)
		got = batch_stream(fd, path);
	close(fd);
	for (p = out; !stream && p < out + len; p += strcspn(p, "\n") + 1) {
		p[strcspn(p, "\n")] = '\0';
		snprintf(rpath, sizeof(rpath), "%s/tasks/%s/result", mnt, p);
		if ((fd = open(rpath, O_RDONLY)) == -1) {
			fail("open", rpath);
			continue;
		}
		if ((r = slurp(fd, buf, sizeof(buf))) == -1)
			fail("read", rpath);
		else
			got++;
		close(fd);
		if (r > 0)
			snprintf(lastval, sizeof(lastval), "%.*s", (int)(r <
			    200 ? r : 200), buf);
		/* strcspn above stopped at the '\0' written over '\n' */
	}
	t2 = now();
	printf("n %d\nresults %d\nerrors %d\nsubmit_s %.3f\nresults_s %.3f\n"
	    "total_s %.3f\ntasks_per_s %.0f\nlast_result %.*s\n", n, got,
	    nerrors, t1 - t0, t2 - t1, t2 - t0, got / (t2 - t0),
	    (int)strcspn(lastval, "\n"), lastval);
	free(in);
	free(out);
}

static void
push(const char *path, double mb, int n, int warm, size_t chunk)
{
	size_t size = (size_t)(mb * 1e6), off, k;
	double *s = calloc((size_t)n, sizeof(*s)), t0, t1;
	double *ws = calloc((size_t)n, sizeof(*ws));
	char *data = malloc(size);
	int fd, i;

	if (data == NULL || s == NULL || ws == NULL)
		exit(2);
	for (off = 0; off < size; off++)
		data[off] = (char)(off * 2654435761u >> 24);
	for (i = -warm; i < n; i++) {
		t0 = now();
		if ((fd = open(path, O_WRONLY | O_TRUNC)) == -1) {
			fail("open", path);
			continue;
		}
		for (off = 0; off < size; off += k) {
			k = size - off < chunk ? size - off : chunk;
			if (write(fd, data + off, k) != (ssize_t)k) {
				fail("write", path);
				break;
			}
		}
		t1 = now();
		if (close(fd) == -1)
			fail("close", path);
		if (i >= 0) {
			s[i] = now() - t0;
			ws[i] = t1 - t0;
		}
	}
	qsort(s, (size_t)n, sizeof(*s), cmp);
	qsort(ws, (size_t)n, sizeof(*ws), cmp);
	/* writes: into the file system; close: on to the engine and back */
	printf("n %d\nerrors %d\nbytes %zu\ns_p50 %.4f\nwrite_s_p50 %.4f\n"
	    "mb_per_s %.1f\nmb_per_s_best %.1f\n", n, nerrors, size,
	    pct(s, n, 0.5), pct(ws, n, 0.5), size / 1e6 / pct(s, n, 0.5),
	    size / 1e6 / s[0]);
	free(data);
	free(s);
	free(ws);
}

static void
pull(const char *path, int n, size_t chunk)
{
	double *s = calloc((size_t)n + 1, sizeof(*s)), t0;
	size_t cap = 0, len = 0;
	char *data = NULL;
	ssize_t r;
	int fd, i;

	/* one warm-up round sizes the buffer; later rounds reuse it */
	for (i = -1; i < n; i++) {
		t0 = now();
		if ((fd = open(path, O_RDONLY)) == -1) {
			fail("open", path);
			continue;
		}
		for (len = 0;; len += (size_t)r) {
			if (len + chunk > cap && (data = realloc(data,
			    cap = len + chunk + cap)) == NULL)
				exit(2);
			if ((r = read(fd, data + len, chunk)) <= 0)
				break;
		}
		if (r == -1)
			fail("read", path);
		close(fd);
		if (i >= 0)
			s[i] = now() - t0;
	}
	qsort(s, (size_t)n, sizeof(*s), cmp);
	printf("n %d\nerrors %d\nbytes %zu\ns_p50 %.4f\nmb_per_s %.1f\n"
	    "mb_per_s_best %.1f\n", n, nerrors, len, pct(s, n, 0.5),
	    len / 1e6 / pct(s, n, 0.5), len / 1e6 / s[0]);
	free(data);
	free(s);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: fsbench stat|read PATH [-n N] [-w W]\n"
	    "       fsbench exec MNT ENGINE [-n N] [-w W] [-c CODE] [-r]\n"
	    "       fsbench batch MNT [-n N] [-c CODE] [-r]\n"
	    "       fsbench push PATH [-s MB] [-n N] [-w W] [-b CHUNK_KB]\n"
	    "       fsbench pull PATH [-n N] [-b CHUNK_KB]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *mode, *a, *b = NULL, *code = "6 * 7";
	int c, n = 1000, warm = -1, args, stream = 0;
	double mb = 100;
	size_t chunk = 1 << 20;

	if (argc < 3)
		usage();
	mode = argv[1];
	a = argv[2];
	args = 3;
	if (strcmp(mode, "exec") == 0) {
		if (argc < 4)
			usage();
		b = argv[3];
		args = 4;
	}
	optind = args;
	while ((c = getopt(argc, argv, "n:w:c:s:b:r")) != -1) {
		switch (c) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'w':
			warm = atoi(optarg);
			break;
		case 'c':
			code = optarg;
			break;
		case 's':
			mb = atof(optarg);
			break;
		case 'b':
			chunk = (size_t)atoi(optarg) * 1024;
			break;
		case 'r':
			stream = 1;
			break;
		default:
			usage();
		}
	}
	if (n < 1 || chunk == 0)
		usage();
	if (strcmp(mode, "stat") == 0 || strcmp(mode, "read") == 0 ||
	    strcmp(mode, "exec") == 0)
		timed_loop(mode, n, warm < 0 ? 20 : warm, a, b, code, stream);
	else if (strcmp(mode, "batch") == 0)
		batch(a, n, code, stream);
	else if (strcmp(mode, "push") == 0)
		push(a, mb, n, warm < 0 ? 1 : warm, chunk);
	else if (strcmp(mode, "pull") == 0)
		pull(a, n, chunk);
	else
		usage();
	return nerrors > 0;
}
