/*
 * ippfs.c - main(), the FUSE session and the one event loop of ippfs.
 *
 * Start-up: parse the options, find ipcontroller-client.json (from
 * --file or the profile), create and mount the FUSE session, go to the
 * background unless -f, and only then connect to the controller, since
 * ZeroMQ's threads do not survive fork.  The loop polls the FUSE device
 * as a raw fd beside the controller's sockets; after every turn the
 * parked requests are retried (park_sweep), which is how a blocked read
 * learns that its task ended.  Signal handlers only set a flag; the loop
 * then unmounts.  Also here: the small buffer helpers and the /events
 * and /errors logs every other file appends to.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ippfs.h"

struct ippfs fs;

static volatile sig_atomic_t got_signal;

struct config {
	char	 profile[256];
	char	 profile_dir[1024];
	char	 cluster_id[128];
	char	 file[1024];
	char	 fuseopts[1024];
	int	 foreground;
	int	 debug;
	int	 help;
	int	 loglevel;
};

static void
opt_profile(void *c, const char *v)
{
	ipp_opt_copy(((struct config *)c)->profile, 256, v, "--profile");
}

static void
opt_profile_dir(void *c, const char *v)
{
	ipp_opt_copy(((struct config *)c)->profile_dir, 1024, v,
	    "--profile-dir");
}

static void
opt_cluster_id(void *c, const char *v)
{
	ipp_opt_copy(((struct config *)c)->cluster_id, 128, v,
	    "--cluster-id");
}

static void
opt_file(void *c, const char *v)
{
	ipp_opt_copy(((struct config *)c)->file, 1024, v, "--file");
}

/* ssh settings go straight to fs: client_start is their one reader */
static void
opt_sshserver(void *c, const char *v)
{
	ipp_opt_copy(fs.sshserver, sizeof(fs.sshserver), v, "--sshserver");
}

static void
opt_sshkey(void *c, const char *v)
{
	ipp_opt_copy(fs.sshkey, sizeof(fs.sshkey), v, "--sshkey");
}

static void
opt_o(void *c, const char *v)
{
	struct config *cfg = c;
	size_t n = strlen(cfg->fuseopts);

	snprintf(cfg->fuseopts + n, sizeof(cfg->fuseopts) - n, "%s%s",
	    n ? "," : "", v);
}

static void
opt_f(void *c, const char *v)
{
	((struct config *)c)->foreground = 1;
}

static void
opt_d(void *c, const char *v)
{
	((struct config *)c)->debug = 1;
	((struct config *)c)->foreground = 1;
}

static void
opt_help(void *c, const char *v)
{
	((struct config *)c)->help = 1;
}

static void
opt_loglevel(void *c, const char *v)
{
	if ((((struct config *)c)->loglevel = log_parselevel(v)) == -1)
		fatalx("invalid --log-level '%s'", v);
}

static const struct ipp_option options[] = {
	{ "profile", IPP_OPT_ARG, opt_profile, "profile name (default)" },
	{ "profile-dir", IPP_OPT_ARG, opt_profile_dir, "profile directory" },
	{ "cluster-id", IPP_OPT_ARG, opt_cluster_id, "cluster id" },
	{ "file", IPP_OPT_ARG, opt_file, "ipcontroller-client.json to use" },
	{ "sshserver", IPP_OPT_ARG, opt_sshserver,
	    "[user@]host[:port] to tunnel through (default: the file's ssh)" },
	{ "sshkey", IPP_OPT_ARG, opt_sshkey, "private key for the tunnel" },
	{ "f", IPP_OPT_FLAG, opt_f, "stay in the foreground" },
	{ "d", IPP_OPT_FLAG, opt_d, "FUSE debugging (implies -f)" },
	{ "o", IPP_OPT_ARG, opt_o, "mount options, comma separated" },
	{ "log-level", IPP_OPT_ARG, opt_loglevel, "debug, info, warn..." },
	{ "h", IPP_OPT_FLAG, opt_help, "this help" },
	{ "help", IPP_OPT_FLAG, opt_help, NULL },
	{ NULL, 0, NULL, NULL }
};

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* ------------------------------------------------------------ helpers */

