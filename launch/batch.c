/*
 * batch.c - what every batch-system launcher does, given the commands
 * and default templates of its system (struct batch_system in slurm.c,
 * pbs.c, sge.c, lsf.c, htcondor.c): render the job script, write it into
 * the profile, submit it, find the job id in the submit command's output,
 * poll whether the job is still queued or running, cancel it.
 *
 * Settings follow ipyparallel's BatchSystemLauncher: batch_template,
 * batch_template_file, queue, submit_command, job_id_regexp (Python's \d
 * and \s are accepted), on the launcher's classes, e.g.
 * SlurmEngineSetLauncher.queue or SlurmLauncher.queue.  Template fields:
 * {n} {queue} {queue_directive} {profile_dir} {cluster_id} {output_file}
 * {program_and_args} {program} {arguments}, and integer expressions.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "launch.h"

/* The config classes of a controller or an engine set of this system. */
static void
classes_of(const struct launcher *l, int engines, char names[3][64],
    const char *out[4])
{
	int i;

	if (engines) {
		for (i = 0; i < 3; i++)
			out[i] = l->classes[i];
		out[3] = NULL;
		return;
	}
	snprintf(names[0], 64, "%sControllerLauncher", l->batch->name);
	snprintf(names[1], 64, "%sLauncher", l->batch->name);
	snprintf(names[2], 64, "BatchSystemLauncher");
	for (i = 0; i < 3; i++)
		out[i] = names[i];
	out[3] = NULL;
}

static char *
read_text(const char *path)
{
	char *buf = NULL;
	size_t size = 0, n;
	char chunk[4096];
	FILE *fp, *out;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	if ((out = open_memstream(&buf, &size)) == NULL) {
		fclose(fp);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		fwrite(chunk, 1, n, out);
	fclose(fp);
	fclose(out);
	return buf;
}

/*
 * Render the script of a controller (engines=0) or of n engines.  output
 * is the job's output file.  0 and a malloc'd script, or -1 (c->why).
 */
int
batch_render(struct cluster *c, const struct launcher *l, int engines, int n,
    const char *output, char **script)
{
	char names[3][64], qd[256], *tmpl_buf = NULL, *s;
	const char *cls[4], *tmpl, *queue, *file;
	struct argv a;
	json_t *vars;
	int rc;

	if (l->batch->render != NULL)
		return l->batch->render(c, l, engines, n, script);
	classes_of(l, engines, names, cls);
	argv_init(&a);
	rc = engines ? cluster_engine_argv(c, l, &a, 0) :
	    cluster_controller_argv(c, &a);
	if (rc == -1) {
		argv_free(&a);
		return -1;
	}
	queue = conf_str(c, cls, "queue", "");
	qd[0] = '\0';
	if (*queue && *l->batch->queue_directive)
		snprintf(qd, sizeof(qd), l->batch->queue_directive, queue);
	vars = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "n", n,
	    "queue", queue, "queue_directive", qd, "profile_dir",
	    c->prof.dir, "cluster_id", c->id, "output_file", output,
	    "program", a.v[0]);
	s = argv_join(&a);
	json_object_set_new(vars, "program_and_args", json_string(s));
	free(s);
	free(a.v[0]);
	a.v[0] = xstrdup("");
	s = argv_join(&a);
	json_object_set_new(vars, "arguments", json_string(strlen(s) > 3 ?
	    s + 3 : ""));
	free(s);
	argv_free(&a);
	if ((tmpl = conf_str(c, cls, "batch_template", NULL)) == NULL &&
	    (file = conf_str(c, cls, "batch_template_file", NULL)) != NULL) {
		if ((tmpl_buf = read_text(file)) == NULL) {
			snprintf(c->why, sizeof(c->why), "cannot read "
			    "template '%s': %s", file, strerror(errno));
			json_decref(vars);
			return -1;
		}
		tmpl = tmpl_buf;
	}
	if (tmpl == NULL)
		tmpl = engines ? l->batch->engine_template :
		    l->batch->controller_template;
	*script = template_render(tmpl, vars, c->why, sizeof(c->why));
	free(tmpl_buf);
	json_decref(vars);
	return *script == NULL ? -1 : 0;
}

