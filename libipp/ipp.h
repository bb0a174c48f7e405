/*
 * ipp.h - the shared protocol library of hubd, engined, launch and ippfs.
 *
 * libipp speaks ipyparallel 7.1's wire protocol: Jupyter messages over
 * ZeroMQ, signed with HMAC-SHA256.  It is built in three layers and the
 * daemons only ever use the top one:
 *
 *   framing (frame.c)   zmq multipart <-> struct ipp_frames: routing
 *                       identities, the "<IDS|MSG>" delimiter, part counts.
 *   codec   (codec.c)   frames <-> struct ipp_msg: signature check with
 *                       replay protection, the four JSON parts, buffers.
 *   session (session.c) keys, msg_id and date generation, message building.
 *
 * Around them: connection files (connfile.c), ssh tunnels to a
 * controller (tunnel.c), profile directories
 * (profile.c), logging (log.c), waiting for sockets with poll(2) (zpoll.c)
 * and small helpers (util.c).
 *
 * Error convention: functions return -1 or NULL with errno set and leave
 * their outputs untouched on failure.  Only the program helpers xmalloc()
 * and fatal() exit.
 * Ownership: X_init/X_release act on caller-provided storage, X_new/X_free
 * allocate; X_destroy(&p) frees and sets p to NULL.  A json_t argument whose
 * parameter name ends in "_new" is stolen, as in jansson.
 */
#ifndef IPP_H
#define IPP_H

#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <poll.h>
#include <jansson.h>
#include <zmq.h>

#define IPP_PROTOCOL_VERSION	"5.3"	/* Jupyter message spec version we send */
#define IPP_DELIM		"<IDS|MSG>"
#define IPP_DELIM_LEN		9
#define IPP_SIG_HEXLEN		64	/* hex HMAC-SHA256 */
#define IPP_MAX_IDS		16	/* routing frames we accept before the delimiter */
#define IPP_MAX_FRAMES		65536	/* bound on parts of one message */
#define IPP_RID_MAX		255	/* a ZeroMQ routing id: 1-255 bytes */
#define IPP_UUID_MAX		128	/* an engine uuid's buffer: hubd refuses
					   uuids this long, ippfs leaves them out */

/* ---------------------------------------------------------------- frame.c */

/*
 * A received or to-be-sent multipart message, kept as zmq_msg_t so that
 * large buffers are relayed without copies.
 */
struct ipp_frames {
	zmq_msg_t	*f;
	int		 n;
	int		 cap;
};

/*
 * A ZeroMQ context whose sockets give every received part its own
 * allocation.  By default libzmq hands out small parts as references
 * into its 8 KiB receive batch, and one part kept (a queued history
 * write, a pending task, a value in an engine's namespace) holds the
 * whole batch and every part decoded from it.  NULL with errno.
 */
void	*ipp_zctx_new(void);
void	 ipp_frames_init(struct ipp_frames *);
void	 ipp_frames_release(struct ipp_frames *);
/* Drop every part, keep the storage. */
void	 ipp_frames_clear(struct ipp_frames *);
/* Receive one whole multipart message; -1 with errno (EAGAIN, E2BIG...). */
int	 ipp_frames_recv(void *sock, struct ipp_frames *, int flags);
/*
 * Send parts [from, n) and then release them: after the call the frames
 * are empty whether it succeeded or not.
 */
int	 ipp_frames_send(void *sock, struct ipp_frames *, int from, int flags);
/* Append a copy of data / a reference-shared copy of a zmq_msg_t. */
int	 ipp_frames_add(struct ipp_frames *, const void *data, size_t len);
int	 ipp_frames_add_msg(struct ipp_frames *, zmq_msg_t *shared);
int	 ipp_frames_insert(struct ipp_frames *, int at, const void *, size_t);
void	 ipp_frames_remove(struct ipp_frames *, int at);
/* Swap parts a and b in place (relays swap routing identities). */
void	 ipp_frames_swap(struct ipp_frames *, int a, int b);
/* Index of the delimiter, checking that at least 5 parts follow; -1/EPROTO. */
int	 ipp_frames_delim(const struct ipp_frames *);
/*
 * trace.c: at --log-level=debug, one log line per message received or
 * sent (frames from `from` on): direction, socket, type, ids, sizes.
 * ipp_frames_recv/send call it; ipp_trace_on() says whether it prints.
 */
