/*
 * ns.c - engines/N/ns/: an engine's namespace as files.
 *
 * "x" is the value as Python text (read: repr, write: a literal),
 * "x.json" as JSON and "x.raw" as bytes.  With engined every operation
 * but the literal push goes over the data path of doc/data-path.md: an
 * execute_request whose metadata carries ipp_data, so no pickle and no
 * Python in ippfs.  An engine that answers it with NotImplementedError
 * (ipengine) is marked foreign, and from then on the same operations are
 * done with generated code: an execute_request whose user_expressions
 * evaluate the value (reads; the repr comes back as text/plain) or whose
 * code assigns or deletes it (writes).  A literal push always runs
 * ast.literal_eval on the engine, so it never executes what was written.
 * Each operation keeps its file handle busy until the reply arrives.
 * engines/all/ns does the same on every live engine at once: the
 * operations of one file request form a group, and the handle is freed
 * when the last engine answered.  A pull there reads "ID repr" lines,
 * one per engine; raw values cannot be gathered that way.  A listing of
 * a busy engine is not asked for (it would wait behind the task): it
 * shows the names known there (names.c), which the replies here keep.
 * fsengine_where() learns an engine's host and pid for engines/index the
 * same way, by user_expressions, when the controller did not say them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ippfs.h"

#define NIE_CODE "raise NotImplementedError(\"this engine does not " \
	"support the ipp data path (needs engined)\")"
#define LIST_EXPR "'\\n'.join(sorted(k for k in globals() if not " \
	"k.startswith('_') and k not in ('In', 'Out', 'get_ipython', " \
	"'exit', 'quit')))"

enum nskind { NS_PULL, NS_PUSH, NS_DEL, NS_LIST };
enum nsfmt { F_REPR, F_JSON, F_RAW };

struct nsgroup;

struct nsop {
	struct nsgroup	*grp;
	struct fh	*fh;
	int		 engine;
	enum nskind	 op;
	enum nsfmt	 fmt;
	char		 name[256];	/* without the suffix */
	int		 fallback;
	struct buf	 val;		/* pulled through engines/all */
	size_t		 off;		/* raw bytes moved by generated code */
	size_t		 chunk;		/* bytes in the request in flight */
};

/* The operations of one request on a file, one per engine. */
struct nsgroup {
	struct fh	*fh;
	enum nskind	 op;
	int		 outstanding;
	int		 err;
	struct nsop	**ops;
	int		 nops;
};

/*
 * Generated code moves raw values as hex in pieces of CHUNK bytes: one
 * request with 100 MB as 200 MB of source text outlasts any timeout in
 * ipcontroller and ipengine, while 4 MB pieces take well under a second.
 */
#define CHUNK	(4 << 20)

/* A raw value at least this big is kept in its frame for the reads. */
#define RAW_KEEP	65536

static const char *opnames[] = { "pull", "push", "delete", "list" };
static const char *fmtnames[] = { "repr", "json", "raw" };

/* Python str repr (as text/plain shows it) back to the text. */
static void
unrepr(const char *s, struct buf *out)
{
	char q = *s, hex[3];

	if (q != '\'' && q != '"') {
		buf_add(out, s, strlen(s));
		return;
	}
	for (s++; *s != '\0' && *s != q; s++) {
		if (*s != '\\' || s[1] == '\0') {
			buf_add(out, s, 1);
			continue;
		}
		s++;
		switch (*s) {
		case 'n':
			buf_add(out, "\n", 1);
			break;
		case 't':
			buf_add(out, "\t", 1);
			break;
		case 'r':
			buf_add(out, "\r", 1);
			break;
		case 'x':
			if (s[1] != '\0' && s[2] != '\0') {
				hex[0] = s[1];
				hex[1] = s[2];
				hex[2] = '\0';
				buf_add(out, &(char){ (char)strtol(hex, NULL,
				    16) }, 1);
				s += 2;
			}
			break;
		default:
			buf_add(out, s, 1);
		}
	}
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0;
}

static void
unhex(const char *s, struct buf *out)
{
	size_t n = strlen(s) / 2, i;
	char *bin;

	bin = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		bin[i] = (char)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
	buf_add(out, bin, n);
	free(bin);
}