/* Python's \d \s \w in a job_id_regexp, as POSIX classes. */
static void
posix_regex(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in != '\0' && o + 16 < len; in++) {
		if (in[0] == '\\' && (in[1] == 'd' || in[1] == 's' ||
		    in[1] == 'w')) {
			o += snprintf(out + o, len - o, "%s", in[1] == 'd' ?
			    "[0-9]" : in[1] == 's' ? "[[:space:]]" :
			    "[[:alnum:]_]");
			in++;
		} else
			out[o++] = *in;
	}
	out[o] = '\0';
}

/*
 * The command line of submit (words) or cancel: the system's, with its
 * first word replaced by cmd_trait's setting, and the extra_arg setting
 * after what follows (the script or the job id).  The cancel command is
 * recorded in the job's state, for stop, which has no config.
 */
static void
command(struct cluster *c, const struct batch_system *b,
    const char *const *cls, const char *const *words, const char *what,
    struct argv *a)
{
	const char *v;
	int i;

	for (i = 0; words[i] != NULL; i++)
		if (i > 0 || b->cmd_trait == NULL ||
		    (v = conf_str(c, cls, b->cmd_trait, NULL)) == NULL)
			argv_add(a, words[i]);
		else
			argv_add(a, v);
	if (what != NULL && b->path_arg != NULL)
		argv_addf(a, b->path_arg, what);
	else if (what != NULL)
		argv_add(a, what);
	if (b->extra_arg[0] != NULL &&
	    (v = conf_str(c, cls, b->extra_arg[0], NULL)) != NULL)
		argv_addf(a, b->extra_arg[1], v);
}

