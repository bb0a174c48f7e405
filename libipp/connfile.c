/*
 * connfile.c - ipcontroller-client.json and ipcontroller-engine.json.
 *
 * The controller writes both (mode 0600 in a 0700 security directory);
 * engines read the engine file and clients the client file.  Field names
 * and shapes are ipyparallel 7.1's: "broadcast" is one port in the client
 * file and a list of leaf ports in the engine file; "curve_serverkey" is
 * null unless CurveZMQ is on.  Unknown fields are ignored when reading so
 * that files from newer controllers still load.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipp.h"

/*
 * A string field, whole or not at all: a key cut short would sign with a
 * different key.  Names the field in *bad when it does not fit.
 */
static void
get_str(json_t *o, const char *k, char *buf, size_t len, const char *dflt,
    const char **bad)
{
	json_t *v = json_object_get(o, k);

	if (json_is_string(v) && json_string_length(v) >= len) {
		*bad = k;
		v = NULL;
	}
	snprintf(buf, len, "%s", json_is_string(v) ? json_string_value(v) :
	    dflt);
}

static int
get_port(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (json_is_integer(v) && json_integer_value(v) > 0 &&
	    json_integer_value(v) < 65536)
		return (int)json_integer_value(v);
	return 0;
}

int
ipp_conninfo_load(const char *path, struct ipp_conninfo *ci, char *why,
    size_t whylen)
{
	struct ipp_conninfo c;
	json_error_t jerr;
	json_t *o, *b;
	const char *bad = NULL;
	size_t i;

	memset(&c, 0, sizeof(c));
	/* jansson sets errno only when the file cannot be read */
	errno = 0;
	if ((o = json_load_file(path, 0, &jerr)) == NULL) {
		int e = errno;

		if (why != NULL)
			snprintf(why, whylen, "cannot load '%s': %s", path,
			    jerr.text);
		errno = e == 0 ? EINVAL : e;
		return -1;
	}
	if (!json_is_object(o) || !json_is_string(json_object_get(o,
	    "interface")) || get_port(o, "registration") == 0) {
		if (why != NULL)
			snprintf(why, whylen, "'%s' is not a connection file "
			    "(needs interface and registration)", path);
		json_decref(o);
		errno = EINVAL;
		return -1;
	}
	get_str(o, "interface", c.interface, sizeof(c.interface), "", &bad);
	get_str(o, "location", c.location, sizeof(c.location), "", &bad);
	get_str(o, "ssh", c.ssh, sizeof(c.ssh), "", &bad);
	get_str(o, "key", c.key, sizeof(c.key), "", &bad);
	get_str(o, "signature_scheme", c.signature_scheme,
	    sizeof(c.signature_scheme), "hmac-sha256", &bad);
	get_str(o, "task_scheme", c.task_scheme, sizeof(c.task_scheme),
	    "leastload", &bad);
	get_str(o, "curve_serverkey", c.curve_serverkey,
	    sizeof(c.curve_serverkey), "", &bad);
	c.registration = get_port(o, "registration");
	c.control = get_port(o, "control");
	c.mux = get_port(o, "mux");
	c.task = get_port(o, "task");
	c.iopub = get_port(o, "iopub");
	c.notification = get_port(o, "notification");
	c.hb_ping = get_port(o, "hb_ping");
	c.hb_pong = get_port(o, "hb_pong");
	b = json_object_get(o, "broadcast");
	if (json_is_integer(b))
		c.broadcast[c.nbroadcast++] = get_port(o, "broadcast");
	else if (json_is_array(b))
		for (i = 0; i < json_array_size(b) && c.nbroadcast < 8; i++)
			if (json_is_integer(json_array_get(b, i)))
				c.broadcast[c.nbroadcast++] = (int)
				    json_integer_value(json_array_get(b, i));
	json_decref(o);
	if (bad != NULL) {
		if (why != NULL)
			snprintf(why, whylen, "'%s' in '%s' is too long", bad,
			    path);
		errno = ENAMETOOLONG;
		return -1;
	}
	if (strcmp(c.signature_scheme, "hmac-sha256") != 0) {
		if (why != NULL)
			snprintf(why, whylen, "unsupported signature_scheme "
			    "'%s' in '%s'", c.signature_scheme, path);
		errno = ENOTSUP;
		return -1;
	}
	*ci = c;
	return 0;
}

int
ipp_conninfo_save(const char *path, const struct ipp_conninfo *c, int engine)
{
	json_t *o, *b;
	char *txt;
	int i, rc;

	o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:s, s:s, "
	    "s:s, s:s}", "ssh", c->ssh, "interface", c->interface,
	    "registration", c->registration, "control", c->control, "mux",
	    c->mux, "task", c->task, "iopub", c->iopub, "key", c->key,
	    "location", c->location, "pack", "json", "unpack", "json",
	    "signature_scheme", c->signature_scheme);
	if (o == NULL) {
		errno = ENOMEM;
		return -1;
	}
	json_object_set_new(o, "curve_serverkey", c->curve_serverkey[0] ?
	    json_string(c->curve_serverkey) : json_null());
	if (engine) {
		json_object_set_new(o, "hb_ping", json_integer(c->hb_ping));
		json_object_set_new(o, "hb_pong", json_integer(c->hb_pong));
		b = json_array();
		for (i = 0; i < c->nbroadcast; i++)
			json_array_append_new(b, json_integer(c->broadcast[i]));
		json_object_set_new(o, "broadcast", b);
	} else {
		json_object_set_new(o, "notification",
		    json_integer(c->notification));
		json_object_set_new(o, "task_scheme",
		    json_string(c->task_scheme));
		json_object_set_new(o, "broadcast",
		    json_integer(c->broadcast[0]));
	}
	txt = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (txt == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = ipp_write_file(path, txt, strlen(txt), 0600);
	free(txt);
	return rc;
}

void
ipp_conninfo_url(const struct ipp_conninfo *c, int port, char *buf,
    size_t len)
{
	/* ipc endpoints name a path, so the port becomes a suffix */
	if (strncmp(c->interface, "ipc://", 6) == 0)
		snprintf(buf, len, "%s-%d", c->interface, port);
	else
		snprintf(buf, len, "%s:%d", c->interface, port);
}
