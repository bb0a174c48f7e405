/*
 * tunnel.c - reaching a controller through an ssh server, as
 * ipyparallel's engines and clients do with the "ssh" key of the
 * connection files (IPEngine.sshserver, Client(sshserver=...)).
 *
 * One OpenSSH client process per tunnel, a child of the program, with
 * one -L forward per controller port: 127.0.0.1:LOCAL to the
 * controller's interface:PORT as the ssh server sees it.  The system's
 * ssh is used as it is (the user's ~/.ssh/config, keys, agent and
 * known_hosts); BatchMode because a daemon has nobody to ask for a
 * password, ExitOnForwardFailure so that a forward that cannot be set
 * up is a dead process we notice rather than a silent hole, and
 * ServerAlive so that a dead network ends the process too.  Once the
 * forwards listen, the connection info is rewritten to point at them,
 * so the rest of the program connects to tcp://127.0.0.1:LOCAL without
 * knowing.  The local ports are chosen free and let go for ssh to
 * take, so another program may take one first (another engine choosing
 * at the same moment gets ports this one just let go about once in a
 * hundred starts): a port seen held by another process while the
 * tunnel opens makes it choose others, and the forwards count as up
 * only when the listeners are this ssh's own, not someone else's.
 *
 * ssh is spawned without a shell, in a session of its own (a Ctrl-C
 * meant for the program does not cut its tunnel), and dies with the
 * thread that spawned it (PR_SET_PDEATHSIG), so a killed program leaves
 * no tunnel behind; ipp_tunnel_close ends it by its PID.  When it dies
 * (the ssh server restarted, the network went away),
 * ipp_tunnel_check starts it again on the same local ports, with a
 * growing delay, so the program's ZeroMQ sockets, which reconnect by
 * themselves, find the controller again without being rebuilt.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipp.h"

#define RETRY_MIN	1.0	/* seconds before the first re-open */
#define RETRY_MAX	30.0
#define STABLE		30.0	/* up this long: the next failure is a first */
#define PICK_TRIES	5	/* local ports chosen before giving up */

static void	tunnel_stop(struct ipp_tunnel *);

static void
tunnel_add_port(struct ipp_tunnel *t, int port)
{
	int i;

	if (port <= 0 || t->n >= IPP_TUNNEL_MAX)
		return;
	for (i = 0; i < t->n; i++)
		if (t->rport[i] == port)
			return;
	t->rport[t->n++] = port;
}

static int
tunnel_local(const struct ipp_tunnel *t, int port)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (t->rport[i] == port)
			return t->lport[i];
	return port;
}

/*
 * Free local ports, one per forward: all held bound at once so that no
 * two are the same, then released for ssh to take.
 */
static int
tunnel_pick_ports(struct ipp_tunnel *t)
{
	struct sockaddr_in sa;
	socklen_t len;
	int fd[IPP_TUNNEL_MAX], i, n, rc = 0;

	for (n = 0; n < t->n; n++) {
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(sa);
		if ((fd[n] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0))
		    == -1 || bind(fd[n], (struct sockaddr *)&sa, sizeof(sa))
		    == -1 || getsockname(fd[n], (struct sockaddr *)&sa, &len)
		    == -1) {
			rc = -1;
			n++;
			break;
		}
		t->lport[n] = ntohs(sa.sin_port);
	}
	for (i = 0; i < n; i++) {
		int e = errno;

		if (fd[i] != -1)
			close(fd[i]);
		errno = e;
	}
	return rc;
}

/*
 * The sockets of process pid: their inodes, as /proc/pid/fd names them
 * ("socket:[N]"); how many, at most max.
 */
