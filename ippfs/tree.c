/*
 * tree.c - the shape of the file tree and the FUSE low-level operations.
 *
 * The tree is a static table in the manner of Plan 9's Dirtab: each file
 * type has a name, a parent type, a mode and a kind, the ops that say
 * what it does (struct filekind, files.c).  Directories whose entries
 * are engines, tasks or namespace names are filled in from the tables of
 * hub.c and tasks.c.  An inode number is (name key << 32 | object << 8
 * | type), so lookup computes it and getattr decodes it; nothing needs
 * reference counts and forget is a no-op (a name key, names.c, stops
 * resolving when its slot goes to another name).  What a file contains is
 * files.c's business; this file turns FUSE requests into calls there
 * and makes sure each request is answered exactly once: at once, or
 * later from a struct park (ippfs.c).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ippfs.h"

struct dirtab {
	const char	*name;		/* NULL: dynamic (number or name) */
	enum qtype	 type;
	enum qtype	 parent;
	const struct filekind *kind;	/* what it does (files.c); NULL:
					   a directory */
	mode_t		 mode;
	int		 allok;		/* also under engines/all */
};

static const struct dirtab dirtab[] = {
	{ "status",	Q_STATUS,	Q_ROOT,		&fk_status, 0444, 0 },
	{ "ctl",	Q_CTL,		Q_ROOT,		&fk_rootctl, 0644, 0 },
	{ "events",	Q_EVENTS,	Q_ROOT,		&fk_events, 0444, 0 },
	{ "errors",	Q_ERRORS,	Q_ROOT,		&fk_errors, 0444, 0 },
	{ "security",	Q_SECDIR,	Q_ROOT,		NULL, S_IFDIR | 0500, 0 },
	{ "engines",	Q_ENGDIR,	Q_ROOT,		NULL, S_IFDIR | 0555, 0 },
	{ "tasks",	Q_TASKDIR,	Q_ROOT,		NULL, S_IFDIR | 0555, 0 },
	{ "metrics",	Q_METDIR,	Q_ROOT,		NULL, S_IFDIR | 0555, 0 },
	{ "ipp.prom",	Q_MPROM,	Q_METDIR,	&fk_vis, 0444, 0 },
	{ "ipcontroller-engine.json", Q_SECENG, Q_SECDIR, &fk_seceng, 0400, 0 },
	{ "ipcontroller-client.json", Q_SECCLI, Q_SECDIR, &fk_seccli, 0400, 0 },
	{ "index",	Q_ENGINDEX,	Q_ENGDIR,	&fk_engindex, 0444, 0 },
	{ NULL,		Q_ENG,		Q_ENGDIR,	NULL, S_IFDIR | 0555, 0 },
	{ "exec",	Q_EEXEC,	Q_ENG,		&fk_exec, 0644, 1 },
	{ "ctl",	Q_ECTL,		Q_ENG,		&fk_ectl, 0644, 1 },
	{ "status",	Q_ESTATUS,	Q_ENG,		&fk_estatus, 0444, 0 },
	{ "stdout",	Q_ESTDOUT,	Q_ENG,		&fk_enotask, 0444, 0 },
	{ "stderr",	Q_ESTDERR,	Q_ENG,		&fk_enotask, 0444, 0 },
	{ "result",	Q_ERESULT,	Q_ENG,		&fk_allres, 0444, 1 },
	{ "error",	Q_EERROR,	Q_ENG,		&fk_enotask, 0444, 0 },
	{ "wait",	Q_EWAIT,	Q_ENG,		&fk_enotask, 0444, 0 },
	{ "last",	Q_ELAST,	Q_ENG,		&fk_elast, 0444, 0 },
	{ "log",	Q_ELOG,		Q_ENG,		&fk_elog, 0444, 0 },
	{ "ns",		Q_ENS,		Q_ENG,		NULL, S_IFDIR | 0755, 1 },
	{ "tasks",	Q_ETASKS,	Q_ENG,		&fk_etasks, 0444, 0 },
	{ "info",	Q_EINFO,	Q_ENG,		&fk_einfo, 0444, 0 },
	{ "timeline.svg", Q_ETIMELINE,	Q_ENG,		&fk_vis, 0444, 0 },
	{ NULL,		Q_NSVAR,	Q_ENS,		&fk_nsvar, 0644, 0 },
	{ "new",	Q_TNEW,		Q_TASKDIR,	&fk_new, 0644, 0 },
	{ "clone",	Q_TCLONE,	Q_TASKDIR,	&fk_clone, 0644, 0 },
	{ "batch",	Q_TBATCH,	Q_TASKDIR,	&fk_batch, 0644, 0 },
	{ "index",	Q_TINDEX,	Q_TASKDIR,	&fk_tindex, 0444, 0 },
	{ "events",	Q_TEVENTS,	Q_TASKDIR,	&fk_events, 0444, 0 },
	{ "timeline.svg", Q_TTIMELINE,	Q_TASKDIR,	&fk_vis, 0444, 0 },
	{ "waitall",	Q_TWAITALL,	Q_TASKDIR,	&fk_waitall, 0644, 0 },
	{ NULL,		Q_TASK,		Q_TASKDIR,	NULL, S_IFDIR | 0555, 0 },
	{ "ctl",	Q_TCTL,		Q_TASK,		&fk_tctl, 0644, 0 },
	{ "code",	Q_TCODE,	Q_TASK,		&fk_tcode, 0644, 0 },
	{ "status",	Q_TSTATUS,	Q_TASK,		&fk_tstatus, 0444, 0 },
	{ "wait",	Q_TWAIT,	Q_TASK,		&fk_wait, 0444, 0 },
	{ "result",	Q_TRESULT,	Q_TASK,		&fk_result, 0444, 0 },
	{ "stdout",	Q_TSTDOUT,	Q_TASK,		&fk_stream, 0444, 0 },
	{ "stderr",	Q_TSTDERR,	Q_TASK,		&fk_stream, 0444, 0 },
	{ "error",	Q_TERROR,	Q_TASK,		&fk_ended, 0444, 0 },
	{ "engine",	Q_TENGINE,	Q_TASK,		&fk_tengine, 0444, 0 },
	{ NULL,		Q_NONE,		Q_NONE,		NULL, 0, 0 },
};

