/*
 * ippfs.h - private structures of ippfs, the file system that mounts a
 * cluster.
 *
 * ippfs is a client of the controller (hub.c, its iopub and reply fast
 * path in fast.c) that shows what it learns as files (tree.c; files.c
 * for reads and writes, gen.c for the text of snapshot files: what a
 * file does is its dirtab row's struct filekind) through the libfuse
 * low-level API.  One
 * thread runs one loop (ippfs.c): poll(2) over the controller's sockets
 * and the FUSE device.  A FUSE request that cannot be answered at once
 * (a read that blocks until a task ends, a ctl write waiting for the
 * engine's acknowledgement) is parked: its fuse_req_t is kept in a
 * struct park and retried after every turn of the loop, so nothing ever
 * blocks the thread.  Everything here is owned by that one thread, and
 * all of it hangs off one documented singleton, `fs` (struct ippfs),
 * which the FUSE callbacks reach; nothing else is mutable at file level
 * (tests/t0140-static-state.sh).
 *
 * Inode numbers are not allocated: they encode what a file is (type,
 * engine or task number, namespace name index), so lookups need no
 * reference counts and a stale inode simply stops resolving.
 */
#ifndef IPPFS_H
#define IPPFS_H

#include <sys/queue.h>
#include <sys/types.h>

#include <poll.h>

#include <fuse_lowlevel.h>

#include "ipp.h"

#define OBJ_ALL		0xffffff	/* engines/all */
#define REQ_TIMEOUT	15.0		/* default seconds to wait for a reply */
#define RETAIN_MAX	(1 << 20)	/* bytes of engine output kept */
#define EVENTS_MAX	4096		/* lines kept in /events */
#define ERRORS_MAX	256		/* lines kept in /errors */
/* the controller's sockets: query, mux, task, control, iopub, notification */
#define CLIENT_NSOCK	6

/* A growable byte buffer. */
struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

/* File types: index into the dirtab of tree.c. */
enum qtype {
	Q_NONE, Q_ROOT, Q_STATUS, Q_CTL, Q_EVENTS, Q_ERRORS,
	Q_SECDIR, Q_SECENG, Q_SECCLI,
	Q_ENGDIR, Q_ENGINDEX, Q_ENG, Q_EEXEC, Q_ECTL, Q_ESTATUS, Q_ESTDOUT,
	Q_ESTDERR, Q_ERESULT, Q_ENS, Q_ETASKS, Q_EINFO, Q_NSVAR,
	Q_EERROR, Q_EWAIT, Q_ELAST, Q_ELOG,
	Q_TASKDIR, Q_TNEW, Q_TBATCH, Q_TINDEX, Q_TASK, Q_TCTL, Q_TCODE,
	Q_TSTATUS, Q_TWAIT, Q_TRESULT, Q_TSTDOUT, Q_TSTDERR, Q_TERROR,
	Q_TENGINE, Q_TCLONE, Q_TEVENTS,
	Q_TTIMELINE, Q_ETIMELINE, Q_METDIR, Q_MPROM, Q_TWAITALL, /* vis.h */
	Q_MAX
};

enum estate { E_UP, E_DEAD };

/* An engine as the file system shows it (engines/N); hubd's is struct
 * engine, the controller's registration record. */
struct fsengine {
	int		 id;
	char		 uuid[IPP_UUID_MAX];
	enum estate	 state;
	int		 foreign;	/* 1: answers the data path with
					   NotImplementedError (ipengine) */
	double		 registered;
	char		 running[160];	/* msg_id of the execute or apply
					   request iopub says it runs, "" */
	json_t		*nsknown;	/* names known in its namespace */
	int		 last;		/* task last submitted through exec,
					   0 none: engines/N/result follows it */
	int		 inall;		/* reached by the last engines/all/exec */
	char		 host[256];	/* where it runs, "" until known */
	long		 pid;		/* 0 until known */
	int		 asked;		/* host and pid asked of the engine */
	struct buf	 log;		/* stdout and stderr of every task, as
					   they came, last RETAIN_MAX bytes */
};

/* T_DRAFT: made by tasks/clone, not yet submitted; no msg_id yet */
enum tstate {
	T_DRAFT, T_QUEUED, T_RUNNING, T_DONE, T_FAILED, T_ABORTED, T_LOST, T_TIMEOUT
};

/*
 * A task as the file system knows it (tasks/N): one it submitted or
 * found in the controller's history.  Named fstask, and its functions
 * fstask_*, apart from hubd's struct task, the controller's record.
 */