int	 ipp_trace_on(void);
void	 ipp_trace(const char *dir, void *sock, const struct ipp_frames *,
	    int from);

static inline const void *
ipp_frame_data(const struct ipp_frames *fr, int i)
{
	return zmq_msg_data(&fr->f[i]);
}

static inline size_t
ipp_frame_len(const struct ipp_frames *fr, int i)
{
	return zmq_msg_size(&fr->f[i]);
}

/* ---------------------------------------------------------------- zpoll.c */

/*
 * Sockets waited for with poll(2) on their ZMQ_FDs (see zpoll.c for the
 * rules).  The caller owns pfd (n entries, filled by init) and may poll
 * it together with fds of its own.  A loop turn:
 *	timeout = ipp_zpoll_idle(&zp, now) ? T : 0;	(T <= next sweep)
 *	poll(...); ipp_zpoll_clear on EINTR;
 *	for each i: if (ipp_zpoll_pending(&zp, i))
 *		ipp_zpoll_drained(&zp, i, read_until_eagain_or_batch(i));
 */
#define IPP_ZPOLL_MAX	32

struct ipp_zpoll {
	int		 n;
	void		*socks[IPP_ZPOLL_MAX];
	struct pollfd	*pfd;
	unsigned char	 ready[IPP_ZPOLL_MAX];	/* may hold messages */
	unsigned char	 sent[IPP_ZPOLL_MAX];	/* sent on since the last idle */
	double		 sweep, swept;		/* seconds; monotonic */
};

/* -1 with errno (EINVAL: n > IPP_ZPOLL_MAX; ZMQ_FD failed); sweep_ms 0: never. */
int	 ipp_zpoll_init(struct ipp_zpoll *, void *const *socks, int n,
	    struct pollfd *pfd, int sweep_ms);
/* Every send on a polled socket must be reported. */
void	 ipp_zpoll_sent(struct ipp_zpoll *, const void *sock);
/* Before sleeping: 1 when no socket is known to hold messages. */
int	 ipp_zpoll_idle(struct ipp_zpoll *, double now);
/* When the loop must wake at the latest for the next sweep (monotonic). */
double	 ipp_zpoll_next_sweep(const struct ipp_zpoll *);
/* After poll: should socket i be read?  Then report whether more may wait. */
int	 ipp_zpoll_pending(const struct ipp_zpoll *, int i);
void	 ipp_zpoll_drained(struct ipp_zpoll *, int i, int more);
/* poll failed (EINTR): forget the revents it may have left. */
void	 ipp_zpoll_clear(struct ipp_zpoll *);

/* ----------------------------------------------------------------- hmac.c */

/*
 * HMAC-SHA256 with the key's pads hashed once; any number of threads may
 * use one at the same time.  new: NULL with errno.
 */
struct ipp_hmac;
struct ipp_hmac *ipp_hmac_new(const void *key, size_t keylen);
void	 ipp_hmac_free(struct ipp_hmac **);
/* The MAC of parts[0..n) concatenated. */
void	 ipp_hmac_sha256(const struct ipp_hmac *, const void *const parts[],
	    const size_t lens[], int n, unsigned char mac[32]);

/* -------------------------------------------------------------- session.c */

struct ipp_replay;

/*
 * The signing identity of one program: the HMAC key from the connection
 * file, our session id (the engine uuid for engines) and a msg_id counter.
 */
struct ipp_session {
	unsigned char	*key;
	size_t		 keylen;
	struct ipp_hmac	*hmac;		/* the key made ready (hmac.c) */
	char		 session[64];
	char		 username[64];
	unsigned long	 counter;
	long		 pid;
	struct ipp_replay *replay;	/* NULL: no replay check */
};

