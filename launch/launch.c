/*
 * launch.c - our ipcluster: start, grow, signal, list and stop IPython
 * Parallel clusters, locally or through MPI, ssh and batch systems.
 *
 *   launch start [-n N] [--engines KIND] [--controller KIND] [--daemonize]
 *   launch stop | list | engines -n N | signal SIG | clean
 *   launch profile create NAME | profile list
 *
 * This file is the command line: a table of subcommands, a table of
 * launcher backends (one file each), and the mapping of options onto the
 * traitlets-shaped configuration (conf.c), which the command line writes
 * before the profile's ipcluster_config.py/.json are read so that it
 * wins.
 * The work is in cluster.c (start) and state.c (stop and the record).
 */
#include <sys/stat.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "launch.h"

const struct launcher *const launchers[] = {
	&local_launcher, &mpi_launcher, &ssh_launcher, &sshproxy_launcher,
	&slurm_launcher, &pbs_launcher, &sge_launcher, &lsf_launcher,
	&htcondor_launcher, &winhpc_launcher, NULL
};

/* What the options say; written into the config after parsing. */
static struct {
	const char	*args[32];	/* positional arguments */
	int		 nargs;
	int		 all;
	int		 help;
	int		 id_set;
	int		 controller_script;
} opt;

static json_t *cli;	/* the command line's settings, Class -> trait */

static void
set(const char *cls, const char *trait, json_t *v)
{
	json_t *o = json_object_get(cli, cls);

	if (o == NULL) {
		o = json_object();
		json_object_set_new(cli, cls, o);
	}
	json_object_set_new(o, trait, v);
}

static void
o_n(void *cfg, const char *v)
{
	set("Cluster", "n", json_integer(ipp_opt_long(v, "-n", 0, 100000)));
}
static void
o_profile(void *cfg, const char *v)
{
	set("Cluster", "profile", json_string(v));
}
static void
o_profile_dir(void *cfg, const char *v)
{
	set("Cluster", "profile_dir", json_string(v));
}
static void
o_cluster_id(void *cfg, const char *v)
{
	set("Cluster", "cluster_id", json_string(v));
}
static void
o_engines(void *cfg, const char *v)
{
	set("Cluster", "engine_launcher_class", json_string(v));
}
static void
o_controller(void *cfg, const char *v)
{
	set("Cluster", "controller_launcher_class", json_string(v));
}
static void
o_daemonize(void *cfg, const char *v)
{
	set("IPClusterStart", "daemonize", json_true());
}
static void
o_ip(void *cfg, const char *v)
{
	set("Cluster", "controller_ip", json_string(v));
}
static void
o_timeout(void *cfg, const char *v)
{
	set("Cluster", "engine_timeout", json_integer(ipp_opt_long(v,
	    "--timeout", 1, 86400)));
}
static void
o_mount(void *cfg, const char *v)
{
	set("Cluster", "mount", json_string(v));
}
static void
o_engine_cmd(void *cfg, const char *v)
{
	set("EngineLauncher", "engine_cmd", json_string(v));
	set("LocalEngineSetLauncher", "engine_cmd", json_string(v));
}
static void
o_controller_cmd(void *cfg, const char *v)
{
	set("ControllerLauncher", "controller_cmd", json_string(v));
}
static void
o_all(void *cfg, const char *v)
{
	opt.all = 1;
}
static void
o_help(void *cfg, const char *v)
{
	opt.help = 1;
}
static void
o_cscript(void *cfg, const char *v)
{
	opt.controller_script = 1;
}
static void
o_log_level(void *cfg, const char *v)
{
	int l = log_parselevel(v);

	if (l == -1)
		fatalx("invalid --log-level '%s'", v);
	log_setlevel(l);
}

