/*
 * hubd.h - private structures and prototypes of hubd, the controller.
 *
 * hubd is one process with one event loop (hubd.c) that owns every
 * ZeroMQ socket of the controller side of ipyparallel 7.1's protocol:
 * the registration/query ROUTER, the notification PUB, the mux, control,
 * task and broadcast relays, iopub, and the heartbeat.  Where ipcontroller
 * runs nine processes joined by a monitor channel, hubd calls functions.
 * The one exception is the task history: backends (db.h) run on a DB
 * thread (db.c; dbreply.c answers the history queries there) so that
 * disk writes never stall the loop.
 *
 * All state hangs off struct hub and is touched only by the loop thread.
 */
#ifndef HUBD_H
#define HUBD_H

#include <sys/queue.h>
#include <signal.h>
#include <stddef.h>

#include "ipp.h"
#include "db.h"

#define HUB_MAX_LEAVES	2	/* broadcast leaf ports, as ipcontroller */
#define HUB_PING_RING	8	/* recent pings whose echo counts */
#define ENGINE_ID_MAX	65535	/* highest engine id a registration may ask */

enum engine_state {
	ENGINE_INCOMING,	/* registration replied, no pong yet */
	ENGINE_REGISTERED,
	ENGINE_DEAD
};

struct task;

TAILQ_HEAD(taskq, task);

struct engine {
	TAILQ_ENTRY(engine) lru;	/* registered engines, LRU first */
	int		 id;
	char		 uuid[IPP_UUID_MAX];
	char		 host[256];	/* as the engine reported, "" unknown */
	long		 pid;		/* as reported, 0 unknown */
	enum engine_state state;
	double		 registered_at;	/* monotonic */
	double		 announced_at;	/* registration_notification sent */
	double		 last_pong;	/* monotonic send time of ping echoed */
	int		 misses;
	int		 hb_fd;		/* connection fd of its heart, or -1 */
	double		 suspect_until;	/* probing after a disconnect, or 0 */
	/* task scheduler */
	int		 load;		/* outstanding load-balanced tasks */
	/* bookkeeping for queue_request */
	struct taskq	 mux_pending;
	struct taskq	 task_pending;
	long		 ncompleted;
};

TAILQ_HEAD(engineq, engine);

enum task_queue { TQ_MUX, TQ_TASK, TQ_BCAST };
enum task_state { TS_WAITING, TS_RUNNING, TS_DONE };

/* A dependency as the task scheduler sees it (ipyparallel's Dependency). */
struct dep {
	char	**ids;
	int	 n;
	int	 all, success, failure;
};

/* A stream's output so far: appended in place, doubling (task.c). */
struct iotext {
	char		*p;		/* NULL: nothing on this stream yet */
	size_t		 len, cap;
};

/*
 * A request the hub has seen and not yet forgotten.  Mux and task
 * requests live here while pending; after completion they linger briefly
 * so late iopub output still reaches the record.
 */
struct task {
	TAILQ_ENTRY(task) q;		/* engine's pending list, or lingering */
	TAILQ_ENTRY(task) wq;		/* scheduler's waiting queue */
	char		*msg_id;	/* any length: the map key */
	enum task_queue	 queue;
	enum task_state	 state;
	struct engine	*engine;	/* where it runs, or NULL */
	/*
	 * Allocated to their length, not IPP_UUID_MAX and IPP_RID_MAX
	 * inline (380 bytes a task), and freed when the task finishes:
	 * a finished task lingers (task.c), thousands at a time.
	 */
	char		*engine_uuid;	/* where it was sent; NULL: not yet, or
					   finished */
	char		*client_rid;	/* routing id of the client; NULL: none,
					   or finished */
	size_t		 client_ridlen;
	int		 has_client;
	struct ipp_frames frames;	/* [DELIM ...] kept for dispatch/retry */
	json_t		*header;	/* request header (for error replies) */
	json_t		*reqmeta;	/* broadcast: request metadata */
	/* load-balancing */
	struct dep	 after, follow;
	char		**targets;	/* engine uuids, or NULL for any */
	int		 ntargets;
	char		**blacklist;
	int		 nblacklist;
	int		 retries;
	double		 timeout_at;	/* monotonic, 0 none */
	int		 waiting;	/* in the scheduler's queue */
	unsigned long	 seq;		/* submission order */
	/* output collected from iopub until the record is final */
	json_t		*io;		/* {error, execute_*} fields */
	struct iotext	 out[2];	/* stdout, stderr */
	int		 io_late;	/* out grew after the record was final */
	double		 linger_until;
};

