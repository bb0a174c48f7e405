/*
 * engined.c - main(), registration and the main thread's event loop.
 *
 * Start-up follows ipengine: find the engine connection file (waiting a
 * bounded time for it to appear), register on the controller's
 * registration socket, then connect the shell ROUTER to mux, task and our
 * broadcast leaf, the control ROUTER, iopub and the heart, all with our
 * uuid as identity.  The Python thread starts once registration has
 * succeeded, as ipengine builds its kernel after the registration reply,
 * and at idle priority until a request needs it (pyexec.c, py_launch):
 * the interpreter's start-up (60-80 ms of CPU with what the first apply
 * needs) then does not compete with the registration of the other
 * engines of a cluster starting on the same cores, yet is done by the
 * time a client sends its first request.  Requests arriving meanwhile
 * wait on the shell socket.
 *
 * The loop: pings are echoed at once (pure C); control requests are
 * answered here, except clear, which needs Python; replies coming back
 * from the Python thread are sent on; while a request runs long, its
 * output is streamed.  Shell requests are the Python thread's once its
 * interpreter is up (pyshell.c): until then this loop only watches the
 * shell socket, to hurry the interpreter when a request waits.  When the
 * controller's pings stop for hb_misses periods the engine registers
 * again (a controller restarted with --reuse), up to max_reconnects
 * times.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engined.h"

#define TUNNEL_WAIT	30	/* seconds for ssh to log in and forward */

static volatile sig_atomic_t got_term;

static void
on_term(int sig)
{
	got_term = sig;
}