static const struct dirtab root = { "/", Q_ROOT, Q_NONE, NULL,
    S_IFDIR | 0555, 0 };

static const struct dirtab *
tab(enum qtype t)
{
	const struct dirtab *d;

	if (t == Q_ROOT)
		return &root;
	for (d = dirtab; d->type != Q_NONE; d++)
		if (d->type == t)
			return d;
	return NULL;
}

/* What a file of type t does (files.c); fk_dir for a directory. */
const struct filekind *
file_kind(enum qtype t)
{
	const struct dirtab *d = tab(t);

	return d != NULL && d->kind != NULL ? d->kind : &fk_dir;
}

static fuse_ino_t
mkino(enum qtype t, int obj, int name)
{
	if (t == Q_ROOT)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)name << 32 | (fuse_ino_t)(obj & 0xffffff) << 8 |
	    (fuse_ino_t)t;
}

static void
unino(fuse_ino_t ino, enum qtype *t, int *obj, int *name)
{
	if (ino == FUSE_ROOT_ID) {
		*t = Q_ROOT;
		*obj = *name = 0;
		return;
	}
	*t = (enum qtype)(ino & 0xff);
	*obj = (int)(ino >> 8 & 0xffffff);
	*name = (int)(ino >> 32);
}

/* Does the object behind (t, obj, name) exist? */
static int
exists(enum qtype t, int obj, int name)
{
	const struct dirtab *d = tab(t);

	if (d == NULL)
		return 0;
	switch (d->parent) {
	case Q_ENGDIR:
		if (t == Q_ENG)
			return obj == OBJ_ALL || fsengine_get(obj) != NULL;
		return 1;
	case Q_ENG:
		if (obj == OBJ_ALL)
			return d->allok;
		return fsengine_get(obj) != NULL;
	case Q_ENS:
		return (obj == OBJ_ALL || fsengine_get(obj) != NULL) &&
		    ns_name(name) != NULL;
	case Q_TASKDIR:
		return t != Q_TASK || fstask_get(obj) != NULL;
	case Q_TASK:
		return fstask_get(obj) != NULL;
	default:
		return 1;
	}
}

