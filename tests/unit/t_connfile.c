/*
 * t_connfile.c - unit tests of libipp's connection files and
 * profile directories (connfile.c, profile.c), in a temporary directory
 * removed at the end.  One of the libipp unit tests split by theme
 * (libipp_test.h has their shared helpers).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipp.h"
#include "tap.h"
#include "libipp_test.h"

static char tmpdir[256];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
fill_conninfo(struct ipp_conninfo *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->interface, sizeof(c->interface), "tcp://127.0.0.1");
	snprintf(c->location, sizeof(c->location), "vm");
	snprintf(c->key, sizeof(c->key), "c6192e12-512daf0c192c539cfa06abcd");
	snprintf(c->signature_scheme, sizeof(c->signature_scheme),
	    "hmac-sha256");
	snprintf(c->task_scheme, sizeof(c->task_scheme), "lru");
	c->registration = 55019;
	c->control = 51397;
	c->mux = 58989;
	c->task = 60455;
	c->iopub = 50329;
	c->notification = 35751;
	c->hb_ping = 38109;
	c->hb_pong = 37133;
}

static int
file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	return (int)(st.st_mode & 07777);
}

static void
write_text(const char *path, const char *text)
{
	if (ipp_write_file(path, text, strlen(text), 0644) == -1)
		fatal("write %s", path);
}

static void
load_fails(const char *text, int want_errno, const char *name)
{
	struct ipp_conninfo c, orig;
	char path[512], why[512];
	int rc;

	snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
	write_text(path, text);
	memset(&c, 0x5a, sizeof(c));
	orig = c;
	why[0] = '\0';
	errno = EBUSY;		/* a stale errno must not leak through */
	rc = ipp_conninfo_load(path, &c, why, sizeof(why));
	ok(rc == -1 && errno == want_errno && why[0] != '\0' &&
	    memcmp(&c, &orig, sizeof(c)) == 0, "load rejects %s: %s", name,
	    why);
	if (rc != -1 || errno != want_errno)
		diag("rc %d errno %d (%s)", rc, errno, strerror(errno));
}