static void
addhex(struct buf *out, const char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *hex;
	size_t i;

	hex = xmalloc(2 * n + 1);
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[(unsigned char)p[i] >> 4];
		hex[2 * i + 1] = digits[(unsigned char)p[i] & 15];
	}
	buf_add(out, hex, 2 * n);
	free(hex);
}

static void
group_free(struct nsgroup *g)
{
	int i;

	for (i = 0; i < g->nops; i++) {
		buf_free(&g->ops[i]->val);
		free(g->ops[i]);
	}
	free(g->ops);
	free(g);
}

/* Record how one engine's operation went; the last one frees the fh. */
static void
done(struct nsop *op, int err, const char *fmt, const char *detail)
{
	struct nsgroup *g = op->grp;
	struct fh *fh = g->fh;
	char msg[1024];
	int i;

	if (err != 0) {
		snprintf(msg, sizeof(msg), fmt, detail);
		if (fh->obj == OBJ_ALL)
			error_add(fh, err, "engine %d: %s", op->engine, msg);
		else
			error_add(fh, err, "%s", msg);
		if (g->err == 0)
			g->err = err;
	}
	/* what this says of the engine's namespace, for busy listings */
	if (err == 0 && (op->op == NS_PUSH || op->op == NS_PULL))
		ns_known(op->engine, op->name, 1);
	else if ((err == 0 && op->op == NS_DEL) || (err == ENOENT &&
	    op->op == NS_PULL))
		ns_known(op->engine, op->name, 0);
	if (--g->outstanding > 0)
		return;
	if (g->err != 0) {
		if (g->op == NS_PUSH || g->op == NS_DEL)
			fh->werr = g->err;
		else
			fh->rerr = g->err;
	} else if (g->op == NS_PULL && fh->obj == OBJ_ALL) {
		buf_reset(&fh->r);
		for (i = 0; i < g->nops; i++) {
			buf_printf(&fh->r, "%d ", g->ops[i]->engine);
			buf_add(&fh->r, g->ops[i]->val.p != NULL ?
			    g->ops[i]->val.p : "", g->ops[i]->val.len);
		}
		fh->have_r = 1;
	}
	fh->busy = 0;
	group_free(g);
}

static int	 send_op(struct nsop *);

static int
remote_errno(const char *ename, enum nskind op)
{
	if (ename == NULL)
		return EIO;
	if (strcmp(ename, "NameError") == 0 || strcmp(ename, "KeyError") == 0)
		return ENOENT;
	if (op == NS_PUSH && (strcmp(ename, "SyntaxError") == 0 ||
	    strcmp(ename, "ValueError") == 0 ||
	    strcmp(ename, "TypeError") == 0))
		return EINVAL;
	return EIO;
}

/* A successful reply: its value is in v (data path) or text (fallback). */
static void
got_value(struct nsop *op, struct ipp_msg *m, json_t *v, const char *text)
{
	struct fh *fh = op->fh;
	struct buf tmp = { NULL, 0, 0 };
	struct buf *dst = fh->obj == OBJ_ALL ? &op->val : &fh->r;
	char *s, *p, *nl;
	size_t i;
	json_t *n;

	if (op->off == 0) {
		buf_reset(dst);		/* later raw pieces append */
		if (dst == &fh->r && fh->rheld) {
			zmq_msg_close(&fh->rmsg);
			fh->rheld = 0;
		}
	}
	if (op->op == NS_LIST) {
		ns_known_reset(op->engine);
		if (text != NULL) {
			unrepr(text, &tmp);
			for (p = tmp.p; p != NULL && *p != '\0'; p = nl) {
				if ((nl = strchr(p, '\n')) != NULL)
					*nl++ = '\0';
				ns_dir_add(fh, p);
				ns_known(op->engine, p, 1);
			}
			buf_free(&tmp);
		} else
			json_array_foreach(v, i, n)
				if (json_is_string(n)) {
					ns_dir_add(fh, json_string_value(n));
					ns_known(op->engine,
					    json_string_value(n), 1);
				}
		return;
	}
	if (op->op != NS_PULL)
		return;
	fh->have_r = 1;
	if (text != NULL && op->fmt == F_REPR)
		buf_printf(dst, "%s\n", text);
	else if (text != NULL && op->fmt == F_JSON) {
		unrepr(text, dst);
		buf_add(dst, "\n", 1);
	} else if (text != NULL) {
		unrepr(text, &tmp);
		unhex(tmp.p != NULL ? tmp.p : "", dst);
		buf_free(&tmp);
	} else if (op->fmt == F_REPR && json_is_string(v))
		buf_printf(dst, "%s\n", json_string_value(v));
	else if (op->fmt == F_JSON) {
		if ((s = json_dumps(v, JSON_ENCODE_ANY)) != NULL) {
			buf_printf(dst, "%s\n", s);
			free(s);
		}
	} else if (ipp_msg_nbufs(m) > 0 && dst == &fh->r &&
	    ipp_frame_len(&m->fr, m->buf0) >= RAW_KEEP) {
		/* a big value is read from the frame itself: no copy */
		zmq_msg_init(&fh->rmsg);
		zmq_msg_move(&fh->rmsg, &m->fr.f[m->buf0]);
		fh->rheld = 1;
		malloc_cool_later();
	} else if (ipp_msg_nbufs(m) > 0)
		buf_add(dst, ipp_frame_data(&m->fr, m->buf0),
		    ipp_frame_len(&m->fr, m->buf0));
}

