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

static void
apply_trait(void *cfg, const struct ipp_option *opts,
    const struct ipp_trait *traits, const char *arg)
{
	const char *eq = strchr(arg, '=');
	const struct ipp_option *o;
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
		o = find_option(opts, t->opt, strlen(t->opt));
		snprintf(val, sizeof(val), "%s", eq + 1);
		/* traitlets values may be quoted: --IPController.ip='*' */
		len = strlen(val);
		if (len >= 2 && (val[0] == '"' || val[0] == '\'') &&
		    val[len - 1] == val[0]) {
			memmove(val, val + 1, len - 2);
			val[len - 2] = '\0';
		}
		if (o == NULL)
			return;
		if (o->kind == IPP_OPT_FLAG && is_false(val))
			return;
		o->set(cfg, o->kind == IPP_OPT_FLAG ? NULL : val);
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
