/*
 * db_common.c - the pieces every task-history backend shares: buffer lists
 * and records (init, copy, release), the table of record keys, and the
 * lookup that turns a --db name into a backend.  Query matching lives in
 * db_query.c; the backends are db_memory.c, db_sqlite.c and db_none.c.
 *
 * Copies are deep and all-or-nothing: a copy that runs out of memory frees
 * what it built and leaves its destination untouched, so callers never see
 * half a record.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

void
db_bufs_release(struct db_bufs *b)
{
	int i;

	for (i = 0; i < b->n; i++)
		free(b->v[i].data);
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
	b->v = v;
	b->n++;
	return 0;
}

int
db_bufs_copy(struct db_bufs *dst, const struct db_bufs *src)
{
	struct db_bufs tmp = { NULL, 0 };
	int i;

	for (i = 0; i < src->n; i++) {
		if (db_bufs_add(&tmp, src->v[i].data, src->v[i].len) == -1) {
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
	int i;

	for (i = 0; date_keys[i] != NULL; i++)
		if (strcmp(key, date_keys[i]) == 0)
			return 1;
	return 0;
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
