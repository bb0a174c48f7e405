/*
 * files.c - what each file says when read and does when written.
 *
 * Three kinds of reads, one rule each:
 *   snapshots (status, index files, info, code, error...) are built from
 *   the tables when read at offset 0 and then served by offset;
 *   completion files (tasks/N/wait, result, error; engines/all/result)
 *   block until the task (every task gathered) ends;
 *   streams (tasks/N/stdout and stderr, /events) return what is there
 *   and block when the reader has caught up, until the producer ends
 *   (never, for /events).
 * "Block" means: return -1 with EAGAIN, and tree.c parks the request
 * (or answers EAGAIN under O_NONBLOCK).  file_ready() is the same test
 * for poll().  Writes to exec, tasks/new and tasks/batch accumulate code
 * that is submitted at close or at the first read, which returns the
 * task ids; writes to ctl files go to ctl.c and to ns/ to ns.c.  Only a
 * write makes work: a read of a code file, or of tasks/clone, on an fd
 * nothing was written to (grep -r, tar) returns end of file.
 * engines/N/{result,error,stdout,stderr,wait} are not files of their own:
 * file_open() turns them into those of the task last submitted there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ippfs.h"

int
task_errno(const struct task *t)
{
	switch (t->state) {
	case T_DONE:
		return 0;
	case T_FAILED:
		return EREMOTEIO;
	case T_ABORTED:
		return ECANCELED;
	case T_LOST:
		return EHOSTDOWN;
	case T_TIMEOUT:
		return ETIMEDOUT;
	default:
		return fs.hub_gone ? ENOTCONN : 0;
	}
}

static int
task_over(const struct task *t)
{
	return t->state >= T_DONE || fs.hub_gone;
}

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
	buf_printf(b, "engines %d\nengines_dead %d\n", engines_up(), dead);
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
engine_load(int id, int *queued)
{
	struct task *t;
	int i, running = 0;

	*queued = 0;
	/* finished tasks neither run nor wait: skip the long history */
	for (i = tasks_first_live(); i < fs.ntasks; i++) {
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
 * or apply request iopub says it runs (hub.c).
 */
int
engine_busy(int id)
{
	struct engine *e;
	int i, q;

	if (id == OBJ_ALL) {
		for (i = 0; i < fs.nengines; i++)
			if (engine_busy(i))
				return 1;
		return 0;
	}
	if ((e = engine_get(id)) == NULL || e->state != E_UP)
		return 0;
	return e->running[0] != '\0' || engine_load(id, &q) != 0 || q > 0;
}

static void
gen_engstatus(struct buf *b, struct engine *e)
{
	int q, r = engine_load(e->id, &q);

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
	struct engine *e;
	int i, q, r;

	for (i = 0; i < fs.nengines; i++) {
		if ((e = fs.engines[i]) == NULL)
			continue;
		r = engine_load(i, &q);
		buf_printf(b, "%d %s %s %d %s%.0d %s ", i, e->state == E_UP ?
		    (r ? "busy" : "idle") : "dead", e->uuid, q, r ? "" : "-",
		    r, e->host[0] != '\0' ? e->host : "-");
		buf_printf(b, e->pid > 0 ? "%ld\n" : "-\n", e->pid);
	}
}

static void
gen_taskline(struct buf *b, struct task *t)
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
gen_taskctl(struct buf *b, struct task *t)
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
 * engines/N/{result,error,stdout,stderr,wait} are those files of the task
 * last submitted to engine N through exec, chosen when the file is
 * opened: the fd becomes the task's file, so its reads block, stream and
 * fail exactly as those of tasks/ID/... do, and a later exec does not
 * move a reader to another task.  Without such a task they read empty.
 */
void
file_open(struct fh *fh)
{
	static const enum qtype alias[][2] = {
		{ Q_ERESULT, Q_TRESULT }, { Q_EERROR, Q_TERROR },
		{ Q_ESTDOUT, Q_TSTDOUT }, { Q_ESTDERR, Q_TSTDERR },
		{ Q_EWAIT, Q_TWAIT }
	};
	struct engine *e = engine_get(fh->obj);
	size_t i;

	if (e == NULL || task_get(e->last) == NULL)
		return;
	for (i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if (fh->type == alias[i][0]) {
			fh->type = alias[i][1];
			fh->obj = e->last;
			return;
		}
}

/* Has every task engines/all/result gathers ended? */
static int
all_over(void)
{
	struct engine *e;
	struct task *t;
	int i;

	for (i = 0; i < fs.nengines; i++)
		if ((e = fs.engines[i]) != NULL && e->inall &&
		    (t = task_get(e->last)) != NULL && !task_over(t))
			return 0;
	return 1;
}

/*
 * engines/all/result: "N result" for each engine the last engines/all/exec
 * reached, of its last task (a later engines/N/exec replaces it).  Fails
 * as that task's result does when one did not succeed.
 */
static int
gen_allresult(struct fh *fh, struct buf *b)
{
	struct engine *e;
	struct task *t;
	int i, err;

	for (i = 0; i < fs.nengines; i++) {
		if ((e = fs.engines[i]) == NULL || !e->inall ||
		    (t = task_get(e->last)) == NULL)
			continue;
		if ((err = task_errno(t)) != 0) {
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

/* Build the content of a snapshot file into b; -1 with errno. */
int
file_gen(struct fh *fh, struct buf *b)
{
	struct engine *e = engine_get(fh->obj);
	struct task *t = task_get(fh->obj);
	uint64_t s;
	int i;

	buf_reset(b);
	switch (fh->type) {
	case Q_STATUS:
		gen_status(b);
		break;
	case Q_CTL:
		buf_printf(b, "commands: shutdown | purge | settings [KEY "
		    "VALUE]\ntimeout %g\ntask_timeout %g\nretries %d\n"
		    "ns_dunder %d\n", fs.req_timeout, fs.task_timeout,
		    fs.task_retries, fs.ns_dunder);
		vis_show_settings(b);
		break;
	case Q_ERRORS:
		s = fs.errseq > ERRORS_MAX ? fs.errseq - ERRORS_MAX : 0;
		for (; s < fs.errseq; s++)
			buf_printf(b, "%s", fs.errors[s % ERRORS_MAX]);
		break;
	case Q_SECENG:
	case Q_SECCLI:
		return gen_file(b, fh->type == Q_SECENG ? fs.enginefile :
		    fs.connfile);
	case Q_ENGINDEX:
		gen_engindex(b);
		break;
	case Q_ECTL:
		buf_printf(b, "commands: interrupt | kill | abort | reset | "
		    "shutdown\n");
		break;
	case Q_ESTATUS:
		if (e == NULL)
			goto noent;
		gen_engstatus(b, e);
		break;
	case Q_ERESULT:
		if (fh->obj == OBJ_ALL)
			return gen_allresult(fh, b);
		/* FALLTHROUGH */
	case Q_ESTDOUT:
	case Q_ESTDERR:
	case Q_EERROR:
	case Q_EWAIT:
		/* no task submitted there yet (file_open) */
		if (e == NULL)
			goto noent;
		break;
	case Q_ELAST:
		if (e == NULL)
			goto noent;
		if (task_get(e->last) != NULL)
			buf_printf(b, "%d\n", e->last);
		break;
	case Q_ELOG:
		if (e == NULL)
			goto noent;
		buf_add(b, e->log.p, e->log.len);
		break;
	case Q_ETASKS:
		for (i = 0; i < fs.ntasks; i++)
			if (fs.tasks[i] != NULL && fs.tasks[i]->engine ==
			    fh->obj)
				buf_printf(b, "%d\n", fs.tasks[i]->id);
		break;
	case Q_EINFO:
		if (e == NULL)
			goto noent;
		buf_printf(b, "id %d\nuuid %s\nstate %s\nkind %s\n", e->id,
		    e->uuid, e->state == E_UP ? "up" : "dead", e->foreign == 1 ?
		    "ipengine" : e->foreign == 0 ? "engined" : "unknown");
		buf_printf(b, "host %s\n", e->host[0] != '\0' ? e->host : "-");
		buf_printf(b, e->pid > 0 ? "pid %ld\n" : "pid -\n", e->pid);
		break;
	case Q_TINDEX:
		for (i = 0; i < fs.ntasks; i++)
			if (fs.tasks[i] != NULL)
				gen_taskline(b, fs.tasks[i]);
		break;
	case Q_TCTL:
	case Q_TCODE:
	case Q_TSTATUS:
	case Q_TERROR:
	case Q_TENGINE:
		if (t == NULL)
			goto noent;
		if (fh->type == Q_TCTL)
			gen_taskctl(b, t);
		else if (fh->type == Q_TCODE)
			buf_printf(b, "%s", t->code);
		else if (fh->type == Q_TSTATUS && t->state == T_RUNNING &&
		    t->engine >= 0)
			buf_printf(b, "running %d\n", t->engine);
		else if (fh->type == Q_TSTATUS)
			buf_printf(b, "%s\n", tstate_name(t->state));
		else if (fh->type == Q_TERROR)
			buf_add(b, t->error.p, t->error.len);
		else if (t->engine >= 0)
			buf_printf(b, "%d\n", t->engine);
		break;
	case Q_TTIMELINE:
	case Q_ETIMELINE:
	case Q_MPROM:
		return vis_gen(fh, b);
	default:
		errno = EINVAL;
		return -1;
	}
	return 0;
noent:
	errno = ENOENT;
	return -1;
}

/*
 * What stat(2) shows of a file: its size and its time.  Files of an
 * ended task no longer change, so they have their true size: tar does
 * not even open a file of size 0, and cp, seeking for data, finds none
 * in it.  Every other file shows 0 (its content is made when read).
 * Times do not move either (the mount's, the task's submission or end):
 * tar takes a new ctime for a file changed while it was being read.
 */
void
file_stat(enum qtype type, int obj, off_t *size, double *when)
{
	struct task *t;
	struct fh tmp;
	struct buf b = { NULL, 0, 0 };

	*size = 0;
	*when = fs.mounted;
	switch (type) {
	case Q_TASK:
	case Q_TCTL:
	case Q_TCODE:
	case Q_TSTATUS:
	case Q_TWAIT:
	case Q_TRESULT:
	case Q_TSTDOUT:
	case Q_TSTDERR:
	case Q_TERROR:
	case Q_TENGINE:
		break;
	default:
		return;		/* not a task's file */
	}
	if ((t = task_get(obj)) == NULL)
		return;
	if (t->submitted > 0)
		*when = t->submitted;
	if (type == Q_TASK || t->state < T_DONE)
		return;
	*when = t->ended;
	switch (type) {
	case Q_TRESULT:
		*size = task_errno(t) == 0 ? (off_t)t->result.len : 0;
		break;
	case Q_TSTDOUT:
		*size = (off_t)t->out.len;
		break;
	case Q_TSTDERR:
		*size = (off_t)t->err.len;
		break;
	case Q_TWAIT:
		gen_taskline(&b, t);
		break;
	default:
		memset(&tmp, 0, sizeof(tmp));
		tmp.type = type;
		tmp.obj = obj;
		(void)file_gen(&tmp, &b);
	}
	if (b.len > 0)
		*size = (off_t)b.len;
	buf_free(&b);
}

static void
slice(const char *p, size_t len, size_t size, off_t off, struct buf *out)
{
	if (off < 0 || (size_t)off >= len)
		return;
	buf_add(out, p + off, len - (size_t)off < size ? len - (size_t)off :
	    size);
}

/* Is an /events line ("SEQ task ..." or "SEQ engine ...") about a task? */
static int
ev_task(const char *s)
{
	s += strcspn(s, " ");
	return strncmp(s, " task ", 6) == 0;
}

/*
 * Move an events reader past lines the ring has overwritten and, for
 * tasks/events, past lines not about tasks.  1 when a line is waiting.
 */
static int
ev_skip(struct fh *fh)
{
	if (fs.evseq > EVENTS_MAX && fh->evseq < fs.evseq - EVENTS_MAX)
		fh->evseq = fs.evseq - EVENTS_MAX;
	if (fh->type == Q_TEVENTS)
		while (fh->evseq < fs.evseq &&
		    !ev_task(fs.events[fh->evseq % EVENTS_MAX]))
			fh->evseq++;
	return fh->evseq < fs.evseq;
}

/* Would a read of fh return now (data, EOF or an error)? */
int
file_ready(struct fh *fh)
{
	struct task *t = task_get(fh->obj);

	if (fh->busy)
		return 0;
	switch (fh->type) {
	case Q_EVENTS:
	case Q_TEVENTS:
		return ev_skip(fh);
	case Q_TWAIT:
	case Q_TRESULT:
	case Q_TERROR:
		return t == NULL || task_over(t);
	case Q_ERESULT:
		return fh->obj != OBJ_ALL || all_over();
	case Q_TSTDOUT:
	case Q_TSTDERR:
		return t == NULL || task_over(t) || (size_t)fh->lastoff <
		    (fh->type == Q_TSTDOUT ? t->out.len : t->err.len);
	case Q_TWAITALL:
		return waitall_ready(fh);
	default:
		return 1;
	}
}

/* Submit what was written to exec, tasks/new or tasks/batch. */
static int
submit(struct fh *fh)
{
	struct engine *e;
	const char *p, *end, *rec, *sep;
	int i, id, n = 0;

	fh->submitted = 1;
	fh->dirty = 0;
	fh->have_r = 1;
	buf_reset(&fh->r);
	if (fh->type == Q_TBATCH) {
		/* records end at a line holding only RS (0x1e) */
		p = fh->w.p != NULL ? fh->w.p : "";
		end = p + fh->w.len;
		for (rec = p; rec < end; rec = sep + (sep < end ? 2 : 0)) {
			for (sep = rec; sep < end; sep++)
				if (*sep == '\036' && (sep == p ||
				    sep[-1] == '\n') && (sep + 1 == end ||
				    sep[1] == '\n'))
					break;
			if (sep == rec)
				continue;
			if ((id = task_submit(-1, rec, (size_t)(sep - rec))) ==
			    -1)
				goto fail;
			buf_printf(&fh->r, "%d\n", id);
			if (sep >= end)
				break;
		}
		return 0;
	}
	if (fh->type == Q_TNEW || fh->obj != OBJ_ALL) {
		if ((id = task_submit(fh->type == Q_TNEW ? -1 : fh->obj,
		    fh->w.p != NULL ? fh->w.p : "", fh->w.len)) == -1)
			goto fail;
		if (fh->type == Q_EEXEC)
			engine_get(fh->obj)->last = id;
		buf_printf(&fh->r, "%d\n", id);
		return 0;
	}
	/* engines/all/result gathers the engines this reaches */
	for (i = 0; i < fs.nengines; i++)
		if ((e = fs.engines[i]) != NULL)
			e->inall = 0;
	for (i = 0; i < fs.nengines; i++) {
		if ((e = fs.engines[i]) == NULL || e->state != E_UP)
			continue;
		if ((id = task_submit(i, fh->w.p != NULL ? fh->w.p : "",
		    fh->w.len)) == -1)
			goto fail;
		e->last = id;
		e->inall = 1;
		buf_printf(&fh->r, "%d\n", id);
		n++;
	}
	if (n == 0) {
		errno = EHOSTDOWN;
		goto fail;
	}
	return 0;
fail:
	fh->werr = errno;
	error_add(fh, errno, "cannot submit: %s", errno == EHOSTDOWN ?
	    "engine is down" : errno == ENOENT ? "no such engine" :
	    errno == ENOTCONN ? "controller gone" : strerror(errno));
	errno = fh->werr;
	return -1;
}

static int
writable(const struct fh *fh)
{
	return (fh->flags & O_ACCMODE) != O_RDONLY;
}

/*
 * tasks/clone makes its draft at the first write on the fd, or at the
 * first read of an fd opened for writing (exec 4<>tasks/clone; read d
 * <&4); an fd opened only for reading never makes one.
 */
static int
clone_draft(struct fh *fh)
{
	if (fh->obj != 0)
		return 0;
	if (fs.hub_gone) {
		fh->werr = ENOTCONN;
		error_add(fh, ENOTCONN, "controller gone");
		errno = ENOTCONN;
		return -1;
	}
	fh->obj = task_draft()->id;
	return 0;
}

static int
is_codefile(const struct fh *fh)
{
	return fh->type == Q_EEXEC || fh->type == Q_TNEW ||
	    fh->type == Q_TBATCH;
}

int
file_read(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	struct task *t = task_get(fh->obj);
	struct buf *src;
	uint64_t s;
	size_t n;

	/*
	 * After a failed write the fd reads back why, and a code file
	 * reads back the task ids.  Both ignore the file offset, which the
	 * writes on the same fd moved: they keep their own position.
	 */
	if (fh->werr != 0 && fh->errtxt != NULL) {
		if (!fh->errshown) {
			fh->errshown = 1;
			fh->lastoff = 0;
		}
		slice(fh->errtxt, strlen(fh->errtxt), size, fh->lastoff, out);
		fh->lastoff += (off_t)out->len;
		return 0;
	}
	/* snapshots that say nothing before their tasks end */
	if ((fh->type == Q_TERROR || fh->type == Q_ERESULT) &&
	    !file_ready(fh)) {
		errno = EAGAIN;
		return -1;
	}
	switch (fh->type) {
	case Q_EVENTS:
	case Q_TEVENTS:
		if (!ev_skip(fh)) {
			errno = EAGAIN;
			return -1;
		}
		for (s = fh->evseq; s < fs.evseq; s++) {
			if (fh->type == Q_TEVENTS &&
			    !ev_task(fs.events[s % EVENTS_MAX]))
				continue;
			n = strlen(fs.events[s % EVENTS_MAX]);
			if (out->len + n > size && out->len > 0)
				break;
			buf_add(out, fs.events[s % EVENTS_MAX], n);
		}
		fh->evseq = s;
		return 0;
	case Q_TWAITALL:
		return waitall_read(fh, size, out);
	case Q_TTIMELINE:
	case Q_ETIMELINE:
	case Q_MPROM:
		return vis_read(fh, size, off, out);
	case Q_TCLONE:
		/* the draft's id, from the fd's own position (see above) */
		if (!writable(fh))
			return 0;
		if (clone_draft(fh) == -1)
			return -1;
		buf_reset(&fh->r);
		buf_printf(&fh->r, "%d\n", fh->obj);
		slice(fh->r.p, fh->r.len, size, fh->lastoff, out);
		fh->lastoff += (off_t)out->len;
		return 0;
	case Q_EEXEC:
	case Q_TNEW:
	case Q_TBATCH:
		if (!fh->submitted) {
			/* a read alone (grep -r, tar) never makes work */
			if (fh->w.len == 0 && !writable(fh))
				return 0;
			if (fh->w.len == 0) {
				fh->werr = EINVAL;
				error_add(fh, EINVAL, "nothing to submit: "
				    "write code first");
				errno = EINVAL;
				return -1;
			}
			if (submit(fh) == -1)
				return -1;
		}
		slice(fh->r.p, fh->r.len, size, fh->lastoff, out);
		fh->lastoff += (off_t)out->len;
		return 0;
	case Q_NSVAR:
		if (fh->rerr != 0) {
			errno = fh->rerr;
			return -1;
		}
		if (!fh->have_r || (off == 0 && fh->lastoff != 0)) {
			/* O_NONBLOCK (grep -r): no wait behind a task */
			if ((fh->flags & O_NONBLOCK) && engine_busy(fh->obj)) {
				errno = EAGAIN;
				return -1;
			}
			fh->lastoff = 0;
			if (ns_pull(fh) == -1)
				return -1;
		}
		slice(fh->r.p, fh->r.len, size, off, out);
		fh->lastoff = off + (off_t)out->len;
		return 0;
	case Q_TWAIT:
	case Q_TRESULT:
		if (t == NULL) {
			errno = ENOENT;
			return -1;
		}
		if (!task_over(t)) {
			errno = EAGAIN;
			return -1;
		}
		if (fh->type == Q_TRESULT) {
			if ((errno = task_errno(t)) != 0)
				return -1;
			slice(t->result.p, t->result.len, size, off, out);
			return 0;
		}
		if (off == 0 || !fh->have_r) {
			buf_reset(&fh->r);
			gen_taskline(&fh->r, t);
			fh->have_r = 1;
		}
		slice(fh->r.p, fh->r.len, size, off, out);
		return 0;
	case Q_TSTDOUT:
	case Q_TSTDERR:
		if (t == NULL) {
			errno = ENOENT;
			return -1;
		}
		src = fh->type == Q_TSTDOUT ? &t->out : &t->err;
		if (off >= 0 && (size_t)off >= src->len && !task_over(t)) {
			fh->lastoff = off;
			errno = EAGAIN;
			return -1;
		}
		slice(src->p, src->len, size, off, out);
		fh->lastoff = off + (off_t)out->len;
		return 0;
	default:
		if (off == 0 || !fh->have_r) {
			if (file_gen(fh, &fh->r) == -1)
				return -1;
			fh->have_r = 1;
		}
		slice(fh->r.p, fh->r.len, size, off, out);
		return 0;
	}
}

int
file_write(struct fh *fh, const char *data, size_t size)
{
	struct engine *e;
	struct task *t;
	size_t n;

	switch (fh->type) {
	case Q_CTL:
	case Q_ECTL:
	case Q_TCTL:
		return ctl_write(fh, data, size);
	case Q_TCLONE:
		if (clone_draft(fh) == -1)
			return -1;
		return ctl_write(fh, data, size);
	case Q_TWAITALL:
		return waitall_write(fh, data, size);
	case Q_TCODE:
		/* a draft's code: appended, "> code" truncated it at open */
		if ((t = task_get(fh->obj)) == NULL) {
			errno = ENOENT;
			return -1;
		}
		if (t->state != T_DRAFT) {
			fh->werr = EBUSY;
			error_add(fh, EBUSY, "task %d was already submitted",
			    t->id);
			errno = EBUSY;
			return -1;
		}
		n = strlen(t->code);
		t->code = xrealloc(t->code, n + size + 1, 1);
		memcpy(t->code + n, data, size);
		t->code[n + size] = '\0';
		fh->werr = 0;
		return 0;
	case Q_EEXEC:
	case Q_TNEW:
	case Q_TBATCH:
	case Q_NSVAR:
		if (fh->submitted) {
			errno = EBUSY;
			return -1;
		}
		if ((fh->type == Q_EEXEC || fh->type == Q_NSVAR) &&
		    fh->obj != OBJ_ALL && ((e = engine_get(fh->obj)) == NULL ||
		    e->state != E_UP)) {
			fh->werr = EHOSTDOWN;
			error_add(fh, EHOSTDOWN, "engine %d is down", fh->obj);
			errno = EHOSTDOWN;
			return -1;
		}
		if (fs.hub_gone) {
			fh->werr = ENOTCONN;
			error_add(fh, ENOTCONN, "controller gone");
			errno = ENOTCONN;
			return -1;
		}
		/* more after a push: the value is everything written */
		fh_wreclaim(fh);
		buf_add(&fh->w, data, size);
		fh->dirty = 1;
		fh->werr = 0;
		return 0;
	default:
		errno = EACCES;
		return -1;
	}
}

int
file_flush(struct fh *fh)
{
	if (!fh->dirty)
		return 0;
	if (is_codefile(fh))
		return submit(fh);
	if (fh->type == Q_NSVAR) {
		fh->dirty = 0;
		return ns_push(fh);
	}
	return 0;
}
