/*
 * ssh.c - engines on other hosts through ssh, ipyparallel's
 * SSHEngineSetLauncher: SSHEngineSetLauncher.engines maps a host
 * ("user@host" allowed) to a count, or to [count, [extra engine args]],
 * e.g. {"node1": 4, "node2": [2, ["--log-level=DEBUG"]]}; -n is ignored
 * when the map is set.  Each engine is one local ssh process.
 *
 * ssh runs with -tt (SSHLauncher.ssh_args, default ["-tt"]), so the
 * remote engine has a terminal and gets SIGHUP when the local ssh is
 * stopped: stopping by PID on this side is enough.  The engine needs the
 * controller's engine connection file at the same path on the remote
 * host (a shared file system, or the same machine); the remote command
 * is SSHEngineSetLauncher.engine_cmd, default the local engined path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "launch.h"

static int
ssh_one(struct cluster *c, struct eset *es, const char *host, json_t *extra,
    const struct argv *eng, int i)
{
	struct argv a, remote;
	char log[1200], what[128], key[16], *cmd;
	json_t *w;
	size_t k;
	pid_t pid;

	argv_init(&a);
	argv_init(&remote);
	if (!conf_argv(c, es->l->classes, "ssh_cmd", &a))
		argv_add(&a, "ssh");
	if (!conf_argv(c, es->l->classes, "ssh_args", &a))
		argv_add(&a, "-tt");
	argv_add(&a, host);
	for (k = 0; k < (size_t)eng->n; k++)
		argv_add(&remote, eng->v[k]);
	json_array_foreach(extra, k, w)
		if (json_is_string(w))
			argv_add(&remote, json_string_value(w));
	cmd = argv_join(&remote);
	argv_addf(&a, "exec %s", cmd);
	free(cmd);
	snprintf(what, sizeof(what), "ipengine-%s-%d", es->id, i);
	cluster_logpath(c, what, log, sizeof(log));
	pid = proc_spawn(&a, log, NULL);
	if (pid == -1)
		snprintf(es->why, sizeof(es->why), "cannot start '%s': %s",
		    a.v[0], strerror(errno));
	argv_free(&a);
	argv_free(&remote);
	if (pid == -1)
		return -1;
	es->pids[es->npids++] = pid;
	snprintf(key, sizeof(key), "%d", i);
	w = proc_record(pid, log);
	json_object_set_new(w, "host", json_string(host));
	json_object_set_new(json_object_get(es->state, "engines"), key, w);
	return 0;
}

static int
ssh_start_engines(struct cluster *c, struct eset *es)
{
	json_t *map, *v, *extra;
	const char *host;
	struct argv eng;
	int total = 0, i, n, rc = -1;

	map = conf_get(c, es->l->classes, "engines");
	if (!json_is_object(map) || json_object_size(map) == 0) {
		snprintf(es->why, sizeof(es->why), "ssh engines need "
		    "SSHEngineSetLauncher.engines, a map of host to count");
		return -1;
	}
	json_object_foreach(map, host, v)
		total += json_is_array(v) ?
		    (int)json_integer_value(json_array_get(v, 0)) :
		    (int)json_integer_value(v);
	argv_init(&eng);
	if (cluster_engine_argv(c, es->l, &eng, 0) == -1)
		goto out;
	es->n = total;
	json_object_set_new(es->state, "n", json_integer(total));
	es->pids = xcalloc(total > 0 ? total : 1, sizeof(pid_t));
	i = 0;
	json_object_foreach(map, host, v) {
		n = json_is_array(v) ?
		    (int)json_integer_value(json_array_get(v, 0)) :
		    (int)json_integer_value(v);
		extra = json_is_array(v) ? json_array_get(v, 1) : NULL;
		while (n-- > 0)
			if (ssh_one(c, es, host, extra, &eng, i++) == -1)
				goto out;
	}
	rc = 0;
out:
	argv_free(&eng);
	return rc;
}

const struct launcher ssh_launcher = {
	.name = "ssh",
	.engine_class = "ipyparallel.cluster.launcher.SSHEngineSetLauncher",
	.controller_class = NULL,
	.classes = { "SSHEngineSetLauncher", "SSHEngineLauncher", "SSHLauncher",
	    NULL },
	.start_engines = ssh_start_engines,
	.start_controller = NULL,
	.batch = NULL,
};
