/*
 * local.c - the local launcher: the controller and every engine are
 * processes of this machine, started directly, each in its own process
 * group with its output in PROFILE/log.  This is ipyparallel's
 * LocalControllerLauncher and LocalEngineSetLauncher.
 *
 * Engines are started back to back without waiting for one another; a
 * hundred engined register in 2.5-3.5 s on two busy cores that way, the
 * CPU of exec, dynamic linking and CPython's start-up in each engine
 * (doc/benchmarks.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "launch.h"

static int
local_start_controller(struct cluster *c, json_t *state)
{
	struct argv a;
	char log[1200];
	json_t *rec;
	pid_t pid;

	argv_init(&a);
	if (cluster_controller_argv(c, &a) == -1) {
		argv_free(&a);
		return -1;
	}
	cluster_logpath(c, "ipcontroller", log, sizeof(log));
	pid = proc_spawn(&a, log, NULL);
	if (pid == -1) {
		snprintf(c->why, sizeof(c->why), "cannot start controller "
		    "'%s': %s", a.v[0], strerror(errno));
		argv_free(&a);
		return -1;
	}
	argv_free(&a);
	c->ctl_pid = pid;
	rec = proc_record(pid, log);
	json_object_update(state, rec);
	json_decref(rec);
	json_object_set_new(state, "profile_dir", json_string(c->prof.dir));
	json_object_set_new(state, "cluster_id", json_string(c->id));
	return 0;
}

static int
local_start_engines(struct cluster *c, struct eset *es)
{
	json_t *engines = json_object_get(es->state, "engines");
	struct argv a;
	char log[1200], what[128], key[16];
	pid_t pid;
	int i;

	argv_init(&a);
	if (cluster_engine_argv(c, es->l, &a, 0) == -1) {
		argv_free(&a);
		return -1;
	}
	es->pids = xcalloc(es->n, sizeof(pid_t));
	for (i = 0; i < es->n; i++) {
		snprintf(what, sizeof(what), "ipengine-%s-%d", es->id, i);
		cluster_logpath(c, what, log, sizeof(log));
		if ((pid = proc_spawn(&a, log, NULL)) == -1) {
			snprintf(es->why, sizeof(es->why), "cannot start "
			    "engine '%s': %s", a.v[0], strerror(errno));
			argv_free(&a);
			return -1;
		}
		es->pids[es->npids++] = pid;
		snprintf(key, sizeof(key), "%d", i);
		json_object_set_new(engines, key, proc_record(pid, log));
	}
	argv_free(&a);
	return 0;
}

const struct launcher local_launcher = {
	.name = "local",
	.engine_class = "ipyparallel.cluster.launcher.LocalEngineSetLauncher",
	.controller_class =
	    "ipyparallel.cluster.launcher.LocalControllerLauncher",
	.classes = { "LocalEngineSetLauncher", "LocalEngineLauncher",
	    "EngineLauncher", NULL },
	.start_engines = local_start_engines,
	.start_controller = local_start_controller,
	.batch = NULL,
};