struct fstask {
	int		 id;
	char		 msg_id[160];
	int		 engine;	/* -1 until known */
	int		 lb;		/* 1: load-balanced (task socket) */
	enum tstate	 state;
	int		 replied;	/* execute_reply seen */
	int		 idle;		/* iopub status idle seen */
	int		 poll_hub;	/* learn the end by result_request */
	int		 resubmitted;	/* id of the resubmission, 0 none */
	double		 submitted;
	double		 started;	/* running seen (wall clock), 0 never */
	double		 replied_at;
	double		 ended;
	char		*code;
	json_t		*reply;		/* held until iopub is idle */
	struct buf	 out;
	struct buf	 err;
	struct buf	 result;	/* execute_result text/plain */
	struct buf	 error;		/* traceback text */
	json_t		*spec;		/* clone parameters: targets, after,
					   follow (ids), timeout, retries */
};

/*
 * An open file.  Writes accumulate in w; snapshot content is built once
 * into r.  busy is set while a request to the controller made for this
 * file is in flight; its callback clears it and fills in rerr/werr.
 */
struct fh {
	TAILQ_ENTRY(fh)	 all;
	enum qtype	 type;
	int		 obj;		/* engine id, OBJ_ALL or task id */
	int		 name;		/* namespace name index */
	int		 flags;		/* open(2) flags */
	struct buf	 w;
	struct buf	 r;
	int		 have_r;
	int		 busy;
	int		 rerr;		/* errno for reads, 0 ok */
	int		 werr;		/* errno of the last write/flush */
	int		 dirty;		/* unsubmitted writes */
	int		 submitted;
	int		 released;	/* closed while busy: free when idle */
	char		*errtxt;	/* text of the last failure */
	int		 errshown;	/* errtxt is being read back */
	uint64_t	 evseq;		/* /events: next line to deliver */
	off_t		 lastoff;	/* end of the last read, for poll */
	struct fuse_pollhandle *ph;
	struct dirent_snap *dir;	/* directory listing, set at opendir */
	int		 ndir;
	zmq_msg_t	 wmsg;		/* w handed to libzmq by a raw push */
	int		 wgiven;	/* wmsg holds what w held */
	zmq_msg_t	 rmsg;		/* a raw pull's value, the frame as
					   it came (not copied into r) */
	int		 rheld;		/* rmsg holds what reads return */
	struct waitall	*wa;		/* tasks/waitall, and a code file's
					   results (waitall.c) */
	int		 idseof;	/* code file: the ids were read to
					   their end; reads give results */
	struct snapbuf	*snap;		/* what a sized file reads (vis.c) */
};

/* A name under ns/: inode numbers carry its slot and generation. */
struct nsname {
	char		*s;
	unsigned	 gen;
	int		 refs;		/* open files of that name */
};

struct dirent_snap {
	char		 name[256];
	fuse_ino_t	 ino;
	mode_t		 mode;
};

enum pkind { P_READ, P_WRITE, P_FLUSH, P_OPENDIR, P_UNLINK };

/* A request waiting for something; retried after each loop turn. */
struct park {
	TAILQ_ENTRY(park) q;
	enum pkind	 kind;
	fuse_req_t	 req;
	struct fh	*fh;
	size_t		 size;
	off_t		 off;
	struct fuse_file_info fi;
	volatile int	 interrupted;
};

struct spare;

struct ippfs {
	struct fuse_session *se;
	struct ipp_conninfo ci;
	char		 connfile[1024];
	char		 enginefile[1024];
	char		 sshserver[256];	/* --sshserver, --sshkey */
	char		 sshkey[1024];
	struct ipp_tunnel tun;		/* n == 0: the controller is direct */
	struct ipp_session sess;
	void		*zctx;
	void		*query, *mux, *task, *control, *iopub, *notif;
	int		 hub_gone;
	double		 started;
	double		 mounted;	/* wall clock: the time files show */
	double		 req_timeout;	/* /ctl settings */
	double		 task_timeout;
	int		 task_retries;
	uid_t		 uid;
	gid_t		 gid;

	struct fsengine	**engines;	/* by id; NULL gaps */
	int		 nengines;
	struct fstask	**tasks;	/* by id, from 1 */
	int		 ntasks;
	int		 nstate[T_TIMEOUT + 1];	/* tasks per state: /status
						   stays O(1) however many */
	struct ipp_map	*bymsg;		/* msg_id -> struct fstask */
	struct ipp_map	*pending;	/* msg_id -> struct pending */

	struct nsname	*names;		/* namespace names by slot (names.c) */
	int		 nnames;
	int		 nameclock;	/* next slot to consider reusing */
	struct ipp_map	*nameidx;	/* name -> slot + 1 */
	int		 ns_dunder;	/* /ctl: dunder names may be written */

	char		*events[EVENTS_MAX];
	uint64_t	 evseq;		/* seq of the next event */
	char		*errors[ERRORS_MAX];
	uint64_t	 errseq;

