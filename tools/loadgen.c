/*
 * loadgen.c - a C client that loads a controller with no-op tasks and
 * measures what comes back: tasks per second and round-trip latency.
 *
 * It reads ipcontroller-client.json, connects a DEALER to the task port
 * (load-balanced, through the scheduler) or to the mux port (direct, one
 * engine after another), and keeps --window apply_requests in flight
 * until --count replies have arrived or --seconds have passed.  The
 * requests carry a tiny buffer and the metadata a LoadBalancedView sends;
 * engines simulated by tools/simengines answer them without running
 * anything, so what is measured is the controller and the wire.  With
 * --window 1 the latency is the undisturbed round trip.
 *
 * --execute CODE sends execute_requests running CODE instead (and no
 * buffers), which real engines (engined, ipengine) run: the capacity of
 * a controller and real engines with a C client, which bench/b-ippfs.sh
 * sets beside ippfs's tasks/batch.
 *
 * Requests are made from a text template and signed with libipp rather
 * than built through jansson: at 100,000 tasks a second the generator
 * shares two cores with the controller and the engines, and every
 * microsecond it spends is one the controller does not get.  Replies are
 * matched by the counter at the end of parent_header.msg_id.
 *
 * --floor measures the same traffic through no controller at all: a
 * zmq_proxy process (what a relay costs with no logic) in front of an
 * echoing process, i.e. the same four TCP hops and three processes as
 * client -> hub -> engine and back.  On a small machine that floor, set
 * by libzmq's I/O threads waking application threads, is most of the
 * round trip, and it tells how much of the rest is the controller's.
 *
 * Output is "key value" lines for the bench scripts.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipp.h"
#include "lib/common.h"

#define RING		(1 << 20)	/* send times of requests in flight */
#define MAX_TARGETS	4096
#define MAX_WATCH	64		/* --watch pids */

struct slot {
	unsigned long	 n;		/* counter of the request, 0 free */
	double		 t;		/* monotonic send time */
};

struct lg {
	/* options */
	int		 mux;		/* direct instead of load-balanced */
	int		 window;
	long		 count;
	double		 seconds;
	long		 warmup;
	int		 nbufs;
	size_t		 bufsize;
	int		 verify;
	double		 timeout;
	double		 settle;	/* s for the connection before the clock */
	int		 engines;	/* wait for this many first */
	int		 floor;		/* proxy + echo instead of a controller */
	char		*content;	/* --execute: the request's content */
	long		 slice;		/* --slice: report every this many */
	pid_t		 watch[MAX_WATCH];	/* --watch: their memory too */
	int		 nwatch;
	pid_t		 kids[2];
	/* controller */
	struct ipp_conninfo ci;
	struct ipp_session sess;
	void		*zctx;
	void		*sock;		/* DEALER to task or mux */
	char		*targets[MAX_TARGETS];	/* engine uuids, for mux */
	int		 ntargets;
	int		 nexttarget;
	char		 url[512];	/* where the requests go */
	unsigned char	*buf;		/* the payload of every request */
	/* bookkeeping */
	struct slot	*ring;
	unsigned long	 counter;
	long		 sent, done, inflight, errors, unmatched;
	float		*lat;		/* microseconds, after warm-up */
	size_t		 nlat, latcap;
	double		 t_measure;	/* start of measurement (after warm-up) */
	double		 t_last;	/* last reply */
	double		 t_slice;	/* start of the current slice */
	int		 nslice;
};

