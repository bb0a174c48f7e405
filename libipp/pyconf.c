/*
 * pyconf.c - the profile's traitlets config files (ipcluster_config.py,
 * ipcontroller_config.py, ipengine_config.py and their .json forms), as
 * ipyparallel's applications read them.  They are Python, so they are
 * evaluated by traitlets itself: pyconf.py (compiled in as a string) runs
 * in /usr/bin/python3 (or $IPP_PYTHON) and prints the merged settings as
 * JSON, {"Class": {"trait": value}}.  The programs stay free of an
 * embedded interpreter for this, and a Python error comes back as
 * "FILE:LINE: message".
 *
 * Starting Python costs ~0.1 s, which a hundred engines starting at once
 * would feel, so it runs only when a file can hold a setting: files that
 * are absent, or hold nothing but comments and the "c = get_config()"
 * line that "ipython profile create" writes, set nothing and are skipped.
 */
#include <sys/wait.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipp.h"
#include "pyconf_py.h"		/* pyconf.py as a C string, made by make */

#define PYCONF_MAXBASES	4

/* 1 when the file at path exists and may set something. */
static int
has_settings(const char *path, int is_json)
{
	char line[4096], *p, *e;
	int any = 0;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return errno != ENOENT;	/* unreadable: let Python say why */
	if (is_json) {
		fclose(fp);
		return 1;
	}
	while (!any && fgets(line, sizeof(line), fp) != NULL) {
		for (p = line; isspace((unsigned char)*p); p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		/* the template's one statement, and its "# noqa" */
		if ((e = strchr(p, '#')) != NULL)
			*e = '\0';
		for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]);
		    e--)
			;
		*e = '\0';
		if (strcmp(p, "c = get_config()") != 0)
			any = 1;
	}
	fclose(fp);
	return any;
}

/* Run pyconf.py; its whole stdout in *out (malloc'ed). */
static int
run_python(const char *dir, const char *const *bases, char **out,
    char *why, size_t whylen)
{
	const char *py = getenv("IPP_PYTHON");
	const char *argv[4 + PYCONF_MAXBASES + 1];
	size_t len = 0, cap = 4096;
	char *buf;
	int fds[2], status, i, n = 0;
	ssize_t r;
	pid_t pid;

	if (py == NULL || *py == '\0')
		py = "/usr/bin/python3";
	argv[n++] = py;
	argv[n++] = "-c";
	argv[n++] = pyconf_py;
	argv[n++] = dir;
	for (i = 0; bases[i] != NULL && i < PYCONF_MAXBASES; i++)
		argv[n++] = bases[i];
	argv[n] = NULL;
	if (pipe(fds) == -1) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(py, (char *const *)argv);
		fprintf(stderr, "cannot run '%s': %s\n", py, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	buf = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			buf = xrealloc(buf, 2, cap);
			cap *= 2;
		}
		r = read(fds[0], buf + len, cap - len - 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (len == 0) {
		snprintf(why, whylen, "'%s' could not evaluate the config "
		    "files (exit status %d)", py, WIFEXITED(status) ?
		    WEXITSTATUS(status) : 128 + WTERMSIG(status));
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

json_t *
ipp_pyconf_load(const char *dir, const char *const *bases, char *why,
    size_t whylen)
{
	json_error_t jerr;
	json_t *doc, *conf;
	char path[1200], *out;
	const char *err;
	int i, any = 0;

	for (i = 0; bases[i] != NULL && i < PYCONF_MAXBASES && !any; i++) {
		snprintf(path, sizeof(path), "%s/%s.py", dir, bases[i]);
		any = has_settings(path, 0);
		snprintf(path, sizeof(path), "%s/%s.json", dir, bases[i]);
		any = any || has_settings(path, 1);
	}
	if (!any)
		return json_object();
	if (run_python(dir, bases, &out, why, whylen) == -1)
		return NULL;
	doc = json_loads(out, 0, &jerr);
	free(out);
	if (doc == NULL) {
		snprintf(why, whylen, "config evaluation gave no JSON: %s",
		    jerr.text);
		return NULL;
	}
	if ((err = json_string_value(json_object_get(doc, "error"))) != NULL ||
	    !json_is_object(json_object_get(doc, "config"))) {
		snprintf(why, whylen, "%s", err ? err : "no config");
		json_decref(doc);
		errno = EINVAL;
		return NULL;
	}
	conf = json_incref(json_object_get(doc, "config"));
	json_decref(doc);
	return conf;
}