	TAILQ_HEAD(, park) parked;
	TAILQ_HEAD(, fh) open;

	struct vis	*vis;		/* timeline, metrics (vis.h) */

	/* hub.c */
	struct ipp_map	*byuuid;	/* engine uuid -> slot + 1 */
	void		*socks[CLIENT_NSOCK];	/* polled, in order */
	struct ipp_zpoll zp;
	struct ipp_msg	 drain_msg;	/* one message serves every drain */
	int		 drain_ready;
	/* tasks.c */
	double		 last_poll;	/* result_request for poll_hub tasks */
	int		 poll_inflight;
	double		 last_scan;
	int		 tasks_cap;	/* slots allocated in tasks */
	int		 first_live;	/* tasks[] below it are all over */
	json_t		*ok_content;	/* {"status": "ok"}, made once */
	/* ippfs.c: the last big buffer freed, for the next (buf_give) */
	struct spare	*spare;
	double		 trim_at;	/* malloc_trim then (0: nothing to) */
};

extern struct ippfs fs;

/* Reply callback: m is NULL when err (ETIMEDOUT, ENOTCONN) is set. */
typedef void (*client_cb)(void *arg, struct ipp_msg *m, int err);

/* ippfs.c */
void	 park(enum pkind, fuse_req_t, struct fh *, size_t, off_t,
	    const struct fuse_file_info *);
void	 park_sweep(void);
void	 fh_free(struct fh *);

/* tree.c */
extern const struct fuse_lowlevel_ops ippfs_ops;
const struct filekind *file_kind(enum qtype);
void	 ns_dir_add(struct fh *, const char *);

/* names.c */
int	 ns_name_check(const char *);
int	 ns_name_denied(const char *);
int	 ns_name_index(const char *);
const char *ns_name(int);
void	 ns_name_hold(int);
void	 ns_name_drop(int);
void	 ns_known(int engine, const char *, int present);
void	 ns_known_reset(int engine);
void	 ns_known_dir(struct fh *, int engine);

/*
 * What a kind of file does: each row of tree.c's dirtab names one, and
 * files.c's file_* calls dispatch through it; the kinds are listed at
 * the end of files.c.  NULL members: always ready, read as a snapshot
 * of what gen makes at offset 0, writes refused (EACCES), nothing to
 * flush or to check at open.  Reads and writes follow files.c's rules:
 * -1 EAGAIN blocks (the request is parked), EINPROGRESS waits for the
 * controller.
 */
struct filekind {
	const char	*name;		/* what it is, for a reader */
	int		(*ready)(struct fh *);	/* would a read return now */
	int		(*read)(struct fh *, size_t, off_t, struct buf *);
	int		(*write)(struct fh *, const char *, size_t);
	int		(*flush)(struct fh *);	/* when written (fh->dirty) */
	int		(*open)(struct fh *);	/* 0, or the errno refusing */
	int		(*gen)(struct fh *, struct buf *); /* snapshot text */
	/* the size stat shows, asked each time; NULL: file_stat's */
	off_t		(*size)(enum qtype, int obj);
	int		 flags;
};
#define FK_BLOCKS	0x01	/* reads wait for a task or for lines */
#define FK_NOSEEK	0x02	/* read as a stream, offsets ignored */
#define FK_AT_RELEASE	0x04	/* flushed at the last close only */
#define FK_ENGINE	0x08	/* an engine's file: gen needs the engine */
#define FK_TASK		0x10	/* a task's file: gen needs the task, and
				   its size shows once the task ended */

/* files.c */
extern const struct filekind fk_dir, fk_status, fk_rootctl, fk_events,
    fk_errors, fk_seceng, fk_seccli, fk_engindex, fk_exec, fk_ectl,
    fk_estatus, fk_enotask, fk_allres, fk_elast, fk_elog, fk_etasks,
    fk_einfo, fk_nsvar, fk_new, fk_clone, fk_batch, fk_tindex, fk_waitall,
    fk_vis, fk_tctl, fk_tcode, fk_tstatus, fk_wait, fk_result,
    fk_stream, fk_ended, fk_tengine;
int	 file_ready(struct fh *);
int	 file_read(struct fh *, size_t, off_t, struct buf *);
int	 file_write(struct fh *, const char *, size_t);
int	 file_flush(struct fh *);
int	 fstask_errno(const struct fstask *);
int	 file_open(struct fh *);