static const struct ipp_option options[] = {
	{ "n", IPP_OPT_ARG, o_n, "N  number of engines (default: cores)" },
	{ "profile", IPP_OPT_ARG, o_profile, "NAME  IPython profile" },
	{ "profile-dir", IPP_OPT_ARG, o_profile_dir, "DIR  profile directory" },
	{ "cluster-id", IPP_OPT_ARG, o_cluster_id, "ID  cluster id" },
	{ "engines", IPP_OPT_ARG, o_engines,
	    "KIND  local mpi ssh sshproxy slurm pbs sge lsf htcondor "
	    "winhpc" },
	{ "controller", IPP_OPT_ARG, o_controller,
	    "KIND  local ssh slurm pbs sge lsf htcondor winhpc" },
	{ "daemonize", IPP_OPT_FLAG, o_daemonize,
	    "   return once the cluster is up" },
	{ "daemon", IPP_OPT_FLAG, o_daemonize, NULL },
	{ "ip", IPP_OPT_ARG, o_ip, "ADDR  controller interface" },
	{ "timeout", IPP_OPT_ARG, o_timeout,
	    "SECS  wait for registrations (60)" },
	{ "mount", IPP_OPT_ARG, o_mount, "DIR  mount the cluster with ippfs" },
	{ "engine-cmd", IPP_OPT_ARG, o_engine_cmd, "CMD  engine program" },
	{ "controller-cmd", IPP_OPT_ARG, o_controller_cmd,
	    "CMD  controller program" },
	{ "all", IPP_OPT_FLAG, o_all, "   stop: every cluster of the profile" },
	{ "log-level", IPP_OPT_ARG, o_log_level, "LEVEL  our log level" },
	{ "controller-script", IPP_OPT_FLAG, o_cscript, NULL },
	{ "help", IPP_OPT_FLAG, o_help, NULL },
	{ "h", IPP_OPT_FLAG, o_help, NULL },
	{ NULL, 0, NULL, NULL }
};

static const char *const cluster_class[] = { "Cluster", NULL };

/* "slurm", "Slurm", "SlurmEngineSetLauncher", "ipyparallel....MPI". */
const struct launcher *
launcher_find(const char *name)
{
	const char *suffix[] = { "EngineSetLauncher", "ControllerLauncher",
	    "EngineLauncher", "Launcher", NULL };
	char buf[128];
	const char *p;
	size_t len;
	int i;

	if (name == NULL)
		return NULL;
	if ((p = strrchr(name, '.')) != NULL)
		name = p + 1;
	snprintf(buf, sizeof(buf), "%s", name);
	for (i = 0; suffix[i] != NULL; i++) {
		len = strlen(buf);
		if (len > strlen(suffix[i]) && strcmp(buf + len -
		    strlen(suffix[i]), suffix[i]) == 0) {
			buf[len - strlen(suffix[i])] = '\0';
			break;
		}
	}
	for (i = 0; buf[i] != '\0'; i++)
		buf[i] = tolower((unsigned char)buf[i]);
	if (strcmp(buf, "mpiexec") == 0 || strcmp(buf, "mpirun") == 0)
		snprintf(buf, sizeof(buf), "mpi");
	if (strcmp(buf, "condor") == 0)
		snprintf(buf, sizeof(buf), "htcondor");
	if (strcmp(buf, "torque") == 0)
		snprintf(buf, sizeof(buf), "pbs");
	if (strcmp(buf, "windowshpc") == 0)
		snprintf(buf, sizeof(buf), "winhpc");
	for (i = 0; launchers[i] != NULL; i++)
		if (strcmp(launchers[i]->name, buf) == 0)
			return launchers[i];
	return NULL;
}

const struct launcher *
launcher_by_class(const char *cls)
{
	return launcher_find(cls);
}