struct bcast;

struct hub_config {
	char		 profile[256];
	char		 profile_dir[1024];
	char		 cluster_id[128];
	char		 ip[256];
	char		 transport[16];
	char		 location[256];
	char		 ssh[256];
	char		 enginessh[256];
	char		 scheme[32];
	char		 db[16];	/* sqlite memory none */
	char		 db_path[1024];
	char		 db_table[128];	/* SQLite table, "": hubd_tasks */
	int		 ports[32];	/* --ports pool */
	int		 nports;
	int		 ping_ms;
	int		 max_misses;
	int		 hwm;
	int		 reuse;
	int		 restore;
	int		 curve;
	int		 log_level;
	int		 log_to_file;
	long		 record_limit;
	long		 db_backlog;	/* DB ops waiting that hold intake, 0 never */
	long long	 size_limit;
	double		 registration_timeout;
};

struct sched_ops;

/* Connection replies awaiting a notification subscriber (notify.c). */
#define NOTIFY_REPLIES	256
struct notify_replies {
	double		 t[NOTIFY_REPLIES];	/* monotonic times, FIFO */
	int		 head, count;
};

struct hub {
	struct hub_config cfg;
	struct ipp_profile prof;
	struct ipp_session sess;
	struct ipp_conninfo ci;		/* client file; shared fields */
	struct ipp_conninfo eports;	/* engine-side ports */
	void		*zctx;
	char		 curve_public[41], curve_secret[41];	/* Z85 */
	/* sockets */
	void		*reg;		/* ROUTER: registration + queries */
	void		*notif;		/* PUB */
	void		*mux_c, *mux_e;
	void		*ctl_c, *ctl_e;
	void		*task_c, *task_e;
	void		*bc_c, *bc_e[HUB_MAX_LEAVES];
	void		*iopub_e, *iopub_c;
	void		*hb_ping, *hb_pong;
	void		*hb_mon;	/* monitor of hb_pong: disconnects */
	void		*db_pair;	/* results from the DB thread */
	struct ipp_zpoll zp;		/* the loop's poll set (hubd.c) */
	struct ipp_msg	 rx;		/* the relays' receive buffer */
	struct ipp_msg	 tx;		/* broadcast's per-engine copy */
	char		 client_file[1100], engine_file[1100];
	char		 engines_file[1100];
	char		 digests_file[1100];	/* replay history, see main() */
	int		 lock_fd;	/* flock on the profile, see lock_profile() */
	int		 key_reused;	/* --reuse found the old key */
	/* engines */
	struct ipp_map	*engines_by_uuid;
	struct engine	**engines_by_id;	/* index = id, NULL gaps */
	int		 nengine_slots;
	struct engineq	 lru;		/* registered, least recently used first */
	int		 nregistered;
	int		 nincoming;
	int		 next_id;
	struct ipp_map	*restored;	/* uuid -> id from engines.json */
	int		 engines_dirty;
	double		 last_save;	/* engines.json written */
	struct engine	**by_fd;	/* heart connection fd -> engine */
	int		 nby_fd;
	/* heartbeat */
	double		 t0;
	double		 next_beat;
	double		 last_beat;
	char		 pings[HUB_PING_RING][32];
	double		 ping_t[HUB_PING_RING];
	int		 ping_head;
	double		 next_fast_ping;
	int		 nsuspects;	/* engines being probed */
	double		 probe_due;	/* when to send the probe ping, or 0 */
	/* tasks */
	struct ipp_map	*tasks;		/* msg_id -> struct task */
	struct taskq	 waiting;	/* scheduler FIFO */
	int		 nwaiting;
	struct taskq	 lingering;
	struct idtab	*outcome;	/* every load-balanced msg_id: see dep.c */
	const struct sched_ops *sched;
	int		 rescan;	/* an engine dropped below HWM */
	struct ipp_map	*graph;		/* dep msg_id -> struct waiters */
	struct engine	**cand;		/* maybe_run's scratch: candidates */
	int		*loads;		/* and their loads, ncand_cap long */
	int		 ncand_cap;
	unsigned long	 seq;
	double		 next_timeout;
	int		 ntimeouts;	/* waiting tasks with a timeout */
	struct ipp_map	*bcasts;	/* original msg_id -> struct bcast */
	struct notify_replies replies;	/* notify.c */
	/* DB */
	struct hubdb	*db;
	/* what peers send that hubd drops, logged at a bounded rate */
	struct ipp_lograte badin;
	/* subscribers too slow for PUB_HWM: see hub_send() */
	long		 pub_full;
	long		 db_holds;	/* client intake held for the DB (hubd.c) */
	struct ipp_lograte slowsub;
	json_t		*lost;		/* session -> replies: recover.c */
	uint64_t	*ring;		/* delivery ring: recover.c */
	unsigned long	 ring_next;
	/* life */
	volatile sig_atomic_t quit;
	double		 shutdown_at;	/* monotonic, 0 none */
	double		 started;
};

