/*
 * db_common.c - the pieces every task-history backend shares: buffer lists
 * and records (init, copy, release), the table of record keys and the
 * check of record fields, the retention arithmetic (usage, limits, cull
 * targets), the lookup that turns a --db name into a backend, and the
 * owner-only modes of a history's files.  Query
 * matching lives in db_query.c; the backends are db_memory.c, db_sqlite.c
 * and db_none.c.
 *
 * Copies are deep (frames of 64 KiB or more are shared, read-only, by
 * reference count) and all-or-nothing: a copy that runs out of memory frees
 * what it built and leaves its destination untouched, so callers never see
 * half a record.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipp.h"
#include "db.h"

/*
 * SQLiteDB's column order.  The buffer lists are not part of the JSON
 * fields, but clients name them in db_query's `keys` to ask for the raw
 * buffers, so they belong in the table that validates `keys`.
 */
const char *const db_record_keys[] = {
	"msg_id", "header", "metadata", "content", "buffers", "submitted",
	"client_uuid", "engine_uuid", "started", "completed", "resubmitted",
	"received", "result_header", "result_metadata", "result_content",
	"result_buffers", "queue", "execute_input", "execute_result", "error",
	"stdout", "stderr", NULL
};

static const char *const date_keys[] = {
	"submitted", "started", "completed", "received", NULL
};

/* Keys whose value must be a string or null (text columns in SQLite). */
static const char *const text_keys[] = {
	"msg_id", "client_uuid", "engine_uuid", "resubmitted", "queue",
	"execute_input", "stdout", "stderr", NULL
};

int
db_fail(int err, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	errno = err;
	return -1;
}

static int
in_list(const char *const *list, const char *key)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return 1;
	return 0;
}