static void
usage(void)
{
	fprintf(stderr,
"usage: loadgen [--file CLIENT_JSON | --profile-dir DIR [--cluster-id ID]]\n"
"           [--queue task|mux] [--window W] [--count N | --seconds S]\n"
"           [--warmup N] [--engines N] [--nbufs K] [--bufsize B]\n"
"           [--execute CODE] [--slice N [--watch PID]...]\n"
"           [--timeout S] [--settle S] [--verify] [--floor]\n"
"\n"
"Submits no-op apply_requests with W in flight and prints throughput and\n"
"round-trip latency percentiles as 'key value' lines.  --engines waits\n"
"until the controller reports that many engines (and with --count 0 does\n"
"nothing else).  --timeout (default 10)\n"
"is how long to wait for any reply before giving up.  --settle (default\n"
"0.1) is how long the connection gets before the clock starts; with 0 the\n"
"first request goes as soon as it is connected.  --floor runs the\n"
"same traffic through a bare zmq_proxy and an echo process instead.\n"
"--slice prints a 'slice' line every N replies (warm-up included): its\n"
"rate and the VmRSS and VmHWM summed over the --watch processes.\n");
	exit(2);
}


/* ------------------------------------------------------------- floor */

/*
 * Start a child that binds a ROUTER on a free port and serves it: it
 * echoes (upstream == NULL) or proxies to upstream.  Its endpoint comes
 * back through a pipe.  The child makes its own zmq context: contexts do
 * not survive fork.
 */
static pid_t
floor_child(const char *upstream, char *ep, size_t eplen)
{
	struct ipp_frames fr;
	int p[2], zero = 0;
	size_t len;
	ssize_t r;
	pid_t pid;
	void *ctx, *front, *back;

	if (pipe(p) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		r = read(p[0], ep, eplen - 1);
		close(p[0]);
		if (r <= 0)
			fatalx("floor child did not start");
		ep[r] = '\0';
		return pid;
	}
	close(p[0]);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	ctx = zmq_ctx_new();
	front = zmq_socket(ctx, ZMQ_ROUTER);
	zmq_setsockopt(front, ZMQ_SNDHWM, &zero, sizeof(zero));
	zmq_setsockopt(front, ZMQ_RCVHWM, &zero, sizeof(zero));
	if (zmq_bind(front, "tcp://127.0.0.1:*") == -1)
		_exit(1);
	len = eplen;
	zmq_getsockopt(front, ZMQ_LAST_ENDPOINT, ep, &len);
	if (write(p[1], ep, strlen(ep)) == -1)
		_exit(1);
	close(p[1]);
	if (upstream != NULL) {
		back = tool_socket(ctx, ZMQ_DEALER, upstream);
		zmq_proxy(front, back, NULL);
		_exit(0);
	}
	ipp_frames_init(&fr);
	while (ipp_frames_recv(front, &fr, 0) > 0) {
		int d = ipp_frames_delim(&fr), i;

		/* a reply carries no request buffers back, as an engine's */
		for (i = d >= 0 ? d + 6 : fr.n; i < fr.n; i++)
			zmq_msg_close(&fr.f[i]);
		if (d >= 0 && fr.n > d + 6)
			fr.n = d + 6;
		ipp_frames_send(front, &fr, 0, 0);
	}
	_exit(0);
}

static void
floor_start(struct lg *g)
{
	char echo[512];

	g->kids[0] = floor_child(NULL, echo, sizeof(echo));
	g->kids[1] = floor_child(echo, g->url, sizeof(g->url));
}

