/*
 * simengines.c - many simulated ipyparallel engines in one process, to
 * load a controller (hubd or ipcontroller) for scale and speed tests.
 *
 * Each simulated engine registers on the registration socket, echoes
 * heartbeat pings under its own uuid and, when it has a shell, answers
 * execute_request and apply_request like an ipengine whose code does
 * nothing: status ok, the metadata the schedulers read, parent = the
 * request header, routing frames echoed as received.  Everything runs in
 * one zmq_poll loop; bench/ scripts drive it, together with tools/loadgen.
 *
 * The controller knows an engine by the routing identity of its heart
 * DEALER and of its shell ROUTER, so those cannot be shared.  Two budgets
 * shape the rest.  A process may hold only RLIMIT_NOFILE descriptors
 * (20,000 hard on the benchmark machine), and a libzmq socket costs a
 * mailbox descriptor besides its connections.  So:
 *   - hearts are not libzmq sockets but plain TCP connections speaking
 *     the ZMTP 3.0 handshake (NULL mechanism) as a DEALER: one descriptor
 *     each, written to directly, watched through one epoll set;
 *   - registration uses a small pool of shared DEALERs; replies come back
 *     in request order on each (ipcontroller leaves parent_header empty
 *     on registration_reply, so order is the only key that always works);
 *   - pings arrive on one SUB and are copied to every heart;
 *   - only the first --shells engines get a shell ROUTER (4 descriptors
 *     each: mailbox, mux, task, broadcast); the rest are heart-only, which
 *     is enough for registration and heartbeat load;
 *   - hearts connect a few at a time (--connects), so as not to overflow
 *     the controller's listen backlog.
 * The epoll set (hearts and the shells' ZMQ_FD) is one item of zmq_poll,
 * so the poll array stays small however many engines there are.
 *
 * Registered means confirmed by the controller: a registration_notification
 * for the engine's uuid on the notification PUB (found in the client file
 * next to the engine file).  Without that file an engine counts once it
 * has its reply and the controller's half of the heart handshake.
 *
 * This file holds the options, set-up, the poll loop and the final
 * report; the hearts, shells and registration are in tools/sim/ (sim.h
 * lists them).
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipp.h"
#include "lib/common.h"
#include "sim/sim.h"

static void
usage(void)
{
	fprintf(stderr,
"usage: simengines [-n N] [--file ENGINE_JSON | --profile-dir DIR\n"
"           [--cluster-id ID]] [--client-file CLIENT_JSON] [--rate R]\n"
"           [--concurrency C] [--connects M] [--shells S]\n"
"           [--reg-sockets K] [--report[=SEC]] [--duration SEC]\n"
"           [--timeout SEC] [--verify] [-q]\n"
"\n"
"Simulates N engines against a controller.  --rate limits registrations\n"
"started per second (0: no limit); --concurrency (default 1000) bounds\n"
"registrations between request and heart; --connects (default 64) bounds\n"
"heart connections not yet through the handshake.  --shells: engines with\n"
"a shell ROUTER (default: as many as the descriptor limit allows); the\n"
"others only register and heartbeat.  --duration: seconds to keep running\n"
"once registration is over (0: until SIGINT/SIGTERM).  --timeout bounds\n"
"the registration phase (default 60).  --verify checks the signature of\n"
"every request.\n");
	exit(2);
}


/* ------------------------------------------------------------- set-up */

static void
raise_fd_limit(struct sim *s)
{
	struct rlimit rl;
	long avail, fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	avail = (long)rl.rlim_cur - FD_RESERVE - s->nreg * 2 - s->n;
	if (avail < 0)
		fatalx("%d engines need more than the %ld descriptors "
		    "RLIMIT_NOFILE allows", s->n, (long)rl.rlim_cur);
	fit = avail / 4;	/* shell: mailbox + mux, task, broadcast */
	if (s->nshells < 0)
		s->nshells = fit < s->n ? (int)fit : s->n;
	else if (s->nshells > fit) {
		fprintf(stderr, "simengines: only %ld shells fit in the "
		    "descriptor limit\n", fit);
		s->nshells = (int)fit;
	}
	if (s->nshells > s->n)
		s->nshells = s->n;
}