/* key may be NULL/empty (then messages are unsigned and not checked). */
int	 ipp_session_init(struct ipp_session *, const char *key,
	    const char *session_id);
void	 ipp_session_release(struct ipp_session *);
/* Turn replay protection on (history of up to `cap` digests). */
int	 ipp_session_enable_replay(struct ipp_session *, size_t cap);
/*
 * The same with the history in the file `path` (created 0600, mapped), so
 * it outlives the process; keep=1 takes over the digests a previous run
 * left there (same key!), keep=0 starts empty.
 */
int	 ipp_session_enable_replay_file(struct ipp_session *, size_t cap,
	    const char *path, int keep);
/* 8 hex + '-' + 24 hex, like jupyter_client's new_id(); buf >= 34 bytes. */
void	 ipp_new_id(char *buf, size_t len);
/* Next msg_id "<session>_<pid>_<n>" into buf. */
void	 ipp_session_msg_id(struct ipp_session *, char *buf, size_t len);
/* ISO-8601 UTC with microseconds and 'Z'; buf >= 32 bytes. */
void	 ipp_iso_now(char *buf, size_t len);
void	 ipp_iso_format(double t, char *buf, size_t len);
/* Parse an ISO-8601 date (with or without zone) to seconds; -1 on error. */
double	 ipp_iso_parse(const char *);
double	 ipp_now(void);			/* CLOCK_REALTIME seconds */
double	 ipp_monotonic(void);		/* CLOCK_MONOTONIC seconds */

/* Lowercase hex HMAC-SHA256 of the concatenation of parts (no NUL). */
void	 ipp_sign(const struct ipp_session *, const void *const parts[4],
	    const size_t lens[4], char out[IPP_SIG_HEXLEN + 1]);

/*
 * Verify a received hex signature over the four parts: 0 ok, -1 with errno
 * EACCES (missing or wrong) or EALREADY (replayed).
 */
int	 ipp_session_verify(struct ipp_session *, const void *sig,
	    size_t siglen, const void *const parts[4], const size_t lens[4]);

/* ---------------------------------------------------------------- codec.c */

/*
 * A decoded message.  json parts are owned (decref'd by release); msg_type
 * and msg_id point into header.  Buffers stay in `fr`, from index
 * `buf0` on; the raw header..content parts are fr parts sig+1..sig+4, so a
 * relay can forward the original bytes untouched.
 */
struct ipp_msg {
	struct ipp_frames fr;
	int		 nids;		/* routing parts before the delimiter */
	int		 sig;		/* index of the signature part */
	int		 buf0;		/* index of the first buffer */
	json_t		*header;
	json_t		*parent;
	json_t		*metadata;
	json_t		*content;
	const char	*msg_type;
	const char	*msg_id;
};

void	 ipp_msg_init(struct ipp_msg *);
void	 ipp_msg_release(struct ipp_msg *);
/* Drop the parts and decoded JSON of m, keep its storage for reuse. */
void	 ipp_msg_clear(struct ipp_msg *);
static inline int
ipp_msg_nbufs(const struct ipp_msg *m)
{
	return m->fr.n - m->buf0;
}

/*
 * Decode the frames held in m->fr (filled by ipp_frames_recv).  Checks the
 * delimiter, part counts, the signature (constant time; EACCES when wrong
 * or missing, EALREADY when replayed), and that the four parts are JSON
 * objects with a string msg_type (EBADMSG).  What failed is written to
 * why (may be NULL).  Only the JSON objects are set on success.
 */
int	 ipp_msg_decode(struct ipp_session *, struct ipp_msg *, char *why,
	    size_t whylen);
/*
 * The two halves of ipp_msg_decode, for paths that look at a verified
 * message through ipp_json_peek() and parse it only when they must:
 * verify checks delimiter and signature and sets nids, sig and buf0;
 * parse builds the JSON objects of a verified message.
 */
int	 ipp_msg_verify(struct ipp_session *, struct ipp_msg *, char *why,
	    size_t whylen);
