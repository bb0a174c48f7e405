/*
 * opts.c - command lines in the style of IPython's applications, shared
 * by the programs: "--name=value" or "--name value", flags without a
 * value, and traitlets settings "--Class.trait=value" that are mapped to
 * an option when the program has an equivalent and otherwise warned
 * about and ignored, so command lines written for ipcontroller/ipengine
 * keep working.  A table of struct ipp_option drives parsing and -h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipp.h"

static const struct ipp_option *
find_option(const struct ipp_option *opts, const char *name, size_t len)
{
	for (; opts->name != NULL; opts++)
		if (strlen(opts->name) == len &&
		    strncmp(opts->name, name, len) == 0)
			return opts;
	return NULL;
}

void
ipp_opts_usage(FILE *fp, const char *synopsis, const struct ipp_option *opts,
    const struct ipp_trait *traits, const char *epilogue)
{
	const struct ipp_option *o;
	const struct ipp_trait *t;
	int i = 0;

	fprintf(fp, "%s\n\nOptions:\n", synopsis);
	for (o = opts; o->name != NULL; o++)
		if (o->help != NULL)
			fprintf(fp, "  --%-16s %s\n", o->name, o->help);
	if (traits != NULL && traits->trait != NULL) {
		fprintf(fp, "\nAlso accepted: --Class.trait=value for");
		for (t = traits; t->trait != NULL; t++, i++)
			fprintf(fp, "%s%s %s", i ? "," : "",
			    i % 3 == 2 ? "\n " : "", t->trait);
		fprintf(fp, ";\nother traits are warned about and ignored.\n");
	}
	if (epilogue != NULL)
		fprintf(fp, "%s", epilogue);
}

static int
is_false(const char *v)
{
	return strcmp(v, "False") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "0") == 0;
}

/* Set the option trait t means to val (a flag: unless val is false). */
static void
set_trait(void *cfg, const struct ipp_option *opts,
    const struct ipp_trait *t, const char *val)
{
	const struct ipp_option *o = find_option(opts, t->opt, strlen(t->opt));

	if (o == NULL || (o->kind == IPP_OPT_FLAG && is_false(val)))
		return;
	o->set(cfg, o->kind == IPP_OPT_FLAG ? NULL : val);
}

static void
apply_trait(void *cfg, const struct ipp_option *opts,
    const struct ipp_trait *traits, const char *arg)
{
	const char *eq = strchr(arg, '=');
	const struct ipp_trait *t;
	char val[4096];
	size_t len;

	if (eq == NULL) {
		log_warnx("ignoring '--%s': traitlets settings need =value",
		    arg);
		return;
	}
	len = (size_t)(eq - arg);
	for (t = traits; t != NULL && t->trait != NULL; t++) {
		if (strlen(t->trait) != len || strncmp(t->trait, arg, len) != 0)
			continue;
		snprintf(val, sizeof(val), "%s", eq + 1);
		/* traitlets values may be quoted: --IPController.ip='*' */
		len = strlen(val);
		if (len >= 2 && (val[0] == '"' || val[0] == '\'') &&
		    val[len - 1] == val[0]) {
			memmove(val, val + 1, len - 2);
			val[len - 2] = '\0';
		}
		set_trait(cfg, opts, t, val);
		return;
	}
	log_warnx("ignoring unknown setting '--%.*s' (no equivalent here)",
	    (int)len, arg);
}

int
ipp_opts_parse(void *cfg, const struct ipp_option *opts,
    const struct ipp_trait *traits, int argc, char **argv, int *argi)
{
	const struct ipp_option *o;
	const char *arg, *eq, *val;
	int i;

	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0') {
			if (argi != NULL)
				break;
			log_warnx("unexpected argument '%s' (see -h)", arg);
			return -1;
		}
		arg += arg[1] == '-' ? 2 : 1;
		eq = strchr(arg, '=');
		o = find_option(opts, arg, eq ? (size_t)(eq - arg) :
		    strlen(arg));
		if (o == NULL) {
			const char *dot = strchr(arg, '.');

			if (dot != NULL && (eq == NULL || dot < eq)) {
				apply_trait(cfg, opts, traits, arg);
				continue;
			}
			log_warnx("unknown option '%s' (see -h)", argv[i]);
			return -1;
		}
		if (o->kind == IPP_OPT_FLAG) {
			if (eq != NULL && is_false(eq + 1))
				continue;
			val = NULL;
		} else if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			log_warnx("option --%s needs a value", o->name);
			return -1;
		}
		o->set(cfg, val);
	}
	if (argi != NULL)
		*argi = i;
	return 0;
}

