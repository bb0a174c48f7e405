/*
 * log.c - the one logging vocabulary of the daemons, after OpenBSD's
 * log.c: log_warn (appends strerror(errno)), log_warnx, log_info,
 * log_debug, and fatal/fatalx which log and exit(1), plus log_rate_warnx
 * for what peers can repeat at will.  Lines carry a UTC
 * timestamp, the program name and the level, and go to stderr or to a
 * file in the profile's log directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ipp.h"

static const char *log_name = "ipp";
static int log_level = LOG_LVL_INFO;
static FILE *log_fp;

int
log_init(const char *name, int level, const char *path)
{
	FILE *fp = NULL;

	if (path != NULL && (fp = fopen(path, "a")) == NULL)
		return -1;
	if (log_fp != NULL && log_fp != stderr)
		fclose(log_fp);
	log_fp = fp;
	if (log_fp != NULL)
		setvbuf(log_fp, NULL, _IOLBF, 0);
	log_name = name;
	log_level = level;
	return 0;
}

void
log_setlevel(int l)
{
	log_level = l;
}

int
log_getlevel(void)
{
	return log_level;
}

int
log_parselevel(const char *s)
{
	static const struct { const char *n; int l; } tab[] = {
		{ "debug", LOG_LVL_DEBUG }, { "info", LOG_LVL_INFO },
		{ "warn", LOG_LVL_WARN }, { "warning", LOG_LVL_WARN },
		{ "error", LOG_LVL_ERROR }, { "critical", LOG_LVL_CRITICAL },
	};
	char *end;
	long v;
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcasecmp(s, tab[i].n) == 0)
			return tab[i].l;
	v = strtol(s, &end, 10);
	if (*s != '\0' && *end == '\0' && v >= 0 && v <= 100)
		return (int)v;
	return -1;
}

static void
vlog(int level, const char *tag, const char *fmt, va_list ap, int errnum)
{
	char ts[40], msg[4096];
	FILE *fp = log_fp ? log_fp : stderr;

	if (level < log_level)
		return;
	ipp_iso_now(ts, sizeof(ts));
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum)
		fprintf(fp, "%.23s %s[%ld] %s: %s: %s\n", ts, log_name,
		    (long)getpid(), tag, msg, strerror(errnum));
	else
		fprintf(fp, "%.23s %s[%ld] %s: %s\n", ts, log_name,
		    (long)getpid(), tag, msg);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, "warning", fmt, ap, e);
	va_end(ap);
	errno = e;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, "warning", fmt, ap, 0);
	va_end(ap);
}

void
log_rate_flush(struct ipp_lograte *rl, double now)
{
	if (now - rl->start < IPP_LOGRATE_PERIOD)
		return;
	if (rl->suppressed > 0)
		log_warnx("%ld more like this in %.0f s not logged; the latest: "
		    "%s", rl->suppressed, now - rl->start, rl->last);
	rl->start = now;
	rl->shown = rl->suppressed = 0;
}

void
log_rate_warnx(struct ipp_lograte *rl, const char *fmt, ...)
{
	va_list ap;

	if (LOG_LVL_WARN < log_level)
		return;
	log_rate_flush(rl, ipp_monotonic());
	va_start(ap, fmt);
	if (rl->shown < IPP_LOGRATE_BURST) {
		rl->shown++;
		vlog(LOG_LVL_WARN, "warning", fmt, ap, 0);
	} else {
		rl->suppressed++;
		vsnprintf(rl->last, sizeof(rl->last), fmt, ap);
	}
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_INFO, "info", fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_DEBUG, "debug", fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vlog(LOG_LVL_CRITICAL, "fatal", fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_CRITICAL, "fatal", fmt, ap, 0);
	va_end(ap);
	exit(1);
}
