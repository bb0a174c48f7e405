/*
 * state.c - the record of a running cluster and what can be done with it
 * later, from another launch process: stop it, signal its engines, tell
 * whether it still runs.  The record is PROFILE/security/cluster-<id>.json
 * in the shape ipyparallel's Cluster writes:
 *
 *   {"cluster": {cluster_id, profile_dir, n, controller_ip, class, ...},
 *    "controller": {"class": ..., "state": {pid, start_time, output_file,
 *        state, [job_id]}},
 *    "engines": {"class": ..., "sets": {"<set id>": {n, class, state,
 *        [job_id], "engines": {"0": {pid, start_time, output_file}}}}}}
 *
 * Stopping needs nothing but this record: every process we started is
 * the leader of its own process group and is signalled as a group, batch
 * jobs are cancelled with their system's command, an ippfs mount is
 * unmounted first, a controller on another host is stopped there through
 * its launcher (sshctl.c).  Also here: paths and the command lines of the
 * controller and engines.
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "launch.h"

void
cluster_statefile(const struct ipp_profile *p, const char *id, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s/cluster-%s.json", p->security, id);
}

void
cluster_pidfile(const struct ipp_profile *p, const char *id, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s/ipcluster%s%s.pid", p->pid, *id ? "-" : "", id);
}

void
cluster_logpath(const struct cluster *c, const char *what, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s/%s%s%s.log", c->prof.log, what,
	    *c->id ? "-" : "", c->id);
}

json_t *
cluster_load_state(const char *path)
{
	json_t *doc;

	if ((doc = json_load_file(path, 0, NULL)) == NULL) {
		errno = errno ? errno : EINVAL;
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		errno = EINVAL;
		return NULL;
	}
	return doc;
}

/* Collect the PIDs of every record into the pid file, one per line. */
static void
pids_of(json_t *rec, FILE *fp)
{
	json_t *pid = json_object_get(rec, "pid");

	if (json_is_integer(pid))
		fprintf(fp, "%lld\n", (long long)json_integer_value(pid));
}

int
cluster_save_state(struct cluster *c)
{
	char *text, pidfile[1200], *buf = NULL;
	json_t *set, *e;
	const char *k, *k2;
	size_t size = 0;
	FILE *fp;
	int rc;

	if ((text = json_dumps(c->doc, JSON_INDENT(1) | JSON_SORT_KEYS)) ==
	    NULL)
		return -1;
	rc = ipp_write_file(c->statefile, text, strlen(text), 0644);
	free(text);
	if (rc == -1)
		return -1;
	if ((fp = open_memstream(&buf, &size)) == NULL)
		return -1;
	pids_of(json_object_get(json_object_get(c->doc, "controller"),
	    "state"), fp);
	json_object_foreach(json_object_get(json_object_get(c->doc, "engines"),
	    "sets"), k, set)
		json_object_foreach(json_object_get(set, "engines"), k2, e)
			pids_of(e, fp);
	pids_of(json_object_get(json_object_get(c->doc, "cluster"),
	    "mount_state"), fp);
	fclose(fp);
	cluster_pidfile(&c->prof, c->id, pidfile, sizeof(pidfile));
	rc = ipp_write_file(pidfile, buf, size, 0644);
	free(buf);
	return rc;
}

/*
 * Every process record {pid, start_time} of the document: engines and
 * the mount first (which 0), then the controller (which 1), so that
 * engines can say goodbye to a live controller instead of lingering on
 * undeliverable messages.
 */
static void
each_record(json_t *doc, int which, void (*fn)(json_t *, void *), void *arg)
{
	json_t *set, *e;
	const char *k, *k2;

	if (which == 1) {
		fn(json_object_get(json_object_get(doc, "controller"),
		    "state"), arg);
		return;
	}
	json_object_foreach(json_object_get(json_object_get(doc, "engines"),
	    "sets"), k, set)
		json_object_foreach(json_object_get(set, "engines"), k2, e)
			fn(e, arg);
	fn(json_object_get(json_object_get(doc, "cluster"), "mount_state"),
	    arg);
}

