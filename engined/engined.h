/*
 * engined.h - private structures of engined, the engine.
 *
 * Two threads.  The main thread (engined.c) is plain C: it owns every
 * ZeroMQ socket that faces the controller, answers heartbeats, serves
 * the control channel, keeps the queue of shell requests and publishes
 * on iopub.  It never touches Python, so a long computation can never
 * make the engine look dead.  The Python thread (pyexec.c) initialises
 * the embedded interpreter (so it is Python's "main thread" and receives
 * SIGINT as KeyboardInterrupt) and runs one request at a time.
 *
 * The two talk over an inproc PAIR socket by passing pointers to struct
 * job: main -> python "run this", python -> main "send these frames"
 * (output as it happens, then the reply and "done").
 */
#ifndef ENGINED_H
#define ENGINED_H

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

struct job {
	TAILQ_ENTRY(job) q;
	enum job_kind	 kind;
	struct ipp_msg	 req;		/* decoded request (ids included) */
	int		 failed;	/* set by python: status error */
	int		 stop_on_error;
	char		*text;		/* JOB_STARTUP: code or file name */
	int		 is_file;
};

struct out {
	enum out_kind	 kind;
	struct ipp_frames fr;
	struct job	*job;		/* OUT_DONE */
};

TAILQ_HEAD(jobq, job);

struct engine_config {
	char	 file[1024];		/* ipcontroller-engine.json */
	char	 profile[256];
	char	 profile_dir[1024];
	char	 cluster_id[128];
	char	 work_dir[1024];
	char	 startup_script[1024];
	char	 startup_command[4096];
	char	 mpi[32];
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
	char		 uuid[64];
	int		 id;
	int		 hb_period;	/* ms, from registration */
	void		*zctx;
	void		*reg, *shell, *control, *iopub, *hb_sub, *hb_dealer;
	void		*py;		/* PAIR to the Python thread */
	pthread_t	 py_thread;
	int		 py_launched;	/* the thread exists */
	int		 py_ready;
	char		 py_version[32];
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
extern struct eng *the_eng;
void	 eng_topic(struct eng *, const char *kind, char *buf, size_t len);
/* The signals that go to the Python thread. */
void	 engined_user_signals(sigset_t *);

/* pyexec.c: the Python thread */
int	 py_start(struct eng *);
int	 py_launch(struct eng *);
void	 py_interrupt(struct eng *);
void	 py_stop(struct eng *);
/* Main thread: stream output the running code wrote since last time. */
void	 pyexec_flush(struct eng *);

/* control.c */
int	 control_dispatch(struct eng *);
void	 shell_enqueue(struct eng *, struct job *);
void	 shell_next(struct eng *);
void	 shell_done(struct eng *, struct job *);
void	 send_aborted(struct eng *, void *sock, struct ipp_msg *);
void	 publish_status(struct eng *, const json_t *parent, const char *state);
json_t	*eng_metadata(struct eng *, const json_t *req_metadata);

#endif /* ENGINED_H */