long
ipp_opt_long(const char *v, const char *what, long lo, long hi)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *v == '\0' || *end != '\0' || n < lo || n > hi)
		fatalx("invalid %s '%s' (want an integer in %ld..%ld)", what, v,
		    lo, hi);
	return n;
}

void
ipp_opt_copy(char *dst, size_t len, const char *v, const char *what)
{
	if (strlen(v) >= len)
		fatalx("value of %s too long: '%.40s...'", what, v);
	snprintf(dst, len, "%s", v);
}

/*
 * A config value as option text: strings as they are, numbers, True and
 * False as traitlets prints them, lists joined by commas (--ports).
 * -1 for what no option can take (null, dicts).
 */
static int
value_text(json_t *v, char *buf, size_t len)
{
	size_t i, off = 0;
	json_t *w;

	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "True" : "False");
	else if (json_is_array(v)) {
		buf[0] = '\0';
		json_array_foreach(v, i, w) {
			if (off + 1 >= len || value_text(w, buf + off + !!i,
			    len - off - !!i) == -1)
				return -1;
			if (i)
				buf[off] = ',';
			off += strlen(buf + off);
		}
	} else
		return -1;
	return 0;
}

static int
class_known(const struct ipp_trait *traits, const char *cls)
{
	size_t len = strlen(cls);

	for (; traits->trait != NULL; traits++)
		if (strncmp(traits->trait, cls, len) == 0 &&
		    traits->trait[len] == '.')
			return 1;
	return 0;
}

void
ipp_opts_config(void *cfg, const struct ipp_option *opts,
    const struct ipp_trait *traits, json_t *conf, const char *what)
{
	const struct ipp_trait *t;
	const char *cls, *trait;
	char name[256], val[4096];
	json_t *o, *v;
	int n;

	/* last entries first: a table lists subclasses before their bases,
	 * and a subclass's setting wins, as in traitlets */
	for (n = 0; traits[n].trait != NULL; n++)
		;
	while (n-- > 0) {
		t = &traits[n];
		snprintf(name, sizeof(name), "%s", t->trait);
		if ((trait = strchr(name, '.')) == NULL)
			continue;
		name[trait++ - name] = '\0';
		v = json_object_get(json_object_get(conf, name), trait);
		if (v == NULL || json_is_null(v))
			continue;
		if (value_text(v, val, sizeof(val)) == -1) {
			log_warnx("%s: ignoring %s: not a value it takes",
			    what, t->trait);
			continue;
		}
		set_trait(cfg, opts, t, val);
	}
	json_object_foreach(conf, cls, o) {
		if (!class_known(traits, cls)) {
			log_warnx("%s: ignoring unknown class '%s'", what, cls);
			continue;
		}
		json_object_foreach(o, trait, v) {
			size_t len = strlen(cls);

			for (t = traits; t->trait != NULL; t++)
				if (strncmp(t->trait, cls, len) == 0 &&
				    t->trait[len] == '.' &&
				    strcmp(t->trait + len + 1, trait) == 0)
					break;
			if (t->trait == NULL)
				log_warnx("%s: ignoring unknown or unsupported "
				    "trait '%s.%s'", what, cls, trait);
		}
	}
}

int
ipp_opts_parse_profile(void *cfg, void *scratch,
    const struct ipp_option *opts, const struct ipp_trait *traits,
    int argc, char **argv, const char *const *bases, size_t name_off,
    size_t dir_off)
{
	char dir[1200], why[1024], what[1400];
	struct ipp_profile p;
	json_t *conf;
	int level = log_getlevel(), rc;

	/* the first pass only finds the profile; its warnings come later
	 * (but a fatal error in it, a bad value, is reported at once) */
	log_setlevel(LOG_LVL_CRITICAL);
	rc = ipp_opts_parse(scratch, opts, traits, argc, argv, NULL);
	log_setlevel(level);
	if (rc == 0) {
		if (ipp_profile_init(&p, (char *)scratch + dir_off,
		    (char *)scratch + name_off, "", 0) == -1)
			fatal("profile");
		snprintf(dir, sizeof(dir), "%s", p.dir);
		if ((conf = ipp_pyconf_load(dir, bases, why, sizeof(why))) ==
		    NULL)
			fatalx("config: %s", why);
		snprintf(what, sizeof(what), "%s/%s.py", dir, bases[0]);
		if (access(what, F_OK) == -1)
			snprintf(what, sizeof(what), "%s/%s.json", dir,
			    bases[0]);
		ipp_opts_config(cfg, opts, traits, conf, what);
		json_decref(conf);
	}
	return ipp_opts_parse(cfg, opts, traits, argc, argv, NULL);
}