#define SETSTR(fn, field) static void fn(void *p, const char *v) { \
    struct engine_config *c = p; \
    ipp_opt_copy(c->field, sizeof(c->field), v, #field); }

SETSTR(set_file, file)
SETSTR(set_profile, profile)
SETSTR(set_profile_dir, profile_dir)
SETSTR(set_cluster_id, cluster_id)
SETSTR(set_work_dir, work_dir)
SETSTR(set_startup_script, startup_script)
SETSTR(set_startup_command, startup_command)
SETSTR(set_mpi, mpi)
SETSTR(set_mpi_init, mpi_init)
SETSTR(set_sshserver, sshserver)
SETSTR(set_sshkey, sshkey)

/* ipyparallel 7's IPEngine.use_mpi: MPI through mpi4py */
static void
set_use_mpi(void *p, const char *v)
{
	set_mpi(p, "mpi4py");
}

static void
set_log_level(void *p, const char *v)
{
	struct engine_config *c = p;

	if ((c->log_level = log_parselevel(v)) == -1)
		fatalx("invalid --log-level '%s'", v);
}

static void
set_log_to_file(void *p, const char *v)
{
	((struct engine_config *)p)->log_to_file = 1;
}

static void
set_id(void *p, const char *v)
{
	((struct engine_config *)p)->id = (int)ipp_opt_long(v, "--id", 0,
	    10000000);
}

static void
set_timeout(void *p, const char *v)
{
	char *end;
	double d = strtod(v, &end);

	if (*end != '\0' || d <= 0)
		fatalx("invalid --timeout '%s' (seconds)", v);
	((struct engine_config *)p)->timeout = d;
}

static void
set_wait(void *p, const char *v)
{
	((struct engine_config *)p)->wait_for_file = (double)ipp_opt_long(v,
	    "--wait-for-url-file", 0, 86400);
}

static void
set_reconnects(void *p, const char *v)
{
	((struct engine_config *)p)->max_reconnects = (int)ipp_opt_long(v,
	    "--max-reconnects", -1, 1000000);
}

static void
set_ipython_dir(void *p, const char *v)
{
	setenv("IPYTHONDIR", v, 1);
}

static void usage(int) __attribute__((noreturn));

static void
help(void *p, const char *v)
{
	usage(0);
}

static const struct ipp_option options[] = {
	{ "file", IPP_OPT_ARG, set_file,
	    "FILE  engine connection file (ipcontroller-engine.json)" },
	{ "profile", IPP_OPT_ARG, set_profile, "NAME  IPython profile" },
	{ "profile-dir", IPP_OPT_ARG, set_profile_dir, "DIR  profile dir" },
	{ "cluster-id", IPP_OPT_ARG, set_cluster_id,
	    "ID  use ipcontroller-ID-engine.json" },
	{ "id", IPP_OPT_ARG, set_id, "N  ask the controller for engine id N" },
	{ "log-level", IPP_OPT_ARG, set_log_level,
	    "LEVEL  DEBUG, INFO, WARN (default), ERROR or 10..50" },
	{ "log-to-file", IPP_OPT_FLAG, set_log_to_file,
	    "log to PROFILE/log/engined-ID-PID.log" },
	{ "work-dir", IPP_OPT_ARG, set_work_dir, "DIR  run code here" },
	{ "startup-script", IPP_OPT_ARG, set_startup_script,
	    "FILE  Python file run before any request" },
	{ "startup-command", IPP_OPT_ARG, set_startup_command,
	    "CODE  Python code run before any request" },
	{ "mpi", IPP_OPT_ARG, set_mpi,
	    "mpi4py  initialise MPI through mpi4py first" },
	{ "mpi-init", IPP_OPT_ARG, set_mpi_init,
	    "CODE  run this with --mpi instead of the default MPI set-up" },
	{ "use-mpi", IPP_OPT_FLAG, set_use_mpi, NULL },
	{ "timeout", IPP_OPT_ARG, set_timeout,
	    "SECONDS  wait for the registration reply (default 5)" },
	{ "wait-for-url-file", IPP_OPT_ARG, set_wait,
	    "SECONDS  wait for the connection file (default 10)" },
	{ "max-reconnects", IPP_OPT_ARG, set_reconnects,
	    "N  re-register after losing the controller, -1 forever "
	    "(default 10)" },
	{ "sshserver", IPP_OPT_ARG, set_sshserver,
	    "[USER@]HOST[:PORT]  reach the controller through ssh to HOST "
	    "(default: the connection file's \"ssh\")" },
	{ "ssh", IPP_OPT_ARG, set_sshserver, NULL },
	{ "sshkey", IPP_OPT_ARG, set_sshkey,
	    "FILE  the private key for --sshserver (alone: ssh to the "
	    "controller's host)" },
	{ "ipython-dir", IPP_OPT_ARG, set_ipython_dir, NULL },
	{ "help", IPP_OPT_FLAG, help, "this text" },
	{ "h", IPP_OPT_FLAG, help, NULL },
	{ NULL, 0, NULL, NULL }
};

/*
 * traitlets names engined understands, also in the profile's
 * ipengine_config.py/.json; a subclass's before its base's (the first
 * wins, as in traitlets), the newer name before the deprecated one
 */
static const struct ipp_trait traits[] = {
	{ "IPEngine.url_file", "file" },
	{ "IPEngine.id", "id" },
	{ "IPEngine.timeout", "timeout" },
	{ "IPEngine.wait_for_url_file", "wait-for-url-file" },
	{ "IPEngine.work_dir", "work-dir" },
	{ "IPEngine.startup_script", "startup-script" },
	{ "IPEngine.startup_command", "startup-command" },
	{ "IPEngine.sshserver", "sshserver" },
	{ "IPEngine.sshkey", "sshkey" },
	{ "BaseParallelApplication.cluster_id", "cluster-id" },
	{ "BaseParallelApplication.work_dir", "work-dir" },
	{ "BaseParallelApplication.log_to_file", "log-to-file" },
	{ "Application.log_level", "log-level" },
	{ "IPEngine.use_mpi", "use-mpi" },
	{ "IPEngine.init_mpi", "mpi-init" },
	{ "MPI.use", "mpi" },
	{ "MPI.init_script", "mpi-init" },
	{ NULL, NULL }
};

static void
usage(int status)
{
	ipp_opts_usage(status ? stderr : stdout, "usage: engined [options]\n\n"
	    "An IPython Parallel engine: runs Python code for a controller "
	    "(hubd or\nipcontroller), a drop-in for ipengine.", options, traits,
	    "Environment: IPYTHONDIR.\n");
	exit(status);
}

void
eng_topic(struct eng *e, const char *kind, char *buf, size_t len)
{
	snprintf(buf, len, "engine.%d.%s", e->id, kind);
}

/* Find and load the connection file, waiting for it as ipengine does. */
static void
load_connection(struct eng *e)
{
	struct ipp_profile prof;
	char path[1200], why[512];
	double deadline;

	if (e->cfg.file[0] != '\0')
		snprintf(path, sizeof(path), "%s", e->cfg.file);
	else {
		if (ipp_profile_init(&prof, e->cfg.profile_dir, e->cfg.profile,
		    e->cfg.cluster_id, 0) == -1)
			fatal("profile");
		ipp_profile_connfile(&prof, "engine", path, sizeof(path));
	}
	deadline = ipp_monotonic() + e->cfg.wait_for_file;
	while (access(path, R_OK) == -1) {
		if (ipp_monotonic() >= deadline)
			fatalx("connection file '%s' did not appear within "
			    "%.0f s", path, e->cfg.wait_for_file);
		usleep(50000);
	}
	if (ipp_conninfo_load(path, &e->ci, why, sizeof(why)) == -1)
		fatalx("%s", why);
	log_debug("using connection file '%s'", path);
	/* as ipengine: the option wins over the file's "ssh" */
	if (e->cfg.sshserver[0] == '\0')
		snprintf(e->cfg.sshserver, sizeof(e->cfg.sshserver), "%s",
		    e->ci.ssh);
}

/*
 * Through the ssh server, when there is one: before any thread exists,
 * so that the ssh child is forked from a one-thread process.
 */
static void
open_tunnel(struct eng *e)
{
	char url[512];

	ipp_tunnel_init(&e->tun);
	if (e->cfg.sshserver[0] == '\0' && e->cfg.sshkey[0] == '\0')
		return;
	ipp_conninfo_url(&e->ci, e->ci.registration, url, sizeof(url));
	if (ipp_tunnel_open(&e->tun, e->cfg.sshserver, e->cfg.sshkey, &e->ci,
	    TUNNEL_WAIT) == -1)
		fatalx("cannot reach the controller at %s through ssh to "
		    "'%s'", url, e->cfg.sshserver[0] ? e->cfg.sshserver :
		    "its host");
}

static void *
eng_socket(struct eng *e, int type, const char *url)
{
	void *s = zmq_socket(e->zctx, type);
	int zero = 0, linger = 1000;

	if (s == NULL)
		fatalx("zmq_socket: %s", zmq_strerror(errno));
	zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	if (type != ZMQ_SUB && type != ZMQ_PUB)
		zmq_setsockopt(s, ZMQ_ROUTING_ID, e->uuid, strlen(e->uuid));
	if (e->ci.curve_serverkey[0] != '\0') {
		char pub[41], sec[41];

		if (zmq_curve_keypair(pub, sec) == -1)
			fatalx("CURVE keypair: %s", zmq_strerror(errno));
		zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, e->ci.curve_serverkey, 40);
		zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40);
		zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40);
	}
	if (url != NULL && zmq_connect(s, url) == -1)
		fatalx("cannot connect to '%s': %s", url, zmq_strerror(errno));
	return s;
}

