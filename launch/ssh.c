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
 * .to_fetch ([remote, local]) is copied back after they started
 * (scp_pairs, which sshctl.c uses for the controller's to_fetch too).
 * The remote command is SSHEngineSetLauncher.engine_cmd, default the
 * local engined path.  The ssh controller (--controller=ssh) is in
 * sshctl.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "launch.h"

/* ssh_cmd and ssh_args: the start of every ssh command line */
static void
ssh_prefix(struct cluster *c, const char *const *classes, struct argv *a)
{
	if (!conf_argv(c, classes, "ssh_cmd", a))
		argv_add(a, "ssh");
	if (!conf_argv(c, classes, "ssh_args", a))
		argv_add(a, "-tt");
}

/* The directory of path into buf; 0 when path names none ("f", "/f"). */
static int
parent_dir(const char *path, char *buf, size_t len)
{
	char *slash;

	snprintf(buf, len, "%s", path);
	if ((slash = strrchr(buf, '/')) == NULL || slash == buf)
		return 0;
	*slash = '\0';
	return 1;
}

void
mkdir_parent(const char *path)
{
	char dir[1200];

	if (parent_dir(path, dir, sizeof(dir)))
		ipp_mkdirs(dir, 0700);
}

/* Run a short command (a consumes); -1 with why saying what failed. */
static int
run_short(struct argv *a, const char *what, char *why, size_t whylen)
{
	char out[512];
	int rc = proc_run(a, NULL, NULL, out, sizeof(out), 60);

	if (rc != 0)
		snprintf(why, whylen, "%s failed (%s): %.300s", what,
		    rc == -1 ? strerror(errno) : "exit status", out);
	argv_free(a);
	return rc == 0 ? 0 : -1;
}

/* One pair to host: its directory made there first ("ssh mkdir -p"). */
static int
scp_send(struct cluster *c, const char *const *classes, const char *host,
    const char *from, const char *to, char *why, size_t whylen)
{
	struct argv a;
	char dir[1200], what[1400];

	argv_init(&a);
	ssh_prefix(c, classes, &a);
	argv_add(&a, host);
	argv_add(&a, "--");
	argv_add(&a, "mkdir");
	argv_add(&a, "-p");
	argv_add(&a, parent_dir(to, dir, sizeof(dir)) ? dir : ".");
	if (run_short(&a, "ssh mkdir", why, whylen) == -1)
		return -1;
	argv_init(&a);
	if (!conf_argv(c, classes, "scp_cmd", &a))
		argv_add(&a, "scp");
	conf_argv(c, classes, "scp_args", &a);
	argv_add(&a, from);
	argv_addf(&a, "%s:%s", host, to);
	snprintf(what, sizeof(what), "scp of '%s' to '%s:%s'", from, host, to);
	return run_short(&a, what, why, whylen);
}

/*
 * One pair from host, into a temporary name renamed into place, so that
 * a reader of `to' never sees half a file; tries times, a second apart,
 * while the remote file may still be coming.
 */
static int
scp_fetch(struct cluster *c, const char *const *classes, const char *host,
    const char *from, const char *to, int tries, char *why, size_t whylen)
{
	struct argv a;
	char tmp[1300], what[1400];
	int try;

	snprintf(tmp, sizeof(tmp), "%s.fetch-%d", to, (int)getpid());
	snprintf(what, sizeof(what), "scp of '%s:%s' to '%s'", host, from, to);
	mkdir_parent(to);
	for (try = 0; try < tries; try++) {
		if (try > 0)
			sleep(1);
		argv_init(&a);
		if (!conf_argv(c, classes, "scp_cmd", &a))
			argv_add(&a, "scp");
		conf_argv(c, classes, "scp_args", &a);
		argv_addf(&a, "%s:%s", host, from);
		argv_add(&a, tmp);
		if (run_short(&a, what, why, whylen) == 0)
			break;
	}
	if (try == tries)
		goto fail;
	if (rename(tmp, to) == -1) {
		snprintf(why, whylen, "cannot rename '%s' to '%s': %s", tmp,
		    to, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	unlink(tmp);
	return -1;
}

int
scp_pairs(struct cluster *c, const char *const *classes, const char *host,
    json_t *list, int fetch, int tries, char *why, size_t whylen)
{
	const char *from, *to;
	json_t *pair;
	size_t i;

	json_array_foreach(list, i, pair) {
		from = json_string_value(json_array_get(pair, 0));
		to = json_string_value(json_array_get(pair, 1));
		if (from == NULL || to == NULL)
			continue;
		if ((fetch ? scp_fetch(c, classes, host, from, to, tries, why,
		    whylen) : scp_send(c, classes, host, from, to, why,
		    whylen)) == -1)
			return -1;
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
	ssh_prefix(c, es->l->classes, &a);
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
		if (scp_pairs(c, es->l->classes, host, conf_get(c,
		    es->l->classes, "to_send"), 0, 1, es->why,
		    sizeof(es->why)) == -1)
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
		/* waiting up to 10 s for each file, as ipyparallel does */
		if (scp_pairs(c, es->l->classes, host, conf_get(c,
		    es->l->classes, "to_fetch"), 1, 10, es->why,
		    sizeof(es->why)) == -1)
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
