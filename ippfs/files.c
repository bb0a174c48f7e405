/*
 * files.c - what each file says when read and does when written.
 *
 * Three kinds of reads, one rule each:
 *   snapshots (status, index files, info, code, error...) are built from
 *   the tables when read at offset 0 (gen.c) and then served by offset;
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
 * Each kind of file is a struct filekind (its ops, at the end of this
 * file), which the rows of tree.c's dirtab name; file_ready, file_read,
 * file_write and file_flush dispatch through it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ippfs.h"

int
fstask_errno(const struct fstask *t)
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
fstask_over(const struct fstask *t)
{
	return t->state >= T_DONE || fs.hub_gone;
}

/*
 * engines/N/{result,error,stdout,stderr,wait} are those files of the task
 * last submitted to engine N through exec, chosen when the file is
 * opened: the fd becomes the task's file, so its reads block, stream and
 * fail exactly as those of tasks/ID/... do, and a later exec does not
 * move a reader to another task.  Without such a task they read empty.
 * Then the kind's own check, if it has one: 0, or the errno that
 * refuses the open.
 */
int
file_open(struct fh *fh)
{
	static const enum qtype alias[][2] = {
		{ Q_ERESULT, Q_TRESULT }, { Q_EERROR, Q_TERROR },
		{ Q_ESTDOUT, Q_TSTDOUT }, { Q_ESTDERR, Q_TSTDERR },
		{ Q_EWAIT, Q_TWAIT }
	};
	struct fsengine *e = fsengine_get(fh->obj);
	const struct filekind *k;
	size_t i;

	if (e != NULL && fstask_get(e->last) != NULL)
		for (i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
			if (fh->type == alias[i][0]) {
				fh->type = alias[i][1];
				fh->obj = e->last;
				break;
			}
	k = file_kind(fh->type);
	return k->open != NULL ? k->open(fh) : 0;
}

/* Has every task engines/all/result gathers ended? */
static int
all_over(void)
{
	struct fsengine *e;
	struct fstask *t;
	int i;

	for (i = 0; i < fs.nengines; i++)
		if ((e = fs.engines[i]) != NULL && e->inall &&
		    (t = fstask_get(e->last)) != NULL && !fstask_over(t))
			return 0;
	return 1;
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

/* Ready: the task read (tasks/N/wait, result, error) has ended. */
static int
ready_task(struct fh *fh)
{
	struct fstask *t = fstask_get(fh->obj);

	return t == NULL || fstask_over(t);
}

/* engines/all/result: every task it gathers ended. */
static int
ready_all(struct fh *fh)
{
	return fh->obj != OBJ_ALL || all_over();
}

/* The output read so far of tasks/N/stdout or stderr. */
static struct buf *
stream_of(struct fh *fh, struct fstask *t)
{
	return fh->type == Q_TSTDOUT ? &t->out : &t->err;
}

static int
ready_stream(struct fh *fh)
{
	struct fstask *t = fstask_get(fh->obj);

	return t == NULL || fstask_over(t) ||
	    (size_t)fh->lastoff < stream_of(fh, t)->len;
}

/* A code file: its ids, then (idseof) the results as they end. */
static int
ready_code(struct fh *fh)
{
	return !fh->idseof || waitall_ready(fh);
}

/*
 * Submitting what was written to a code file (its kind's flush): the
 * task ids, one a line, are what the fd reads next.  submit_begin
 * starts that; submit_failed says why it failed, on the fd and in
 * /errors.
 */
static const char *
submit_begin(struct fh *fh)
{
	fh->submitted = 1;
	fh->dirty = 0;
	fh->have_r = 1;
	buf_reset(&fh->r);
	return fh->w.p != NULL ? fh->w.p : "";
}

static int
submit_failed(struct fh *fh)
{
	fh->werr = errno;
	error_add(fh, errno, "cannot submit: %s", errno == EHOSTDOWN ?
	    "engine is down" : errno == ENOENT ? "no such engine" :
	    errno == ENOTCONN ? "controller gone" : strerror(errno));
	errno = fh->werr;
	return -1;
}

/* tasks/new: one task, for the scheduler. */
static int
submit_new(struct fh *fh)
{
	const char *code = submit_begin(fh);
	int id;

	if ((id = fstask_submit(-1, code, fh->w.len)) == -1)
		return submit_failed(fh);
	buf_printf(&fh->r, "%d\n", id);
	return 0;
}

/* tasks/batch: a task per record; records end at a line of only RS. */
static int
submit_batch(struct fh *fh)
{
	const char *p = submit_begin(fh), *end, *rec, *sep;
	int id;

	end = p + fh->w.len;
	for (rec = p; rec < end; rec = sep + (sep < end ? 2 : 0)) {
		for (sep = rec; sep < end; sep++)
			if (*sep == '\036' && (sep == p || sep[-1] == '\n') &&
			    (sep + 1 == end || sep[1] == '\n'))
				break;
		if (sep == rec)
			continue;
		if ((id = fstask_submit(-1, rec, (size_t)(sep - rec))) == -1)
			return submit_failed(fh);
		buf_printf(&fh->r, "%d\n", id);
		if (sep >= end)
			break;
	}
	return 0;
}

/*
 * engines/N/exec: a task on engine N, which engines/N/result and the
 * like then follow; engines/all/exec: one on every engine up, which
 * engines/all/result gathers.
 */
static int
submit_exec(struct fh *fh)
{
	const char *code = submit_begin(fh);
	struct fsengine *e;
	int i, id, n = 0;

	if (fh->obj != OBJ_ALL) {
		if ((id = fstask_submit(fh->obj, code, fh->w.len)) == -1)
			return submit_failed(fh);
		fsengine_get(fh->obj)->last = id;
		buf_printf(&fh->r, "%d\n", id);
		return 0;
	}
	for (i = 0; i < fs.nengines; i++)
		if ((e = fs.engines[i]) != NULL)
			e->inall = 0;
	for (i = 0; i < fs.nengines; i++) {
		if ((e = fs.engines[i]) == NULL || e->state != E_UP)
			continue;
		if ((id = fstask_submit(i, code, fh->w.len)) == -1)
			return submit_failed(fh);
		e->last = id;
		e->inall = 1;
		buf_printf(&fh->r, "%d\n", id);
		n++;
	}
	if (n == 0) {
		errno = EHOSTDOWN;
		return submit_failed(fh);
	}
	return 0;
}

/*
 * The ids of a code file were read to their end of file: from now on
 * the fd reads the results of those tasks as they end (waitall.c).
 */
static void
results_follow(struct fh *fh)
{
	const char *p;

	fh->idseof = 1;
	waitall_batch(fh);
	for (p = fh->r.p; p != NULL && *p != '\0'; p += strcspn(p, "\n") +
	    (p[strcspn(p, "\n")] != '\0'))
		waitall_add(fh, atoi(p));
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
	fh->obj = fstask_draft()->id;
	return 0;
}

/* The default read: a snapshot made at offset 0 (gen.c), by offset. */
static int
read_snapshot(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	if (off == 0 || !fh->have_r) {
		if (file_gen(fh, &fh->r) == -1)
			return -1;
		fh->have_r = 1;
	}
	slice(fh->r.p, fh->r.len, size, off, out);
	return 0;
}

/* Snapshots that say nothing before their tasks end. */
static int
read_ended(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	if (!file_ready(fh)) {
		errno = EAGAIN;
		return -1;
	}
	return read_snapshot(fh, size, off, out);
}

static int
read_events(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	uint64_t s;
	size_t n;

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
}

static int
read_waitall(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	return waitall_read(fh, size, out);
}

static int
read_clone(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	/* the draft's id, from the fd's own position (file_read) */
	if (!writable(fh))
		return 0;
	if (clone_draft(fh) == -1)
		return -1;
	buf_reset(&fh->r);
	buf_printf(&fh->r, "%d\n", fh->obj);
	slice(fh->r.p, fh->r.len, size, fh->lastoff, out);
	fh->lastoff += (off_t)out->len;
	return 0;
}

static int
read_code(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	/* the results follow the end of file of the ids */
	if (fh->idseof)
		return waitall_read(fh, size, out);
	if (!fh->submitted) {
		/* a read alone (grep -r, tar) never makes work */
		if (fh->w.len == 0 && !writable(fh))
			return 0;
		if (fh->w.len == 0) {
			fh->werr = EINVAL;
			error_add(fh, EINVAL, "nothing to submit: write code "
			    "first");
			errno = EINVAL;
			return -1;
		}
		if (file_kind(fh->type)->flush(fh) == -1)
			return -1;
	}
	slice(fh->r.p, fh->r.len, size, fh->lastoff, out);
	fh->lastoff += (off_t)out->len;
	if (out->len == 0 && fh->submitted)
		results_follow(fh);
	return 0;
}

static int
read_nsvar(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	if (fh->rerr != 0) {
		errno = fh->rerr;
		return -1;
	}
	if (!fh->have_r || (off == 0 && fh->lastoff != 0)) {
		/* O_NONBLOCK (grep -r): no wait behind a task */
		if ((fh->flags & O_NONBLOCK) && fsengine_busy(fh->obj)) {
			errno = EAGAIN;
			return -1;
		}
		fh->lastoff = 0;
		if (ns_pull(fh) == -1)
			return -1;
	}
	if (fh->rheld)
		slice(zmq_msg_data(&fh->rmsg), zmq_msg_size(&fh->rmsg), size,
		    off, out);
	else
		slice(fh->r.p, fh->r.len, size, off, out);
	fh->lastoff = off + (off_t)out->len;
	return 0;
}

/* The task of fh once it has ended; NULL with ENOENT or EAGAIN. */
static struct fstask *
ended_task(struct fh *fh)
{
	struct fstask *t = fstask_get(fh->obj);

	if (t == NULL) {
		errno = ENOENT;
		return NULL;
	}
	if (!fstask_over(t)) {
		errno = EAGAIN;
		return NULL;
	}
	return t;
}

static int
read_wait(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	struct fstask *t;

	if ((t = ended_task(fh)) == NULL)
		return -1;
	if (off == 0 || !fh->have_r) {
		buf_reset(&fh->r);
		gen_taskline(&fh->r, t);
		fh->have_r = 1;
	}
	slice(fh->r.p, fh->r.len, size, off, out);
	return 0;
}

static int
read_result(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	struct fstask *t;

	if ((t = ended_task(fh)) == NULL)
		return -1;
	if ((errno = fstask_errno(t)) != 0)
		return -1;
	slice(t->result.p, t->result.len, size, off, out);
	return 0;
}

static int
read_stream(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	struct fstask *t = fstask_get(fh->obj);
	struct buf *src;

	if (t == NULL) {
		errno = ENOENT;
		return -1;
	}
	src = stream_of(fh, t);
	if (off >= 0 && (size_t)off >= src->len && !fstask_over(t)) {
		fh->lastoff = off;
		errno = EAGAIN;
		return -1;
	}
	slice(src->p, src->len, size, off, out);
	fh->lastoff = off + (off_t)out->len;
	return 0;
}

static int
write_clone(struct fh *fh, const char *data, size_t size)
{
	if (clone_draft(fh) == -1)
		return -1;
	return ctl_write_task(fh, data, size);
}

/* A draft's code: appended, "> code" truncated it at open. */
static int
write_tcode(struct fh *fh, const char *data, size_t size)
{
	struct fstask *t;
	size_t n;

	if ((t = fstask_get(fh->obj)) == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (t->state != T_DRAFT) {
		fh->werr = EBUSY;
		error_add(fh, EBUSY, "task %d was already submitted", t->id);
		errno = EBUSY;
		return -1;
	}
	n = strlen(t->code);
	t->code = xrealloc(t->code, n + size + 1, 1);
	memcpy(t->code + n, data, size);
	t->code[n + size] = '\0';
	fh->werr = 0;
	return 0;
}

/* Code and values: kept until flushed (submitted, pushed). */
static int
write_held(struct fh *fh, const char *data, size_t size)
{
	if (fh->submitted) {
		errno = EBUSY;
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
}

/* engines/N/exec and ns/NAME: held, if engine N is up. */
static int
write_engine(struct fh *fh, const char *data, size_t size)
{
	struct fsengine *e;

	if (!fh->submitted && fh->obj != OBJ_ALL &&
	    ((e = fsengine_get(fh->obj)) == NULL || e->state != E_UP)) {
		fh->werr = EHOSTDOWN;
		error_add(fh, EHOSTDOWN, "engine %d is down", fh->obj);
		errno = EHOSTDOWN;
		return -1;
	}
	return write_held(fh, data, size);
}

static int
flush_nsvar(struct fh *fh)
{
	fh->dirty = 0;
	return ns_push(fh);
}

/* ns/NAME: a dunder name is written only when /ctl allows it. */
static int
open_nsvar(struct fh *fh)
{
	if (((fh->flags & O_ACCMODE) != O_RDONLY || (fh->flags & O_TRUNC)) &&
	    ns_name_denied(ns_name(fh->name)) != 0) {
		error_add(fh, EPERM, "a dunder name (settings ns_dunder 1 "
		    "in /ctl allows it)");
		return EPERM;
	}
	return 0;
}

/* tasks/N/code: written only while the task is a draft. */
static int
open_tcode(struct fh *fh)
{
	struct fstask *t;

	if ((fh->flags & O_ACCMODE) == O_RDONLY ||
	    (t = fstask_get(fh->obj)) == NULL)
		return 0;
	if (t->state != T_DRAFT) {
		error_add(fh, EBUSY, "task %d was already submitted", t->id);
		return EBUSY;
	}
	if (fh->flags & O_TRUNC)
		t->code[0] = '\0';
	return 0;
}

static int
open_waitall(struct fh *fh)
{
	waitall_open(fh);
	return 0;
}

/*
 * The kinds of file, each a row's ops (tree.c's dirtab names one per
 * file).  Members left NULL: always ready, read as a snapshot of the
 * text gen makes (gen.c), writes refused, nothing to flush or check at
 * open.  Initialised as: name, ready, read, then the rest by name.
 */
const struct filekind fk_dir = { .name = "directory" };
const struct filekind fk_status = { "status", .gen = gen_root_status };
const struct filekind fk_rootctl = { "ctl", .write = ctl_write_root,
    .gen = gen_root_ctl };
const struct filekind fk_events = { "events", ev_skip, read_events,
    .flags = FK_BLOCKS | FK_NOSEEK };
const struct filekind fk_errors = { "errors", .gen = gen_errors };
const struct filekind fk_seceng = { "engine connection file",
    .gen = gen_seceng, .size = size_seceng };
const struct filekind fk_seccli = { "client connection file",
    .gen = gen_seccli, .size = size_seccli };
const struct filekind fk_engindex = { "engines/index",
    .gen = gen_engines_index };
const struct filekind fk_exec = { "engines/N/exec", ready_code, read_code,
    .write = write_engine, .flush = submit_exec,
    .flags = FK_NOSEEK | FK_AT_RELEASE };
const struct filekind fk_ectl = { "engines/N/ctl",
    .write = ctl_write_engine, .gen = gen_eng_ctl };
const struct filekind fk_estatus = { "engines/N/status",
    .gen = gen_eng_status, .flags = FK_ENGINE };
/* engines/N/{stdout,stderr,error,wait} before a task: empty (file_open) */
const struct filekind fk_enotask = { "engines/N/stdout...",
    .gen = gen_empty, .flags = FK_ENGINE };
const struct filekind fk_allres = { "engines/N/result", ready_all,
    read_ended, .gen = gen_eng_result, .flags = FK_BLOCKS };
const struct filekind fk_elast = { "engines/N/last", .gen = gen_eng_last,
    .flags = FK_ENGINE };
const struct filekind fk_elog = { "engines/N/log", .gen = gen_eng_log,
    .flags = FK_ENGINE };
const struct filekind fk_etasks = { "engines/N/tasks",
    .gen = gen_eng_tasks };
const struct filekind fk_einfo = { "engines/N/info", .gen = gen_eng_info,
    .flags = FK_ENGINE };
const struct filekind fk_nsvar = { "engines/N/ns/NAME", NULL, read_nsvar,
    .write = write_engine, .flush = flush_nsvar, .open = open_nsvar };
const struct filekind fk_new = { "tasks/new", ready_code, read_code,
    .write = write_held, .flush = submit_new,
    .flags = FK_NOSEEK | FK_AT_RELEASE };
const struct filekind fk_clone = { "tasks/clone", NULL, read_clone,
    .write = write_clone };
const struct filekind fk_batch = { "tasks/batch", ready_code, read_code,
    .write = write_held, .flush = submit_batch,
    .flags = FK_NOSEEK | FK_AT_RELEASE };
const struct filekind fk_tindex = { "tasks/index",
    .gen = gen_tasks_index };
const struct filekind fk_waitall = { "tasks/waitall", waitall_ready,
    read_waitall, .write = waitall_write, .open = open_waitall,
    .flags = FK_BLOCKS | FK_NOSEEK };
const struct filekind fk_vis = { "timeline.svg, ipp.prom", NULL, vis_read,
    .gen = vis_gen, .size = vis_size };
const struct filekind fk_tctl = { "tasks/N/ctl", .write = ctl_write_task,
    .gen = gen_task_ctl, .flags = FK_TASK };
const struct filekind fk_tcode = { "tasks/N/code", .write = write_tcode,
    .open = open_tcode, .gen = gen_task_code, .flags = FK_TASK };
const struct filekind fk_tstatus = { "tasks/N/status",
    .gen = gen_task_status, .flags = FK_TASK };
const struct filekind fk_wait = { "tasks/N/wait", ready_task, read_wait,
    .flags = FK_BLOCKS | FK_TASK };
const struct filekind fk_result = { "tasks/N/result", ready_task,
    read_result, .flags = FK_BLOCKS | FK_TASK };
const struct filekind fk_stream = { "tasks/N/std{out,err}", ready_stream,
    read_stream, .flags = FK_BLOCKS | FK_TASK };
const struct filekind fk_ended = { "tasks/N/error", ready_task, read_ended,
    .gen = gen_task_error, .flags = FK_BLOCKS | FK_TASK };
const struct filekind fk_tengine = { "tasks/N/engine",
    .gen = gen_task_engine, .flags = FK_TASK };

/* Would a read of fh return now (data, EOF or an error)? */
int
file_ready(struct fh *fh)
{
	const struct filekind *k = file_kind(fh->type);

	if (fh->busy)
		return 0;
	return k->ready == NULL || k->ready(fh);
}

int
file_read(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	const struct filekind *k = file_kind(fh->type);

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
	return (k->read != NULL ? k->read : read_snapshot)(fh, size, off,
	    out);
}

int
file_write(struct fh *fh, const char *data, size_t size)
{
	const struct filekind *k = file_kind(fh->type);

	if (k->write == NULL) {
		errno = EACCES;
		return -1;
	}
	return k->write(fh, data, size);
}

int
file_flush(struct fh *fh)
{
	const struct filekind *k = file_kind(fh->type);

	if (!fh->dirty || k->flush == NULL)
		return 0;
	return k->flush(fh);
}
