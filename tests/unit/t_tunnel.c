/*
 * t_tunnel.c - unit tests of libipp's ssh tunnels (tunnel.c): the ssh
 * command line, and the process's life with a stand-in "ssh" first on
 * PATH (a Python script that listens on the -L ports, or fails, or never
 * listens, as $FAKE_SSH says): open, failure, time-out, re-open after
 * it is killed, close, and nothing left behind.  The real ssh, to a real
 * sshd, is tests/t3160 and t3161.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipp.h"
#include "tap.h"

static const char fake_ssh[] =
    "#!/usr/bin/python3\n"
    "import os, socket, sys, time\n"
    "mode = os.environ.get('FAKE_SSH', 'listen')\n"
    "if mode == 'fail':\n"
    "    sys.exit(255)\n"
    "a, socks = sys.argv[1:], []\n"
    "for i, x in enumerate(a):\n"
    "    if x == '-L' and mode == 'listen':\n"
    "        s = socket.socket()\n"
    "        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "        s.bind(('127.0.0.1', int(a[i + 1].split(':')[1])))\n"
    "        s.listen()\n"
    "        socks.append(s)\n"
    "time.sleep(60)\n";

static int
argv_has(char **argv, int argc, const char *a, const char *b)
{
	int i;

	for (i = 0; i + (b != NULL) < argc; i++)
		if (strcmp(argv[i], a) == 0 && (b == NULL ||
		    strcmp(argv[i + 1], b) == 0))
			return 1;
	return 0;
}

static void
test_args(void)
{
	struct ipp_tunnel t;
	char store[2048], *argv[64], want[64];
	int argc;

	ipp_tunnel_init(&t);
	snprintf(t.server, sizeof(t.server), "me@gate:2222");
	snprintf(t.keyfile, sizeof(t.keyfile), "/k/id");
	snprintf(t.rhost, sizeof(t.rhost), "10.1.2.3");
	t.n = 2;
	t.rport[0] = 5000, t.lport[0] = 41000;
	t.rport[1] = 5001, t.lport[1] = 41001;
	argc = ipp_tunnel_args(&t, store, sizeof(store), argv, 64);
	ok(argc > 0 && argv[argc] == NULL, "argv built, NULL-terminated");
	is_str(argv[0], "ssh", "argv[0]");
	ok(argv_has(argv, argc, "-N", NULL), "-N: forwards only");
	ok(argv_has(argv, argc, "-oBatchMode=yes", NULL) &&
	    argv_has(argv, argc, "-oExitOnForwardFailure=yes", NULL),
	    "BatchMode and ExitOnForwardFailure");
	ok(argv_has(argv, argc, "-p", "2222"), ":2222 is -p 2222");
	ok(argv_has(argv, argc, "-i", "/k/id"), "the key is -i");
	ok(argv_has(argv, argc, "-L", "127.0.0.1:41000:10.1.2.3:5000") &&
	    argv_has(argv, argc, "-L", "127.0.0.1:41001:10.1.2.3:5001"),
	    "one -L per port");
	is_str(argv[argc - 1], "me@gate", "the server comes last, no port");

	snprintf(t.server, sizeof(t.server), "gate");
	t.keyfile[0] = '\0';
	snprintf(t.rhost, sizeof(t.rhost), "::1");
	argc = ipp_tunnel_args(&t, store, sizeof(store), argv, 64);
	ok(!argv_has(argv, argc, "-p", NULL) && !argv_has(argv, argc, "-i",
	    NULL), "no port, no key: neither -p nor -i");
	snprintf(want, sizeof(want), "127.0.0.1:41000:[::1]:5000");
	ok(argv_has(argv, argc, "-L", want), "an IPv6 address in brackets");

	snprintf(t.server, sizeof(t.server), "-oProxyCommand=sh");
	errno = 0;
	ok(ipp_tunnel_args(&t, store, sizeof(store), argv, 64) == -1 &&
	    errno == EINVAL, "a server that reads as an option: EINVAL");
	snprintf(t.server, sizeof(t.server), "gate");
	ok(ipp_tunnel_args(&t, store, 40, argv, 64) == -1 && errno == E2BIG,
	    "too small a store: E2BIG");
}

static void
conninfo(struct ipp_conninfo *ci, const char *iface)
{
	memset(ci, 0, sizeof(*ci));
	snprintf(ci->interface, sizeof(ci->interface), "%s", iface);
	ci->registration = 5000;
	ci->mux = 5001;
	ci->task = 5002;
	ci->control = 5003;
	ci->iopub = 5004;
	ci->hb_ping = 5005;
	ci->hb_pong = 5006;
	ci->broadcast[0] = 5007;
	ci->broadcast[1] = 5001;	/* a repeat is forwarded once */
	ci->nbroadcast = 2;
}

