/*
 * waitall.c - tasks/waitall: wait on many tasks and see them end.
 *
 * A read of an open tasks/waitall returns one line per task as it ends,
 * "ID STATE DONE/TOTAL", in the order the tasks ended, and end of file
 * once all have.  Which tasks: those whose ids were written on the same
 * file descriptor before its first read (spaces, commas or newlines
 * between them); when none were written, every task queued or running
 * when the file was opened.  Tasks of the set that had already ended at
 * the first read come first, in the order they ended.
 *
 * Completion order comes from the /events ring: the reader keeps its
 * own position in it, like an /events reader, and looks only at the
 * lines written since, so a wait on 10,000 tasks costs nothing per turn
 * of the loop but the new events.  Should the reader fall so far behind
 * that the ring has moved past its position, the set is scanned instead
 * and what ended meanwhile is given in the order of its end times.  A
 * read with nothing to say blocks (it is parked, and a signal ends it
 * with EINTR at once, as for every blocking read of ippfs).
 *
 * The same machinery gives a code file's fd (exec, tasks/new,
 * tasks/batch) its results stream (waitall_batch): the set is the tasks
 * it submitted, and each record carries the task's result (or error
 * text), so that a batch's results come in a few large reads instead of
 * several FUSE requests per task.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ippfs.h"

enum { W_NO, W_WAITING, W_REPORTED };

struct waitall {
	unsigned char	*want;		/* by task id: W_* */
	int		 cap;
	int		 total;
	int		 done;
	int		 fixed;		/* the set is final (first read) */
	int		 written;	/* ids were written */
	uint64_t	 evseq;		/* next /events line to look at */
	int		 bodies;	/* tasks/batch: records carry results */
	struct buf	 out;		/* lines not yet read */
	size_t		 outoff;
};

static void
want_grow(struct waitall *wa, int id)
{
	int cap = wa->cap;

	if (id < cap)
		return;
	while (cap <= id)
		cap = cap ? cap * 2 : 1024;
	wa->want = xrealloc(wa->want, (size_t)cap, 1);
	memset(wa->want + wa->cap, W_NO, (size_t)(cap - wa->cap));
	wa->cap = cap;
}

static void
want_add(struct waitall *wa, int id)
{
	want_grow(wa, id);
	if (wa->want[id] == W_NO) {
		wa->want[id] = W_WAITING;
		wa->total++;
	}
}

/* At open: the tasks queued or running now. */
void
waitall_open(struct fh *fh)
{
	struct waitall *wa;
	struct fstask *t;
	int i;

	wa = fh->wa = xcalloc(1, sizeof(*wa));
	want_grow(wa, fs.ntasks);
	for (i = fstasks_first_live(); i < fs.ntasks; i++)
		if ((t = fs.tasks[i]) != NULL && (t->state == T_QUEUED ||
		    t->state == T_RUNNING))
			want_add(wa, t->id);
	wa->evseq = fs.evseq;
}

/*
 * A code file's fd: the set is the ids added by waitall_add, and is
 * fixed at the first read after them, as for a written tasks/waitall.
 */
void
waitall_batch(struct fh *fh)
{
	struct waitall *wa;

	if (fh->wa != NULL)
		return;
	wa = fh->wa = xcalloc(1, sizeof(*wa));
	wa->written = 1;
	wa->bodies = 1;
	wa->evseq = fs.evseq;
}

void
waitall_add(struct fh *fh, int id)
{
	want_add(fh->wa, id);
}

void
waitall_free(struct fh *fh)
{
	if (fh->wa == NULL)
		return;
	free(fh->wa->want);
	buf_free(&fh->wa->out);
	free(fh->wa);
	fh->wa = NULL;
}

/* Task ids to wait for; the first write replaces the set of the open. */
int
waitall_write(struct fh *fh, const char *data, size_t size)
{
	struct waitall *wa = fh->wa;
	const char *p = data, *end = data + size;
	char num[16];
	size_t n;
	long id;

	if (wa->fixed) {
		error_add(fh, EBUSY, "the set of tasks is fixed at the first "
		    "read");
		fh->werr = errno = EBUSY;
		return -1;
	}
	/* check every id before taking any */
	while (p < end) {
		p += strspn(p, " \t\r\n,");
		if (p >= end)
			break;
		for (n = 0; p + n < end && strchr(" \t\r\n,", p[n]) == NULL;
		    n++)
			;
		snprintf(num, sizeof(num), "%.*s", (int)(n < 15 ? n : 15), p);
		id = strtol(num, NULL, 10);
		if (n > 10 || strspn(num, "0123456789") != n ||
		    fstask_get((int)id) == NULL) {
			error_add(fh, n > 10 || strspn(num, "0123456789") != n ?
			    EINVAL : ENOENT, "no task '%.*s'", (int)(n < 64 ?
			    n : 64), p);
			errno = fh->werr = n > 10 || strspn(num,
			    "0123456789") != n ? EINVAL : ENOENT;
			return -1;
		}
		p += n;
	}
	if (!wa->written) {
		memset(wa->want, W_NO, (size_t)wa->cap);
		wa->total = 0;
		wa->written = 1;
	}
	for (p = data; p < end; p += n) {
		p += strspn(p, " \t\r\n,");
		if (p >= end)
			break;
		for (n = 0; p + n < end && strchr(" \t\r\n,", p[n]) == NULL;
		    n++)
			;
		snprintf(num, sizeof(num), "%.*s", (int)n, p);
		want_add(wa, atoi(num));
	}
	fh->werr = 0;
	return 0;
}

