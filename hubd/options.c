/*
 * options.c - hubd's command line, which accepts ipcontroller's so that
 * existing tooling (ipcluster, ipyparallel.Cluster, scripts) can start
 * hubd in its place.  Options are "--name=value" or "--name value";
 * traitlets-style "--Class.trait=value" settings are mapped when hubd has
 * an equivalent and otherwise warned about and ignored.  The same table
 * of traits applies the profile's ipcontroller_config.py/.json
 * (libipp/pyconf.c evaluates them), under the command line.
 *
 * The option table drives both parsing and -h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hubd.h"

static long
num(const char *v, const char *what, long lo, long hi)
{
	return ipp_opt_long(v, what, lo, hi);
}

#define SETSTR(fn, field) static void fn(void *cfg, const char *v) { \
    struct hub_config *c = cfg; \
    ipp_opt_copy(c->field, sizeof(c->field), v, #field); }

SETSTR(set_profile, profile)
SETSTR(set_profile_dir, profile_dir)
SETSTR(set_cluster_id, cluster_id)
SETSTR(set_ip, ip)
SETSTR(set_location, location)
SETSTR(set_ssh, ssh)
SETSTR(set_enginessh, enginessh)
SETSTR(set_transport, transport)
SETSTR(set_db_path, db_path)
SETSTR(set_db_table, db_table)

static void
set_ping(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	c->ping_ms = (int)num(v, "--ping (milliseconds)", 10, 3600000);
}

static void
set_misses(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	c->max_misses = (int)num(v, "--max-misses", 1, 1000000);
}

static void
set_hwm(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	c->hwm = (int)num(v, "--hwm", 0, 1000000);
}

static void
set_scheme(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	if (sched_lookup(v) == NULL)
		fatalx("unknown scheme '%s' (leastload, lru, plainrandom, "
		    "twobin, weighted, pure)", v);
	ipp_opt_copy(c->scheme, sizeof(c->scheme), v, "scheme");
}

static void
set_log_level(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	if ((c->log_level = log_parselevel(v)) == -1)
		fatalx("invalid --log-level '%s' (DEBUG, INFO, WARN, ERROR, "
		    "CRITICAL or a number)", v);
}

static void
set_record_limit(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	c->record_limit = num(v, "--record-limit", 0, 1L << 40);
}

static void
set_size_limit(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	c->size_limit = num(v, "--size-limit (bytes)", 0, 1L << 50);
}

static void
set_db_backlog(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	c->db_backlog = num(v, "--db-backlog", 0, 1L << 30);
}

/* "10101-10120" or "10101,10105,10110" or a single port */
static void
set_ports(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	char buf[512], *tok, *save = NULL, *dash;
	long a, b;

	ipp_opt_copy(buf, sizeof(buf), v, "--ports");
	c->nports = 0;
	for (tok = strtok_r(buf, ", []", &save); tok != NULL;
	    tok = strtok_r(NULL, ", []", &save)) {
		if ((dash = strchr(tok, '-')) != NULL) {
			*dash = '\0';
			a = num(tok, "--ports", 1, 65535);
			b = num(dash + 1, "--ports", a, 65535);
		} else
			a = b = num(tok, "--ports", 1, 65535);
		for (; a <= b; a++) {
			if (c->nports == (int)(sizeof(c->ports) /
			    sizeof(c->ports[0])))
				return;
			/* ports are taken from the end: store in reverse */
			memmove(&c->ports[1], &c->ports[0],
			    (size_t)c->nports * sizeof(c->ports[0]));
			c->ports[0] = (int)a;
			c->nports++;
		}
	}
}

static void
set_reuse(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	c->reuse = 1;
}
static void
set_restore(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	c->restore = c->reuse = 1;
}
static void
set_sqlite(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	snprintf(c->db, sizeof(c->db), "sqlite");
}
static void
set_dictdb(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	snprintf(c->db, sizeof(c->db), "memory");
}
static void
set_nodb(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	snprintf(c->db, sizeof(c->db), "none");
}
/* ipcontroller's db_class: a class name (any module path) or an alias */
static void
set_db_class(void *cfg, const char *v)
{
	static const struct { const char *name, *db; } tab[] = {
		{ "sqlitedb", "sqlite" }, { "sqlite", "sqlite" },
		{ "dictdb", "memory" }, { "memory", "memory" },
		{ "nodb", "none" }, { "none", "none" },
	};
	struct hub_config *c = cfg;
	const char *base = strrchr(v, '.') ? strrchr(v, '.') + 1 : v;
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcasecmp(base, tab[i].name) == 0) {
			snprintf(c->db, sizeof(c->db), "%s", tab[i].db);
			return;
		}
	fatalx("unsupported db class '%s' (SQLiteDB, DictDB or NoDB)", v);
}