/* Profile, config, cluster id and launchers, for every subcommand. */
static int
setup(struct cluster *c, int create)
{
	static const char *const daemon_classes[] = { "IPClusterStart",
	    "Cluster", NULL };
	const char *name, *dir, *s;
	char self[1024];
	json_t *v;
	ssize_t n;

	name = conf_str(c, cluster_class, "profile", "default");
	dir = conf_str(c, cluster_class, "profile_dir", NULL);
	if (ipp_profile_init(&c->prof, dir, name, "", create) == -1) {
		snprintf(c->why, sizeof(c->why), "cannot use profile '%s': %s",
		    dir ? dir : name, strerror(errno));
		return -1;
	}
	if (conf_load(c) == -1)
		return -1;
	opt.id_set = conf_get(c, cluster_class, "cluster_id") != NULL;
	snprintf(c->id, sizeof(c->id), "%s", conf_str(c, cluster_class,
	    "cluster_id", ""));
	if (ipp_profile_init(&c->prof, dir, name, c->id, create) == -1)
		return -1;
	c->n = (int)conf_long(c, cluster_class, "n",
	    sysconf(_SC_NPROCESSORS_ONLN));
	c->timeout = conf_long(c, cluster_class, "engine_timeout", 60);
	v = conf_get(c, daemon_classes, "daemonize");
	c->daemonize = json_is_true(v) || (json_is_string(v) &&
	    strcasecmp(json_string_value(v), "true") == 0);
	snprintf(c->mount, sizeof(c->mount), "%s", conf_str(c, cluster_class,
	    "mount", ""));
	s = conf_str(c, cluster_class, "engine_launcher_class", "local");
	if ((c->eng_l = launcher_find(s)) == NULL) {
		snprintf(c->why, sizeof(c->why), "unknown engine launcher "
		    "'%s'", s);
		return -1;
	}
	s = conf_str(c, cluster_class, "controller_launcher_class", "local");
	if ((c->ctl_l = launcher_find(s)) == NULL ||
	    c->ctl_l->start_controller == NULL) {
		snprintf(c->why, sizeof(c->why), "unknown or unsupported "
		    "controller launcher '%s'", s);
		return -1;
	}
	c->tty = isatty(2);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		snprintf(c->self_dir, sizeof(c->self_dir), "%s", dirname(self));
	}
	return 0;
}

/* The cluster to act on: --cluster-id, else "", else the only one. */
static int
find_cluster(struct cluster *c)
{
	struct dirent *d;
	char only[256] = "";
	int found = 0;
	size_t len;
	DIR *dp;

	cluster_statefile(&c->prof, c->id, c->statefile, sizeof(c->statefile));
	if (opt.id_set || access(c->statefile, F_OK) == 0)
		goto load;
	if ((dp = opendir(c->prof.security)) != NULL) {
		while ((d = readdir(dp)) != NULL) {
			len = strlen(d->d_name);
			if (strncmp(d->d_name, "cluster-", 8) != 0 ||
			    len < 14 || strcmp(d->d_name + len - 5,
			    ".json") != 0)
				continue;
			snprintf(only, sizeof(only), "%.*s", (int)(len - 13),
			    d->d_name + 8);
			found++;
		}
		closedir(dp);
	}
	if (found > 1) {
		snprintf(c->why, sizeof(c->why), "%d clusters in '%s': choose "
		    "one with --cluster-id (see launch list)", found,
		    c->prof.dir);
		return -1;
	}
	if (found == 1) {
		snprintf(c->id, sizeof(c->id), "%s", only);
		ipp_profile_init(&c->prof, c->prof.dir, NULL, c->id, 0);
		cluster_statefile(&c->prof, c->id, c->statefile,
		    sizeof(c->statefile));
	}
load:
	if ((c->doc = cluster_load_state(c->statefile)) == NULL) {
		snprintf(c->why, sizeof(c->why), "no cluster '%s' in '%s' "
		    "(cannot read '%s')", c->id, c->prof.dir, c->statefile);
		return -1;
	}
	return 0;
}

static int
cmd_start(struct cluster *c)
{
	return cluster_start(c);
}

