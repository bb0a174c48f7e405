/*
 * sshctl.c - the controller on another host through ssh: ipyparallel's
 * SSHControllerLauncher (--controller=ssh).  SSHControllerLauncher
 * .location, or .hostname (with .user), names the host.
 *
 * One ssh login (a login costs a second or more on a busy host) makes
 * the remote profile's directories, starts the controller there in the
 * background with its output in the remote log directory, prints its
 * PID (ipyparallel's "nohup ... & echo $!"), waits for the connection
 * files and prints them; they are written into the local profile
 * whole (a shared file system where both are the same file is safe
 * too).  Configured SSHLauncher.to_fetch pairs are copied with scp
 * instead, to a temporary name and renamed.  The remote profile is
 * SSHLauncher.remote_profile_dir, default the local one with the home
 * directory stripped, as ipyparallel's.  No ssh process stays behind:
 * "launch stop" ends the controller by its PID with another short ssh
 * (state.c calls sshctl_stop_controller).  The record has
 * "remote_pid", "location" and the ssh command, not a local "pid", so
 * nothing here ever signals a local process by that PID.
 *
 * A controller bound to loopback (the default) is reachable only from
 * its host; it is then given --location=HOST and --ssh/--enginessh=the
 * ssh location, so its connection files name the ssh server: launch's
 * own watch (watch.c) and the engines (engined) tunnel through it
 * (libipp/tunnel.c), as ipyparallel's clients and engines do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "launch.h"

static const char *const ctl_classes[] = { "SSHControllerLauncher",
    "SSHLauncher", "ControllerLauncher", NULL };
static const char *const cluster_class[] = { "Cluster", NULL };

/* Shell: the start time of process PID there, empty without /proc. */
#define REMOTE_START(pid)	"cut -d' ' -f22 /proc/" pid "/stat 2>/dev/null"

/* ssh_cmd and ssh_args (default: plain "ssh"; no -tt for a daemon). */
static json_t *
ssh_prefix_json(struct cluster *c)
{
	struct argv a;
	json_t *j = json_array();
	int i;

	argv_init(&a);
	if (!conf_argv(c, ctl_classes, "ssh_cmd", &a))
		argv_add(&a, "ssh");
	conf_argv(c, ctl_classes, "ssh_args", &a);
	for (i = 0; i < a.n; i++)
		json_array_append_new(j, json_string(a.v[i]));
	argv_free(&a);
	return j;
}

/* The recorded ssh command, the host and a remote shell command. */
static void
remote_argv(json_t *st, const char *script, struct argv *a)
{
	json_t *w;
	size_t i;

	argv_init(a);
	json_array_foreach(json_object_get(st, "ssh"), i, w)
		argv_add(a, json_string_value(w));
	argv_add(a, json_string_value(json_object_get(st, "location")));
	argv_add(a, script);
}

/* One word for the remote shell, quoted when it needs it. */
static char *
shell_quote(const char *word)
{
	struct argv a;
	char *s;

	argv_init(&a);
	argv_add(&a, word);
	s = argv_join(&a);
	argv_free(&a);
	return s;
}

/* "/home/you/.ipython/profile_x" -> ".ipython/profile_x", as ipyparallel */
static void
strip_home(const char *path, char *buf, size_t len)
{
	const char *home = getenv("HOME");
	size_t n = home != NULL ? strlen(home) : 0;

	while (n > 1 && home[n - 1] == '/')
		n--;
	if (n > 1 && strncmp(path, home, n) == 0 && path[n] == '/')
		snprintf(buf, len, "%s", path + n + 1);
	else
		snprintf(buf, len, "%s", path);
}

static int
loopback(const char *ip)
{
	return ip == NULL || strncmp(ip, "127.", 4) == 0 ||
	    strcmp(ip, "localhost") == 0 || strcmp(ip, "::1") == 0;
}

