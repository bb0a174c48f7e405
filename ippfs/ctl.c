/*
 * ctl.c - text commands written to the ctl files.
 *
 * A command ends at a newline or at the end of the write(); one write
 * may carry several.  All of them are checked first, so an unknown verb
 * (EINVAL, with the usage as the error text) runs nothing.  Then each is
 * sent to the controller or engines, and the write returns only when
 * every request was acknowledged: the FUSE write is parked while the
 * file handle is busy, and the last reply (or the REQ_TIMEOUT timer)
 * releases it with the errno of the first failure.  Tables map verbs to
 * functions per ctl file: engines/N/ctl (and engines/all/ctl, which
 * fans out to every live engine), tasks/N/ctl (also the fd of
 * tasks/clone, where a draft's parameters are set before "submit") and
 * /ctl.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ippfs.h"

#define MAXCMDS	16

/* The acknowledgements one write waits for. */
struct ctlop {
	struct fh	*fh;
	int		 outstanding;
	int		 err;
	char		 why[512];
	struct fstask	*task;		/* resubmit */
	int		 fatal;		/* kill, shutdown: the engine's death
					   acknowledges them */
};

struct cmd {
	const char	*name;
	int		 (*fn)(struct ctlop *, const char *arg);
};

static void
ack(void *arg, struct ipp_msg *m, int err)
{
	struct ctlop *op = arg;
	const char *st;
	json_t *rs, *v;
	struct fstask *t;
	const char *k;
	char why[256];

	if (m == NULL && err == EHOSTDOWN && op->fatal)
		err = 0;
	if (m == NULL && err != 0 && op->err == 0) {
		op->err = err;
		snprintf(op->why, sizeof(op->why), "no answer: %s",
		    strerror(err));
	} else if (m != NULL) {
		st = json_string_value(json_object_get(m->content, "status"));
		if ((st == NULL || strcmp(st, "ok") != 0) && op->err == 0) {
			op->err = EIO;
			snprintf(op->why, sizeof(op->why), "%s",
			    reply_error(m, why, sizeof(why)));
		} else if (op->task != NULL && (rs = json_object_get(
		    m->content, "resubmitted")) != NULL) {
			json_object_foreach(rs, k, v) {
				if (!json_is_string(v))
					continue;
				t = fstask_new(json_string_value(v), -1, 1,
				    op->task->code);
				t->poll_hub = 1;
				op->task->resubmitted = t->id;
				event_add("task %d queued", t->id);
			}
		}
	}
	if (--op->outstanding > 0)
		return;
	op->fh->busy = 0;
	op->fh->werr = op->err;
	if (op->err != 0)
		error_add(op->fh, op->err, "%s", op->why);
	free(op);
}

static int
to_engine(struct ctlop *op, struct fsengine *e, const char *msg_type,
    json_t *content_new)
{
	if (e == NULL || e->state != E_UP) {
		json_decref(content_new);
		errno = EHOSTDOWN;
		return -1;
	}
	if (client_request(fs.control, e->uuid, msg_type, content_new, NULL,
	    NULL, 0, ack, op) == -1)
		return -1;
	op->outstanding++;
	return 0;
}

/* Apply to engines/N or, for engines/all, to every live engine. */
static int
each_engine(struct ctlop *op, const char *msg_type, json_t *content_new)
{
	int i, rc = 0, n = 0;

	if (op->fh->obj != OBJ_ALL)
		return to_engine(op, fsengine_get(op->fh->obj), msg_type,
		    content_new);
	for (i = 0; i < fs.nengines && rc == 0; i++)
		if (fs.engines[i] != NULL && fs.engines[i]->state == E_UP) {
			rc = to_engine(op, fs.engines[i], msg_type,
			    json_deep_copy(content_new));
			n++;
		}
	json_decref(content_new);
	if (rc == 0 && n == 0) {
		errno = EHOSTDOWN;
		return -1;
	}
	return rc;
}

static int
e_interrupt(struct ctlop *op, const char *arg)
{
	return each_engine(op, "signal_request", json_pack("{s:i}", "sig",
	    SIGINT));
}

/*
 * engined kills itself before it can answer; the request then fails with
 * EHOSTDOWN when the hub reports the engine gone, which is the
 * acknowledgement a kill is waiting for.
 */
static void
ack_kill(void *arg, struct ipp_msg *m, int err)
{
	ack(arg, m, err == EHOSTDOWN ? 0 : err);
}