static void
close_sock(void **s)
{
	if (*s != NULL) {
		zmq_close(*s);
		*s = NULL;
	}
}

/*
 * Register and wait (bounded) for the reply.  0 registered, -1 no answer
 * or refused (with the reason logged).
 */
static int
do_register(struct eng *e)
{
	struct ipp_msg m;
	struct ipp_frames out;
	char url[512], why[256];
	zmq_pollitem_t pi;
	char host[256];
	json_t *c, *st;
	double deadline;
	int rc = -1;

	close_sock(&e->reg);
	ipp_conninfo_url(&e->ci, e->ci.registration, url, sizeof(url));
	e->reg = eng_socket(e, ZMQ_DEALER, url);
	/*
	 * host and pid, so that hubd's clients (ippfs) can show where the
	 * engine runs; ipcontroller reads only uuid and id and ignores them.
	 */
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	c = json_pack("{s:s, s:s, s:i}", "uuid", e->uuid, "host", host, "pid",
	    (int)getpid());
	if (e->cfg.id >= 0 || e->id >= 0)
		json_object_set_new(c, "id", json_integer(e->cfg.id >= 0 ?
		    e->cfg.id : e->id));
	ipp_frames_init(&out);
	if (ipp_msg_build(&e->sess, &out, NULL, 0, "registration_request",
	    NULL, NULL, NULL, c) == -1 ||
	    ipp_frames_send(e->reg, &out, 0, 0) == -1)
		fatalx("cannot send registration_request");
	ipp_frames_release(&out);
	log_info("registering with controller at %s", url);
	ipp_msg_init(&m);
	deadline = ipp_monotonic() + e->cfg.timeout;
	pi.socket = e->reg;
	pi.events = ZMQ_POLLIN;
	while (!got_term) {
		double left = deadline - ipp_monotonic();

		if (left <= 0) {
			log_warnx("no registration reply from %s within %.1f s",
			    url, e->cfg.timeout);
			break;
		}
		if (zmq_poll(&pi, 1, (long)(left * 1000) + 1) <= 0)
			continue;
		if (ipp_msg_recv(&e->sess, e->reg, &m, 0, why,
		    sizeof(why)) == -1) {
			log_warnx("bad message on registration socket: %s",
			    why);
			continue;
		}
		st = json_object_get(m.content, "status");
		if (!json_is_string(st) ||
		    strcmp(json_string_value(st), "ok") != 0) {
			log_warnx("registration refused: %s", json_string_value(
			    json_object_get(m.content, "evalue")));
			break;
		}
		e->id = (int)json_integer_value(json_object_get(m.content, "id"));
		e->hb_period = (int)json_integer_value(json_object_get(m.content,
		    "hb_period"));
		if (e->hb_period <= 0)
			e->hb_period = 3000;
		if (e->cfg.id >= 0 && e->id != e->cfg.id)
			log_warnx("asked for engine id %d, got %d", e->cfg.id,
			    e->id);
		rc = 0;
		break;
	}
	ipp_msg_release(&m);
	return rc;
}