static int
stop_one(struct cluster *c)
{
	int rc;

	rc = cluster_stop(c->doc, c->statefile, conf_long(c, cluster_class,
	    "stop_timeout", 5));
	if (rc == 0)
		fprintf(stderr, "launch: stopped cluster '%s'\n", c->id);
	else
		snprintf(c->why, sizeof(c->why), "some processes of cluster "
		    "'%s' did not stop", c->id);
	json_decref(c->doc);
	c->doc = NULL;
	return rc;
}

/* Each state file of the profile; fn gets c with id, statefile, doc. */
static int
each_cluster(struct cluster *c, int (*fn)(struct cluster *, void *),
    void *arg)
{
	struct dirent *d;
	size_t len;
	DIR *dp;
	int rc = 0;

	if ((dp = opendir(c->prof.security)) == NULL)
		return 0;
	while ((d = readdir(dp)) != NULL) {
		len = strlen(d->d_name);
		if (strncmp(d->d_name, "cluster-", 8) != 0 || len < 13 ||
		    strcmp(d->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(c->id, sizeof(c->id), "%.*s", (int)(len - 13),
		    d->d_name + 8);
		snprintf(c->statefile, sizeof(c->statefile), "%s/%s",
		    c->prof.security, d->d_name);
		if ((c->doc = cluster_load_state(c->statefile)) == NULL)
			continue;
		if (fn(c, arg) == -1)
			rc = -1;
		json_decref(c->doc);
		c->doc = NULL;
	}
	closedir(dp);
	return rc;
}

static int
stop_each(struct cluster *c, void *arg)
{
	int rc = stop_one(c);

	c->doc = json_object();		/* each_cluster decrefs it */
	return rc;
}

static int
cmd_stop(struct cluster *c)
{
	if (opt.all)
		return each_cluster(c, stop_each, NULL);
	if (find_cluster(c) == -1)
		return -1;
	return stop_one(c);
}

static int
cmd_engines(struct cluster *c)
{
	const struct launcher *l;
	const char *cls;

	if (find_cluster(c) == -1)
		return -1;
	if (!cluster_running(c->doc)) {
		snprintf(c->why, sizeof(c->why), "cluster '%s' is not running",
		    c->id);
		return -1;
	}
	/* --engines names the kind of the new set, else the cluster's */
	cls = json_string_value(json_object_get(json_object_get(cli,
	    "Cluster"), "engine_launcher_class"));
	if (cls == NULL)
		cls = json_string_value(json_object_get(json_object_get(
		    c->doc, "engines"), "class"));
	if ((l = launcher_find(cls)) == NULL)
		l = c->eng_l;
	return cluster_add_engines(c, c->n, l);
}

static int
parse_signal(const char *s)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "INT", SIGINT }, { "TERM", SIGTERM }, { "KILL", SIGKILL },
		{ "HUP", SIGHUP }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
		{ "QUIT", SIGQUIT }, { "STOP", SIGSTOP }, { "CONT", SIGCONT },
		{ NULL, 0 }
	};
	char *end;
	long n;
	int i;

	n = strtol(s, &end, 10);
	if (*s != '\0' && *end == '\0' && n > 0 && n < NSIG)
		return (int)n;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; sigs[i].name != NULL; i++)
		if (strcasecmp(s, sigs[i].name) == 0)
			return sigs[i].sig;
	return -1;
}

static int
cmd_signal(struct cluster *c)
{
	int sig, n;

	if (opt.nargs != 1 || (sig = parse_signal(opt.args[0])) == -1) {
		snprintf(c->why, sizeof(c->why), "usage: launch signal SIGNAL "
		    "(a name such as SIGINT or a number)");
		return -1;
	}
	if (find_cluster(c) == -1)
		return -1;
	n = cluster_signal(c->doc, sig);
	fprintf(stderr, "launch: sent %s to %d engine processes of cluster "
	    "'%s'\n", strsignal(sig), n, c->id);
	return 0;
}