void
db_bufs_release(struct db_bufs *b)
{
	int i;

	for (i = 0; i < b->n; i++) {
		if (b->v[i].zmsg != NULL) {
			zmq_msg_close(b->v[i].zmsg);
			free(b->v[i].zmsg);
		} else
			free(b->v[i].data);
	}
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

int
db_bufs_add(struct db_bufs *b, const void *data, size_t len)
{
	struct db_buf *v;
	void *copy;

	if (b->n == INT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	/* Never a NULL data pointer, even for an empty buffer: callers pass
	 * data straight to memcpy and zmq without special cases. */
	if ((copy = malloc(len ? len : 1)) == NULL)
		return -1;
	if ((v = reallocarray(b->v, b->n + 1, sizeof(*v))) == NULL) {
		free(copy);
		return -1;
	}
	if (len)
		memcpy(copy, data, len);
	v[b->n].data = copy;
	v[b->n].len = len;
	v[b->n].zmsg = NULL;
	b->v = v;
	b->n++;
	return 0;
}

/*
 * A request's buffers go to the engine and into the history at once.
 * Frames of SHARE_MIN bytes or more are kept by reference: zmq_msg_copy
 * shares a large message's content under an atomic count, so the relay
 * and the DB thread hold one copy of a 100 MB push between them, and the
 * last of the two to let go frees it.  Small frames are cheaper to copy
 * than to share.
 */
#define SHARE_MIN	65536

int
db_bufs_add_frame(struct db_bufs *b, void *zmsg)
{
	struct db_buf *v;
	zmq_msg_t *m;

	if (zmq_msg_size(zmsg) < SHARE_MIN)
		return db_bufs_add(b, zmq_msg_data(zmsg), zmq_msg_size(zmsg));
	if (b->n == INT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	if ((m = malloc(sizeof(*m))) == NULL)
		return -1;
	if ((v = reallocarray(b->v, b->n + 1, sizeof(*v))) == NULL) {
		free(m);
		return -1;
	}
	b->v = v;
	zmq_msg_init(m);
	if (zmq_msg_copy(m, zmsg) == -1) {
		zmq_msg_close(m);
		free(m);
		return -1;
	}
	v[b->n].data = zmq_msg_data(m);
	v[b->n].len = zmq_msg_size(m);
	v[b->n].zmsg = m;
	b->n++;
	return 0;
}

int
db_bufs_copy(struct db_bufs *dst, const struct db_bufs *src)
{
	struct db_bufs tmp = { NULL, 0 };
	int i;

	for (i = 0; i < src->n; i++) {
		if ((src->v[i].zmsg != NULL ? db_bufs_add_frame(&tmp,
		    src->v[i].zmsg) : db_bufs_add(&tmp, src->v[i].data,
		    src->v[i].len)) == -1) {
			db_bufs_release(&tmp);
			errno = ENOMEM;
			return -1;
		}
	}
	*dst = tmp;
	return 0;
}

size_t
db_bufs_size(const struct db_bufs *b)
{
	size_t total = 0;
	int i;

	for (i = 0; i < b->n; i++)
		total += b->v[i].len;
	return total;
}

void
db_record_init(struct db_record *r)
{
	r->fields = NULL;
	r->texts = NULL;
	r->buffers.v = NULL;
	r->buffers.n = 0;
	r->result_buffers.v = NULL;
	r->result_buffers.n = 0;
	r->fetched = 0;
}

void
db_record_release(struct db_record *r)
{
	json_decref(r->fields);
	db_bufs_release(&r->buffers);
	db_bufs_release(&r->result_buffers);
	db_record_init(r);
}

int
db_record_copy(struct db_record *dst, const struct db_record *src)
{
	struct db_record tmp;

	db_record_init(&tmp);
	if (src->fields != NULL &&
	    (tmp.fields = json_deep_copy(src->fields)) == NULL)
		goto fail;
	if (db_bufs_copy(&tmp.buffers, &src->buffers) == -1)
		goto fail;
	if (db_bufs_copy(&tmp.result_buffers, &src->result_buffers) == -1)
		goto fail;
	tmp.fetched = src->fetched;
	*dst = tmp;
	return 0;
fail:
	db_record_release(&tmp);
	errno = ENOMEM;
	return -1;
}

int
db_key_is_date(const char *key)
{
	return in_list(date_keys, key);
}

int
db_check_fields(const json_t *fields, const char *id, char *why,
    size_t whylen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(fields))
		return db_fail(EINVAL, why, whylen, "record fields must be an "
		    "object");
	if (id == NULL && !json_is_string(json_object_get(fields, "msg_id")))
		return db_fail(EINVAL, why, whylen, "record has no msg_id");
	json_object_foreach((json_t *)fields, key, v) {
		if (!in_list(db_record_keys, key) ||
		    strcmp(key, "buffers") == 0 ||
		    strcmp(key, "result_buffers") == 0)
			return db_fail(EINVAL, why, whylen, "bad key '%s'",
			    key);
		if (json_is_null(v))
			continue;
		if (db_key_is_date(key) && (!json_is_string(v) ||
		    ipp_iso_parse(json_string_value(v)) == -1))
			return db_fail(EINVAL, why, whylen, "%s: bad date",
			    key);
		if (in_list(text_keys, key) && !json_is_string(v))
			return db_fail(EINVAL, why, whylen, "%s: not text",
			    key);
	}
	if (id != NULL && (v = json_object_get(fields, "msg_id")) != NULL &&
	    (!json_is_string(v) || strcmp(json_string_value(v), id) != 0))
		return db_fail(EINVAL, why, whylen, "update cannot change "
		    "msg_id of '%s'", id);
	return 0;
}

void
db_usage_init(struct db_usage *u, const struct db_config *cfg)
{
	u->nrec = 0;
	u->bytes = 0;
	u->record_limit = cfg != NULL ? cfg->record_limit : 0;
	u->size_limit = cfg != NULL ? cfg->size_limit : 0;
}

void
db_usage_targets(const struct db_usage *u, long *nrec, long long *bytes)
{
	*nrec = LONG_MAX;
	*bytes = LLONG_MAX;
	if (u->record_limit > 0 && u->nrec > u->record_limit)
		*nrec = u->record_limit - u->record_limit / 10;
	if (u->size_limit > 0 && u->bytes > u->size_limit)
		*bytes = u->size_limit - u->size_limit / 10;
}

void
db_usage_stats(const struct db_usage *u, long *records, long long *bytes)
{
	if (records != NULL)
		*records = u->nrec;
	if (bytes != NULL)
		*bytes = u->bytes;
}

const struct db_ops *
db_backend_lookup(const char *name)
{
	/* The class names are what ipcontroller's HubFactory.db_class takes;
	 * accepting them lets an old config line carry over unchanged. */
	static const struct {
		const char		*name;
		const struct db_ops	*ops;
	} names[] = {
		{ "sqlite",	&db_sqlite_ops },
		{ "SQLiteDB",	&db_sqlite_ops },
		{ "memory",	&db_memory_ops },
		{ "dict",	&db_memory_ops },
		{ "DictDB",	&db_memory_ops },
		{ "none",	&db_none_ops },
		{ "NoDB",	&db_none_ops },
	};
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0)
			return names[i].ops;
	return NULL;
}

/*
 * The history holds every task's code, arguments and results: its file
 * and the -wal, -shm and -journal files beside it are the owner's alone
 * (0600).  SQLite gives those files the database file's mode, so making
 * the database file first, 0600, is enough for new ones; files an older
 * hubd left readable by others are tightened here, on every open.  The
 * messages say "sqlite", the backend whose files these are.
 */
int
db_owner_only(const char *path, char *why, size_t whylen)
{
	static const char *const side[] = { "", "-wal", "-shm", "-journal" };
	struct stat sb;
	char p[4096];
	size_t i;
	int fd, e;

	for (i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, side[i]) >=
		    sizeof(p))
			return db_fail(ENAMETOOLONG, why, whylen,
			    "sqlite: path too long: '%s'", path);
		fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
		    (i == 0 ? O_CREAT : 0), 0600);
		if (fd == -1 && i > 0 && errno == ENOENT)
			continue;
		if (fd == -1)
			return db_fail(errno, why, whylen,
			    "sqlite: cannot open '%s': %s", p, strerror(errno));
		if (fstat(fd, &sb) == 0 && (sb.st_mode & 077) != 0 &&
		    fchmod(fd, sb.st_mode & 0700) == -1) {
			e = errno;
			close(fd);
			return db_fail(e, why, whylen, "sqlite: cannot make "
			    "'%s' owner-only: %s", p, strerror(e));
		}
		close(fd);
	}
	return 0;
}