/* Connect everything but registration, after a successful register. */
static void
connect_channels(struct eng *e)
{
	char url[512];
	void *shell;
	int leaf;

	/* the Python thread's shell, once given, is closed by the thread */
	if (!e->shell_given)
		close_sock(&e->shell);
	close_sock(&e->control);
	close_sock(&e->hb_sub);
	close_sock(&e->hb_dealer);
	shell = eng_socket(e, ZMQ_ROUTER, NULL);
	ipp_conninfo_url(&e->ci, e->ci.mux, url, sizeof(url));
	zmq_connect(shell, url);
	ipp_conninfo_url(&e->ci, e->ci.task, url, sizeof(url));
	zmq_connect(shell, url);
	if (e->ci.nbroadcast > 0) {
		leaf = e->id % e->ci.nbroadcast;
		ipp_conninfo_url(&e->ci, e->ci.broadcast[leaf], url,
		    sizeof(url));
		zmq_connect(shell, url);
	}
	if (e->shell_given)
		py_give_shell(e, shell);
	else
		e->shell = shell;
	ipp_conninfo_url(&e->ci, e->ci.control, url, sizeof(url));
	e->control = eng_socket(e, ZMQ_ROUTER, url);
	ipp_conninfo_url(&e->ci, e->ci.iopub, url, sizeof(url));
	/* the Python thread publishes too: swapped under its lock */
	py_iopub_set(e, eng_socket(e, ZMQ_PUB, url));
	ipp_conninfo_url(&e->ci, e->ci.hb_ping, url, sizeof(url));
	e->hb_sub = eng_socket(e, ZMQ_SUB, url);
	zmq_setsockopt(e->hb_sub, ZMQ_SUBSCRIBE, "", 0);
	ipp_conninfo_url(&e->ci, e->ci.hb_pong, url, sizeof(url));
	e->hb_dealer = eng_socket(e, ZMQ_DEALER, url);
	e->last_ping = ipp_monotonic();
	e->registered = 1;
	log_info("registered as engine %d", e->id);
}

/* The heart: echo every ping at once. */
static void
on_ping(struct eng *e)
{
	struct ipp_frames fr;
	int k;

	ipp_frames_init(&fr);
	for (k = 0; k < 64 && ipp_frames_recv(e->hb_sub, &fr, ZMQ_DONTWAIT)
	    > 0; k++) {
		ipp_frames_send(e->hb_dealer, &fr, 0, ZMQ_DONTWAIT);
		e->last_ping = ipp_monotonic();
	}
	ipp_frames_release(&fr);
}

/*
 * What the Python thread posted, in order: clear's replies, and that the
 * interpreter is up, when the shell socket becomes the thread's.
 */
static void
on_python(struct eng *e)
{
	struct outq l;
	struct out *o;

	py_take(e, &l);
	while ((o = TAILQ_FIRST(&l)) != NULL) {
		TAILQ_REMOVE(&l, o, q);
		switch (o->kind) {
		case OUT_CONTROL:
			ipp_frames_send(e->control, &o->fr, 0, ZMQ_DONTWAIT);
			break;
		case OUT_DONE:
			if (o->job == NULL && !e->py_ready) {
				e->py_ready = 1;	/* interpreter is up */
				py_give_shell(e, e->shell);
				e->shell = NULL;
			}
			break;
		}
		ipp_frames_release(&o->fr);
		free(o);
	}
}

/* The Python thread starts late and slowly: hurry it, work is waiting. */
static void
hurry(struct eng *e)
{
	if (py_launch(e) == -1)
		fatal("cannot start the Python interpreter's thread");
	py_hurry(e);
}