static int
e_kill(struct ctlop *op, const char *arg)
{
	struct fsengine *e;
	int i, n = 0;

	for (i = 0; i < fs.nengines; i++) {
		if ((e = fs.engines[i]) == NULL || (op->fh->obj != OBJ_ALL &&
		    i != op->fh->obj))
			continue;
		if (e->state != E_UP) {
			errno = EHOSTDOWN;
			return -1;
		}
		if (client_request(fs.control, e->uuid, "signal_request",
		    json_pack("{s:i}", "sig", SIGKILL), NULL, NULL, 0,
		    ack_kill, op) == -1)
			return -1;
		op->outstanding++;
		n++;
	}
	if (n == 0) {
		errno = op->fh->obj == OBJ_ALL ? EHOSTDOWN : ENOENT;
		return -1;
	}
	return 0;
}

static int
e_abort(struct ctlop *op, const char *arg)
{
	return each_engine(op, "abort_request", json_pack("{s:[]}",
	    "msg_ids"));
}

static int
e_reset(struct ctlop *op, const char *arg)
{
	return each_engine(op, "clear_request", json_object());
}

static int
e_shutdown(struct ctlop *op, const char *arg)
{
	/* ipengine exits before its answer is out */
	op->fatal = 1;
	return each_engine(op, "shutdown_request", json_pack("{s:b}",
	    "restart", 0));
}

