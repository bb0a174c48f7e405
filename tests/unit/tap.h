/*
 * tap.h - a minimal TAP producer for the C unit tests.  Each test program
 * calls ok()/is_str()/..., then returns tap_done(), which prints the plan
 * and exits non-zero when any check failed.
 */
#ifndef TAP_H
#define TAP_H

int	ok_(int cond, const char *file, int line, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
int	is_str_(const char *got, const char *want, const char *file, int line,
	    const char *name);
int	is_int_(long long got, long long want, const char *file, int line,
	    const char *name);
void	diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	tap_done(void);

#define ok(cond, ...)	ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(g, w, n)	is_str_((g), (w), __FILE__, __LINE__, (n))
#define is_int(g, w, n)	is_int_((g), (w), __FILE__, __LINE__, (n))

#endif
