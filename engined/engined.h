/*
 * engined.h - private structures of engined, the engine.
 *
 * Two threads.  The main thread (engined.c) is plain C: it registers,
 * answers heartbeats and serves the control channel, so a long
 * computation can never make the engine look dead and abort, clear,
 * shutdown and interrupt always get through (control.c).  It never
 * touches Python.  The Python thread (pyexec.c) initialises the embedded
 * interpreter (so it is Python's "main thread" and receives SIGINT as
 * KeyboardInterrupt), provides the _engined module engine.py writes
 * output through, and owns the shell socket once the interpreter is up:
 * it receives each request, runs it and sends its reply and its iopub
 * messages itself (pyshell.c), so a request costs two hand-offs between
 * threads (libzmq's I/O thread -> Python thread -> I/O thread) instead
 * of four through the main thread.  What a request does is pyreq.c's;
 * message buffers to and from Python are pybuf.c's.  Every message is
 * built by libipp (ipp_msg_build_text, from JSON text).
 *
 * Sharing, and the locks that make each libzmq socket single-threaded
 * at a time:
 *   - shell: the main thread's until the interpreter is ready (it only
 *     polls it then, to raise the Python thread's priority when a request
 *     waits), then the Python thread's alone (JOB_SHELL_OWN), also after a
 *     re-registration makes a new one.
 *   - iopub: both threads publish, each send (and the busy/execute_input
 *     announcement of the running request) under P.iomtx, which also
 *     guards P.cur_job, so output the main thread streams while code runs
 *     and what the Python thread sends keep their order.
 *   - control, the heart and registration: the main thread's.  Control
 *     requests that need Python (clear) become jobs; their replies come
 *     back as struct out through P.outs and an eventfd (py_fd), as does
 *     "the interpreter is ready".
 *   - main -> Python: jobs (startup code, clear, shell ownership, quit) on
 *     P.jobs, msg_ids to abort in P.aborted and "abort everything waiting"
 *     (P.abort_all), all under P.qmtx, with an eventfd (P.wake_fd) that the
 *     Python thread polls together with the shell socket.
 * Busy and execute_input of a shell request wait to go out with the first
 * thing that follows them (pyshell.c, py_announce), so a short request's
 * messages leave in one burst.  While a request runs longer than
 * STREAM_EVERY ms, a timer the Python thread arms at each request's start
 * (P.stream_fd, a timerfd; re-arming costs no wake-up) wakes the main
 * thread, which then streams the request's output every STREAM_EVERY ms
 * until it ends.  A request that ends sooner never wakes the main thread.
 *
 * State: the main thread's hangs off struct eng, made in main() and
 * passed down; the Python thread's is one documented singleton, P
 * (struct pythread below, defined in pyexec.c; CPython calls our
 * functions without a context).  Nothing else is mutable at file level
 * (tests/t0140-static-state.sh).
 */
#ifndef ENGINED_H
#define ENGINED_H

#define STREAM_EVERY	50	/* ms between output flushes while busy */

#include <pthread.h>
#include <signal.h>
#include <sys/queue.h>

#include "ipp.h"

enum job_kind {
	JOB_SHELL,		/* execute_request, apply_request, ... */
	JOB_CLEAR,		/* control clear_request */
	JOB_STARTUP,		/* --startup-script / --startup-command */
	JOB_SHELL_OWN,		/* the shell socket (sock) is the thread's now */
	JOB_QUIT
};

/* What the Python thread sends back to the main thread. */
enum out_kind {
	OUT_CONTROL,		/* the reply, for the control socket */
	OUT_DONE		/* ready (job NULL), or JOB_QUIT done */
};

/* What a JOB_SHELL request is, decided once when it starts. */
enum shell_kind {
	SH_OTHER,		/* answered NotImplementedError (or not at all) */
	SH_EXECUTE,
	SH_DATA,		/* execute_request with metadata.ipp_data */
	SH_APPLY
};

struct job {
	TAILQ_ENTRY(job) q;		/* P.jobs */
	enum job_kind	 kind;
	enum shell_kind	 what;
	struct ipp_msg	 req;		/* decoded request (ids included) */
	char		*parent;	/* req.header as JSON text, made once */
	int		 exec_count;	/* the execution_count it runs under */
	int		 silent;
	char		*input;		/* execute_input content, to send */
	int		 announced;	/* busy (and input) sent; P.iomtx */
	double		 started;	/* monotonic, when it started */
	int		 failed;	/* set by python: status error */
	int		 stop_on_error;
	char		*text;		/* JOB_STARTUP: code or file name */
	int		 is_file;
	void		*sock;		/* JOB_SHELL_OWN: the shell socket */
};

struct out {
	TAILQ_ENTRY(out) q;
	enum out_kind	 kind;
	struct ipp_frames fr;
	struct job	*job;		/* OUT_DONE: JOB_QUIT's, or NULL */
};

TAILQ_HEAD(jobq, job);
TAILQ_HEAD(outq, out);

struct engine_config {
	char	 file[1024];		/* ipcontroller-engine.json */
	char	 profile[256];
	char	 profile_dir[1024];
	char	 cluster_id[128];
	char	 work_dir[1024];
	char	 startup_script[1024];
	char	 startup_command[4096];
	char	 mpi[32];
	char	 mpi_init[4096];	/* "": the default MPI start-up code */
	char	 sshserver[256];	/* "": the connection file's "ssh" */
	char	 sshkey[1024];
	int	 log_level;
	int	 log_to_file;
	int	 id;			/* requested id, -1 none */
	double	 timeout;		/* registration reply wait */
	double	 wait_for_file;		/* connection file wait */
	int	 max_reconnects;	/* re-registrations, -1 forever */
	int	 hb_misses;		/* missed pings before "controller gone" */
};