/* idtab.c: msg_id -> small integer, compact, never shrinks */
struct idtab;
struct idtab *idtab_new(void);
void	 idtab_destroy(struct idtab **);
uint64_t idtab_get(const struct idtab *, const char *id);	/* 0: absent */
int	 idtab_set(struct idtab *, const char *id, uint64_t v);
size_t	 idtab_count(const struct idtab *);
size_t	 idtab_bytes(const struct idtab *);	/* its slot array */

/* hubd.c */
/* Report input from a peer that is dropped or refused (rate-limited). */
#define hub_badinput(h, ...)	log_rate_warnx(&(h)->badin, __VA_ARGS__)
int	 hub_send(struct hub *, void *sock, struct ipp_frames *);
/* Every send on a socket the loop polls must say so (see run_loop). */
void	 hub_sent(struct hub *, void *sock);
void	 hub_notify(struct hub *, const char *msg_type, json_t *content_new);
/* Reply on a ROUTER: [rid] + message of msg_type with parent. */
void	 hub_reply(struct hub *, void *sock, const void *rid, size_t ridlen,
	    const char *msg_type, const json_t *parent, json_t *content_new,
	    const struct ipp_buf *bufs, int nbufs);

/* options.c */
void	 hub_config_defaults(struct hub_config *);
void	 hub_parse_args(struct hub_config *, int argc, char **argv);

/* registry.c */
void	 registry_init(struct hub *);
void	 registry_release(struct hub *);
void	 registry_register(struct hub *, const void *rid, size_t ridlen,
	    struct ipp_msg *);
void	 registry_unregister(struct hub *, struct engine *, const char *why);
/* Socket handlers return 1 after handling a message, 0 when none is left. */
int	 registry_on_pong(struct hub *, int);
int	 registry_on_monitor_event(struct hub *, int);
void	 registry_tick(struct hub *, double now);
double	 registry_next_wake(struct hub *);
struct engine *engine_by_uuid(struct hub *, const char *);
struct engine *engine_by_id(struct hub *, long);
void	 registry_save_if_dirty(struct hub *);
json_t	*registry_engines_json(struct hub *, int info);
json_t	*registry_engine_info(const struct engine *);

/* notify.c */
void	 notify_init(struct hub *);
void	 notify_connection_replied(struct hub *);
void	 notify_registered(struct hub *, struct engine *);
int	 notify_on_subscribe(struct hub *, int);

/* relay.c */
int	 hub_recv(struct hub *, void *sock, struct ipp_msg *, const char *what,
	    int nids);
/*
 * What the task path reads of a message (hub_recv_scan): its msg_id and
 * msg_type, its parent's msg_id ("" when none) and the values of the
 * metadata keys asked for.  When the scanner cannot vouch for a part the
 * message is parsed instead (parsed = 1, m's JSON set) and the strings
 * come from the trees; md[] is then unset and m->metadata is the truth.
 */
#define SCAN_MD_MAX	8
struct scanned {
	int		 parsed;
	const char	*msg_id, *msg_type, *parent_id;
	char		 idbuf[256], typebuf[64], pidbuf[256];
	struct ipp_jval	 md[SCAN_MD_MAX];
};
/* hub_recv, reading m with the scanner; mdkeys: nmd (<= SCAN_MD_MAX). */
int	 hub_recv_scan(struct hub *, void *sock, struct ipp_msg *,
	    const char *what, int nids, const char *const *mdkeys, int nmd,
	    struct scanned *);