static void
resolve_heart(struct sim *s)
{
	struct addrinfo hints, *ai;
	char host[256], port[16];
	const char *p = s->ci.interface;
	int rc;

	if (strncmp(p, "tcp://", 6) != 0)
		fatalx("hearts need a tcp:// interface, not '%s'", p);
	snprintf(host, sizeof(host), "%s", p + 6);
	if (strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	snprintf(port, sizeof(port), "%d", s->ci.hb_pong);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
		fatalx("%s: %s", host, gai_strerror(rc));
	memcpy(&s->hbaddr, ai->ai_addr, ai->ai_addrlen);
	s->hbaddrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static void
setup(struct sim *s, const char *client_file)
{
	struct ipp_conninfo cc;
	char why[256];
	int i;

	if (ipp_session_init(&s->sess, s->ci.key, NULL) == -1)
		fatal("session");
	if ((s->zctx = zmq_ctx_new()) == NULL)
		fatalx("zmq_ctx_new");
	zmq_ctx_set(s->zctx, ZMQ_MAX_SOCKETS, s->nshells + s->nreg + 16);
	zmq_ctx_set(s->zctx, ZMQ_IO_THREADS, 1);
	if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	resolve_heart(s);
	s->ping = tool_socket_port(s->zctx, ZMQ_SUB, &s->ci, s->ci.hb_ping);
	if (client_file != NULL && ipp_conninfo_load(client_file, &cc, why,
	    sizeof(why)) == 0 && cc.notification > 0)
		s->notif = tool_socket_port(s->zctx, ZMQ_SUB, &s->ci,
		    cc.notification);
	else if (!s->quiet)
		fprintf(stderr, "simengines: no client file: registration is "
		    "not confirmed by notifications\n");
	for (i = 0; i < s->nreg; i++)
		s->reg[i] = tool_socket_port(s->zctx, ZMQ_DEALER, &s->ci,
		    s->ci.registration);
	s->e = xcalloc((size_t)s->n, sizeof(*s->e));
	s->npending = s->n;
	s->toconnect = xcalloc((size_t)s->n, sizeof(int));
	if ((s->by_uuid = ipp_map_new()) == NULL)
		fatalx("out of memory");
	for (i = 0; i < s->n; i++) {
		ipp_new_id(s->e[i].uuid, sizeof(s->e[i].uuid));
		s->e[i].hb.fd = -1;
		s->e[i].id = -1;
		if (ipp_map_put(s->by_uuid, s->e[i].uuid, &s->e[i]) == -1)
			fatalx("out of memory");
	}
	/* SUBs join late: give the subscriptions time to reach the PUBs */
	usleep(200000);
}

static void
print_report(struct sim *s, double now)
{
	printf("report t=%.1f asked=%d replied=%ld registered=%ld "
	    "handshaking=%d failed=%ld lost=%ld unregistered=%ld pings=%ld "
	    "requests=%ld\n", s->t_start ? now - s->t_start : 0.0,
	    s->next_new, s->nreplied, s->nregistered, s->handshaking,
	    s->nfailed, s->nlost, s->nunreg, s->pings, s->requests);
}

static void
run(struct sim *s)
{
	struct epoll_event evs[EPOLL_BATCH];
	zmq_pollitem_t items[3 + MAX_REGSOCKS];
	int nitems = 0, i, k, nev, timeout, regdone = 0;
	double now, wake;

	items[nitems++] = (zmq_pollitem_t){ s->ping, 0, ZMQ_POLLIN, 0 };
	items[nitems++] = (zmq_pollitem_t){ NULL, s->ep, ZMQ_POLLIN, 0 };
	if (s->notif != NULL)
		items[nitems++] = (zmq_pollitem_t){ s->notif, 0, ZMQ_POLLIN,
		    0 };
	for (k = 0; k < s->nreg; k++)
		items[nitems++] = (zmq_pollitem_t){ s->reg[k], 0, ZMQ_POLLIN,
		    0 };
	now = ipp_monotonic();
	s->next_report = now + s->report;
	start_registrations(s, now);
	while (!tool_quit) {
		now = ipp_monotonic();
		wake = now + 0.1;
		if (s->report > 0 && s->next_report < wake)
			wake = s->next_report;
		timeout = wake <= now ? 0 : (int)((wake - now) * 1000) + 1;
		if (zmq_poll(items, nitems, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		}
		if (items[0].revents & ZMQ_POLLIN)
			on_ping(s);
		if (items[1].revents & ZMQ_POLLIN) {
			nev = epoll_wait(s->ep, evs, EPOLL_BATCH, 0);
			for (i = 0; i < nev; i++) {
				struct sengine *e = &s->e[evs[i].data.u64 >> 1];

				if (evs[i].data.u64 & 1)
					shell_drain(s, e);
				else
					heart_event(s, e, evs[i].events);
			}
		}
		for (k = nitems - s->nreg; k < nitems; k++)
			if (items[k].revents & ZMQ_POLLIN)
				on_reg_reply(s, k - (nitems - s->nreg));
		if (s->notif != NULL && (items[2].revents & ZMQ_POLLIN))
			on_notification(s);
		now = ipp_monotonic();
		start_registrations(s, now);
		if (s->report > 0 && now >= s->next_report) {
			print_report(s, now);
			s->next_report = now + s->report;
		}
		if (!regdone) {
			if (s->npending == 0 ||
			    (s->t_start > 0 && now - s->t_start > s->timeout)) {
				regdone = 1;
				s->t_phase = now;
				printf("phase steady registered=%ld t=%.3f\n",
				    s->nregistered, now - s->t_start);
			}
		} else if (s->duration > 0 && now - s->t_phase >= s->duration)
			break;
	}
	if (!regdone)
		s->t_phase = ipp_monotonic();
}

static void
teardown(struct sim *s)
{
	int i;

	for (i = 0; i < s->n; i++) {
		heart_close(s, &s->e[i]);
		if (s->e[i].shell != NULL)
			zmq_close(s->e[i].shell);
	}
	for (i = 0; i < s->nreg; i++) {
		zmq_close(s->reg[i]);
		free(s->regq[i].v);
	}
	zmq_close(s->ping);
	if (s->notif != NULL)
		zmq_close(s->notif);
	zmq_ctx_term(s->zctx);
	close(s->ep);
	ipp_map_free(s->by_uuid);
	ipp_frames_release(&s->in);
	ipp_frames_release(&s->out);
	free(s->e);
	free(s->toconnect);
	ipp_session_release(&s->sess);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		TOOL_CONN_OPTS,
		{ "client-file", required_argument, NULL, 'C' },
		{ "rate", required_argument, NULL, 'r' },
		{ "concurrency", required_argument, NULL, 'j' },
		{ "connects", required_argument, NULL, 'J' },
		{ "shells", required_argument, NULL, 's' },
		{ "reg-sockets", required_argument, NULL, 'k' },
		{ "report", optional_argument, NULL, 'R' },
		{ "duration", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verify", no_argument, NULL, 'V' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sim *s = xcalloc(1, sizeof(*s));
	struct tool_conn conn = { "", NULL, NULL };
	char cfile[1200] = "", *file = conn.file, *p;
	double now, regtime;
	int ch;

	s->n = 1;
	s->nshells = -1;
	s->concurrency = 1000;
	s->maxconnect = 64;
	s->nreg = 4;
	s->timeout = 60;
	while ((ch = getopt_long(argc, argv, "n:hq", opts, NULL)) != -1) {
		if (tool_conn_opt(&conn, ch, optarg))
			continue;
		switch (ch) {
		case 'n':
			s->n = atoi(optarg);
			break;
		case 'C':
			snprintf(cfile, sizeof(cfile), "%s", optarg);
			break;
		case 'r':
			s->rate = atof(optarg);
			break;
		case 'j':
			s->concurrency = atoi(optarg);
			break;
		case 'J':
			s->maxconnect = atoi(optarg);
			break;
		case 's':
			s->nshells = atoi(optarg);
			break;
		case 'k':
			s->nreg = atoi(optarg);
			break;
		case 'R':
			s->report = optarg ? atof(optarg) : 1.0;
			break;
		case 'd':
			s->duration = atof(optarg);
			break;
		case 't':
			s->timeout = atof(optarg);
			break;
		case 'V':
			s->verify = 1;
			break;
		case 'q':
			s->quiet = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || s->n < 1 || s->concurrency < 1 ||
	    s->maxconnect < 1 ||
	    s->nreg < 1 || s->nreg > MAX_REGSOCKS)
		usage();
	if (file[0] == '\0') {
		tool_connfile(&conn, "engine", file, sizeof(conn.file));
		tool_connfile(&conn, "client", cfile, sizeof(cfile));
	} else if (cfile[0] == '\0' && (p = strstr(file, "-engine.json")) !=
	    NULL && strlen(p) == 12)
		snprintf(cfile, sizeof(cfile), "%.*s-client.json",
		    (int)(p - file), file);
	tool_conninfo_load(file, &s->ci);
	if (s->ci.hb_ping == 0 || s->ci.hb_pong == 0)
		fatalx("%s is not an engine connection file", file);
	tool_start("simengines");
	/* hearts are plain sockets: a dead controller must not kill us */
	signal(SIGPIPE, SIG_IGN);

	raise_fd_limit(s);
	setup(s, cfile[0] ? cfile : NULL);
	run(s);

	now = ipp_monotonic();
	regtime = s->t_done > 0 ? s->t_done - s->t_start : -1;
	printf("engines %d\n", s->n);
	printf("shells %d\n", s->nshells);
	printf("confirmed %d\n", s->notif != NULL);
	printf("replied %ld\n", s->nreplied);
	printf("registered_max %ld\n", s->peak);
	printf("registration_s %.3f\n", regtime);
	printf("failed %ld\n", s->nfailed);
	printf("lost %ld\n", s->nlost);
	printf("unregistered %ld\n", s->nunreg);
	printf("still_registered %ld\n", s->nregistered);
	printf("steady_s %.1f\n", now - s->t_phase);
	printf("pings %ld\n", s->pings);
	printf("pongs_dropped %ld\n", s->pongs_dropped);
	printf("requests %ld\n", s->requests);
	printf("replies %ld\n", s->replies);
	printf("bad %ld\n", s->bad);
	tool_print_cpu();
	if (regtime >= 0)
		printf("simengines: %d of %d engines registered in %.2f s; "
		    "%ld still registered after %.1f s\n", s->n, s->n,
		    regtime, s->nregistered, now - s->t_phase);
	else
		printf("simengines: %ld of %d engines registered (not all "
		    "within %.0f s); %ld still registered after %.1f s\n",
		    s->peak, s->n, s->timeout, s->nregistered,
		    now - s->t_phase);
	teardown(s);
	free(s);
	return 0;
}