/* Some process other than a zombie is still in process group pgid. */
static int
group_alive(pid_t pgid)
{
	char buf[1024], state;
	const char *p;
	struct dirent *d;
	DIR *dir;
	int pg, found = 0;

	if (pgid <= 1 || kill(-pgid, 0) == -1)
		return 0;
	if ((dir = opendir("/proc")) == NULL)
		return 1;
	while (!found && (d = readdir(dir)) != NULL) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		if ((p = ipp_proc_stat((pid_t)atoi(d->d_name), buf,
		    sizeof(buf))) == NULL ||
		    sscanf(p, "%c %*d %d", &state, &pg) != 2)
			continue;
		found = pg == pgid && state != 'Z' && state != 'X';
	}
	closedir(dir);
	return found;
}

/*
 * A record is alive while its process, or anything left in the process
 * group it leads, is: mpiexec can exit while its ranks are still
 * finishing (MPI_Finalize at exit), and stop must neither report them
 * gone nor stop signalling them.
 */
static int
rec_alive(json_t *rec)
{
	json_t *pid = json_object_get(rec, "pid");
	pid_t p;

	if (!json_is_integer(pid))
		return 0;
	p = (pid_t)json_integer_value(pid);
	if (proc_alive(p, json_integer_value(json_object_get(rec,
	    "start_time"))))
		return 1;
	proc_reap(p, NULL);
	return group_alive(p);
}

static void
rec_signal(json_t *rec, void *arg)
{
	int sig = *(int *)arg;
	pid_t pid;

	if (!rec_alive(rec))
		return;
	pid = (pid_t)json_integer_value(json_object_get(rec, "pid"));
	/* our processes lead their own group; fall back to the pid alone */
	if (kill(-pid, sig) == -1)
		kill(pid, sig);
	proc_reap(pid, NULL);
}

static void
rec_count(json_t *rec, void *arg)
{
	if (rec_alive(rec))
		(*(int *)arg)++;
	else if (json_is_integer(json_object_get(rec, "pid")))
		proc_reap((pid_t)json_integer_value(json_object_get(rec,
		    "pid")), NULL);
}

/* Cancel a recorded batch job; 1 when one was cancelled. */
static int
cancel_job(json_t *st, const char *cls)
{
	const struct launcher *l = launcher_by_class(cls);
	json_t *job = json_object_get(st, "job_id");

	if (!json_is_string(job) || l == NULL || l->batch == NULL)
		return 0;
	if (batch_cancel(l->batch, json_string_value(job), st) == -1)
		log_warnx("cannot cancel %s job '%s'", l->batch->name,
		    json_string_value(job));
	return 1;
}

/*
 * Wait, up to deadline, for the cancelled engine jobs to leave the
 * queue: their engines then leave while the controller still answers.
 */
static void
wait_jobs(json_t *doc, double deadline)
{
	const struct launcher *l;
	json_t *set, *job;
	const char *k;
	int left;

	do {
		left = 0;
		json_object_foreach(json_object_get(json_object_get(doc,
		    "engines"), "sets"), k, set) {
			job = json_object_get(json_object_get(set, "state"),
			    "job_id");
			l = launcher_by_class(json_string_value(
			    json_object_get(set, "class")));
			if (json_is_string(job) && l != NULL &&
			    l->batch != NULL &&
			    batch_poll(l->batch, json_string_value(job)) == 1)
				left++;
		}
		if (left > 0)
			usleep(100000);
	} while (left > 0 && ipp_monotonic() < deadline);
}

static void
unmount(const char *dir)
{
	struct argv a;
	char out[512];

	argv_init(&a);
	argv_add(&a, access("/usr/bin/fusermount3", X_OK) == 0 ?
	    "fusermount3" : "fusermount");
	argv_add(&a, "-u");
	argv_add(&a, dir);
	if (proc_run(&a, NULL, NULL, out, sizeof(out), 5) != 0)
		log_warnx("cannot unmount '%s': %s", dir, out);
	argv_free(&a);
}

static void
remove_files(json_t *doc, const char *statefile)
{
	struct ipp_profile p;
	const char *dir, *id;
	char path[1200];

	dir = json_string_value(json_object_get(json_object_get(doc,
	    "cluster"), "profile_dir"));
	id = json_string_value(json_object_get(json_object_get(doc,
	    "cluster"), "cluster_id"));
	if (dir != NULL && id != NULL &&
	    ipp_profile_init(&p, dir, NULL, id, 0) == 0) {
		/* a killed controller leaves them, and they would mislead */
		ipp_profile_connfile(&p, "client", path, sizeof(path));
		unlink(path);
		ipp_profile_connfile(&p, "engine", path, sizeof(path));
		unlink(path);
		cluster_pidfile(&p, id, path, sizeof(path));
		unlink(path);
	}
	if (statefile != NULL)
		unlink(statefile);
}

