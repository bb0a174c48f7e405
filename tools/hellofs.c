/*
 * hellofs - the most trivial FUSE file system: the baseline that
 * bench/b-ippfs.sh measures ippfs's stat and read latency against.
 *
 *	hellofs MOUNTPOINT	(stays in the foreground; fusermount3 -u or
 *				 SIGTERM unmounts)
 *
 * One directory holding one file, "status", whose content is a fixed
 * text about as long as ippfs's /status.  It uses the libfuse3 low-level
 * API and libfuse's own single-threaded loop (fuse_session_loop), the
 * fastest way libfuse offers, and the same per-file settings as ippfs's
 * root files: entry timeout 1 s, attribute timeout 0 (so every stat
 * reaches the daemon), direct_io (so every read does).  Whatever ippfs
 * costs beyond this is ippfs's own doing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#define STATUS_INO	2

static const char status_text[] =
    "hub tcp://127.0.0.1:40000\n"
    "engines 2\n"
    "engines_dead 0\n"
    "tasks_queued 0\n"
    "tasks_running 0\n"
    "tasks_done 0\n"
    "tasks_failed 0\n"
    "tasks_aborted 0\n"
    "uptime 1.0\n";

static int
fill(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	/* like ippfs: the time is computed for every stat */
	st->st_mtim.tv_sec = st->st_ctim.tv_sec = st->st_atim.tv_sec =
	    time(NULL);
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
	} else if (ino == STATUS_INO) {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
	} else
		return -1;
	return 0;
}

static void
hello_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	if (parent != FUSE_ROOT_ID || strcmp(name, "status") != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = STATUS_INO;
	e.attr_timeout = 0;
	e.entry_timeout = 1.0;
	fill(e.ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void
hello_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	if (fill(ino, &st) == -1)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, 0);
}

static void
hello_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	static const char *names[] = { ".", "..", "status" };
	static const fuse_ino_t inos[] = { FUSE_ROOT_ID, FUSE_ROOT_ID,
	    STATUS_INO };
	char buf[512];
	struct stat st;
	size_t len = 0, n;
	int i;

	if (size > sizeof(buf))
		size = sizeof(buf);
	for (i = (int)off; i >= 0 && i < 3; i++) {
		fill(inos[i], &st);
		n = fuse_add_direntry(req, buf + len, size - len, names[i], &st,
		    i + 1);
		if (n > size - len)
			break;
		len += n;
	}
	fuse_reply_buf(req, buf, len);
}

static void
hello_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != STATUS_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	fi->direct_io = 1;
	fuse_reply_open(req, fi);
}

static void
hello_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	size_t len = sizeof(status_text) - 1;

	if (off < 0 || (size_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	len -= (size_t)off;
	fuse_reply_buf(req, status_text + off, len < size ? len : size);
}

static const struct fuse_lowlevel_ops hello_ops = {
	.lookup = hello_lookup,
	.getattr = hello_getattr,
	.readdir = hello_readdir,
	.open = hello_open,
	.read = hello_read,
};

int
main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se;
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: hellofs MOUNTPOINT\n");
		return 2;
	}
	if (fuse_opt_add_arg(&args, "hellofs") == -1 ||
	    fuse_opt_add_arg(&args, "-o") == -1 ||
	    fuse_opt_add_arg(&args, "fsname=hellofs,subtype=hellofs,"
	    "default_permissions") == -1)
		return 1;
	if ((se = fuse_session_new(&args, &hello_ops, sizeof(hello_ops),
	    NULL)) == NULL)
		goto out;
	if (fuse_set_signal_handlers(se) == -1)
		goto out_se;
	if (fuse_session_mount(se, argv[1]) == -1)
		goto out_sig;
	rc = fuse_session_loop(se) != 0;
	fuse_session_unmount(se);
out_sig:
	fuse_remove_signal_handlers(se);
out_se:
	fuse_session_destroy(se);
out:
	fuse_opt_free_args(&args);
	return rc;
}