static int
proc_sockets(pid_t pid, unsigned long *ino, int max)
{
	char dir[64], path[320], link[64];
	struct dirent *d;
	DIR *dp;
	ssize_t len;
	int n = 0;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	if ((dp = opendir(dir)) == NULL)
		return 0;
	while (n < max && (d = readdir(dp)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if ((len = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino[n]) == 1)
			n++;
	}
	closedir(dp);
	return n;
}

/*
 * Are the forwards up?  1: our ssh listens on every local port; -1: one
 * is held by a socket of another process (*port says which), a
 * listener or a connection whose local end it is, so this ssh cannot
 * take it; 0: not yet.  Read from the kernel's table, not tried with a
 * bind: a probe holding a port for a moment could be the moment ssh
 * binds it, and ssh, told ExitOnForwardFailure, would give up.  The
 * table is read before ssh's descriptors, so a listener ssh opens in
 * between is not taken for a stranger's.  A socket without an inode
 * (TIME_WAIT) blocks no one: ssh's listeners use SO_REUSEADDR.
 */
static int
tunnel_listening(const struct ipp_tunnel *t, int *port)
{
	struct { int i, listen; unsigned long ino; } seen[256];
	unsigned long ours[64];
	unsigned int addr, lport, st;
	unsigned long ino;
	char line[512];
	FILE *f;
	int i, j, k, nseen = 0, nours, mine[IPP_TUNNEL_MAX] = { 0 };

	if ((f = fopen("/proc/net/tcp", "re")) == NULL)
		return 0;
	while (nseen < 256 && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " %*u: %8x:%4x %*8x:%*4x %2x %*x:%*x %*x:%*x "
		    "%*x %*u %*u %lu", &addr, &lport, &st, &ino) != 4 ||
		    ino == 0 || (addr != htonl(INADDR_LOOPBACK) && addr != 0))
			continue;
		for (i = 0; i < t->n && t->lport[i] != (int)lport; i++)
			;
		if (i < t->n) {
			seen[nseen].i = i;
			seen[nseen].listen = st == 0x0A;	/* TCP_LISTEN */
			seen[nseen++].ino = ino;
		}
	}
	fclose(f);
	nours = t->pid > 0 ? proc_sockets(t->pid, ours, 64) : 0;
	for (j = 0; j < nseen; j++) {
		for (k = 0; k < nours && ours[k] != seen[j].ino; k++)
			;
		if (k == nours) {
			*port = t->lport[seen[j].i];
			return -1;
		}
		mine[seen[j].i] |= seen[j].listen;
	}
	for (i = 0; i < t->n; i++)
		if (!mine[i])
			return 0;
	return 1;
}

/* The ssh program on PATH, as execvp would find it, decided before fork. */
static int
find_ssh(char *buf, size_t len)
{
	const char *p = getenv("PATH");
	size_t n;

	for (p = p != NULL ? p : "/usr/bin:/bin"; ; p += n + 1) {
		n = strcspn(p, ":");
		/* an empty entry is the current directory */
		snprintf(buf, len, "%.*s/ssh", n > 0 ? (int)n : 1, n > 0 ? p :
		    ".");
		if (access(buf, X_OK) == 0)
			return 0;
		if (p[n] == '\0')
			break;
	}
	errno = ENOENT;
	return -1;
}

int
ipp_tunnel_args(const struct ipp_tunnel *t, char *store, size_t storelen,
    char **argv, int maxargs)
{
	char host[256], *colon, *s = store;
	const char *port = NULL;
	size_t left = storelen;
	int argc = 0, i, w;

#define ADD(...) do {							\
	w = snprintf(s, left, __VA_ARGS__);				\
	if (w < 0 || (size_t)w >= left || argc >= maxargs - 1)		\
		goto toolong;						\
	argv[argc++] = s;						\
	s += w + 1;							\
	left -= (size_t)w + 1;						\
} while (0)

	/* "[user@]host[:port]", ipyparallel's form of the server */
	snprintf(host, sizeof(host), "%s", t->server);
	if ((colon = strrchr(host, ':')) != NULL && colon[1] != '\0' &&
	    strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
	    strchr(host, ']') == NULL) {
		*colon = '\0';
		port = colon + 1;
	}
	/* the server comes from a file: it must not read as an option */
	if (host[0] == '\0' || host[0] == '-' || t->rhost[0] == '-') {
		errno = EINVAL;
		return -1;
	}
	ADD("ssh");
	ADD("-N");
	ADD("-oBatchMode=yes");
	ADD("-oExitOnForwardFailure=yes");
	ADD("-oServerAliveInterval=10");
	ADD("-oServerAliveCountMax=3");
	ADD("-oControlPath=none");
	if (t->keyfile[0] != '\0') {
		ADD("-i");
		ADD("%s", t->keyfile);
	}
	if (port != NULL) {
		ADD("-p");
		ADD("%s", port);
	}
	for (i = 0; i < t->n; i++) {
		ADD("-L");
		ADD(strchr(t->rhost, ':') != NULL ? "127.0.0.1:%d:[%s]:%d" :
		    "127.0.0.1:%d:%s:%d", t->lport[i], t->rhost, t->rport[i]);
	}
	ADD("%s", host);
	argv[argc] = NULL;
	return argc;
toolong:
	errno = E2BIG;
	return -1;
