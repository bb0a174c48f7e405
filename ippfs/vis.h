/*
 * vis.h - seeing the work: tasks/timeline.svg and engines/N/timeline.svg
 * (timeline.c), metrics/ipp.prom (metrics.c), both served as snapshots
 * whose st_size is true (vis.c), and tasks/waitall, the progress of a
 * long wait (waitall.c).  Included by ippfs.h; the state hangs off
 * fs.vis and each open tasks/waitall's struct fh.
 */
#ifndef IPPFS_VIS_H
#define IPPFS_VIS_H

#define VIS_SNAPS	8	/* snapshots kept for stat/open/read */
#define VIS_SNAP_TTL	1.0	/* seconds a snapshot answers stat and open */
#define TL_TASKS	1000	/* default: the last 1000 tasks drawn */
#define TL_TASKS_MAX	100000
#define DUR_BUCKETS	12	/* task duration histogram, +Inf included */

/*
 * The content of a sized file, made at most once per VIS_SNAP_TTL and
 * shared by the cache and the file handles reading it (refs).
 */
struct snapbuf {
	int		 refs;
	struct buf	 b;
};

struct snap {
	enum qtype	 type;
	int		 obj;
	double		 at;		/* monotonic; 0: empty slot */
	struct snapbuf	*sb;
};

struct vis {
	int		 tl_tasks;	/* /ctl settings timeline_tasks */
	double		 tl_secs;	/* timeline_seconds, 0: no limit */
	struct snap	 snaps[VIS_SNAPS];

	/* metrics.c: counters since the mount */
	unsigned long long ended[T_TIMEOUT + 1];
	unsigned long long dur_le[DUR_BUCKETS];	/* per bucket, not cumulative */
	double		 dur_sum;
	json_t		*queue;		/* last queue_reply content */
	double		 queue_at;	/* monotonic time of it */
	double		 rtt;		/* its round trip, seconds */
	int		 q_inflight;
	double		 q_sent;
	double		 q_last;	/* last queue_request sent */
	double		 read_at;	/* last read of ipp.prom */
	unsigned long long q_ok, q_failed;
};

/* vis.c */
struct vis *vis_get(void);
off_t	 vis_size(enum qtype, int obj);
int	 vis_gen(struct fh *, struct buf *);
int	 vis_read(struct fh *, size_t, off_t, struct buf *);
void	 vis_fh_free(struct fh *);
int	 vis_setting(const char *key, double v);
void	 vis_show_settings(struct buf *);

/* timeline.c */
void	 timeline_gen(struct buf *, int engine);

/* metrics.c */
void	 metrics_gen(struct buf *);
void	 metrics_task_ended(const struct fstask *);
void	 metrics_timers(double now);

/* waitall.c */
void	 waitall_open(struct fh *);
int	 waitall_write(struct fh *, const char *, size_t);
int	 waitall_read(struct fh *, size_t, struct buf *);
int	 waitall_ready(struct fh *);
void	 waitall_free(struct fh *);
void	 waitall_batch(struct fh *);
void	 waitall_add(struct fh *, int id);

#endif /* IPPFS_VIS_H */