/* After a raw piece went through generated code: is there another? */
static int
more(struct nsop *op)
{
	struct buf *dst = op->fh->obj == OBJ_ALL ? &op->val : &op->fh->r;

	if (op->op == NS_PUSH) {
		op->off += op->chunk;
		return op->off < op->fh->w.len;
	}
	if (op->op != NS_PULL || dst->len < op->off + CHUNK)
		return 0;
	op->off += CHUNK;
	return 1;
}

static void
on_reply(void *arg, struct ipp_msg *m, int err)
{
	struct nsop *op = arg;
	struct fsengine *e = fsengine_get(op->engine);
	json_t *c, *ue;
	const char *st, *en, *ev;
	char why[512];

	if (m == NULL) {
		done(op, err, "no answer from the engine: %s", strerror(err));
		return;
	}
	c = m->content;
	st = json_string_value(json_object_get(c, "status"));
	en = json_string_value(json_object_get(c, "ename"));
	ev = json_string_value(json_object_get(c, "evalue"));
	if (st != NULL && strcmp(st, "ok") != 0 && !op->fallback &&
	    en != NULL && strcmp(en, "NotImplementedError") == 0 &&
	    ev != NULL && strstr(ev, "data path") != NULL) {
		/* ipengine: do it again with generated code */
		if (e != NULL)
			e->foreign = 1;
		op->fallback = 1;
		if (send_op(op) == -1)
			done(op, errno, "cannot send: %s", strerror(errno));
		return;
	}
	if (st == NULL || strcmp(st, "ok") != 0) {
		done(op, remote_errno(en, op->op), "%s", reply_error(m, why,
		    sizeof(why)));
		return;
	}
	if (!op->fallback && e != NULL)
		e->foreign = 0;
	if (op->fallback && (op->op == NS_PULL || op->op == NS_LIST)) {
		ue = json_object_get(json_object_get(c, "user_expressions"),
		    "v");
		st = json_string_value(json_object_get(ue, "status"));
		if (st == NULL || strcmp(st, "ok") != 0) {
			en = json_string_value(json_object_get(ue, "ename"));
			snprintf(why, sizeof(why), "%s: %s", en ? en : "error",
			    json_string_value(json_object_get(ue, "evalue")) ?
			    json_string_value(json_object_get(ue, "evalue")) :
			    "");
			done(op, remote_errno(en, op->op), "%s", why);
			return;
		}
		got_value(op, m, NULL, json_string_value(json_object_get(
		    json_object_get(ue, "data"), "text/plain")) ?
		    json_string_value(json_object_get(json_object_get(ue,
		    "data"), "text/plain")) : "");
	} else
		got_value(op, m, json_object_get(json_object_get(c,
		    "ipp_data"), "value"), NULL);
	if (op->fallback && op->fmt == F_RAW && more(op)) {
		if (send_op(op) == -1)
			done(op, errno, "cannot send: %s", strerror(errno));
		return;
	}
	done(op, 0, "%s", "");
}

