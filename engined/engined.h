/*
 * engined.h - private structures of engined, the engine.
 *
 * Two threads.  The main thread (engined.c) is plain C: it owns every
 * ZeroMQ socket that faces the controller, answers heartbeats, serves
 * the control channel, keeps the queue of shell requests and publishes
 * on iopub.  It never touches Python, so a long computation can never
 * make the engine look dead.  The Python thread (pyexec.c) initialises
 * the embedded interpreter (so it is Python's "main thread" and receives
 * SIGINT as KeyboardInterrupt), provides the _engined module engine.py
 * writes output through, and runs one request at a time: what a request
 * does (execute, apply, the data path, clear) and the reply it gets are
 * pyreq.c's; message buffers to and from Python are pybuf.c's.
 * control.c is the main thread's side of the requests: the control
 * channel, the shell queue and statuses.  Every message is built by
 * libipp (ipp_msg_build_text, from JSON text).
 *
 * The two pass pointers to struct job and struct out through two queues
 * under one mutex (pyexec.c): main -> python "run this" (a condition
 * variable wakes the Python thread), python -> main "send these frames"
 * (an eventfd in the main thread's poll set wakes it).  A wake-up costs
 * a context switch on each side, so the Python thread wakes the main
 * thread only when something must go out now: at the end of a job, or
 * for display output.  The status and execute_input messages that frame
 * a shell request are the main thread's (it knows all they carry when it
 * hands the job over), and busy and execute_input wait to go out with
 * the first thing that follows them (control.c, shell_announce).
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
	JOB_QUIT
};

/* What the Python thread sends back. */
enum out_kind {
	OUT_IOPUB,		/* frames for the iopub socket */
	OUT_SHELL,		/* the reply, for the shell socket */
	OUT_CONTROL,		/* the reply, for the control socket */
	OUT_DONE		/* job finished; job pointer is returned */
};

/* What a JOB_SHELL request is, decided once by the main thread. */
enum shell_kind {
	SH_OTHER,		/* answered NotImplementedError (or not at all) */
	SH_EXECUTE,
	SH_DATA,		/* execute_request with metadata.ipp_data */
	SH_APPLY
};

struct job {
	TAILQ_ENTRY(job) q;		/* e->queue, then the Python queue */
	enum job_kind	 kind;
	enum shell_kind	 what;
	struct ipp_msg	 req;		/* decoded request (ids included) */
	char		*parent;	/* req.header as JSON text, made once */
	int		 exec_count;	/* the execution_count it runs under */
	int		 silent;
	char		*input;		/* execute_input content, to send */
	int		 announced;	/* busy (and input) sent */
	double		 started;	/* monotonic, when handed over */
	int		 failed;	/* set by python: status error */
	int		 stop_on_error;
	char		*text;		/* JOB_STARTUP: code or file name */
	int		 is_file;
};

struct out {
	TAILQ_ENTRY(out) q;
	enum out_kind	 kind;
	struct ipp_frames fr;
	struct job	*job;		/* OUT_DONE */
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
	void		*reg, *shell, *control, *iopub, *hb_sub, *hb_dealer;
	int		 py_fd;		/* eventfd: the Python thread posted */
	pthread_t	 py_thread;
	int		 py_launched;	/* the thread exists */
	int		 py_hurried;	/* at normal priority (py_hurry) */
	int		 py_ready;
	char		 py_version[32];
	char		 md_engine[128];	/* {"engine":uuid} as JSON text */
	int		 exec_count;	/* execute_requests counted so far */
	struct jobq	 queue;		/* shell requests waiting */
	struct job	*running;
	struct ipp_map	*aborted;	/* msg_ids to answer "aborted" */
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

/* pyexec.c: the Python thread */
int	 py_start(struct eng *);
int	 py_launch(struct eng *);
void	 py_hurry(struct eng *);
void	 py_submit(struct eng *, struct job *);
void	 py_take(struct eng *, struct outq *);
void	 py_interrupt(struct eng *);
void	 py_stop(struct eng *);
/* Main thread: stream output the running code wrote since last time. */
void	 pyexec_flush(struct eng *);

/*
 * The Python thread's private part, for the files that include Python.h
 * (pyexec.c, pyreq.c, pybuf.c).
 */
#ifdef Py_PYTHON_H
/*
 * The Python thread's state: one documented singleton, defined in
 * pyexec.c, since CPython calls _engined's functions (write, publish...)
 * with no context of ours.  The queues and output buffers are shared
 * with the main thread under their mutexes; the rest is touched by the
 * Python thread only.
 */
struct pythread {
	struct eng	*E;		/* this thread's view of the engine */
	struct ipp_session psess;
	PyObject	*mod;		/* engine.py's namespace */
	PyObject	*jsonmod;	/* Python's json, for user_expressions */
	struct job	*cur_job;	/* the request running now */
	/* the two queues, main -> python (jobs), python -> main (outs) */
	pthread_mutex_t	 qmtx;
	pthread_cond_t	 jobcv;
	struct jobq	 jobs;
	struct outq	 outs;
	int		 outs_woken;	/* py_fd written since the last py_take */
	int		 idle;		/* the thread is at SCHED_IDLE */
	int		 hurried;	/* a request waits: no SCHED_IDLE */
	/* output shared with the main thread, index 1 stdout, 2 stderr */
	pthread_mutex_t	 outmtx;
	char		*obuf[3];
	size_t		 olen[3], ocap[3];
};
extern struct pythread P;

/* pyexec.c: the Python thread's outputs to the main thread */
void	 py_post(enum out_kind, struct ipp_frames *, struct job *, int wake);
void	 py_pub(struct ipp_session *, void *direct, const char *kind,
	    const char *type, const char *parent, const char *md,
	    const char *content, int wake);
void	 py_flush_streams(struct ipp_session *, void *direct,
	    const char *parent);

/* pyreq.c: run one job (the Python thread, GIL held) */
void	 py_run_job(struct job *);

/* pybuf.c: message buffers to and from Python (the Python thread) */
int	 pybuf_init(PyObject *module);
PyObject *pybuf_request(const struct ipp_frames *, int);
int	 pybuf_add(struct ipp_frames *, PyObject *);
#endif

/* control.c */
int	 control_dispatch(struct eng *);
void	 shell_enqueue(struct eng *, struct job *);
void	 shell_next(struct eng *);
void	 shell_done(struct eng *, struct job *);
void	 shell_announce(struct eng *);
void	 send_aborted(struct eng *, void *sock, struct ipp_msg *);
void	 publish_status(struct eng *, const json_t *parent, const char *state);
json_t	*eng_metadata(struct eng *, const json_t *req_metadata);
char	*eng_dump(json_t *);
void	 eng_iopub(struct eng *, const char *kind, const char *type,
	    const char *parent, const char *md, const char *content);

#endif /* ENGINED_H */