void
fh_path(const struct fh *fh, char *buf, size_t len)
{
	const struct dirtab *d = tab(fh->type);
	const char *nm;

	switch (d->parent) {
	case Q_ENG:
		if (fh->obj == OBJ_ALL)
			snprintf(buf, len, "engines/all/%s", d->name);
		else
			snprintf(buf, len, "engines/%d/%s", fh->obj, d->name);
		break;
	case Q_ENS:
		nm = ns_name(fh->name);
		if (fh->obj == OBJ_ALL)
			snprintf(buf, len, "engines/all/ns/%s", nm ? nm : "?");
		else
			snprintf(buf, len, "engines/%d/ns/%s", fh->obj,
			    nm ? nm : "?");
		break;
	case Q_TASK:
		snprintf(buf, len, "tasks/%d/%s", fh->obj, d->name);
		break;
	case Q_TASKDIR:
		snprintf(buf, len, "tasks/%s", d->name);
		break;
	case Q_ENGDIR:
		snprintf(buf, len, "engines/%s", d->name);
		break;
	case Q_METDIR:
		snprintf(buf, len, "metrics/%s", d->name);
		break;
	default:
		snprintf(buf, len, "%s", d->name);
	}
}

static void
fill_attr(struct stat *st, fuse_ino_t ino, enum qtype t)
{
	const struct dirtab *d = tab(t);
	const struct filekind *k = file_kind(t);
	enum qtype type;
	double when;
	int obj, nm;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = d->mode & S_IFDIR ? d->mode : S_IFREG | d->mode;
	st->st_nlink = d->mode & S_IFDIR ? 2 : 1;
	st->st_uid = fs.uid;
	st->st_gid = fs.gid;
	unino(ino, &type, &obj, &nm);
	file_stat(t, obj, &st->st_size, &when);
	st->st_mtim.tv_sec = st->st_ctim.tv_sec = st->st_atim.tv_sec =
	    (time_t)when;
	if (k->size != NULL)
		st->st_size = k->size(t, obj);
	st->st_blocks = (st->st_size + 511) / 512;
}

/*
 * A file nobody may write: its fd can never have anything to flush, and
 * its attributes (mode, owner) never change; nor does its size, but
 * once, when its task ends (file_stat).
 */
static int
read_only(enum qtype t)
{
	const struct dirtab *d = tab(t);

	return d != NULL && !(d->mode & (S_IFDIR | 0222));
}

/*
 * With default_permissions the kernel checks the mode of every path
 * component, and stale attributes make that a GETATTR each: an exec
 * round trip (engines/0/exec, then tasks/N/result) was 21 requests, 6
 * of them GETATTRs of directories.  A directory's attributes never
 * change (its entries are what come and go, and dynamic entries are not
 * cached), so they are cached for a second.  So are those of read-only
 * files, whose open was otherwise a GETATTR for the permission check,
 * one in seven requests of reading a task's result; their size is 0
 * (reads are direct) until their task ends, which the cache delays by
 * a second at most, bar the files whose kind has a size of its own
 * (the security files, the drawings), asked each time.  Writable files
 * are asked each time: a write moves the size the kernel has, and a
 * later stat should not show it.
 */
static double
attr_timeout(const struct stat *st, enum qtype t)
{
	if (S_ISDIR(st->st_mode))
		return 1.0;
	return read_only(t) && file_kind(t)->size == NULL ? 1.0 : 0;
}

