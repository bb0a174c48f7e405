/*
 * conf.c - configuration in the shape of ipyparallel's traitlets config:
 * {"Class": {"trait": value}}, e.g. {"Cluster": {"n": 4,
 * "engine_launcher_class": "slurm"}, "SlurmEngineSetLauncher": {"queue":
 * "debug"}}.  The profile's ipcluster_config.py and ipcluster_config.json
 * are evaluated by traitlets in Python (libipp/pyconf.c) and merged as
 * ipcluster merges them.  Command-line settings "--Class.trait=value"
 * and launch's own options are written into the same object before the
 * files are read, and the files fill in only what is missing, so the
 * command line wins.
 *
 * Lookups name a list of classes, most specific first, because traitlets
 * applies a setting of a base class to its subclasses: a queue set on
 * SlurmLauncher also holds for SlurmEngineSetLauncher.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "launch.h"

/* Traits launch reads from some class; others are warned about. */
static const char *const known_traits[] = {
	"n", "cluster_id", "profile", "profile_dir", "engine_launcher_class",
	"controller_launcher_class", "controller_ip", "controller_location",
	"controller_args", "engine_args", "engine_timeout",
	"controller_timeout", "stop_timeout", "mount", "daemonize",
	"controller_cmd", "engine_cmd", "mpi_cmd", "mpi_args", "engines",
	"ssh_cmd", "ssh_args", "scp_cmd", "scp_args", "to_send", "to_fetch",
	"queue", "batch_template", "batch_template_file", "submit_command",
	"job_id_regexp", "scheduler", "job_cmd", "hostname", "location",
	/* Windows HPC jobs and tasks (winhpc.c) */
	"unit_type", "min_cores", "max_cores", "min_sockets", "max_sockets",
	"min_nodes", "max_nodes", "run_until_canceled", "is_exclusive",
	"username", "job_type", "priority", "requested_nodes", "project",
	"auto_calculate_min", "auto_calculate_max", "task_name",
	"is_rerunnaable", "is_parametric", "environment_variables", NULL
};

/* Classes whose names are not those of a launcher backend. */
static const char *const known_classes[] = {
	"Cluster", "IPClusterStart", "IPClusterEngines", "IPClusterStop",
	"IPCluster", "BaseParallelApplication", "Application", "ProfileDir",
	"BaseLauncher", "LocalProcessLauncher", "ControllerLauncher",
	"EngineLauncher", "EngineSetLauncher", "BatchSystemLauncher",
	"WinHPCJob", "IPEngineSetJob", "IPControllerJob", "WinHPCTask",
	"IPEngineTask", "IPControllerTask", NULL
};

static int
in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/* Warn about what launch would not use, naming it, as ipcluster does not. */
static void
warn_unknown(json_t *file, const char *what)
{
	const char *cls, *trait;
	json_t *o, *v;

	json_object_foreach(file, cls, o) {
		if (!in_list(known_classes, cls) && launcher_find(cls) == NULL) {
			log_warnx("%s: ignoring unknown class '%s'", what, cls);
			continue;
		}
		json_object_foreach(o, trait, v)
			if (!in_list(known_traits, trait))
				log_warnx("%s: ignoring unknown or unsupported "
				    "trait '%s.%s'", what, cls, trait);
	}
}

/*
 * ipcluster 7 still takes these settings of IPClusterStart and
 * IPClusterEngines as Cluster's, where Cluster has none of its own.
 */
static void
map_deprecated(json_t *conf)
{
	static const char *const clss[] = { "IPClusterStart",
	    "IPClusterEngines", NULL };
	static const char *const traits[] = { "delay",
	    "engine_launcher_class", "controller_launcher_class",
	    "controller_ip", "controller_location", "n", NULL };
	json_t *cluster = json_object_get(conf, "Cluster"), *v;
	int i, j;

	if (cluster == NULL) {
		cluster = json_object();
		json_object_set_new(conf, "Cluster", cluster);
	}
	for (i = 0; clss[i] != NULL; i++)
		for (j = 0; traits[j] != NULL; j++)
			if ((v = json_object_get(json_object_get(conf, clss[i]),
			    traits[j])) != NULL &&
			    json_object_get(cluster, traits[j]) == NULL)
				json_object_set(cluster, traits[j], v);
}

