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

struct nsop {
	struct fh	*fh;
	enum nskind	 op;
	enum nsfmt	 fmt;
	char		 name[256];	/* without the suffix */
	int		 fallback;
};

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

static void
unhex(const char *s, struct buf *out)
{
	char h[3] = { 0, 0, 0 };

	for (; s[0] != '\0' && s[1] != '\0'; s += 2) {
		h[0] = s[0];
		h[1] = s[1];
		buf_add(out, &(char){ (char)strtol(h, NULL, 16) }, 1);
	}
}

static void
done(struct nsop *op, int err, const char *fmt, const char *detail)
{
	struct fh *fh = op->fh;

	if (err != 0) {
		error_add(fh, err, fmt, detail);
		if (op->op == NS_PUSH || op->op == NS_DEL)
			fh->werr = err;
		else
			fh->rerr = err;
	}
	fh->busy = 0;
	free(op);
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
	char *s, *p, *nl;
	size_t i;
	json_t *n;

	buf_reset(&fh->r);
	if (op->op == NS_LIST) {
		if (text != NULL) {
			unrepr(text, &tmp);
			for (p = tmp.p; p != NULL && *p != '\0'; p = nl) {
				if ((nl = strchr(p, '\n')) != NULL)
					*nl++ = '\0';
				ns_dir_add(fh, p);
			}
			buf_free(&tmp);
		} else
			json_array_foreach(v, i, n)
				if (json_is_string(n))
					ns_dir_add(fh, json_string_value(n));
		return;
	}
	if (op->op != NS_PULL)
		return;
	fh->have_r = 1;
	if (text != NULL && op->fmt == F_REPR)
		buf_printf(&fh->r, "%s\n", text);
	else if (text != NULL && op->fmt == F_JSON) {
		unrepr(text, &fh->r);
		buf_add(&fh->r, "\n", 1);
	} else if (text != NULL) {
		unrepr(text, &tmp);
		unhex(tmp.p != NULL ? tmp.p : "", &fh->r);
		buf_free(&tmp);
	} else if (op->fmt == F_REPR && json_is_string(v))
		buf_printf(&fh->r, "%s\n", json_string_value(v));
	else if (op->fmt == F_JSON) {
		if ((s = json_dumps(v, JSON_ENCODE_ANY)) != NULL) {
			buf_printf(&fh->r, "%s\n", s);
			free(s);
		}
	} else if (ipp_msg_nbufs(m) > 0)
		buf_add(&fh->r, ipp_frame_data(&m->fr, m->buf0),
		    ipp_frame_len(&m->fr, m->buf0));
}

static void
on_reply(void *arg, struct ipp_msg *m, int err)
{
	struct nsop *op = arg;
	struct engine *e = engine_get(op->fh->obj);
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
send_fallback(struct nsop *op, struct engine *e)
{
	struct fh *fh = op->fh;
	struct buf code = { NULL, 0, 0 }, expr = { NULL, 0, 0 };
	size_t len = fh->w.len, i;
	char *lit;
	json_t *ue;
	int rc;

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
		buf_printf(&code, "%s = bytes.fromhex('", op->name);
		for (i = 0; i < len; i++)
			buf_printf(&code, "%02x", (unsigned char)fh->w.p[i]);
		buf_printf(&code, "')");
	} else if (op->op == NS_DEL)
		buf_printf(&code, "del %s", op->name);
	else if (op->op == NS_LIST)
		buf_printf(&expr, "%s", LIST_EXPR);
	else if (op->fmt == F_REPR)
		buf_printf(&expr, "%s", op->name);
	else if (op->fmt == F_JSON)
		buf_printf(&expr, "__import__('json').dumps(%s)", op->name);
	else
		buf_printf(&expr, "(lambda v: (v.encode() if isinstance(v, "
		    "str) else bytes(v)).hex())(%s)", op->name);
	ue = expr.len > 0 ? json_pack("{s:s}", "v", expr.p) : json_object();
	rc = hub_request(fs.mux, e->uuid, "execute_request",
	    json_pack("{s:s,s:b,s:b,s:o,s:b,s:b}", "code", code.p != NULL ?
	    code.p : "", "silent", 1, "store_history", 0,
	    "user_expressions", ue, "allow_stdin", 0, "stop_on_error", 0),
	    NULL, NULL, 0, on_reply, op);
	buf_free(&code);
	buf_free(&expr);
	return rc;
}

static int
send_op(struct nsop *op)
{
	struct engine *e = engine_get(op->fh->obj);
	struct fh *fh = op->fh;
	struct ipp_buf b;
	json_t *spec, *val;
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
	b.data = fh->w.p != NULL ? fh->w.p : "";
	b.len = fh->w.len;
	return hub_request(fs.mux, e->uuid, "execute_request",
	    json_pack("{s:s,s:b,s:b,s:{},s:b,s:b}", "code", NIE_CODE,
	    "silent", 1, "store_history", 0, "user_expressions",
	    "allow_stdin", 0, "stop_on_error", 0),
	    json_pack("{s:o}", "ipp_data", spec), &b,
	    op->op == NS_PUSH && op->fmt == F_RAW ? 1 : 0, on_reply, op);
}

static int
start(struct fh *fh, enum nskind kind)
{
	struct nsop *op;
	const char *full = fh->name < fs.nnames ? fs.names[fh->name] : "";
	char *dot;

	op = xcalloc(1, sizeof(*op));
	op->fh = fh;
	op->op = kind;
	op->fmt = F_REPR;
	if (kind != NS_LIST) {
		snprintf(op->name, sizeof(op->name), "%s", full);
		if ((dot = strchr(op->name, '.')) != NULL) {
			op->fmt = strcmp(dot, ".raw") == 0 ? F_RAW : F_JSON;
			*dot = '\0';
		}
	}
	fh->rerr = 0;
	fh->werr = 0;
	if (send_op(op) == -1) {
		int err = errno;

		if (err == EINVAL)
			error_add(fh, err, "not JSON: %s", op->name);
		else
			error_add(fh, err, "%s", err == EHOSTDOWN ?
			    "engine is down" : strerror(err));
		if (kind == NS_PUSH || kind == NS_DEL)
			fh->werr = err;
		else
			fh->rerr = err;
		free(op);
		errno = err;
		return -1;
	}
	fh->busy = 1;
	errno = EINPROGRESS;
	return -1;
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
