/*
 * common.h - what the load tools (loadgen, simengines) share: finding and
 * reading a connection file from --file or --profile-dir/--cluster-id,
 * the zmq sockets they connect to a controller, the way they start up
 * and stop on a signal, and the cpu_s line their reports end with.  The
 * file is linked into each tool; it is not a program of its own.
 */
#ifndef TOOLS_COMMON_H
#define TOOLS_COMMON_H

#include <signal.h>
#include <stddef.h>

#include "ipp.h"

/* Set by SIGINT and SIGTERM once tool_start has run. */
extern volatile sig_atomic_t tool_quit;

/*
 * Where the controller is: --file, else the profile's connection file of
 * a flavour ("client", "engine").  tool_conn_opt takes the three options
 * in a getopt loop (1: it was one of them); tool_connfile fills an empty
 * file name from the profile and leaves a given one alone.
 */
struct tool_conn {
	char		 file[1200];
	const char	*profile_dir;
	const char	*cluster_id;
};

/* The --file, --profile-dir and --cluster-id option letters. */
#define TOOL_CONN_OPTS							\
	{ "file", required_argument, NULL, 'f' },			\
	{ "profile-dir", required_argument, NULL, 'p' },		\
	{ "cluster-id", required_argument, NULL, 'c' }

int	 tool_conn_opt(struct tool_conn *, int ch, const char *arg);
void	 tool_connfile(const struct tool_conn *, const char *which,
	    char *file, size_t len);
void	 tool_conninfo_load(const char *file, struct ipp_conninfo *);

void	 tool_start(const char *name);
void	*tool_socket(void *zctx, int type, const char *url);
void	*tool_socket_port(void *zctx, int type, const struct ipp_conninfo *,
	    int port);
void	 tool_print_cpu(void);

#endif /* TOOLS_COMMON_H */
