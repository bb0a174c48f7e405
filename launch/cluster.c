/*
 * cluster.c - bringing a cluster up: start the controller, wait for its
 * connection files, start the engines the moment they appear, follow the
 * registrations until all engines are in (watch.c), and either return
 * (--daemonize) or stay in the foreground until SIGINT/SIGTERM (or the
 * controller's end) and then stop everything, as ipcluster does.
 *
 * Speed matters here (launch start -n 2 to a first task in 0.3 s), so
 * there are no fixed delays: files and registrations are polled with
 * millisecond timeouts and engines start all at once.  The state file is
 * written after each step, so that a "launch stop" from another shell
 * finds whatever has been started even while we are still waiting.
 *
 * When something fails, what was started is stopped again and the reason
 * is printed with the tail of the log of the process that failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "launch.h"

static const char *const cluster_class[] = { "Cluster", NULL };
/* ipyparallel's poll_seconds: 60 for ssh, whose launchers set it */
static const char *const poll_classes[] = { "SSHControllerLauncher",
    "SSHLauncher", "LocalProcessLauncher", NULL };

static volatile sig_atomic_t stop_requested;

static void
on_stop(int sig)
{
	stop_requested = sig;
}

/* A new engine set id like ipyparallel's: epoch seconds and 4 letters. */
static void
new_set_id(char *buf, size_t len)
{
	char hex[8];

	ipp_random_hex(hex, 2);
	snprintf(buf, len, "%lld-%s", (long long)time(NULL), hex);
}

/* What went wrong in a set: set when a process died or a job left. */
struct waitctx {
	struct cluster	*c;
	struct eset	*es;		/* NULL while waiting for files */
	double		 next_poll;
};

/*
 * SIGINT and friends stop a start half-way too, cleanly.  SIGPIPE is
 * ignored: a Ctrl-C on "cluster.sh | tee log" ends tee too, and what we
 * say while stopping must not end us before the cluster is stopped
 * (proc.c gives children the default back).
 */
static void
catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Each message to the terminal (errors ignored: it may be gone) and to
 * the log file. */
static ssize_t
tee_write(void *cookie, const char *buf, size_t len)
{
	int fd = *(int *)cookie;

	if (write(STDERR_FILENO, buf, len) == -1) {
		/* EPIPE, EIO: the reader left; the log keeps it */
	}
	if (fd != -1 && write(fd, buf, len) == -1) {
		/* nowhere left to say it */
	}
	return (ssize_t)len;
}

/*
 * Our messages (stderr, and log.c's lines, which go to stderr) are also
 * appended to PROFILE/log/ipcluster[-ID].log, so that they outlive a
 * terminal or pipe that went away.  Unbuffered, as stderr is.  On failure
 * stderr stays as it was.
 */
static void
log_messages(struct cluster *c)
{
	cookie_io_functions_t io = { .write = tee_write };
	char path[1200];
	int *fd;
	FILE *fp;

	cluster_logpath(c, "ipcluster", path, sizeof(path));
	fd = xcalloc(1, sizeof(*fd));
	if ((*fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) == -1) {
		log_warn("cannot keep messages in '%s'", path);
		free(fd);
		return;
	}
	if ((fp = fopencookie(fd, "w", io)) == NULL) {
		close(*fd);
		free(fd);
		return;
	}
	setvbuf(fp, NULL, _IONBF, 0);
	stderr = fp;
}

static int
check_controller(struct waitctx *w)
{
	struct cluster *c = w->c;
	json_t *st;
	char log[1200];
	int status;

	if (stop_requested && w->es != NULL) {
		snprintf(w->es->why, sizeof(w->es->why), "interrupted by %s",
		    strsignal(stop_requested));
		return -1;
	}
	if (stop_requested) {
		snprintf(c->why, sizeof(c->why), "interrupted by %s",
		    strsignal(stop_requested));
		return -1;
	}
	if (c->ctl_pid > 0 && proc_reap(c->ctl_pid, &status)) {
		c->ctl_pid = 0;
		st = json_object_get(json_object_get(c->doc, "controller"),
		    "state");
		snprintf(log, sizeof(log), "%s", json_string_value(
		    json_object_get(st, "output_file")));
		snprintf(c->why, sizeof(c->why), "controller exited with "
		    "status %d", WIFEXITED(status) ? WEXITSTATUS(status) :
		    128 + WTERMSIG(status));
		fprintf(stderr, "launch: %s\n", c->why);
		proc_tail(stderr, log, 12);
		return -1;
	}
	return 0;
}