/* The remote controller command line, one shell-quoted string. */
static char *
controller_cmd(struct cluster *c, const char *rprof, const char *loc)
{
	struct argv a;
	char prog[1024];
	const char *ip, *host;
	char *cmd;

	argv_init(&a);
	if (!conf_argv(c, ctl_classes, "controller_cmd", &a)) {
		if (cluster_find_program(c, "hubd", prog, sizeof(prog)) == -1) {
			snprintf(c->why, sizeof(c->why), "cannot find 'hubd' "
			    "next to launch or on PATH");
			argv_free(&a);
			return NULL;
		}
		argv_add(&a, prog);
	}
	argv_addf(&a, "--profile-dir=%s", rprof);
	if (*c->id)
		argv_addf(&a, "--cluster-id=%s", c->id);
	ip = conf_str(c, cluster_class, "controller_ip", NULL);
	if (ip != NULL)
		argv_addf(&a, "--ip=%s", ip);
	if (loopback(ip)) {
		/* only its host reaches it: clients and engines tunnel */
		host = strchr(loc, '@') != NULL ? strchr(loc, '@') + 1 : loc;
		argv_addf(&a, "--location=%s", host);
		argv_addf(&a, "--ssh=%s", loc);
		argv_addf(&a, "--enginessh=%s", loc);
	}
	conf_argv(c, cluster_class, "controller_args", &a);
	conf_argv(c, ctl_classes, "controller_args", &a);
	cmd = argv_join(&a);
	argv_free(&a);
	return cmd;
}

/* The controller's two connection files: [remote, local] pairs. */
static json_t *
connfile_pairs(struct cluster *c, const char *rprof)
{
	const char *kinds[] = { "client", "engine", NULL };
	char path[1200];
	json_t *l = json_array();
	int i;

	for (i = 0; kinds[i] != NULL; i++) {
		ipp_profile_connfile(&c->prof, kinds[i], path, sizeof(path));
		json_array_append_new(l, json_pack("[s+s]", rprof,
		    path + strlen(c->prof.dir), path));
	}
	return l;
}

/* Run a remote script; its exit status (-1: ssh failed to run). */
static int
remote_run(json_t *st, const char *script, char *out, size_t outlen,
    double timeout)
{
	struct argv a;
	int rc;

	remote_argv(st, script, &a);
	rc = proc_run(&a, NULL, NULL, out, outlen, timeout);
	argv_free(&a);
	return rc;
}

/* The remote side of every [remote, local] pair, for the shell. */
static char *
remote_files(json_t *list)
{
	struct argv a;
	json_t *pair;
	const char *from;
	size_t i;
	char *s;

	argv_init(&a);
	json_array_foreach(list, i, pair)
		if ((from = json_string_value(json_array_get(pair, 0))) != NULL)
			argv_add(&a, from);
	s = argv_join(&a);
	argv_free(&a);
	return s;
}

/* A local file written whole, or not at all, for wait_files to load. */
static int
write_local(const char *to, const char *data, size_t len)
{
	mkdir_parent(to);
	return ipp_write_file(to, data, len, 0600);
}

/*
 * The default fetch: the connection files printed after the controller
 * wrote them, in the ssh session that started it (an ssh login costs a
 * second or more on a busy host), each after a marker line.  A file
 * that is no JSON (ssh's own messages mixed in) is an error.
 */
static int
take_files(struct cluster *c, json_t *list, const char *out)
{
	const char *mark = "\n__ipp_file__\n", *p = out, *end;
	json_t *pair, *j;
	const char *to;
	size_t i;

	json_array_foreach(list, i, pair) {
		to = json_string_value(json_array_get(pair, 1));
		if ((p = strstr(p, mark)) == NULL ||
		    (end = strstr(p + strlen(mark), "\n__ipp_")) == NULL)
			break;
		p += strlen(mark);
		j = json_loadb(p, (size_t)(end - p), 0, NULL);
		json_decref(j);
		if (j == NULL || to == NULL ||
		    write_local(to, p, (size_t)(end - p)) == -1) {
			snprintf(c->why, sizeof(c->why), "cannot keep '%s' "
			    "fetched from the controller's host as '%s'",
			    json_string_value(json_array_get(pair, 0)),
			    to != NULL ? to : "?");
			return -1;
		}
		p = end;
	}
	if (i < json_array_size(list)) {
		snprintf(c->why, sizeof(c->why), "the connection files did "
		    "not come back through ssh: %.300s", out);
		return -1;
	}
	return 0;
}

