/*
 * proc.c - processes for launch: argument vectors, spawning a program in
 * its own process group with its output in a log file, running a short
 * command (sbatch, squeue, ...) with its output captured and a time bound,
 * and telling whether a recorded PID is still the process we started.
 *
 * Launched processes outlive launch (--daemonize), so a later "launch
 * stop" only has a PID.  PIDs are reused, so every record also keeps the
 * process's start time from /proc/PID/stat, and a PID whose start time
 * differs, or that is a zombie waiting for init to reap it, counts as gone.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "launch.h"

extern char **environ;

void
argv_init(struct argv *a)
{
	a->n = 0;
	a->cap = 8;
	a->v = xcalloc(a->cap, sizeof(char *));
}

void
argv_free(struct argv *a)
{
	int i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

void
argv_add(struct argv *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap *= 2;
		a->v = xrealloc(a->v, a->cap, sizeof(char *));
	}
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

void
argv_addf(struct argv *a, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	argv_add(a, buf);
}

/* Commands from config strings: split on blanks, no shell quoting. */
void
argv_split(struct argv *a, const char *s)
{
	char *copy, *w, *save = NULL;

	copy = xstrdup(s);
	for (w = strtok_r(copy, " \t\n", &save); w != NULL;
	    w = strtok_r(NULL, " \t\n", &save))
		argv_add(a, w);
	free(copy);
}