static void
test_connfile(void)
{
	struct ipp_conninfo c, got;
	char path[512], why[256], url[300];
	json_t *o;

	snprintf(path, sizeof(path), "%s/client.json", tmpdir);
	write_text(path, "old contents");	/* mode 0644, replaced */
	fill_conninfo(&c);
	c.broadcast[0] = 39277;
	c.nbroadcast = 1;
	ok(ipp_conninfo_save(path, &c, 0) == 0, "save client file");
	is_int(file_mode(path), 0600, "client file mode 0600");
	memset(&got, 0, sizeof(got));
	ok(ipp_conninfo_load(path, &got, why, sizeof(why)) == 0,
	    "load client file");
	ok(strcmp(got.interface, c.interface) == 0 &&
	    strcmp(got.location, "vm") == 0 && strcmp(got.key, c.key) == 0 &&
	    strcmp(got.ssh, "") == 0 && strcmp(got.signature_scheme,
	    "hmac-sha256") == 0 && strcmp(got.task_scheme, "lru") == 0 &&
	    strcmp(got.curve_serverkey, "") == 0, "client strings round trip");
	ok(got.registration == 55019 && got.control == 51397 &&
	    got.mux == 58989 && got.task == 60455 && got.iopub == 50329 &&
	    got.notification == 35751, "client ports round trip");
	ok(got.nbroadcast == 1 && got.broadcast[0] == 39277,
	    "client broadcast is one port");
	ok(got.hb_ping == 0 && got.hb_pong == 0, "no heartbeat in client file");
	o = json_load_file(path, 0, NULL);
	ok(o != NULL && json_is_null(json_object_get(o, "curve_serverkey")) &&
	    json_str_is(o, "pack", "json") &&
	    json_str_is(o, "unpack", "json") &&
	    json_is_integer(json_object_get(o, "broadcast")) &&
	    json_object_get(o, "hb_ping") == NULL,
	    "client file has ipyparallel's shape");
	json_decref(o);

	snprintf(path, sizeof(path), "%s/engine.json", tmpdir);
	fill_conninfo(&c);
	c.broadcast[0] = 34129;
	c.broadcast[1] = 33339;
	c.nbroadcast = 2;
	snprintf(c.curve_serverkey, sizeof(c.curve_serverkey),
	    "rq:rM>}U?@Lns47E1%%kR.o@n%%FcmmsL/@{H8]yf7");
	ok(ipp_conninfo_save(path, &c, 1) == 0, "save engine file");
	is_int(file_mode(path), 0600, "engine file mode 0600");
	memset(&got, 0, sizeof(got));
	ok(ipp_conninfo_load(path, &got, why, sizeof(why)) == 0,
	    "load engine file");
	ok(got.hb_ping == 38109 && got.hb_pong == 37133 &&
	    got.registration == 55019 && got.mux == 58989,
	    "engine ports round trip");
	ok(got.nbroadcast == 2 && got.broadcast[0] == 34129 &&
	    got.broadcast[1] == 33339, "engine broadcast is a list");
	ok(got.notification == 0 && strcmp(got.task_scheme, "leastload") == 0,
	    "no notification/task_scheme in engine file (defaults)");
	is_str(got.curve_serverkey, c.curve_serverkey, "curve key round trip");

	load_fails("this is not json", EINVAL, "garbage");
	load_fails("", EINVAL, "an empty file");
	load_fails("[1, 2]", EINVAL, "a JSON array");
	load_fails("{\"interface\": \"tcp://127.0.0.1\"}", EINVAL,
	    "no registration port");
	load_fails("{\"interface\": \"tcp://x\", \"registration\": 70000}",
	    EINVAL, "port out of range");
	load_fails("{\"registration\": 5}", EINVAL, "no interface");
	load_fails("{\"interface\": \"tcp://x\", \"registration\": 5, "
	    "\"signature_scheme\": \"hmac-md5\"}", ENOTSUP, "hmac-md5");
	{
		char big[400];

		snprintf(big, sizeof(big), "{\"interface\": \"tcp://x\", "
		    "\"registration\": 5, \"key\": \"%0300d\"}", 7);
		load_fails(big, ENAMETOOLONG, "a 300-byte key (never cut)");
	}
	snprintf(path, sizeof(path), "%s/absent.json", tmpdir);
	errno = 0;
	ok(ipp_conninfo_load(path, &got, NULL, 0) == -1 && errno == ENOENT,
	    "missing file: ENOENT");

	snprintf(path, sizeof(path), "%s/extra.json", tmpdir);
	write_text(path, "{\"interface\": \"tcp://10.0.0.1\", \"registration\""
	    ": 1234, \"future_field\": [1], \"broadcast\": [1, \"x\", 3]}");
	ok(ipp_conninfo_load(path, &got, NULL, 0) == 0 &&
	    got.registration == 1234 && got.nbroadcast == 2 &&
	    got.broadcast[1] == 3, "unknown fields and odd entries ignored");

	ipp_conninfo_url(&got, 5555, url, sizeof(url));
	is_str(url, "tcp://10.0.0.1:5555", "tcp url joins with ':'");
	snprintf(got.interface, sizeof(got.interface), "ipc:///tmp/ipp");
	ipp_conninfo_url(&got, 5555, url, sizeof(url));
	is_str(url, "ipc:///tmp/ipp-5555", "ipc url joins with '-'");
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void
restore_env(const char *name, char *saved)
{
	if (saved != NULL) {
		setenv(name, saved, 1);
		free(saved);
	} else
		unsetenv(name);
}

static void
test_profile(void)
{
	struct ipp_profile p, orig;
	char want[1200], path[1200], big[2000];
	char *saved_ipd, *saved_home;
	int rc;

	saved_ipd = getenv("IPYTHONDIR") ? xstrdup(getenv("IPYTHONDIR")) : NULL;
	saved_home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;

	/* an explicit --profile-dir wins over IPYTHONDIR */
	snprintf(want, sizeof(want), "%s/ipd", tmpdir);
	setenv("IPYTHONDIR", want, 1);
	snprintf(want, sizeof(want), "%s/explicit", tmpdir);
	rc = ipp_profile_init(&p, want, "ignored", NULL, 1);
	ok(rc == 0, "profile with --profile-dir");
	is_str(p.dir, want, "--profile-dir used as is");
	snprintf(want, sizeof(want), "%s/explicit/security", tmpdir);
	is_str(p.security, want, "security dir inside it");
	is_int(file_mode(p.security), 0700, "security dir mode 0700");
	ok(is_dir(p.log) && is_dir(p.pid), "log and pid dirs created");
	ipp_profile_connfile(&p, "client", path, sizeof(path));
	snprintf(want, sizeof(want), "%s/explicit/security/"
	    "ipcontroller-client.json", tmpdir);
	is_str(path, want, "connection file without cluster id");

	/* an existing, too open security dir is tightened */
	chmod(p.security, 0755);
	rc = ipp_profile_init(&p, p.dir, NULL, "", 1);
	ok(rc == 0 && file_mode(p.security) == 0700,
	    "existing 0755 security dir becomes 0700");

	rc = ipp_profile_init(&p, NULL, "foo", "1795311502-ykf5", 1);
	snprintf(want, sizeof(want), "%s/ipd/profile_foo", tmpdir);
	ok(rc == 0, "profile from IPYTHONDIR");
	is_str(p.dir, want, "$IPYTHONDIR/profile_<name>");
	ok(is_dir(want) && file_mode(p.security) == 0700,
	    "created with a 0700 security dir");
	ipp_profile_connfile(&p, "engine", path, sizeof(path));
	snprintf(want, sizeof(want), "%s/ipd/profile_foo/security/"
	    "ipcontroller-1795311502-ykf5-engine.json", tmpdir);
	is_str(path, want, "cluster id spliced into the file name");
	is_str(p.cluster_id, "1795311502-ykf5", "cluster id kept");

	rc = ipp_profile_init(&p, NULL, NULL, NULL, 0);
	snprintf(want, sizeof(want), "%s/ipd/profile_default", tmpdir);
	ok(rc == 0, "no name");
	is_str(p.dir, want, "no name means profile_default");
	ok(!is_dir(want), "create=0 makes nothing");

	unsetenv("IPYTHONDIR");
	snprintf(want, sizeof(want), "%s/home", tmpdir);
	setenv("HOME", want, 1);
	rc = ipp_profile_init(&p, NULL, "", NULL, 0);
	snprintf(want, sizeof(want), "%s/home/.ipython/profile_default",
	    tmpdir);
	ok(rc == 0, "no IPYTHONDIR");
	is_str(p.dir, want, "falls back to ~/.ipython");

	/* failures leave the profile untouched */
	orig = p;
	snprintf(path, sizeof(path), "%s/afile", tmpdir);
	write_text(path, "x");
	errno = 0;
	rc = ipp_profile_init(&p, path, NULL, NULL, 1);
	ok(rc == -1 && errno == ENOTDIR && memcmp(&p, &orig, sizeof(p)) == 0,
	    "profile dir that is a file: ENOTDIR, untouched");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '/';
	errno = 0;
	rc = ipp_profile_init(&p, big, NULL, NULL, 0);
	ok(rc == -1 && errno == ENAMETOOLONG &&
	    memcmp(&p, &orig, sizeof(p)) == 0,
	    "overlong profile dir: ENAMETOOLONG, untouched");

	restore_env("IPYTHONDIR", saved_ipd);
	restore_env("HOME", saved_home);
}

int
main(void)
{
	const char *td;

	td = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/t_connfile.XXXXXX",
	    td != NULL && *td != '\0' ? td : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		fatal("mkdtemp %s", tmpdir);

	test_connfile();
	test_profile();

	rm_rf(tmpdir);
	return tap_done();
}