struct eng {
	struct engine_config cfg;
	struct ipp_conninfo ci;
	struct ipp_session sess;
	struct ipp_tunnel tun;		/* n == 0: the controller is direct */
	char		 uuid[64];
	int		 id;
	int		 hb_period;	/* ms, from registration */
	void		*zctx;
	/* shell: the main thread's until handed over (shell_given) */
	void		*reg, *shell, *control, *iopub, *hb_sub, *hb_dealer;
	int		 shell_given;	/* the Python thread owns the shell */
	int		 py_fd;		/* eventfd: the Python thread posted */
	pthread_t	 py_thread;
	int		 py_launched;	/* the thread exists */
	int		 py_hurried;	/* at normal priority (py_hurry) */
	int		 py_ready;
	char		 py_version[32];
	char		 md_engine[128];	/* {"engine":uuid} as JSON text */
	int		 registered;
	double		 last_ping;	/* monotonic */
	int		 reconnects;
	volatile sig_atomic_t quit;
	int		 exit_status;
};

/* engined.c */
void	 eng_topic(struct eng *, const char *kind, char *buf, size_t len);
/* The signals that go to the Python thread. */
void	 engined_user_signals(sigset_t *);

/* pyexec.c: the Python thread, seen from the main thread */
int	 py_start(struct eng *);
int	 py_launch(struct eng *);
void	 py_hurry(struct eng *);
void	 py_submit(struct eng *, struct job *);
void	 py_give_shell(struct eng *, void *sock);
void	 py_abort(struct eng *, const json_t *msg_ids, const char *date);
void	 py_take(struct eng *, struct outq *);
void	 py_interrupt(struct eng *);
void	 py_stop(struct eng *);
int	 py_stream_fd(struct eng *);
void	 py_iopub_set(struct eng *, void *sock);
/* Main thread: stream output the running code wrote since last time. */
void	 pyexec_flush(struct eng *);
/* Either thread: one message on iopub, in turn with the other thread. */
void	 py_iopub_send(struct ipp_frames *);
/* Main thread: the running request's busy (and input) go out now. */
void	 py_announce(struct eng *);

/*
 * The Python thread's private part, for the files that include Python.h
 * (pyexec.c, pyshell.c, pyreq.c, pybuf.c).
 */
#ifdef Py_PYTHON_H
/*
 * The Python thread's state: one documented singleton, defined in
 * pyexec.c, since CPython calls _engined's functions (write, publish...)
 * with no context of ours.  Each shared field says its mutex; the rest is
 * touched by the Python thread only.
 */
struct pythread {
	struct eng	*E;		/* this thread's view of the engine */
	struct ipp_session psess;	/* with its own replay history */
	PyObject	*mod;		/* engine.py's namespace */
	PyObject	*jsonmod;	/* Python's json, for user_expressions */
	void		*shell;		/* the shell socket, once given */
	int		 exec_count;	/* execute_requests counted so far */
	int		 wake_fd;	/* eventfd: main -> Python, P.jobs etc. */
	int		 stream_fd;	/* timerfd: a request runs long */
	/* under qmtx: main -> python, python -> main */
	pthread_mutex_t	 qmtx;
	struct jobq	 jobs;
	struct ipp_map	*aborted;	/* msg_ids to answer "aborted" */
	int		 abort_all;	/* abort what waits on shell */
	char		 abort_until[64]; /* ...sent no later than this */
	int		 abandoned;	/* main gave up on us at exit: no shell */
	struct outq	 outs;
	int		 outs_woken;	/* py_fd written since the last py_take */
	int		 idle;		/* the thread is at SCHED_IDLE */
	int		 hurried;	/* a request waits: no SCHED_IDLE */
	/* under iomtx: the iopub socket's use, and the running job */
	pthread_mutex_t	 iomtx;
	struct job	*cur_job;	/* the job running now */
	/* output shared with the main thread, index 1 stdout, 2 stderr */
	pthread_mutex_t	 outmtx;
	char		*obuf[3];
	size_t		 olen[3], ocap[3];
};
extern struct pythread P;

/* pyexec.c: the Python thread's outputs */
void	 py_post(enum out_kind, struct ipp_frames *, struct job *);
void	 py_pub(const char *kind, const char *type, const char *parent,
	    const char *md, const char *content);
void	 py_output(const char *parent);
void	 py_announce_locked(struct ipp_session *, struct job *);
void	 py_pub_locked(struct ipp_session *, const char *kind,
	    const char *type, const char *parent, const char *md,
	    const char *content);
void	 py_flush_locked(struct ipp_session *, const char *parent);

/* pyshell.c: the Python thread's loop and the shell socket */
void	 py_serve(void);
void	 py_reply(struct job *, struct ipp_frames *);
void	 py_reply_build(struct job *, json_t *content_new, json_t *md_new,
	    struct ipp_frames *bufs);

/* pyreq.c: run one job (the Python thread, GIL held) */
void	 py_run_job(struct job *);
void	 py_drop_pending_interrupt(void);
void	 job_free(struct job *);

/* pybuf.c: message buffers to and from Python (the Python thread) */
int	 pybuf_init(PyObject *module);
PyObject *pybuf_request(const struct ipp_frames *, int);
int	 pybuf_add(struct ipp_frames *, PyObject *);
#endif

/* control.c */
int	 control_dispatch(struct eng *);
void	 publish_status(struct eng *, const json_t *parent, const char *state);
json_t	*eng_metadata(struct eng *, const json_t *req_metadata);
char	*eng_dump(json_t *);
void	 eng_iopub(struct eng *, const char *kind, const char *type,
	    const char *parent, const char *md, const char *content);

#endif /* ENGINED_H */