static void
set_log_to_file(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	c->log_to_file = 1;
}
static void
set_curve(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	c->curve = 1;
}
static void
set_debug(void *cfg, const char *v)
{
	struct hub_config *c = cfg;

	c->log_level = LOG_LVL_DEBUG;
}
static void
ignore(void *cfg, const char *v)
{
}

static void usage(int) __attribute__((noreturn));

static void
help(void *cfg, const char *v)
{
	usage(0);
}

static void
set_ipython_dir(void *cfg, const char *v)
{
	/* profile lookup reads $IPYTHONDIR */
	setenv("IPYTHONDIR", v, 1);
}

static const struct ipp_option options[] = {
	{ "profile", IPP_OPT_ARG, set_profile,
	    "NAME  IPython profile (default: default)" },
	{ "profile-dir", IPP_OPT_ARG, set_profile_dir,
	    "DIR  profile directory (overrides --profile)" },
	{ "cluster-id", IPP_OPT_ARG, set_cluster_id,
	    "ID  names the connection files ipcontroller-ID-*.json" },
	{ "ip", IPP_OPT_ARG, set_ip,
	    "ADDR  interface to listen on (default 127.0.0.1; '*' for all)" },
	{ "transport", IPP_OPT_ARG, set_transport, "tcp|ipc  (default tcp)" },
	{ "location", IPP_OPT_ARG, set_location,
	    "HOST  controller host name written to the files" },
	{ "ports", IPP_OPT_ARG, set_ports,
	    "LIST  pool of ports to bind, e.g. 10101-10120" },
	{ "ping", IPP_OPT_ARG, set_ping,
	    "MS  heartbeat period in milliseconds (default 3000)" },
	{ "max-misses", IPP_OPT_ARG, set_misses,
	    "N  missed heartbeats before an engine is dead (default 10)" },
	{ "scheme", IPP_OPT_ARG, set_scheme,
	    "NAME  leastload|lru|plainrandom|twobin|weighted|pure" },
	{ "hwm", IPP_OPT_ARG, set_hwm,
	    "N  max outstanding tasks per engine, 0 unlimited (default 1)" },
	{ "reuse", IPP_OPT_FLAG, set_reuse,
	    "reuse existing connection files (ports and key)" },
	{ "restore", IPP_OPT_FLAG, set_restore,
	    "--reuse, and take back the engines listed in engines.json" },
	{ "sqlitedb", IPP_OPT_FLAG, set_sqlite,
	    "SQLite task history in the profile dir (default)" },
	{ "db-path", IPP_OPT_ARG, set_db_path,
	    "FILE  SQLite file (default PROFILE/hubd-tasks[-ID].db)" },
	{ "dictdb", IPP_OPT_FLAG, set_dictdb, "in-memory task history" },
	{ "nodb", IPP_OPT_FLAG, set_nodb, "keep no task history" },
	{ "db-class", IPP_OPT_ARG, set_db_class,
	    "CLASS  SQLiteDB, DictDB or NoDB (ipcontroller's db_class)" },
	{ "db-table", IPP_OPT_ARG, set_db_table,
	    "NAME  SQLite table (default hubd_tasks)" },
	{ "record-limit", IPP_OPT_ARG, set_record_limit,
	    "N  keep at most N finished records, 0 no limit (default: 1024 "
	    "in memory, none in SQLite)" },
	{ "size-limit", IPP_OPT_ARG, set_size_limit,
	    "BYTES  keep at most this much buffer data, 0 no limit (default: "
	    "1 GiB in memory, none in SQLite)" },
	{ "db-backlog", IPP_OPT_ARG, set_db_backlog,
	    "N  history writes waiting before new requests wait too, 0 no "
	    "limit (default 4096)" },
	{ "log-level", IPP_OPT_ARG, set_log_level,
	    "LEVEL  DEBUG, INFO (default), WARN, ERROR, CRITICAL or 10..50" },
	{ "log-to-file", IPP_OPT_FLAG, set_log_to_file,
	    "log to PROFILE/log/hubd-ID-PID.log instead of stderr" },
	{ "debug", IPP_OPT_FLAG, set_debug, "same as --log-level=DEBUG" },
	{ "ssh", IPP_OPT_ARG, set_ssh,
	    "HOST  ssh server clients tunnel through (written to the file)" },
	{ "enginessh", IPP_OPT_ARG, set_enginessh,
	    "HOST  ssh server engines tunnel through (written to the file)" },
	{ "curve", IPP_OPT_FLAG, set_curve,
	    "CurveZMQ encryption (also IPP_ENABLE_CURVE=1)" },
	/* accepted for ipcontroller compatibility, no effect */
	{ "usethreads", IPP_OPT_FLAG, ignore, NULL },
	{ "secure", IPP_OPT_FLAG, ignore, NULL },
	{ "work-dir", IPP_OPT_ARG, ignore, NULL },
	{ "log-url", IPP_OPT_ARG, ignore, NULL },
	{ "clean-logs", IPP_OPT_ARG, ignore, NULL },
	{ "ipython-dir", IPP_OPT_ARG, set_ipython_dir, NULL },
	{ "help", IPP_OPT_FLAG, help, "this text" },
	{ "h", IPP_OPT_FLAG, help, NULL },
	{ NULL, 0, NULL, NULL }
};

