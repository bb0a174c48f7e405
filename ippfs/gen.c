/*
 * gen.c - the text of snapshot files: what status, ctl, errors, the
 * security files, engines/index, engines/N/{status,info,last,log,tasks},
 * engines/all/result, tasks/index and tasks/N/{ctl,code,status,error,
 * engine} say, and what stat(2) shows of a task's files.
 *
 * files.c decides when a file is read (snapshot, completion file or
 * stream) and calls file_gen() here for the content of a snapshot, built
 * from the tables of hub.c and tasks.c at a read at offset 0: each kind
 * of snapshot file (struct filekind, listed in files.c) names its gen_*
 * function below.  The timeline and metrics files are built by vis.c.
 * A task's file (FK_TASK) shows its true size once the task ended:
 * file_stat reads it whole.  Nothing here blocks, sends or changes a
 * table: these functions only read fs and write into the buffer they
 * are given.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ippfs.h"

static void
iso(double t, char *buf, size_t len)
{
	if (t <= 0)
		snprintf(buf, len, "-");
	else
		ipp_iso_format(t, buf, len);
}

static void
gen_status(struct buf *b)
{
	char url[512];
	struct park *p;
	int i, *n = fs.nstate, dead = 0, parked = 0;

	for (i = 0; i < fs.nengines; i++)
		if (fs.engines[i] != NULL && fs.engines[i]->state == E_DEAD)
			dead++;
	ipp_conninfo_url(&fs.ci, fs.ci.registration, url, sizeof(url));
	buf_printf(b, "hub %s%s\n", url, fs.hub_gone ? " gone" : "");
	buf_printf(b, "engines %d\nengines_dead %d\n", fsengines_up(), dead);
	buf_printf(b, "tasks_queued %d\ntasks_running %d\ntasks_done %d\n"
	    "tasks_failed %d\ntasks_aborted %d\n", n[T_QUEUED], n[T_RUNNING],
	    n[T_DONE], n[T_FAILED] + n[T_LOST] + n[T_TIMEOUT], n[T_ABORTED]);
	TAILQ_FOREACH(p, &fs.parked, q)
		parked++;
	buf_printf(b, "parked %d\nuptime %.1f\n", parked, ipp_monotonic() -
	    fs.started);
}

/* The task running on engine id (0 when idle) and how many wait. */
static int
fsengine_load(int id, int *queued)
{
	struct fstask *t;
	int i, running = 0;

	*queued = 0;
	/* finished tasks neither run nor wait: skip the long history */
	for (i = fstasks_first_live(); i < fs.ntasks; i++) {
		if ((t = fs.tasks[i]) == NULL || t->engine != id)
			continue;
		if (t->state == T_RUNNING)
			running = t->id;
		else if (t->state == T_QUEUED)
			(*queued)++;
	}
	return running;
}

/*
 * Would a request to engine id (OBJ_ALL: any live one) wait behind a
 * task?  Ours running or queued there, or, whoever sent it, the execute
 * or apply request iopub says it runs (fsengine_status, hub.c).
 */
int
fsengine_busy(int id)
{
	struct fsengine *e;
	int i, q;

	if (id == OBJ_ALL) {
		for (i = 0; i < fs.nengines; i++)
			if (fsengine_busy(i))
				return 1;
		return 0;
	}
	if ((e = fsengine_get(id)) == NULL || e->state != E_UP)
		return 0;
	return e->running[0] != '\0' || fsengine_load(id, &q) != 0 || q > 0;
}

static void
gen_engstatus(struct buf *b, struct fsengine *e)
{
	int q, r = fsengine_load(e->id, &q);

	if (e->state == E_DEAD)
		buf_printf(b, "dead\n");
	else if (r != 0)
		buf_printf(b, "busy %d\n", r);
	else
		buf_printf(b, "idle\n");
}

static void
gen_engindex(struct buf *b)
{
	struct fsengine *e;
	int i, q, r;

	for (i = 0; i < fs.nengines; i++) {
		if ((e = fs.engines[i]) == NULL)
			continue;
		r = fsengine_load(i, &q);
		buf_printf(b, "%d %s %s %d %s%.0d %s ", i, e->state == E_UP ?
		    (r ? "busy" : "idle") : "dead", e->uuid, q, r ? "" : "-",
		    r, e->host[0] != '\0' ? e->host : "-");
		buf_printf(b, e->pid > 0 ? "%ld\n" : "-\n", e->pid);
	}
}

/* One line of tasks/index, and what tasks/N/wait reads. */
void
gen_taskline(struct buf *b, struct fstask *t)
{
	char sub[40];

	iso(t->submitted, sub, sizeof(sub));
	if (t->engine >= 0)
		buf_printf(b, "%d %s %d %s", t->id, tstate_name(t->state),
		    t->engine, sub);
	else
		buf_printf(b, "%d %s - %s", t->id, tstate_name(t->state), sub);
	if (t->ended > 0 && t->submitted > 0)
		buf_printf(b, " %.3f\n", t->ended - t->submitted);
	else
		buf_printf(b, " -\n");
}

