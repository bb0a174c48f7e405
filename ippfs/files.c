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
 */
void
file_open(struct fh *fh)
{
	static const enum qtype alias[][2] = {
		{ Q_ERESULT, Q_TRESULT }, { Q_EERROR, Q_TERROR },
		{ Q_ESTDOUT, Q_TSTDOUT }, { Q_ESTDERR, Q_TSTDERR },
		{ Q_EWAIT, Q_TWAIT }
	};
	struct fsengine *e = fsengine_get(fh->obj);
	size_t i;

	if (e == NULL || fstask_get(e->last) == NULL)
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

/* Would a read of fh return now (data, EOF or an error)? */
int
file_ready(struct fh *fh)
{
	struct fstask *t = fstask_get(fh->obj);

	if (fh->busy)
		return 0;
	switch (fh->type) {
	case Q_EVENTS:
	case Q_TEVENTS:
		return ev_skip(fh);
	case Q_TWAIT:
	case Q_TRESULT:
	case Q_TERROR:
		return t == NULL || fstask_over(t);
	case Q_ERESULT:
		return fh->obj != OBJ_ALL || all_over();
	case Q_TSTDOUT:
	case Q_TSTDERR:
		return t == NULL || fstask_over(t) || (size_t)fh->lastoff <
		    (fh->type == Q_TSTDOUT ? t->out.len : t->err.len);
	case Q_TWAITALL:
		return waitall_ready(fh);
	case Q_EEXEC:
	case Q_TNEW:
	case Q_TBATCH:
		return !fh->idseof || waitall_ready(fh);
	default:
		return 1;
	}
}

/* Submit what was written to exec, tasks/new or tasks/batch. */
static int
submit(struct fh *fh)
{
	struct fsengine *e;
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
			if ((id = fstask_submit(-1, rec,
			    (size_t)(sep - rec))) == -1)
				goto fail;
			buf_printf(&fh->r, "%d\n", id);
			if (sep >= end)
				break;
		}
		return 0;
	}
	if (fh->type == Q_TNEW || fh->obj != OBJ_ALL) {
		if ((id = fstask_submit(fh->type == Q_TNEW ? -1 : fh->obj,
		    fh->w.p != NULL ? fh->w.p : "", fh->w.len)) == -1)
			goto fail;
		if (fh->type == Q_EEXEC)
			fsengine_get(fh->obj)->last = id;
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
		if ((id = fstask_submit(i, fh->w.p != NULL ? fh->w.p : "",
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

static int
is_codefile(const struct fh *fh)
{
	return fh->type == Q_EEXEC || fh->type == Q_TNEW ||
	    fh->type == Q_TBATCH;
}

int
file_read(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	struct fstask *t = fstask_get(fh->obj);
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
		/* the results follow the end of file of the ids */
		if (fh->idseof)
			return waitall_read(fh, size, out);
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
		if (out->len == 0 && fh->submitted)
			results_follow(fh);
		return 0;
	case Q_NSVAR:
		if (fh->rerr != 0) {
			errno = fh->rerr;
			return -1;
		}
		if (!fh->have_r || (off == 0 && fh->lastoff != 0)) {
			/* O_NONBLOCK (grep -r): no wait behind a task */
			if ((fh->flags & O_NONBLOCK) &&
			    fsengine_busy(fh->obj)) {
				errno = EAGAIN;
				return -1;
			}
			fh->lastoff = 0;
			if (ns_pull(fh) == -1)
				return -1;
		}
		if (fh->rheld)
			slice(zmq_msg_data(&fh->rmsg), zmq_msg_size(&fh->rmsg),
			    size, off, out);
		else
			slice(fh->r.p, fh->r.len, size, off, out);
		fh->lastoff = off + (off_t)out->len;
		return 0;
	case Q_TWAIT:
	case Q_TRESULT:
		if (t == NULL) {
			errno = ENOENT;
			return -1;
		}
		if (!fstask_over(t)) {
			errno = EAGAIN;
			return -1;
		}
		if (fh->type == Q_TRESULT) {
			if ((errno = fstask_errno(t)) != 0)
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
		if (off >= 0 && (size_t)off >= src->len && !fstask_over(t)) {
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
	struct fsengine *e;
	struct fstask *t;
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
		if ((t = fstask_get(fh->obj)) == NULL) {
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
		    fh->obj != OBJ_ALL && ((e = fsengine_get(fh->obj)) ==
		    NULL || e->state != E_UP)) {
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