/* The task a reply's parent msg_id names, unless already done. */
struct task *reply_task_id(struct hub *, const char *parent_id);
struct task *reply_task(struct hub *, struct ipp_msg *);
/* The engine routing frame i of fr names, or NULL. */
struct engine *engine_by_frame(struct hub *, const struct ipp_frames *, int i);
int	 relay_mux_client(struct hub *, int);
int	 relay_mux_engine(struct hub *, int);
int	 relay_ctl_client(struct hub *, int);
int	 relay_ctl_engine(struct hub *, int);
int	 relay_iopub(struct hub *, int);

/* task.c */
struct task *task_new(struct hub *, const char *msg_id, enum task_queue);
void	 task_free(struct task *);
/* Take the client routing id from frame 0 of m. */
void	 task_set_client(struct task *, const struct ipp_msg *);
void	 task_set_rid(struct task *, const void *rid, size_t len);
void	 task_set_engine_uuid(struct task *, const char *uuid);
void	 task_forget(struct hub *, struct task *);
struct task *task_find(struct hub *, const char *msg_id);
json_t	*task_record_fields(struct ipp_msg *, enum task_queue);
void	 task_complete(struct hub *, struct task *, struct ipp_msg *reply,
	    int delivered);
void	 task_fail_engine(struct hub *, struct engine *);
/* Put the record of a new request into the DB, copying its buffers. */
void	 task_record_new(struct hub *, struct ipp_msg *, const char *msg_id,
	    enum task_queue, const char *engine_uuid);
/*
 * Part i (0 header ... 2 metadata) of a scanned request, parsed from the
 * frames t keeps from its delimiter on (new), or NULL when t keeps fewer.
 */
json_t	*task_request_part(const struct task *, int i);
void	 task_fabricate_reply(struct hub *, struct task *, json_t *content_new,
	    json_t *metadata_new, int to_client);
void	 task_tick(struct hub *, double now);
double	 task_next_wake(struct hub *);
void	 task_iopub(struct hub *, struct task *, const char *type,
	    json_t *content);
/*
 * A stream message's scanned text, appended to t's stdout or stderr
 * (other names are ignored): -1 EINVAL when the text holds a NUL, which
 * task_iopub takes from the parsed content instead.
 */
int	 task_iopub_stream(struct hub *, struct task *, const char *name,
	    const struct ipp_jval *text);
void	 task_iopub_status(struct hub *, const char *parent_id,
	    const char *state);

/*
 * A load-balancing scheme: given the loads of the engines a task may run
 * on, in least-recently-used order, pick an index.  One file per scheme
 * (sched_*.c); ipyparallel's TaskScheduler schemes.
 */
struct sched_ops {
	const char	*name;
	int		 (*choose)(const int *loads, int n);
	int		 pure;		/* no HWM, dependencies or targets */
};

extern const struct sched_ops sched_leastload_ops, sched_lru_ops,
    sched_plainrandom_ops, sched_twobin_ops, sched_weighted_ops,
    sched_pure_ops;
/* Uniform random integer in [0, n). */
int	 sched_random(int n);
/* The scheme of that name (sched_schemes.c), or NULL. */
const struct sched_ops *sched_lookup(const char *name);

/*
 * dep.c: what the scheduler remembers of each msg_id (one word in an
 * idtab: these bits, and the engine it finished on above OC_SHIFT) and
 * ipyparallel's Dependency rules over it.  engine -1 means anywhere.
 */
#define OC_SEEN		1
#define OC_OK		2
#define OC_FAIL		4
#define OC_SHIFT	3
uint64_t outcome_get(const struct idtab *, const char *msg_id);
int	 outcome_ended(const struct idtab *, const char *msg_id);
long	 outcome_engine(uint64_t);
void	 outcome_seen(struct idtab *, const char *msg_id);
void	 outcome_done(struct idtab *, const char *msg_id, int ok, long engine);
int	 dep_parse(struct dep *, json_t *, char *why, size_t whylen);
int	 dep_counts(const struct idtab *, const struct dep *, const char *id,
	    long engine);
int	 dep_met(const struct idtab *, const struct dep *, long engine);
int	 dep_unreachable(const struct idtab *, const struct dep *);
void	 dep_collapse(const struct idtab *, struct dep *);
void	 dep_release(struct dep *);

/* sched.c */
void	 sched_init(struct hub *);
void	 sched_submit(struct hub *, struct ipp_msg *, int has_client,
	    const struct scanned *);