static int
check_set(void *arg)
{
	struct waitctx *w = arg;
	struct eset *es = w->es;
	const char *job, *out;
	json_t *rec;
	char key[16];
	int i, status;

	if (check_controller(w) == -1)
		return -1;
	if (es == NULL)
		return 0;
	for (i = 0; i < es->npids; i++) {
		if (es->pids[i] <= 0 || !proc_reap(es->pids[i], &status))
			continue;
		snprintf(key, sizeof(key), "%d", i);
		rec = json_object_get(json_object_get(es->state, "engines"),
		    key);
		snprintf(es->why, sizeof(es->why), "engine %d of set '%s' "
		    "(pid %d) exited with status %d before registering", i,
		    es->id, (int)es->pids[i], WIFEXITED(status) ?
		    WEXITSTATUS(status) : 128 + WTERMSIG(status));
		es->pids[i] = 0;
		fprintf(stderr, "\nlaunch: %s\n", es->why);
		proc_tail(stderr, json_string_value(json_object_get(rec,
		    "output_file")), 12);
		return -1;
	}
	job = json_string_value(json_object_get(json_object_get(es->state,
	    "state"), "job_id"));
	if (job != NULL && es->l->batch != NULL &&
	    ipp_monotonic() >= w->next_poll) {
		w->next_poll = ipp_monotonic() + 1;
		if (batch_poll(es->l->batch, job) == 0) {
			snprintf(es->why, sizeof(es->why), "%s job '%s' of "
			    "set '%s' ended before its engines registered",
			    es->l->batch->name, job, es->id);
			fprintf(stderr, "\nlaunch: %s\n", es->why);
			out = json_string_value(json_object_get(json_object_get(
			    es->state, "state"), "output_file"));
			if (out != NULL)
				proc_tail(stderr, out, 12);
			return -1;
		}
	}
	return 0;
}

/* Wait until both connection files load: the controller is listening. */
static int
wait_files(struct cluster *c, double deadline)
{
	struct ipp_conninfo ci;
	struct waitctx w = { c, NULL, 0 };
	char path[1200], why[256];
	const char *job;

	job = json_string_value(json_object_get(json_object_get(
	    json_object_get(c->doc, "controller"), "state"), "job_id"));
	for (;;) {
		ipp_profile_connfile(&c->prof, "engine", path, sizeof(path));
		if (ipp_conninfo_load(path, &ci, why, sizeof(why)) == 0) {
			ipp_profile_connfile(&c->prof, "client", path,
			    sizeof(path));
			if (ipp_conninfo_load(path, &ci, why,
			    sizeof(why)) == 0)
				return 0;
		}
		if (check_controller(&w) == -1)
			return -1;
		if (job != NULL && ipp_monotonic() >= w.next_poll) {
			w.next_poll = ipp_monotonic() + 1;
			if (batch_poll(c->ctl_l->batch, job) == 0) {
				snprintf(c->why, sizeof(c->why), "controller "
				    "job '%s' ended before writing '%s'", job,
				    path);
				return -1;
			}
		}
		if (ipp_monotonic() > deadline) {
			snprintf(c->why, sizeof(c->why), "controller did not "
			    "write '%s' in time: %s", path, why);
			return -1;
		}
		usleep(job != NULL ? 50000 : 1000);
	}
}

/* Start one set of n engines and record it in the document. */
static int
start_set(struct cluster *c, struct eset *es, int n,
    const struct launcher *l)
{
	json_t *sets = json_object_get(json_object_get(c->doc, "engines"),
	    "sets");

	memset(es, 0, sizeof(*es));
	new_set_id(es->id, sizeof(es->id));
	es->n = n;
	es->l = l;
	es->state = json_pack("{s:i, s:s, s:{}, s:{}}", "n", n, "class",
	    l->engine_class, "engines", "state");
	json_object_set_new(sets, es->id, es->state);
	if (l->start_engines(c, es) == -1) {
		if (es->why[0] == '\0')
			snprintf(es->why, sizeof(es->why), "%s", c->why);
		return -1;
	}
	return cluster_save_state(c);
}

static void
free_set(struct eset *es)
{
	free(es->pids);
	es->pids = NULL;
}

/* Wait for target registrations; on failure the reason is printed. */
static int
wait_engines(struct cluster *c, struct watch *wt, struct eset *es,
    int target)
{
	struct waitctx w = { c, es, ipp_monotonic() + 1 };
	double deadline = ipp_monotonic() + c->timeout;

	if (watch_wait(wt, target, deadline, c->tty, check_set, &w) == 0)
		return 0;
	if (errno == ETIMEDOUT)
		fprintf(stderr, "launch: only %d of %d engines registered in "
		    "%.0f s (see the logs in %s)\n", watch_count(wt), target,
		    c->timeout, c->prof.log);
	return -1;
}