static int
over(const struct fstask *t)
{
	return t == NULL || t->state >= T_DONE;
}

static void
report(struct waitall *wa, int id)
{
	struct fstask *t = fstask_get(id);
	const struct buf *b;

	wa->want[id] = W_REPORTED;
	wa->done++;
	if (!wa->bodies) {
		buf_printf(&wa->out, "%d %s %d/%d\n", id, t != NULL ?
		    tstate_name(t->state) : "purged", wa->done, wa->total);
		return;
	}
	/* "ID STATE SIZE", SIZE bytes of result or error text, newline */
	b = t == NULL ? NULL : t->state == T_DONE ? &t->result : &t->error;
	buf_printf(&wa->out, "%d %s %zu\n", id, t != NULL ?
	    tstate_name(t->state) : "purged", b != NULL ? b->len : 0);
	if (b != NULL && b->len > 0)
		buf_add(&wa->out, b->p, b->len);
	buf_add(&wa->out, "\n", 1);
}

static int
by_end(const void *a, const void *b)
{
	const struct fstask *x = fstask_get(*(const int *)a);
	const struct fstask *y = fstask_get(*(const int *)b);
	double ex = x != NULL ? x->ended : 0, ey = y != NULL ? y->ended : 0;

	if (ex != ey)
		return ex < ey ? -1 : 1;
	return *(const int *)a - *(const int *)b;
}

/* Report every task of the set that is over, in the order they ended. */
static void
scan(struct waitall *wa)
{
	int *ids, i, n = 0;

	ids = xcalloc((size_t)(wa->total - wa->done) + 1, sizeof(*ids));
	for (i = 0; i < wa->cap; i++)
		if (wa->want[i] == W_WAITING && over(fstask_get(i)))
			ids[n++] = i;
	qsort(ids, (size_t)n, sizeof(*ids), by_end);
	for (i = 0; i < n; i++)
		report(wa, ids[i]);
	free(ids);
	wa->evseq = fs.evseq;
}

/* Take in what happened since the last look. */
static void
advance(struct waitall *wa)
{
	const char *line;
	char st[16];
	int id;

	if (!wa->fixed) {
		wa->fixed = 1;
		scan(wa);
		return;
	}
	if (fs.evseq > EVENTS_MAX && wa->evseq < fs.evseq - EVENTS_MAX) {
		scan(wa);
		return;
	}
	for (; wa->evseq < fs.evseq && wa->done < wa->total; wa->evseq++) {
		line = fs.events[wa->evseq % EVENTS_MAX];
		line += strcspn(line, " ");
		/* only the line of its end: one per task, in order */
		if (sscanf(line, " task %d %15s", &id, st) != 2 || id < 0 ||
		    id >= wa->cap || wa->want[id] != W_WAITING ||
		    strcmp(st, "running") == 0 || strcmp(st, "queued") == 0 ||
		    strcmp(st, "draft") == 0)
			continue;
		if (over(fstask_get(id)))
			report(wa, id);
	}
	wa->evseq = fs.evseq;
}

int
waitall_ready(struct fh *fh)
{
	struct waitall *wa = fh->wa;

	advance(wa);
	return wa->outoff < wa->out.len || wa->done == wa->total ||
	    fs.hub_gone;
}

/*
 * Whole lines, as many as fit in size (records with results are sized,
 * so those are cut anywhere); EOF when all have ended.
 */
int
waitall_read(struct fh *fh, size_t size, struct buf *out)
{
	struct waitall *wa = fh->wa;
	size_t n, end;

	advance(wa);
	if (wa->outoff == wa->out.len) {
		if (wa->done == wa->total)
			return 0;
		errno = fs.hub_gone ? ENOTCONN : EAGAIN;
		return -1;
	}
	n = wa->out.len - wa->outoff;
	if (n > size && wa->bodies)
		n = size;
	else if (n > size) {
		/* up to the last newline that fits, else a part of a line */
		for (end = size; end > 0 && wa->out.p[wa->outoff + end - 1] !=
		    '\n'; end--)
			;
		n = end > 0 ? end : size;
	}
	buf_add(out, wa->out.p + wa->outoff, n);
	wa->outoff += n;
	if (wa->outoff == wa->out.len) {
		buf_reset(&wa->out);
		wa->outoff = 0;
	}
	return 0;
}
