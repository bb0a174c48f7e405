/*
 * launch.h - private declarations of launch, our ipcluster.
 *
 * launch starts a controller (hubd, or any ipcontroller-compatible
 * command) and sets of engines through a launcher backend, watches the
 * engines register by talking to the hub as a client, and records what it
 * started in PROFILE/security/cluster-<id>.json so that later "launch
 * stop", "launch engines" and "launch list" can find the cluster.
 *
 * Pieces: launch.c (command line, subcommand table), conf.c (the JSON
 * profile config and "Class.trait" lookups), cluster.c (start/stop and the
 * state file), watch.c (registration progress over the wire), proc.c
 * (spawning, signalling and reaping by PID), template.c (batch script
 * rendering), batch.c (submit/poll/cancel shared by the batch systems),
 * and one file per backend filling a struct launcher: local.c, mpi.c,
 * ssh.c (ssh and sshproxy), sshctl.c (the ssh controller), slurm.c, pbs.c, sge.c, lsf.c, htcondor.c,
 * winhpc.c.
 *
 * State: a command works on one struct cluster passed down from main();
 * the parsed command line (launch.c) is the one file-level singleton,
 * written once by main and read after (tests/t0140-static-state.sh).
 */
#ifndef LAUNCH_H
#define LAUNCH_H

#include <sys/types.h>
#include <jansson.h>
#include "ipp.h"

#define LAUNCH_MAXCLASS	4	/* config classes searched for one trait */

/* A growable NULL-terminated argument vector. */
struct argv {
	char	**v;
	int	  n;
	int	  cap;
};

struct cluster;
struct eset;
struct launcher;

/*
 * A batch system: the commands and default templates one backend file
 * provides; batch.c does the work.  Commands are argv prefixes, the job
 * id is appended (or the script path, for submit).
 */
struct batch_system {
	const char	*name;			/* "Slurm", as in class names */
	const char	*submit[4];		/* + script path */
	int		 submit_stdin;		/* bsub < script */
	const char	*poll[6];		/* + job id; output = state */
	const char	*cancel[4];		/* + job id */
	const char	*job_id_regexp;		/* POSIX ERE, group 1 if any */
	const char	*dead_states[6];	/* poll words: job is over */
	const char	*queue_directive;	/* printf format; "": none */
	const char	*engine_template;
	const char	*controller_template;
	/* systems whose job file is no template (winhpc.c): */
	int		 (*render)(struct cluster *, const struct launcher *,
			    int engines, int n, char **script);
	const char	*path_arg;		/* printf format; NULL: path */
	const char	*extra_arg[2];		/* trait, printf format */
	const char	*file_ext;		/* NULL: "sh" */
	const char	*cmd_trait;		/* replaces submit/cancel[0] */
};

/*
 * A launcher backend.  start_engines starts es->n engines and records
 * what it started in es->state (pids under "engines", or "job_id");
 * stopping is generic (cluster.c) and only needs that record.
 */
struct launcher {
	const char	*name;			/* "local", "slurm", ... */
	const char	*engine_class;		/* ipyparallel's class name */
	const char	*controller_class;	/* NULL: cannot run one */
	const char	*classes[LAUNCH_MAXCLASS]; /* config classes, engines */
	int		 (*start_engines)(struct cluster *, struct eset *);
	int		 (*start_controller)(struct cluster *, json_t *state);
	/* a controller that is no local process (sshctl.c); NULL: by pid */
	int		 (*controller_alive)(json_t *state);
	int		 (*stop_controller)(json_t *state, double grace);
	const struct batch_system *batch;	/* NULL: not a batch system */
};

/*
 * The launcher of a batch system, all of whose names derive from the
 * system's class-name stem ("PBS": PBSEngineSetLauncher, PBSLauncher...),
 * as ipyparallel's do; batch.c builds the controller's classes the same
 * way.  sys is the backend's struct batch_system.
 */
#define BATCH_LAUNCHER(lname, stem, sys) {				\
	.name = lname,							\
	.engine_class =							\
	    "ipyparallel.cluster.launcher." stem "EngineSetLauncher",	\
	.controller_class =						\
	    "ipyparallel.cluster.launcher." stem "ControllerLauncher",	\
	.classes = { stem "EngineSetLauncher", stem "Launcher",		\
	    "BatchSystemLauncher", NULL },				\
	.start_engines = batch_start_engines,				\
	.start_controller = batch_start_controller,			\
	.batch = &(sys),						\
}

/*
 * The end of a shell engine script for systems that start one process
 * per job (PBS, SGE, LSF): {n} engines in the background, and a TERM to
 * the job (qdel, bkill) passed on to them rather than leaving them
 * running without their job.
 */
#define BATCH_ENGINE_LOOP						\
	"trap 'kill $(jobs -p) 2>/dev/null; exit 143' TERM\n"		\
	"i=0\n"								\
	"while [ $i -lt {n} ]; do\n"					\
	"\t{program_and_args} &\n"					\
	"\ti=$((i + 1))\n"						\
	"done\n"							\
	"wait\n"

/* A set of engines being started by this run. */
struct eset {
	char		 id[64];
	int		 n;
	const struct launcher *l;
	json_t		*state;		/* borrowed: sets.<id> of c->doc */
	pid_t		*pids;		/* children of this process */
	int		 npids;
	char		 why[512];	/* set when the set failed */
};