static int
list_one(struct cluster *c, void *arg)
{
	const char *name = arg;
	const char *cls = json_string_value(json_object_get(
	    json_object_get(c->doc, "engines"), "class"));
	const struct launcher *l = launcher_find(cls);

	printf("%-16s %-24s %-7s %7d %s\n", name, *c->id ? c->id : "''",
	    cluster_running(c->doc) ? "True" : "False",
	    cluster_engine_count(c->doc), l ? l->name : "?");
	return 0;
}

static int
cmd_list(struct cluster *c)
{
	struct dirent *d;
	char top[1100], dir[1400];
	DIR *dp;

	printf("%-16s %-24s %-7s %7s %s\n", "PROFILE", "CLUSTER ID", "RUNNING",
	    "ENGINES", "LAUNCHER");
	if (json_object_get(json_object_get(cli, "Cluster"), "profile") !=
	    NULL || json_object_get(json_object_get(cli, "Cluster"),
	    "profile_dir") != NULL)
		return each_cluster(c, list_one, basename(c->prof.dir));
	/* every profile_* beside this one */
	snprintf(top, sizeof(top), "%s", c->prof.dir);
	snprintf(top, sizeof(top), "%s", dirname(top));
	if ((dp = opendir(top)) == NULL)
		return 0;
	while ((d = readdir(dp)) != NULL) {
		if (strncmp(d->d_name, "profile_", 8) != 0)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", top, d->d_name);
		if (ipp_profile_init(&c->prof, dir, NULL, "", 0) == -1)
			continue;
		each_cluster(c, list_one, d->d_name + 8);
	}
	closedir(dp);
	return 0;
}

static int
clean_one(struct cluster *c, void *arg)
{
	if (cluster_running(c->doc))
		return 0;
	/* a dead controller: stop what may be left and drop the record */
	return cluster_stop(c->doc, c->statefile, 2);
}

static int
cmd_clean(struct cluster *c)
{
	struct dirent *d;
	char path[1400];
	size_t len;
	DIR *dp;

	each_cluster(c, clean_one, NULL);
	if ((dp = opendir(c->prof.log)) != NULL) {
		while ((d = readdir(dp)) != NULL) {
			len = strlen(d->d_name);
			if (len > 4 &&
			    strcmp(d->d_name + len - 4, ".log") == 0 &&
			    (strncmp(d->d_name, "ipengine", 8) == 0 ||
			    strncmp(d->d_name, "ipcontroller", 12) == 0 ||
			    strncmp(d->d_name, "ipcluster", 9) == 0 ||
			    strncmp(d->d_name, "ippfs", 5) == 0)) {
				snprintf(path, sizeof(path), "%s/%s",
				    c->prof.log, d->d_name);
				unlink(path);
			}
		}
		closedir(dp);
	}
	fprintf(stderr, "launch: cleaned '%s'\n", c->prof.dir);
	return 0;
}