/*
 * Big buffers.  A push of 100 MB to ns/x.raw collects it in a struct
 * buf, 1 MiB per write.  Memory fresh from malloc (mmap, at this size)
 * costs a page fault per 4 KiB touched: 25,000 per 100 MB, which on this
 * VM took longer than the copies.  So the last big buffer freed is kept
 * as a spare for the next big one, for SPARE_KEEP seconds.  A buffer
 * handed to libzmq (buf_give) is freed by libzmq's I/O thread, hence
 * the atomic exchanges: the spare is the one thing ippfs shares with
 * another thread.
 *
 * A big pull's value arrives in a frame libzmq's I/O thread allocated,
 * which ippfs reads from as it is (ns.c).  glibc would take that from
 * mmap afresh each time, and give it back at free, so every pull paid
 * the faults again.  malloc_warm() makes glibc keep big blocks in its
 * one heap instead, where the next frame of that size finds them warm;
 * malloc_cool() gives them back once big values stop coming for
 * SPARE_KEEP seconds (fs.trim_at), so the memory follows the work.
 */
#define BUF_BIG		(4 << 20)
#define SPARE_KEEP	10.0
#define HEAP_KEEP	((size_t)1 << 30)	/* free heap kept until trim */

static void
malloc_warm(void)
{
	/* one arena: libzmq's thread allocates where ippfs's does */
	if (mallopt(M_ARENA_MAX, 1) == 0 || mallopt(M_MMAP_MAX, 0) == 0 ||
	    mallopt(M_TRIM_THRESHOLD, (int)HEAP_KEEP) == 0)
		log_warnx("mallopt failed: big values will be fresh memory");
}

/* A big value came or went: trim the heap if none follows in a while. */
void
malloc_cool_later(void)
{
	fs.trim_at = ipp_monotonic() + SPARE_KEEP;
}

static void
malloc_cool(double now)
{
	if (fs.trim_at == 0 || now < fs.trim_at)
		return;
	fs.trim_at = 0;
	malloc_trim(0);
}

struct spare {
	void	*p;
	size_t	 cap;
	double	 since;
};

static void
spare_put(void *p, size_t cap)
{
	struct spare *s, *old;

	if ((s = malloc(sizeof(*s))) == NULL) {
		free(p);
		return;
	}
	s->p = p;
	s->cap = cap;
	s->since = ipp_monotonic();
	if ((old = __atomic_exchange_n(&fs.spare, s, __ATOMIC_ACQ_REL)) != NULL) {
		free(old->p);
		free(old);
	}
}

/* The spare if it holds at least need bytes (its size in *cap), or NULL. */
static void *
spare_take(size_t need, size_t *cap)
{
	struct spare *s;
	void *p;

	if ((s = __atomic_exchange_n(&fs.spare, NULL, __ATOMIC_ACQ_REL)) == NULL)
		return NULL;
	if (s->cap < need) {
		free(s->p);
		free(s);
		return NULL;
	}
	p = s->p;
	*cap = s->cap;
	free(s);
	return p;
}

/* Called by the loop: give an unused spare back to the system. */
void
spare_expire(double now)
{
	struct spare *s;

	if (__atomic_load_n(&fs.spare, __ATOMIC_ACQUIRE) == NULL ||
	    (s = __atomic_exchange_n(&fs.spare, NULL, __ATOMIC_ACQ_REL)) == NULL)
		return;
	/* not yet: put it back (and drop any newer one that came meanwhile) */
	if (now - s->since <= SPARE_KEEP &&
	    (s = __atomic_exchange_n(&fs.spare, s, __ATOMIC_ACQ_REL)) == NULL)
		return;
	free(s->p);
	free(s);
	malloc_cool_later();
}

static void
big_free(void *p, size_t cap)
{
	if (cap >= BUF_BIG)
		spare_put(p, cap);
	else
		free(p);
}

/* libzmq's free function for buf_give: cap travels as the hint. */
static void
give_free(void *data, void *hint)
{
	big_free(data, (size_t)(uintptr_t)hint);
}

/*
 * Move b's bytes into m without copying (b is left empty); libzmq frees
 * them when the last reference to m's content is closed.  Small ones
 * are simply copied.
 */
