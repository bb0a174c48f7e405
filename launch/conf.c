/*
 * conf.c - configuration in the shape of ipyparallel's traitlets JSON
 * config: PROFILE/ipcluster_config.json holds {"Class": {"trait": value}},
 * e.g. {"Cluster": {"n": 4, "engine_launcher_class": "slurm"},
 * "SlurmEngineSetLauncher": {"queue": "debug"}}.  Command-line settings
 * "--Class.trait=value" and launch's own options are written into the
 * same object after the file is read, so the command line wins.
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

/* Load the profile's config file if there is one; -1 when it is broken. */
int
conf_load(struct cluster *c)
{
	json_error_t jerr;
	char path[1200];
	json_t *file;
	const char *cls;
	json_t *v;

	snprintf(path, sizeof(path), "%s/ipcluster_config.json", c->prof.dir);
	if (access(path, F_OK) == -1)
		return 0;
	if ((file = json_load_file(path, 0, &jerr)) == NULL ||
	    !json_is_object(file)) {
		snprintf(c->why, sizeof(c->why), "cannot read config '%s': "
		    "%s (line %d)", path, file ? "not an object" : jerr.text,
		    jerr.line);
		json_decref(file);
		errno = EINVAL;
		return -1;
	}
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