static int
cmd_profile(struct cluster *c)
{
	struct ipp_profile p;
	const char *dir = conf_str(c, cluster_class, "profile_dir", NULL);
	char path[1200];
	static const char sample[] = "{\n"
	    " \"Cluster\": {\n"
	    "  \"engine_launcher_class\": \"local\",\n"
	    "  \"controller_launcher_class\": \"local\"\n"
	    " }\n"
	    "}\n";

	if (opt.nargs == 1 && strcmp(opt.args[0], "list") == 0) {
		opt.nargs = 0;
		return cmd_list(c);
	}
	if (opt.nargs < 1 || opt.nargs > 2 || strcmp(opt.args[0],
	    "create") != 0) {
		snprintf(c->why, sizeof(c->why), "usage: launch profile "
		    "create [NAME] | launch profile list");
		return -1;
	}
	if (ipp_profile_init(&p, opt.nargs == 2 ? NULL : dir, opt.nargs == 2 ?
	    opt.args[1] : conf_str(c, cluster_class, "profile", "default"),
	    "", 1) == -1) {
		snprintf(c->why, sizeof(c->why), "cannot create profile: %s",
		    strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/ipcluster_config.json", p.dir);
	if (access(path, F_OK) == -1 &&
	    ipp_write_file(path, sample, strlen(sample), 0644) == -1) {
		snprintf(c->why, sizeof(c->why), "cannot write '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	printf("%s\n", p.dir);
	return 0;
}

/* Hidden: print the batch script "start" would submit (for tests). */
static int
cmd_render(struct cluster *c)
{
	const struct launcher *l = opt.controller_script ? c->ctl_l : c->eng_l;
	char *script;

	if (l->batch == NULL) {
		snprintf(c->why, sizeof(c->why), "'%s' is not a batch system",
		    l->name);
		return -1;
	}
	if (batch_render(c, l, !opt.controller_script, c->n,
	    "OUTPUT", &script) == -1)
		return -1;
	fputs(script, stdout);
	free(script);
	return 0;
}

static const struct {
	const char	*name;
	int		 (*fn)(struct cluster *);
	int		 create;	/* make the profile directories */
	const char	*help;
} cmds[] = {
	{ "start", cmd_start, 1, "start a cluster" },
	{ "stop", cmd_stop, 0, "stop a cluster" },
	{ "engines", cmd_engines, 1, "add -n N engines to a running cluster" },
	{ "list", cmd_list, 0, "list clusters" },
	{ "signal", cmd_signal, 0, "send SIGNAL to every engine" },
	{ "clean", cmd_clean, 0, "remove logs and records of dead clusters" },
	{ "profile", cmd_profile, 0, "create NAME | list" },
	{ "render", cmd_render, 0, NULL },
	{ NULL, NULL, 0, NULL }
};

static void
usage(FILE *fp)
{
	int i;

	fprintf(fp, "usage: launch COMMAND [options] [--Class.trait=value]"
	    "\n\nCommands:\n");
	for (i = 0; cmds[i].name != NULL; i++)
		if (cmds[i].help != NULL)
			fprintf(fp, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	ipp_opts_usage(fp, "", options, NULL, "\nSettings are read from "
	    "PROFILE/ipcluster_config.py and .json; see launch(1).\n");
}

int
main(int argc, char **argv)
{
	struct cluster c;
	char **args;
	int i, k, n, rc, cmd;

	log_init("launch", LOG_LVL_WARN, NULL);
	memset(&c, 0, sizeof(c));
	cli = json_object();
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (cmd = 0; cmds[cmd].name != NULL; cmd++)
		if (strcmp(cmds[cmd].name, argv[1]) == 0)
			break;
	if (cmds[cmd].name == NULL) {
		fprintf(stderr, "launch: unknown command '%s' (see launch -h)"
		    "\n", argv[1]);
		return 2;
	}
	/* --Class.trait=value settings go straight into the config */
	args = xcalloc(argc + 1, sizeof(char *));
	for (i = 1, n = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0 &&
		    isupper((unsigned char)argv[i][2]) &&
		    strchr(argv[i], '.') != NULL && strchr(argv[i], '=') !=
		    NULL && strchr(argv[i], '.') < strchr(argv[i], '=')) {
			conf_set_arg(cli, argv[i] + 2);
			continue;
		}
		args[n++] = argv[i];
	}
	/* options and positional arguments in any order */
	for (i = 0; i < n; i = k) {
		if (ipp_opts_parse(&c, options, NULL, n - i, args + i, &k) ==
		    -1)
			return 2;
		k += i;
		if (k < n && opt.nargs < 32)
			opt.args[opt.nargs++] = args[k];
	}
	free(args);
	if (opt.help) {
		usage(stdout);
		return 0;
	}
	c.conf = cli;
	if (setup(&c, cmds[cmd].create) == -1 ||
	    (rc = cmds[cmd].fn(&c)) == -1) {
		fprintf(stderr, "launch: %s\n", c.why[0] ? c.why :
		    "failed");
		return 1;
	}
	json_decref(c.doc);
	json_decref(cli);
	return 0;
}
