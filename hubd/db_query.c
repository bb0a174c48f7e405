/*
 * db_query.c - the mongo-style queries of db_query requests, evaluated
 * against one record's JSON fields.  Every backend filters with this code
 * (SQLite only narrows by msg_id in SQL first), so all of them answer a
 * query the same way.
 *
 * Semantics follow ipyparallel's DictDB, except where DictDB is plainly
 * wrong: $gt is "greater than" (DictDB's is inverted) and $all means the
 * record's array holds every listed value, as in MongoDB.  A key missing
 * from a record reads as null, so {"completed": null} finds pending tasks
 * and {"completed": {"$ne": null}} finished ones.  Dates are compared as
 * instants, so "...T01:00:00Z" equals "...T02:00:00+01:00"; clients send
 * query dates in whatever form their datetime produced.
 *
 * A query is validated as a whole before any record is looked at, so a
 * typo fails with EINVAL even when an earlier key already rules a record
 * out.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ipp.h"
#include "db.h"

enum qop {
	Q_EQ, Q_NE, Q_LT, Q_GT, Q_LTE, Q_GTE, Q_IN, Q_NIN, Q_ALL, Q_MOD,
	Q_EXISTS
};

static const struct {
	const char	*name;
	enum qop	 op;
} qops[] = {
	{ "$eq", Q_EQ }, { "$ne", Q_NE }, { "$lt", Q_LT }, { "$gt", Q_GT },
	{ "$lte", Q_LTE }, { "$gte", Q_GTE }, { "$in", Q_IN },
	{ "$nin", Q_NIN }, { "$all", Q_ALL }, { "$mod", Q_MOD },
	{ "$exists", Q_EXISTS },
};

static int
lookup_op(const char *name, enum qop *op)
{
	size_t i;

	for (i = 0; i < sizeof(qops) / sizeof(qops[0]); i++) {
		if (strcmp(name, qops[i].name) == 0) {
			*op = qops[i].op;
			return 0;
		}
	}
	return -1;
}

/*
 * An object is an operator list when its keys start with '$'; any other
 * object is a literal to compare with (a whole header, say).
 */
static int
is_oplist(const json_t *cond)
{
	const char *k;
	json_t *v;

	if (!json_is_object(cond))
		return 0;
	json_object_foreach((json_t *)cond, k, v)
		if (k[0] == '$')
			return 1;
	return 0;
}

static int
is_null(const json_t *v)
{
	return v == NULL || json_is_null(v);
}

static double
instant(const json_t *v)
{
	return json_is_string(v) ? ipp_iso_parse(json_string_value(v)) : -1;
}

/* Python's ==: numbers by value whatever their JSON spelling, containers
 * element by element. */
static int
same(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *va;
	size_t i;

	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!same(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, k, va) {
			json_t *vb = json_object_get(b, k);

			if (vb == NULL || !same(va, vb))
				return 0;
		}
		return 1;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

static int
equal(const char *key, const json_t *val, const json_t *arg)
{
	double ta, tb;

	if (is_null(val) || is_null(arg))
		return is_null(val) && is_null(arg);
	if (db_key_is_date(key) && json_is_string(val) &&
	    json_is_string(arg) && (ta = instant(val)) != -1 &&
	    (tb = instant(arg)) != -1)
		return ta == tb;
	return same(val, arg);
}

/*
 * Order two values: 0 with *cmp set, or -1 when they have no order (null,
 * mixed types, containers), which makes every ordering test fail as it
 * does in SQL.
 */
static int
order(const char *key, const json_t *a, const json_t *b, int *cmp)
{
	double x, y;
	size_t la, lb;
	int c;

	if (is_null(a) || is_null(b))
		return -1;
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t i = json_integer_value(a), j = json_integer_value(b);

		*cmp = (i > j) - (i < j);
		return 0;
	}
	if (json_is_number(a) && json_is_number(b)) {
		x = json_number_value(a);
		y = json_number_value(b);
		if (isnan(x) || isnan(y))
			return -1;
		*cmp = (x > y) - (x < y);
		return 0;
	}
	if (json_is_boolean(a) && json_is_boolean(b)) {
		*cmp = json_is_true(a) - json_is_true(b);
		return 0;
	}
	if (!json_is_string(a) || !json_is_string(b))
		return -1;
	if (db_key_is_date(key) && (x = instant(a)) != -1 &&
	    (y = instant(b)) != -1) {
		*cmp = (x > y) - (x < y);
		return 0;
	}
	/* Bytewise on UTF-8 is code point order, which is Python's. */
	la = json_string_length(a);
	lb = json_string_length(b);
	c = memcmp(json_string_value(a), json_string_value(b),
	    la < lb ? la : lb);
	*cmp = c != 0 ? (c > 0) - (c < 0) : (la > lb) - (la < lb);
	return 0;
}