/*
 * The controller was lost (or may have dropped us): register again, up
 * to max_reconnects times; -1 when giving up (exit status 1).
 */
static int
reregister(struct eng *e)
{
	if (e->cfg.max_reconnects >= 0 &&
	    e->reconnects >= e->cfg.max_reconnects) {
		log_warnx("giving up after %d re-registrations",
		    e->reconnects);
		e->exit_status = 1;
		return -1;
	}
	e->reconnects++;
	e->registered = 0;
	while (!got_term && do_register(e) == -1) {
		ipp_tunnel_check(&e->tun, ipp_monotonic());
		sleep(1);
	}
	if (!got_term)
		connect_channels(e);
	return 0;
}

static void
run(struct eng *e)
{
	zmq_pollitem_t it[5];
	double period, now;
	uint64_t expired;
	int n, nit;

	while (!e->quit && !got_term) {
		it[0].socket = NULL;
		it[1].socket = NULL;
		it[2].socket = e->hb_sub;
		it[3].socket = e->control;
		/* before the interpreter is up: does a request wait? */
		it[4].socket = e->shell_given || e->py_hurried ? NULL : e->shell;
		for (n = 0; n < 5; n++) {
			it[n].fd = -1;
			it[n].events = ZMQ_POLLIN;
			it[n].revents = 0;
		}
		it[0].fd = e->py_fd;
		it[1].fd = py_stream_fd(e);
		nit = !e->registered ? 2 : it[4].socket != NULL ? 5 : 4;
		period = e->hb_period / 1000.0;
		if (zmq_poll(it, nit, (long)(period * 500)) == -1 &&
		    errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		if (it[0].revents & ZMQ_POLLIN)
			on_python(e);
		/* a request has run STREAM_EVERY ms: stream its output */
		if ((it[1].revents & ZMQ_POLLIN) && read(it[1].fd, &expired,
		    sizeof(expired)) == -1 && errno != EAGAIN && errno != EINTR)
			fatal("read from the stream timer");
		if (!e->registered)
			continue;
		if (it[2].revents & ZMQ_POLLIN)
			on_ping(e);
		if (it[3].revents & ZMQ_POLLIN)
			while (control_dispatch(e) > 0)
				;
		if (it[4].revents & ZMQ_POLLIN)
			hurry(e);
		pyexec_flush(e);
		now = ipp_monotonic();
		if (ipp_tunnel_check(&e->tun, now) == 1) {
			/*
			 * The controller saw our connections close when the
			 * ssh died and drops an engine it thinks dead; it
			 * refuses our uuid until it has, so register again
			 * until it takes us back.
			 */
			log_warnx("registering again after the ssh tunnel "
			    "was re-opened");
			if (reregister(e) == -1)
				break;
		} else if (e->cfg.hb_misses > 0 &&
		    now - e->last_ping > period * e->cfg.hb_misses) {
			log_warnx("no heartbeat from the controller for %.1f s",
			    now - e->last_ping);
			if (reregister(e) == -1)
				break;
		}
	}
}

void
engined_user_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGALRM);
	sigaddset(set, SIGQUIT);
}

static void
add_startup(struct eng *e, const char *text, int is_file)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = JOB_STARTUP;
	ipp_msg_init(&j->req);
	j->text = xstrdup(text);
	j->is_file = is_file;
	py_submit(e, j);	/* it runs first thing once Python is up */
	hurry(e);
}

/* Code that runs before any request: MPI first, as ipengine does. */
static void
queue_startup(struct eng *e)
{
	if (strcmp(e->cfg.mpi, "mpi4py") == 0 && e->cfg.mpi_init[0] != '\0')
		add_startup(e, e->cfg.mpi_init, 0);
	else if (strcmp(e->cfg.mpi, "mpi4py") == 0)
		add_startup(e, "from mpi4py import MPI as mpi\n"
		    "mpi.size = mpi.COMM_WORLD.Get_size()\n"
		    "mpi.rank = mpi.COMM_WORLD.Get_rank()\n", 0);
	else if (e->cfg.mpi[0] != '\0')
		log_warnx("unsupported --mpi '%s' (only mpi4py)", e->cfg.mpi);
	/* as IPython's shell does at start */
	if (getenv("PYTHONSTARTUP") != NULL && *getenv("PYTHONSTARTUP") != '\0')
		add_startup(e, getenv("PYTHONSTARTUP"), 1);
	if (e->cfg.startup_script[0] != '\0')
		add_startup(e, e->cfg.startup_script, 1);
	if (e->cfg.startup_command[0] != '\0')
		add_startup(e, e->cfg.startup_command, 0);
}

