/*
 * winhpc.c - Windows HPC Server: ipyparallel's WindowsHPCControllerLauncher
 * and WindowsHPCEngineSetLauncher.  The job is not a script but an XML
 * job description, written here byte for byte as ipyparallel 7.1's
 * _winhpcjob.py writes it (ElementTree's attribute order, escaping and
 * indentation), submitted with "job submit /jobfile:FILE
 * /scheduler:HOST" and cancelled with "job cancel ID /scheduler:HOST".
 * batch.c does the submitting; this file renders.
 *
 * Settings are those of ipyparallel's classes: the job's on
 * IPEngineSetJob / IPControllerJob (or WinHPCJob): min_cores ...
 * max_nodes, unit_type, run_until_canceled, is_exclusive, username,
 * job_type, priority, requested_nodes, project, auto_calculate_min/max;
 * the task's on IPEngineTask / IPControllerTask (or WinHPCTask):
 * task_name, engine_cmd / controller_cmd (default ipengine.exe /
 * ipcontroller.exe: the job runs on Windows, where there is no engined),
 * engine_args / controller_args (default --log-level=40),
 * is_rerunnaable (sic), is_parametric, environment_variables; and
 * WindowsHPCLauncher.scheduler and job_cmd.  No Windows HPC was at hand:
 * only the rendered files are tested, against ipyparallel's (t3150).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "launch.h"

/* A job or task attribute: its XML name, trait and default. */
struct attr {
	const char	*key;
	const char	*trait;		/* NULL: not configurable */
	const char	*dflt;		/* as ipyparallel prints it */
};

static const struct attr job_attrs[] = {
	{ "Version", NULL, "2.000" }, { "Name", NULL, NULL },
	{ "UnitType", "unit_type", "Core" },
	{ "MinCores", "min_cores", "1" }, { "MaxCores", "max_cores", "1" },
	{ "MinSockets", "min_sockets", "1" },
	{ "MaxSockets", "max_sockets", "1" },
	{ "MinNodes", "min_nodes", "1" }, { "MaxNodes", "max_nodes", "1" },
	{ "RunUntilCanceled", "run_until_canceled", "false" },
	{ "IsExclusive", "is_exclusive", "false" },
	{ "UserName", "username", NULL }, { "JobType", "job_type", "Batch" },
	{ "Priority", "priority", "Highest" },
	{ "RequestedNodes", "requested_nodes", "" },
	{ "AutoCalculateMax", "auto_calculate_max", "true" },
	{ "AutoCalculateMin", "auto_calculate_min", "true" },
	{ "Project", "project", "IPython" }, { "Owner", "username", NULL },
	{ "xmlns", NULL, "http://schemas.microsoft.com/HPCS2008/scheduler/" },
	{ NULL, NULL, NULL }
};

/* The task's core and node counts are not configurable (config=False). */
static const struct attr task_attrs[] = {
	{ "Version", NULL, "2.000" }, { "Name", "task_name", NULL },
	{ "MinCores", NULL, "1" }, { "MaxCores", NULL, "1" },
	{ "MinSockets", NULL, "1" }, { "MaxSockets", NULL, "1" },
	{ "MinNodes", NULL, "1" }, { "MaxNodes", NULL, "1" },
	{ "CommandLine", NULL, NULL }, { "WorkDirectory", NULL, NULL },
	{ "IsRerunnable", "is_rerunnaable", "true" },
	{ "StdOutFilePath", NULL, NULL }, { "StdErrFilePath", NULL, NULL },
	{ "IsParametric", "is_parametric", "false" },
	{ "UnitType", NULL, "Core" },
	{ NULL, NULL, NULL }
};

/* ElementTree's escaping: attributes (attr 1) or text. */
static void
xml_escaped(FILE *fp, const char *s, int attr)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&': fputs("&amp;", fp); break;
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '"': fputs(attr ? "&quot;" : "\"", fp); break;
		case '\r': fputs(attr ? "&#13;" : "\r", fp); break;
		case '\n': fputs(attr ? "&#10;" : "\n", fp); break;
		case '\t': fputs(attr ? "&#09;" : "\t", fp); break;
		default: fputc(*s, fp);
		}
}

/* A config value as _winhpcjob.as_str prints it (bools lower case). */
static const char *
as_str(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return NULL;
}

/* USERDOMAIN\USERNAME, or USERNAME, as find_username(). */
static void
username(char *buf, size_t len)
{
	const char *dom = getenv("USERDOMAIN"), *user = getenv("USERNAME");

	if (dom != NULL)
		snprintf(buf, len, "%s\\%s", dom, user ? user : "");
	else
		snprintf(buf, len, "%s", user ? user : "");
}

/* Write the attributes; fixed[] gives values for the unconfigurable. */
static void
attrs(struct cluster *c, FILE *fp, const struct attr *a,
    const char *const *cls, const char *const *fixed)
{
	const char *v;
	char num[32];
	int i;

	for (i = 0; a[i].key != NULL; i++) {
		v = fixed[i] != NULL ? fixed[i] : a[i].dflt;
		if (a[i].trait != NULL) {
			json_t *set = conf_get(c, cls, a[i].trait);
			const char *s = as_str(set, num, sizeof(num));

			if (s != NULL)
				v = s;
		}
		if (v == NULL || *v == '\0')
			continue;
		fprintf(fp, " %s=\"", a[i].key);
		xml_escaped(fp, v, 1);
		fputc('"', fp);
	}
}

static void
random_uuid(char *buf, size_t len)
{
	char h[33];

	ipp_random_hex(h, 16);
	snprintf(buf, len, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
	    h + 16, h + 20);
}

