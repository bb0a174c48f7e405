/*
 * options.c - hubd's command line, which accepts ipcontroller's so that
 * existing tooling (ipcluster, ipyparallel.Cluster, scripts) can start
 * hubd in its place.  Options are "--name=value" or "--name value";
 * traitlets-style "--Class.trait=value" settings are mapped when hubd has
 * an equivalent and otherwise warned about and ignored.
 *
 * The option table drives both parsing and -h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubd.h"

enum optkind { OPT_FLAG, OPT_STR, OPT_INT, OPT_NUM };

struct option_desc {
	const char	*name;
	enum optkind	 kind;
	void		 (*set)(struct hub_config *, const char *);
	const char	*help;
};

static void
copy(char *dst, size_t len, const char *v, const char *what)
{
	if (strlen(v) >= len)
		fatalx("value of %s too long: '%.40s...'", what, v);
	snprintf(dst, len, "%s", v);
}

static long
num(const char *v, const char *what, long lo, long hi)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *v == '\0' || *end != '\0' || n < lo || n > hi)
		fatalx("invalid %s '%s' (want an integer in %ld..%ld)", what, v,
		    lo, hi);
	return n;
}

#define SETSTR(fn, field) static void fn(struct hub_config *c, \
    const char *v) { copy(c->field, sizeof(c->field), v, #field); }

SETSTR(set_profile, profile)
SETSTR(set_profile_dir, profile_dir)
SETSTR(set_cluster_id, cluster_id)
SETSTR(set_ip, ip)
SETSTR(set_location, location)
SETSTR(set_ssh, ssh)
SETSTR(set_enginessh, enginessh)
SETSTR(set_transport, transport)
SETSTR(set_db_path, db_path)

static void
set_ping(struct hub_config *c, const char *v)
{
	c->ping_ms = (int)num(v, "--ping (milliseconds)", 10, 3600000);
}

static void
set_misses(struct hub_config *c, const char *v)
{
	c->max_misses = (int)num(v, "--max-misses", 1, 1000000);
}

static void
set_hwm(struct hub_config *c, const char *v)
{
	c->hwm = (int)num(v, "--hwm", 0, 1000000);
}

static void
set_scheme(struct hub_config *c, const char *v)
{
	if (sched_lookup(v) == NULL)
		fatalx("unknown scheme '%s' (leastload, lru, plainrandom, "
		    "twobin, weighted, pure)", v);
	copy(c->scheme, sizeof(c->scheme), v, "scheme");
}

static void
set_log_level(struct hub_config *c, const char *v)
{
	if ((c->log_level = log_parselevel(v)) == -1)
		fatalx("invalid --log-level '%s' (DEBUG, INFO, WARN, ERROR, "
		    "CRITICAL or a number)", v);
}

static void
set_record_limit(struct hub_config *c, const char *v)
{
	c->record_limit = num(v, "--record-limit", 0, 1L << 40);
}

static void
set_size_limit(struct hub_config *c, const char *v)
{
	c->size_limit = num(v, "--size-limit (bytes)", 0, 1L << 50);
}

/* "10101-10120" or "10101,10105,10110" or a single port */
static void
set_ports(struct hub_config *c, const char *v)
{
	char buf[512], *tok, *save = NULL, *dash;
	long a, b;

	copy(buf, sizeof(buf), v, "--ports");
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

static void set_reuse(struct hub_config *c, const char *v) { c->reuse = 1; }
static void set_restore(struct hub_config *c, const char *v)
{
	c->restore = c->reuse = 1;
}
static void set_sqlite(struct hub_config *c, const char *v)
{
	snprintf(c->db, sizeof(c->db), "sqlite");
}
static void set_dictdb(struct hub_config *c, const char *v)
{
	snprintf(c->db, sizeof(c->db), "memory");
}
static void set_nodb(struct hub_config *c, const char *v)
{
	snprintf(c->db, sizeof(c->db), "none");
}
static void set_log_to_file(struct hub_config *c, const char *v)
{
	c->log_to_file = 1;
}
static void set_curve(struct hub_config *c, const char *v) { c->curve = 1; }
static void set_debug(struct hub_config *c, const char *v)
{
	c->log_level = LOG_LVL_DEBUG;
}
static void ignore(struct hub_config *c, const char *v) { }

static void usage(int) __attribute__((noreturn));

static void help(struct hub_config *c, const char *v) { usage(0); }

static const struct option_desc options[] = {
	{ "profile", OPT_STR, set_profile,
	    "NAME  IPython profile (default: default)" },
	{ "profile-dir", OPT_STR, set_profile_dir,
	    "DIR  profile directory (overrides --profile)" },
	{ "cluster-id", OPT_STR, set_cluster_id,
	    "ID  names the connection files ipcontroller-ID-*.json" },
	{ "ip", OPT_STR, set_ip,
	    "ADDR  interface to listen on (default 127.0.0.1; '*' for all)" },
	{ "transport", OPT_STR, set_transport, "tcp|ipc  (default tcp)" },
	{ "location", OPT_STR, set_location,
	    "HOST  controller host name written to the files" },
	{ "ports", OPT_STR, set_ports,
	    "LIST  pool of ports to bind, e.g. 10101-10120" },
	{ "ping", OPT_INT, set_ping,
	    "MS  heartbeat period in milliseconds (default 3000)" },
	{ "max-misses", OPT_INT, set_misses,
	    "N  missed heartbeats before an engine is dead (default 10)" },
	{ "scheme", OPT_STR, set_scheme,
	    "NAME  leastload|lru|plainrandom|twobin|weighted|pure" },
	{ "hwm", OPT_INT, set_hwm,
	    "N  max outstanding tasks per engine, 0 unlimited (default 1)" },
	{ "reuse", OPT_FLAG, set_reuse,
	    "reuse existing connection files (ports and key)" },
	{ "restore", OPT_FLAG, set_restore,
	    "--reuse, and take back the engines listed in engines.json" },
	{ "sqlitedb", OPT_FLAG, set_sqlite,
	    "SQLite task history in the profile dir (default)" },
	{ "db-path", OPT_STR, set_db_path,
	    "FILE  SQLite file (default PROFILE/hubd-tasks[-ID].db)" },
	{ "dictdb", OPT_FLAG, set_dictdb, "in-memory task history" },
	{ "nodb", OPT_FLAG, set_nodb, "keep no task history" },
	{ "record-limit", OPT_INT, set_record_limit,
	    "N  keep at most N finished records, 0 no limit (default: 1024 "
	    "in memory, none in SQLite)" },
	{ "size-limit", OPT_INT, set_size_limit,
	    "BYTES  keep at most this much buffer data, 0 no limit (default: "
	    "1 GiB in memory, none in SQLite)" },
	{ "log-level", OPT_STR, set_log_level,
	    "LEVEL  DEBUG, INFO (default), WARN, ERROR, CRITICAL or 10..50" },
	{ "log-to-file", OPT_FLAG, set_log_to_file,
	    "log to PROFILE/log/hubd-ID-PID.log instead of stderr" },
	{ "debug", OPT_FLAG, set_debug, "same as --log-level=DEBUG" },
	{ "ssh", OPT_STR, set_ssh,
	    "HOST  ssh server clients tunnel through (written to the file)" },
	{ "enginessh", OPT_STR, set_enginessh,
	    "HOST  ssh server engines tunnel through (written to the file)" },
	{ "curve", OPT_FLAG, set_curve,
	    "CurveZMQ encryption (also IPP_ENABLE_CURVE=1)" },
	/* accepted for ipcontroller compatibility, no effect */
	{ "usethreads", OPT_FLAG, ignore, NULL },
	{ "secure", OPT_FLAG, ignore, NULL },
	{ "work-dir", OPT_STR, ignore, NULL },
	{ "log-url", OPT_STR, ignore, NULL },
	{ "clean-logs", OPT_STR, ignore, NULL },
	{ "ipython-dir", OPT_STR, NULL, NULL },
	{ "help", OPT_FLAG, help, "this text" },
	{ "h", OPT_FLAG, help, NULL },
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

/* traitlets names hubd understands, mapped to options above */
static const struct { const char *trait, *opt; } traits[] = {
	{ "IPController.ip", "ip" },
	{ "IPController.location", "location" },
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
};

static void
usage(int status)
{
	FILE *fp = status ? stderr : stdout;
	size_t i;

	fprintf(fp, "usage: hubd [options]\n\n"
	    "The IPython Parallel controller (hub and schedulers), wire "
	    "compatible with\nipyparallel 7.1's ipcontroller.  Options:\n\n");
	for (i = 0; i < NOPTIONS; i++) {
		if (options[i].help == NULL)
			continue;
		fprintf(fp, "  --%-13s %s\n", options[i].name, options[i].help);
	}
	fprintf(fp, "\nAlso accepted: --Class.trait=value for");
	for (i = 0; i < sizeof(traits) / sizeof(traits[0]); i++)
		fprintf(fp, "%s %s", i ? "," : "", traits[i].trait);
	fprintf(fp, ";\nother traits are warned about and ignored.  "
	    "ipcontroller flags without an\neffect here: --usethreads "
	    "--secure --work-dir --log-url --clean-logs.\n"
	    "Environment: IPYTHONDIR, IPP_ENABLE_CURVE=1.\n");
	exit(status);
}

static const struct option_desc *
find_option(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		if (strlen(options[i].name) == len &&
		    strncmp(options[i].name, name, len) == 0)
			return &options[i];
	return NULL;
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
	if (getenv("IPP_ENABLE_CURVE") != NULL &&
	    strcmp(getenv("IPP_ENABLE_CURVE"), "1") == 0)
		c->curve = 1;
}

static void
apply_trait(struct hub_config *c, const char *arg)
{
	const char *eq = strchr(arg, '=');
	const struct option_desc *o;
	char name[128], val[1024];
	size_t i, len;

	if (eq == NULL) {
		log_warnx("ignoring option '--%s': traitlets settings need "
		    "=value", arg);
		return;
	}
	len = (size_t)(eq - arg);
	for (i = 0; i < sizeof(traits) / sizeof(traits[0]); i++) {
		if (strlen(traits[i].trait) != len ||
		    strncmp(traits[i].trait, arg, len) != 0)
			continue;
		o = find_option(traits[i].opt, strlen(traits[i].opt));
		snprintf(val, sizeof(val), "%s", eq + 1);
		/* traitlets values may be quoted: --IPController.ip='*' */
		len = strlen(val);
		if (len >= 2 && (val[0] == '"' || val[0] == '\'') &&
		    val[len - 1] == val[0]) {
			memmove(val, val + 1, len - 2);
			val[len - 2] = '\0';
		}
		if (o->kind == OPT_FLAG && (strcmp(val, "False") == 0 ||
		    strcmp(val, "false") == 0 || strcmp(val, "0") == 0))
			return;
		o->set(c, val);
		return;
	}
	snprintf(name, sizeof(name), "%.*s", (int)len, arg);
	log_warnx("ignoring unknown setting '--%s' (hubd has no "
	    "equivalent)", name);
}

void
hub_parse_args(struct hub_config *c, int argc, char **argv)
{
	const struct option_desc *o;
	const char *arg, *eq, *val;
	int i;

	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (arg[0] != '-')
			fatalx("unexpected argument '%s' (see hubd -h)", arg);
		arg += arg[1] == '-' ? 2 : 1;
		eq = strchr(arg, '=');
		o = find_option(arg, eq ? (size_t)(eq - arg) : strlen(arg));
		if (o == NULL) {
			const char *dot = strchr(arg, '.');

			if (dot != NULL && (eq == NULL || dot < eq)) {
				apply_trait(c, arg);
				continue;
			}
			log_warnx("unknown option '%s' (see hubd -h)", argv[i]);
			usage(2);
		}
		if (o->kind == OPT_FLAG) {
			if (eq != NULL)
				fatalx("option --%s takes no value", o->name);
			val = NULL;
		} else if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			fatalx("option --%s needs a value", o->name);
		if (o->set == NULL) {
			/* --ipython-dir: profile lookup reads $IPYTHONDIR */
			setenv("IPYTHONDIR", val, 1);
			continue;
		}
		o->set(c, val);
	}
}