/* location, or [user@]hostname, recorded in st; NULL with c->why. */
static const char *
location(struct cluster *c, json_t *st)
{
	const char *loc, *host, *user;

	if ((loc = conf_str(c, ctl_classes, "location", NULL)) == NULL ||
	    *loc == '\0') {
		host = conf_str(c, ctl_classes, "hostname", "");
		user = conf_str(c, ctl_classes, "user", "");
		if (*host == '\0') {
			snprintf(c->why, sizeof(c->why), "an ssh controller "
			    "needs SSHControllerLauncher.location or .hostname");
			return NULL;
		}
		json_object_set_new(st, "location", json_sprintf("%s%s%s",
		    user, *user ? "@" : "", host));
	} else
		json_object_set_new(st, "location", json_string(loc));
	loc = json_string_value(json_object_get(st, "location"));
	/* it comes from a file: it must not read as an ssh option */
	if (*loc == '-') {
		snprintf(c->why, sizeof(c->why), "bad ssh location '%s'", loc);
		return NULL;
	}
	return loc;
}

int
sshctl_start_controller(struct cluster *c, json_t *st)
{
	char rprof[1024], log[1200], out[16384], *cmd, *script, *p, *q, *files;
	char *mk, *logq, *old;
	const char *loc, *rp;
	json_t *list, *conns;
	struct argv a;
	int rc, print;
	double timeout;

	if ((loc = location(c, st)) == NULL)
		return -1;
	if ((rp = conf_str(c, ctl_classes, "remote_profile_dir", NULL)) != NULL
	    && *rp != '\0')
		snprintf(rprof, sizeof(rprof), "%s", rp);
	else
		strip_home(c->prof.dir, rprof, sizeof(rprof));
	if ((cmd = controller_cmd(c, rprof, loc)) == NULL)
		return -1;
	snprintf(log, sizeof(log), "%s/log/ipcontroller%s%s.log", rprof,
	    *c->id ? "-" : "", c->id);
	json_object_set_new(st, "ssh", ssh_prefix_json(c));
	json_object_set_new(st, "remote_profile_dir", json_string(rprof));
	json_object_set_new(st, "remote_output_file", json_string(log));
	json_object_set_new(st, "profile_dir", json_string(c->prof.dir));
	json_object_set_new(st, "cluster_id", json_string(c->id));
	/*
	 * One ssh login for all (a login costs a second or more on a busy
	 * host): make the profile's directories, remove old connection files
	 * (they would be fetched before the new ones exist), start the controller
	 * in the background and print its PID, wait for the files to fetch
	 * (or the controller's end: then its log), and print them unless
	 * they are configured to_fetch pairs, for scp.
	 */
	conns = connfile_pairs(c, rprof);
	list = conf_get(c, ctl_classes, "to_fetch");
	print = !json_is_array(list) || json_array_size(list) == 0;
	list = print ? json_incref(conns) : json_incref(list);
	old = remote_files(conns);
	json_decref(conns);
	files = remote_files(list);
	argv_init(&a);
	argv_add(&a, "mkdir");
	argv_add(&a, "-p");
	argv_addf(&a, "%s/log", rprof);
	argv_addf(&a, "%s/security", rprof);
	mk = argv_join(&a);
	argv_free(&a);
	logq = shell_quote(log);
	timeout = (double)conf_long(c, cluster_class, "controller_timeout", 60);
	if (asprintf(&script, "%s && rm -f %s %s || exit 5; "
	    "nohup %s >%s 2>&1 </dev/null & p=$!; echo __remote_pid=${p}__; "
	    "echo __remote_start=$(" REMOTE_START("$p") ")__; "
	    "n=0; for f in %s; do while ! test -e \"$f\"; do "
	    "kill -0 $p 2>/dev/null || { echo controller exited:; "
	    "tail -n 12 %s; exit 3; }; n=$((n + 1)); [ $n -gt %d ] && exit 2; "
	    "sleep 0.05; done; done; %s", mk, old, logq, cmd, logq, files,
	    logq, (int)(timeout * 20), print ? "for f in " : "exit 0") == -1)
		fatalx("out of memory");
	if (print) {
		p = script;
		if (asprintf(&script, "%s%s; do printf '\\n__ipp_file__\\n'; "
		    "cat \"$f\" || exit 4; done; printf '\\n__ipp_end__\\n'", p,
		    files) == -1)
			fatalx("out of memory");
		free(p);
	}
	free(old);
	free(mk);
	free(logq);
	free(files);
	free(cmd);
	rc = remote_run(st, script, out, sizeof(out), timeout + 60);
	free(script);
	/* recorded even when the rest failed: stop needs it */
	if ((p = strstr(out, "__remote_pid=")) != NULL && atoll(p + 13) <= 0)
		p = NULL;
	if (p != NULL) {
		json_object_set_new(st, "remote_pid", json_integer(
		    atoll(p + 13)));
		fprintf(stderr, "launch: controller started on '%s' (pid "
		    "%lld there)\n", loc, (long long)atoll(p + 13));
	}
	if (p != NULL && (q = strstr(out, "__remote_start=")) != NULL &&
	    atoll(q + 15) > 0)
		json_object_set_new(st, "remote_start_time", json_integer(
		    atoll(q + 15)));
	if (rc != 0 || p == NULL) {
		snprintf(c->why, sizeof(c->why), "%s on '%s' through ssh",
		    rc == 3 ? "the controller exited before writing its "
		    "connection files" : rc == 2 ? "the controller did not "
		    "write its connection files in time" : "cannot start the "
		    "controller", loc);
		fprintf(stderr, "launch: %s (%s):\n%s\n", c->why, rc == -1 ?
		    strerror(errno) : "exit status", out);
		json_decref(list);
		return -1;
	}
	rc = print ? take_files(c, list, out) : scp_pairs(c, ctl_classes,
	    loc, list, 1, 1, c->why, sizeof(c->why));
	json_decref(list);
	return rc;
}