/* One <Task>, indented as ElementTree's indent() leaves it. */
static void
task(struct cluster *c, FILE *fp, int engines, const char *const *cls,
    const char *cmdline)
{
	const char *fixed[16] = { NULL };
	const char *what = engines ? "ipengine" : "ipcontroller";
	char out[128], err[128], uuid[40];
	json_t *env, *v;
	const char *k;

	random_uuid(uuid, sizeof(uuid));
	snprintf(out, sizeof(out), "log/%s-%s.out", what, uuid);
	snprintf(err, sizeof(err), "log/%s-%s.err", what, uuid);
	fixed[1] = engines ? "IPEngine" : "IPController";	/* default */
	fixed[8] = cmdline;
	fixed[9] = c->prof.dir;
	fixed[11] = out;
	fixed[12] = err;
	fputs("    <Task", fp);
	attrs(c, fp, task_attrs, cls, fixed);
	fputs(">\n", fp);
	env = conf_get(c, cls, "environment_variables");
	if (!json_is_object(env) || json_object_size(env) == 0) {
		fputs("      <EnvironmentVariables />\n    </Task>\n", fp);
		return;
	}
	fputs("      <EnvironmentVariables>\n", fp);
	json_object_foreach(env, k, v) {
		fputs("        <Variable>\n          <Name>", fp);
		xml_escaped(fp, k, 0);
		fputs("</Name>\n          <Value>", fp);
		xml_escaped(fp, json_is_string(v) ? json_string_value(v) : "",
		    0);
		fputs("</Value>\n        </Variable>\n", fp);
	}
	fputs("      </EnvironmentVariables>\n    </Task>\n", fp);
}

/*
 * The job description of a controller (engines 0) or of n engines, one
 * task each.  The command line is the task's command and arguments,
 * then --profile-dir and --cluster-id, then the launcher's arguments,
 * joined by blanks (unquoted), as ipyparallel writes it; a controller
 * also gets Cluster.controller_ip, _location and _args, as ipyparallel's
 * Cluster passes them (it passes nothing to engines).
 */
static int
winhpc_render(struct cluster *c, const struct launcher *l, int engines,
    int n, char **script)
{
	static const char *const ejob[] = { "IPEngineSetJob", "WinHPCJob",
	    NULL }, *const cjob[] = { "IPControllerJob", "WinHPCJob", NULL },
	    *const etask[] = { "IPEngineTask", "WinHPCTask", NULL },
	    *const ctask[] = { "IPControllerTask", "WinHPCTask", NULL },
	    *const cluster_cls[] = { "Cluster", NULL };
	const char *const *tcls = engines ? etask : ctask;
	const char *fixed[24] = { NULL };
	const char *what = engines ? "engine" : "controller", *v;
	char user[256], trait[32];
	struct argv a;
	size_t size;
	char *cmd;
	FILE *fp;
	int i;

	argv_init(&a);
	snprintf(trait, sizeof(trait), "%s_cmd", what);
	if (!conf_argv(c, tcls, trait, &a))
		argv_add(&a, engines ? "ipengine.exe" : "ipcontroller.exe");
	snprintf(trait, sizeof(trait), "%s_args", what);
	if (!conf_argv(c, tcls, trait, &a))
		argv_add(&a, "--log-level=40");
	argv_add(&a, "--profile-dir");
	argv_add(&a, c->prof.dir);
	argv_add(&a, "--cluster-id");
	argv_add(&a, c->id);
	if (!engines) {
		/* what ipyparallel's Cluster adds to a controller's args */
		if ((v = conf_str(c, cluster_cls, "controller_ip", NULL)) !=
		    NULL)
			argv_addf(&a, "--ip=%s", v);
		if ((v = conf_str(c, cluster_cls, "controller_location",
		    NULL)) != NULL)
			argv_addf(&a, "--location=%s", v);
		conf_argv(c, cluster_cls, trait, &a);
	}
	size = 1;
	for (i = 0; i < a.n; i++)
		size += strlen(a.v[i]) + 1;
	cmd = xcalloc(1, size);
	for (i = 0; i < a.n; i++) {
		if (i > 0)
			strcat(cmd, " ");
		strcat(cmd, a.v[i]);
	}
	argv_free(&a);

	username(user, sizeof(user));
	fixed[1] = engines ? "IPEngineSet" : "IPController";
	fixed[11] = fixed[18] = user;
	if ((fp = open_memstream(script, &size)) == NULL) {
		snprintf(c->why, sizeof(c->why), "out of memory");
		free(cmd);
		return -1;
	}
	fputs("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Job", fp);
	attrs(c, fp, job_attrs, engines ? ejob : cjob, fixed);
	fputs(">\n  <Dependencies />\n  <Tasks>\n", fp);
	for (i = 0; i < (engines ? n : 1); i++)
		task(c, fp, engines, tcls, cmd);
	fputs("  </Tasks>\n</Job>\n", fp);	/* indent() left a tail */
	fclose(fp);
	free(cmd);
	return 0;
}

static const struct batch_system winhpc_system = {
	.name = "WindowsHPC",
	.submit = { "job", "submit", NULL },
	.submit_stdin = 0,
	.poll = { NULL },		/* ipyparallel does not poll either */
	.cancel = { "job", "cancel", NULL },
	.job_id_regexp = "[0-9]+",
	.dead_states = { NULL },
	.queue_directive = "",
	.engine_template = NULL,
	.controller_template = NULL,
	.render = winhpc_render,
	.path_arg = "/jobfile:%s",
	.extra_arg = { "scheduler", "/scheduler:%s" },
	.file_ext = "xml",
	.cmd_trait = "job_cmd",
};

const struct launcher winhpc_launcher =
    BATCH_LAUNCHER("winhpc", "WindowsHPC", winhpc_system);