/* The parameters of a task made by tasks/clone, as ctl commands. */
static void
gen_spec(struct buf *b, json_t *spec)
{
	static const char *lists[] = { "targets", "after", "follow" };
	json_t *v;
	size_t i, k;

	for (k = 0; k < 3; k++) {
		buf_printf(b, "%s", lists[k]);
		json_array_foreach(json_object_get(spec, lists[k]), i, v)
			buf_printf(b, " %d", (int)json_integer_value(v));
		buf_printf(b, "\n");
	}
	v = json_object_get(spec, "timeout");
	buf_printf(b, "timeout %g\nretries %d\n", json_is_number(v) ?
	    json_number_value(v) : 0.0, (int)json_integer_value(
	    json_object_get(spec, "retries")));
}

static void
gen_taskctl(struct buf *b, struct fstask *t)
{
	char sub[40], end[40];

	iso(t->submitted, sub, sizeof(sub));
	iso(t->ended, end, sizeof(end));
	buf_printf(b, "id %d\nmsg_id %s\nstate %s\n", t->id, t->msg_id,
	    tstate_name(t->state));
	if (t->engine >= 0)
		buf_printf(b, "engine %d\n", t->engine);
	buf_printf(b, "queue %s\nsubmitted %s\nended %s\n", t->lb ? "task" :
	    "mux", sub, end);
	if (t->resubmitted != 0)
		buf_printf(b, "resubmitted %d\n", t->resubmitted);
	if (t->spec != NULL)
		gen_spec(b, t->spec);
}

static int
gen_file(struct buf *b, const char *path)
{
	char chunk[4096];
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(b, chunk, n);
	fclose(fp);
	return 0;
}

/*
 * engines/all/result: "N result" for each engine the last engines/all/exec
 * reached, of its last task (a later engines/N/exec replaces it).  Fails
 * as that task's result does when one did not succeed.
 */
static int
gen_allresult(struct fh *fh, struct buf *b)
{
	struct fsengine *e;
	struct fstask *t;
	int i, err;

	for (i = 0; i < fs.nengines; i++) {
		if ((e = fs.engines[i]) == NULL || !e->inall ||
		    (t = fstask_get(e->last)) == NULL)
			continue;
		if ((err = fstask_errno(t)) != 0) {
			error_add(fh, err, "engine %d: task %d %s", i, t->id,
			    tstate_name(t->state));
			errno = err;
			return -1;
		}
		buf_printf(b, "%d%s", i, t->result.len > 0 ? " " : "\n");
		buf_add(b, t->result.p, t->result.len);
	}
	return 0;
}

/*
 * The texts, one a kind of snapshot file (files.c names them).  That
 * of an engine's (FK_ENGINE) or a task's file (FK_TASK) is made only
 * when the engine or task exists (file_gen).
 */
int
gen_root_status(struct fh *fh, struct buf *b)
{
	gen_status(b);
	return 0;
}

int
gen_root_ctl(struct fh *fh, struct buf *b)
{
	buf_printf(b, "commands: shutdown | purge | settings [KEY VALUE]\n"
	    "timeout %g\ntask_timeout %g\nretries %d\nns_dunder %d\n",
	    fs.req_timeout, fs.task_timeout, fs.task_retries, fs.ns_dunder);
	vis_show_settings(b);
	return 0;
}

int
gen_errors(struct fh *fh, struct buf *b)
{
	uint64_t s = fs.errseq > ERRORS_MAX ? fs.errseq - ERRORS_MAX : 0;

	for (; s < fs.errseq; s++)
		buf_printf(b, "%s", fs.errors[s % ERRORS_MAX]);
	return 0;
}

int
gen_seceng(struct fh *fh, struct buf *b)
{
	return gen_file(b, fs.enginefile);
}

int
gen_seccli(struct fh *fh, struct buf *b)
{
	return gen_file(b, fs.connfile);
}

/* The security files are the real ones: their size is theirs. */
static off_t
real_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : 0;
}

off_t
size_seceng(enum qtype t, int obj)
{
	return real_size(fs.enginefile);
}

off_t
size_seccli(enum qtype t, int obj)
{
	return real_size(fs.connfile);
}

int
gen_engines_index(struct fh *fh, struct buf *b)
{
	gen_engindex(b);
	return 0;
}

int
gen_eng_ctl(struct fh *fh, struct buf *b)
{
	buf_printf(b, "commands: interrupt | kill | abort | reset | "
	    "shutdown\n");
	return 0;
}

int
gen_eng_status(struct fh *fh, struct buf *b)
{
	gen_engstatus(b, fsengine_get(fh->obj));
	return 0;
}