#undef ADD
}

/* fork and exec ssh; between the two only async-signal-safe calls. */
static int
tunnel_spawn(struct ipp_tunnel *t)
{
	char prog[1024], store[4096], *argv[2 * IPP_TUNNEL_MAX + 24];
	pid_t parent = getpid(), pid;
	int fd;

	if (ipp_tunnel_args(t, store, sizeof(store), argv, (int)(sizeof(argv) /
	    sizeof(argv[0]))) == -1) {
		log_warn("ssh server '%s'", t->server);
		return -1;
	}
	if (find_ssh(prog, sizeof(prog)) == -1) {
		log_warnx("no ssh program on PATH for the tunnel to '%s'",
		    t->server);
		errno = ENOENT;
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork for the ssh tunnel to '%s'", t->server);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		/* ssh starts with the signals as a fresh process has them */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		setsid();
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, 0);
			if (fd > 2)
				close(fd);
		}
		/* not the FUSE device, not ZeroMQ's sockets */
		close_range(3, ~0U, 0);
		execv(prog, argv);
		_exit(127);
	}
	t->pid = pid;
	t->started = ipp_monotonic();
	log_info("ssh tunnel to '%s' (pid %ld): %d ports of %s", t->server,
	    (long)pid, t->n, t->rhost);
	return 0;
}

/* Has the ssh ended?  Reaps it and says how (logged). */
static int
tunnel_ended(struct ipp_tunnel *t)
{
	int st;
	pid_t r;

	if (t->pid <= 0)
		return 1;
	r = waitpid(t->pid, &st, WNOHANG);
	if (r == 0)
		return 0;
	if (r == -1 && errno != ECHILD)
		return 0;
	if (r == -1)
		log_warnx("ssh tunnel to '%s' (pid %ld) is gone", t->server,
		    (long)t->pid);
	else if (WIFEXITED(st))
		log_warnx("ssh tunnel to '%s' (pid %ld) exited with status "
		    "%d", t->server, (long)t->pid, WEXITSTATUS(st));
	else
		log_warnx("ssh tunnel to '%s' (pid %ld) killed by signal %d",
		    t->server, (long)t->pid, WTERMSIG(st));
	t->pid = 0;
	return 1;
}

void
ipp_tunnel_init(struct ipp_tunnel *t)
{
	memset(t, 0, sizeof(*t));
}

