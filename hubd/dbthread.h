/*
 * dbthread.h - what db.c and dbreply.c share, private to the two: the
 * DB thread's operation (struct dbop) and handle (struct hubdb).
 *
 * db.c runs the thread, batches the loop's writes and hands them over;
 * dbreply.c builds, on that thread, the replies to the history queries
 * (result, history, db, purge and resubmit requests).  The rest of hubd
 * sees only the hubdb_* API in hubd.h.
 */
#ifndef HUBD_DBTHREAD_H
#define HUBD_DBTHREAD_H

#include <pthread.h>

#include "hubd.h"

enum dbop_kind { DBOP_PUT, DBOP_UPDATE, DBOP_QUERY, DBOP_QUIT };

struct dbop {
	enum dbop_kind	 kind;
	struct db_record rec;		/* put */
	char		*msg_id;	/* update; raw put */
	/*
	 * Built on the thread, in this order: rec.fields from raw (a put
	 * of raw frames), then the reply's fields from res, then fields
	 * (an update's, or later updates merged into a put that has raw
	 * or res).
	 */
	struct db_raw	*raw, *res;
	struct db_texts	 texts;		/* parts of raw/res passed as text */
	json_t		*fields;
	struct db_bufs	 rbufs;
	int		 has_rbufs;
	int		 fetched;
	char		 rid[256];	/* query: who asked */
	size_t		 ridlen;
	char		 type[64];
	json_t		*header, *content, *extra;
	struct ipp_frames out;		/* the reply, built by the thread */
	json_t		*resub;		/* resubmit: records to send again */
	struct db_bufs	*resub_bufs;
};

struct hubdb {
	const struct db_ops *ops;
	void		*be;
	pthread_t	 thr;
	int		 running;
	void		*loop_end, *thr_end;
	struct ipp_session sess;	/* the thread signs its replies */
	pthread_mutex_t	 mtx;		/* guards the two counters */
	long		 records;
	long long	 bytes;
	struct dbop	**pend;		/* loop side: writes not yet handed over */
	int		 npend, pendcap;
	struct ipp_map	*pendput;	/* msg_id -> pending put, for merging */
	struct ipp_map	*pendupd;	/* msg_id -> pending update, likewise */
	struct hub	*hub;		/* whose loop polls loop_end */
	double		 flush_at;	/* monotonic; 1e300 when none pending */
	/*
	 * The queue between the two: ops the loop handed over (loop only)
	 * and ops the thread has taken up (atomic, written by the thread).
	 * Their difference is the backlog hubd_backlog() reports.
	 */
	long		 handed;
	long		 taken;
	long		 peak;		/* largest backlog seen (loop only) */
};

/* On the DB thread: answer the query op (op->type) into op->out, or for
 * a resubmission fetch op->resub for the loop to send. */
void	 dbreply_answer(struct hubdb *, struct dbop *);

#endif /* HUBD_DBTHREAD_H */