/* engines/N/{stdout,...} with no task submitted there yet (file_open) */
int
gen_empty(struct fh *fh, struct buf *b)
{
	return 0;
}

int
gen_eng_result(struct fh *fh, struct buf *b)
{
	if (fh->obj == OBJ_ALL)
		return gen_allresult(fh, b);
	if (fsengine_get(fh->obj) == NULL) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int
gen_eng_last(struct fh *fh, struct buf *b)
{
	struct fsengine *e = fsengine_get(fh->obj);

	if (fstask_get(e->last) != NULL)
		buf_printf(b, "%d\n", e->last);
	return 0;
}

int
gen_eng_log(struct fh *fh, struct buf *b)
{
	struct fsengine *e = fsengine_get(fh->obj);

	buf_add(b, e->log.p, e->log.len);
	return 0;
}

int
gen_eng_tasks(struct fh *fh, struct buf *b)
{
	int i;

	for (i = 0; i < fs.ntasks; i++)
		if (fs.tasks[i] != NULL && fs.tasks[i]->engine == fh->obj)
			buf_printf(b, "%d\n", fs.tasks[i]->id);
	return 0;
}

int
gen_eng_info(struct fh *fh, struct buf *b)
{
	struct fsengine *e = fsengine_get(fh->obj);

	buf_printf(b, "id %d\nuuid %s\nstate %s\nkind %s\n", e->id, e->uuid,
	    e->state == E_UP ? "up" : "dead", e->foreign == 1 ? "ipengine" :
	    e->foreign == 0 ? "engined" : "unknown");
	buf_printf(b, "host %s\n", e->host[0] != '\0' ? e->host : "-");
	buf_printf(b, e->pid > 0 ? "pid %ld\n" : "pid -\n", e->pid);
	return 0;
}

int
gen_tasks_index(struct fh *fh, struct buf *b)
{
	int i;

	for (i = 0; i < fs.ntasks; i++)
		if (fs.tasks[i] != NULL)
			gen_taskline(b, fs.tasks[i]);
	return 0;
}

int
gen_task_ctl(struct fh *fh, struct buf *b)
{
	gen_taskctl(b, fstask_get(fh->obj));
	return 0;
}

int
gen_task_code(struct fh *fh, struct buf *b)
{
	buf_printf(b, "%s", fstask_get(fh->obj)->code);
	return 0;
}

int
gen_task_status(struct fh *fh, struct buf *b)
{
	struct fstask *t = fstask_get(fh->obj);

	if (t->state == T_RUNNING && t->engine >= 0)
		buf_printf(b, "running %d\n", t->engine);
	else
		buf_printf(b, "%s\n", tstate_name(t->state));
	return 0;
}

int
gen_task_error(struct fh *fh, struct buf *b)
{
	struct fstask *t = fstask_get(fh->obj);

	buf_add(b, t->error.p, t->error.len);
	return 0;
}

int
gen_task_engine(struct fh *fh, struct buf *b)
{
	struct fstask *t = fstask_get(fh->obj);

	if (t->engine >= 0)
		buf_printf(b, "%d\n", t->engine);
	return 0;
}

/* Build the content of a snapshot file into b; -1 with errno. */
int
file_gen(struct fh *fh, struct buf *b)
{
	const struct filekind *k = file_kind(fh->type);

	buf_reset(b);
	if (k->gen == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (((k->flags & FK_ENGINE) && fsengine_get(fh->obj) == NULL) ||
	    ((k->flags & FK_TASK) && fstask_get(fh->obj) == NULL)) {
		errno = ENOENT;
		return -1;
	}
	return k->gen(fh, b);
}

/*
 * What stat(2) shows of a file: its size and its time.  Files of an
 * ended task no longer change, so they have their true size, what a
 * read of it all returns: tar does not even open a file of size 0, and
 * cp, seeking for data, finds none in it.  Every other file shows 0
 * (its content is made when read).  Times do not move either (the
 * mount's, the task's submission or end): tar takes a new ctime for a
 * file changed while it was being read.
 */
void
file_stat(enum qtype type, int obj, off_t *size, double *when)
{
	const struct filekind *k = file_kind(type);
	struct fstask *t;
	struct fh tmp;
	struct buf b = { NULL, 0, 0 };

	*size = 0;
	*when = fs.mounted;
	if ((type != Q_TASK && !(k->flags & FK_TASK)) ||
	    (t = fstask_get(obj)) == NULL)
		return;		/* not a task or a task's file */
	if (t->submitted > 0)
		*when = t->submitted;
	if (type == Q_TASK || t->state < T_DONE)
		return;
	*when = t->ended;
	memset(&tmp, 0, sizeof(tmp));
	tmp.type = type;
	tmp.obj = obj;
	if (file_read(&tmp, SIZE_MAX, 0, &b) == 0)
		*size = (off_t)b.len;
	buf_free(&b);
	buf_free(&tmp.r);
}