/*
 * traitlets names hubd understands, mapped to options above; a subclass
 * (or the newer name) before its base (or the deprecated one), which
 * matters to config files: the first wins (ipp_opts_config)
 */
static const struct ipp_trait traits[] = {
	{ "IPController.ip", "ip" },
	{ "IPController.location", "location" },
	{ "IPController.db_class", "db-class" },
	{ "IPController.ports", "ports" },
	{ "IPController.transport", "transport" },
	{ "IPController.reuse_files", "reuse" },
	{ "IPController.restore_engines", "restore" },
	{ "IPController.ssh_server", "ssh" },
	{ "IPController.engine_ssh_server", "enginessh" },
	{ "HeartMonitor.period", "ping" },
	{ "HeartMonitor.max_heartmonitor_misses", "max-misses" },
	{ "TaskScheduler.hwm", "hwm" },
	{ "TaskScheduler.scheme_name", "scheme" },
	{ "BaseParallelApplication.cluster_id", "cluster-id" },
	{ "BaseParallelApplication.log_to_file", "log-to-file" },
	{ "Application.log_level", "log-level" },
	{ "DictDB.record_limit", "record-limit" },
	{ "DictDB.size_limit", "size-limit" },
	{ "SQLiteDB.table", "db-table" },
	/* ipyparallel 7 still takes these as IPController's */
	{ "HubFactory.ip", "ip" },
	{ "HubFactory.location", "location" },
	{ "HubFactory.db_class", "db-class" },
	{ "HubFactory.ssh_server", "ssh" },
	{ "HubFactory.engine_ssh_server", "enginessh" },
	{ NULL, NULL }
};

static void
usage(int status)
{
	ipp_opts_usage(status ? stderr : stdout, "usage: hubd [options]\n\n"
	    "The IPython Parallel controller (hub and schedulers), wire "
	    "compatible with\nipyparallel 7.1's ipcontroller.", options, traits,
	    "ipcontroller flags without an effect here: --usethreads --secure "
	    "--work-dir\n--log-url --clean-logs.  Environment: IPYTHONDIR, "
	    "IPP_ENABLE_CURVE=1,\nIPP_CURVE_PUBLICKEY, IPP_CURVE_SECRETKEY.\n");
	exit(status);
}

void
hub_config_defaults(struct hub_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->profile, sizeof(c->profile), "default");
	snprintf(c->ip, sizeof(c->ip), "127.0.0.1");
	snprintf(c->transport, sizeof(c->transport), "tcp");
	snprintf(c->scheme, sizeof(c->scheme), "leastload");
	snprintf(c->db, sizeof(c->db), "sqlite");
	c->ping_ms = 3000;
	c->max_misses = 10;
	c->hwm = 1;
	c->log_level = LOG_LVL_INFO;
	c->registration_timeout = 30;
	c->record_limit = -1;	/* backend default, see hubd.c */
	c->size_limit = -1;
	c->db_backlog = 4096;
	if (getenv("IPP_ENABLE_CURVE") != NULL &&
	    strcmp(getenv("IPP_ENABLE_CURVE"), "1") == 0)
		c->curve = 1;
}

void
hub_parse_args(struct hub_config *c, int argc, char **argv)
{
	static const char *const files[] = { "ipcontroller_config", NULL };
	struct hub_config first = *c;

	if (ipp_opts_parse_profile(c, &first, options, traits, argc, argv,
	    files, offsetof(struct hub_config, profile),
	    offsetof(struct hub_config, profile_dir)) == -1)
		usage(2);
}