int
ipp_tunnel_open(struct ipp_tunnel *t, const char *server,
    const char *keyfile, struct ipp_conninfo *ci, double timeout)
{
	const char *ip;
	double deadline;
	int i, port = 0, tries, up;

	if (strncmp(ci->interface, "tcp://", 6) != 0) {
		log_warnx("cannot tunnel '%s' through ssh: not tcp",
		    ci->interface);
		errno = EINVAL;
		return -1;
	}
	ip = ci->interface + 6;
	ipp_tunnel_init(t);
	/*
	 * the controller's address as the ssh server sees it; one listening
	 * everywhere is reached at its location, else at the server's own
	 * loopback
	 */
	if (strcmp(ip, "*") == 0 || strcmp(ip, "0.0.0.0") == 0)
		ip = ci->location[0] != '\0' ? ci->location : "127.0.0.1";
	snprintf(t->rhost, sizeof(t->rhost), "%s", ip);
	if (t->rhost[0] == '[') {	/* [::1] as written in a URL */
		memmove(t->rhost, t->rhost + 1, strlen(t->rhost));
		t->rhost[strcspn(t->rhost, "]")] = '\0';
	}
	/* a key and no server: ssh to the controller's host itself */
	snprintf(t->server, sizeof(t->server), "%s", server != NULL &&
	    server[0] != '\0' ? server : t->rhost);
	snprintf(t->keyfile, sizeof(t->keyfile), "%s", keyfile != NULL ?
	    keyfile : "");
	tunnel_add_port(t, ci->registration);
	tunnel_add_port(t, ci->control);
	tunnel_add_port(t, ci->mux);
	tunnel_add_port(t, ci->task);
	tunnel_add_port(t, ci->iopub);
	tunnel_add_port(t, ci->notification);
	tunnel_add_port(t, ci->hb_ping);
	tunnel_add_port(t, ci->hb_pong);
	for (i = 0; i < ci->nbroadcast; i++)
		tunnel_add_port(t, ci->broadcast[i]);
	/* the forwards listen once ssh has logged in */
	deadline = ipp_monotonic() + timeout;
	for (tries = 1; ; tries++) {
		if (tunnel_pick_ports(t) == -1) {
			log_warn("no free local port for the ssh tunnel");
			return -1;
		}
		if (tunnel_spawn(t) == -1)
			return -1;
		while ((up = tunnel_listening(t, &port)) == 0 &&
		    !tunnel_ended(t) && ipp_monotonic() < deadline)
			usleep(50000);
		if (up == 0 && t->pid == 0)	/* it ended: why? */
			up = tunnel_listening(t, &port);
		if (up == 1)
			break;
		/*
		 * A port chosen free was taken before ssh could listen on
		 * it: another program choosing ports at the same moment
		 * got one this one had just let go.  Other ports, then.
		 */
		if (up == -1 && tries < PICK_TRIES &&
		    ipp_monotonic() < deadline) {
			log_warnx("ssh tunnel to '%s': local port %d was taken "
			    "by another process; trying other local ports",
			    t->server, port);
			tunnel_stop(t);
			continue;
		}
		if (t->pid > 0 && ipp_monotonic() >= deadline) {
			log_warnx("ssh tunnel to '%s' not up within %.0f s",
			    t->server, timeout);
			errno = ETIMEDOUT;
		} else if (up == -1) {
			log_warnx("ssh tunnel to '%s': local port %d is taken "
			    "by another process", t->server, port);
			errno = EADDRINUSE;
		} else {
			log_warnx("cannot open the ssh tunnel to '%s' (its "
			    "errors are above)", t->server);
			errno = ECONNREFUSED;
		}
		i = errno;
		tunnel_stop(t);
		errno = i;
		return -1;
	}
	snprintf(ci->interface, sizeof(ci->interface), "tcp://127.0.0.1");
	ci->registration = tunnel_local(t, ci->registration);
	ci->control = tunnel_local(t, ci->control);
	ci->mux = tunnel_local(t, ci->mux);
	ci->task = tunnel_local(t, ci->task);
	ci->iopub = tunnel_local(t, ci->iopub);
	ci->notification = tunnel_local(t, ci->notification);
	ci->hb_ping = tunnel_local(t, ci->hb_ping);
	ci->hb_pong = tunnel_local(t, ci->hb_pong);
	for (i = 0; i < ci->nbroadcast; i++)
		ci->broadcast[i] = tunnel_local(t, ci->broadcast[i]);
	t->retry = RETRY_MIN;
	return 0;
}

int
ipp_tunnel_check(struct ipp_tunnel *t, double now)
{
	if (t->n == 0 || !tunnel_ended(t))
		return 0;
	if (t->next_try == 0) {
		/* a tunnel that stayed up a while starts the delays over */
		if (now - t->started >= STABLE)
			t->retry = RETRY_MIN;
		t->next_try = now + t->retry;
		t->retry = t->retry * 2 > RETRY_MAX ? RETRY_MAX : t->retry * 2;
		return 0;
	}
	if (now < t->next_try)
		return 0;
	t->next_try = 0;
	if (tunnel_spawn(t) == -1) {
		t->started = now;
		return -1;
	}
	return 1;
}

/* End the ssh, if one runs, and reap it. */
static void
tunnel_stop(struct ipp_tunnel *t)
{
	pid_t r = 0;
	int i;

	if (t->pid > 0 && kill(t->pid, SIGTERM) == 0)
		for (i = 0; i < 100; i++) {
			if ((r = waitpid(t->pid, NULL, WNOHANG)) != 0)
				break;
			usleep(20000);
		}
	if (t->pid > 0 && r == 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
	if (t->pid > 0)
		log_info("ssh tunnel to '%s' (pid %ld) closed", t->server,
		    (long)t->pid);
	t->pid = 0;
}

void
ipp_tunnel_close(struct ipp_tunnel *t)
{
	tunnel_stop(t);
	t->n = 0;
}

int
ipp_host_is_local(const char *host)
{
	struct addrinfo hints, *res, *ai;
	char me[256];
	int fd, local = 0;

	if (host == NULL || host[0] == '\0')
		return 0;
	if (gethostname(me, sizeof(me)) == 0) {
		me[sizeof(me) - 1] = '\0';
		if (strcmp(me, host) == 0)
			return 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return 0;
	/* an address of this host is one a socket can be bound to */
	for (ai = res; ai != NULL && !local; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0))
		    == -1)
			continue;
		local = bind(fd, ai->ai_addr, ai->ai_addrlen) == 0;
		close(fd);
	}
	freeaddrinfo(res);
	return local;
}
