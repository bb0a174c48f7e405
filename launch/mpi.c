/*
 * mpi.c - engines as one MPI job: "mpiexec -n N engined --mpi=mpi4py",
 * ipyparallel's MPIEngineSetLauncher.  With --mpi=mpi4py each engine
 * initialises MPI and asks the controller for its rank as engine id, so
 * engine i is rank i and MPI code in tasks can use mpi4py's COMM_WORLD.
 *
 * Settings: MPILauncher.mpi_cmd (default mpiexec), MPILauncher.mpi_args.
 * Open MPI refuses to run as root and to run more ranks than cores unless
 * told; its environment switches for both are set for the job, which
 * other MPI implementations ignore.  mpiexec leads its process group, so
 * stopping it by group reaches the ranks too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "launch.h"

static const char *const mpi_env[] = {
	"OMPI_ALLOW_RUN_AS_ROOT=1",
	"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
	"OMPI_MCA_rmaps_base_oversubscribe=1",
	NULL
};

static int
mpi_start_engines(struct cluster *c, struct eset *es)
{
	struct argv a, eng;
	char log[1200], what[128];
	pid_t pid;
	int i;

	argv_init(&a);
	argv_init(&eng);
	if (cluster_engine_argv(c, es->l, &eng, 1) == -1)
		goto fail;
	if (!conf_argv(c, es->l->classes, "mpi_cmd", &a))
		argv_add(&a, "mpiexec");
	conf_argv(c, es->l->classes, "mpi_args", &a);
	argv_add(&a, "-n");
	argv_addf(&a, "%d", es->n);
	for (i = 0; i < eng.n; i++)
		argv_add(&a, eng.v[i]);
	snprintf(what, sizeof(what), "ipengine-%s-mpi", es->id);
	cluster_logpath(c, what, log, sizeof(log));
	if ((pid = proc_spawn(&a, log, geteuid() == 0 ? mpi_env : NULL)) ==
	    -1) {
		snprintf(es->why, sizeof(es->why), "cannot start '%s': %s",
		    a.v[0], strerror(errno));
		goto fail;
	}
	es->pids = xcalloc(1, sizeof(pid_t));
	es->pids[es->npids++] = pid;
	json_object_set_new(json_object_get(es->state, "engines"), "0",
	    proc_record(pid, log));
	argv_free(&a);
	argv_free(&eng);
	return 0;
fail:
	argv_free(&a);
	argv_free(&eng);
	return -1;
}

const struct launcher mpi_launcher = {
	.name = "mpi",
	.engine_class = "ipyparallel.cluster.launcher.MPIEngineSetLauncher",
	.controller_class = NULL,
	.classes = { "MPIEngineSetLauncher", "MPILauncher", "EngineLauncher",
	    NULL },
	.start_engines = mpi_start_engines,
	.start_controller = NULL,
	.batch = NULL,
};