void
buf_give(struct buf *b, zmq_msg_t *m)
{
	if (b->len < 65536 || zmq_msg_init_data(m, b->p, b->len, give_free,
	    (void *)(uintptr_t)b->cap) == -1) {
		if (zmq_msg_init_size(m, b->len) == -1)
			fatalx("zmq_msg_init_size: %s", zmq_strerror(errno));
		if (b->len > 0)
			memcpy(zmq_msg_data(m), b->p, b->len);
		buf_free(b);
		return;
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

/* The reverse, by copy: m's bytes are appended to b and m is closed. */
void
buf_take(struct buf *b, zmq_msg_t *m)
{
	buf_add(b, zmq_msg_data(m), zmq_msg_size(m));
	zmq_msg_close(m);
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	size_t cap;
	void *q;

	if (b->len + n + 1 > b->cap) {
		cap = (b->len + n + 1) * 2;
		if (cap >= BUF_BIG && (q = spare_take(cap, &cap)) != NULL) {
			if (b->len > 0)
				memcpy(q, b->p, b->len);
			free(b->p);
			b->p = q;
			b->cap = cap;
		} else {
			b->cap = cap;
			b->p = xrealloc(b->p, b->cap, 1);
		}
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("vasprintf");
	buf_add(b, s, (size_t)n);
	free(s);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
buf_free(struct buf *b)
{
	big_free(b->p, b->cap);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Keep only the last `keep` bytes: engine output is retained, bounded. */
void
buf_trim_front(struct buf *b, size_t keep)
{
	if (b->len <= keep)
		return;
	memmove(b->p, b->p + b->len - keep, keep);
	b->len = keep;
	b->p[keep] = '\0';
}

void
event_add(const char *fmt, ...)
{
	char *s, *line;
	va_list ap;
	size_t i = fs.evseq % EVENTS_MAX;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	if (asprintf(&line, "%llu %s\n", (unsigned long long)fs.evseq,
	    s) == -1)
		fatal("asprintf");
	free(s);
	free(fs.events[i]);
	fs.events[i] = line;
	fs.evseq++;
}

/*
 * Record a failure: errno err plus text.  It goes to /errors and, when
 * fh is given, stays readable on that file descriptor.
 */
void
error_add(struct fh *fh, int err, const char *fmt, ...)
{
	char *s, *line, path[512], when[40];
	va_list ap;
	size_t i = fs.errseq % ERRORS_MAX;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	path[0] = '\0';
	if (fh != NULL)
		fh_path(fh, path, sizeof(path));
	ipp_iso_now(when, sizeof(when));
	if (asprintf(&line, "%s %s%s%s (%s)\n", when, path,
	    path[0] ? ": " : "", s, strerror(err)) == -1)
		fatal("asprintf");
	free(fs.errors[i]);
	fs.errors[i] = line;
	fs.errseq++;
	if (fh != NULL) {
		free(fh->errtxt);
		if (asprintf(&fh->errtxt, "%s\n", s) == -1)
			fatal("asprintf");
	}
	log_debug("%s", line);
	free(s);
}

/* ------------------------------------------------------------ parking */

static void
park_interrupt(fuse_req_t req, void *arg)
{
	struct park *p = arg;

	/*
	 * Called by libfuse with the request's lock held: replying here
	 * could free the request under that lock, so only mark it; the
	 * sweep at the end of this loop turn answers EINTR.
	 */
	p->interrupted = 1;
}

void
park(enum pkind kind, fuse_req_t req, struct fh *fh, size_t size, off_t off,
    const struct fuse_file_info *fi)
{
	struct park *p;

	if (fuse_req_interrupted(req)) {
		fuse_reply_err(req, EINTR);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->kind = kind;
	p->req = req;
	p->fh = fh;
	p->size = size;
	p->off = off;
	if (fi != NULL)
		p->fi = *fi;
	TAILQ_INSERT_TAIL(&fs.parked, p, q);
	fuse_req_interrupt_func(req, park_interrupt, p);
}

/* Try to answer a parked request: 1 when it was answered. */
static int
park_try(struct park *p)
{
	struct fh *fh = p->fh;
	struct buf out = { NULL, 0, 0 };

	if (p->interrupted) {
		fuse_reply_err(p->req, EINTR);
		/* nobody else holds these handles */
		if (p->kind == P_UNLINK || p->kind == P_OPENDIR)
			fh->released = 1;
		return 1;
	}
	/* an ns/ listing need not wait for a busy engine (ns.c) */
	if (fh->busy && (p->kind != P_OPENDIR || !ns_list_known(fh)))
		return 0;
	switch (p->kind) {
	case P_READ:
		if (file_read(fh, p->size, p->off, &out) == -1) {
			if (errno == EAGAIN && !(fh->flags & O_NONBLOCK))
				return 0;
			fuse_reply_err(p->req, errno);
			return 1;
		}
		fuse_reply_buf(p->req, out.p, out.len);
		buf_free(&out);
		return 1;
	case P_WRITE:
		if (fh->werr != 0)
			fuse_reply_err(p->req, fh->werr);
		else
			fuse_reply_write(p->req, p->size);
		return 1;
	case P_FLUSH:
	case P_UNLINK:
		fuse_reply_err(p->req, fh->werr);
		/* the temporary handle of unlink goes at the end of the sweep */
		if (p->kind == P_UNLINK)
			fh->released = 1;
		return 1;
	case P_OPENDIR:
		if (fh->rerr != 0) {
			fuse_reply_err(p->req, fh->rerr);
			fh->released = 1;
		} else if (fuse_reply_open(p->req, &p->fi) == -ENOENT)
			fh->released = 1;
		return 1;
	}
	return 1;
}

/* Retry every parked request and wake pollers whose file is readable. */
void
park_sweep(void)
{
	struct park *p, *np;
	struct fh *fh, *nfh;

	for (p = TAILQ_FIRST(&fs.parked); p != NULL; p = np) {
		np = TAILQ_NEXT(p, q);
		if (park_try(p)) {
			TAILQ_REMOVE(&fs.parked, p, q);
			free(p);
		}
	}
	for (fh = TAILQ_FIRST(&fs.open); fh != NULL; fh = nfh) {
		nfh = TAILQ_NEXT(fh, all);
		if (fh->released && !fh->busy) {
			fh_free(fh);
			continue;
		}
		if (fh->ph != NULL && file_ready(fh)) {
			fuse_lowlevel_notify_poll(fh->ph);
			fuse_pollhandle_destroy(fh->ph);
			fh->ph = NULL;
		}
	}
}

/* Bring back into fh->w the bytes a raw push handed to libzmq. */
void
fh_wreclaim(struct fh *fh)
{
	if (!fh->wgiven)
		return;
	fh->wgiven = 0;
	buf_take(&fh->w, &fh->wmsg);
}

void
fh_free(struct fh *fh)
{
	struct park *p;

	TAILQ_FOREACH(p, &fs.parked, q)
		if (p->fh == fh)
			fatalx("freeing a file handle with a parked request");
	if (fh->all.tqe_prev != NULL)
		TAILQ_REMOVE(&fs.open, fh, all);
	if (fh->type == Q_NSVAR)
		ns_name_drop(fh->name);
	if (fh->ph != NULL)
		fuse_pollhandle_destroy(fh->ph);
	buf_free(&fh->w);
	buf_free(&fh->r);
	if (fh->wgiven)
		zmq_msg_close(&fh->wmsg);
	if (fh->rheld) {
		zmq_msg_close(&fh->rmsg);
		malloc_cool_later();
	}
	vis_fh_free(fh);
	free(fh->errtxt);
	free(fh->dir);
	free(fh);
}

/* ------------------------------------------------------------ the loop */

static int
loop(void)
{
	struct pollfd pfd[1 + CLIENT_NSOCK];
	struct fuse_buf fbuf = { .mem = NULL };
	int i, n, res, rc = 0;

	pfd[0].fd = fuse_session_fd(fs.se);
	pfd[0].events = POLLIN;
	n = 1 + client_pollfds(pfd + 1);
	/* reads are only attempted when poll says so; never block in them */
	if (fcntl(pfd[0].fd, F_SETFL, fcntl(pfd[0].fd, F_GETFL) |
	    O_NONBLOCK) == -1)
		log_warn("cannot make the FUSE device non-blocking");
	while (!got_signal && !fuse_session_exited(fs.se)) {
		if (poll(pfd, (nfds_t)n, client_idle() ? 100 : 0) == -1) {
			if (errno == EINTR) {
				client_poll_failed();
				continue;
			}
			log_warn("poll");
			rc = -1;
			break;
		}
		/* after an unmount the device only reports an error */
		if (pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) {
			for (i = 0; i < 64; i++) {
				res = fuse_session_receive_buf(fs.se, &fbuf);
				if (res == -EINTR || res == -EAGAIN)
					break;
				if (res <= 0) {
					/* 0: unmounted (fusermount3 -u) */
					if (res < 0)
						log_warnx("reading the FUSE "
						    "device: %s",
						    strerror(-res));
					fuse_session_exit(fs.se);
					break;
				}
				fuse_session_process_buf(fs.se, &fbuf);
			}
		}
		client_recv();
		client_timers(ipp_monotonic());
		metrics_timers(ipp_monotonic());
		spare_expire(ipp_monotonic());
		malloc_cool(ipp_monotonic());
		park_sweep();
	}
	free(fbuf.mem);
	if (got_signal)
		log_info("signal %d: unmounting", (int)got_signal);
	return rc;
}

static void __attribute__((noreturn))
usage(int status)
{
	ipp_opts_usage(status ? stderr : stdout,
	    "usage: ippfs [--profile P | --profile-dir D | --cluster-id ID | "
	    "--file F] [--sshserver S] [--sshkey K] [-f] [-o opts] MOUNTPOINT", options, NULL,
	    "\nThe cluster's files: see ippfs(1).\n");
	exit(status);
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct ipp_profile prof;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct sigaction sa;
	char opts[1400], why[256];
	const char *mnt;
	int argi, n, rc = 1;

	memset(&cfg, 0, sizeof(cfg));
	cfg.loglevel = LOG_LVL_INFO;
	log_init("ippfs", LOG_LVL_INFO, NULL);
	malloc_warm();
	if (ipp_opts_parse(&cfg, options, NULL, argc, argv, &argi) == -1)
		usage(2);
	if (cfg.help)
		usage(0);
	if (argi >= argc)
		usage(2);
	mnt = argv[argi];
	/* options may also follow the mount point */
	if (argi + 1 < argc && ipp_opts_parse(&cfg, options, NULL,
	    argc - argi, argv + argi, &n) == -1)
		usage(2);
	log_setlevel(cfg.loglevel);

	if (cfg.file[0] != '\0')
		snprintf(fs.connfile, sizeof(fs.connfile), "%s", cfg.file);
	else {
		if (ipp_profile_init(&prof, cfg.profile_dir[0] ?
		    cfg.profile_dir : NULL, cfg.profile[0] ? cfg.profile :
		    "default", cfg.cluster_id, 0) == -1)
			fatal("cannot find the profile directory");
		ipp_profile_connfile(&prof, "client", fs.connfile,
		    sizeof(fs.connfile));
		ipp_profile_connfile(&prof, "engine", fs.enginefile,
		    sizeof(fs.enginefile));
	}
	if (ipp_conninfo_load(fs.connfile, &fs.ci, why, sizeof(why)) == -1)
		fatalx("cannot load '%s': %s", fs.connfile, why);
	if (fs.enginefile[0] == '\0') {
		char *slash;

		snprintf(fs.enginefile, sizeof(fs.enginefile), "%s",
		    fs.connfile);
		if ((slash = strstr(fs.enginefile, "-client.json")) != NULL)
			snprintf(slash, sizeof(fs.enginefile) -
			    (size_t)(slash - fs.enginefile), "-engine.json");
		else
			fs.enginefile[0] = '\0';
	}

	TAILQ_INIT(&fs.parked);
	TAILQ_INIT(&fs.open);
	fs.bymsg = ipp_map_new();
	fs.pending = ipp_map_new();
	fs.nameidx = ipp_map_new();
	fs.uid = getuid();
	fs.gid = getgid();
	fs.started = ipp_monotonic();
	fs.mounted = ipp_now();
	fs.req_timeout = REQ_TIMEOUT;

	/*
	 * default_permissions lets the kernel enforce our modes (0400 on
	 * the security files); without allow_other only the owner can use
	 * the mount at all.
	 */
	snprintf(opts, sizeof(opts), "fsname=ippfs,subtype=ippfs,"
	    "default_permissions%s%s", cfg.fuseopts[0] ? "," : "",
	    cfg.fuseopts);
	if (fuse_opt_add_arg(&args, "ippfs") == -1 ||
	    fuse_opt_add_arg(&args, "-o") == -1 ||
	    fuse_opt_add_arg(&args, opts) == -1 ||
	    (cfg.debug && fuse_opt_add_arg(&args, "-d") == -1))
		fatalx("out of memory");
	if ((fs.se = fuse_session_new(&args, &ippfs_ops, sizeof(ippfs_ops),
	    NULL)) == NULL) {
		log_warnx("cannot create the FUSE session (options '%s')",
		    opts);
		goto out_args;
	}
	if (fuse_session_mount(fs.se, mnt) == -1) {
		log_warnx("cannot mount on '%s'", mnt);
		goto out_session;
	}
	if (fuse_daemonize(cfg.foreground) == -1) {
		log_warnx("cannot go to the background");
		goto out_unmount;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll must return so the loop sees the flag */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (client_start(fs.connfile) == -1)
		goto out_unmount;
	log_info("mounted '%s' on '%s'", fs.connfile, mnt);
	rc = loop() == -1;
	client_stop();
out_unmount:
	fuse_session_unmount(fs.se);
out_session:
	fuse_session_destroy(fs.se);
out_args:
	fuse_opt_free_args(&args);
	return rc;
}