static int
is_dynamic_dir(enum qtype t)
{
	return t == Q_ENGDIR || t == Q_TASKDIR || t == Q_ENS;
}

static void
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	const struct dirtab *d;
	enum qtype pt, t = Q_NONE;
	int pobj, pname, obj = 0, nm = 0, err;
	char *end;
	long n;

	unino(parent, &pt, &pobj, &pname);
	if (!exists(pt, pobj, pname)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	obj = pobj;
	for (d = dirtab; d->type != Q_NONE; d++) {
		if (d->parent != pt)
			continue;
		if (d->name != NULL && strcmp(d->name, name) == 0) {
			t = d->type;
			break;
		}
	}
	if (t == Q_NONE && pt == Q_ENGDIR && strcmp(name, "all") == 0) {
		t = Q_ENG;
		obj = OBJ_ALL;
	} else if (t == Q_NONE && (pt == Q_ENGDIR || pt == Q_TASKDIR)) {
		n = strtol(name, &end, 10);
		if (isdigit((unsigned char)name[0]) && *end == '\0' &&
		    n >= 0 && n < OBJ_ALL) {
			t = pt == Q_ENGDIR ? Q_ENG : Q_TASK;
			obj = (int)n;
		}
	} else if (t == Q_NONE && pt == Q_ENS) {
		/* not cut, not made up: the name is refused */
		if ((err = ns_name_check(name)) != 0 ||
		    (nm = ns_name_index(name)) == -1) {
			fuse_reply_err(req, err != 0 ? err : errno);
			return;
		}
		t = Q_NSVAR;
	}
	if (t == Q_NONE || !exists(t, obj, nm)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = mkino(t, obj, nm);
	fill_attr(&e.attr, e.ino, t);
	e.attr_timeout = attr_timeout(&e.attr, t);
	/* dynamic entries come and go: never cache their names */
	e.entry_timeout = is_dynamic_dir(pt) ? 0 : 1.0;
	fuse_reply_entry(req, &e);
}

static void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	enum qtype t;
	int obj, nm;

	unino(ino, &t, &obj, &nm);
	if (!exists(t, obj, nm)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(&st, ino, t);
	fuse_reply_attr(req, &st, attr_timeout(&st, t));
}

/* Only truncation (O_TRUNC, "> file") is accepted; writes replace anyway. */
static void
op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	if (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME |
	    FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
	    FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	op_getattr(req, ino, fi);
}

static struct fh *
fh_new(fuse_ino_t ino, int flags)
{
	struct fh *fh;

	fh = xcalloc(1, sizeof(*fh));
	unino(ino, &fh->type, &fh->obj, &fh->name);
	if (fh->type == Q_NSVAR)
		ns_name_hold(fh->name);
	fh->flags = flags;
	TAILQ_INSERT_TAIL(&fs.open, fh, all);
	return fh;
}

static void
dir_add(struct fh *fh, const char *name, enum qtype t, int obj, int nm)
{
	struct dirent_snap *s;

	fh->dir = xrealloc(fh->dir, (size_t)fh->ndir + 1, sizeof(*fh->dir));
	s = &fh->dir[fh->ndir++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->ino = mkino(t, obj, nm);
	s->mode = tab(t)->mode & S_IFDIR ? S_IFDIR : S_IFREG;
}

/*
 * The listing is taken once at opendir, so readdir offsets (indexes
 * into it) stay stable however the cluster changes meanwhile.
 */
static void
op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct dirtab *d;
	struct fh *fh;
	char num[32];
	int i;

	fh = fh_new(ino, fi->flags);
	if (!exists(fh->type, fh->obj, fh->name)) {
		fh_free(fh);
		fuse_reply_err(req, ENOENT);
		return;
	}
	dir_add(fh, ".", fh->type, fh->obj, 0);
	dir_add(fh, "..", Q_ROOT, 0, 0);
	for (d = dirtab; d->type != Q_NONE; d++)
		if (d->parent == fh->type && d->name != NULL &&
		    (fh->obj != OBJ_ALL || d->allok))
			dir_add(fh, d->name, d->type, fh->obj, 0);
	if (fh->type == Q_ENGDIR) {
		dir_add(fh, "all", Q_ENG, OBJ_ALL, 0);
		for (i = 0; i < fs.nengines; i++)
			if (fs.engines[i] != NULL) {
				snprintf(num, sizeof(num), "%d", i);
				dir_add(fh, num, Q_ENG, i, 0);
			}
	} else if (fh->type == Q_TASKDIR) {
		for (i = 1; i <= fs.ntasks; i++)
			if (fstask_get(i) != NULL) {
				snprintf(num, sizeof(num), "%d", i);
				dir_add(fh, num, Q_TASK, i, 0);
			}
	}
	fi->fh = (uint64_t)(uintptr_t)fh;
	/* 0: answered from what is known (a busy engine) */
	if (fh->type == Q_ENS && ns_list(fh) == -1) {
		if (errno != EINPROGRESS) {
			fuse_reply_err(req, errno);
			fh_free(fh);
			return;
		}
		park(P_OPENDIR, req, fh, 0, 0, fi);
		return;
	}
	fuse_reply_open(req, fi);
}

/*
 * Called by ns.c with the names of an engine's namespace; for
 * engines/all/ns with those of every engine, so once per name.
 */
void
ns_dir_add(struct fh *fh, const char *name)
{
	int i, nm;

	/* a key of globals() need not be an identifier: not a file here */
	if (ns_name_check(name) != 0)
		return;
	for (i = 0; i < fh->ndir; i++)
		if (strcmp(fh->dir[i].name, name) == 0)
			return;
	if ((nm = ns_name_index(name)) != -1)
		dir_add(fh, name, Q_NSVAR, fh->obj, nm);
}

static void
op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fh *fh = (struct fh *)(uintptr_t)fi->fh;
	struct stat st;
	char *buf;
	size_t len = 0, n;
	int i;

	buf = xmalloc(size);
	for (i = (int)off; i >= 0 && i < fh->ndir; i++) {
		memset(&st, 0, sizeof(st));
		st.st_ino = fh->dir[i].ino;
		st.st_mode = fh->dir[i].mode;
		n = fuse_add_direntry(req, buf + len, size - len,
		    fh->dir[i].name, &st, i + 1);
		if (n > size - len)
			break;
		len += n;
	}
	fuse_reply_buf(req, buf, len);
	free(buf);
}

