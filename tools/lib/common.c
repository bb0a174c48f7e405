/*
 * common.c - the set-up loadgen and simengines share (see common.h).
 * Both are benchmark drivers rather than daemons: a bad option, an
 * unreadable connection file or a socket that cannot be made ends the
 * run with a message (fatal/fatalx), since there is nothing to measure
 * without them.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "common.h"

volatile sig_atomic_t tool_quit;

static void
on_signal(int sig)
{
	tool_quit = 1;
}

/* 1 when ch is one of TOOL_CONN_OPTS (and is now recorded), else 0. */
int
tool_conn_opt(struct tool_conn *c, int ch, const char *arg)
{
	switch (ch) {
	case 'f':
		snprintf(c->file, sizeof(c->file), "%s", arg);
		return 1;
	case 'p':
		c->profile_dir = arg;
		return 1;
	case 'c':
		c->cluster_id = arg;
		return 1;
	}
	return 0;
}

/*
 * Fill an empty file with the profile's connection file of flavour
 * which.  The profile is only looked up, never created: a tool that
 * finds no controller there should say so, not leave an empty profile.
 */
void
tool_connfile(const struct tool_conn *c, const char *which, char *file,
    size_t len)
{
	struct ipp_profile prof;

	if (file[0] != '\0')
		return;
	if (ipp_profile_init(&prof, c->profile_dir, NULL, c->cluster_id,
	    0) == -1)
		fatal("profile");
	ipp_profile_connfile(&prof, which, file, len);
}

void
tool_conninfo_load(const char *file, struct ipp_conninfo *ci)
{
	char why[256];

	if (ipp_conninfo_load(file, ci, why, sizeof(why)) == -1)
		fatalx("%s: %s", file, why);
}

/*
 * Logging under name, stdout line-buffered so the bench scripts see each
 * "key value" line as it is printed, and SIGINT/SIGTERM turned into
 * tool_quit, so a stopped run still prints what it measured.
 */
void
tool_start(const char *name)
{
	struct sigaction sa;

	log_init(name, LOG_LVL_INFO, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/*
 * A socket connected to url, with no high-water marks (a load generator
 * must not drop or block on its own queue limits: that would be measured
 * as the controller's) and no linger, so exit is immediate.  A SUB is
 * subscribed to everything.
 */
void *
tool_socket(void *zctx, int type, const char *url)
{
	void *z;
	int zero = 0;

	if ((z = zmq_socket(zctx, type)) == NULL)
		fatalx("zmq_socket: %s", zmq_strerror(errno));
	if (type != ZMQ_SUB)
		zmq_setsockopt(z, ZMQ_SNDHWM, &zero, sizeof(zero));
	zmq_setsockopt(z, ZMQ_RCVHWM, &zero, sizeof(zero));
	zmq_setsockopt(z, ZMQ_LINGER, &zero, sizeof(zero));
	if (type == ZMQ_SUB)
		zmq_setsockopt(z, ZMQ_SUBSCRIBE, "", 0);
	if (zmq_connect(z, url) == -1)
		fatalx("connect %s: %s", url, zmq_strerror(errno));
	return z;
}

/* The same, to one of the controller's ports. */
void *
tool_socket_port(void *zctx, int type, const struct ipp_conninfo *ci,
    int port)
{
	char url[512];

	ipp_conninfo_url(ci, port, url, sizeof(url));
	return tool_socket(zctx, type, url);
}

/* Our own CPU time, so a bench can tell whether we were the limit. */
void
tool_print_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("cpu_s %.3f\n", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}