int	 ipp_msg_parse(struct ipp_msg *, char *why, size_t whylen);
/* Part i (0 header, 1 parent, 2 metadata, 3 content) of a verified m. */
#define ipp_msg_part(m, i)	ipp_frame_data(&(m)->fr, (m)->sig + 1 + (i))
#define ipp_msg_partlen(m, i)	ipp_frame_len(&(m)->fr, (m)->sig + 1 + (i))
/*
 * Paths that look at a message before deciding to verify it: locate sets
 * nids, sig and buf0 from the delimiter alone (no signature check;
 * -1/EPROTO); then, on a located or verified m, peek reads a top-level
 * string of part i (ipp_json_peek) and part_object parses part i alone
 * (NULL/EBADMSG with why when it is not a JSON object).
 */
int	 ipp_msg_locate(struct ipp_msg *);
int	 ipp_msg_peek(const struct ipp_msg *, int i, const char *key,
	    char *out, size_t outlen);
json_t	*ipp_msg_part_object(const struct ipp_msg *, int i, char *why,
	    size_t whylen);
/* Receive and decode; on failure the frames are dropped. */
int	 ipp_msg_recv(struct ipp_session *, void *sock, struct ipp_msg *,
	    int flags, char *why, size_t whylen);

/*
 * Build a complete message: ids (nids parts, may be 0), delimiter,
 * signature, header, parent, metadata, content, then nbufs buffers.
 * header_new, metadata_new and content_new are stolen; parent is borrowed
 * (NULL means {}).  When header_new is NULL a header of type msg_type is
 * made.  The result goes to `out`, which is cleared first.
 */
struct ipp_buf {
	const void	*data;
	size_t		 len;
};
int	 ipp_msg_build(struct ipp_session *, struct ipp_frames *out,
	    const struct ipp_buf *ids, int nids, const char *msg_type,
	    json_t *header_new, const json_t *parent, json_t *metadata_new,
	    json_t *content_new);
/* Header object of a new message. */
json_t	*ipp_header_new(struct ipp_session *, const char *msg_type);
/*
 * The msg_type of the reply to a request of type req, into buf: the
 * part before its last '_' with "_reply" ("apply_request" ->
 * "apply_reply"), or all of req with "_reply" when it has no '_'.  -1
 * ENAMETOOLONG when it does not fit.
 */
int	 ipp_reply_type(const char *req, char *buf, size_t len);
/*
 * 1 when msg_type names a request, one the peer answers with a reply
 * (it ends in "_request" after at least one character), else 0.
 */
int	 ipp_is_request(const char *msg_type);
/*
 * The same header as JSON text in buf, byte for byte what ipp_json_dump
 * makes of ipp_header_new's object; -1 ENAMETOOLONG when it does not fit.
 */
int	 ipp_header_text(struct ipp_session *, const char *msg_type,
	    char *buf, size_t len);
/*
 * ipp_msg_build with parent, metadata and content given as JSON text
 * (borrowed; NULL means {}), sent as they are, and the header made by
 * ipp_header_text: no jansson tree is built.
 */
int	 ipp_msg_build_text(struct ipp_session *, struct ipp_frames *out,
	    const struct ipp_buf *ids, int nids, const char *msg_type,
	    const char *parent, const char *md, const char *content);
/* Re-sign a decoded message after its header/metadata changed: rewrites
 * parts sig..sig+4 of m->fr from the json objects. */
int	 ipp_msg_reseal(struct ipp_session *, struct ipp_msg *);
/* Compact JSON text of v into a newly malloc'd string (NULL on ENOMEM). */
char	*ipp_json_dump(const json_t *);
/* The string value of the top-level "key" of JSON object text, without
 * building a tree (jscan.c says how far it checks). */
int	 ipp_json_peek(const char *buf, size_t len, const char *key,
	    char *out, size_t outlen);