static void
op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh *fh = (struct fh *)(uintptr_t)fi->fh;

	/* a listing answered early may still await its reply (ns.c) */
	if (fh->busy)
		fh->released = 1;
	else
		fh_free(fh);
	fuse_reply_err(req, 0);
}

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct filekind *k;
	struct fh *fh;
	int err;

	fh = fh_new(ino, fi->flags);
	if (!exists(fh->type, fh->obj, fh->name)) {
		fh_free(fh);
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* tasks/clone makes its draft at the first write (files.c) */
	if ((err = file_open(fh)) != 0) {
		fh_free(fh);
		fuse_reply_err(req, err);
		return;
	}
	k = file_kind(fh->type);
	/* content changes under us: never let the page cache answer */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	/*
	 * flush of a file that cannot be written has nothing to do: let
	 * close(2) skip that request (FOPEN_NOFLUSH, Linux 5.16).  Not for
	 * files a read blocks on: when ippfs is killed, the blocked read
	 * fails with ECONNABORTED, and it is the flush of close(2) that
	 * says ENOTCONN, as ippfs(1) promises.
	 */
	if (read_only(fh->type) && !(k->flags & FK_BLOCKS))
		fi->noflush = 1;
	/* code files: a shell's read builtin takes what it reads, no more */
	if (k->flags & FK_NOSEEK)
		fi->nonseekable = 1;
	fh->evseq = fs.evseq > EVENTS_MAX ? fs.evseq - EVENTS_MAX : 0;
	fi->fh = (uint64_t)(uintptr_t)fh;
	if (fuse_reply_open(req, fi) == -ENOENT)
		fh_free(fh);
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fh *fh = (struct fh *)(uintptr_t)fi->fh;
	struct buf out = { NULL, 0, 0 };

	if (fh->busy) {
		park(P_READ, req, fh, size, off, NULL);
		return;
	}
	if (file_read(fh, size, off, &out) == -1) {
		if (errno == EINPROGRESS ||
		    (errno == EAGAIN && !(fh->flags & O_NONBLOCK)))
			park(P_READ, req, fh, size, off, NULL);
		else
			fuse_reply_err(req, errno);
		return;
	}
	fuse_reply_buf(req, out.p, out.len);
	buf_free(&out);
}