/*
 * A shell test, there, that pid is still the process we started and not
 * a later one given the same number: its start time (field 22 of
 * /proc/PID/stat; hubd's name has no blank) as recorded at start.
 * Without a record (no /proc there), the PID alone.
 */
static void
same_process(json_t *st, char *buf, size_t len)
{
	long long pid = json_integer_value(json_object_get(st, "remote_pid"));
	long long t = json_integer_value(json_object_get(st,
	    "remote_start_time"));

	if (t > 0)
		snprintf(buf, len, "[ \"$(" REMOTE_START("%lld") ")\" = %lld ]",
		    pid, t);
	else
		snprintf(buf, len, "kill -0 %lld 2>/dev/null", pid);
}

/* 1 while the remote controller runs; 0 when gone or unreachable. */
int
sshctl_controller_alive(json_t *st)
{
	char script[256], out[256];

	if (json_integer_value(json_object_get(st, "remote_pid")) <= 0)
		return 0;
	same_process(st, script, sizeof(script));
	return remote_run(st, script, out, sizeof(out), 30) == 0;
}

/* SIGTERM there, SIGKILL after grace seconds; one ssh does both. */
int
sshctl_stop_controller(json_t *st, double grace)
{
	char same[256], script[1024], out[512];
	long long pid;
	int rc;

	/* no PID there: nothing to stop (0 would be a process group) */
	if ((pid = json_integer_value(json_object_get(st, "remote_pid"))) <= 0)
		return 0;
	same_process(st, same, sizeof(same));
	snprintf(script, sizeof(script), "%s || exit 0; kill -TERM %lld "
	    "2>/dev/null || exit 0; n=0; while %s; do n=$((n + 1)); "
	    "if [ $n -gt %d ]; then kill -KILL %lld; exit 0; fi; sleep 0.05; "
	    "done", same, pid, same, (int)(grace * 20), pid);
	rc = remote_run(st, script, out, sizeof(out), grace + 30);
	if (rc != 0) {
		log_warnx("cannot stop the controller (pid %lld) on '%s': %s",
		    pid, json_string_value(json_object_get(st, "location")),
		    out);
		return -1;
	}
	json_object_del(st, "remote_pid");
	return 0;
}