/* One shell command line, each word single-quoted when it needs it. */
char *
argv_join(const struct argv *a)
{
	size_t len = 1, i;
	char *s, *p, *q;
	int k;

	for (k = 0; k < a->n; k++)
		len += strlen(a->v[k]) * 4 + 3;
	p = s = xmalloc(len);
	for (k = 0; k < a->n; k++) {
		if (k > 0)
			*p++ = ' ';
		q = a->v[k];
		if (*q != '\0' && strspn(q, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,+@%") ==
		    strlen(q)) {
			p = stpcpy(p, q);
			continue;
		}
		*p++ = '\'';
		for (i = 0; q[i] != '\0'; i++) {
			if (q[i] == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = q[i];
		}
		*p++ = '\'';
	}
	*p = '\0';
	return s;
}

/*
 * Find prog on PATH now, so that the forked child only has to execve:
 * after fork in a process with ZeroMQ threads only async-signal-safe
 * calls are allowed.
 */
int
proc_resolve(const char *prog, char *buf, size_t len)
{
	const char *path, *p, *e;

	if (strchr(prog, '/') != NULL) {
		if (access(prog, X_OK) == -1)
			return -1;
		snprintf(buf, len, "%s", prog);
		return 0;
	}
	if ((path = getenv("PATH")) == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p != '\0'; p = *e ? e + 1 : e) {
		e = strchrnul(p, ':');
		snprintf(buf, len, "%.*s/%s", (int)(e - p), e == p ? "." : p,
		    prog);
		if (access(buf, X_OK) == 0)
			return 0;
	}
	errno = ENOENT;
	return -1;
}

/*
 * Start a->v in a new session (so one kill(-pid) reaches it and its
 * children), stdin from /dev/null, stdout and stderr appended to logpath.
 * env adds "NAME=value" entries.  The pid, or -1 with errno.
 */
pid_t
proc_spawn(const struct argv *a, const char *logpath, const char *const *env)
{
	char exe[1024], msg[1200];
	char **envp = environ;
	pid_t pid;
	int fd, i, ne = 0, nenv = 0;

	if (proc_resolve(a->v[0], exe, sizeof(exe)) == -1)
		return -1;
	if (env != NULL) {
		while (environ[ne] != NULL)
			ne++;
		while (env[nenv] != NULL)
			nenv++;
		envp = xcalloc(ne + nenv + 1, sizeof(char *));
		for (i = 0; i < nenv; i++)
			envp[i] = (char *)env[i];
		for (i = 0; i < ne; i++)
			envp[nenv + i] = environ[i];
	}
	snprintf(msg, sizeof(msg), "launch: cannot execute '%s'\n", exe);
	if ((pid = fork()) == -1) {
		if (envp != environ)
			free(envp);
		return -1;
	}
	if (pid == 0) {
		setsid();
		/* launch ignores SIGPIPE; its children start as usual */
		signal(SIGPIPE, SIG_DFL);
		if ((fd = open("/dev/null", O_RDONLY)) != -1) {
			dup2(fd, 0);
			close(fd);
		}
		fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0644);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execve(exe, a->v, envp);
		if (write(2, msg, strlen(msg)) == -1)
			_exit(127);
		_exit(127);
	}
	if (envp != environ)
		free(envp);
	return pid;
}

/* Field 22 of /proc/PID/stat (clock ticks since boot), -1 when gone. */
long long
proc_starttime(pid_t pid)
{
	char buf[1024];
	const char *p;
	int i;

	if ((p = ipp_proc_stat(pid, buf, sizeof(buf))) == NULL)
		return -1;
	if (*p == 'Z' || *p == 'X')
		return -1;
	for (i = 3; i < 22 && p != NULL; i++)
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	return p != NULL ? strtoll(p, NULL, 10) : -1;
}

/* 1 when pid runs and is the process that started at starttime (0: any). */
int
proc_alive(pid_t pid, long long starttime)
{
	long long st;

	if (pid <= 0 || (st = proc_starttime(pid)) == -1)
		return 0;
	return starttime <= 0 || st == starttime;
}

/* Reap our child without blocking: 1 and its status when it is over. */
int
proc_reap(pid_t pid, int *status)
{
	int st;

	if (waitpid(pid, &st, WNOHANG) != pid)
		return 0;
	if (status != NULL)
		*status = st;
	return 1;
}

/*
 * Run a short command in directory cwd (NULL: ours), collect up to
 * outlen-1 bytes of its stdout and stderr into out, and give up after
 * timeout seconds (killing it).  The exit status, or -1 with errno
 * (ETIMEDOUT).
 */
int
proc_run(const struct argv *a, const char *cwd, const char *stdin_path,
    char *out, size_t outlen, double timeout)
{
	struct pollfd pfd;
	char exe[1024], scratch[512];
	double deadline;
	size_t got = 0;
	ssize_t n;
	pid_t pid;
	int p[2], fd, st, ms;

	if (proc_resolve(a->v[0], exe, sizeof(exe)) == -1)
		return -1;
	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (cwd != NULL && chdir(cwd) == -1)
			_exit(126);
		fd = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
		if (fd != -1)
			dup2(fd, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execve(exe, a->v, environ);
		_exit(127);
	}
	close(p[1]);
	deadline = ipp_monotonic() + timeout;
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		ms = (int)((deadline - ipp_monotonic()) * 1000);
		if (ms <= 0)
			break;
		if (poll(&pfd, 1, ms) <= 0)
			continue;
		if (got + 1 < outlen)
			n = read(p[0], out + got, outlen - 1 - got);
		else
			n = read(p[0], scratch, sizeof(scratch));
		if (n <= 0)
			break;
		if (got + 1 < outlen)
			got += n;
	}
	close(p[0]);
	if (outlen > 0)
		out[got] = '\0';
	while (!proc_reap(pid, &st)) {
		if (ipp_monotonic() > deadline) {
			kill(-pid, SIGKILL);
			for (ms = 0; ms < 200 && !proc_reap(pid, &st); ms++)
				usleep(5000);
			errno = ETIMEDOUT;
			return -1;
		}
		usleep(2000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The last lines of a log, indented, for error reports. */
void
proc_tail(FILE *fp, const char *path, int lines)
{
	char buf[8192];
	ssize_t n;
	off_t size;
	int fd, i, nl = 0;
	char *p;

	if ((fd = open(path, O_RDONLY)) == -1) {
		fprintf(fp, "    (no log: %s: %s)\n", path, strerror(errno));
		return;
	}
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) +
	    1 : 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		fprintf(fp, "    (%s is empty)\n", path);
		return;
	}
	buf[n] = '\0';
	if (buf[n - 1] == '\n')
		buf[--n] = '\0';
	for (i = (int)n - 1; i >= 0; i--)
		if (buf[i] == '\n' && ++nl == lines)
			break;
	fprintf(fp, "    --- last lines of %s:\n", path);
	for (p = strtok(buf + i + 1, "\n"); p != NULL; p = strtok(NULL, "\n"))
		fprintf(fp, "    %s\n", p);
}

/* {"pid", "start_time", "output_file", "state"} for the state file. */
json_t *
proc_record(pid_t pid, const char *logpath)
{
	return json_pack("{s:i, s:I, s:s, s:s}", "pid", (int)pid,
	    "start_time", (json_int_t)proc_starttime(pid), "output_file",
	    logpath, "state", "running");
}