static int
contains(const char *key, const json_t *list, const json_t *val)
{
	size_t i;

	for (i = 0; i < json_array_size(list); i++)
		if (equal(key, val, json_array_get(list, i)))
			return 1;
	return 0;
}

/* Python's %: the remainder takes the divisor's sign. */
static int
mod_matches(const json_t *val, const json_t *arg)
{
	const json_t *d = json_array_get(arg, 0), *r = json_array_get(arg, 1);
	double fv, fd, fr;

	if (!json_is_number(val))
		return 0;
	if (json_is_integer(val) && json_is_integer(d)) {
		json_int_t iv = json_integer_value(val);
		json_int_t id = json_integer_value(d), ir;

		ir = id == -1 ? 0 : iv % id;
		if (ir != 0 && (ir < 0) != (id < 0))
			ir += id;
		if (json_is_integer(r))
			return ir == json_integer_value(r);
		return (double)ir == json_number_value(r);
	}
	fv = json_number_value(val);
	fd = json_number_value(d);
	fr = fmod(fv, fd);
	if (fr != 0 && (fr < 0) != (fd < 0))
		fr += fd;
	return fr == json_number_value(r);
}

static int
test_op(const char *key, enum qop op, const json_t *arg, const json_t *val)
{
	int cmp;
	size_t i;

	switch (op) {
	case Q_EQ:
		return equal(key, val, arg);
	case Q_NE:
		return !equal(key, val, arg);
	case Q_LT:
		return order(key, val, arg, &cmp) == 0 && cmp < 0;
	case Q_GT:
		return order(key, val, arg, &cmp) == 0 && cmp > 0;
	case Q_LTE:
		return order(key, val, arg, &cmp) == 0 && cmp <= 0;
	case Q_GTE:
		return order(key, val, arg, &cmp) == 0 && cmp >= 0;
	case Q_IN:
		return contains(key, arg, val);
	case Q_NIN:
		return !contains(key, arg, val);
	case Q_ALL:
		if (json_array_size(arg) == 0)
			return 0;
		for (i = 0; i < json_array_size(arg); i++) {
			const json_t *want = json_array_get(arg, i);

			if (json_is_array(val) ? !contains(key, val, want) :
			    !equal(key, val, want))
				return 0;
		}
		return 1;
	case Q_MOD:
		return mod_matches(val, arg);
	case Q_EXISTS:
		return (json_is_true(arg) || json_integer_value(arg) != 0) ==
		    !is_null(val);
	}
	return 0;
}

/* A value a date key is compared with: an ISO date, or null when allowed. */
static int
check_date(const char *key, const char *opname, const json_t *v,
    int null_ok, char *why, size_t whylen)
{
	if (is_null(v) && null_ok)
		return 0;
	if (!json_is_string(v) || ipp_iso_parse(json_string_value(v)) == -1)
		return db_fail(EINVAL, why, whylen, "%s: %s needs an ISO-8601 date%s", key,
		    opname, null_ok ? " or null" : "");
	return 0;
}