static int
start_mount(struct cluster *c)
{
	struct argv a;
	char prog[1024], log[1200];
	double deadline;
	pid_t pid;
	json_t *cl = json_object_get(c->doc, "cluster");

	if (cluster_find_program(c, "ippfs", prog, sizeof(prog)) == -1)
		return -1;
	cluster_logpath(c, "ippfs", log, sizeof(log));
	argv_init(&a);
	argv_add(&a, prog);
	argv_add(&a, "-f");	/* stay our child: stop finds it by pid */
	argv_addf(&a, "--profile-dir=%s", c->prof.dir);
	if (*c->id)
		argv_addf(&a, "--cluster-id=%s", c->id);
	argv_add(&a, c->mount);
	pid = proc_spawn(&a, log, NULL);
	argv_free(&a);
	if (pid == -1) {
		snprintf(c->why, sizeof(c->why), "cannot start '%s': %s",
		    prog, strerror(errno));
		return -1;
	}
	json_object_set_new(cl, "mount", json_string(c->mount));
	json_object_set_new(cl, "mount_state", proc_record(pid, log));
	cluster_save_state(c);
	deadline = ipp_monotonic() + 10;
	while (!state_is_mountpoint(c->mount)) {
		if (proc_reap(pid, NULL) || ipp_monotonic() > deadline) {
			snprintf(c->why, sizeof(c->why), "ippfs did not mount "
			    "'%s'", c->mount);
			proc_tail(stderr, log, 12);
			return -1;
		}
		usleep(2000);
	}
	return 0;
}

/* Stay until SIGINT/SIGTERM or the controller's end, then stop all. */
static int
foreground(struct cluster *c)
{
	struct waitctx w = { c, NULL, 0 };
	json_t *set, *e, *now;
	const char *k, *k2;
	int failed = 0;
	/* a controller that is no child of ours is asked now and then */
	double poll = (double)conf_long(c, poll_classes, "poll_seconds", 60);
	double next_poll = ipp_monotonic() + poll;

	while (!stop_requested) {
		if (access(c->statefile, F_OK) == -1) {
			/* "launch stop" from elsewhere did the work */
			fprintf(stderr, "launch: cluster '%s' was stopped\n",
			    c->id);
			return 0;
		}
		if (check_controller(&w) == -1) {
			failed = 1;
			break;
		}
		if (c->ctl_l->controller_alive != NULL &&
		    ipp_monotonic() >= next_poll) {
			next_poll = ipp_monotonic() + poll;
			if (!c->ctl_l->controller_alive(json_object_get(
			    json_object_get(c->doc, "controller"), "state"))) {
				fprintf(stderr, "launch: the controller of "
				    "cluster '%s' is gone\n", c->id);
				failed = 1;
				break;
			}
		}
		/* reap engines that end on their own: no zombies */
		json_object_foreach(json_object_get(json_object_get(c->doc,
		    "engines"), "sets"), k, set)
			json_object_foreach(json_object_get(set, "engines"),
			    k2, e)
				proc_reap((pid_t)json_integer_value(
				    json_object_get(e, "pid")), NULL);
		usleep(100000);
	}
	fprintf(stderr, "launch: stopping cluster '%s'\n", c->id);
	/* "launch engines" may have added sets since we wrote it */
	if ((now = cluster_load_state(c->statefile)) != NULL) {
		json_decref(c->doc);
		c->doc = now;
	}
	cluster_stop(c->doc, c->statefile, conf_long(c, cluster_class,
	    "stop_timeout", 5));
	return failed ? -1 : 0;
}