/* The written text as a Python string literal (JSON's is one). */
static char *
pyliteral(const char *p, size_t len)
{
	json_t *s;
	char *lit;

	if ((s = json_stringn(p, len)) == NULL) {
		errno = EILSEQ;
		return NULL;
	}
	lit = json_dumps(s, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
	json_decref(s);
	return lit;
}

/* Generated code and expressions for engines without the data path. */
static int
send_fallback(struct nsop *op, struct fsengine *e)
{
	struct fh *fh = op->fh;
	struct buf code = { NULL, 0, 0 }, expr = { NULL, 0, 0 };
	size_t len;
	char *lit;
	int last;
	json_t *ue;
	int rc;

	fh_wreclaim(fh);
	len = fh->w.len;

	if (op->op == NS_PUSH && op->fmt != F_RAW) {
		while (len > 0 && (fh->w.p[len - 1] == '\n' ||
		    fh->w.p[len - 1] == ' '))
			len--;
		if ((lit = pyliteral(fh->w.p != NULL ? fh->w.p : "", len)) ==
		    NULL)
			return -1;
		buf_printf(&code, "%s = __import__('%s').%s(%s)", op->name,
		    op->fmt == F_REPR ? "ast" : "json", op->fmt == F_REPR ?
		    "literal_eval" : "loads", lit);
		free(lit);
	} else if (op->op == NS_PUSH) {
		/* a bytearray grows piece by piece, then becomes bytes */
		op->chunk = len - op->off < CHUNK ? len - op->off : CHUNK;
		last = op->off + op->chunk >= len;
		buf_printf(&code, "%s %s.fromhex('", op->name, op->off > 0 ?
		    "+= bytes" : last ? "= bytes" : "= bytearray");
		addhex(&code, fh->w.p + op->off, op->chunk);
		buf_printf(&code, "')");
		if (op->off > 0 && last)
			buf_printf(&code, "; %s = bytes(%s)", op->name,
			    op->name);
	} else if (op->op == NS_DEL)
		buf_printf(&code, "del %s", op->name);
	else if (op->op == NS_LIST)
		buf_printf(&expr, "%s", LIST_EXPR);
	else if (op->fmt == F_REPR)
		buf_printf(&expr, "%s", op->name);
	else if (op->fmt == F_JSON)
		buf_printf(&expr, "__import__('json').dumps(%s)", op->name);
	else
		buf_printf(&expr, "(lambda v: memoryview(v.encode() if "
		    "isinstance(v, str) else v).cast('B')[%zu:%zu].hex())(%s)",
		    op->off, op->off + CHUNK, op->name);
	ue = expr.len > 0 ? json_pack("{s:s}", "v", expr.p) : json_object();
	rc = client_request(fs.mux, e->uuid, "execute_request",
	    json_pack("{s:s,s:b,s:b,s:o,s:b,s:b}", "code", code.p != NULL ?
	    code.p : "", "silent", 1, "store_history", 0,
	    "user_expressions", ue, "allow_stdin", 0, "stop_on_error", 0),
	    json_pack("{s:s}", "ippfs", "ns"), NULL, 0, on_reply, op);
	buf_free(&code);
	buf_free(&expr);
	return rc;
}

static int
send_op(struct nsop *op)
{
	struct fsengine *e = fsengine_get(op->engine);
	struct fh *fh = op->fh;
	struct ipp_buf b;
	json_t *spec, *val, *content;
	json_error_t jerr;

	if (e == NULL || e->state != E_UP) {
		errno = EHOSTDOWN;
		return -1;
	}
	/* a literal needs Python to parse it: generated code everywhere */
	if (op->op == NS_PUSH && op->fmt == F_REPR)
		op->fallback = 1;
	if (e->foreign == 1)
		op->fallback = 1;
	if (op->fallback)
		return send_fallback(op, e);
	spec = json_pack("{s:s,s:s,s:s}", "op", opnames[op->op], "name",
	    op->name, "format", fmtnames[op->fmt]);
	if (op->op == NS_PUSH && op->fmt == F_JSON) {
		if ((val = json_loadb(fh->w.p != NULL ? fh->w.p : "",
		    fh->w.len, JSON_DECODE_ANY, &jerr)) == NULL) {
			json_decref(spec);
			snprintf(op->name, sizeof(op->name), "%s", jerr.text);
			errno = EINVAL;
			return -1;
		}
		json_object_set_new(spec, "value", val);
	}
	content = json_pack("{s:s,s:b,s:b,s:{},s:b,s:b}", "code", NIE_CODE,
	    "silent", 1, "store_history", 0, "user_expressions",
	    "allow_stdin", 0, "stop_on_error", 0);
	if (op->op == NS_PUSH && op->fmt == F_RAW) {
		/*
		 * The bytes go out as they are, shared (not copied) with
		 * libzmq and by every engine of engines/all/ns.
		 */
		if (!fh->wgiven) {
			buf_give(&fh->w, &fh->wmsg);
			fh->wgiven = 1;
		}
		return client_request_msg(fs.mux, e->uuid, "execute_request",
		    content, json_pack("{s:o}", "ipp_data", spec), &fh->wmsg,
		    on_reply, op);
	}
	b.data = fh->w.p != NULL ? fh->w.p : "";
	b.len = fh->w.len;
	return client_request(fs.mux, e->uuid, "execute_request", content,
	    json_pack("{s:o}", "ipp_data", spec), &b, 0, on_reply, op);
}

/* The reply to fsengine_where's question; arg is the engine id. */
static void
on_where(void *arg, struct ipp_msg *m, int err)
{
	struct fsengine *e = fsengine_get((int)(intptr_t)arg);
	json_t *ue;
	const char *h, *p;

	if (m == NULL || e == NULL) {
		log_warnx("engine %d: no host and pid: %s", (int)(intptr_t)arg,
		    m == NULL ? strerror(err) : "engine gone");
		/* busy with a long task: ask again when a task ends there */
		if (e != NULL)
			e->asked = 0;
		return;
	}
	ue = json_object_get(m->content, "user_expressions");
	h = json_string_value(json_object_get(json_object_get(
	    json_object_get(ue, "host"), "data"), "text/plain"));
	p = json_string_value(json_object_get(json_object_get(
	    json_object_get(ue, "pid"), "data"), "text/plain"));
	if (h == NULL || p == NULL) {
		log_warnx("engine %d: no host and pid in the reply", e->id);
		return;
	}
	/* the repr of a str: a host name holds no quote or backslash */
	if (strlen(h) >= 2 && (*h == '\'' || *h == '"'))
		snprintf(e->host, sizeof(e->host), "%.*s", (int)strlen(h) - 2,
		    h + 1);
	e->pid = strtol(p, NULL, 10);
}

/*
 * Where engine e runs: from info (the controller's "host" and "pid",
 * which hubd relays from engined's registration) or else asked once of
 * the engine (ipengine, or any engine under ipcontroller) by a silent
 * execute_request whose user_expressions are evaluated without binding
 * a name; its metadata keeps it out of tasks/ as ns/ operations are.
 * A question that timed out behind a long task is asked again when the
 * engine is seen free (a task of ippfs ends there, tasks.c, or iopub
 * gives the status of another client's request, fast.c); info NULL is
 * such a retry.
 */
void
fsengine_where(struct fsengine *e, json_t *info)
{
	json_t *h = json_object_get(info, "host");
	json_t *p = json_object_get(info, "pid");

	if (json_is_string(h) && json_is_integer(p)) {
		snprintf(e->host, sizeof(e->host), "%s", json_string_value(h));
		e->pid = (long)json_integer_value(p);
		return;
	}
	/* not while iopub says a request runs there: it would wait behind */
	if (e->host[0] != '\0' || e->asked || e->state != E_UP ||
	    e->running[0] != '\0')
		return;
	e->asked = 1;
	if (client_request(fs.mux, e->uuid, "execute_request", json_pack(
	    "{s:s,s:b,s:b,s:{s:s,s:s},s:b,s:b}", "code", "", "silent", 1,
	    "store_history", 0, "user_expressions", "host",
	    "__import__('socket').gethostname()", "pid",
	    "__import__('os').getpid()", "allow_stdin", 0, "stop_on_error",
	    0), json_pack("{s:s}", "ippfs", "where"), NULL, 0, on_where,
	    (void *)(intptr_t)e->id) == -1)
		log_warn("engine %d: cannot ask its host and pid", e->id);
}

/* Send one engine's operation; -1 with errno and the text recorded. */
static int
start_one(struct nsgroup *g, int engine, enum nskind kind)
{
	struct fh *fh = g->fh;
	const char *full = ns_name(fh->name) ? ns_name(fh->name) : "";
	struct nsop *op;
	char *dot;
	int err;

	op = xcalloc(1, sizeof(*op));
	op->grp = g;
	op->fh = fh;
	op->engine = engine;
	op->op = kind;
	op->fmt = F_REPR;
	if (kind != NS_LIST) {
		snprintf(op->name, sizeof(op->name), "%s", full);
		if ((dot = strchr(op->name, '.')) != NULL) {
			op->fmt = strcmp(dot, ".raw") == 0 ? F_RAW : F_JSON;
			*dot = '\0';
		}
	}
	if (send_op(op) == 0) {
		g->ops = xrealloc(g->ops, (size_t)g->nops + 1,
		    sizeof(*g->ops));
		g->ops[g->nops++] = op;
		g->outstanding++;
		return 0;
	}
	err = errno;
	if (err == EINVAL)
		error_add(fh, err, "%s%s", kind == NS_PUSH ? "not JSON: " :
		    "", op->name);
	else if (fh->obj == OBJ_ALL)
		error_add(fh, err, "engine %d: %s", engine, err == EHOSTDOWN ?
		    "engine is down" : strerror(err));
	else
		error_add(fh, err, "%s", err == EHOSTDOWN ?
		    "engine is down" : strerror(err));
	free(op);
	errno = err;
	return -1;
}

/*
 * Start an operation on fh's engine or, for engines/all/ns, on every
 * live engine.  -1 with EINPROGRESS when replies are awaited (fh busy);
 * 0 when a listing was answered from the names known (busy engines).
 */
static int
start(struct fh *fh, enum nskind kind)
{
	struct nsgroup *g;
	int i, err = 0, known = 0;
	const char *full = ns_name(fh->name) ? ns_name(fh->name) : "";
	size_t n = strlen(full);

	fh->rerr = 0;
	fh->werr = 0;
	if (kind == NS_PULL && fh->obj == OBJ_ALL && n > 4 &&
	    strcmp(full + n - 4, ".raw") == 0) {
		error_add(fh, EINVAL, "raw values cannot be gathered; read "
		    "engines/N/ns/%s", full);
		fh->rerr = EINVAL;
		errno = EINVAL;
		return -1;
	}
	g = xcalloc(1, sizeof(*g));
	g->fh = fh;
	g->op = kind;
	/* a busy engine's listing: what is known, not a wait behind it */
	if (fh->obj != OBJ_ALL) {
		if (kind == NS_LIST && fsengine_busy(fh->obj)) {
			ns_known_dir(fh, fh->obj);
			known++;
		} else if (start_one(g, fh->obj, kind) == -1)
			err = errno;
	} else {
		for (i = 0; i < fs.nengines; i++) {
			if (fs.engines[i] == NULL ||
			    fs.engines[i]->state != E_UP)
				continue;
			if (kind == NS_LIST && fsengine_busy(i)) {
				ns_known_dir(fh, i);
				known++;
			} else if (start_one(g, i, kind) == -1 && err == 0)
				err = errno;
		}
		if (g->nops == 0 && known == 0 && err == 0) {
			error_add(fh, EHOSTDOWN, "no engine is up");
			err = EHOSTDOWN;
		}
	}
	if (err != 0)
		g->err = err;
	if (g->outstanding == 0 && err == 0) {
		group_free(g);
		return 0;
	}
	if (g->outstanding == 0) {
		/* nothing in flight: fail now */
		if (kind == NS_PUSH || kind == NS_DEL)
			fh->werr = err;
		else
			fh->rerr = err;
		group_free(g);
		errno = err;
		return -1;
	}
	fh->busy = 1;
	errno = EINPROGRESS;
	return -1;
}

/*
 * A listing still waiting when its engine turned busy (another client's
 * request, or a task of ours, came first): the names known will do, and
 * the reply, when it comes, still updates them.  1: answer fh now.
 */
int
ns_list_known(struct fh *fh)
{
	int i;

	if (fh->type != Q_ENS || !fsengine_busy(fh->obj))
		return 0;
	for (i = 0; i < fs.nengines; i++)
		if (fh->obj == OBJ_ALL || i == fh->obj)
			ns_known_dir(fh, i);
	return 1;
}

int
ns_pull(struct fh *fh)
{
	return start(fh, NS_PULL);
}

int
ns_push(struct fh *fh)
{
	return start(fh, NS_PUSH);
}

int
ns_delete(struct fh *fh)
{
	return start(fh, NS_DEL);
}

int
ns_list(struct fh *fh)
{
	return start(fh, NS_LIST);
}