static void
op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	struct fh *fh = (struct fh *)(uintptr_t)fi->fh;

	if (fh->busy) {
		fuse_reply_err(req, EBUSY);
		return;
	}
	if (file_write(fh, data, size) == -1) {
		if (errno == EINPROGRESS)
			park(P_WRITE, req, fh, size, off, NULL);
		else
			fuse_reply_err(req, errno);
		return;
	}
	fuse_reply_write(req, size);
}

static void
op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh *fh = (struct fh *)(uintptr_t)fi->fh;

	if (fh->busy) {
		park(P_FLUSH, req, fh, 0, 0, NULL);
		return;
	}
	/*
	 * Code files are submitted at release, the last close: a shell
	 * builtin writing with >&3 closes a dup of the fd after each
	 * write, and every such close() is a flush.
	 */
	if (file_kind(fh->type)->flags & FK_AT_RELEASE) {
		fuse_reply_err(req, 0);
		return;
	}
	if (file_flush(fh) == -1) {
		if (errno == EINPROGRESS)
			park(P_FLUSH, req, fh, 0, 0, NULL);
		else
			fuse_reply_err(req, errno);
		return;
	}
	fuse_reply_err(req, 0);
}

static void
op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh *fh = (struct fh *)(uintptr_t)fi->fh;

	/* submits code files; a flush has already pushed ns values */
	if (!fh->busy && fh->dirty)
		(void)file_flush(fh);
	if (fh->busy)
		fh->released = 1;	/* park_sweep frees it when idle */
	else
		fh_free(fh);
	fuse_reply_err(req, 0);
}

static void
op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
    struct fuse_pollhandle *ph)
{
	struct fh *fh = (struct fh *)(uintptr_t)fi->fh;

	if (file_ready(fh)) {
		if (ph != NULL)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLOUT | POLLRDNORM);
		return;
	}
	if (ph != NULL) {
		if (fh->ph != NULL)
			fuse_pollhandle_destroy(fh->ph);
		fh->ph = ph;
	}
	fuse_reply_poll(req, POLLOUT);
}

static void
op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fh *fh;
	enum qtype pt;
	int pobj, pname, err, nm;

	unino(parent, &pt, &pobj, &pname);
	if (pt != Q_ENS || (err = ns_name_check(name)) != 0 ||
	    (err = ns_name_denied(name)) != 0) {
		fuse_reply_err(req, pt == Q_ENS ? err : EPERM);
		return;
	}
	if (!exists(pt, pobj, pname)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((nm = ns_name_index(name)) == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	fh = fh_new(mkino(Q_NSVAR, pobj, nm), O_WRONLY);
	if (ns_delete(fh) == -1 && errno != EINPROGRESS) {
		fuse_reply_err(req, errno);
		fh_free(fh);
		return;
	}
	park(P_UNLINK, req, fh, 0, 0, NULL);
}

static void
op_init(void *userdata, struct fuse_conn_info *conn)
{
	/* results must reach readers as they are: no writeback caching */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

const struct fuse_lowlevel_ops ippfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.poll = op_poll,
	.unlink = op_unlink,
};