/* gen.c: file_gen, and the texts of the kinds of snapshot file */
int	 file_gen(struct fh *, struct buf *);
int	 gen_root_status(struct fh *, struct buf *);
int	 gen_root_ctl(struct fh *, struct buf *);
int	 gen_errors(struct fh *, struct buf *);
int	 gen_seceng(struct fh *, struct buf *);
int	 gen_seccli(struct fh *, struct buf *);
off_t	 size_seceng(enum qtype, int obj);
off_t	 size_seccli(enum qtype, int obj);
int	 gen_engines_index(struct fh *, struct buf *);
int	 gen_eng_ctl(struct fh *, struct buf *);
int	 gen_eng_status(struct fh *, struct buf *);
int	 gen_empty(struct fh *, struct buf *);
int	 gen_eng_result(struct fh *, struct buf *);
int	 gen_eng_last(struct fh *, struct buf *);
int	 gen_eng_log(struct fh *, struct buf *);
int	 gen_eng_tasks(struct fh *, struct buf *);
int	 gen_eng_info(struct fh *, struct buf *);
int	 gen_tasks_index(struct fh *, struct buf *);
int	 gen_task_ctl(struct fh *, struct buf *);
int	 gen_task_code(struct fh *, struct buf *);
int	 gen_task_status(struct fh *, struct buf *);
int	 gen_task_error(struct fh *, struct buf *);
int	 gen_task_engine(struct fh *, struct buf *);
void	 file_stat(enum qtype, int obj, off_t *size, double *when);
void	 gen_taskline(struct buf *, struct fstask *);
int	 fsengine_busy(int id);

/* hub.c */
int	 client_start(const char *connfile);
int	 fsengine_byuuid(const char *uuid);
void	 client_stop(void);
int	 client_pollfds(struct pollfd *);
void	 client_recv(void);
void	 client_poll_failed(void);
int	 client_idle(void);
void	 client_timers(double now);
int	 client_send(void *sock, const char *engine_uuid,
	    const char *msg_type, json_t *content_new, json_t *metadata_new,
	    const struct ipp_buf *bufs, int nbufs, char *msg_id, size_t idlen);
int	 client_request(void *sock, const char *engine_uuid,
	    const char *msg_type, json_t *content_new, json_t *metadata_new,
	    const struct ipp_buf *bufs, int nbufs, client_cb, void *arg);
int	 client_request_msg(void *sock, const char *engine_uuid,
	    const char *msg_type, json_t *content_new, json_t *metadata_new,
	    zmq_msg_t *buf, client_cb, void *arg);
void	 client_fail_engine(const char *uuid, int err);
struct fsengine *fsengine_get(int id);
int	 fsengines_up(void);
int	 client_sync_query(const char *msg_type, json_t *content_new,
	    struct ipp_msg *, double timeout);
const char *reply_error(struct ipp_msg *, char *buf, size_t len);
void	 fsengine_output(int engine, json_t *content);
void	 fsengine_status(int engine, const char *state,
	    const char *parent_id, const char *parent_type);

/* fast.c */
int	 iopub_fast(struct ipp_msg *);
int	 reply_fast(struct ipp_msg *);

/* tasks.c */
struct fstask *fstask_new(const char *msg_id, int engine, int lb,
	    const char *code);
struct fstask *fstask_get(int id);
struct fstask *fstask_bymsg(const char *msg_id);
void	 fstask_setstate(struct fstask *, enum tstate);
void	 fstask_reply(struct fstask *, json_t *content, int engine);
void	 fstask_status(struct fstask *, const char *state, int engine);
void	 fstask_iopub(struct fstask *, const char *type, json_t *content,
	    int engine);
void	 fstask_record(struct fstask *, json_t *rec);
void	 fstasks_engine_died(int engine);
void	 fstasks_timers(double now);
int	 fstasks_first_live(void);
const char *tstate_name(enum tstate);
int	 fstask_submit(int engine, const char *code, size_t len);
struct fstask *fstask_draft(void);
int	 fstask_send_draft(struct fstask *, char *why, size_t len);
int	 fstasks_load_history(void);

/* ctl.c */
int	 ctl_write_root(struct fh *, const char *, size_t);
int	 ctl_write_engine(struct fh *, const char *, size_t);
int	 ctl_write_task(struct fh *, const char *, size_t);

/* ns.c */
void	 fsengine_where(struct fsengine *, json_t *info);
int	 ns_pull(struct fh *);
int	 ns_push(struct fh *);
int	 ns_delete(struct fh *);
int	 ns_list(struct fh *);
int	 ns_list_known(struct fh *);

/* util (ippfs.c) */
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_reset(struct buf *);
void	 buf_free(struct buf *);
void	 buf_trim_front(struct buf *, size_t keep);
void	 buf_give(struct buf *, zmq_msg_t *);
void	 buf_take(struct buf *, zmq_msg_t *);
void	 spare_expire(double now);
void	 malloc_cool_later(void);
void	 fh_wreclaim(struct fh *);
void	 event_add(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 error_add(struct fh *, int err, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 fh_path(const struct fh *, char *, size_t);

#include "vis.h"

#endif /* IPPFS_H */