static int
t_abort(struct ctlop *op, const char *arg)
{
	struct fstask *t = fstask_get(op->fh->obj);
	int i, rc = 0;

	if (t == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (t->state == T_DRAFT) {
		/* never sent: nobody else has to know */
		buf_printf(&t->error, "aborted before submission\n");
		fstask_setstate(t, T_ABORTED);
		return 0;
	}
	if (t->state >= T_DONE)
		return 0;
	if (t->engine >= 0)
		return to_engine(op, fsengine_get(t->engine), "abort_request",
		    json_pack("{s:[s]}", "msg_ids", t->msg_id));
	/* not yet assigned: whichever engine gets it must drop it */
	for (i = 0; i < fs.nengines && rc == 0; i++)
		if (fs.engines[i] != NULL && fs.engines[i]->state == E_UP)
			rc = to_engine(op, fs.engines[i], "abort_request",
			    json_pack("{s:[s]}", "msg_ids", t->msg_id));
	return rc;
}

static int
t_interrupt(struct ctlop *op, const char *arg)
{
	struct fstask *t = fstask_get(op->fh->obj);

	if (t == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (t->state != T_RUNNING || t->engine < 0)
		return 0;
	return to_engine(op, fsengine_get(t->engine), "signal_request",
	    json_pack("{s:i}", "sig", SIGINT));
}

static int
t_resubmit(struct ctlop *op, const char *arg)
{
	struct fstask *t = fstask_get(op->fh->obj);

	if (t == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (t->state < T_DONE) {
		snprintf(op->why, sizeof(op->why), "task %d has not ended",
		    t->id);
		errno = EBUSY;
		return -1;
	}
	op->task = t;
	if (client_request(fs.query, NULL, "resubmit_request", json_pack(
	    "{s:[s]}", "msg_ids", t->msg_id), NULL, NULL, 0, ack, op) == -1)
		return -1;
	op->outstanding++;
	return 0;
}

/* The draft of a clone parameter command, or NULL with errno and why. */
static struct fstask *
draft(struct ctlop *op)
{
	struct fstask *t = fstask_get(op->fh->obj);

	if (t == NULL) {
		errno = ENOENT;
		return NULL;
	}
	if (t->state != T_DRAFT) {
		snprintf(op->why, sizeof(op->why), "task %d was already "
		    "submitted", t->id);
		errno = EBUSY;
		return NULL;
	}
	return t;
}

/* "3 4", "3,4" or empty: a list of non-negative integers, or NULL. */
static json_t *
int_list(const char *arg)
{
	json_t *a = json_array();
	char *end;
	long v;

	for (;;) {
		arg += strspn(arg, " \t,");
		if (*arg == '\0')
			return a;
		v = strtol(arg, &end, 10);
		if (end == arg || v < 0 || v >= OBJ_ALL ||
		    (*end != '\0' && strchr(" \t,", *end) == NULL)) {
			json_decref(a);
			errno = EINVAL;
			return NULL;
		}
		json_array_append_new(a, json_integer(v));
		arg = end;
	}
}

static int
t_list(struct ctlop *op, const char *key, const char *arg)
{
	struct fstask *t;
	json_t *a;

	if ((t = draft(op)) == NULL)
		return -1;
	if ((a = int_list(arg)) == NULL) {
		snprintf(op->why, sizeof(op->why), "%s: want numbers, as in "
		    "'%s 1 2'", key, key);
		return -1;
	}
	json_object_set_new(t->spec, key, a);
	return 0;
}

static int
t_targets(struct ctlop *op, const char *arg)
{
	return t_list(op, "targets", arg);
}

static int
t_after(struct ctlop *op, const char *arg)
{
	return t_list(op, "after", arg);
}

static int
t_follow(struct ctlop *op, const char *arg)
{
	return t_list(op, "follow", arg);
}

static int
t_timeout(struct ctlop *op, const char *arg)
{
	struct fstask *t;
	char *end;
	double v;

	if ((t = draft(op)) == NULL)
		return -1;
	v = strtod(arg, &end);
	if (end == arg || *end != '\0' || !isfinite(v) || v < 0) {
		snprintf(op->why, sizeof(op->why), "timeout: want seconds, "
		    "as in 'timeout 2.5' (0: none)");
		errno = EINVAL;
		return -1;
	}
	json_object_set_new(t->spec, "timeout", v > 0 ? json_real(v) :
	    json_null());
	return 0;
}

static int
t_retries(struct ctlop *op, const char *arg)
{
	struct fstask *t;
	char *end;
	long v;

	if ((t = draft(op)) == NULL)
		return -1;
	v = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || v < 0 || v > 1000) {
		snprintf(op->why, sizeof(op->why), "retries: want a count, "
		    "as in 'retries 2'");
		errno = EINVAL;
		return -1;
	}
	json_object_set_new(t->spec, "retries", json_integer(v));
	return 0;
}

static int
t_submit(struct ctlop *op, const char *arg)
{
	struct fstask *t;

	if ((t = draft(op)) == NULL)
		return -1;
	if (t->code[0] == '\0') {
		snprintf(op->why, sizeof(op->why), "task %d has no code: "
		    "write it to tasks/%d/code first", t->id, t->id);
		errno = EINVAL;
		return -1;
	}
	return fstask_send_draft(t, op->why, sizeof(op->why));
}

static void
purged(void *arg, struct ipp_msg *m, int err)
{
	struct fstask *t;
	int i;

	if (m != NULL && json_is_string(json_object_get(m->content,
	    "status")) && strcmp(json_string_value(json_object_get(
	    m->content, "status")), "ok") == 0) {
		for (i = 0; i < fs.ntasks; i++) {
			if ((t = fs.tasks[i]) == NULL || t->state < T_DONE)
				continue;
			ipp_map_del(fs.bymsg, t->msg_id);
			free(t->code);
			json_decref(t->reply);
			buf_free(&t->out);
			buf_free(&t->err);
			buf_free(&t->result);
			buf_free(&t->error);
			json_decref(t->spec);
			free(t);
			fs.tasks[i] = NULL;
		}
	}
	ack(arg, m, err);
}

static int
r_purge(struct ctlop *op, const char *arg)
{
	if (client_request(fs.query, NULL, "purge_request", json_pack("{s:s}",
	    "msg_ids", "all"), NULL, NULL, 0, purged, op) == -1)
		return -1;
	op->outstanding++;
	return 0;
}

static int
r_shutdown(struct ctlop *op, const char *arg)
{
	if (client_request(fs.query, NULL, "shutdown_request", json_object(),
	    NULL, NULL, 0, ack, op) == -1)
		return -1;
	op->outstanding++;
	return 0;
}

/*
 * settings [KEY VALUE]: ippfs's own knobs, shown when /ctl is read.
 * Checked before anything is changed, like the verbs.
 */
static int
r_settings(struct ctlop *op, const char *arg)
{
	char key[32], *end;
	const char *val;
	double v;
	size_t n;

	if (*arg == '\0')
		return 0;
	n = strcspn(arg, " \t");
	val = arg + n + strspn(arg + n, " \t");
	snprintf(key, sizeof(key), "%.*s", (int)(n < 31 ? n : 31), arg);
	v = strtod(val, &end);
	if (end == val || *end != '\0' || !isfinite(v) || v < 0 ||
	    (strcmp(key, "timeout") == 0 && v == 0) ||
	    (strcmp(key, "retries") == 0 && v != floor(v)) ||
	    (strcmp(key, "ns_dunder") == 0 && v != 0 && v != 1)) {
		errno = EINVAL;
		goto usage;
	}
	if (strcmp(key, "timeout") == 0)
		fs.req_timeout = v;
	else if (strcmp(key, "task_timeout") == 0)
		fs.task_timeout = v;
	else if (strcmp(key, "retries") == 0)
		fs.task_retries = (int)v;
	else if (strcmp(key, "ns_dunder") == 0)
		fs.ns_dunder = (int)v;
	else if (vis_setting(key, v) != 0) {
		errno = EINVAL;
		goto usage;
	}
	return 0;
usage:
	snprintf(op->why, sizeof(op->why), "usage: settings [timeout S | "
	    "task_timeout S | retries N | ns_dunder 0|1 | "
	    "timeline_tasks N | timeline_seconds S]");
	return -1;
}

static const struct cmd engine_cmds[] = {
	{ "interrupt", e_interrupt },
	{ "kill", e_kill },
	{ "abort", e_abort },
	{ "reset", e_reset },
	{ "shutdown", e_shutdown },
	{ NULL, NULL }
};

static const struct cmd task_cmds[] = {
	{ "abort", t_abort },
	{ "interrupt", t_interrupt },
	{ "resubmit", t_resubmit },
	{ "targets", t_targets },
	{ "after", t_after },
	{ "follow", t_follow },
	{ "timeout", t_timeout },
	{ "retries", t_retries },
	{ "submit", t_submit },
	{ NULL, NULL }
};

static const struct cmd root_cmds[] = {
	{ "shutdown", r_shutdown },
	{ "purge", r_purge },
	{ "settings", r_settings },
	{ NULL, NULL }
};

static const struct cmd *
find(const struct cmd *tab, const char *verb)
{
	for (; tab->name != NULL; tab++)
		if (strcmp(tab->name, verb) == 0)
			return tab;
	return NULL;
}

static void
usage_text(const struct cmd *tab, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "usage:");
	for (; tab->name != NULL; tab++) {
		n = strlen(buf);
		snprintf(buf + n, len - n, " %s%s", tab->name,
		    tab[1].name != NULL ? " |" : "");
	}
}

/* A write of commands to a ctl file whose verbs are tab. */
static int
ctl_write(struct fh *fh, const struct cmd *tab, const char *data,
    size_t size)
{
	const struct cmd *c[MAXCMDS];
	char *text, *line, *next, *arg[MAXCMDS], *verb[MAXCMDS], use[256];
	struct ctlop *op;
	int i, n = 0, err = 0;

	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line += strspn(line, " \t");
		line[strcspn(line, "\r")] = '\0';
		if (*line == '\0')
			continue;
		if (n == MAXCMDS) {
			error_add(fh, E2BIG, "more than %d commands in one "
			    "write", MAXCMDS);
			err = E2BIG;
			goto fail;
		}
		verb[n] = line;
		line += strcspn(line, " \t");
		if (*line != '\0')
			*line++ = '\0';
		arg[n] = line;
		if ((c[n] = find(tab, verb[n])) == NULL) {
			usage_text(tab, use, sizeof(use));
			error_add(fh, EINVAL, "unknown command '%s'; %s",
			    verb[n], use);
			err = EINVAL;
			goto fail;
		}
		n++;
	}
	op = xcalloc(1, sizeof(*op));
	op->fh = fh;
	op->outstanding = 1;	/* ours, dropped below */
	for (i = 0; i < n; i++) {
		if (c[i]->fn(op, arg[i]) == -1) {
			op->err = errno;
			if (op->why[0] == '\0')
				snprintf(op->why, sizeof(op->why),
				    "%s: %s", verb[i], errno == EHOSTDOWN ?
				    "engine is down" : strerror(errno));
			break;
		}
	}
	free(text);
	fh->busy = 1;
	fh->werr = 0;
	ack(op, NULL, 0);
	if (fh->busy) {
		errno = EINPROGRESS;
		return -1;
	}
	if (fh->werr != 0) {
		errno = fh->werr;
		return -1;
	}
	return 0;
fail:
	free(text);
	fh->werr = err;
	errno = err;
	return -1;
}

/* The writes of the ctl files' kinds (files.c): /ctl, engines/N/ctl,
 * and tasks/N/ctl with the fd of tasks/clone. */
int
ctl_write_root(struct fh *fh, const char *data, size_t size)
{
	return ctl_write(fh, root_cmds, data, size);
}

int
ctl_write_engine(struct fh *fh, const char *data, size_t size)
{
	return ctl_write(fh, engine_cmds, data, size);
}

int
ctl_write_task(struct fh *fh, const char *data, size_t size)
{
	return ctl_write(fh, task_cmds, data, size);
}