/*
 * jscan.c: check that buf is one JSON object jansson would accept and
 * find the values of the top-level keys (vals[k] for keys[k]; type
 * IPP_JNONE when absent; p/len span the value's text, quotes included),
 * without building a tree or allocating.  -1/EBADMSG means "cannot
 * vouch": the text may still be valid - parse it with jansson then.
 */
enum { IPP_JNONE, IPP_JSTR, IPP_JNUM, IPP_JOBJ, IPP_JARR, IPP_JTRUE,
    IPP_JFALSE, IPP_JNULL };
struct ipp_jval {
	const char	*p;
	size_t		 len;
	int		 type;
};
int	 ipp_json_scan(const char *buf, size_t len, const char *const *keys,
	    int nkeys, struct ipp_jval *vals);
/* A scanned string, unescaped, in out: -1 EINVAL (not a string, holds a
 * NUL) or ENAMETOOLONG. */
int	 ipp_jval_str(const struct ipp_jval *, char *out, size_t outlen);
/* The value's text is exactly `text` (e.g. "[]", "null", "true"). */
int	 ipp_jval_is(const struct ipp_jval *, const char *text);
/*
 * buf, a text ipp_json_scan vouched for with vals what it found for keys,
 * with the value of each keys[k] replaced by the JSON text with[k], or
 * "keys[k]":with[k] added at the end when absent; at most 8 keys, written
 * as they are (no escapes).  The new text goes to out (no NUL): its
 * length, or 0 with ENOSPC when it does not fit.  Relays use it to change
 * a field of a message without re-encoding the rest.
 */
size_t	 ipp_json_splice(const char *buf, size_t len,
	    const char *const *keys, const struct ipp_jval *vals,
	    const char *const *with, int nkeys, char *out, size_t cap);