/*
 * Stop everything the document records: unmount, cancel jobs, SIGTERM
 * every process group, SIGKILL what is left after grace seconds.  0, or
 * -1 when some process survived even SIGKILL.
 */
int
cluster_stop(json_t *doc, const char *statefile, double grace)
{
	json_t *cl = json_object_get(doc, "cluster"), *set, *ctl, *st;
	const struct launcher *l;
	const char *mount, *k;
	double deadline;
	int sig, alive, which, jobs, remote_failed = 0;

	mount = json_string_value(json_object_get(cl, "mount"));
	if (mount != NULL && *mount != '\0')
		unmount(mount);
	jobs = 0;
	json_object_foreach(json_object_get(json_object_get(doc, "engines"),
	    "sets"), k, set)
		jobs += cancel_job(json_object_get(set, "state"),
		    json_string_value(json_object_get(set, "class")));
	if (jobs > 0)
		wait_jobs(doc, ipp_monotonic() + grace);
	ctl = json_object_get(doc, "controller");
	cancel_job(json_object_get(ctl, "state"),
	    json_string_value(json_object_get(ctl, "class")));
	/*
	 * Engines and controller at once: an engine needs nothing from the
	 * controller to exit, and one after the other would add the
	 * controller's exit to every stop.  Polling /proc costs a read per
	 * process, so the pause grows with the number still alive.
	 */
	sig = SIGTERM;
	for (which = 0; which < 2; which++)
		each_record(doc, which, rec_signal, &sig);
	/* a controller on another host (sshctl.c) is stopped there */
	l = launcher_by_class(json_string_value(json_object_get(ctl,
	    "class")));
	if (l != NULL && l->stop_controller != NULL &&
	    l->stop_controller(json_object_get(ctl, "state"), grace) == -1)
		remote_failed = 1;
	deadline = ipp_monotonic() + grace;
	for (;;) {
		alive = 0;
		for (which = 0; which < 2; which++)
			each_record(doc, which, rec_count, &alive);
		if (alive == 0)
			break;
		if (ipp_monotonic() > deadline) {
			if (sig == SIGKILL) {
				log_warnx("%d processes survived SIGKILL",
				    alive);
				return -1;
			}
			sig = SIGKILL;
			for (which = 0; which < 2; which++)
				each_record(doc, which, rec_signal, &sig);
			deadline = ipp_monotonic() + 2;
		}
		usleep(1000 + 100 * (alive < 90 ? alive : 90));
	}
	/* the record stays for another try while that controller may run */
	if (remote_failed)
		return -1;
	remove_files(doc, statefile);
	/* a foreground launch of this cluster has nothing left to watch */
	st = json_object_get(cl, "launch_state");
	if (rec_alive(st) && json_integer_value(json_object_get(st, "pid")) !=
	    getpid())
		kill((pid_t)json_integer_value(json_object_get(st, "pid")),
		    SIGTERM);
	return 0;
}

/* Signal every engine process; the number signalled. */
int
cluster_signal(json_t *doc, int sig)
{
	json_t *set, *e;
	const char *k, *k2;
	int n = 0;

	json_object_foreach(json_object_get(json_object_get(doc, "engines"),
	    "sets"), k, set) {
		if (json_object_get(json_object_get(set, "state"),
		    "job_id") != NULL)
			log_warnx("not signalling engines of batch job set "
			    "'%s'", k);
		json_object_foreach(json_object_get(set, "engines"), k2, e)
			if (rec_alive(e)) {
				rec_signal(e, &sig);
				n++;
			}
	}
	return n;
}