/* Load the profile's config files if any; -1 when one is broken. */
int
conf_load(struct cluster *c)
{
	static const char *const files[] = { "ipcluster_config", NULL };
	char why[1024], what[1200];
	json_t *file;
	const char *cls;
	json_t *v;

	if ((file = ipp_pyconf_load(c->prof.dir, files, why, sizeof(why))) ==
	    NULL) {
		snprintf(c->why, sizeof(c->why), "cannot read config: %s",
		    why);
		errno = EINVAL;
		return -1;
	}
	snprintf(what, sizeof(what), "%s/ipcluster_config.py", c->prof.dir);
	warn_unknown(file, what);
	/* merge under what the command line already set */
	json_object_foreach(file, cls, v) {
		json_t *have = json_object_get(c->conf, cls);

		if (!json_is_object(v))
			continue;
		if (have == NULL)
			json_object_set(c->conf, cls, v);
		else
			json_object_update_missing(have, v);
	}
	json_decref(file);
	map_deprecated(c->conf);
	return 0;
}

/*
 * "Class.trait=value" (without the leading dashes).  The value is taken
 * as JSON when it parses (numbers, lists, dicts, true), else as a string,
 * the way traitlets reads command-line values.
 */
int
conf_set_arg(json_t *conf, const char *arg)
{
	const char *dot, *eq;
	char cls[128], trait[128];
	json_t *v, *o;
	size_t len;

	dot = strchr(arg, '.');
	eq = strchr(arg, '=');
	if (dot == NULL || eq == NULL || dot > eq ||
	    (size_t)(dot - arg) >= sizeof(cls) ||
	    (size_t)(eq - dot) >= sizeof(trait)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(cls, sizeof(cls), "%.*s", (int)(dot - arg), arg);
	snprintf(trait, sizeof(trait), "%.*s", (int)(eq - dot - 1), dot + 1);
	eq++;
	len = strlen(eq);
	if ((v = json_loads(eq, JSON_DECODE_ANY, NULL)) == NULL) {
		if (len >= 2 && (eq[0] == '\'' || eq[0] == '"') &&
		    eq[len - 1] == eq[0])
			v = json_stringn(eq + 1, len - 2);
		else if (strcmp(eq, "True") == 0)
			v = json_true();
		else if (strcmp(eq, "False") == 0)
			v = json_false();
		else
			v = json_string(eq);
	}
	if ((o = json_object_get(conf, cls)) == NULL) {
		o = json_object();
		json_object_set_new(conf, cls, o);
	}
	json_object_set_new(o, trait, v);
	return 0;
}

json_t *
conf_get(const struct cluster *c, const char *const *classes,
    const char *trait)
{
	json_t *v;
	int i;

	for (i = 0; i < LAUNCH_MAXCLASS && classes[i] != NULL; i++)
		if ((v = json_object_get(json_object_get(c->conf, classes[i]),
		    trait)) != NULL && !json_is_null(v))
			return v;
	return NULL;
}

const char *
conf_str(const struct cluster *c, const char *const *classes,
    const char *trait, const char *dflt)
{
	json_t *v = conf_get(c, classes, trait);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

long
conf_long(const struct cluster *c, const char *const *classes,
    const char *trait, long dflt)
{
	json_t *v = conf_get(c, classes, trait);

	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_real(v))
		return (long)json_real_value(v);
	if (json_is_string(v))
		return strtol(json_string_value(v), NULL, 10);
	return dflt;
}

/*
 * Append a command trait to a: a JSON list of words, or a string split on
 * blanks.  1 when the trait was set, 0 when not.
 */
int
conf_argv(const struct cluster *c, const char *const *classes,
    const char *trait, struct argv *a)
{
	json_t *v = conf_get(c, classes, trait), *w;
	size_t i;

	if (json_is_string(v)) {
		argv_split(a, json_string_value(v));
		return 1;
	}
	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, w) {
		if (json_is_string(w))
			argv_add(a, json_string_value(w));
		else if (json_is_integer(w))
			argv_addf(a, "%lld", (long long)json_integer_value(w));
	}
	return 1;
}