static int
check_op(const char *key, const char *opname, const json_t *arg, char *why,
    size_t whylen)
{
	int date = db_key_is_date(key);
	enum qop op;
	size_t i;

	if (lookup_op(opname, &op) == -1)
		return db_fail(EINVAL, why, whylen, "%s: unsupported operator '%s'", key,
		    opname);
	switch (op) {
	case Q_EQ:
	case Q_NE:
		return date ? check_date(key, opname, arg, 1, why, whylen) : 0;
	case Q_LT:
	case Q_GT:
	case Q_LTE:
	case Q_GTE:
		if (date)
			return check_date(key, opname, arg, 0, why, whylen);
		if (!json_is_number(arg) && !json_is_string(arg) &&
		    !json_is_boolean(arg))
			return db_fail(EINVAL, why, whylen, "%s: %s needs a number or a "
			    "string", key, opname);
		return 0;
	case Q_IN:
	case Q_NIN:
	case Q_ALL:
		if (!json_is_array(arg))
			return db_fail(EINVAL, why, whylen, "%s: %s needs a list", key,
			    opname);
		for (i = 0; date && i < json_array_size(arg); i++)
			if (check_date(key, opname, json_array_get(arg, i), 1,
			    why, whylen) == -1)
				return -1;
		return 0;
	case Q_MOD:
		if (json_array_size(arg) != 2 ||
		    !json_is_number(json_array_get(arg, 0)) ||
		    !json_is_number(json_array_get(arg, 1)))
			return db_fail(EINVAL, why, whylen, "%s: $mod needs [divisor, "
			    "remainder]", key);
		if (json_number_value(json_array_get(arg, 0)) == 0)
			return db_fail(EINVAL, why, whylen, "%s: $mod by zero", key);
		return 0;
	case Q_EXISTS:
		if (!json_is_boolean(arg) && !json_is_integer(arg))
			return db_fail(EINVAL, why, whylen, "%s: $exists needs true or "
			    "false", key);
		return 0;
	}
	return 0;
}

static int
check_cond(const char *key, const json_t *cond, char *why, size_t whylen)
{
	const char *opname;
	json_t *arg;

	if (!is_oplist(cond)) {
		if (db_key_is_date(key))
			return check_date(key, "equality", cond, 1, why,
			    whylen);
		return 0;
	}
	json_object_foreach((json_t *)cond, opname, arg) {
		if (opname[0] != '$')
			return db_fail(EINVAL, why, whylen, "%s: '%s' mixed with operators",
			    key, opname);
		if (check_op(key, opname, arg, why, whylen) == -1)
			return -1;
	}
	return 0;
}

int
db_query_check(const json_t *query, char *why, size_t whylen)
{
	const char *key;
	json_t *cond;
	size_t i;

	if (!json_is_object(query))
		return db_fail(EINVAL, why, whylen, "query must be an object");
	json_object_foreach((json_t *)query, key, cond) {
		for (i = 0; db_record_keys[i] != NULL; i++)
			if (strcmp(key, db_record_keys[i]) == 0)
				break;
		if (db_record_keys[i] == NULL)
			return db_fail(EINVAL, why, whylen, "illegal testing key '%s'",
			    key);
		/* The buffers are raw bytes outside the JSON record: there
		 * is nothing a JSON value could be compared with. */
		if (strcmp(key, "buffers") == 0 ||
		    strcmp(key, "result_buffers") == 0)
			return db_fail(EINVAL, why, whylen, "cannot query '%s'", key);
		if (check_cond(key, cond, why, whylen) == -1)
			return -1;
	}
	return 0;
}

int
db_query_match(const json_t *query, const json_t *fields, char *why,
    size_t whylen)
{
	const char *key, *opname;
	json_t *cond, *arg;
	const json_t *val;
	enum qop op;

	if (db_query_check(query, why, whylen) == -1)
		return -1;
	json_object_foreach((json_t *)query, key, cond) {
		val = json_is_object(fields) ? json_object_get(fields, key) :
		    NULL;
		if (!is_oplist(cond)) {
			if (!equal(key, val, cond))
				return 0;
			continue;
		}
		json_object_foreach(cond, opname, arg) {
			if (lookup_op(opname, &op) == -1)
				return db_fail(EINVAL, why, whylen, "%s: unsupported "
				    "operator '%s'", key, opname);
			if (!test_op(key, op, arg, val))
				return 0;
		}
	}
	return 1;
}

/* The ids a query is limited to as JSON array text, or NULL when it
 * names none.  {"msg_id": {"$in": [...]}} is what the hub itself sends. */
char *
db_query_ids(const json_t *query)
{
	const json_t *c = json_object_get(query, "msg_id"), *a;
	json_t *list;
	char *text;

	if (json_is_array(a = json_object_get(c, "$in")))
		return json_dumps(a, JSON_COMPACT);
	if (!json_is_string(a = c) &&
	    !json_is_string(a = json_object_get(c, "$eq")))
		return NULL;
	list = json_pack("[O]", a);
	text = list != NULL ? json_dumps(list, JSON_COMPACT) : NULL;
	json_decref(list);
	return text;
}

int
db_query_is_pending(const json_t *query)
{
	return json_object_size(query) == 1 &&
	    json_is_null(json_object_get(query, "completed"));
}