struct cluster {
	struct ipp_profile prof;
	json_t		*conf;		/* Class -> {trait: value} */
	char		 id[128];
	int		 n;
	int		 daemonize;
	int		 tty;
	double		 timeout;	/* engine registration, seconds */
	const struct launcher *ctl_l;
	const struct launcher *eng_l;
	char		 self_dir[1024];	/* where the launch binary is */
	char		 statefile[1200];
	json_t		*doc;		/* the cluster-<id>.json document */
	pid_t		 ctl_pid;	/* our child, 0 when not ours */
	char		 mount[1024];	/* --mount DIR, "" when none */
	char		 why[512];
};

/* launch.c */
extern const struct launcher *const launchers[];
const struct launcher *launcher_find(const char *name);
const struct launcher *launcher_by_class(const char *cls);

/* conf.c */
int	 conf_load(struct cluster *);
int	 conf_set_arg(json_t *conf, const char *arg);
json_t	*conf_get(const struct cluster *, const char *const *classes,
	    const char *trait);
const char *conf_str(const struct cluster *, const char *const *classes,
	    const char *trait, const char *dflt);
long	 conf_long(const struct cluster *, const char *const *classes,
	    const char *trait, long dflt);
int	 conf_argv(const struct cluster *, const char *const *classes,
	    const char *trait, struct argv *);

/* cluster.c */
int	 cluster_start(struct cluster *);
int	 cluster_add_engines(struct cluster *, int n, const struct launcher *);

/* state.c */
int	 cluster_stop(json_t *doc, const char *statefile, double grace);
int	 cluster_signal(json_t *doc, int sig);
int	 cluster_running(json_t *doc);
int	 cluster_engine_count(json_t *doc);
json_t	*cluster_load_state(const char *path);
int	 cluster_save_state(struct cluster *);
void	 cluster_statefile(const struct ipp_profile *, const char *id,
	    char *buf, size_t len);
void	 cluster_pidfile(const struct ipp_profile *, const char *id,
	    char *buf, size_t len);
int	 cluster_engine_argv(struct cluster *, const struct launcher *,
	    struct argv *, int mpi);
int	 cluster_controller_argv(struct cluster *, struct argv *);
int	 cluster_find_program(const struct cluster *, const char *name,
	    char *buf, size_t len);
void	 cluster_logpath(const struct cluster *, const char *what,
	    char *buf, size_t len);

/* watch.c */
struct watch;
struct watch *watch_open(const char *clientfile, char *why, size_t whylen);
void	 watch_close(struct watch **);
int	 watch_count(const struct watch *);
int	 watch_sync(struct watch *, double timeout);
/*
 * Wait until target engines are registered or the deadline (monotonic)
 * passes; check() is called about every 20 ms and stops the wait by
 * returning -1.  Progress goes to stderr.  0, or -1 with errno.
 */
int	 watch_wait(struct watch *, int target, double deadline, int tty,
	    int (*check)(void *), void *arg);

/* proc.c */
void	 argv_init(struct argv *);
void	 argv_free(struct argv *);
void	 argv_add(struct argv *, const char *);
void	 argv_addf(struct argv *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 argv_split(struct argv *, const char *);
char	*argv_join(const struct argv *);
int	 proc_resolve(const char *prog, char *buf, size_t len);
pid_t	 proc_spawn(const struct argv *, const char *logpath,
	    const char *const *env);
long long proc_starttime(pid_t);
int	 proc_alive(pid_t, long long starttime);
int	 proc_reap(pid_t, int *status);
int	 proc_run(const struct argv *, const char *cwd, const char *stdin_path,
	    char *out,
	    size_t outlen, double timeout);
void	 proc_tail(FILE *, const char *path, int lines);
json_t	*proc_record(pid_t, const char *logpath);

int	 state_is_mountpoint(const char *dir);

/* template.c */
char	*template_render(const char *tmpl, json_t *vars, char *why,
	    size_t whylen);

/* batch.c */
int	 batch_start_engines(struct cluster *, struct eset *);
int	 batch_start_controller(struct cluster *, json_t *state);
int	 batch_render(struct cluster *, const struct launcher *, int engines,
	    int n, const char *output, char **script);
int	 batch_cancel(const struct batch_system *, const char *job_id,
	    json_t *state);
int	 batch_poll(const struct batch_system *, const char *job_id);

/* ssh.c */
/*
 * scp the [from, to] pairs of list (SSHLauncher.to_send or .to_fetch)
 * between here and host, with scp_cmd, scp_args (and ssh_cmd, ssh_args)
 * of classes: to host (fetch 0; each target's directory made there
 * first) or from it (fetch 1; each file tried up to tries times, a
 * second apart, and renamed into place whole).  -1 with why.
 */
int	 scp_pairs(struct cluster *, const char *const *classes,
	    const char *host, json_t *list, int fetch, int tries, char *why,
	    size_t whylen);
/* Make the local directory path is in (0700), as scp needs it. */
void	 mkdir_parent(const char *path);

/* sshctl.c */
int	 sshctl_start_controller(struct cluster *, json_t *state);
int	 sshctl_controller_alive(json_t *state);
int	 sshctl_stop_controller(json_t *state, double grace);

/* local.c mpi.c ssh.c slurm.c pbs.c sge.c lsf.c htcondor.c winhpc.c */
extern const struct launcher local_launcher, mpi_launcher, ssh_launcher,
    sshproxy_launcher, slurm_launcher, pbs_launcher, sge_launcher,
    lsf_launcher, htcondor_launcher, winhpc_launcher;

#endif /* LAUNCH_H */