/* Content of a failed request, as ipyparallel's wrap_exception. */
json_t	*ipp_error_content(const char *ename, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------- connfile.c */

/* The fields of ipcontroller-{client,engine}.json. */
struct ipp_conninfo {
	char		 interface[256];	/* "tcp://127.0.0.1" */
	char		 location[256];
	char		 ssh[256];
	char		 key[256];
	char		 signature_scheme[32];
	char		 task_scheme[32];
	char		 curve_serverkey[64];	/* "" when null */
	int		 registration;
	int		 control;
	int		 mux;
	int		 task;
	int		 iopub;
	int		 notification;
	int		 hb_ping;
	int		 hb_pong;
	int		 broadcast[8];		/* client file: one; engine: leaves */
	int		 nbroadcast;
};

/* Load a connection file; -1 with errno, and a reason in why. */
int	 ipp_conninfo_load(const char *path, struct ipp_conninfo *,
	    char *why, size_t whylen);
/* Write atomically with mode 0600. engine=1 writes the engine flavour. */
int	 ipp_conninfo_save(const char *path, const struct ipp_conninfo *,
	    int engine);
/* "tcp://127.0.0.1:5555" (or "ipc://path-5555") into buf. */
void	 ipp_conninfo_url(const struct ipp_conninfo *, int port, char *buf,
	    size_t len);

/* --------------------------------------------------------------- tunnel.c */

/*
 * A controller reached through an ssh server: one ssh child process
 * forwarding a local port per controller port (tunnel.c says why so).
 */
#define IPP_TUNNEL_MAX	24

struct ipp_tunnel {
	char		 server[256];	/* "[user@]host[:port]" */
	char		 keyfile[1024];	/* ssh -i; "" for ssh's own keys */
	char		 rhost[256];	/* the controller, seen from the server */
	int		 n;		/* forwards; 0: no tunnel */
	int		 rport[IPP_TUNNEL_MAX];
	int		 lport[IPP_TUNNEL_MAX];
	pid_t		 pid;		/* the ssh; 0 when none runs */
	double		 started;	/* monotonic, its last start */
	double		 next_try;	/* monotonic, 0: no re-open planned */
	double		 retry;		/* seconds before the next re-open */
};

void	 ipp_tunnel_init(struct ipp_tunnel *);
/*
 * Start ssh to server (NULL or "": the controller's own host, as
 * ipyparallel does with a key alone) forwarding every port of ci, wait
 * up to timeout seconds for the forwards to listen, then point ci at
 * them (tcp://127.0.0.1, local ports).  -1 with errno (ECONNREFUSED:
 * ssh failed, its messages on stderr; ETIMEDOUT), nothing left running.
 */
int	 ipp_tunnel_open(struct ipp_tunnel *, const char *server,
	    const char *keyfile, struct ipp_conninfo *ci, double timeout);
/*
 * Call now and then: reaps an ssh that ended (logged) and starts it
 * again on the same local ports after a growing delay (1 s to 30 s).
 * 1 when it started one, 0 nothing to do, -1 it could not.
 */
int	 ipp_tunnel_check(struct ipp_tunnel *, double now);
/* End the ssh (SIGTERM, then SIGKILL after 2 s) and forget the tunnel. */
void	 ipp_tunnel_close(struct ipp_tunnel *);
/*
 * Is host (a name or an address) this machine?  As ipyparallel's Client
 * decides whether a controller listening on loopback is ours or needs
 * the file's ssh server.  0 when it cannot tell.
 */
int	 ipp_host_is_local(const char *host);
/*
 * The ssh command line, in argv (NULL-terminated, at most maxargs
 * entries) pointing into store; argc, or -1 with errno (EINVAL: a
 * server that reads as an option; E2BIG).  For tests and the log.
 */
int	 ipp_tunnel_args(const struct ipp_tunnel *, char *store,
	    size_t storelen, char **argv, int maxargs);

/* -------------------------------------------------------------- profile.c */

struct ipp_profile {
	char	 dir[1024];		/* .../profile_<name> */
	char	 security[1100];
	char	 log[1100];
	char	 pid[1100];
	char	 cluster_id[128];
};

/*
 * Resolve the profile directory from an explicit --profile-dir, else
 * $IPYTHONDIR (or ~/.ipython) / profile_<name>.  create=1 makes the
 * directories (security 0700).
 */
int	 ipp_profile_init(struct ipp_profile *, const char *profile_dir,
	    const char *profile_name, const char *cluster_id, int create);
/* security/ipcontroller[-<cluster_id>]-<which>.json; which "client"/"engine". */
void	 ipp_profile_connfile(const struct ipp_profile *, const char *which,
	    char *buf, size_t len);

/* ------------------------------------------------------------------ log.c */

enum { LOG_LVL_DEBUG = 10, LOG_LVL_INFO = 20, LOG_LVL_WARN = 30,
    LOG_LVL_ERROR = 40, LOG_LVL_CRITICAL = 50 };

/* name prefixes each line; path NULL logs to stderr. */
int	 log_init(const char *name, int level, const char *path);
void	 log_setlevel(int);
int	 log_getlevel(void);
/* "DEBUG", "info", "20" ... -> level; -1 when unknown. */
int	 log_parselevel(const char *);
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Warnings a peer can repeat at will (bad input): at most
 * IPP_LOGRATE_BURST lines every IPP_LOGRATE_PERIOD seconds per
 * ipp_lograte; the rest are counted, and log_rate_flush() reports the
 * count and the latest one when the period is over.
 */
#define IPP_LOGRATE_BURST	20
#define IPP_LOGRATE_PERIOD	10.0
struct ipp_lograte {
	double	 start;		/* monotonic start of this period */
	long	 shown, suppressed;
	char	 last[256];	/* the latest suppressed line */
};
void	 log_rate_warnx(struct ipp_lograte *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 log_rate_flush(struct ipp_lograte *, double now);
void	 fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ------------------------------------------------------------------ map.c */

struct ipp_map;
struct ipp_map	*ipp_map_new(void);
void		 ipp_map_free(struct ipp_map *);
void		*ipp_map_get(const struct ipp_map *, const char *key);
void		*ipp_map_getn(const struct ipp_map *, const void *key, size_t);
/* Insert or replace; -1/ENOMEM leaves the map unchanged. */
int		 ipp_map_put(struct ipp_map *, const char *key, void *val);
int		 ipp_map_putn(struct ipp_map *, const void *key, size_t,
		    void *val);
/* Remove and return the value (NULL when absent). */
void		*ipp_map_del(struct ipp_map *, const char *key);
void		*ipp_map_deln(struct ipp_map *, const void *key, size_t);
size_t		 ipp_map_count(const struct ipp_map *);
void		 ipp_map_foreach(const struct ipp_map *,
		    void (*fn)(void *arg, const char *key, void *val), void *arg);

/* ----------------------------------------------------------------- opts.c */

enum ipp_optkind { IPP_OPT_FLAG, IPP_OPT_ARG };

/* One option; set() gets NULL for flags.  Tables end with a NULL name. */
struct ipp_option {
	const char	*name;
	enum ipp_optkind kind;
	void		 (*set)(void *cfg, const char *val);
	const char	*help;		/* NULL: accepted but not listed */
};

/* A traitlets name ("IPEngine.timeout") and the option it means. */
struct ipp_trait {
	const char	*trait;
	const char	*opt;
};

/*
 * Parse argv[1..]; unknown options are an error (-1, logged), unknown
 * traits a warning.  When argi is not NULL, parsing stops at the first
 * non-option argument and its index is stored there.
 */
int	 ipp_opts_parse(void *cfg, const struct ipp_option *,
	    const struct ipp_trait *, int argc, char **argv, int *argi);
void	 ipp_opts_usage(FILE *, const char *synopsis,
	    const struct ipp_option *, const struct ipp_trait *,
	    const char *epilogue);
/* Integer option value in [lo, hi], else fatalx naming `what`. */
long	 ipp_opt_long(const char *v, const char *what, long lo, long hi);
void	 ipp_opt_copy(char *dst, size_t len, const char *v, const char *what);
/*
 * Apply config settings {"Class": {"trait": value}} through the trait
 * table; classes and traits without an entry are warned about, naming
 * `what` (the file).
 */
void	 ipp_opts_config(void *cfg, const struct ipp_option *,
	    const struct ipp_trait *, json_t *conf, const char *what);
/*
 * Parse argv over the settings of the profile's config files, argv
 * winning as in traitlets: argv is parsed into scratch (cfg's defaults,
 * warnings held back) to learn the profile, whose name and directory are
 * the strings at name_off and dir_off in the config struct; the files
 * named bases (NULL-terminated, e.g. "ipengine_config") are applied to
 * cfg, then argv is.  A config error is fatal with the file and line.
 */
int	 ipp_opts_parse_profile(void *cfg, void *scratch,
	    const struct ipp_option *, const struct ipp_trait *,
	    int argc, char **argv, const char *const *bases,
	    size_t name_off, size_t dir_off);

/* --------------------------------------------------------------- pyconf.c */

/*
 * Evaluate DIR/BASE.py and DIR/BASE.json for each of bases (at most 4,
 * NULL-terminated) with traitlets, in Python, as ipyparallel's
 * applications load them; the merged settings {"Class": {"trait":
 * value}} (empty when no file sets anything), or NULL with why
 * ("FILE:LINE: error").
 */
json_t	*ipp_pyconf_load(const char *dir, const char *const *bases,
	    char *why, size_t whylen);

/* ----------------------------------------------------------------- util.c */

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t, size_t);
char	*xstrdup(const char *);
/* Write a whole file atomically (tmp + rename) with the given mode. */
int	 ipp_write_file(const char *path, const void *, size_t, int mode);
/* mkdir -p with mode for the last component. */
int	 ipp_mkdirs(const char *path, int mode);
/* /proc/PID/stat from field 3 (the state) on, in buf; NULL when gone. */
const char *ipp_proc_stat(pid_t, char *buf, size_t len);
/* Random bytes as lowercase hex (len*2+1 buffer). */
void	 ipp_random_hex(char *out, size_t nbytes);
/* Generate an HMAC key like ipyparallel's: 8 hex '-' 24 hex. */
void	 ipp_new_key(char *buf, size_t len);

#endif /* IPP_H */