int
cluster_start(struct cluster *c)
{
	struct watch *wt = NULL;
	struct eset es = { .pids = NULL };
	json_t *old, *ctl;
	char path[1200];
	int rc = -1;

	cluster_statefile(&c->prof, c->id, c->statefile, sizeof(c->statefile));
	catch_stop_signals();
	log_messages(c);
	if ((old = cluster_load_state(c->statefile)) != NULL) {
		if (cluster_running(old)) {
			snprintf(c->why, sizeof(c->why), "cluster '%s' is "
			    "already running (%s); stop it first", c->id,
			    c->statefile);
			json_decref(old);
			return -1;
		}
		/* leftovers of a cluster whose controller died */
		cluster_stop(old, c->statefile, 2);
		json_decref(old);
	}
	if (*c->mount && cluster_find_program(c, "ippfs", path,
	    sizeof(path)) == -1) {
		snprintf(c->why, sizeof(c->why), "--mount needs ippfs, which "
		    "was not found next to launch (../ippfs/ippfs) or on PATH");
		return -1;
	}
	ipp_profile_connfile(&c->prof, "client", path, sizeof(path));
	unlink(path);
	ipp_profile_connfile(&c->prof, "engine", path, sizeof(path));
	unlink(path);
	c->doc = json_pack("{s:{s:s, s:s, s:i, s:s, s:s, s:i, s:f}, "
	    "s:{s:s, s:{}}, s:{s:s, s:{}}}",
	    "cluster", "cluster_id", c->id, "profile_dir", c->prof.dir, "n",
	    c->n, "class", "launch", "controller_ip",
	    conf_str(c, cluster_class, "controller_ip", "127.0.0.1"),
	    "launch_pid", (int)getpid(), "delay", 0.0,
	    "controller", "class", c->ctl_l->controller_class, "state",
	    "engines", "class", c->eng_l->engine_class, "sets");
	if (!c->daemonize)
		json_object_set_new(json_object_get(c->doc, "cluster"),
		    "launch_state", proc_record(getpid(), ""));
	ctl = json_object_get(json_object_get(c->doc, "controller"), "state");
	if (c->ctl_l->start_controller(c, ctl) == -1)
		goto out;
	if (cluster_save_state(c) == -1) {
		snprintf(c->why, sizeof(c->why), "cannot write '%s': %s",
		    c->statefile, strerror(errno));
		goto out;
	}
	if (wait_files(c, ipp_monotonic() + conf_long(c, cluster_class,
	    "controller_timeout", 60)) == -1)
		goto out;
	ipp_profile_connfile(&c->prof, "client", path, sizeof(path));
	if ((wt = watch_open(path, c->why, sizeof(c->why))) == NULL)
		goto out;
	if (c->n > 0) {
		if (start_set(c, &es, c->n, c->eng_l) == -1) {
			snprintf(c->why, sizeof(c->why), "%s", es.why);
			goto out;
		}
		if (wait_engines(c, wt, &es, es.n) == -1) {
			snprintf(c->why, sizeof(c->why), "engines failed to "
			    "start%s%s", es.why[0] ? ": " : "", es.why);
			goto out;
		}
	}
	watch_close(&wt);
	if (*c->mount && start_mount(c) == -1)
		goto out;
	fprintf(stderr, "launch: cluster '%s' is up: %d engines, profile "
	    "'%s'\n", c->id, es.n, c->prof.dir);
	rc = 0;
out:
	watch_close(&wt);
	free_set(&es);
	if (rc == -1) {
		cluster_stop(c->doc, c->statefile, 2);
		return -1;
	}
	if (!c->daemonize)
		return foreground(c);
	return 0;
}

/* launch engines: one more set for the running cluster in c->doc. */
int
cluster_add_engines(struct cluster *c, int n, const struct launcher *l)
{
	struct watch *wt;
	struct eset es;
	char path[1200];
	int base, rc = -1;

	ipp_profile_connfile(&c->prof, "client", path, sizeof(path));
	if ((wt = watch_open(path, c->why, sizeof(c->why))) == NULL)
		return -1;
	/* learn the engines already in before counting the new ones */
	if (watch_sync(wt, 10) == -1) {
		snprintf(c->why, sizeof(c->why), "no answer from the "
		    "controller of cluster '%s'", c->id);
		watch_close(&wt);
		return -1;
	}
	base = watch_count(wt);
	if (start_set(c, &es, n, l) == -1) {
		snprintf(c->why, sizeof(c->why), "%s", es.why);
		goto fail;
	}
	if (wait_engines(c, wt, &es, base + es.n) == -1) {
		snprintf(c->why, sizeof(c->why), "engines failed to start%s%s",
		    es.why[0] ? ": " : "", es.why);
		goto fail;
	}
	rc = 0;
	fprintf(stderr, "launch: added %d engines (set '%s') to cluster "
	    "'%s'\n", es.n, es.id, c->id);
fail:
	watch_close(&wt);
	if (rc == -1 && es.state != NULL) {
		/* stop only the new set */
		json_t *one = json_pack("{s:{s:{s:O}}}", "engines", "sets",
		    es.id, es.state);

		cluster_stop(one, NULL, 2);
		json_decref(one);
		json_object_del(json_object_get(json_object_get(c->doc,
		    "engines"), "sets"), es.id);
	}
	free_set(&es);
	cluster_save_state(c);
	return rc;
}
