/*
 * ssh.c - engines on other hosts through ssh: ipyparallel's
 * SSHEngineSetLauncher ("ssh", one ssh process per engine) and
 * SSHProxyEngineSetLauncher ("sshproxy", one ssh process per host, whose
 * remote shell starts all that host's engines).  .engines maps a host
 * ("user@host" allowed) to a count, or to [count, [extra engine args]],
 * e.g. {"node1": 4, "node2": [2, ["--log-level=DEBUG"]]}; -n is ignored
 * when the map is set.  sshproxy also takes SSHLauncher.hostname (or
 * .location) with -n, as ipyparallel's does.
 *
 * ssh runs with -tt (SSHLauncher.ssh_args, default ["-tt"]), so the
 * remote engines have a terminal and get SIGHUP when the local ssh is
 * stopped: stopping by PID on this side is enough.  The engine needs the
 * controller's engine connection file at the same path on the remote
 * host (a shared file system, or the same machine), or sent there with
 * SSHLauncher.to_send, a list of [local, remote] pairs copied with scp
 * (SSHLauncher.scp_cmd, .scp_args) before a host's first engine starts;
 * .to_fetch ([remote, local]) is copied back after they started.  The
 * remote command is SSHEngineSetLauncher.engine_cmd, default the local
 * engined path.  The ssh controller (--controller=ssh) is in sshctl.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "launch.h"

/* ssh_cmd and ssh_args: the start of every ssh command line */
static void
ssh_prefix(struct cluster *c, const struct launcher *l, struct argv *a)
{
	if (!conf_argv(c, l->classes, "ssh_cmd", a))
		argv_add(a, "ssh");
	if (!conf_argv(c, l->classes, "ssh_args", a))
		argv_add(a, "-tt");
}

/* Run a short command for host's files; -1 with es->why when it failed. */
static int
ssh_run(struct eset *es, struct argv *a, const char *what)
{
	char out[512];
	int rc = proc_run(a, NULL, NULL, out, sizeof(out), 60);

	if (rc != 0)
		snprintf(es->why, sizeof(es->why), "%s failed (%s): %.300s",
		    what, rc == -1 ? strerror(errno) : "exit status", out);
	argv_free(a);
	return rc == 0 ? 0 : -1;
}

/*
 * SSHLauncher.to_send (fetch 0) or .to_fetch (fetch 1): [from, to] pairs,
 * sent before a host's engines start, fetched once they have (waiting up
 * to 10 s for each remote file, as ipyparallel does).
 */
static int
ssh_files(struct cluster *c, struct eset *es, const char *host, int fetch)
{
	json_t *list = conf_get(c, es->l->classes, fetch ? "to_fetch" :
	    "to_send"), *pair;
	const char *from, *to;
	char dir[1024], *slash;
	struct argv a;
	size_t i;
	int try;

	json_array_foreach(list, i, pair) {
		from = json_string_value(json_array_get(pair, 0));
		to = json_string_value(json_array_get(pair, 1));
		if (from == NULL || to == NULL)
			continue;
		snprintf(dir, sizeof(dir), "%s", to);
		if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
			*slash = '\0';
		argv_init(&a);
		if (fetch) {
			if (slash != NULL)
				ipp_mkdirs(dir, 0700);
		} else {
			ssh_prefix(c, es->l, &a);
			argv_add(&a, host);
			argv_add(&a, "--");
			argv_add(&a, "mkdir");
			argv_add(&a, "-p");
			argv_add(&a, slash != NULL ? dir : ".");
			if (ssh_run(es, &a, "ssh mkdir") == -1)
				return -1;
		}
		for (try = 0; try < (fetch ? 10 : 1); try++) {
			argv_init(&a);
			if (!conf_argv(c, es->l->classes, "scp_cmd", &a))
				argv_add(&a, "scp");
			conf_argv(c, es->l->classes, "scp_args", &a);
			if (fetch)
				argv_addf(&a, "%s:%s", host, from);
			else
				argv_add(&a, from);
			if (fetch)
				argv_add(&a, to);
			else
				argv_addf(&a, "%s:%s", host, to);
			if (ssh_run(es, &a, fetch ? "scp (to_fetch)" :
			    "scp (to_send)") == 0)
				break;
			if (try + 1 == (fetch ? 10 : 1))
				return -1;
			sleep(1);
		}
	}
	return 0;
}

/* One ssh process running cmd on host; recorded as engine key. */
static int
ssh_spawn(struct cluster *c, struct eset *es, const char *host,
    const char *cmd, int key, int n)
{
	struct argv a;
	char log[1200], what[128], name[16];
	json_t *w;
	pid_t pid;

	argv_init(&a);
	ssh_prefix(c, es->l, &a);
	argv_add(&a, host);
	argv_addf(&a, "exec %s", cmd);
	snprintf(what, sizeof(what), "ipengine-%s-%d", es->id, key);
	cluster_logpath(c, what, log, sizeof(log));
	pid = proc_spawn(&a, log, NULL);
	if (pid == -1)
		snprintf(es->why, sizeof(es->why), "cannot start '%s': %s",
		    a.v[0], strerror(errno));
	argv_free(&a);
	if (pid == -1)
		return -1;
	es->pids[es->npids++] = pid;
	snprintf(name, sizeof(name), "%d", key);
	w = proc_record(pid, log);
	json_object_set_new(w, "host", json_string(host));
	json_object_set_new(w, "n", json_integer(n));
	json_object_set_new(json_object_get(es->state, "engines"), name, w);
	return 0;
}