static int
submit(struct cluster *c, const struct launcher *l, const char *const *cls,
    const char *script, const char *path, char *job, size_t joblen)
{
	char out[4096], re_text[512], dir[1024], *slash;
	regmatch_t m[2];
	struct argv a;
	regex_t re;
	int rc, g;

	if (ipp_write_file(path, script, strlen(script), 0755) == -1) {
		snprintf(c->why, sizeof(c->why), "cannot write '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	argv_init(&a);
	if (!conf_argv(c, cls, "submit_command", &a))
		command(c, l->batch, cls, l->batch->submit,
		    l->batch->submit_stdin ? NULL : path, &a);
	else if (!l->batch->submit_stdin)
		argv_add(&a, path);
	/*
	 * Submit from the script's directory (the profile's): PBS-style
	 * qsub writes the job's output files where it was run, and that
	 * must not be the user's current directory.
	 */
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	rc = proc_run(&a, slash != NULL ? dir : NULL,
	    l->batch->submit_stdin ? path : NULL, out, sizeof(out), 60);
	if (rc != 0) {
		snprintf(c->why, sizeof(c->why), "'%s %s' failed (%s): %.300s",
		    a.v[0], path, rc == -1 ? strerror(errno) : "exit status",
		    out);
		argv_free(&a);
		return -1;
	}
	argv_free(&a);
	posix_regex(conf_str(c, cls, "job_id_regexp",
	    l->batch->job_id_regexp), re_text, sizeof(re_text));
	if (regcomp(&re, re_text, REG_EXTENDED) != 0) {
		snprintf(c->why, sizeof(c->why), "bad job_id_regexp '%s'",
		    re_text);
		return -1;
	}
	rc = regexec(&re, out, 2, m, 0);
	regfree(&re);
	if (rc != 0) {
		snprintf(c->why, sizeof(c->why), "no job id in the output of "
		    "%s: %.300s", l->batch->submit[0], out);
		return -1;
	}
	g = m[1].rm_so >= 0 ? 1 : 0;
	snprintf(job, joblen, "%.*s", (int)(m[g].rm_eo - m[g].rm_so),
	    out + m[g].rm_so);
	return 0;
}

static int
start(struct cluster *c, const struct launcher *l, int engines, int n,
    const char *setid, json_t *state)
{
	char names[3][64], log[1200], path[1200], what[128], job[128];
	const char *cls[4];
	char *script;

	classes_of(l, engines, names, cls);
	snprintf(what, sizeof(what), "%s%s%s", engines ? "ipengine" :
	    "ipcontroller", engines ? "-" : "", engines ? setid : "");
	cluster_logpath(c, what, log, sizeof(log));
	if (batch_render(c, l, engines, n, log, &script) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/%s_%s%s%s.%s", c->prof.dir, l->name,
	    what, *c->id ? "-" : "", c->id, l->batch->file_ext ?
	    l->batch->file_ext : "sh");
	if (submit(c, l, cls, script, path, job, sizeof(job)) == -1) {
		free(script);
		return -1;
	}
	free(script);
	json_object_set_new(state, "job_id", json_string(job));
	if (l->batch->cmd_trait != NULL || l->batch->extra_arg[0] != NULL) {
		struct argv a;
		json_t *words = json_array();
		int i;

		argv_init(&a);
		command(c, l->batch, cls, l->batch->cancel, NULL, &a);
		for (i = 0; i < a.n; i++)
			json_array_append_new(words, json_string(a.v[i]));
		argv_free(&a);
		json_object_set_new(state, "cancel_command", words);
	}
	json_object_set_new(state, "output_file", json_string(log));
	json_object_set_new(state, "batch_file", json_string(path));
	log_info("submitted %s job %s", l->batch->name, job);
	return 0;
}

int
batch_start_engines(struct cluster *c, struct eset *es)
{
	json_t *st = json_object();

	json_object_set_new(es->state, "state", st);
	if (start(c, es->l, 1, es->n, es->id, st) == -1) {
		snprintf(es->why, sizeof(es->why), "%s", c->why);
		return -1;
	}
	return 0;
}

int
batch_start_controller(struct cluster *c, json_t *state)
{
	return start(c, c->ctl_l, 0, 1, NULL, state);
}

/* 1 while the job is queued or running, 0 when it is over, -1 unknown. */
int
batch_poll(const struct batch_system *b, const char *job)
{
	struct argv a;
	char out[2048], *w, *save = NULL;
	int i, rc;

	if (b->poll[0] == NULL)
		return -1;	/* not polled: unknown */
	argv_init(&a);
	for (i = 0; b->poll[i] != NULL; i++)
		argv_add(&a, b->poll[i]);
	argv_add(&a, job);
	rc = proc_run(&a, NULL, NULL, out, sizeof(out), 30);
	argv_free(&a);
	if (rc == -1)
		return -1;
	if (rc != 0)
		return 0;
	if (strspn(out, " \t\n") == strlen(out))
		return 0;
	for (w = strtok_r(out, " \t\n", &save); w != NULL;
	    w = strtok_r(NULL, " \t\n", &save))
		for (i = 0; b->dead_states[i] != NULL; i++)
			if (strcmp(w, b->dead_states[i]) == 0)
				return 0;
	return 1;
}

/* state: the job's record, whose cancel_command (if any) is used. */
int
batch_cancel(const struct batch_system *b, const char *job, json_t *state)
{
	json_t *words = json_object_get(state, "cancel_command"), *w;
	struct argv a;
	char out[1024];
	size_t k;
	int i, rc;

	argv_init(&a);
	for (i = 0; !json_is_array(words) && b->cancel[i] != NULL; i++)
		argv_add(&a, b->cancel[i]);
	json_array_foreach(words, k, w)
		if (json_is_string(w) && k < 2)
			argv_add(&a, json_string_value(w));
	argv_add(&a, job);
	json_array_foreach(words, k, w)
		if (json_is_string(w) && k >= 2)
			argv_add(&a, json_string_value(w));
	rc = proc_run(&a, NULL, NULL, out, sizeof(out), 30);
	argv_free(&a);
	if (rc != 0 && batch_poll(b, job) == 1) {
		errno = EIO;
		return -1;
	}
	return 0;
}
