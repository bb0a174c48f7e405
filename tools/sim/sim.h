/*
 * sim.h - the state of tools/simengines (struct sim, one simulated engine,
 * its heart) and the functions its pieces share.  simengines.c holds the
 * options, set-up and the poll loop; tools/sim/heart.c the hearts (raw
 * ZMTP over TCP) and ping echo; tools/sim/shell.c the shells answering
 * requests; tools/sim/reg.c registration and the controller's
 * notifications.  These files are linked into simengines only.
 */
#ifndef TOOLS_SIM_H
#define TOOLS_SIM_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>

#include "ipp.h"

#define ZMTP_GREETING	64	/* bytes of a ZMTP 3 greeting */
#define HEART_OUTMAX	8192	/* unsent pongs beyond this are dropped */
#define MAX_REGSOCKS	64
#define EPOLL_BATCH	512
#define FD_RESERVE	64	/* descriptors kept for zmq, files, stdio */

#ifndef MIN
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#endif

enum eng_state {
	ES_NEW,			/* not asked yet */
	ES_ASKED,		/* registration_request sent */
	ES_REPLIED,		/* has an id, heart and shell connecting */
	ES_REGISTERED,		/* the controller announced it */
	ES_GONE,		/* unregistered or heart connection lost */
	ES_FAILED		/* registration refused */
};

/*
 * A heart: one TCP connection to hb_pong speaking ZMTP as a DEALER.
 * Data may only follow once the controller's READY has arrived: libzmq
 * takes a data frame that reaches it before its own READY went out for
 * a malformed handshake command and drops the connection.  Until then
 * only the handshake (the first hslen bytes of out) is written.
 */
struct heart {
	int		 fd;		/* -1: none */
	int		 connected;	/* the TCP connect finished */
	int		 ready;		/* the controller's READY arrived */
	size_t		 nread;
	unsigned char	 hin[ZMTP_GREETING + 9]; /* greeting, command head */
	unsigned char	*out;		/* bytes not yet written */
	size_t		 outlen;
	size_t		 outcap;
	size_t		 hslen;		/* handshake bytes at the head of out */
	int		 armed;		/* EPOLLOUT requested */
};

struct sengine {
	char		 uuid[40];
	int		 id;
	enum eng_state	 state;
	struct heart	 hb;
	void		*shell;		/* ROUTER, or NULL: heart only */
	unsigned long	 counter;	/* msg_ids of replies */
	long		 exec_count;
};

/* Engines waiting for a registration_reply on one shared DEALER. */
struct regfifo {
	int		*v;
	int		 head;
	int		 n;
	int		 cap;
};

struct sim {
	/* options */
	int		 n;
	int		 nshells;
	double		 rate;
	int		 concurrency;
	int		 maxconnect;
	int		 nreg;
	double		 report;
	double		 duration;
	double		 timeout;
	int		 verify;
	int		 quiet;
	/* controller */
	struct ipp_conninfo ci;
	struct ipp_session sess;
	struct sockaddr_storage hbaddr;
	socklen_t	 hbaddrlen;
	void		*zctx;
	void		*ping;		/* SUB to hb_ping */
	void		*notif;		/* SUB to notification, or NULL */
	void		*reg[MAX_REGSOCKS];
	struct regfifo	 regq[MAX_REGSOCKS];
	int		 nextreg;
	int		 ep;		/* epoll: hearts and shell ZMQ_FDs */
	/* engines */
	struct sengine	*e;
	struct ipp_map	*by_uuid;
	int		 next_new;
	int		 inflight;	/* asked, no reply yet */
	int		 handshaking;	/* hearts not ready yet */
	int		*toconnect;	/* replied engines waiting for a heart */
	int		 ntoconnect, tchead;
	long		 nreplied, nregistered, nfailed, nlost, nunreg;
	long		 peak;		/* most registered at once */
	long		 npending;	/* not yet registered, refused or lost */
	/* traffic */
	struct ipp_frames in, out;	/* a shell's request and reply */
	long		 pings, pongs_dropped, requests, replies, bad;
	/* time */
	double		 t_start;	/* first registration_request */
	double		 t_done;	/* last engine registered, or 0 */
	double		 t_phase;	/* end of the registration phase */
	double		 next_report;
};

/* heart.c */
int	 heart_open(struct sim *, struct sengine *);
void	 heart_close(struct sim *, struct sengine *);
void	 heart_event(struct sim *, struct sengine *, uint32_t events);
void	 engine_lost(struct sim *, struct sengine *, const char *why);
void	 engine_registered(struct sim *, struct sengine *);
void	 on_ping(struct sim *);

/* shell.c */
void	 shell_open(struct sim *, struct sengine *);
void	 shell_drain(struct sim *, struct sengine *);

/* reg.c */
void	 start_registrations(struct sim *, double now);
void	 on_reg_reply(struct sim *, int k);
void	 on_notification(struct sim *);

#endif