/* The engine command line for host, with the map's extra arguments. */
static char *
engine_cmd(const struct argv *eng, json_t *extra)
{
	struct argv remote;
	json_t *w;
	size_t k;
	char *cmd;

	argv_init(&remote);
	for (k = 0; k < (size_t)eng->n; k++)
		argv_add(&remote, eng->v[k]);
	json_array_foreach(extra, k, w)
		if (json_is_string(w))
			argv_add(&remote, json_string_value(w));
	cmd = argv_join(&remote);
	argv_free(&remote);
	return cmd;
}

/*
 * sshproxy's remote command: a shell starting n engines in the
 * background and waiting for them (the batch systems' loop), so that
 * one connection serves the host.
 */
static char *
proxy_cmd(struct cluster *c, struct eset *es, const char *eng, int n)
{
	struct argv sh;
	json_t *vars;
	char *script, *cmd;

	vars = json_pack("{s:i, s:s}", "n", n, "program_and_args", eng);
	script = template_render(BATCH_ENGINE_LOOP, vars, es->why,
	    sizeof(es->why));
	json_decref(vars);
	if (script == NULL)
		return NULL;
	argv_init(&sh);
	argv_add(&sh, "sh");
	argv_add(&sh, "-c");
	argv_add(&sh, script);
	cmd = argv_join(&sh);
	argv_free(&sh);
	free(script);
	return cmd;
}

/* The host map, or for sshproxy hostname/location with -n. */
static json_t *
host_map(struct cluster *c, struct eset *es, int proxy)
{
	json_t *map = conf_get(c, es->l->classes, "engines");
	const char *host;

	if (json_is_object(map) && json_object_size(map) > 0)
		return json_incref(map);
	if (proxy && ((host = conf_str(c, es->l->classes, "location",
	    NULL)) != NULL || (host = conf_str(c, es->l->classes, "hostname",
	    NULL)) != NULL))
		return json_pack("{s:i}", host, es->n);
	snprintf(es->why, sizeof(es->why), "%s engines need %s.engines, a "
	    "map of host to count", es->l->name, es->l->classes[0]);
	return NULL;
}

static int
count(json_t *v)
{
	return json_is_array(v) ? (int)json_integer_value(json_array_get(v,
	    0)) : (int)json_integer_value(v);
}

static int
start_hosts(struct cluster *c, struct eset *es, int proxy)
{
	json_t *map, *v, *extra;
	const char *host;
	struct argv eng;
	char *cmd;
	int total = 0, i, n, rc = -1;

	if ((map = host_map(c, es, proxy)) == NULL)
		return -1;
	json_object_foreach(map, host, v)
		total += count(v);
	argv_init(&eng);
	if (cluster_engine_argv(c, es->l, &eng, 0) == -1)
		goto out;
	es->n = total;
	json_object_set_new(es->state, "n", json_integer(total));
	es->pids = xcalloc(total > 0 ? total : 1, sizeof(pid_t));
	i = 0;
	json_object_foreach(map, host, v) {
		n = count(v);
		extra = json_is_array(v) ? json_array_get(v, 1) : NULL;
		if (n <= 0)
			continue;
		if (ssh_files(c, es, host, 0) == -1)
			goto out;
		cmd = engine_cmd(&eng, extra);
		if (proxy) {
			char *sh = proxy_cmd(c, es, cmd, n);

			free(cmd);
			if (sh == NULL || ssh_spawn(c, es, host, sh, i++, n) ==
			    -1) {
				free(sh);
				goto out;
			}
			free(sh);
		} else {
			while (n-- > 0)
				if (ssh_spawn(c, es, host, cmd, i++, 1) == -1) {
					free(cmd);
					goto out;
				}
			free(cmd);
		}
		if (ssh_files(c, es, host, 1) == -1)
			goto out;
	}
	rc = 0;
out:
	json_decref(map);
	argv_free(&eng);
	return rc;
}

static int
ssh_start_engines(struct cluster *c, struct eset *es)
{
	return start_hosts(c, es, 0);
}

static int
sshproxy_start_engines(struct cluster *c, struct eset *es)
{
	return start_hosts(c, es, 1);
}

const struct launcher sshproxy_launcher = {
	.name = "sshproxy",
	.engine_class =
	    "ipyparallel.cluster.launcher.SSHProxyEngineSetLauncher",
	.controller_class = NULL,
	.classes = { "SSHProxyEngineSetLauncher", "SSHLauncher", NULL },
	.start_engines = sshproxy_start_engines,
	.start_controller = NULL,
	.batch = NULL,
};

const struct launcher ssh_launcher = {
	.name = "ssh",
	.engine_class = "ipyparallel.cluster.launcher.SSHEngineSetLauncher",
	.controller_class =
	    "ipyparallel.cluster.launcher.SSHControllerLauncher",
	.classes = { "SSHEngineSetLauncher", "SSHEngineLauncher", "SSHLauncher",
	    NULL },
	.start_engines = ssh_start_engines,
	.start_controller = sshctl_start_controller,
	.controller_alive = sshctl_controller_alive,
	.stop_controller = sshctl_stop_controller,
	.batch = NULL,
};
