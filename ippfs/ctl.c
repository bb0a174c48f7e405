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
 * fans out to every live engine), tasks/N/ctl and /ctl.
 */
#include <errno.h>
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
	struct task	*task;		/* resubmit */
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
	struct task *t;
	const char *k;
	char why[256];

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
				t = task_new(json_string_value(v), -1, 1,
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
to_engine(struct ctlop *op, struct engine *e, const char *msg_type,
    json_t *content_new)
{
	if (e == NULL || e->state != E_UP) {
		json_decref(content_new);
		errno = EHOSTDOWN;
		return -1;
	}
	if (hub_request(fs.control, e->uuid, msg_type, content_new, NULL,
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
		return to_engine(op, engine_get(op->fh->obj), msg_type,
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

static int
e_kill(struct ctlop *op, const char *arg)
{
	return each_engine(op, "signal_request", json_pack("{s:i}", "sig",
	    SIGKILL));
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
	return each_engine(op, "shutdown_request", json_pack("{s:b}",
	    "restart", 0));
}

static int
t_abort(struct ctlop *op, const char *arg)
{
	struct task *t = task_get(op->fh->obj);
	int i, rc = 0;

	if (t == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (t->engine >= 0)
		return to_engine(op, engine_get(t->engine), "abort_request",
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
	struct task *t = task_get(op->fh->obj);

	if (t == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (t->state != T_RUNNING || t->engine < 0)
		return 0;
	return to_engine(op, engine_get(t->engine), "signal_request",
	    json_pack("{s:i}", "sig", SIGINT));
}

static int
t_resubmit(struct ctlop *op, const char *arg)
{
	struct task *t = task_get(op->fh->obj);

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
	if (hub_request(fs.query, NULL, "resubmit_request", json_pack(
	    "{s:[s]}", "msg_ids", t->msg_id), NULL, NULL, 0, ack, op) == -1)
		return -1;
	op->outstanding++;
	return 0;
}

static void
purged(void *arg, struct ipp_msg *m, int err)
{
	struct task *t;
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
			free(t);
			fs.tasks[i] = NULL;
		}
	}
	ack(arg, m, err);
}

static int
r_purge(struct ctlop *op, const char *arg)
{
	if (hub_request(fs.query, NULL, "purge_request", json_pack("{s:s}",
	    "msg_ids", "all"), NULL, NULL, 0, purged, op) == -1)
		return -1;
	op->outstanding++;
	return 0;
}

static int
r_shutdown(struct ctlop *op, const char *arg)
{
	if (hub_request(fs.query, NULL, "shutdown_request", json_object(),
	    NULL, NULL, 0, ack, op) == -1)
		return -1;
	op->outstanding++;
	return 0;
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
	{ NULL, NULL }
};

static const struct cmd root_cmds[] = {
	{ "shutdown", r_shutdown },
	{ "purge", r_purge },
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

int
ctl_write(struct fh *fh, const char *data, size_t size)
{
	const struct cmd *tab, *c[MAXCMDS];
	char *text, *line, *next, *arg[MAXCMDS], *verb[MAXCMDS], use[256];
	struct ctlop *op;
	int i, n = 0, err = 0;

	tab = fh->type == Q_ECTL ? engine_cmds : fh->type == Q_TCTL ?
	    task_cmds : root_cmds;
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
