/*
 * vis.c - the files that show the work at a glance (tasks/timeline.svg,
 * engines/N/timeline.svg, metrics/ipp.prom) as snapshots whose st_size
 * is the size of what a read returns.
 *
 * Other snapshot files say size 0 and rely on direct_io; these are read
 * by programs that trust st_size: prometheus-node-exporter's textfile
 * collector stats the file it parsed, a browser or an image viewer may
 * read exactly st_size bytes.  So a snapshot is made once and answers
 * every stat, open and read of its file for VIS_SNAP_TTL seconds: a
 * stat, an open and the reads that follow it agree, and a file read
 * again a second later shows the cluster as it is then.  The snapshots
 * live in fs.vis beside the /ctl settings of the timeline.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ippfs.h"

struct vis *
vis_get(void)
{
	if (fs.vis == NULL) {
		fs.vis = xcalloc(1, sizeof(*fs.vis));
		fs.vis->tl_tasks = TL_TASKS;
	}
	return fs.vis;
}

static void
snapbuf_drop(struct snapbuf *sb)
{
	if (sb == NULL || --sb->refs > 0)
		return;
	buf_free(&sb->b);
	free(sb);
}

/* The snapshot of (t, obj), made afresh when older than the TTL. */
static struct snap *
snap_get(enum qtype t, int obj)
{
	struct vis *v = vis_get();
	struct snap *s, *old = NULL;
	double now = ipp_monotonic();
	int i;

	for (i = 0; i < VIS_SNAPS; i++) {
		s = &v->snaps[i];
		if (s->at > 0 && s->type == t && s->obj == obj)
			break;
		if (old == NULL || s->at < old->at)
			old = s;
	}
	if (i == VIS_SNAPS)
		s = old;
	else if (now - s->at <= VIS_SNAP_TTL)
		return s;
	s->type = t;
	s->obj = obj;
	s->at = now;
	/*
	 * Drawn into the buffer of the last one when no reader holds it:
	 * pages already touched, where fresh ones cost a fault each (a
	 * megabyte picture read twice as fast).
	 */
	if (s->sb == NULL || s->sb->refs > 1) {
		snapbuf_drop(s->sb);
		s->sb = xcalloc(1, sizeof(*s->sb));
		s->sb->refs = 1;
	}
	buf_reset(&s->sb->b);
	if (t == Q_MPROM) {
		v->read_at = now;
		metrics_gen(&s->sb->b);
	} else
		timeline_gen(&s->sb->b, t == Q_ETIMELINE ? obj : -1);
	return s;
}

off_t
vis_size(enum qtype t, int obj)
{
	return (off_t)snap_get(t, obj)->sb->b.len;
}

/* file_gen for the sized files: a copy of the snapshot. */
int
vis_gen(struct fh *fh, struct buf *b)
{
	struct snap *s;

	if (fh->type == Q_ETIMELINE && fsengine_get(fh->obj) == NULL) {
		errno = ENOENT;
		return -1;
	}
	s = snap_get(fh->type, fh->obj);
	buf_reset(b);
	buf_add(b, s->sb->b.p != NULL ? s->sb->b.p : "", s->sb->b.len);
	return 0;
}

/*
 * A read: a read at offset 0 takes the current snapshot, and the reads
 * after it go on in the same one, shared, not copied.
 */
int
vis_read(struct fh *fh, size_t size, off_t off, struct buf *out)
{
	struct snapbuf *sb;

	if (fh->type == Q_ETIMELINE && fsengine_get(fh->obj) == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (off == 0 || fh->snap == NULL) {
		sb = snap_get(fh->type, fh->obj)->sb;
		sb->refs++;
		snapbuf_drop(fh->snap);
		fh->snap = sb;
	}
	sb = fh->snap;
	if (off >= 0 && (size_t)off < sb->b.len)
		buf_add(out, sb->b.p + off, sb->b.len - (size_t)off < size ?
		    sb->b.len - (size_t)off : size);
	return 0;
}

void
vis_fh_free(struct fh *fh)
{
	snapbuf_drop(fh->snap);
	fh->snap = NULL;
	waitall_free(fh);
}

/*
 * /ctl "settings KEY VALUE" for the keys of this file: 0 when set, -1
 * (EINVAL) for a bad value, 1 when the key is not one of them.
 */
int
vis_setting(const char *key, double val)
{
	struct vis *v = vis_get();
	int i;

	if (strcmp(key, "timeline_tasks") == 0) {
		if (val < 1 || val > TL_TASKS_MAX || val != (int)val) {
			errno = EINVAL;
			return -1;
		}
		v->tl_tasks = (int)val;
	} else if (strcmp(key, "timeline_seconds") == 0)
		v->tl_secs = val;
	else
		return 1;
	/* the next read draws with the new window */
	for (i = 0; i < VIS_SNAPS; i++)
		if (v->snaps[i].type != Q_MPROM)
			v->snaps[i].at = 0;
	return 0;
}

void
vis_show_settings(struct buf *b)
{
	struct vis *v = vis_get();

	buf_printf(b, "timeline_tasks %d\ntimeline_seconds %g\n",
	    v->tl_tasks, v->tl_secs);
}