static int
no_children(void)
{
	return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

static void
test_process(void)
{
	struct ipp_tunnel t;
	struct ipp_conninfo ci;
	pid_t first;
	double end;
	int rc = 0;

	conninfo(&ci, "ipc:///tmp/x");
	errno = 0;
	ok(ipp_tunnel_open(&t, "gate", NULL, &ci, 5) == -1 &&
	    errno == EINVAL, "ipc:// cannot be tunnelled: EINVAL");

	setenv("FAKE_SSH", "fail", 1);
	conninfo(&ci, "tcp://*");
	snprintf(ci.location, sizeof(ci.location), "ctl.example");
	errno = 0;
	ok(ipp_tunnel_open(&t, "gate", NULL, &ci, 5) == -1 &&
	    errno == ECONNREFUSED, "ssh exits at once: ECONNREFUSED");
	is_str(t.rhost, "ctl.example", "'*' is reached at the location");
	is_int(t.n, 8, "8 distinct ports");
	ok(t.pid == 0 && no_children(), "no process left");
	is_str(ci.interface, "tcp://*", "ci untouched on failure");

	setenv("FAKE_SSH", "hang", 1);
	conninfo(&ci, "tcp://10.9.9.9");
	errno = 0;
	ok(ipp_tunnel_open(&t, NULL, "/k", &ci, 0.5) == -1 &&
	    errno == ETIMEDOUT, "forwards never listen: ETIMEDOUT");
	is_str(t.server, "10.9.9.9", "a key alone: ssh to the controller");
	ok(no_children(), "the timed-out ssh was stopped and reaped");

	setenv("FAKE_SSH", "listen", 1);
	conninfo(&ci, "tcp://127.0.0.1");
	ok(ipp_tunnel_open(&t, "gate", NULL, &ci, 10) == 0, "opened");
	is_str(ci.interface, "tcp://127.0.0.1", "ci points at the tunnel");
	ok(ci.registration == t.lport[0] && ci.registration != 5000 &&
	    ci.broadcast[1] == ci.mux, "ci's ports are the local ends");
	is_int(ipp_tunnel_check(&t, ipp_monotonic()), 0,
	    "check: nothing to do while ssh runs");
	first = t.pid;
	kill(first, SIGKILL);
	end = ipp_monotonic() + 5;
	while (ipp_monotonic() < end &&
	    (rc = ipp_tunnel_check(&t, ipp_monotonic())) == 0)
		usleep(20000);
	ok(rc == 1 && t.pid > 0 && t.pid != first,
	    "a killed ssh is started again");
	ok(t.next_try == 0 && t.retry == 2, "the next delay has doubled");
	ipp_tunnel_close(&t);
	ok(t.pid == 0 && t.n == 0 && no_children(), "closed: nothing left");
	is_int(ipp_tunnel_check(&t, ipp_monotonic()), 0,
	    "check after close: no tunnel, nothing to do");
}

int
main(void)
{
	char dir[] = "/tmp/t_tunnel.XXXXXX", path[128], env[4096];
	const char *old = getenv("PATH");
	char host[256];
	FILE *f;

	log_init("t_tunnel", LOG_LVL_CRITICAL, NULL);
	test_args();
	if (mkdtemp(dir) == NULL || snprintf(path, sizeof(path), "%s/ssh",
	    dir) < 0 || (f = fopen(path, "w")) == NULL) {
		diag("cannot make the stand-in ssh");
		return 1;
	}
	fputs(fake_ssh, f);
	fclose(f);
	chmod(path, 0755);
	snprintf(env, sizeof(env), "%s:%s", dir, old ? old : "/usr/bin");
	setenv("PATH", env, 1);
	test_process();
	unlink(path);
	rmdir(dir);

	ok(ipp_host_is_local("127.0.0.1"), "127.0.0.1 is local");
	ok(!ipp_host_is_local("192.0.2.1"), "TEST-NET-1 is not");
	ok(!ipp_host_is_local(""), "no location: cannot tell");
	if (gethostname(host, sizeof(host)) == 0)
		ok(ipp_host_is_local(host), "our host name is local");
	return tap_done();
}
