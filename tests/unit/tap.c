/*
 * tap.c - see tap.h.  Output is TAP version 13 on stdout; diagnostics go
 * to stdout prefixed with '#', as prove expects.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

static int ntests, nfailed;

static int
report(int cond, const char *file, int line, const char *name)
{
	ntests++;
	if (!cond)
		nfailed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", ntests, name);
	if (!cond)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
	return cond;
}

int
ok_(int cond, const char *file, int line, const char *fmt, ...)
{
	char name[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return report(cond, file, line, name);
}

int
is_str_(const char *got, const char *want, const char *file, int line,
    const char *name)
{
	int cond = got != NULL && want != NULL && strcmp(got, want) == 0;

	report(cond, file, line, name);
	if (!cond)
		printf("#   got: '%s'\n#  want: '%s'\n", got ? got : "(null)",
		    want ? want : "(null)");
	return cond;
}

int
is_int_(long long got, long long want, const char *file, int line,
    const char *name)
{
	int cond = got == want;

	report(cond, file, line, name);
	if (!cond)
		printf("#   got: %lld\n#  want: %lld\n", got, want);
	return cond;
}

void
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

int
tap_done(void)
{
	printf("1..%d\n", ntests);
	if (nfailed)
		printf("# %d of %d checks failed\n", nfailed, ntests);
	return nfailed ? 1 : 0;
}