int	 sched_engine_reply(struct hub *, int);
void	 sched_engine_added(struct hub *, struct engine *);
void	 sched_engine_removed(struct hub *, struct engine *);
void	 sched_run_queue(struct hub *);
void	 sched_engine_lost_task(struct hub *, struct engine *, struct task *);
void	 sched_check_timeouts(struct hub *, double now);
double	 sched_next_timeout(struct hub *);
int	 relay_task_client(struct hub *, int);
/* Request types that an engine answers and that may be queued. */
int	 is_task_type(const char *msg_type);

/* bcast.c */
int	 bcast_client(struct hub *, int);
int	 bcast_engine(struct hub *, int leaf);
void	 bcast_engine_lost(struct hub *, struct task *, const char *uuid);

/* query.c */
int	 query_dispatch(struct hub *, int);
int	 query_db_result(struct hub *, int);
void	 query_resubmit(struct hub *, const void *rid, size_t ridlen,
	    const json_t *parent, json_t *records, struct db_bufs *bufs);

/* recover.c: tasks a killed hubd left unfinished */
int	 recover_lost_tasks(struct hub *, const struct db_ops *,
	    const struct db_config *, char *why, size_t whylen);
/* A verified client message on sock: send its session's lost replies. */
void	 recover_deliver(struct hub *, void *sock, struct ipp_msg *);
/* A reply to msg_id is about to go to its client. */
void	 recover_delivered(struct hub *, const char *msg_id);
void	 recover_close(struct hub *);

/* dbraw.c: a record's fields from its request's or reply's frames */
struct db_raw;
json_t	*record_request_fields(json_t *header, json_t *metadata,
	    json_t *content, enum task_queue);
json_t	*record_result_fields(json_t *header, json_t *metadata,
	    json_t *content, const char *received, const char *engine_uuid,
	    const json_t *io);
/* Loop side: share the frames of a verified m (request or reply). */
struct db_raw *db_raw_request(const struct ipp_msg *, enum task_queue,
	    const char *engine_uuid);
struct db_raw *db_raw_result(const struct ipp_msg *reply,
	    const char *engine_uuid, const json_t *io);
/* Either side: parse and build (NULL/EBADMSG with why). */
json_t	*db_raw_fields(struct db_raw *, char *why, size_t whylen);
/*
 * For a backend that takes texts: the scalar fields (a new *fields) and
 * the three parts appended to tx as texts; -1 when the scanner cannot
 * read them (use db_raw_fields).  The texts live as long as r.
 */
int	 db_raw_scan(struct db_raw *, json_t **fields, struct db_texts *tx);
void	 db_raw_free(struct db_raw *);

/* db.c: the DB thread (its private half: dbthread.h) */
struct hubdb;
struct hubdb *hubdb_open(struct hub *, const struct db_ops *,
	    const struct db_config *, char *why, size_t whylen);
void	 hubdb_close(struct hubdb **);
void	 hubdb_put(struct hubdb *, struct db_record *rec_moved);
void	 hubdb_update(struct hubdb *, const char *msg_id, json_t *fields_new,
	    struct db_bufs *rbufs_moved, int fetched);
/*
 * The same from raw frames (dbraw.c), for a message that was scanned
 * and not parsed: the DB thread builds the fields.  raw and the buffers
 * are taken.
 */
void	 hubdb_put_raw(struct hubdb *, const char *msg_id,
	    struct db_raw *raw_moved, struct db_bufs *bufs_moved);
void	 hubdb_update_raw(struct hubdb *, const char *msg_id,
	    struct db_raw *res_moved, struct db_bufs *rbufs_moved,
	    int fetched);
/* Hand a whole query to the DB thread; the reply is sent from the loop. */
void	 hubdb_query(struct hubdb *, const void *rid, size_t ridlen,
	    struct ipp_msg *req, json_t *extra_new);
void	*hubdb_socket(struct hubdb *);
/* 1 when the history keeps nothing (NoDB): writes need not be built. */
int	 hubdb_forgets(const struct hubdb *);
/* Hand queued writes to the DB thread; the loop calls it by the time
 * hubdb_next_flush() names (monotonic). */
void	 hubdb_flush(struct hubdb *);
double	 hubdb_next_flush(struct hubdb *);
long	 hubdb_backlog(struct hubdb *);	/* writes and queries not yet taken up */
void	 hubdb_stats(struct hubdb *, long *records, long long *bytes);

#endif /* HUBD_H */