/* Under mpiexec without --id, ask for our MPI rank as engine id. */
static void
mpi_rank_id(struct eng *e)
{
	static const char *vars[] = { "OMPI_COMM_WORLD_RANK", "PMI_RANK",
	    "PMIX_RANK", "MV2_COMM_WORLD_RANK", "SLURM_PROCID" };
	const char *v;
	size_t i;

	if (e->cfg.id >= 0 || e->cfg.mpi[0] == '\0')
		return;
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if ((v = getenv(vars[i])) != NULL && *v != '\0') {
			e->cfg.id = atoi(v);
			return;
		}
}

int
main(int argc, char **argv)
{
	static const char *const files[] = { "ipengine_config", NULL };
	struct eng *e = xcalloc(1, sizeof(*e));
	struct engine_config first;
	struct sigaction sa;
	sigset_t set;
	char logpath[1400];

	log_init("engined", LOG_LVL_WARN, NULL);
	e->cfg.id = -1;
	e->cfg.log_level = LOG_LVL_WARN;
	e->cfg.timeout = 5;
	e->cfg.wait_for_file = 10;
	e->cfg.max_reconnects = 10;
	e->cfg.hb_misses = 50;
	e->id = -1;
	first = e->cfg;
	if (ipp_opts_parse_profile(&e->cfg, &first, options, traits, argc,
	    argv, files, offsetof(struct engine_config, profile),
	    offsetof(struct engine_config, profile_dir)) == -1)
		usage(2);
	log_setlevel(e->cfg.log_level);
	mpi_rank_id(e);
	load_connection(e);
	open_tunnel(e);
	ipp_new_id(e->uuid, sizeof(e->uuid));
	snprintf(e->md_engine, sizeof(e->md_engine), "{\"engine\":\"%s\"}",
	    e->uuid);		/* a uuid needs no JSON escapes */
	e->py_fd = -1;
	if (ipp_session_init(&e->sess, e->ci.key, e->uuid) == -1 ||
	    ipp_session_enable_replay(&e->sess, 65536) == -1)
		fatal("session");
	if (e->cfg.log_to_file) {
		struct ipp_profile prof;

		if (ipp_profile_init(&prof, e->cfg.profile_dir, e->cfg.profile,
		    e->cfg.cluster_id, 1) == 0) {
			snprintf(logpath, sizeof(logpath),
			    "%s/engined-%s-%ld.log", prof.log,
			    e->cfg.cluster_id, (long)getpid());
			if (log_init("engined", e->cfg.log_level, logpath) == -1)
				log_warn("cannot open '%s'", logpath);
		}
	}
	if (e->cfg.work_dir[0] != '\0' && chdir(e->cfg.work_dir) == -1)
		fatal("cannot change to work dir '%s'", e->cfg.work_dir);

	/*
	 * SIGINT and the other signals user code may handle belong to the
	 * Python thread (KeyboardInterrupt, signal.signal handlers); block
	 * them here before any other thread exists so only it sees them.
	 * SIGTERM is ours: a clean exit.
	 */
	engined_user_signals(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((e->zctx = ipp_zctx_new()) == NULL)
		fatalx("zmq_ctx_new");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!got_term && do_register(e) == -1) {
		if (e->cfg.max_reconnects >= 0 &&
		    ++e->reconnects > e->cfg.max_reconnects) {
			ipp_tunnel_close(&e->tun);
			fatalx("could not register with the controller");
		}
		ipp_tunnel_check(&e->tun, ipp_monotonic());
		sleep(1);
	}
	if (!got_term && py_start(e) == -1)
		fatalx("cannot start the Python interpreter");
	queue_startup(e);	/* startup code starts Python at once */
	if (!got_term) {
		connect_channels(e);
		if (py_launch(e) == -1)
			fatal("cannot start the Python interpreter's thread");
		run(e);
	}
	py_stop(e);
	close_sock(&e->reg);
	close_sock(&e->shell);		/* if not the Python thread's */
	close_sock(&e->control);
	py_iopub_set(e, NULL);
	close_sock(&e->hb_sub);
	close_sock(&e->hb_dealer);
	zmq_ctx_term(e->zctx);
	ipp_tunnel_close(&e->tun);
	return e->exit_status;
}