/* utime + stime of a child, in clock ticks; -1 when unreadable */
static long
child_ticks(pid_t pid)
{
	char buf[1024];
	const char *p;
	unsigned long ut, st;

	/* from the state (field 3): utime is field 14, stime 15 */
	if ((p = ipp_proc_stat(pid, buf, sizeof(buf))) == NULL ||
	    sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/*
 * The proxy child relays each task's request and reply as a controller
 * would, with no logic: its CPU per task is the least any controller
 * spends on this machine for those two messages.
 */
static void
floor_stop(struct lg *g)
{
	long t = g->kids[1] > 0 ? child_ticks(g->kids[1]) : -1;
	int i;

	if (t >= 0 && g->done > 0)
		printf("floor_proxy_cpu_us_per_task %.1f\n", (double)t /
		    sysconf(_SC_CLK_TCK) / g->done * 1e6);
	for (i = 0; i < 2; i++)
		if (g->kids[i] > 0) {
			kill(g->kids[i], SIGTERM);
			waitpid(g->kids[i], NULL, 0);
		}
}

/*
 * Ask the hub which engines it has (connection_request) until there are
 * enough; keep their uuids for direct requests.
 */
static void
wait_engines(struct lg *g)
{
	struct ipp_frames out;
	struct ipp_msg m;
	zmq_pollitem_t it;
	json_t *engs, *v;
	const char *k;
	double end = ipp_monotonic() + g->timeout, now;
	char why[256];
	void *reg = tool_socket_port(g->zctx, ZMQ_DEALER, &g->ci,
	    g->ci.registration);
	int n = -1;

	ipp_frames_init(&out);
	ipp_msg_init(&m);
	while (!tool_quit && (now = ipp_monotonic()) < end) {
		if (ipp_msg_build(&g->sess, &out, NULL, 0,
		    "connection_request", NULL, NULL, NULL, NULL) == -1 ||
		    ipp_frames_send(reg, &out, 0, 0) == -1)
			fatalx("cannot send connection_request");
		it = (zmq_pollitem_t){ reg, 0, ZMQ_POLLIN, 0 };
		if (zmq_poll(&it, 1, (long)((end - now) * 1000) + 1) <= 0)
			break;
		if (ipp_msg_recv(&g->sess, reg, &m, 0, why, sizeof(why)) ==
		    -1)
			fatalx("connection_reply: %s", why);
		engs = json_object_get(m.content, "engines");
		n = (int)json_object_size(engs);
		if (n >= g->engines) {
			g->ntargets = 0;
			json_object_foreach(engs, k, v)
				if (json_is_string(v) &&
				    g->ntargets < MAX_TARGETS)
					g->targets[g->ntargets++] =
					    xstrdup(json_string_value(v));
			break;
		}
		usleep(20000);	/* fine enough to time a cluster's start */
	}
	ipp_msg_release(&m);
	ipp_frames_release(&out);
	zmq_close(reg);
	if (n < g->engines)
		fatalx("controller has %d engines after %.0f s, want %d", n,
		    g->timeout, g->engines);
	if (g->mux && g->ntargets == 0)
		fatalx("no engines to send direct requests to");
}

static void
send_one(struct lg *g)
{
	static const char md_task[] = "{\"after\":[],\"follow\":[],"
	    "\"timeout\":null,\"targets\":[],\"retries\":0}";
	char hdr[512], date[40], sig[IPP_SIG_HEXLEN + 1];
	const void *parts[4];
	size_t lens[4];
	struct ipp_frames out;
	struct slot *sl;
	const char *target = NULL;
	int i;

	g->counter++;
	ipp_iso_now(date, sizeof(date));
	lens[0] = (size_t)snprintf(hdr, sizeof(hdr), "{\"msg_id\":\"%s_%ld_"
	    "%lu\",\"msg_type\":\"%s\",\"username\":\"%s\","
	    "\"session\":\"%s\",\"date\":\"%s\",\"version\":\"%s\"}",
	    g->sess.session, g->sess.pid, g->counter, g->content != NULL ?
	    "execute_request" : "apply_request", g->sess.username,
	    g->sess.session, date, IPP_PROTOCOL_VERSION);
	parts[0] = hdr;
	parts[1] = "{}";
	lens[1] = 2;
	parts[2] = g->mux ? "{}" : md_task;
	lens[2] = g->mux ? 2 : sizeof(md_task) - 1;
	parts[3] = g->content != NULL ? g->content : "{}";
	lens[3] = strlen(parts[3]);
	ipp_sign(&g->sess, parts, lens, sig);

	ipp_frames_init(&out);
	if (g->mux) {
		target = g->targets[g->nexttarget++ % g->ntargets];
		if (ipp_frames_add(&out, target, strlen(target)) == -1)
			fatalx("out of memory");
	}
	if (ipp_frames_add(&out, IPP_DELIM, IPP_DELIM_LEN) == -1 ||
	    ipp_frames_add(&out, sig, strlen(sig)) == -1)
		fatalx("out of memory");
	for (i = 0; i < 4; i++)
		if (ipp_frames_add(&out, parts[i], lens[i]) == -1)
			fatalx("out of memory");
	for (i = 0; i < g->nbufs; i++)
		if (ipp_frames_add(&out, g->buf, g->bufsize) == -1)
			fatalx("out of memory");
	sl = &g->ring[g->counter % RING];
	sl->n = g->counter;
	sl->t = ipp_monotonic();
	if (ipp_frames_send(g->sock, &out, 0, 0) == -1)
		fatalx("send: %s", zmq_strerror(errno));
	ipp_frames_release(&out);
	g->sent++;
	g->inflight++;
}

static void
record(struct lg *g, double us)
{
	if (g->nlat == g->latcap) {
		g->latcap = g->latcap ? g->latcap * 2 : 65536;
		g->lat = xrealloc(g->lat, g->latcap, sizeof(float));
	}
	g->lat[g->nlat++] = (float)us;
}

/* A "Vm...:" line of /proc/PID/status in KiB; 0 when unreadable. */
static long
status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/*
 * --slice: one line per N replies, flushed at once, so that a bench
 * script sees where a long run slows down and what the watched processes
 * held at that moment (read here, between two replies, rather than by a
 * poller whose samples would fall anywhere in a slice).
 */
static void
slice_report(struct lg *g, double now)
{
	long rss = 0, hwm = 0;
	int i;

	for (i = 0; i < g->nwatch; i++) {
		rss += status_kb(g->watch[i], "VmRSS");
		hwm += status_kb(g->watch[i], "VmHWM");
	}
	g->nslice++;
	printf("slice %d done %ld seconds %.3f tasks_per_s %.0f rss_kb %ld "
	    "hwm_kb %ld\n", g->nslice, g->done, now - g->t_slice,
	    now > g->t_slice ? (double)g->slice / (now - g->t_slice) : 0.0,
	    rss, hwm);
	fflush(stdout);
	g->t_slice = now;
}

static void
on_reply(struct lg *g, struct ipp_frames *fr)
{
	char pid[256], st[32];
	const void *parts[4];
	size_t lens[4];
	unsigned long n;
	struct slot *sl;
	const char *u;
	double now = ipp_monotonic();
	int d, i, id;

	/* the floor's echo is the request: its own header names it */
	if ((d = ipp_frames_delim(fr)) != -1)
		id = g->floor ? d + 2 : d + 3;
	if (d == -1 || ipp_json_peek(ipp_frame_data(fr, id),
	    ipp_frame_len(fr, id), "msg_id", pid, sizeof(pid)) == -1 ||
	    (u = strrchr(pid, '_')) == NULL) {
		g->unmatched++;
		return;
	}
	n = strtoul(u + 1, NULL, 10);
	sl = &g->ring[n % RING];
	if (n == 0 || sl->n != n) {
		g->unmatched++;
		return;
	}
	if (g->verify) {
		for (i = 0; i < 4; i++) {
			parts[i] = ipp_frame_data(fr, d + 2 + i);
			lens[i] = ipp_frame_len(fr, d + 2 + i);
		}
		if (ipp_session_verify(&g->sess, ipp_frame_data(fr, d + 1),
		    ipp_frame_len(fr, d + 1), parts, lens) == -1)
			g->errors++;
	}
	if (!g->floor && (ipp_json_peek(ipp_frame_data(fr, d + 5),
	    ipp_frame_len(fr, d + 5), "status", st, sizeof(st)) == -1 ||
	    strcmp(st, "ok") != 0)) {
		if (g->errors++ < 3)
			fprintf(stderr, "loadgen: reply: %.*s\n",
			    (int)ipp_frame_len(fr, d + 5),
			    (const char *)ipp_frame_data(fr, d + 5));
	}
	sl->n = 0;
	g->inflight--;
	g->done++;
	g->t_last = now;
	if (g->done == g->warmup)
		g->t_measure = now;
	else if (g->done > g->warmup)
		record(g, (now - sl->t) * 1e6);
	if (g->slice > 0 && g->done % g->slice == 0)
		slice_report(g, now);
}

static int
cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static double
pct(struct lg *g, double p)
{
	size_t i;

	if (g->nlat == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(g->nlat - 1) + 0.5);
	return g->lat[i];
}

static void
run(struct lg *g)
{
	struct ipp_frames fr;
	zmq_pollitem_t it = { g->sock, 0, ZMQ_POLLIN, 0 };
	long total = g->count > 0 ? g->count + g->warmup : LONG_MAX;
	double t0 = ipp_monotonic(), now, end, last = t0;
	int stop = 0;

	g->t_measure = g->t_slice = t0;
	end = g->seconds > 0 ? t0 + g->seconds : 1e300;
	ipp_frames_init(&fr);
	while (!tool_quit) {
		now = ipp_monotonic();
		if (now >= end && g->done > g->warmup)
			stop = 1;
		while (!stop && g->inflight < g->window && g->sent < total)
			send_one(g);
		if (g->inflight == 0 && (stop || g->sent >= total))
			break;
		if (zmq_poll(&it, 1, 100) == -1) {
			if (errno == EINTR)
				continue;
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		}
		if (it.revents & ZMQ_POLLIN) {
			while (ipp_frames_recv(g->sock, &fr, ZMQ_DONTWAIT) > 0)
				on_reply(g, &fr);
			last = ipp_monotonic();
		} else if (ipp_monotonic() - last > g->timeout) {
			fprintf(stderr, "loadgen: no reply for %.0f s; %ld "
			    "in flight\n", g->timeout, g->inflight);
			break;
		}
	}
	ipp_frames_release(&fr);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		TOOL_CONN_OPTS,
		{ "queue", required_argument, NULL, 'Q' },
		{ "window", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "engines", required_argument, NULL, 'e' },
		{ "nbufs", required_argument, NULL, 'b' },
		{ "bufsize", required_argument, NULL, 'B' },
		{ "timeout", required_argument, NULL, 't' },
		{ "settle", required_argument, NULL, 'S' },
		{ "verify", no_argument, NULL, 'V' },
		{ "floor", no_argument, NULL, 'F' },
		{ "execute", required_argument, NULL, 'x' },
		{ "slice", required_argument, NULL, 'L' },
		{ "watch", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct lg *g = xcalloc(1, sizeof(*g));
	struct tool_conn conn = { "", NULL, NULL };
	json_t *jc;
	double secs;
	long measured;
	int ch, one = 1, rc;

	g->window = 1;
	g->nbufs = 1;
	g->bufsize = 4;
	g->timeout = 10;
	g->settle = 0.1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (tool_conn_opt(&conn, ch, optarg))
			continue;
		switch (ch) {
		case 'Q':
			if (strcmp(optarg, "mux") == 0)
				g->mux = 1;
			else if (strcmp(optarg, "task") != 0)
				usage();
			break;
		case 'w':
			g->window = atoi(optarg);
			break;
		case 'n':
			g->count = atol(optarg);
			break;
		case 's':
			g->seconds = atof(optarg);
			break;
		case 'W':
			g->warmup = atol(optarg);
			break;
		case 'e':
			g->engines = atoi(optarg);
			break;
		case 'b':
			g->nbufs = atoi(optarg);
			break;
		case 'B':
			g->bufsize = (size_t)atol(optarg);
			break;
		case 't':
			g->timeout = atof(optarg);
			break;
		case 'S':
			g->settle = atof(optarg);
			break;
		case 'V':
			g->verify = 1;
			break;
		case 'F':
			g->floor = 1;
			break;
		case 'L':
			g->slice = atol(optarg);
			break;
		case 'P':
			if (g->nwatch == MAX_WATCH)
				usage();
			g->watch[g->nwatch++] = (pid_t)atol(optarg);
			break;
		case 'x':
			/* what ippfs sends for tasks/new and tasks/batch */
			if ((jc = json_pack("{s:s,s:b,s:b,s:{},s:b,s:b}",
			    "code", optarg, "silent", 0, "store_history", 1,
			    "user_expressions", "allow_stdin", 0,
			    "stop_on_error", 0)) == NULL)
				fatalx("--execute: not UTF-8");
			g->content = json_dumps(jc, JSON_COMPACT);
			json_decref(jc);
			g->nbufs = 0;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || g->window < 1 || g->window > RING / 2 ||
	    g->nbufs < 0 || g->warmup < 0 || g->count < 0 || g->slice < 0 ||
	    (g->count == 0 && g->seconds <= 0 && g->engines <= 0))
		usage();
	if (g->floor) {
		snprintf(g->ci.key, sizeof(g->ci.key), "floor");
		g->mux = 0;
	} else {
		tool_connfile(&conn, "client", conn.file, sizeof(conn.file));
		tool_conninfo_load(conn.file, &g->ci);
	}
	tool_start("loadgen");

	if (ipp_session_init(&g->sess, g->ci.key, NULL) == -1)
		fatal("session");
	g->buf = xcalloc(1, g->bufsize + 1);
	if (g->bufsize >= 4)
		memcpy(g->buf, "\x80\x04N.", 4);	/* pickled None */
	g->ring = xcalloc(RING, sizeof(*g->ring));
	if (g->floor)
		floor_start(g);		/* before our context: fork */
	if ((g->zctx = zmq_ctx_new()) == NULL)
		fatalx("zmq_ctx_new");
	if (!g->floor && (g->engines > 0 || g->mux)) {
		if (g->engines < 1)
			g->engines = 1;
		wait_engines(g);
	}
	if (g->count == 0 && g->seconds <= 0) {	/* --count 0: only wait */
		printf("engines %d\n", g->ntargets);
		zmq_ctx_term(g->zctx);
		return 0;
	}
	if (!g->floor)
		ipp_conninfo_url(&g->ci, g->mux ? g->ci.mux : g->ci.task,
		    g->url, sizeof(g->url));
	g->sock = tool_socket(g->zctx, ZMQ_DEALER, g->url);
	zmq_setsockopt(g->sock, ZMQ_IMMEDIATE, &one, sizeof(one));
	/*
	 * Let the connection come up before the clock starts.  With no
	 * settling the first send waits for it (ZMQ_IMMEDIATE), which is
	 * what a "time to first task" measurement wants to include.
	 */
	if (g->settle > 0)
		usleep((useconds_t)(g->settle * 1e6));

	run(g);

	floor_stop(g);
	secs = g->t_last - g->t_measure;
	measured = g->done - g->warmup;
	if (measured < 0)
		measured = 0;
	qsort(g->lat, g->nlat, sizeof(float), cmp_float);
	printf("queue %s\n", g->floor ? "floor" : g->mux ? "mux" : "task");
	printf("window %d\n", g->window);
	printf("tasks %ld\n", measured);
	printf("errors %ld\n", g->errors);
	printf("unmatched %ld\n", g->unmatched);
	printf("lost %ld\n", g->inflight);
	printf("seconds %.3f\n", secs);
	printf("tasks_per_s %.0f\n", secs > 0 ? (double)measured / secs : 0.0);
	printf("lat_p50_us %.1f\n", pct(g, 50));
	printf("lat_p90_us %.1f\n", pct(g, 90));
	printf("lat_p99_us %.1f\n", pct(g, 99));
	printf("lat_max_us %.1f\n", g->nlat ? g->lat[g->nlat - 1] : 0.0);
	tool_print_cpu();
	rc = g->inflight == 0 && !tool_quit ? 0 : 1;
	zmq_close(g->sock);
	zmq_ctx_term(g->zctx);
	while (g->ntargets > 0)
		free(g->targets[--g->ntargets]);
	free(g->lat);
	free(g->ring);
	free(g->buf);
	free(g->content);
	ipp_session_release(&g->sess);
	free(g);
	return rc;
}