/* 1 when the controller still runs (a batch controller: its job is in). */
int
cluster_running(json_t *doc)
{
	json_t *ctl = json_object_get(doc, "controller");
	json_t *st = json_object_get(ctl, "state");
	const struct launcher *l;
	json_t *job = json_object_get(st, "job_id");

	if (json_is_string(job)) {
		l = launcher_by_class(json_string_value(json_object_get(ctl,
		    "class")));
		return l != NULL && l->batch != NULL &&
		    batch_poll(l->batch, json_string_value(job)) == 1;
	}
	l = launcher_by_class(json_string_value(json_object_get(ctl,
	    "class")));
	if (l != NULL && l->controller_alive != NULL)
		return l->controller_alive(st);
	return rec_alive(st);
}

int
cluster_engine_count(json_t *doc)
{
	json_t *set;
	const char *k;
	int n = 0;

	json_object_foreach(json_object_get(json_object_get(doc, "engines"),
	    "sets"), k, set)
		n += (int)json_integer_value(json_object_get(set, "n"));
	return n;
}

/*
 * Our programs: next to the launch binary in the build tree
 * (launch/../hubd/hubd), in the same or the sibling sbin directory when
 * installed, else on PATH.
 */
int
cluster_find_program(const struct cluster *c, const char *name, char *buf,
    size_t len)
{
	const char *fmt[] = { "%s/../%s/%s", "%s/%s%.0s", "%s/../sbin/%s%.0s",
	    NULL };
	char path[PATH_MAX], real[PATH_MAX];
	int i;

	for (i = 0; fmt[i] != NULL; i++) {
		snprintf(path, sizeof(path), fmt[i], c->self_dir, name, name);
		if (access(path, X_OK) == 0 && realpath(path, real) != NULL) {
			snprintf(buf, len, "%s", real);
			return 0;
		}
	}
	return proc_resolve(name, buf, len);
}

static const char *const ctl_classes[] = { "LocalControllerLauncher",
    "ControllerLauncher", NULL };
static const char *const eng_classes[] = { "LocalEngineSetLauncher",
    "EngineSetLauncher", "EngineLauncher", NULL };
static const char *const cluster_class[] = { "Cluster", NULL };

/*
 * The program part of a controller or engine command line: the
 * configured command (already in a when `configured`) or our own program
 * found next to launch or on PATH, then the profile and cluster id.
 */
static int
program_argv(struct cluster *c, int configured, const char *prog,
    struct argv *a)
{
	char path[1024];

	if (!configured) {
		if (cluster_find_program(c, prog, path, sizeof(path)) == -1) {
			snprintf(c->why, sizeof(c->why), "cannot find '%s' "
			    "next to launch or on PATH", prog);
			errno = ENOENT;
			return -1;
		}
		argv_add(a, path);
	}
	argv_addf(a, "--profile-dir=%s", c->prof.dir);
	if (*c->id)
		argv_addf(a, "--cluster-id=%s", c->id);
	return 0;
}

int
cluster_controller_argv(struct cluster *c, struct argv *a)
{
	const char *ip;

	if (program_argv(c, conf_argv(c, ctl_classes, "controller_cmd", a),
	    "hubd", a) == -1)
		return -1;
	if ((ip = conf_str(c, cluster_class, "controller_ip", NULL)) != NULL)
		argv_addf(a, "--ip=%s", ip);
	if ((ip = conf_str(c, cluster_class, "controller_location", NULL)) !=
	    NULL)
		argv_addf(a, "--location=%s", ip);
	conf_argv(c, cluster_class, "controller_args", a);
	conf_argv(c, ctl_classes, "controller_args", a);
	return 0;
}

int
cluster_engine_argv(struct cluster *c, const struct launcher *l,
    struct argv *a, int mpi)
{
	if (program_argv(c, conf_argv(c, l->classes, "engine_cmd", a) ||
	    conf_argv(c, eng_classes, "engine_cmd", a), "engined", a) == -1)
		return -1;
	if (mpi)
		argv_add(a, "--mpi=mpi4py");
	conf_argv(c, cluster_class, "engine_args", a);
	conf_argv(c, l->classes, "engine_args", a);
	return 0;
}

/* The device of dir differs from its parent's once something is
 * mounted there. */
int
state_is_mountpoint(const char *dir)
{
	struct stat a, b;
	char parent[1100];

	snprintf(parent, sizeof(parent), "%s/..", dir);
	if (stat(dir, &a) == -1 || stat(parent, &b) == -1)
		return 0;
	return a.st_dev != b.st_dev;
}
