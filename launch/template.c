/*
 * template.c - batch script templates in the dialect of ipyparallel's
 * batch launchers, which use Python's str.format: "{n}", "{queue}",
 * "{profile_dir}", "{cluster_id}", "{program_and_args}", "{{" and "}}" for
 * literal braces.  ipyparallel users also write simple arithmetic such as
 * "{n//4}" (it evaluates the template with a formatter that allows
 * expressions), so a field may be an integer expression over the integer
 * variables with + - * // % and parentheses.
 *
 * Variables come as a JSON object; strings are substituted as they are,
 * integers may take part in expressions.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "launch.h"

struct expr {
	const char	*p;
	const char	*end;
	json_t		*vars;
	char		*why;
	size_t		 whylen;
	int		 failed;
};

static long long expr_sum(struct expr *);

static void
skip_blanks(struct expr *e)
{
	while (e->p < e->end && isspace((unsigned char)*e->p))
		e->p++;
}

static long long
expr_fail(struct expr *e, const char *what)
{
	if (!e->failed)
		snprintf(e->why, e->whylen, "%s at '%.*s'", what,
		    (int)(e->end - e->p), e->p);
	e->failed = 1;
	return 0;
}

static long long
expr_atom(struct expr *e)
{
	const char *s;
	char name[128];
	json_t *v;
	long long x;

	skip_blanks(e);
	if (e->p >= e->end)
		return expr_fail(e, "missing value");
	if (*e->p == '(') {
		e->p++;
		x = expr_sum(e);
		skip_blanks(e);
		if (e->p >= e->end || *e->p != ')')
			return expr_fail(e, "missing ')'");
		e->p++;
		return x;
	}
	if (*e->p == '-') {
		e->p++;
		return -expr_atom(e);
	}
	if (isdigit((unsigned char)*e->p)) {
		x = 0;
		while (e->p < e->end && isdigit((unsigned char)*e->p))
			x = x * 10 + (*e->p++ - '0');
		return x;
	}
	s = e->p;
	while (e->p < e->end && (isalnum((unsigned char)*e->p) ||
	    *e->p == '_'))
		e->p++;
	if (e->p == s || (size_t)(e->p - s) >= sizeof(name))
		return expr_fail(e, "bad expression");
	snprintf(name, sizeof(name), "%.*s", (int)(e->p - s), s);
	if ((v = json_object_get(e->vars, name)) == NULL) {
		e->p = s;
		return expr_fail(e, "unknown name");
	}
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v) && *json_string_value(v) != '\0') {
		char *end;

		x = strtoll(json_string_value(v), &end, 10);
		if (*end == '\0')
			return x;
	}
	e->p = s;
	return expr_fail(e, "not a number");
}

static long long
expr_product(struct expr *e)
{
	long long x, y;
	int op;

	x = expr_atom(e);
	for (;;) {
		skip_blanks(e);
		if (e->p >= e->end)
			return x;
		if (*e->p == '*')
			op = '*';
		else if (e->p + 1 < e->end && e->p[0] == '/' && e->p[1] == '/')
			op = '/';
		else if (*e->p == '%')
			op = '%';
		else
			return x;
		e->p += op == '/' ? 2 : 1;
		y = expr_atom(e);
		if (op == '*')
			x *= y;
		else if (y == 0)
			return expr_fail(e, "division by zero");
		else {
			/* Python floors, C truncates toward zero */
			long long q = x / y, r = x % y;

			if (r != 0 && (r < 0) != (y < 0)) {
				q--;
				r += y;
			}
			x = op == '/' ? q : r;
		}
	}
}

static long long
expr_sum(struct expr *e)
{
	long long x;
	int op;

	x = expr_product(e);
	for (;;) {
		skip_blanks(e);
		if (e->p >= e->end || (*e->p != '+' && *e->p != '-'))
			return x;
		op = *e->p++;
		x = op == '+' ? x + expr_product(e) : x - expr_product(e);
	}
}

/* Append the value of one field "{...}" (without braces) to out. */
static int
field(FILE *out, const char *s, size_t len, json_t *vars, char *why,
    size_t whylen)
{
	struct expr e;
	char name[128];
	json_t *v;
	long long x;

	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len > 0 && len < sizeof(name)) {
		snprintf(name, sizeof(name), "%.*s", (int)len, s);
		if ((v = json_object_get(vars, name)) != NULL) {
			if (json_is_string(v))
				fputs(json_string_value(v), out);
			else if (json_is_integer(v))
				fprintf(out, "%lld",
				    (long long)json_integer_value(v));
			else {
				char *t = ipp_json_dump(v);

				fputs(t ? t : "", out);
				free(t);
			}
			return 0;
		}
	}
	e.p = s;
	e.end = s + len;
	e.vars = vars;
	e.why = why;
	e.whylen = whylen;
	e.failed = 0;
	x = expr_sum(&e);
	skip_blanks(&e);
	if (!e.failed && e.p != e.end)
		expr_fail(&e, "unexpected text");
	if (e.failed)
		return -1;
	fprintf(out, "%lld", x);
	return 0;
}

/*
 * Render tmpl with vars: a malloc'd string, or NULL with errno EINVAL and
 * the field that failed in why.
 */
char *
template_render(const char *tmpl, json_t *vars, char *why, size_t whylen)
{
	const char *p, *close;
	char *buf = NULL, sub[256];
	size_t size = 0;
	FILE *out;

	if ((out = open_memstream(&buf, &size)) == NULL)
		return NULL;
	for (p = tmpl; *p != '\0'; p++) {
		if (p[0] == '{' && p[1] == '{') {
			fputc('{', out);
			p++;
		} else if (p[0] == '}' && p[1] == '}') {
			fputc('}', out);
			p++;
		} else if (*p == '{') {
			if ((close = strchr(p, '}')) == NULL) {
				snprintf(why, whylen, "unclosed '{' in "
				    "template at '%.20s'", p);
				goto fail;
			}
			if (field(out, p + 1, close - p - 1, vars, sub,
			    sizeof(sub)) == -1) {
				snprintf(why, whylen, "cannot render "
				    "'%.*s': %s", (int)(close - p + 1), p, sub);
				goto fail;
			}
			p = close;
		} else
			fputc(*p, out);
	}
	if (fclose(out) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
fail:
	fclose(out);
	free(buf);
	errno = EINVAL;
	return NULL;
}
